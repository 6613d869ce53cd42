"""The official CaloChallenge definitions: feature vector, bins, separation powers, jetnet-0.2.5 FPD/KPD and the
classifier's calibration — each against an independent expectation (hand-computed cases, closed forms, a
naive re-implementation of the published algorithm written from its definition)."""
from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import curve_fit

from calolib.features import compute_features
from calolib.metrics.official import feature_vector, official_bins, official_features, official_separation_powers, \
    official_threshold
from calolib.metrics.official_classifier import IsotonicCalibration, isotonic_fit, official_classifier, \
    OfficialClassifierConfig, official_low_inputs, roc_curve
from calolib.metrics.classifier import roc_auc
from calolib.metrics.official_fpd import official_fpd, official_kpd
from calolib.showers import Showers


def _shower(voxels: dict[int, float], e_inc: float = 1e4) -> Showers:
    s = np.zeros((1, 6480))
    for i, v in voxels.items():
        s[0, i] = v
    return Showers(np.array([e_inc]), s, "ds2")


def test_threshold_is_half_kev_over_sampling_fraction():
    assert official_threshold("ds2") == pytest.approx(0.5e-3 / 0.033, rel=1e-15)
    assert official_threshold("ds3") == official_threshold("ds2") and official_threshold("ds1-pions") == 1.0
    # 15.15 keV (calolib's rounded value) survives it? no: 0.01515 < 0.0151515...
    f = official_features(_shower({0: 0.01515, 1: 0.0152}))
    assert f.e_layer[0, 0] == pytest.approx(0.0152)


def test_feature_vector_hand_computed():
    # layer 3 (voxels 3*144 ...): ring 0 (r = 2.325 mm) at angle bins 0 and 8 (α = -15π/16 and π/16), 4 and 12 MeV
    base = 3 * 144
    f = official_features(_shower({base + 0 * 9 + 0: 4.0, base + 8 * 9 + 0: 12.0}))
    x, names = feature_vector(f)
    col = {n: j for j, n in enumerate(names)}
    r = 2.325
    a0, a8 = -np.pi + np.pi / 16, -np.pi + 17 * np.pi / 16
    ex = (4 * r * np.cos(a0) + 12 * r * np.cos(a8)) / 16
    wx = np.sqrt((4 * (r * np.cos(a0)) ** 2 + 12 * (r * np.cos(a8)) ** 2) / 16 - ex**2)
    assert x[0, col["log_e_inc"]] == pytest.approx(4.0)
    assert x[0, col["log_e_layer_3"]] == pytest.approx(np.log10(16 + 1e-8))
    assert x[0, col["log_e_layer_0"]] == pytest.approx(-8.0)
    assert x[0, col["ec_x_3"]] == pytest.approx(ex / 100) and x[0, col["width_x_3"]] == pytest.approx(wx / 100)
    assert x[0, col["ec_r_3"]] == pytest.approx(r / 100) and x[0, col["width_r_3"]] == pytest.approx(0, abs=1e-12)
    assert x[0, col["sparsity_3"]] == pytest.approx(1 - 2 / 144) and x[0, col["sparsity_0"]] == 1.0
    assert x[0, col["log_e_total"]] == pytest.approx(np.log10(16 + 1e-8))
    # block order of the official cls-high vector
    stems = [n.rsplit("_", 1)[0] for n in names[1:]]
    order = list(dict.fromkeys(stems))
    assert order == ["log_e_layer", "ec_x", "ec_y", "width_x", "width_y", "log_e", "sparsity", "ec_r", "width_r"]
    assert len(names) == 1 + 45 * 8 + 1


def test_official_bins():
    np.testing.assert_array_equal(official_bins("e_ratio", "ds2"), np.linspace(0.5, 1.5, 101))
    np.testing.assert_array_equal(official_bins("ec_y_7", "ds2"), np.linspace(-30, 30, 101))
    np.testing.assert_array_equal(official_bins("width_r_7", "ds3"), np.linspace(0, 20, 101))
    e = official_bins("e_layer_7", "ds2", ref_max=200.0)
    assert len(e) == 40 and e[0] == pytest.approx(0.5e-3 / 0.033) and e[-1] == pytest.approx(200.0)
    assert official_bins("e_layer_7", "ds2", ref_max=0.0) is None  # an empty reference layer has no histogram
    assert official_bins("ec_x_12", "ds1-pions")[-1] == 500.0 and official_bins("ec_x_1", "ds1-pions")[-1] == 100.0


def _sample(e_ratio_values, e_inc=1e4):
    """One event per value: all energy in voxel 0 so E_dep/E_inc is the value."""
    v = np.zeros((len(e_ratio_values), 6480))
    v[:, 0] = np.asarray(e_ratio_values) * e_inc
    return Showers(np.full(len(e_ratio_values), e_inc), v, "ds2")


