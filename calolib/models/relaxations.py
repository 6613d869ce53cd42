"""Continuous relaxations of Bernoulli latents, so gradients pass through binary samples.

The encoder gives logits ``l`` with ``q = sigmoid(l) = P(z=1|x)``.  A relaxation draws a continuous
``zeta`` in [0, 1] from a density that depends smoothly on ``q`` (reparametrised through one uniform
``rho``), and the *same* ``rho`` gives the hard sample ``z = 1[rho > 1 - q] ~ Bernoulli(q)``.  All three
relaxations tend to that hard sample as the sharpness grows (beta -> inf, tau -> 0).

* **Spike-and-exponential** (Rolfe 2016, DVAE): ``r(zeta|z=0) = delta(zeta)``,
  ``r(zeta|z=1) = beta e^{beta(zeta-1)} / (e^beta - 1)``.  CDF for zeta in [0,1]:
  ``F(zeta) = (1-q) + q (e^{beta zeta} - 1)/(e^beta - 1)``; inverse CDF with ``u = max(0, (rho+q-1)/q)``:
  ``zeta = 1 + log(u (1 - e^{-beta}) + e^{-beta}) / beta`` (0 in the spike).
* **Mixture of overlapping exponentials** (Vahdat et al., DVAE#): ``r(zeta|z=0) ∝ e^{-beta zeta}``,
  ``r(zeta|z=1) ∝ e^{beta(zeta-1)}`` on [0,1].  With ``s = e^{beta(zeta-1)}`` the CDF equation
  ``F(zeta) = rho`` becomes ``q s^2 + b s - (1-q) e^{-beta} = 0``,
  ``b = (1-q) - q e^{-beta} - rho (1 - e^{-beta})``; we take its positive root in a cancellation-free
  form and work in log space, so large beta neither overflows nor loses precision.
* **Gumbel-sigmoid / binary concrete** (Maddison et al., Jang et al.):
  ``zeta = sigmoid((l + log rho - log(1-rho)) / tau)``.

Each function is ``relax(logits, beta, generator=None, *, rho=None) -> zeta`` (for Gumbel the second
argument is the temperature ``tau``); :func:`relax` dispatches by name and also returns the hard ``z``.

Example:
    >>> import torch
    >>> g = torch.Generator().manual_seed(0)
    >>> zeta, z = relax("spike_exp", torch.zeros(4), 1e4, generator=g)
    >>> torch.allclose(zeta, z, atol=1e-3)
    True
"""
from __future__ import annotations

import math

import torch

from calolib.errors import ConfigError

__all__ = [
    "RELAXATIONS",
    "uniform_like",
    "hard_sample",
    "spike_exp",
    "mixture_exp",
    "gumbel_sigmoid",
    "spike_exp_cdf",
    "relax",
]

RELAXATIONS = ("spike_exp", "mixture_exp", "gumbel")

_Q_MIN = 1e-7  # keeps q away from 0/1 so no division produces inf in the backward pass
_TINY = 1e-30


def __dir__():
    return __all__


