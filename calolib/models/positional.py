"""Positional encodings: where a voxel sits, and which bits an earlier latent partition holds.

**Voxel features.**  Every voxel has three coordinates: its layer ``l`` (scaled to
``l~ = (l + 1/2)/L``), its angle ``alpha`` (rad, the bin centre) and its radial bin ``r`` within the layer
(``r~ = (r + 1/2)/n_r``).  :func:`voxel_features` returns ``6K`` sinusoids per voxel,
``sin/cos(pi k l~)``, ``sin/cos(k alpha)`` (periodic in angle, so the cylinder wraps), ``sin/cos(pi k r~)``
for ``k = 1..K``.

* **v1** (fixed, added): one scalar per voxel, ``P_i = sum_f phi_f(i) / sqrt(6K)``, added to the
  preprocessed input ``x_i``.  It shifts every voxel by a distinct, smooth, fixed amount.
* **v2** (learned, concatenated): a learned linear projection ``phi(i) @ W`` (``6K -> d``) concatenated to
  the input: ``d`` extra channels for the CNN encoder, one extra entry per voxel for the FCN encoder.

Note that for a *fully connected* first layer both are input-independent and therefore equivalent to a
change of its bias; they matter for the weight-sharing CNN, where a convolution cannot tell voxels apart.

**Partition encoding** (seed 000).  For bits ``x_i`` at positions ``pos_i = i = 0..M-1`` of a partition,
``f_j(x_i) = cos(k_j pos_i)`` if ``x_i = 1`` and ``sin(k_j pos_i)`` if ``x_i = 0``, ``k_j = j pi / M``,
``j = 1..M-1``, and ``S = sum_{j,i} f_j(x_i)``.  Because ``f_j`` is affine in the bit,
``S = sum_i [x_i C_i + (1 - x_i) S_i]`` with ``C_i = sum_j cos(k_j i)``, ``S_i = sum_j sin(k_j i)``; the same
expression extends to relaxed bits ``zeta`` in [0, 1], so it is differentiable.  Unlike the bit count it
distinguishes patterns with equal counts (``1001`` vs ``0110``).  :class:`PartitionEncoding` divides S by
``M`` to keep it of order one before it is added to the (standardised) voxels.

Example:
    >>> import torch
    >>> s = partition_encoding(torch.tensor([[1.0, 0, 0, 1], [0, 1, 1, 0]]))
    >>> [round(v, 3) for v in s.tolist()]
    [5.414, -0.586]
"""
from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from calolib.geometry import Geometry, get_geometry

__all__ = ["voxel_coordinates", "voxel_features", "VoxelPositional", "partition_encoding",
           "partition_encoding_weights", "PartitionEncoding"]


def __dir__():
    return __all__


def voxel_coordinates(geometry: str | Geometry) -> np.ndarray:
    """Per-voxel ``(l~, alpha, r~)``, shape ``(V, 3)``: scaled layer, angle (rad), scaled radial bin.

    Example:
        >>> c = voxel_coordinates("ds2")
        >>> c.shape, round(float(c[0, 2]), 4), round(float(c[8, 2]), 4)
        ((6480, 3), 0.0556, 0.9444)
    """
    g = get_geometry(geometry)
    r_idx = np.empty(g.n_voxels, dtype=np.float64)
    n_r = np.ones(g.n_voxels, dtype=np.float64)
    for layer, sl in zip(g.layers, g.layer_slices):
        if layer.n_voxels:
            r_idx[sl] = np.arange(layer.n_voxels) % layer.n_r  # radial bin fastest
            n_r[sl] = layer.n_r
    l_t = (np.asarray(g.voxel_layer, dtype=np.float64) + 0.5) / g.n_layers
    return np.stack([l_t, np.asarray(g.voxel_alpha, dtype=np.float64), (r_idx + 0.5) / n_r], axis=1)


