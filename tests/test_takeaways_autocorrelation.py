"""Autocorrelation take-aways (07): correlated or not, thinning, energy vs m, biases, the slowest case."""
from calolib.reports.takeaways.autocorrelation import SEED_004_BIASES, bias_effect, energy_vs_magnetisation, mixing, \
    slowest, thinning


def s(tau, err, te=None, tee=None, every=1, converged=True):
    return {"tau": tau, "tau_err": err, "tau_energy": tau if te is None else te, "tau_energy_err": err if tee is None else tee,
            "window": 10, "window_energy": 10, "converged": converged, "every": every}


def test_mixing_verdicts():
    assert mixing("x", s(1.0, 0.02)).verdict == "uncorrelated"
    t = mixing("x", s(37.6, 3.3, 12.0, 0.6))
    assert t.verdict == "correlated" and "about 38 sweeps" in t.text
    assert mixing("x", s(1.2, 0.02, 9.0, 0.4)).verdict == "correlated"  # the energy alone is slow
    assert mixing("x", s(290.0, 58.0, converged=False)).verdict == "lower_bound"
    assert "records of Δt = 1000 sweeps" in mixing("x", s(1.0, 0.1, every=1000)).text


def test_thinning():
    dense = s(37.6, 3.3)
    assert thinning("cold", dense, s(1.05, 0.2, every=1000)).verdict == "independent"
    t = thinning("cold", dense, s(4.0, 0.5, every=10))
    assert t.verdict == "still_correlated" and "every 10 sweeps" in t.text


def test_energy_vs_magnetisation():
    assert energy_vs_magnetisation("x", s(37.6, 3.3, 12.0, 0.6)).verdict == "energy_faster"
    assert energy_vs_magnetisation("x", s(2.0, 0.1, 6.0, 0.3)).verdict == "energy_slower"
    assert energy_vs_magnetisation("x", s(2.0, 0.1, 2.05, 0.1)).verdict == "same"


def test_bias_effect_beside_the_seed():
    t = bias_effect(s(1.0, 0.02), s(1.01, 0.02))
    assert t.verdict == "same" and t.text.startswith("Seed 004 found: " + SEED_004_BIASES)
    assert bias_effect(s(3.0, 0.1), s(1.5, 0.1)).verdict == "faster"


def test_slowest_counts_sweeps_and_skips_thinned_cases():
    t = slowest({"a": s(1.0, 0.1), "b": s(1.2, 0.1, 9.0, 0.3), "c": s(2.0, 0.1, every=1000)})
    assert t.verdict == "b" and "9 sweeps" in t.text
