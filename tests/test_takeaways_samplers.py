"""The sampler study's sentences follow its numbers: numbers that should flip each verdict do."""
from __future__ import annotations

import math

from calolib.reports.takeaways import samplers as t


def _row(label, family, sweeps, sec, dist, **kw):
    return {"label": label, "family": family, "sweeps": sweeps, "seconds_per_shower": sec, "energy_distance": dist,
            "error": None, **kw}


ROWS = [
    _row("gibbs-1", "gibbs", 1, 1e-6, 0.5, fpd=10.0, fpd_err=0.5, auc_high=0.99),
    _row("gibbs-10", "gibbs", 10, 5e-6, 0.015, fpd=2.0, fpd_err=0.3, auc_high=0.70),
    _row("gibbs-100", "gibbs", 100, 4e-5, 0.012, fpd=2.1, fpd_err=0.3, auc_high=0.71),
    _row("sa-10", "sa", 10, 2e-3, 0.3, fpd=5.0, fpd_err=0.4, auc_high=0.9),
    _row("sa-1000", "sa", 1000, 2e-2, 0.018, fpd=2.2, fpd_err=0.3, auc_high=0.72),
]


def test_fidelity_picks_the_cheapest_setting_within_twice_the_floor():
    fid = t.fidelity_settings(ROWS, floor=0.01)
    assert fid["gibbs"]["label"] == "gibbs-10" and fid["sa"]["label"] == "sa-1000"
    assert t.fidelity_settings(ROWS, floor=0.0065) == {"gibbs": ROWS[2]}  # 0.012 <= 0.013 only
    assert t.fidelity_settings([{**ROWS[1], "error": "boom"}], floor=1.0) == {}


def test_prior_fidelity_verdicts():
    both = t.prior_fidelity(ROWS, 0.01)
    assert both.verdict == "both" and "from 10 sweeps" in both.text and "from 1000 sweeps" in both.text and "5 µs" in both.text
    assert t.prior_fidelity(ROWS, 0.0065).verdict == "gibbs_only"
    sa_only = [r for r in ROWS if r["family"] == "sa"] + [_row("gibbs-1", "gibbs", 1, 1e-6, 0.5)]
    assert t.prior_fidelity(sa_only, 0.01).verdict == "sa_only"
    none = t.prior_fidelity(ROWS, 0.001)
    assert none.verdict == "neither" and "gibbs-100" in none.text  # the closest one is named


def test_compute_matched_ratio_and_direction():
    m = t.compute_matched(ROWS, 0.01)
    assert m.verdict == "gibbs_faster" and m.numbers["ratio"] == 2e-2 / 5e-6 and "4000×" in m.text
    slow_gibbs = [{**r, "seconds_per_shower": 1.0} if r["family"] == "gibbs" else r for r in ROWS]
    assert t.compute_matched(slow_gibbs, 0.01).verdict == "sa_faster"
    overhead = [{**r, "core_seconds_per_shower": 5e-3} if r["label"] == "sa-1000" else r for r in ROWS]
    o = t.compute_matched(overhead, 0.01)
    assert o.verdict == "gibbs_faster_overhead" and "5 ms of it" in o.text
    unmatched = t.compute_matched(ROWS, 0.0065)
    assert unmatched.verdict == "unmatched" and "simulated annealing" in unmatched.text


def test_shower_quality_among_faithful_settings():
    s = t.shower_quality_spread(ROWS, 0.01)  # gibbs-10, gibbs-100, sa-1000 at fidelity: FPD 2.0-2.2 ± 0.3
    assert s.verdict == "insensitive" and "(gibbs-10)" in s.text and "(sa-1000)" in s.text and "gibbs-1 gives FPD 10" in s.text
    apart = [{**r, "fpd": 4.0} if r["label"] == "sa-1000" else r for r in ROWS]
    assert t.shower_quality_spread(apart, 0.01).verdict == "sensitive"
    assert t.shower_quality_spread(ROWS, 0.0065).verdict == "too_few"


def _qpu(raw, rew, ess, beta=4.0):
    return _row("mock-qpu-200", "mock-qpu", 200, 1e-2, raw, probe_beta_eff=beta, probe_beta_eff_err=0.05,
                probe_beta_nominal=3.9, probe_energy_distance=raw, probe_energy_distance_reweighted=rew,
                probe_ess_fraction=ess)


def test_annealer_temperature_verdicts_and_the_seed_beside_them():
    floor = 0.01
    cases = {"fixed": _qpu(0.5, 0.015, 0.3), "improved": _qpu(0.5, 0.2, 0.3), "not_improved": _qpu(0.5, 0.6, 0.3),
             "ess_collapse": _qpu(0.5, 0.015, 0.01), "already_close": _qpu(0.015, 0.014, 0.9)}
    for verdict, row in cases.items():
        out = t.annealer_temperature([*ROWS, row], floor)
        assert out.verdict == verdict, (verdict, out.text)
        assert out.text.startswith("Seed 004 found:") and "β_eff = 4.000 ± 0.050" in out.text
    assert t.annealer_temperature(ROWS, floor).verdict == "not_run"


def test_gibbs_mixing_compares_tau_with_the_longest_chain():
    assert t.gibbs_mixing(2.0, 0.1, ROWS).verdict == "mixes"
    slow = t.gibbs_mixing(30.0, 3.0, ROWS)
    assert slow.verdict == "slow" and "3.33 τ_int" in slow.text
    assert t.gibbs_mixing(math.nan, math.nan, ROWS).verdict == "slow"


def test_headline_and_all_takeaways():
    h = t.headline(ROWS, 0.01, 2.0, 0.1)
    assert h["Gibbs sweeps to prior fidelity"] == 10 and math.isclose(h["SA/Gibbs time at equal fidelity"], 4000.0)
    assert "SA/Gibbs time at equal fidelity" not in t.headline(ROWS, 0.0065, 2.0, 0.1)
    keys = [x.key for x in t.all_takeaways(ROWS, 0.01, 0.01, 2.0, 0.1)]
    assert keys == ["prior_fidelity", "compute_matched", "shower_quality", "annealer_temperature", "gibbs_mixing"]