def voxel_features(geometry: str | Geometry, n_freqs: int = 4) -> np.ndarray:
    """Sinusoidal voxel features ``(V, 6 n_freqs)`` float32 (see the module docstring).

    Example:
        >>> f = voxel_features("ds2", 2)
        >>> f.shape, bool(np.abs(f).max() <= 1)
        ((6480, 12), True)
    """
    c = voxel_coordinates(geometry)
    k = np.arange(1, n_freqs + 1, dtype=np.float64)
    cols = []
    for col, scale in ((0, math.pi), (1, 1.0), (2, math.pi)):
        arg = c[:, col : col + 1] * k * scale
        cols += [np.sin(arg), np.cos(arg)]
    return np.concatenate(cols, axis=1).astype(np.float32)


class VoxelPositional(nn.Module):
    """Voxel positional encoding ``"v1"`` (fixed offset (V,)) or ``"v2"`` (learned projection (V, dim)).

    ``offset()`` is the v1 vector to add to ``x`` (zeros for v2); ``channels()`` the v2 features
    ``(dim, V)`` to concatenate (``None`` for v1).

    Example:
        >>> pe = VoxelPositional("ds2", "v2", n_freqs=2, dim=3)
        >>> pe.channels().shape
        torch.Size([3, 6480])
    """

    def __init__(self, geometry: str | Geometry, version: str, *, n_freqs: int = 4, dim: int = 1):
        super().__init__()
        if version not in ("v1", "v2"):
            raise ValueError(f"unknown positional encoding {version!r}; use v1 or v2")
        self.version = version
        feats = torch.from_numpy(voxel_features(geometry, n_freqs))  # (V, F)
        self.register_buffer("features", feats, persistent=False)
        self.dim = dim if version == "v2" else 0
        self.proj = nn.Linear(feats.shape[1], dim) if version == "v2" else None

    def offset(self) -> torch.Tensor:
        """v1: ``(V,)`` fixed offset, ``sum_f phi_f / sqrt(F)``."""
        return self.features.sum(dim=1) / math.sqrt(self.features.shape[1])

    def channels(self) -> torch.Tensor | None:
        """v2: ``(dim, V)`` learned features; ``None`` for v1."""
        return None if self.proj is None else self.proj(self.features).transpose(0, 1)


def partition_encoding_weights(m: int, dtype: torch.dtype = torch.float64) -> tuple[torch.Tensor, torch.Tensor]:
    """``(C, S)``, each ``(m,)``: ``C_i = sum_j cos(j pi i / m)``, ``S_i = sum_j sin(j pi i / m)``, j = 1..m-1.

    Example:
        >>> c, s = partition_encoding_weights(4)
        >>> [round(v, 3) for v in c.tolist()], [round(v, 3) for v in s.tolist()]
        ([3.0, 0.0, -1.0, 0.0], [0.0, 2.414, 0.0, 0.414])
    """
    pos = torch.arange(m, dtype=torch.float64)
    k = torch.arange(1, m, dtype=torch.float64) * math.pi / m  # (m-1,)
    arg = k[:, None] * pos[None, :]  # (m-1, m)
    return torch.cos(arg).sum(0).to(dtype), torch.sin(arg).sum(0).to(dtype)


def partition_encoding(bits: torch.Tensor) -> torch.Tensor:
    """Seed-000 scalar ``S`` of a partition, ``bits (B, M)`` (0/1 or relaxed in [0,1]) -> ``(B,)``.

    Example:
        >>> round(float(partition_encoding(torch.zeros(1, 3))), 4)  # all bits 0: sin(pi/3) + sin(2pi/3)
        1.7321
    """
    c, s = partition_encoding_weights(bits.shape[-1], dtype=bits.dtype)
    c, s = c.to(bits.device), s.to(bits.device)
    return bits @ c + (1.0 - bits) @ s


class PartitionEncoding(nn.Module):
    """``S / M`` for one partition of size ``M`` (weights cached as buffers): ``(B, M) -> (B,)``.

    Example:
        >>> pe = PartitionEncoding(4)
        >>> round(float(pe(torch.tensor([[1.0, 0, 0, 1]]))), 4)
        1.3536
    """

    def __init__(self, m: int):
        super().__init__()
        c, s = partition_encoding_weights(m, dtype=torch.float32)
        self.register_buffer("c", c / m, persistent=False)
        self.register_buffer("s", s / m, persistent=False)

    def forward(self, bits: torch.Tensor) -> torch.Tensor:
        bits = bits.to(self.c.dtype)
        return bits @ self.c + (1.0 - bits) @ self.s
