"""Exact enumeration of small RBMs (at most 24 free units): probabilities, moments and a sampler.

All 2^n states are enumerated in batches (state ``k`` has bit ``i`` = bit ``n-1-i`` of ``k``, i.e. the
first unit is the most significant bit).  Energies are recomputed here in float64 from the weight
matrix, ``E = -a.z - z W z / 2``, and probabilities come from a log-sum-exp, so nothing overflows.
With ``conditioning`` (one 0/1 vector for partition 0) only the other units are enumerated and the
results are those of the conditional distribution p(z_rest | z_0).

:class:`ExactSampler` draws i.i.d. samples by a multinomial over the exact probabilities: the
reference every other sampler is compared against.

Example:
    >>> from calolib.rbm import RBM
    >>> m = exact_moments(RBM((1, 1, 1, 1), weight_std=0.0))
    >>> np.allclose(m["marginals"], 0.5), bool(np.isclose(m["log_z"], 4 * np.log(2)))
    (True, True)
"""
from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from calolib.errors import SamplerError
from calolib.samplers.base import LatentSamples, Sampler, check_conditioning, register_sampler

__all__ = ["MAX_EXACT_UNITS", "enumerate_states", "exact_log_probs", "exact_moments", "ExactSampler"]

MAX_EXACT_UNITS = 24
_BATCH = 1 << 16


def __dir__():
    return __all__


def enumerate_states(n: int, *, start: int = 0, stop: int | None = None, device=None, dtype=torch.float32) -> torch.Tensor:
    """States ``start..stop-1`` of all 2^n binary states of n units, shape (stop-start, n), MSB first.

    Example:
        >>> enumerate_states(2).tolist()
        [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]
    """
    if not 0 <= int(n) <= 62:
        raise SamplerError(f"cannot enumerate {n} units; use 0..{MAX_EXACT_UNITS}")
    stop = (1 << n) if stop is None else int(stop)
    k = torch.arange(int(start), stop, device=device, dtype=torch.int64)
    shifts = torch.arange(n - 1, -1, -1, device=device, dtype=torch.int64)
    return ((k[:, None] >> shifts[None, :]) & 1).to(dtype)


def _setup(rbm, beta: float, conditioning):
    """Float64 operators, free-unit index, clamp vector and number of free units."""
    with torch.no_grad():
        w = rbm.weight_matrix().detach().double() * float(beta)
        a = rbm.bias_vector().detach().double() * float(beta)
    n = rbm.n_units
    if conditioning is not None:
        c = torch.as_tensor(conditioning)
        if c.ndim != 1:
            raise SamplerError("exact enumeration takes a single conditioning vector (n0,); group rows first")
        c = check_conditioning(rbm, c, 1)[0].double()
        free = torch.arange(rbm.sizes[0], n, device=w.device)
    else:
        c, free = None, torch.arange(n, device=w.device)
    if free.numel() > MAX_EXACT_UNITS:
        raise SamplerError(f"exact enumeration needs <= {MAX_EXACT_UNITS} free units, this RBM has {free.numel()}; use gibbs")
    return w, a, c, free


def _batches(rbm, beta: float, conditioning):
    """Yield (z (B, N) float64 full states, -beta*E (B,)) over all free states."""
    w, a, c, free = _setup(rbm, beta, conditioning)
    n_free = int(free.numel())
    for start in range(0, 1 << n_free, _BATCH):
        zf = enumerate_states(n_free, start=start, stop=min(1 << n_free, start + _BATCH), device=w.device, dtype=torch.float64)
        if c is None:
            z = zf
        else:
            z = torch.cat([c.expand(zf.shape[0], -1), zf], dim=1)
        neg_e = z @ a + 0.5 * ((z @ w) * z).sum(dim=1)
        yield z, neg_e


@torch.no_grad()
def exact_log_probs(rbm, *, beta: float = 1.0, conditioning=None) -> torch.Tensor:
    """log p(z) of every enumerated state (2^n_free,) float64 (order of :func:`enumerate_states` on the free units).

    Example:
        >>> from calolib.rbm import RBM
        >>> lp = exact_log_probs(RBM((1, 1, 1, 1), weight_std=1.0))
        >>> lp.shape[0], bool(np.isclose(lp.exp().sum().item(), 1.0))
        (16, True)
    """
    neg_e = torch.cat([ne for _, ne in _batches(rbm, beta, conditioning)])
    return neg_e - torch.logsumexp(neg_e, dim=0)


