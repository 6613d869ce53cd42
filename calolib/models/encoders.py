"""Encoders: preprocessed showers ``x (B, V)`` (+ E_inc) -> logits of the free latent bits ``(B, N_free)``.

* ``"fcn"``: a multilayer perceptron on the voxel vector.
* ``"cnn"``: 3-D convolutions on the ``(layer, angle, radius)`` grid.  The angle axis is periodic, so it is
  padded *circularly* (a voxel at angle bin 0 is the neighbour of bin A-1); layer and radius are zero-padded.
  Each stage is a stride-1 and a stride-2 :class:`CircularConv3d`, then a dense layer.
* ``"hierarchical"``: the free partitions are produced in turn; partition ``k``'s logits come from
  ``[features(x), t, zeta_{<k}]`` where ``zeta_{<k}`` are the relaxed samples of the partitions before it
  (partition 0 being the clamped E_inc code when the RBM is conditioned).  With ``partition_encoding`` the
  earlier partitions enter instead as the seed-000 scalar ``sum_{p<k} S_p / M_p`` added to every voxel, and
  the backbone is re-run per partition.

E_inc enters as ``t`` in [0, 1] (see :mod:`~calolib.models.conditioning`): ``einc_input="concat"`` appends
it to the voxel vector (an extra constant channel for the CNN), ``"add"`` adds it to every voxel.

Every encoder's ``forward(x, t, relax, prefix)`` returns ``(logits, zeta, z)`` for the free bits;
``relax(logits) -> (zeta, z)`` is the relaxation chosen by the QVAE.

Example:
    >>> import torch
    >>> from calolib.models.config import ModelConfig
    >>> cfg = ModelConfig(rbm_sizes=(4, 4, 4, 4), topology="full", encoder_hidden=(8,))
    >>> enc = build_encoder(cfg)
    >>> relax = lambda l: (torch.sigmoid(l), (l > 0).float())
    >>> logits, zeta, z = enc(torch.zeros(2, 6480), torch.zeros(2), relax, torch.zeros(2, 4))
    >>> logits.shape
    torch.Size([2, 12])
"""
from __future__ import annotations

import math
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from calolib.errors import ConfigError
from calolib.geometry import get_geometry
from calolib.models.conditioning import make_activation
from calolib.models.config import ModelConfig
from calolib.models.positional import PartitionEncoding, VoxelPositional

__all__ = ["CircularConv3d", "mlp", "grid_sizes", "EncoderInput", "FCNBackbone", "CNNBackbone",
           "FlatEncoder", "HierarchicalEncoder", "build_encoder"]

Relax = Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor]]


def __dir__():
    return __all__


class CircularConv3d(nn.Module):
    """``Conv3d`` on ``(B, C, L, A, R)`` with circular padding in the angle axis ``A`` and zeros in ``L``, ``R``.

    Example:
        >>> conv = CircularConv3d(1, 2, 3)
        >>> conv(torch.randn(1, 1, 5, 8, 4)).shape
        torch.Size([1, 2, 5, 8, 4])
    """

    def __init__(self, c_in: int, c_out: int, kernel: int = 3, stride: int | tuple[int, int, int] = 1):
        super().__init__()
        self.pad = kernel // 2
        self.conv = nn.Conv3d(c_in, c_out, kernel, stride=stride, padding=0)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        p = self.pad
        if p:
            # F.pad order: (R_lo, R_hi, A_lo, A_hi, L_lo, L_hi)
            h = F.pad(h, (0, 0, p, p, 0, 0), mode="circular")
            h = F.pad(h, (p, p, 0, 0, p, p), mode="constant", value=0.0)
        return self.conv(h)


def mlp(sizes: list[int], activation: str, dropout: float = 0.0, *, last_activation: bool = True) -> nn.Sequential:
    """Linear layers ``sizes[0] -> ... -> sizes[-1]`` with activations (and dropout) in between.

    Example:
        >>> mlp([3, 4, 2], "relu")(torch.zeros(5, 3)).shape
        torch.Size([5, 2])
    """
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b))
        if last_activation or i < len(sizes) - 2:
            layers.append(make_activation(activation))
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
    return nn.Sequential(*layers)


def grid_sizes(grid: tuple[int, int, int], n_stages: int) -> list[tuple[int, int, int]]:
    """Grid shape after each stride-2 stage: ``[grid, ceil(grid/2), ...]`` (``n_stages + 1`` entries).

    Example:
        >>> grid_sizes((45, 16, 9), 2)
        [(45, 16, 9), (23, 8, 5), (12, 4, 3)]
    """
    out = [tuple(grid)]
    for _ in range(n_stages):
        out.append(tuple(math.ceil(n / 2) for n in out[-1]))
    return out