def uniform_like(logits: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Uniforms ``rho`` in (0, 1) with the shape, dtype (at least float32) and device of ``logits``.

    Example:
        >>> bool(((uniform_like(torch.zeros(100)) > 0) & (uniform_like(torch.zeros(100)) < 1)).all())
        True
    """
    dtype = logits.dtype if logits.dtype in (torch.float32, torch.float64) else torch.float32
    rho = torch.rand(logits.shape, generator=generator, device=logits.device, dtype=dtype)
    eps = torch.finfo(dtype).eps
    return rho.clamp(eps, 1.0 - eps)


def _q(logits: torch.Tensor) -> torch.Tensor:
    logits = logits if logits.dtype in (torch.float32, torch.float64) else logits.float()
    return torch.sigmoid(logits).clamp(_Q_MIN, 1.0 - _Q_MIN)


def hard_sample(logits: torch.Tensor, rho: torch.Tensor) -> torch.Tensor:
    """The Bernoulli(q) sample ``z = 1[rho > 1 - q]`` (float 0/1) that matches a relaxation's ``rho``.

    Example:
        >>> hard_sample(torch.tensor([-50.0, 50.0]), torch.tensor([0.5, 0.5])).tolist()
        [0.0, 1.0]
    """
    return (rho > 1.0 - torch.sigmoid(logits.to(rho.dtype))).to(rho.dtype)


def _check_beta(beta: float, name: str) -> float:
    beta = float(beta)
    if not beta > 0 or not math.isfinite(beta):
        raise ConfigError(f"relaxation {name} needs a finite {('tau' if name == 'gumbel' else 'beta')} > 0, got {beta}")
    return beta


def spike_exp(logits: torch.Tensor, beta: float, generator: torch.Generator | None = None, *,
              rho: torch.Tensor | None = None) -> torch.Tensor:
    """Spike-and-exponential relaxation (Rolfe 2016); differentiable in ``logits``.

    Args:
        logits: ``(...)`` encoder logits, ``q = sigmoid(logits)``.
        beta: sharpness of the exponential (> 0; larger is closer to binary).
        generator: torch RNG for the uniforms (on the logits' device).
        rho: optional uniforms of the same shape (then ``generator`` is unused).

    Returns:
        ``zeta`` of the shape of ``logits``, in [0, 1]; exactly 0 with probability ``1 - q``.

    Example:
        >>> spike_exp(torch.tensor([0.0, 0.0]), 5.0, rho=torch.tensor([0.25, 1.0])).tolist()
        [0.0, 1.0]
    """
    beta = _check_beta(beta, "spike_exp")
    rho = uniform_like(logits, generator) if rho is None else rho
    q = _q(logits).to(rho.dtype)
    u = torch.relu((rho + q - 1.0) / q)
    e = math.exp(-beta)
    zeta = 1.0 + torch.log(u * (1.0 - e) + e) / beta
    return zeta.clamp(0.0, 1.0)


def spike_exp_cdf(zeta, q, beta: float):
    """Closed-form CDF ``F(zeta) = (1-q) + q (e^{beta zeta} - 1)/(e^beta - 1)`` on [0, 1] (numpy or torch).

    Example:
        >>> round(float(spike_exp_cdf(1.0, 0.3, 4.0)), 6), round(float(spike_exp_cdf(0.0, 0.3, 4.0)), 6)
        (1.0, 0.7)
    """
    return (1.0 - q) + q * (math.e ** (beta * zeta) - 1.0) / math.expm1(beta)


def mixture_exp(logits: torch.Tensor, beta: float, generator: torch.Generator | None = None, *,
                rho: torch.Tensor | None = None) -> torch.Tensor:
    """Mixture of two overlapping exponentials (DVAE#); differentiable in ``logits``.

    Args and returns as :func:`spike_exp`; ``zeta`` is strictly inside [0, 1] (no spike).

    Example:
        >>> z = mixture_exp(torch.zeros(3), 200.0, rho=torch.tensor([0.1, 0.49, 0.9]))
        >>> [round(v, 2) for v in z.tolist()]
        [0.0, 0.02, 1.0]
    """
    beta = _check_beta(beta, "mixture_exp")
    rho = uniform_like(logits, generator) if rho is None else rho
    q = _q(logits).to(rho.dtype)
    w = math.exp(-beta)
    b = (1.0 - q) - q * w - rho * (1.0 - w)
    disc = torch.sqrt(b * b + 4.0 * q * (1.0 - q) * w)
    # positive root s = (-b + disc) / (2q) = 2(1-q)w / (b + disc); pick the form without cancellation
    log_s_neg = torch.log((disc - b).clamp_min(_TINY)) - torch.log(2.0 * q)
    log_s_pos = torch.log(2.0 * (1.0 - q)) - beta - torch.log((b + disc).clamp_min(_TINY))
    log_s = torch.where(b < 0, log_s_neg, log_s_pos)
    return (1.0 + log_s / beta).clamp(0.0, 1.0)


def gumbel_sigmoid(logits: torch.Tensor, tau: float, generator: torch.Generator | None = None, *,
                   rho: torch.Tensor | None = None) -> torch.Tensor:
    """Gumbel-sigmoid (binary concrete) relaxation with temperature ``tau``.

    Example:
        >>> gumbel_sigmoid(torch.tensor([0.0]), 0.5, rho=torch.tensor([0.5])).tolist()
        [0.5]
    """
    tau = _check_beta(tau, "gumbel")
    rho = uniform_like(logits, generator) if rho is None else rho
    noise = torch.log(rho) - torch.log1p(-rho)
    return torch.sigmoid((logits.to(rho.dtype) + noise) / tau)


def relax(name: str, logits: torch.Tensor, sharpness: float, generator: torch.Generator | None = None, *,
          rho: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Draw ``(zeta, z)``: the relaxed sample and the matching hard 0/1 sample from one set of uniforms.

    Args:
        name: ``"spike_exp"``, ``"mixture_exp"`` or ``"gumbel"``.
        logits: ``(...)`` encoder logits.
        sharpness: beta for the exponential relaxations, the temperature tau for ``"gumbel"``.
        generator: torch RNG (seeded by the caller) on the logits' device.
        rho: optional pre-drawn uniforms.

    Returns:
        ``zeta`` (differentiable, in [0, 1]) and ``z`` (float 0/1, no gradient), both shaped like ``logits``.

    Example:
        >>> zeta, z = relax("gumbel", torch.full((2,), 50.0), 0.1)
        >>> z.tolist()
        [1.0, 1.0]
    """
    if name not in RELAXATIONS:
        raise ConfigError(f"unknown relaxation {name!r}; choose one of {', '.join(RELAXATIONS)}")
    rho = uniform_like(logits, generator) if rho is None else rho
    fn = {"spike_exp": spike_exp, "mixture_exp": mixture_exp, "gumbel": gumbel_sigmoid}[name]
    zeta = fn(logits, sharpness, rho=rho)
    return zeta, hard_sample(logits.detach(), rho)