def test_separation_power_on_official_bins_hand_counts():
    ref = _sample([0.605, 0.605, 0.615, 0.625])  # bins [0.60,0.61): 2, [0.61,0.62): 1, [0.62,0.63): 1
    gen = _sample([0.605, 0.615, 0.615, 0.3, 1.7])  # 0.3 and 1.7 fall outside [0.5, 1.5]: dropped
    sp = official_separation_powers(gen, ref, n_bootstrap=0)["e_ratio"]
    p, q = np.array([1 / 3, 2 / 3, 0]), np.array([0.5, 0.25, 0.25])
    assert sp.value == pytest.approx(0.5 * np.sum((p - q) ** 2 / (p + q)))
    assert official_separation_powers(ref, ref, n_bootstrap=0)["e_ratio"].value == 0.0
    assert official_separation_powers(_sample([0.7] * 3), _sample([0.9] * 3), n_bootstrap=0)["e_ratio"].value == \
        pytest.approx(1.0)
    # all generated values outside the window: disjoint (the official code would print nan)
    assert official_separation_powers(_sample([0.2] * 3), ref, n_bootstrap=0)["e_ratio"].value == 1.0
    # E_layer of empty layers (0) is below the first log bin: it does not enter
    s = official_separation_powers(gen, ref, n_bootstrap=0)
    assert "e_layer_3" not in s  # the reference's layer 3 is empty: no histogram at all


def test_separation_power_bootstrap_error_matches_replicate_spread():
    from calolib.synthetic import simulate

    ref = simulate(400, seed=10)
    reps = [official_separation_powers(simulate(400, seed=20 + i), ref, n_bootstrap=0)["e_ratio"].value
            for i in range(6)]
    est = official_separation_powers(simulate(400, seed=30), ref, n_bootstrap=30)["e_ratio"]
    # the bootstrap also resamples the reference, so it is at least the spread over generated replicas
    assert 0.4 * np.std(reps, ddof=1) < est.err < 4 * np.std(reps, ddof=1) + 0.01


# --- FPD / KPD: a naive implementation of the jetnet-0.2.5 algorithm, written from its definition ----------

def _naive_fpd(x, y, min_samples, max_samples, num_batches, num_points, seed=42):
    m = np.max(np.abs(x), 0)
    m[m == 0] = 1
    x, y = x / m, y / m
    batches = (1 / np.linspace(1.0 / min_samples, 1.0 / max_samples, num_points)).astype("int32")
    rng = np.random.default_rng(seed)
    vals = []
    for b in batches:
        pts = []
        for _ in range(num_batches):
            a, c = x[rng.choice(len(x), size=b)], y[rng.choice(len(y), size=b)]
            s1, s2 = np.cov(a, rowvar=False), np.cov(c, rowvar=False)
            d = a.mean(0) - c.mean(0)
            # Tr (Σ₁Σ₂)^½ = Σ √λ over the eigenvalues of Σ₁Σ₂ (jetnet uses scipy's sqrtm, which loses ~1e-7 relative
            # on the singular product that the all-zero column makes)
            lam = np.clip(np.linalg.eigvals(s1 @ s2).real, 0, None)
            pts.append(d @ d + np.trace(s1) + np.trace(s2) - 2 * np.sqrt(lam).sum())
        vals.append(np.mean(pts))
    p, cov = curve_fit(lambda t, i, s: i + s * t, 1 / batches, vals, bounds=([0, 0], [np.inf, np.inf]))
    return p[0], np.sqrt(cov[0, 0])


def _naive_kpd(x, y, num_batches, batch_size, seed=42):
    m = np.max(np.abs(x), 0)
    m[m == 0] = 1
    x, y = x / m, y / m
    vals = []
    for i in range(num_batches):
        rng = np.random.default_rng(seed + 1000 * i)
        a, c = x[rng.choice(len(x), size=batch_size)], y[rng.choice(len(y), size=batch_size)]
        k = lambda u, v: (u @ v.T / u.shape[1] + 1) ** 4  # noqa: E731
        kaa, kcc, kac = k(a, a), k(c, c), k(a, c)
        n = batch_size
        vals.append((kaa.sum() - np.trace(kaa)) / (n * (n - 1)) + (kcc.sum() - np.trace(kcc)) / (n * (n - 1))
                    - 2 * kac.mean())
    lo, hi = np.percentile(vals, [16.275, 83.725])
    return np.median(vals), (hi - lo) / 2