def _grid(cfg: ModelConfig) -> tuple[int, int, int]:
    g = get_geometry(cfg.geometry)
    if not g.is_regular:
        raise ConfigError(f"CNN layers need a regular geometry (ds2, ds3); {g.name!r} is irregular, use 'fcn'")
    return g.grid_shape


class EncoderInput(nn.Module):
    """Assemble the encoder input from ``x (B, V)``, ``t (B,)``, an optional per-event offset ``(B,)`` and,
    for the factorised model (``energy_model="flow"``), the layer features ``cond (B, L)``.

    ``flat=True`` gives ``(B, D)`` for MLPs (``cond`` appended), else ``(B, C, L, A, R)`` channels for the
    CNN (``cond`` broadcast over each layer's voxels as one more channel).
    """

    def __init__(self, cfg: ModelConfig, *, flat: bool):
        super().__init__()
        g = get_geometry(cfg.geometry)
        self.flat, self.n_voxels = flat, g.n_voxels
        self.grid = None if flat else _grid(cfg)
        self.use_t = cfg.encoder_sees_einc
        self.concat_t = self.use_t and cfg.einc_input == "concat"
        self.pos = (VoxelPositional(g, cfg.positional, n_freqs=cfg.positional_freqs,
                                    dim=1 if flat else cfg.positional_dim)
                    if cfg.positional != "none" else None)
        pe_dim = self.pos.dim if self.pos is not None else 0
        self.n_cond = g.n_layers if cfg.energy_model == "flow" else 0
        self.out_dim = ((self.n_voxels * (1 + pe_dim) + int(self.concat_t) + self.n_cond) if flat
                        else 1 + pe_dim + int(self.concat_t) + int(self.n_cond > 0))

    def forward(self, x: torch.Tensor, t: torch.Tensor, offset: torch.Tensor | None = None,
                cond: torch.Tensor | None = None) -> torch.Tensor:
        b = x.shape[0]
        if self.pos is not None and self.pos.version == "v1":
            x = x + self.pos.offset().to(x.dtype)
        if self.use_t and not self.concat_t:
            x = x + t[:, None].to(x.dtype)
        if offset is not None:
            x = x + offset[:, None].to(x.dtype)
        chans = [x[:, None, :]]  # (B, 1, V)
        pe = self.pos.channels() if self.pos is not None else None
        if pe is not None:
            chans.append(pe.to(x.dtype)[None].expand(b, -1, -1))  # (B, d, V)
        if self.n_cond and (cond is None or cond.shape != (b, self.n_cond)):
            raise ConfigError(f"this encoder is conditioned on {self.n_cond} layer features; pass cond (B, {self.n_cond})")
        if self.flat:
            parts = [c.reshape(b, -1) for c in chans]
            if self.concat_t:
                parts.append(t[:, None].to(x.dtype))
            if self.n_cond:
                parts.append(cond.to(x.dtype))
            return torch.cat(parts, dim=1)
        h = torch.cat(chans, dim=1).reshape(b, -1, *self.grid)
        if self.concat_t:
            h = torch.cat([h, t.to(x.dtype).reshape(b, 1, 1, 1, 1).expand(b, 1, *self.grid)], dim=1)
        if self.n_cond:
            h = torch.cat([h, cond.to(x.dtype).reshape(b, 1, -1, 1, 1).expand(b, 1, *self.grid)], dim=1)
        return h


class FCNBackbone(nn.Module):
    """MLP feature network: input ``(B, D)`` -> ``(B, hidden[-1])``."""

    def __init__(self, in_dim: int, cfg: ModelConfig):
        super().__init__()
        self.net = mlp([in_dim, *cfg.encoder_hidden], cfg.activation, cfg.dropout)
        self.out_dim = cfg.encoder_hidden[-1]

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.net(h)


class CNNBackbone(nn.Module):
    """Conv feature network on ``(B, C, L, A, R)`` -> ``(B, cnn_hidden)``; ``conv`` is the conv-only path."""

    def __init__(self, in_channels: int, cfg: ModelConfig):
        super().__init__()
        grid = _grid(cfg)
        layers: list[nn.Module] = []
        c_prev = in_channels
        for c in cfg.cnn_channels:
            layers += [CircularConv3d(c_prev, c, 3, 1), make_activation(cfg.activation),
                       CircularConv3d(c, c, 3, 2), make_activation(cfg.activation)]
            c_prev = c
        self.conv = nn.Sequential(*layers)
        n_flat = c_prev * math.prod(grid_sizes(grid, len(cfg.cnn_channels))[-1])
        self.head = mlp([n_flat, cfg.cnn_hidden], cfg.activation, cfg.dropout)
        self.out_dim = cfg.cnn_hidden

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.head(self.conv(h).flatten(1))


