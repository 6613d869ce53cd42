"""How the incident energy E_inc enters the networks.

* :func:`einc_to_unit`: the fixed log map ``t = ln(E/E_min) / ln(E_max/E_min)`` (torch only; 1 GeV..1 TeV
  by default maps to [0, 1]; values outside are not clipped, so extrapolation stays monotone).
* :class:`EincEmbedding`: ``t`` as a 1-vector, or (``hidden > 0``) a small learned MLP of ``t`` (the
  seed-003 remedy "preprocess E_inc before the hits head").
* :class:`FiLM`: feature-wise linear modulation ``h -> h * (1 + gamma(c)) + beta(c)`` of hidden features by
  a condition vector ``c`` ("modulated energy" of seed 001); initialised to the identity (gamma = beta = 0).

Example:
    >>> import torch
    >>> [round(v, 3) for v in einc_to_unit(torch.tensor([1e3, 10**4.5, 1e6])).tolist()]
    [0.0, 0.5, 1.0]
"""
from __future__ import annotations

import math

import torch
from torch import nn

__all__ = ["einc_to_unit", "EincEmbedding", "FiLM", "make_activation"]


def __dir__():
    return __all__


def make_activation(name: str) -> nn.Module:
    """The activation module called ``name`` (silu, relu, leaky_relu, gelu, tanh).

    Example:
        >>> make_activation("relu")(torch.tensor([-1.0, 2.0])).tolist()
        [0.0, 2.0]
    """
    return {"silu": nn.SiLU, "relu": nn.ReLU, "leaky_relu": nn.LeakyReLU, "gelu": nn.GELU, "tanh": nn.Tanh}[name]()


def einc_to_unit(e_inc: torch.Tensor, e_min: float = 1e3, e_max: float = 1e6) -> torch.Tensor:
    """Map incident energies (MeV, shape ``(B,)``) to ``t = ln(E/e_min)/ln(e_max/e_min)``, float32 ``(B,)``.

    Example:
        >>> float(einc_to_unit(torch.tensor([1e4]), 1e3, 1e5))
        0.5
    """
    e = torch.as_tensor(e_inc).reshape(-1)
    e = e.to(torch.float64 if e.dtype == torch.float64 else torch.float32)
    return (torch.log(e.clamp_min(1e-30) / e_min) / math.log(e_max / e_min)).to(torch.float32)


class EincEmbedding(nn.Module):
    """Condition vector from ``t`` (B,): ``(B, 1)`` identity, or ``(B, hidden)`` from a 2-layer MLP.

    Example:
        >>> EincEmbedding(0)(torch.tensor([0.2, 0.7])).shape, EincEmbedding(8)(torch.zeros(3)).shape
        (torch.Size([2, 1]), torch.Size([3, 8]))
    """

    def __init__(self, hidden: int = 0, activation: str = "silu"):
        super().__init__()
        self.dim = hidden if hidden > 0 else 1
        self.net = (nn.Sequential(nn.Linear(1, hidden), make_activation(activation), nn.Linear(hidden, hidden))
                    if hidden > 0 else None)

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        c = t.reshape(-1, 1)
        return c if self.net is None else self.net(c)


class FiLM(nn.Module):
    """``h (B, C, ...) -> h * (1 + gamma(c)) + beta(c)`` with ``gamma, beta`` linear in ``c`` (B, cond_dim).

    Starts as the identity so a FiLM model begins like an unconditioned one.

    Example:
        >>> f = FiLM(1, 4)
        >>> h = torch.randn(2, 4, 3)
        >>> torch.equal(f(h, torch.ones(2, 1)), h)
        True
    """

    def __init__(self, cond_dim: int, n_features: int):
        super().__init__()
        self.proj = nn.Linear(cond_dim, 2 * n_features)
        nn.init.zeros_(self.proj.weight)
        nn.init.zeros_(self.proj.bias)

    def forward(self, h: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        gamma, beta = self.proj(c).chunk(2, dim=-1)  # (B, C) each
        shape = (h.shape[0], h.shape[1]) + (1,) * (h.dim() - 2)
        return h * (1.0 + gamma.reshape(shape)) + beta.reshape(shape)
