"""FPD against the closed-form Fréchet distance of Gaussians; KPD unbiasedness."""
import numpy as np
import pytest
from scipy.linalg import sqrtm

from calolib.errors import CalolibError
from calolib.metrics import fpd, kpd
from calolib.metrics.fpd import frechet_distance, gaussian_frechet_distance, mmd2_poly


def random_cov(rng, d):
    a = rng.normal(size=(d, d))
    return a @ a.T / d + 0.1 * np.eye(d)


def test_gaussian_frechet_matches_scipy_sqrtm():
    rng = np.random.default_rng(0)
    for _ in range(5):
        c1, c2 = random_cov(rng, 4), random_cov(rng, 4)  # non-commuting
        m1, m2 = rng.normal(size=4), rng.normal(size=4)
        ref = np.sum((m1 - m2) ** 2) + np.trace(c1 + c2 - 2 * np.real(sqrtm(c1 @ c2)))
        assert gaussian_frechet_distance(m1, c1, m2, c2) == pytest.approx(ref, rel=1e-8, abs=1e-10)
    # diagonal covariances: ‖Δμ‖² + Σ(σ₁ − σ₂)²
    assert gaussian_frechet_distance([0, 0], np.diag([1.0, 4.0]), [1, 2], np.diag([9.0, 4.0])) == pytest.approx(5 + 4)


def test_fpd_of_a_known_shift_matches_closed_form():
    rng = np.random.default_rng(1)
    n = 20000
    s1, s2 = np.array([1.0, 2.0, 0.5]), np.array([1.5, 2.0, 0.5])
    shift = np.array([0.3, -0.2, 0.0])
    x = rng.normal(size=(n, 3)) * s1
    y = rng.normal(size=(n, 3)) * s2 + shift
    expected = np.sum(shift**2) + np.sum((s1 - s2) ** 2)  # 0.13 + 0.25
    v, e = fpd(x, y, standardise_features=False, n_bootstrap=20)
    assert abs(v - expected) < 5 * e + 2e-3  # finite-sample bias O(d/N)
    same = fpd(x, rng.normal(size=(n, 3)) * s1, standardise_features=False, n_bootstrap=20)
    assert same.value < 5 * same.error + 2e-3 and same.value < 0.05 * expected


def test_fpd_grows_with_mean_shift():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(5000, 5))
    vals = [fpd(x, rng.normal(size=(5000, 5)) + d, n_bootstrap=2).value for d in (0.0, 0.1, 0.3, 1.0)]
    assert np.all(np.diff(vals) > 0)
    assert frechet_distance(x, x) == pytest.approx(0.0, abs=1e-9)


def literal_mmd2(x, y):
    k = lambda a, b: (a @ b / len(a) + 1) ** 3
    m, n = len(x), len(y)
    sxx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    syy = sum(k(y[i], y[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    sxy = sum(k(x[i], y[j]) for i in range(m) for j in range(n)) / (m * n)
    return sxx + syy - 2 * sxy


def test_mmd2_literal_and_unbiased():
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(6, 2)), rng.normal(size=(5, 2))
    assert mmd2_poly(x, y) == pytest.approx(literal_mmd2(x, y), rel=1e-12)
    vals = np.array([mmd2_poly(rng.normal(size=(30, 3)), rng.normal(size=(30, 3))) for _ in range(300)])
    assert abs(vals.mean()) < 4 * vals.std(ddof=1) / np.sqrt(len(vals))  # unbiased: mean 0


def test_kpd_zero_for_same_and_positive_for_shift():
    rng = np.random.default_rng(4)
    x = rng.normal(size=(4000, 4))
    same = kpd(x, rng.normal(size=(4000, 4)), n_batches=10, batch_size=1000)
    shifted = kpd(x, rng.normal(size=(4000, 4)) + 0.5, n_batches=10, batch_size=1000)
    assert abs(same.value) < 5 * same.error + 1e-3
    assert shifted.value > 10 * max(shifted.error, abs(same.value))


def test_bad_inputs():
    with pytest.raises(CalolibError):
        fpd(np.zeros((10, 2)), np.zeros((10, 3)))
    with pytest.raises(CalolibError):
        fpd(np.full((10, 2), np.nan), np.zeros((10, 2)))
    with pytest.raises(CalolibError):
        kpd(np.zeros((10, 2)), np.zeros((10, 2)), batch_size=1)
