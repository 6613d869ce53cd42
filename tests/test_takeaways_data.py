"""Report 01's sentences follow its numbers: numbers that should flip a claim flip it."""
from __future__ import annotations

import numpy as np
import pytest

from calolib.reference import PUBLISHED_DISTANCES
from calolib.reports.takeaways import data as tk


@pytest.mark.parametrize("d,verdict,words", [
    (0.5, "best", "closer than every published ds2 model (the best, CaloDREAM"),
    (1.5, "between", "between CaloScore (1.44) and CaloDiffusion (1.6)"),
    (2.2, "between", "between iCaloFlow teacher (2.1) and MDMA (2.56)"),
    (40.0, "worst", "farther than every published ds2 model (the worst, CaloDiT"),
])
def test_reference_distance_places_the_file_among_published_models(d, verdict, words):
    t = tk.reference_distance(d, 0.02, 0.05, PUBLISHED_DISTANCES, n_events=20000)
    assert t.verdict == verdict and words in t.text
    assert t.numbers["distance"] == d


def test_reference_distance_within_noise_says_so():
    t = tk.reference_distance(0.3, 0.05, 0.2, PUBLISHED_DISTANCES, n_events=400)
    assert t.verdict == "noise" and "400 showers" in t.text and "cannot be told apart" in t.text
    assert tk.reference_distance(0.5, 0.05, 0.2, PUBLISHED_DISTANCES).verdict == "best"


def test_between_counts_the_models_it_beats():
    t = tk.reference_distance(1.5, 0.0, 0.0, {"a": 1.0, "b": 2.0, "c": 3.0})
    assert t.text.endswith("closer than 2 of the 3 published ds2 models.")


@pytest.mark.parametrize("worst,verdict", [([0, 2, 5], "front"), ([40, 44, 35], "back"), ([20, 17, 25], "middle"),
                                           ([0, 44, 20], "spread")])
def test_worst_rows_names_the_layers_and_where_they_sit(worst, verdict):
    rows = np.full(45, 0.1)
    rows[worst] = [0.7, 0.6, 0.5]
    t = tk.worst_rows(rows)
    assert t.verdict == verdict
    assert f"layers {worst[0]}, {worst[1]}, {worst[2]}" in t.text and "0.7, 0.6, 0.5" in t.text


def test_spectrum_correlations_flip_on_a_negative_entry():
    c = np.full((4, 4), 0.4)
    np.fill_diagonal(c, 1.0)
    t = tk.spectrum_correlations(c)
    assert t.verdict == "positive" and "lowest r = 0.4" in t.text
    c[1, 3] = c[3, 1] = -0.2
    t = tk.spectrum_correlations(c)
    assert t.verdict == "mixed" and "layers 1 and 3" in t.text and "−" not in t.text.split("=")[0]


def test_fixed_energy_claim_needs_anticorrelation_beyond_noise():
    c = np.array([[1.0, 0.8, -0.2], [0.8, 1.0, 0.3], [-0.2, 0.3, 1.0]])
    prof = np.array([1.0, 2.0, 1.0])
    t = tk.fixed_energy_correlations(c, 900, "100–150 GeV", mean_profile=prof)  # noise 3/30 = 0.1
    assert t.verdict == "anti" and "layers 0 and 2 at r = -0.2" in t.text
    assert "maximum energy (1) and the next one move together (r = 0.3)" in t.text
    t = tk.fixed_energy_correlations(c, 100, "100–150 GeV", mean_profile=prof)  # noise 0.3 > 0.2
    assert t.verdict == "none" and "±0.3" in t.text and "do not move together beyond the noise (r = 0.3)" in t.text
    assert tk.fixed_energy_correlations(c, 5, "1–2 GeV").verdict == "few"
    # a nearly empty layer (under 1 % of the largest) does not decide
    t = tk.fixed_energy_correlations(c, 900, "x", mean_profile=np.array([1.0, 2.0, 0.001]))
    assert t.verdict == "none"


def test_shower_max_response_and_sparsity_trends():
    assert tk.shower_max_depth(["lo", "mid", "hi"], [4, 8, 11]).verdict == "deeper"
    assert tk.shower_max_depth(["lo", "hi"], [6, 6]).verdict == "same"
    assert tk.shower_max_depth(["lo", "hi"], [9, 5]).verdict == "shallower"
    assert tk.response_vs_einc(0.695, 0.002, 0.70, 0.001).verdict == "consistent"
    assert tk.response_vs_einc(0.60, 0.002, 0.70, 0.001).verdict == "higher"
    t = tk.response_vs_einc(0.70, 0.001, 0.62, 0.001)
    assert t.verdict == "lower" and "0.6200 ± 0.0010" in t.text and t.numbers["hi_mean"] == 0.62
    assert tk.sparsity_vs_einc(0.98, 0.6).verdict == "falls"
    assert tk.sparsity_vs_einc(0.6, 0.98).verdict == "rises"
    assert tk.sparsity_vs_einc(0.9, 0.905).verdict == "flat"
