"""Decoders: latent ``z`` or ``zeta (B, N)`` (+ E_inc) -> voxel energies and voxel hit logits.

The decoder has two *independent* networks of the same kind (FCN or CNN):

* the **energy head** predicts ``x_hat (B, V)`` in preprocessed space;
* the **hits head** predicts ``hit_logits (B, V)``, the log-odds that each voxel is non-zero, so the output
  can be as sparse as real showers (seed 003).  Being separate networks, the hits head can be cut off
  from E_inc (``hits_use_einc=False``) or see a learned embedding of it (``hits_preprocess_einc=True``)
  without affecting the energy head: the seed-003 remedies for the competition between energy and
  sparsity.

Condition modes per network: ``"concat"`` (``[z, c]`` is the input), ``"film"`` (input ``z``; every hidden
layer is FiLM-modulated by ``c``) or ``"none"``.  The CNN network maps the input by a dense layer to a
coarse ``(C, L/4, A/4, R/4)`` grid and upsamples (nearest) stage by stage to ``(L, A, R)``, each stage a
:class:`~calolib.models.encoders.CircularConv3d` (circular in angle).

Example:
    >>> import torch
    >>> from calolib.models.config import ModelConfig
    >>> cfg = ModelConfig(rbm_sizes=(4, 4, 4, 4), topology="full", decoder_hidden=(8,))
    >>> x, hits = Decoder(cfg)(torch.zeros(3, 16), torch.zeros(3))
    >>> x.shape, hits.shape
    (torch.Size([3, 6480]), torch.Size([3, 6480]))
"""
from __future__ import annotations

import math

import torch
from torch import nn

from calolib.errors import ConfigError
from calolib.geometry import get_geometry
from calolib.models.conditioning import EincEmbedding, FiLM, make_activation
from calolib.models.config import ModelConfig
from calolib.models.encoders import CircularConv3d, _grid, grid_sizes

__all__ = ["FCNDecoderNet", "CNNDecoderNet", "Decoder"]


def __dir__():
    return __all__


class FCNDecoderNet(nn.Module):
    """MLP ``(B, n_in) [+ cond (B, c)] -> (B, V)``; ``cond_mode`` in ``concat | film | none``."""

    def __init__(self, n_in: int, n_out: int, cfg: ModelConfig, cond_dim: int, cond_mode: str):
        super().__init__()
        self.cond_mode = cond_mode if cond_dim else "none"
        sizes = [n_in + (cond_dim if self.cond_mode == "concat" else 0), *cfg.decoder_hidden]
        self.linears = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:]))
        self.films = nn.ModuleList(FiLM(cond_dim, b) for b in sizes[1:]) if self.cond_mode == "film" else None
        self.act = make_activation(cfg.activation)
        self.drop = nn.Dropout(cfg.dropout) if cfg.dropout > 0 else nn.Identity()
        self.out = nn.Linear(sizes[-1], n_out)

    def forward(self, z: torch.Tensor, c: torch.Tensor | None) -> torch.Tensor:
        h = torch.cat([z, c], dim=1) if self.cond_mode == "concat" else z
        for i, lin in enumerate(self.linears):
            h = lin(h)
            if self.films is not None:
                h = self.films[i](h, c)
            h = self.drop(self.act(h))
        return self.out(h)


