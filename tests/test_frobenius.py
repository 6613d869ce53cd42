"""Frobenius correlation distance: identities, symmetry, known correlations."""
import numpy as np
import pytest

from calolib.diagnostics import frobenius_distance
from calolib.diagnostics.frobenius import correlation_matrix, group_energies, layer_groups
from calolib.errors import CalolibError
from calolib.geometry import get_geometry
from calolib.showers import Showers


def showers_with_group_correlation(rho, n, seed):
    """ds1-photon showers (5 groups = 5 active layers) with one voxel per layer; groups 0 and 1 correlated (rho)."""
    g = get_geometry("ds1-photons")
    rng = np.random.default_rng(seed)
    cov = np.eye(5)
    cov[0, 1] = cov[1, 0] = rho
    e = rng.multivariate_normal(np.full(5, 10.0), cov, size=n)
    s = np.zeros((n, g.n_voxels))
    first_voxel_of_layer = np.array([sl.start for sl in g.layer_slices])
    s[:, first_voxel_of_layer[list(g.active_layers)]] = e
    return Showers(np.full(n, 1e4), s, g)


def test_identical_is_zero_and_distance_is_symmetric():
    a = showers_with_group_correlation(0.8, 500, 0)
    b = showers_with_group_correlation(0.0, 500, 1)
    assert frobenius_distance(a, a) == 0.0
    d_ab, d_ba = frobenius_distance(a, b), frobenius_distance(b, a)
    assert d_ab > 0 and d_ab == pytest.approx(d_ba, abs=1e-14)


def test_known_correlation_gives_known_distance():
    n = 20000
    a = showers_with_group_correlation(0.8, n, 0)
    b = showers_with_group_correlation(0.0, n, 1)
    c = correlation_matrix(a)
    assert c.shape == (5, 5)
    assert c[0, 1] == pytest.approx(0.8, abs=4 * (1 - 0.8**2) / np.sqrt(n))
    # only the (0,1) and (1,0) entries differ in expectation: d = √2 · 0.8; other 18 entries add O(1/N) noise
    assert frobenius_distance(a, b) == pytest.approx(np.sqrt(2) * 0.8, abs=0.03)


def test_perfectly_correlated_groups_have_correlation_one():
    rng = np.random.default_rng(0)
    g = get_geometry("ds2")
    scale = rng.exponential(size=(300, 1))
    profile = rng.random(g.n_voxels)
    s = scale * profile  # every group energy proportional to one random scalar
    np.testing.assert_allclose(correlation_matrix(s, "ds2"), np.ones((5, 5)), atol=1e-12)
    np.testing.assert_allclose(correlation_matrix(s, "ds2", groups=45), np.ones((45, 45)), atol=1e-12)


def test_independent_groups_are_nearly_identity():
    rng = np.random.default_rng(1)
    n = 4000
    s = rng.exponential(size=(n, 368))
    c = correlation_matrix(s, "ds1-photons")
    off = c[~np.eye(len(c), dtype=bool)]
    assert c.shape == (5, 5) and np.all(np.abs(off) < 4 / np.sqrt(n))


def test_groups_and_levels():
    assert layer_groups("ds2") == [list(range(i, i + 9)) for i in range(0, 45, 9)]
    assert layer_groups("ds1-pions") == [[l] for l in get_geometry("ds1-pions").active_layers]
    assert layer_groups("ds2", 2) == [list(range(23)), list(range(23, 45))]
    s = np.ones((2, 6480))
    np.testing.assert_allclose(group_energies(s, "ds2", groups=[[0, 1], [44]]), [[288, 144], [288, 144]])
    rng = np.random.default_rng(2)
    v = rng.exponential(size=(50, 6480))
    cv = correlation_matrix(v, "ds2", groups=45, level="voxel", group=3)
    assert cv.shape == (144, 144)
    np.testing.assert_allclose(cv, np.corrcoef(v[:, 3 * 144:4 * 144], rowvar=False), atol=1e-12)
    for bad in (dict(groups=0), dict(groups=[[]]), dict(groups=[[50]]), dict(level="pixel"),
                dict(level="voxel", group=9)):
        with pytest.raises(CalolibError):
            correlation_matrix(v, "ds2", **bad)


def test_constant_columns_and_arrays_vs_showers():
    rng = np.random.default_rng(3)
    v = rng.exponential(size=(100, 368))
    v[:, :8] = 0.0  # layer 0 always empty: no defined correlation
    c = correlation_matrix(v, "ds1-photons")
    assert np.isfinite(c).all() and c[0, 0] == 1.0 and np.all(c[0, 1:] == 0.0)
    s = Showers(np.full(100, 1e3), v, "ds1-photons")
    assert frobenius_distance(s, v[::-1] ** 2) == frobenius_distance(v, v[::-1] ** 2, "ds1-photons")
    with pytest.raises(CalolibError):
        frobenius_distance(v, np.zeros((10, 6480)))