@torch.no_grad()
def exact_moments(rbm, *, beta: float = 1.0, conditioning=None) -> dict:
    """Exact log Z, marginals E[z_i] (N,), pair correlations E[z_i z_j] (N, N) and mean energy (at beta = 1).

    With ``conditioning`` the moments are conditional on partition 0 (whose entries are then the clamped
    values) and ``log_z`` is the log of the conditional normaliser.  Returns numpy float64 values.

    Example:
        >>> from calolib.rbm import RBM
        >>> m = exact_moments(RBM((1, 1, 1, 1), weight_std=1.0, seed=2))
        >>> bool(np.allclose(np.diag(m["correlations"]), m["marginals"]))
        True
    """
    # pass 1: the normaliser (stable log-sum-exp over batches)
    log_z = torch.logsumexp(torch.stack([torch.logsumexp(ne, 0) for _, ne in _batches(rbm, beta, conditioning)]), 0)
    n = rbm.n_units
    dev = rbm.device
    first = torch.zeros(n, dtype=torch.float64, device=dev)
    second = torch.zeros(n, n, dtype=torch.float64, device=dev)
    mean_e = torch.zeros((), dtype=torch.float64, device=dev)
    for z, ne in _batches(rbm, beta, conditioning):
        p = torch.exp(ne - log_z)
        first += p @ z
        second += (z * p[:, None]).T @ z
        mean_e += (p * ne).sum()
    return {
        "log_z": float(log_z),
        "marginals": first.cpu().numpy(),
        "correlations": second.cpu().numpy(),
        "mean_energy": float(-mean_e) / float(beta) if beta else float("nan"),
    }


@register_sampler("exact")
class ExactSampler(Sampler):
    """I.i.d. samples from the exact distribution of a small RBM (<= 24 free units).

    Args:
        beta: inverse temperature (default 1).

    Example:
        >>> from calolib.rbm import RBM
        >>> s = ExactSampler().sample(RBM((1, 1, 1, 1)), 5, seed=0)
        >>> len(s), s.info["sampler"]
        (5, 'exact')
    """

    name = "exact"

    def __init__(self, beta: float = 1.0) -> None:
        if not beta >= 0:
            raise SamplerError(f"beta must be >= 0, got {beta}")
        self.beta = float(beta)

    @property
    def parameters(self) -> Mapping[str, Any]:
        return {"beta": "inverse temperature"}

    @property
    def properties(self) -> Mapping[str, Any]:
        return {"name": self.name, "max_units": MAX_EXACT_UNITS, "beta": self.beta}

    @torch.no_grad()
    def sample(self, rbm, n_samples: int, *, conditioning=None, seed: int | None = None, **kw) -> LatentSamples:
        self._check_kwargs(kw)
        if int(n_samples) < 1:
            raise SamplerError(f"n_samples must be >= 1, got {n_samples}")
        n_samples = int(n_samples)
        beta = float(kw.get("beta", self.beta))
        seed = int(torch.randint(0, 2**62, (1,)).item()) if seed is None else int(seed)
        gen = torch.Generator(device=rbm.device).manual_seed(seed)
        t0 = time.perf_counter()
        cond = check_conditioning(rbm, conditioning, n_samples)
        z = torch.empty(n_samples, rbm.n_units, device=rbm.device)
        if cond is None:
            groups = [(None, torch.arange(n_samples, device=rbm.device))]
        else:
            uniq, inv = torch.unique(cond, dim=0, return_inverse=True)
            groups = [(uniq[g], torch.nonzero(inv == g).flatten()) for g in range(uniq.shape[0])]
        for c, rows in groups:
            probs = exact_log_probs(rbm, beta=beta, conditioning=c).exp()
            idx = torch.multinomial(probs, rows.numel(), replacement=True, generator=gen)
            n_free = rbm.n_units if c is None else rbm.n_units - rbm.sizes[0]
            shifts = torch.arange(n_free - 1, -1, -1, device=rbm.device)
            zf = ((idx[:, None] >> shifts[None, :]) & 1).float()
            z[rows] = zf if c is None else torch.cat([c.float().expand(rows.numel(), -1), zf], dim=1)
        info = {"sampler": self.name, "time_s": time.perf_counter() - t0, "conditioned": cond is not None}
        return LatentSamples.from_states(rbm, z, beta=beta, info=info)
