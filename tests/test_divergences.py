"""Histogram divergences against closed forms and scipy's independent implementations."""
import numpy as np
import pytest
from scipy.spatial.distance import jensenshannon
from scipy.stats import entropy

from calolib.errors import CalolibError
from calolib.metrics import hellinger, jsd, kl_divergence, separation_power
from calolib.metrics.divergences import common_bins, feature_histograms, feature_table, histogram_pair


def random_hist(rng, n=20):
    return rng.random(n) * (rng.random(n) > 0.3)


def test_separation_power_limits_and_closed_form():
    h = np.array([1.0, 4.0, 0.0, 5.0])
    assert separation_power(h, 3 * h) == 0.0
    assert separation_power([1, 2, 0, 0], [0, 0, 3, 1]) == pytest.approx(1.0)
    # p = (1, 0), q = (½, ½): ½[(½)²/(3/2) + (½)²/(½)] = 1/3
    assert separation_power([1, 0], [1, 1]) == pytest.approx(1 / 3)


def test_jsd_against_scipy_and_bounds():
    rng = np.random.default_rng(0)
    for _ in range(20):
        p, q = random_hist(rng) + 1e-3, random_hist(rng)
        v = jsd(p, q)
        assert 0 <= v <= np.log(2) + 1e-12
        assert v == pytest.approx(jensenshannon(p, q) ** 2, rel=1e-9, abs=1e-12)  # natural log by default
        assert v == pytest.approx(jsd(q, p))
    assert jsd([1, 0, 0], [0, 2, 3]) == pytest.approx(np.log(2))
    assert jsd([2, 3], [4, 6]) == 0.0


def test_hellinger_against_formula():
    rng = np.random.default_rng(1)
    for _ in range(20):
        p, q = random_hist(rng) + 1e-3, random_hist(rng) + 1e-3
        pn, qn = p / p.sum(), q / q.sum()
        expected = np.linalg.norm(np.sqrt(pn) - np.sqrt(qn)) / np.sqrt(2)
        v = hellinger(p, q)
        assert 0 <= v <= 1 and v == pytest.approx(expected, rel=1e-9)
    assert hellinger([1, 0], [0, 1]) == 1.0 and hellinger([1, 1], [5, 5]) == 0.0


def test_kl_against_scipy_and_smoothing():
    rng = np.random.default_rng(2)
    p, q = rng.random(10) + 0.1, rng.random(10) + 0.1
    assert kl_divergence(p, q, eps=0.0) == pytest.approx(entropy(p, q), rel=1e-12)
    assert kl_divergence(p, q) == pytest.approx(entropy(p, q), rel=1e-6)
    v = kl_divergence([1, 1], [1, 0])  # empty reference bin: large but finite with ε = 1e-10
    assert np.isfinite(v) and v == pytest.approx(0.5 * np.log(0.5) + 0.5 * np.log(0.5 / 1e-10), rel=1e-6)
    with pytest.raises(CalolibError):
        kl_divergence([1, 1], [1, 0], eps=0.0)


@pytest.mark.parametrize("fn", [separation_power, jsd, hellinger, kl_divergence])
def test_bad_histograms(fn):
    for a, b in (([1, 2], [1, 2, 3]), ([1, -1], [1, 1]), ([0, 0], [1, 1]), ([np.nan, 1], [1, 1])):
        with pytest.raises(CalolibError):
            fn(a, b)


def test_histogram_helpers():
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=1000), rng.normal(0.5, 1, size=800)
    hp = histogram_pair(a, b, 30, name="x")
    assert hp.gen.sum() == 1000 and hp.ref.sum() == 800 and len(hp.edges) == 31
    d, e = hp.density("gen")
    assert np.sum(d * np.diff(hp.edges)) == pytest.approx(1.0)
    sc = hp.scores()
    assert sc["separation_power"] == separation_power(hp.gen, hp.ref) and sc["jsd"] > 0
    assert np.allclose(np.diff(np.log(common_bins([1, 10], [1e4], 4))), np.log(10))  # log bins over 4 decades
    assert hp.log is False


def test_feature_histograms_on_real_features():
    from calolib.features import compute_features
    from calolib.showers import Showers

    rng = np.random.default_rng(4)
    e = 10 ** rng.uniform(3, 5, 300)
    v = rng.exponential(size=(300, 368)) * (e[:, None] / 368)
    f1 = compute_features(Showers(e[:150], v[:150], "ds1-photons"))
    f2 = compute_features(Showers(e[150:], v[150:], "ds1-photons"))
    h = feature_histograms(f1, f2, bins=20)
    table = feature_table(f1)
    assert "e_layer_0" in h and "ec_x_1" in table and "geometry" not in table
    assert "e_layer_5" not in h  # geometrically empty ds1 layer: constant, skipped
    assert h["e_total"].log and h["e_total"].gen.sum() == 150
    for pair in h.values():
        assert pair.gen.sum() + pair.ref.sum() > 0