def _backbone(kind: str, cfg: ModelConfig) -> tuple[EncoderInput, nn.Module]:
    inp = EncoderInput(cfg, flat=(kind == "fcn"))
    net = FCNBackbone(inp.out_dim, cfg) if kind == "fcn" else CNNBackbone(inp.out_dim, cfg)
    return inp, net


class FlatEncoder(nn.Module):
    """FCN or CNN encoder: all free logits at once from the backbone features."""

    def __init__(self, cfg: ModelConfig, kind: str):
        super().__init__()
        self.inp, self.backbone = _backbone(kind, cfg)
        self.n_out = cfg.n_free * (1 if cfg.binary_latents else 2)  # Gaussian: [mu | log sigma^2]
        self.head = nn.Linear(self.backbone.out_dim, self.n_out)

    def logits(self, x: torch.Tensor, t: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        """``(B, N_free)`` logits (``(B, 2 N_free)`` = ``[mu | log sigma^2]`` for Gaussian latents)."""
        return self.head(self.backbone(self.inp(x, t, cond=cond)))

    def forward(self, x: torch.Tensor, t: torch.Tensor, relax: Relax, prefix: torch.Tensor | None = None,
                cond: torch.Tensor | None = None):
        logits = self.logits(x, t, cond)
        zeta, z = relax(logits)
        return logits, zeta, z


class HierarchicalEncoder(nn.Module):
    """Free partitions in turn, each conditioned on the relaxed samples of the earlier ones."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.inp, self.backbone = _backbone(cfg.hierarchical_backbone, cfg)
        self.n_clamped = cfg.n_clamped
        self.free_sizes = list(cfg.rbm_sizes[1:] if cfg.condition_rbm else cfg.rbm_sizes)
        self.use_t = cfg.encoder_sees_einc
        self.partition_encoding = cfg.partition_encoding
        prev = [self.n_clamped] + self.free_sizes[:-1]
        heads, pencs = [], []
        for k, m in enumerate(self.free_sizes):
            n_prev = sum(prev[: k + 1])
            extra = 0 if self.partition_encoding else n_prev
            heads.append(mlp([self.backbone.out_dim + int(self.use_t) + extra, cfg.hierarchical_hidden,
                              m * (1 if cfg.binary_latents else 2)],
                             cfg.activation, cfg.dropout, last_activation=False))
        sizes_all = ([self.n_clamped] if self.n_clamped else []) + self.free_sizes
        if self.partition_encoding:
            pencs = [PartitionEncoding(m) for m in sizes_all]
        self.heads = nn.ModuleList(heads)
        self.pencs = nn.ModuleList(pencs)

    def forward(self, x: torch.Tensor, t: torch.Tensor, relax: Relax, prefix: torch.Tensor | None = None,
                cond: torch.Tensor | None = None):
        b = x.shape[0]
        done_zeta: list[torch.Tensor] = []  # relaxed samples of earlier partitions (clamped code first)
        if self.n_clamped:
            if prefix is None:
                raise ValueError("the hierarchical encoder of a conditioned RBM needs the clamped code as prefix")
            done_zeta.append(prefix.to(x.dtype))
        feats = None if self.partition_encoding else self.backbone(self.inp(x, t, cond=cond))
        logits_all, zeta_all, z_all = [], [], []
        for k, head in enumerate(self.heads):
            if self.partition_encoding:
                off = sum((pe(zp) for pe, zp in zip(self.pencs, done_zeta)), torch.zeros(b, device=x.device))
                parts = [self.backbone(self.inp(x, t, off, cond=cond))]
            else:
                parts = [feats] + done_zeta
            if self.use_t:
                parts.insert(1, t[:, None].to(x.dtype))
            logits = head(torch.cat(parts, dim=1))
            zeta, z = relax(logits)
            done_zeta.append(zeta)
            logits_all.append(logits), zeta_all.append(zeta), z_all.append(z)
        return torch.cat(logits_all, 1), torch.cat(zeta_all, 1), torch.cat(z_all, 1)


def build_encoder(cfg: ModelConfig) -> nn.Module:
    """The encoder named by ``cfg.encoder``."""
    if cfg.encoder == "hierarchical":
        return HierarchicalEncoder(cfg)
    return FlatEncoder(cfg, cfg.encoder)
