"""The layer-normalised shape transform of the factorised model: round trip, exact layer energies,
no sub-threshold voxels, persistence."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from calolib.errors import ConfigError
from calolib.geometry import get_geometry
from calolib.shapes import LayerShapeTransform, transform_from_dict

GEO = get_geometry("ds2")


def _showers(n=6, seed=0):
    rng = np.random.default_rng(seed)
    v = rng.exponential(2.0, (n, GEO.n_voxels)) * (rng.random((n, GEO.n_voxels)) < 0.2)
    v[:, GEO.layer_slices[44]] = 0.0  # an empty layer
    return np.full(n, 1e5), v


def test_round_trip_with_true_hits_reproduces_thresholded_showers():
    e, v = _showers()
    t = LayerShapeTransform("ds2", threshold_mev=0.05).fit(e, v)
    u = t.transform(e, v)
    vt = np.where(v >= 0.05, v, 0.0)
    back = t.inverse(t.layer_energies(v), u, hits=vt > 0)
    assert np.allclose(back, vt, rtol=1e-5, atol=1e-8)
    assert np.allclose(t.layer_energies(vt), GEO.layer_energies(vt))


def test_inverse_gives_exact_layer_energies_and_no_subthreshold_voxels():
    e, v = _showers(seed=1)
    t = LayerShapeTransform("ds2", threshold_mev=0.05).fit(e, v)
    rng = np.random.default_rng(3)
    u = rng.normal(size=v.shape).astype(np.float32)
    hits = rng.random(v.shape) < 0.05
    L = rng.uniform(0.05, 30, (len(e), GEO.n_layers))
    L[:, 3] = 0.0          # empty layer
    L[:, 9] = 0.03         # below the threshold: no voxel can hold it, the layer comes out empty
    L[:, 5] = 0.07         # tiny layer: one voxel takes it all
    hits[:, GEO.layer_slices[7]] = False  # a layer with energy but no hit voxel
    out = t.inverse(L, u, hits=hits)
    assert out.shape == v.shape and np.all(out >= 0)
    assert np.all((out == 0) | (out >= 0.05))
    expect = np.where(L >= 0.05, L, 0.0)
    np.testing.assert_allclose(GEO.layer_energies(out), expect, rtol=1e-9, atol=1e-12)
    assert np.all((out[:, GEO.layer_slices[5]] > 0).sum(1) == 1)
    assert np.all((out[:, GEO.layer_slices[7]] > 0).sum(1) >= 1)
    # torch in, torch out
    out_t = t.inverse(torch.tensor(L), torch.tensor(u), hits=torch.tensor(hits))
    assert isinstance(out_t, torch.Tensor) and np.allclose(out_t.numpy(), out)


def test_layer_features_and_persistence():
    e, v = _showers()
    t = LayerShapeTransform("ds2", threshold_mev=0.05).fit(e, v)
    f = t.layer_features(t.layer_energies(v))
    assert f.shape == (6, GEO.n_layers)
    assert np.allclose(f.mean(0)[:44], 0, atol=1e-5)
    t2 = transform_from_dict(t.to_dict())
    assert isinstance(t2, LayerShapeTransform)
    assert np.array_equal(t2.transform(e, v), t.transform(e, v))
    with pytest.raises(ConfigError, match="not fitted"):
        LayerShapeTransform("ds2").transform(e, v)