@pytest.mark.parametrize("n_events", [150, 900])  # fewer / more distinct events than features × batches
def test_fpd_kpd_equal_the_naive_algorithm(n_events):
    rng = np.random.default_rng(5)
    x = rng.normal(size=(n_events, 6)) * [1, 2, 3, 1, 1, 0.5] + [0, 1, 0, 0, 5, 0]
    y = rng.normal(size=(n_events, 6)) * [1.1, 2, 3, 1, 1, 0.5] + [0.2, 1, 0, 0, 5, 0]
    x[:, 3] = 0.0
    y[:, 3] = 0.0  # an all-zero column (normalised by 1)
    v, e = official_fpd(x, y, min_samples=100, max_samples=400, num_batches=4, num_points=5)
    nv, ne = _naive_fpd(x, y, 100, 400, 4, 5)
    # the per-batch distances agree to rounding; the bounded straight-line fit (scipy's trf) stops at its
    # default tolerance, so the extrapolated intercept agrees to ~1e-6 relative
    assert v == pytest.approx(nv, rel=1e-5, abs=1e-12) and e == pytest.approx(ne, rel=1e-5, abs=1e-12)
    kv, ke = official_kpd(x, y, num_batches=5, batch_size=200)
    nkv, nke = _naive_kpd(x, y, 5, 200)
    assert kv == pytest.approx(nkv, rel=1e-9, abs=1e-14) and ke == pytest.approx(nke, rel=1e-9, abs=1e-14)


def test_fpd_closed_form_for_gaussians():
    rng = np.random.default_rng(0)
    d, mu, sigma = 3, 0.4, 1.5
    x, y = rng.normal(size=(40000, d)), rng.normal(mu, sigma, size=(40000, d))
    v, e = official_fpd(x, y, min_samples=2000, max_samples=20000, num_batches=3, normalise=False)
    exact = d * mu**2 + d * (1 - sigma) ** 2  # ‖Δμ‖² + Tr(Σ₁ + Σ₂ − 2(Σ₁Σ₂)^½)
    assert v == pytest.approx(exact, abs=0.03)


def test_kpd_same_distribution_is_consistent_with_zero():
    rng = np.random.default_rng(1)
    v, e = official_kpd(rng.normal(size=(3000, 4)), rng.normal(size=(3000, 4)), batch_size=1000)
    assert abs(v) < 3 * e + 1e-5


# --- calibration and ROC --------------------------------------------------------------------------------------

def _minmax_isotonic(y):
    """Isotonic regression by the min-max formula f_i = max_{j<=i} min_{k>=i} mean(y[j..k])."""
    n = len(y)
    return np.array([max(min(np.mean(y[j:k + 1]) for k in range(i, n)) for j in range(i + 1)) for i in range(n)])


def test_isotonic_fit_equals_min_max_formula():
    rng = np.random.default_rng(2)
    for _ in range(5):
        y = rng.random(12)
        xs, f = isotonic_fit(np.arange(12.0), y)
        np.testing.assert_allclose(f, _minmax_isotonic(y), atol=1e-12)
    # ties in x are merged to their mean first
    xs, f = isotonic_fit([0.1, 0.1, 0.2], [1.0, 0.0, 0.2])
    assert xs.tolist() == [0.1, 0.2] and f == pytest.approx([0.4, 0.4])  # (2 · 0.5 + 0.2) / 3, weighted by count
    cal = IsotonicCalibration.fit([0.1, 0.2], [0.0, 1.0])
    assert cal.predict([0.0, 0.15, 1.0]) == pytest.approx([1e-6, 0.5, 1 - 1e-6])


def test_roc_curve_area_is_the_auc():
    rng = np.random.default_rng(3)
    s = np.round(rng.random(500), 2)  # ties
    y = (rng.random(500) < 0.3 + 0.4 * s).astype(float)
    fpr, tpr = roc_curve(s, y, max_points=10_000)
    assert np.trapezoid(tpr, fpr) == pytest.approx(roc_auc(s, y), abs=1e-12)


def test_low_inputs_threshold_and_scaling():
    s = _shower({0: 0.0151, 1: 50.0}, e_inc=1e3)
    x = official_low_inputs(s)
    assert x[0, 0] == 3.0 and x[0, 1] == 0.0 and x[0, 2] == pytest.approx(0.05)


def test_official_classifier_separable_and_identical():
    rng = np.random.default_rng(4)
    cfg = OfficialClassifierConfig(n_hidden=32, epochs=15, batch_size=100, n_bootstrap=20)
    far = official_classifier(rng.normal(size=(600, 3)), rng.normal(2.5, 1, size=(600, 3)), config=cfg)
    same = official_classifier(rng.normal(size=(600, 3)), rng.normal(size=(600, 3)), config=cfg)
    assert far.auc > 0.95 and far.jsd > 0.6
    assert abs(same.auc - 0.5) < 4 * same.auc_err + 0.03 and same.jsd < 0.05
    assert (far.n_train, far.n_test, far.n_val) == (720, 240, 240)
    assert far.best_epoch == int(np.argmax(far.test_accuracy)) + 1
    assert far.settings["n_hidden"] == 32 and "3×32" in far.settings["description"]
