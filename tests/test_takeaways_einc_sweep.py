"""E′-sweep take-aways (06): direction per criterion, grid edges, seed 003 beside this run."""
from calolib.reports.takeaways.einc_sweep import SEED_003, direction, edges, seed_003_directions


def st(med, lo, hi, low=0.0, high=0.0, n=500):
    return {"median_ratio": med, "lo": lo, "hi": hi, "n_interior": int(n * (1 - low - high)), "n_events": n,
            "frac_low_edge": low, "frac_high_edge": high}


def test_direction_follows_the_interval():
    assert direction("energy", st(1.6, 1.4, 1.8)).verdict == "larger"
    assert direction("energy", st(0.5, 0.4, 0.6)).verdict == "smaller"
    assert direction("energy", st(1.05, 0.95, 1.2)).verdict == "faithful"
    assert direction("mse", st(1.17, 1.06, 1.24)).verdict == "larger"  # issue-11-like: significant and > 10 %
    assert direction("mse", st(1.05, 1.02, 1.08)).verdict == "slightly_larger"
    assert direction("mse", st(0.95, 0.92, 0.98)).verdict == "slightly_smaller"
    t = direction("sparsity", st(7.0, 6.0, 8.0, high=0.7))
    assert t.verdict == "edge" and "towards larger E′, beyond the range swept" in t.text
    assert "towards smaller E′" in direction("sparsity", st(7.0, 6.0, 8.0, low=0.7)).text


def test_seed_003_beside_a_model_that_disagrees():
    """This model wants a larger E′ for the sparsity too (issue 11: ≈ 7×): the sentence must say so."""
    t = seed_003_directions({"energy": st(1.6, 1.4, 1.8), "sparsity": st(7.1, 6.5, 7.8)})
    assert t.text.startswith("Seed 003 found: " + SEED_003)
    assert "The sparsity criterion wants a larger E′" in t.text and "does not show the competition seed 003 saw" in t.text
    assert not t.numbers["agrees_with_seed"]
    t = seed_003_directions({"energy": st(1.6, 1.4, 1.8), "sparsity": st(0.3, 0.25, 0.35)})
    assert t.numbers["agrees_with_seed"] and "the same competition" in t.text


def test_edges():
    assert edges({"mse": st(1, 1, 1), "energy": st(1, 1, 1)}).verdict == "none"
    t = edges({"mse": st(1, 1, 1), "energy": st(1, 1, 1, low=0.1, high=0.05)})
    assert t.verdict == "some" and "energy: 15 %" in t.text and "mse" not in t.text


def test_energy_owner_names_the_flow_only_for_the_factorised_model():
    from calolib.reports.takeaways.einc_sweep import energy_owner

    assert "energy flow" in energy_owner(True).text and energy_owner(True).verdict == "flow"
    assert energy_owner(False).verdict == "decoder" and "flow" not in energy_owner(False).text
