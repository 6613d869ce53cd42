"""Positional encodings: the seed-000 partition scalar S and the voxel features."""
from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch

from calolib.geometry import get_geometry
from calolib.models.positional import (
    PartitionEncoding,
    VoxelPositional,
    partition_encoding,
    voxel_coordinates,
    voxel_features,
)


def _direct_s(bits: list[int]) -> float:
    """S = sum_{j,i} f_j(x_i) by the seed-000 definition, one term at a time."""
    m = len(bits)
    total = 0.0
    for j in range(1, m):
        k = j * math.pi / m
        for pos, x in enumerate(bits):
            total += math.cos(k * pos) if x == 1 else math.sin(k * pos)
    return total


@pytest.mark.parametrize("m", [2, 3, 5, 8])
def test_partition_encoding_matches_direct_double_loop(m):
    patterns = list(itertools.product([0, 1], repeat=m))
    bits = torch.tensor(patterns, dtype=torch.float64)
    s = partition_encoding(bits)
    expected = torch.tensor([_direct_s(list(p)) for p in patterns], dtype=torch.float64)
    assert torch.allclose(s, expected, atol=1e-9)
    # the module is S / M in float32
    assert torch.allclose(PartitionEncoding(m)(bits.float()), (expected / m).float(), atol=1e-5)


def test_partition_encoding_breaks_the_bit_count_degeneracy():
    a, b = torch.tensor([[1.0, 0, 0, 1]]), torch.tensor([[0.0, 1, 1, 0]])
    assert float(a.sum()) == float(b.sum())  # the naive encoding (bit count) cannot tell them apart
    assert abs(float(partition_encoding(a)) - float(partition_encoding(b))) > 1.0
    # the seed-000 9-bit example against another pattern with the same bit count
    x = torch.tensor([[1.0, 0, 0, 1, 1, 1, 0, 0, 0]])
    y = torch.tensor([[0.0, 0, 0, 1, 1, 1, 0, 0, 1]])
    assert abs(float(partition_encoding(x)) - float(partition_encoding(y))) > 1e-3


def test_partition_encoding_is_affine_in_each_relaxed_bit():
    g = torch.Generator().manual_seed(0)
    a = torch.randint(0, 2, (5, 7), generator=g).double()
    b = torch.randint(0, 2, (5, 7), generator=g).double()
    lam = 0.3
    mixed = partition_encoding(lam * a + (1 - lam) * b)
    assert torch.allclose(mixed, lam * partition_encoding(a) + (1 - lam) * partition_encoding(b))
    z = torch.rand(3, 7, requires_grad=True)
    PartitionEncoding(7)(z).sum().backward()
    assert torch.isfinite(z.grad).all() and z.grad.abs().sum() > 0


def test_voxel_coordinates_follow_the_grid_layout():
    g = get_geometry("ds2")
    c = voxel_coordinates(g).reshape(*g.grid_shape, 3)  # (L, A, R, 3)
    # layer coordinate depends only on the layer index, radius only on the radial index, angle only on angle
    assert np.allclose(c[..., 0], c[:, :1, :1, 0])
    assert np.allclose(c[..., 2], c[:1, :1, :, 2])
    assert np.allclose(c[..., 1], c[:1, :, :1, 1])
    assert np.allclose(c[:, 0, 0, 0], (np.arange(45) + 0.5) / 45)
    assert np.allclose(c[0, 0, :, 2], (np.arange(9) + 0.5) / 9)
    assert np.allclose(c[0, :, 0, 1], g.voxel_alpha[: 16 * 9 : 9])


def test_irregular_geometry_radial_index_is_per_layer():
    g = get_geometry("ds1-photons")
    c = voxel_coordinates(g)
    assert c.shape == (g.n_voxels, 3)
    for layer, sl in zip(g.layers, g.layer_slices):
        if layer.n_voxels:
            r = c[sl, 2]
            assert np.allclose(np.sort(np.unique(r)), (np.arange(layer.n_r) + 0.5) / layer.n_r)


def test_angle_features_wrap_around_the_cylinder():
    g = get_geometry("ds2")
    f = voxel_features(g, 3).reshape(*g.grid_shape, -1)[0, :, 0, :]  # (A, F) along the angle at fixed l, r
    d_next = np.linalg.norm(f[1] - f[0])
    d_wrap = np.linalg.norm(f[-1] - f[0])  # bin A-1 is bin 0's neighbour
    d_far = np.linalg.norm(f[8] - f[0])
    assert np.isclose(d_wrap, d_next) and d_far > d_next


def test_v1_is_a_fixed_offset_and_v2_a_learned_projection():
    v1 = VoxelPositional("ds2", "v1", n_freqs=2)
    assert v1.channels() is None and v1.offset().shape == (6480,)
    assert not list(v1.parameters())
    feats = torch.from_numpy(voxel_features("ds2", 2))
    assert torch.allclose(v1.offset(), feats.sum(1) / math.sqrt(feats.shape[1]))
    v2 = VoxelPositional("ds2", "v2", n_freqs=2, dim=3)
    ch = v2.channels()
    assert ch.shape == (3, 6480)
    ch.sum().backward()
    assert v2.proj.weight.grad is not None and v2.proj.weight.grad.abs().sum() > 0
