"""calolib.preprocessing: exact inverse, standardisation, numpy/torch agreement, persistence."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

import calolib.preprocessing as P
from calolib.errors import ConfigError, ShowerFileError
from calolib.preprocessing import EnergyTransform, VoxelTransform

DELTA = 1e-6


def _sparse_showers(n=60, v=400, seed=0):
    """Sparse showers like ds2: ~80% zeros, deposits from 15 keV up to a good fraction of E_inc,
    plus one voxel that is always empty."""
    rng = np.random.default_rng(seed)
    e = 10 ** rng.uniform(3, 6, n)  # 1 GeV .. 1 TeV in MeV
    frac = rng.dirichlet(np.full(v, 0.05), size=n) * rng.uniform(0.5, 1.0, (n, 1))
    s = frac * e[:, None]
    s[s < 0.01515] = 0.0  # the ds2 cell threshold produces exact zeros
    s[:, 7] = 0.0
    return e, s.astype(np.float32)


def _logit(e, s):
    x = DELTA + (1 - 2 * DELTA) * s.astype(np.float64) / e[:, None]
    return np.log(x / (1 - x))


def test_fit_standardises_each_voxel():
    e, s = _sparse_showers()
    t = VoxelTransform().fit(e, s)
    u = _logit(e, s)
    np.testing.assert_allclose(t.mean, u.mean(axis=0), rtol=1e-12, atol=1e-12)
    std = u.std(axis=0)
    live = std > 1e-3
    np.testing.assert_allclose(t.std[live], std[live], rtol=1e-10)
    assert not live[7] and t.std[7] == 1.0  # always-empty voxel: only centred
    up = t.transform(e, s, dtype=np.float64)
    np.testing.assert_allclose(up[:, live].mean(axis=0), 0, atol=1e-9)
    np.testing.assert_allclose(up[:, live].std(axis=0), 1, rtol=1e-9)
    np.testing.assert_allclose(up[:, 7], 0, atol=1e-12)


def test_blocked_fit_equals_one_shot_fit(monkeypatch):
    e, s = _sparse_showers(n=50)
    full = VoxelTransform().fit(e, s)
    monkeypatch.setattr(P, "_BLOCK_VALUES", 7 * s.shape[1])  # 8 blocks of 7 events (last one short)
    blocked = VoxelTransform().fit(e, s)
    np.testing.assert_allclose(blocked.mean, full.mean, rtol=1e-12)
    np.testing.assert_allclose(blocked.std, full.std, rtol=1e-10)


def test_inverse_float32_within_1e5_relative():
    e, s = _sparse_showers(seed=1)
    t = VoxelTransform().fit(e, s)
    u = t.transform(e, s)
    assert u.dtype == np.float32 and u.shape == s.shape
    back = t.inverse(e, u)
    assert back.dtype == np.float32 and np.all(back >= 0)
    s64, b64 = s.astype(np.float64), back.astype(np.float64)
    # deposits resolved by the logit (eps >= delta): 1e-5 relative
    big = s64 >= DELTA * e[:, None]
    assert big.sum() > 1000
    np.testing.assert_allclose(b64[big], s64[big], rtol=1e-5)
    # everything, zeros included: 1e-5 relative plus 1e-5 of the delta floor (delta * E_inc MeV)
    assert np.all(np.abs(b64 - s64) <= 1e-5 * s64 + 1e-5 * DELTA * e[:, None])


def test_inverse_float64_exact():
    e, s = _sparse_showers(seed=2)
    t = VoxelTransform().fit(e, s)
    back = t.inverse(e, t.transform(e, s, dtype=np.float64))
    assert back.dtype == np.float64
    np.testing.assert_allclose(back, s, rtol=1e-9, atol=1e-9 * DELTA * e.max())


def test_inverse_is_clipped_at_zero():
    e, s = _sparse_showers(n=10)
    t = VoxelTransform().fit(e, s)
    very_low = np.full(s.shape, -50.0, np.float32)  # far below logit(delta)
    assert np.all(t.inverse(e, very_low) == 0)


def test_torch_matches_numpy(device):
    e, s = _sparse_showers(seed=3)
    t = VoxelTransform().fit(e, s)
    u_np = t.transform(e, s)
    s_t, e_t = torch.from_numpy(s).to(device), torch.from_numpy(e).to(device)
    u_t = t.transform(e_t, s_t)
    assert isinstance(u_t, torch.Tensor) and u_t.device.type == device.type and u_t.dtype == torch.float32
    np.testing.assert_allclose(u_t.cpu().numpy(), u_np, rtol=1e-6, atol=1e-6)
    back_t = t.inverse(e_t, u_t)
    assert back_t.device.type == device.type and back_t.dtype == torch.float32
    np.testing.assert_allclose(back_t.cpu().numpy(), t.inverse(e, u_np), rtol=1e-6, atol=1e-9)
    # energies as (N, 1) and a torch fit give the same statistics
    t2 = VoxelTransform().fit(e_t.reshape(-1, 1), s_t)
    np.testing.assert_allclose(t2.mean, t.mean, rtol=1e-12)


def test_fit_accepts_showers_object():
    from calolib.showers import Showers

    rng = np.random.default_rng(0)
    sh = Showers(np.full(5, 1e4), rng.random((5, 368)), "ds1-photons")
    np.testing.assert_array_equal(VoxelTransform().fit(sh).mean, VoxelTransform().fit(sh.energies, sh.showers).mean)


def test_json_round_trip(tmp_path):
    e, s = _sparse_showers(seed=4)
    t = VoxelTransform(delta=2e-6).fit(e, s)
    d = t.to_dict()
    json.dumps(d)  # JSON-able
    t.save(tmp_path / "t.json")
    t2 = VoxelTransform.load(tmp_path / "t.json")
    assert t2.delta == 2e-6 and t2.n_voxels == s.shape[1]
    np.testing.assert_array_equal(t2.transform(e, s), t.transform(e, s))
    np.testing.assert_array_equal(VoxelTransform.from_dict(d).std, t.std)


def test_errors(tmp_path):
    e, s = _sparse_showers(n=5)
    with pytest.raises(ConfigError, match="not fitted"):
        VoxelTransform().transform(e, s)
    t = VoxelTransform().fit(e, s)
    with pytest.raises(ShowerFileError, match="fitted on 400"):
        t.transform(e, s[:, :10])
    with pytest.raises(ShowerFileError, match="> 0"):
        t.transform(np.r_[e[:4], 0.0], s)
    with pytest.raises(ShowerFileError, match="4 incident energies for 5"):
        t.inverse(e[:4], s)
    with pytest.raises(ConfigError, match="delta"):
        VoxelTransform(delta=0.7)
    with pytest.raises(ConfigError, match="missing or bad field"):
        VoxelTransform.from_dict({"delta": 1e-6})
    (tmp_path / "bad.json").write_text("{nope")
    with pytest.raises(ConfigError, match="not a JSON"):
        VoxelTransform.load(tmp_path / "bad.json")
    with pytest.raises(ConfigError, match="no such"):
        VoxelTransform.load(tmp_path / "missing.json")


def test_energy_transform_endpoints_and_inverse(device):
    t = EnergyTransform(1e3, 1e6)
    e = np.array([1e3, 1e6, np.sqrt(1e3 * 1e6), 1e4])
    np.testing.assert_allclose(t.transform(e), [0.0, 1.0, 0.5, 1 / 3], atol=1e-12)
    np.testing.assert_allclose(t.inverse(t.transform(e)), e, rtol=1e-12)
    et = torch.tensor(e, dtype=torch.float64, device=device)
    tt = t.transform(et)
    assert isinstance(tt, torch.Tensor) and tt.device.type == device.type
    np.testing.assert_allclose(tt.cpu().numpy(), t.transform(e), rtol=1e-12)
    np.testing.assert_allclose(t.inverse(tt).cpu().numpy(), e, rtol=1e-12)
    t2 = EnergyTransform.from_dict(json.loads(json.dumps(t.to_dict())))
    assert (t2.e_min, t2.e_max) == (1e3, 1e6)
    assert EnergyTransform(256.0, 4.2e6).transform(np.array([256.0]))[0] == 0.0
    with pytest.raises(ConfigError, match="e_min < e_max"):
        EnergyTransform(1e6, 1e3)


def test_streamed_fit_equals_in_memory_fit(tmp_path):
    from calolib.io import iter_showers, save_showers

    e, s = _sparse_showers(n=30, v=368, seed=5)
    save_showers(tmp_path / "p.h5", e, s)
    whole = VoxelTransform().fit(e, s)
    streamed = VoxelTransform().fit_batches(iter_showers(tmp_path / "p.h5", batch_size=7))
    np.testing.assert_allclose(streamed.mean, whole.mean, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(streamed.std, whole.std, rtol=1e-10)
    with pytest.raises(ShowerFileError, match="no data"):
        VoxelTransform().fit_batches([])
