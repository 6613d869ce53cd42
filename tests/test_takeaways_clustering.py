"""Latent-clustering take-aways (05): degeneracy, the energy sign, encoder noise, the classifier."""
from calolib.reports.takeaways.clustering import SEED_003, degeneracy, encoder_determinism, energy_sign, \
    group_classifier, seed_003_degeneracy


def test_degeneracy_follows_the_excess_over_shuffled_groups():
    assert degeneracy(0.353, 0.30, 0.34).verdict == "degenerate"
    t = degeneracy(0.353, 0.10, 0.14)  # same overlap, but shuffled groups would overlap much less
    assert t.verdict == "separated" and "not E_inc-degenerate" in t.text
    assert degeneracy(0.353, 0.30, 0.34, threshold=0.01).verdict == "separated"
    assert degeneracy(float("nan"), 0.3, 0.3).verdict == "unknown"


def test_seed_quoted_beside_this_run():
    own = degeneracy(0.6, 0.1, 0.15)
    t = seed_003_degeneracy(own)
    assert t.text.startswith("Seed 003 found: " + SEED_003) and t.text.endswith(own.text) and t.verdict == "separated"


def test_energy_sign():
    assert energy_sign(-0.3, 0.4).verdict == "flips"
    assert energy_sign(0.3, 0.4).verdict == "same"
    assert energy_sign(-0.05, 0.4, 200).verdict == "free_uncorrelated"  # |r| < 2/√197
    assert energy_sign(-0.3, 0.4, 200).verdict == "flips"


def test_encoder_determinism():
    assert encoder_determinism(1, 50).verdict == "deterministic"
    t = encoder_determinism(4, 50)
    assert t.verdict == "nearly_deterministic" and "4 distinct codes among 50" in t.text
    assert encoder_determinism(30, 50).verdict == "stochastic"


def test_group_classifier():
    assert group_classifier(0.75, 0.05, 0.22).verdict == "above_chance"
    assert group_classifier(0.30, 0.05, 0.22).verdict == "chance"  # within 2σ of chance