class CNNDecoderNet(nn.Module):
    """Dense layer to a coarse grid, then upsample + circular convolutions to ``(L, A, R)`` -> ``(B, V)``."""

    def __init__(self, n_in: int, cfg: ModelConfig, cond_dim: int, cond_mode: str):
        super().__init__()
        self.cond_mode = cond_mode if cond_dim else "none"
        grid = _grid(cfg)
        chans = list(reversed(cfg.cnn_channels))
        self.sizes = grid_sizes(grid, len(chans))  # full grid first
        self.coarse = (chans[0], *self.sizes[-1])
        n_in_tot = n_in + (cond_dim if self.cond_mode == "concat" else 0)
        self.dense = nn.Sequential(nn.Linear(n_in_tot, cfg.cnn_hidden), make_activation(cfg.activation),
                                   nn.Linear(cfg.cnn_hidden, math.prod(self.coarse)))
        self.convs = nn.ModuleList()
        self.upsamples = nn.ModuleList()
        c_prev = chans[0]
        for i, c in enumerate(chans):
            self.upsamples.append(nn.Upsample(size=self.sizes[len(chans) - 1 - i], mode="nearest"))
            self.convs.append(CircularConv3d(c_prev, c, 3, 1))
            c_prev = c
        self.films = (nn.ModuleList([FiLM(cond_dim, n) for n in [cfg.cnn_hidden]] + [FiLM(cond_dim, c) for c in chans])
                      if self.cond_mode == "film" else None)
        self.act = make_activation(cfg.activation)
        self.final = CircularConv3d(c_prev, 1, 3, 1)

    def forward(self, z: torch.Tensor, c: torch.Tensor | None) -> torch.Tensor:
        b = z.shape[0]
        h = torch.cat([z, c], dim=1) if self.cond_mode == "concat" else z
        h = self.dense[0](h)
        if self.films is not None:
            h = self.films[0](h, c)
        h = self.dense[2](self.dense[1](h)).reshape(b, *self.coarse)
        for i, (up, conv) in enumerate(zip(self.upsamples, self.convs)):
            h = conv(up(h))
            if self.films is not None:
                h = self.films[i + 1](h, c)
            h = self.act(h)
        return self.final(h).reshape(b, -1)


class Decoder(nn.Module):
    """Energy head and (optional) hits head: ``forward(z (B, N), t (B,), cond=None) -> (x_hat (B, V), hit_logits
    or None)``.  For the factorised model (``energy_model="flow"``) both heads are also conditioned on the
    layer features ``cond (B, L)`` (concatenated to their condition vector)."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        geo = get_geometry(cfg.geometry)
        n_vox = geo.n_voxels
        self.n_cond = geo.n_layers if cfg.energy_model == "flow" else 0
        energy_mode = {"enc_dec": "concat", "film": "film"}.get(cfg.conditioning, "none")
        self.energy_embed = EincEmbedding(0) if energy_mode != "none" else None
        e_dim = (self.energy_embed.dim if self.energy_embed is not None else 0) + self.n_cond
        self.energy = self._net(cfg, n_vox, e_dim, energy_mode if energy_mode != "none" else "concat")
        self.hits = None
        self.hits_embed = None
        if cfg.hits_head:
            hits_mode = energy_mode if cfg.hits_use_einc else "none"
            if hits_mode != "none":
                self.hits_embed = EincEmbedding(cfg.hits_einc_hidden if cfg.hits_preprocess_einc else 0,
                                                cfg.activation)
            h_dim = (self.hits_embed.dim if self.hits_embed is not None else 0) + self.n_cond
            self.hits = self._net(cfg, n_vox, h_dim, hits_mode if hits_mode != "none" else "concat")

    @staticmethod
    def _net(cfg: ModelConfig, n_vox: int, cond_dim: int, mode: str) -> nn.Module:
        if cfg.decoder == "cnn":
            return CNNDecoderNet(cfg.n_latent, cfg, cond_dim, mode)
        return FCNDecoderNet(cfg.n_latent, n_vox, cfg, cond_dim, mode)

    def _cond(self, embed, t: torch.Tensor, cond: torch.Tensor | None, dtype) -> torch.Tensor | None:
        parts = [embed(t.to(dtype))] if embed is not None else []
        if self.n_cond:
            if cond is None or cond.shape[1] != self.n_cond:
                raise ConfigError(f"this decoder is conditioned on {self.n_cond} layer features; pass cond (B, {self.n_cond})")
            parts.append(cond.to(dtype))
        return torch.cat(parts, dim=1) if parts else None

    def forward(self, z: torch.Tensor, t: torch.Tensor,
                cond: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor | None]:
        x_hat = self.energy(z, self._cond(self.energy_embed, t, cond, z.dtype))
        hit_logits = None
        if self.hits is not None:
            hit_logits = self.hits(z, self._cond(self.hits_embed, t, cond, z.dtype))
        return x_hat, hit_logits
