"""calolib.features on hand-built showers with known answers, plus a naive per-event reference."""
from __future__ import annotations

import numpy as np
import pytest

import calolib.features as F
from calolib.errors import CalolibError
from calolib.features import (LAYER_FEATURES, apply_threshold, compute_features, sparsity,
                              total_energy)
from calolib.geometry import get_geometry
from calolib.showers import Showers

DS2 = get_geometry("ds2")
R_STEP = 4.65  # ds2 radial bin width, mm


def _ds2_index(layer, a, r):
    return layer * 16 * 9 + a * 9 + r


def _alpha_centre(a, n_alpha=16):
    return -np.pi + 2 * np.pi / n_alpha * (a + 0.5)


def _one_event(hits, e_inc=1000.0, geometry="ds2"):
    g = get_geometry(geometry)
    s = np.zeros((1, g.n_voxels))
    for idx, val in hits.items():
        s[0, idx] = val
    return Showers(np.array([e_inc]), s, g)


def test_single_hit_centre_is_voxel_centre_and_width_zero():
    layer, a, r = 7, 3, 5
    f = compute_features(_one_event({_ds2_index(layer, a, r): 2.5}, e_inc=50.0))
    rc, ac = R_STEP * (r + 0.5), _alpha_centre(a)
    assert f.ec_x[0, layer] == pytest.approx(rc * np.cos(ac))
    assert f.ec_y[0, layer] == pytest.approx(rc * np.sin(ac))
    assert f.ec_r[0, layer] == pytest.approx(rc)
    for w in (f.width_x, f.width_y, f.width_r):
        assert w[0, layer] == pytest.approx(0.0, abs=1e-9)
    assert f.e_layer[0, layer] == 2.5 and f.e_layer[0].sum() == 2.5
    assert f.e_total[0] == 2.5 and f.e_ratio[0] == pytest.approx(0.05)
    # other layers are empty: centres and widths 0, fully sparse
    others = np.arange(45) != layer
    for name in LAYER_FEATURES[:-1]:
        assert np.all(f.layer_feature(name)[0, others] == 0)
    assert np.all(f.sparsity_layer[0, others] == 1.0)
    assert f.sparsity_layer[0, layer] == pytest.approx(1 - 1 / 144)
    assert f.sparsity[0] == pytest.approx(1 - 1 / 6480)


def test_two_opposite_hits_have_zero_centre():
    a, r = 2, 4
    f = compute_features(_one_event({_ds2_index(0, a, r): 1.0, _ds2_index(0, a + 8, r): 1.0}))
    rc, ac = R_STEP * (r + 0.5), _alpha_centre(a)
    assert f.ec_x[0, 0] == pytest.approx(0, abs=1e-9) and f.ec_y[0, 0] == pytest.approx(0, abs=1e-9)
    # each hit sits at distance rc from the centre along the line through both
    assert f.width_x[0, 0] == pytest.approx(rc * abs(np.cos(ac)))
    assert f.width_y[0, 0] == pytest.approx(rc * abs(np.sin(ac)))
    assert f.ec_r[0, 0] == pytest.approx(rc) and f.width_r[0, 0] == pytest.approx(0, abs=1e-9)
    assert f.sparsity_layer[0, 0] == pytest.approx(1 - 2 / 144)


def test_weighted_radial_moments():
    # energies 1 and 3 MeV at radial bins 1 and 6, same angle: weighted mean and std in closed form
    f = compute_features(_one_event({_ds2_index(10, 0, 1): 1.0, _ds2_index(10, 0, 6): 3.0}))
    r1, r2 = R_STEP * 1.5, R_STEP * 6.5
    assert f.ec_r[0, 10] == pytest.approx((r1 + 3 * r2) / 4)
    assert f.width_r[0, 10] == pytest.approx(np.sqrt(3) / 4 * (r2 - r1))


def test_threshold_applied_first():
    hits = {_ds2_index(0, 0, 0): 0.010, _ds2_index(0, 1, 0): 0.020, _ds2_index(1, 0, 0): 5.0}
    ev = _one_event(hits)
    f0 = compute_features(ev)
    f1 = compute_features(ev, threshold_mev=DS2.threshold_mev)  # 15.15 keV drops the 10 keV voxel
    assert f0.e_total[0] == pytest.approx(5.03) and f1.e_total[0] == pytest.approx(5.02)
    assert f0.sparsity_layer[0, 0] == pytest.approx(1 - 2 / 144)
    assert f1.sparsity_layer[0, 0] == pytest.approx(1 - 1 / 144)
    assert f1.threshold_mev == pytest.approx(0.01515) and f0.threshold_mev is None
    # the same through apply_threshold with the geometry default
    f2 = compute_features(apply_threshold(ev))
    np.testing.assert_array_equal(f2.e_layer, f1.e_layer)


def test_apply_threshold_and_helpers():
    arr = np.array([[0.5, 1.0, 2.0, 0.0]])
    np.testing.assert_array_equal(apply_threshold(arr, 1.0), [[0.0, 1.0, 2.0, 0.0]])  # v < thr -> 0
    assert total_energy(arr)[0] == 3.5
    assert sparsity(arr)[0] == 0.25 and sparsity(arr, threshold_mev=1.0)[0] == 0.5
    with pytest.raises(CalolibError, match="threshold_mev"):
        apply_threshold(arr)
    s = Showers(np.array([10.0]), np.full((1, 368), 0.9), "ds1-photons")  # ds1 threshold is 1 MeV
    assert apply_threshold(s).showers.sum() == 0 and total_energy(s)[0] == pytest.approx(0.9 * 368)


def test_ds1_irregular_and_empty_layers():
    g = get_geometry("ds1-photons")
    sl12 = g.layer_slices[12]  # 5 radial bins, one angular bin: r edges 0,100,200,400,1000,2000
    ev = _one_event({sl12.start + 2: 4.0, g.layer_slices[1].start: 1.0}, geometry="ds1-photons")
    f = compute_features(ev)
    assert f.e_layer.shape == (1, 24)
    assert f.ec_r[0, 12] == pytest.approx(300.0) and f.ec_x[0, 12] == pytest.approx(300.0)
    assert f.ec_y[0, 12] == pytest.approx(0.0, abs=1e-9)
    assert f.sparsity_layer[0, 12] == pytest.approx(4 / 5)
    assert np.all(f.sparsity_layer[0, 4:12] == 1.0) and np.all(f.e_layer[0, 4:12] == 0)
    assert f.sparsity[0] == pytest.approx(1 - 2 / 368)
    X, names = f.matrix()
    assert X.shape == (1, len(names)) == (1, len(f.feature_names))
    assert "ec_y_12" not in names and "ec_y_1" in names and "ec_x_12" in names  # one angular bin: no y
    assert len(set(names)) == len(names) and np.all(np.isfinite(X))


def _naive(showers: Showers):
    """Per-event, per-layer loops straight from the definitions (the independent reference)."""
    g = showers.geometry
    n, L = len(showers), g.n_layers
    out = {k: np.zeros((n, L)) for k in ("e", "ecx", "wx", "ecr", "wr", "sp")}
    for i in range(n):
        for l, sl in enumerate(g.layer_slices):
            v = showers.showers[i, sl].astype(np.float64)
            if v.size == 0:
                out["sp"][i, l] = 1.0
                continue
            out["sp"][i, l] = np.mean(v <= 0)
            out["e"][i, l] = v.sum()
            if v.sum() > 0:
                for key, pos in (("x", g.voxel_x[sl]), ("r", g.voxel_r[sl])):
                    mean = np.average(pos, weights=v)
                    out["ec" + key][i, l] = mean
                    out["w" + key][i, l] = np.sqrt(np.average((pos - mean) ** 2, weights=v))
    return out


@pytest.mark.parametrize("geometry", ["ds2", "ds1-pions"])
def test_vectorised_matches_naive_reference(geometry, monkeypatch):
    g = get_geometry(geometry)
    rng = np.random.default_rng(1)
    n = 13
    s = (rng.exponential(2.0, (n, g.n_voxels)) * (rng.random((n, g.n_voxels)) < 0.05)).astype(np.float32)
    s[3] = 0.0  # an entirely empty shower
    sh = Showers(10 ** rng.uniform(3, 5, n), s, g)
    monkeypatch.setattr(F, "_BLOCK_VALUES", 4 * g.n_voxels)  # several event blocks
    f = compute_features(sh)
    ref = _naive(sh)
    np.testing.assert_allclose(f.e_layer, ref["e"], rtol=1e-10)
    np.testing.assert_allclose(f.ec_x, ref["ecx"], rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(f.width_x, ref["wx"], rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(f.ec_r, ref["ecr"], rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(f.width_r, ref["wr"], rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(f.sparsity_layer, ref["sp"])
    np.testing.assert_allclose(f.e_ratio, s.sum(axis=1, dtype=np.float64) / sh.energies, rtol=1e-6)
    assert f.sparsity[3] == 1.0 and f.e_total[3] == 0


def test_matrix_columns_depend_only_on_geometry():
    rng = np.random.default_rng(2)
    a = Showers(np.full(4, 1e4), rng.random((4, 6480)), "ds2")
    b = Showers(np.full(6, 1e5), rng.random((6, 6480)) * (rng.random((6, 6480)) < 0.1), "ds2")
    Xa, na = compute_features(a).matrix()
    Xb, nb = compute_features(b).matrix()
    assert na == nb and Xa.shape == (4, 1 + 45 * 6) and Xb.shape == (6, 1 + 45 * 6)
    assert Xa.dtype == np.float64 and np.all(np.isfinite(Xb))
    i = na.index("log_e_layer_3")
    np.testing.assert_allclose(Xa[:, i], np.log10(a.showers[:, 3 * 144:4 * 144].sum(axis=1) / 1e4 + 1e-8))


def test_bad_input():
    with pytest.raises(CalolibError, match="Showers"):
        compute_features(np.zeros((2, 6480)))
    f = compute_features(_one_event({0: 1.0}))
    with pytest.raises(CalolibError, match="unknown layer feature"):
        f.layer_feature("nope")


def test_streamed_file_features_equal_in_memory(tmp_path):
    from calolib.features import HighLevelFeatures, features_from_file
    from calolib.io import save_showers

    rng = np.random.default_rng(3)
    s = (rng.exponential(1.0, (11, 533)) * (rng.random((11, 533)) < 0.3)).astype(np.float32)
    sh = Showers(10 ** rng.uniform(3, 5, 11), s, "ds1-pions")
    save_showers(tmp_path / "f.h5", sh)
    whole = compute_features(sh, threshold_mev=1.0)
    streamed = features_from_file(tmp_path / "f.h5", threshold_mev=1.0, batch_size=4)
    for k, v in whole.to_dict().items():
        np.testing.assert_array_equal(getattr(streamed, k), v, err_msg=k)
    part = features_from_file(tmp_path / "f.h5", start=2, max_events=5, batch_size=3)
    np.testing.assert_array_equal(part.e_layer, compute_features(sh[2:7]).e_layer)
    np.testing.assert_array_equal(whole[3:5].ec_x, whole.ec_x[3:5])
    with pytest.raises(CalolibError, match="thresholds"):
        HighLevelFeatures.concatenate([whole, compute_features(sh)])
