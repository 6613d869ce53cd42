"""The partition function Z = Σ_z exp(−E(z)) of the RBM prior, and the log-likelihood it gives.

Three estimators of ln Z:

* :func:`exact_log_z` — enumeration.  Given the other three partitions, the units of one partition
  are independent, so that partition is summed in closed form,
  ``Σ_{z_p} exp(a_p·z_p + z_p·h_p) = Π_i (1 + exp(a_pi + h_pi))``, and only the remaining units
  are enumerated (≤ ``max_units``, 24 by default: 16.7 M states in batches).
* :func:`ais` — annealed importance sampling (Neal 2001; Salakhutdinov & Murray 2008) on the
  geometric path f_β(z) = exp(b·z + β(−E(z) − b·z)) from the factorised base p_0 ∝ exp(b·z)
  (``base="bias"``: b = the RBM biases, so only the couplings are annealed;
  ``"uniform"``: b = 0; or a tensor of base biases, e.g. logits of data marginals).  p_0 is sampled
  exactly and ln Z_0 = Σ_i ln(1 + e^{b_i}).  Each intermediate β applies one block-Gibbs sweep that
  leaves f_β invariant; the log-weights collect (β_k − β_{k−1})·(−E(z) − b·z).  E[w] = Z/Z_0, and
  by Jensen the estimate ln Z_0 + ln mean(w) is low on average (a stochastic lower bound).
* :func:`rais` — reverse AIS (Burda, Grosse & Salakhutdinov 2015): the same chain run from given
  samples of the model (β = 1) down to the base.  E[w_rev] = Z_0/Z, so
  ln Z ≈ ln Z_0 − ln mean(w_rev) is high on average (a conservative, upper-biased estimate).

Mean weights are always taken as a log-mean-exp (never exp of raw log-weights); the standard
error is the delta method, stderr(ln Ẑ) ≈ sd(w) / (√n · mean(w)), computed on w / max(w).

Schedule.  For well-mixed transitions, Var[ln w] ≈ Σ_k Δβ_k² Var_{β_k}[D], D = −E − b·z, so
with K steps the best spacing has density ∝ sd_β(D) (constant "thermodynamic speed") and then
Var[ln w] ≈ L²/K with L = ∫ sd_β(D) dβ the thermodynamic length; the bias of ln Ẑ is ≈ −Var/2.
L grows with the number of units and the coupling strength (tens for a 4×302 RBM), hence
thousands of β's.  ``schedule="adaptive"`` (default) measures sd_β(D) on a cheap pilot anneal
and places the β's at equal thermodynamic length; ``"sigmoid"`` (Grosse et al. 2013) densifies
both ends, ``"linear"`` is the plain grid.

The log-likelihood of a set of latent states is LL = −⟨E(z)⟩ − ln Z (:func:`log_likelihood`).
"""
from __future__ import annotations

import math
import warnings

import torch

from calolib.errors import CalolibError, ConfigError

__all__ = [
    "exact_log_z",
    "ais",
    "rais",
    "ais_log_weights",
    "rais_log_weights",
    "beta_schedule",
    "log_mean_exp",
    "log_likelihood",
]

SCHEDULES = ("adaptive", "sigmoid", "linear")


def __dir__():
    return __all__


def _device_of(rbm, device) -> torch.device:
    if device is None:
        return rbm.bias_vector().device
    from calolib.device import resolve_device

    return resolve_device(device)


def _params(rbm, device, dtype=torch.float64):
    """Detached biases (N,) and symmetric masked couplings (N, N) on ``device``."""
    with torch.no_grad():
        a = rbm.bias_vector().detach().to(device=device, dtype=dtype)
        w = rbm.weight_matrix().detach().to(device=device, dtype=dtype)
    return a, w


def exact_log_z(rbm, *, beta: float = 1.0, max_units: int = 24, batch_size: int = 1 << 16) -> float:
    """Exact ln Z(β) = ln Σ_z exp(−β E(z)) by enumeration, one partition summed analytically.

    Args:
        rbm: a :class:`calolib.rbm.RBM` (or anything with ``sizes``, ``offsets``,
            ``bias_vector()`` and ``weight_matrix()``).
        beta: inverse temperature.
        max_units: refuse models whose enumerated part (all units but the largest partition)
            exceeds this many units.
        batch_size: states per enumeration batch.

    Returns:
        ln Z as a float (nats).

    Example:
        >>> from calolib.rbm import RBM
        >>> rbm = RBM(sizes=(2, 2, 2, 2), weight_std=0.0)   # no couplings, zero biases: Z = 2^8
        >>> bool(math.isclose(exact_log_z(rbm), 8 * math.log(2)))
        True
    """
    sizes = tuple(int(s) for s in rbm.sizes)
    p = max(range(len(sizes)), key=lambda i: sizes[i])  # summed analytically
    n_rest = sum(sizes) - sizes[p]
    if n_rest > max_units:
        raise CalolibError(
            f"exact_log_z: {n_rest} units to enumerate (> max_units={max_units}); use ais()/rais() for this RBM"
        )
    a, w = _params(rbm, torch.device("cpu"))
    a, w = beta * a, beta * w
    sp = slice(rbm.offsets[p], rbm.offsets[p] + sizes[p])
    rest = torch.cat([torch.arange(rbm.offsets[q], rbm.offsets[q] + sizes[q]) for q in range(len(sizes)) if q != p])
    a_r, a_p = a[rest], a[sp]
    w_rr, w_rp = w[rest][:, rest], w[rest][:, sp]
    bits = 1 << torch.arange(n_rest, dtype=torch.int64)
    parts = []
    for start in range(0, 1 << n_rest, batch_size):
        idx = torch.arange(start, min(start + batch_size, 1 << n_rest), dtype=torch.int64)
        x = ((idx[:, None] & bits) > 0).to(torch.float64)  # (B, n_rest)
        log_f = x @ a_r + 0.5 * ((x @ w_rr) * x).sum(1)
        log_f = log_f + torch.nn.functional.softplus(a_p + x @ w_rp).sum(1)
        parts.append(torch.logsumexp(log_f, 0))
    return float(torch.logsumexp(torch.stack(parts), 0))


def beta_schedule(n_betas: int, kind: str = "sigmoid", *, sharpness: float = 4.0) -> torch.Tensor:
    """Inverse temperatures 0 = β_0 < β_1 < … < β_{K} = 1 (``n_betas`` = K + 1 values, float64).

    ``"linear"``: equal steps.  ``"sigmoid"``: β_k ∝ σ(s(2k/K − 1)) rescaled to [0, 1]
    (Grosse et al. 2013), denser at both ends.  (``"adaptive"`` needs the model: see :func:`ais`.)

    Example:
        >>> b = beta_schedule(5, "linear")
        >>> b.tolist()
        [0.0, 0.25, 0.5, 0.75, 1.0]
        >>> s = beta_schedule(101, "sigmoid"); bool(s[0] == 0 and s[-1] == 1 and (s.diff() > 0).all())
        True
    """
    if n_betas < 2:
        raise ConfigError(f"n_betas={n_betas}: need at least 2 inverse temperatures (0 and 1)")
    t = torch.linspace(0.0, 1.0, n_betas, dtype=torch.float64)
    if kind == "linear":
        return t
    if kind == "sigmoid":
        s = torch.sigmoid(sharpness * (2 * t - 1))
        return (s - s[0]) / (s[-1] - s[0])
    raise ConfigError(f"unknown AIS schedule {kind!r}; choose one of {', '.join(SCHEDULES)}")


class _Path:
    """The geometric path f_β(z) = exp(b·z + β D(z)), D = (a − b)·z + ½ zᵀWz, on states stored
    transposed as (N, B) so partition updates are row slices (and W may be sparse CSR)."""

    def __init__(self, rbm, base, device, dtype):
        a, w = _params(rbm, device, dtype)
        n = a.numel()
        if isinstance(base, str):
            if base == "bias":
                b = a.clone()
            elif base == "uniform":
                b = torch.zeros_like(a)
            else:
                raise ConfigError(f"unknown AIS base {base!r}; use 'bias', 'uniform' or a tensor of N base biases")
        else:
            b = torch.as_tensor(base, dtype=dtype, device=device).reshape(-1)
            if b.numel() != n:
                raise ConfigError(f"AIS base biases have {b.numel()} entries; the RBM has {n} units")
        self.b, self.da = b, a - b
        self.slices = [slice(o, o + s) for o, s in zip(rbm.offsets, rbm.sizes)]
        sparse = n > 64 and float((w != 0).to(torch.float32).mean()) < 0.1
        with warnings.catch_warnings():  # "sparse CSR support is in beta": we use only CSR @ dense
            warnings.simplefilter("ignore", UserWarning)
            self.w = w.to_sparse_csr() if sparse else w
            self.rows = [w[s].to_sparse_csr() if sparse else w[s] for s in self.slices]
        self.log_z0 = float(torch.nn.functional.softplus(b.to(torch.float64)).sum())

    def d(self, zt: torch.Tensor) -> torch.Tensor:
        """D(z) for each column, (B,) float64."""
        return (self.da @ zt + 0.5 * (zt * (self.w @ zt)).sum(0)).to(torch.float64)

    def sweep(self, zt: torch.Tensor, beta: float, gen: torch.Generator) -> None:
        """One block-Gibbs sweep in place, invariant for f_β."""
        for s, rows in zip(self.slices, self.rows):
            field = self.b[s, None] + beta * (self.da[s, None] + rows @ zt)
            u = torch.rand(field.shape, generator=gen, device=zt.device, dtype=zt.dtype)
            zt[s] = (u < torch.sigmoid(field)).to(zt.dtype)

    def sample_base(self, n: int, gen: torch.Generator) -> torch.Tensor:
        u = torch.rand((self.b.numel(), n), generator=gen, device=self.b.device, dtype=self.b.dtype)
        return (u < torch.sigmoid(self.b)[:, None]).to(self.b.dtype)


def _anneal(path: _Path, zt: torch.Tensor, betas: torch.Tensor, gen, progress: bool, desc: str) -> torch.Tensor:
    """Run the chains zt through ``betas`` (either direction); returns log-weights (B,) float64.

    For k = 1..K: log w += (β_k − β_{k−1}) D(z); then one sweep invariant for f_{β_k}."""
    log_w = torch.zeros(zt.shape[1], dtype=torch.float64, device=zt.device)
    steps = range(1, len(betas))
    if progress:
        from tqdm.auto import tqdm

        steps = tqdm(steps, desc=desc)
    betas = betas.tolist()
    for k in steps:
        log_w += (betas[k] - betas[k - 1]) * path.d(zt)
        if k < len(betas) - 1:
            path.sweep(zt, betas[k], gen)
    return log_w


def _adaptive_schedule(path: _Path, n_betas: int, gen, *, n_pilot: int = 64, n_grid: int = 64, sweeps: int = 5):
    """β's at equal thermodynamic length, from sd_β(D) measured on a pilot anneal (see module doc)."""
    grid = beta_schedule(n_grid, "sigmoid").tolist()
    zt = path.sample_base(n_pilot, gen)
    sds = []
    for beta in grid:
        for _ in range(sweeps):
            path.sweep(zt, beta, gen)
        sds.append(float(path.d(zt).std()))
    sd = torch.tensor(sds, dtype=torch.float64).clamp_min(1e-3 * max(max(sds), 1e-12))
    g = torch.tensor(grid, dtype=torch.float64)
    length = torch.cat([torch.zeros(1, dtype=torch.float64), torch.cumsum(0.5 * (sd[1:] + sd[:-1]) * g.diff(), 0)])
    target = torch.linspace(0.0, float(length[-1]), n_betas, dtype=torch.float64)
    j = torch.searchsorted(length, target).clamp(1, n_grid - 1)
    frac = (target - length[j - 1]) / (length[j] - length[j - 1]).clamp_min(1e-300)
    betas = g[j - 1] + frac * (g[j] - g[j - 1])
    betas[0], betas[-1] = 0.0, 1.0
    return torch.cummax(betas, 0).values


def _setup(rbm, n_betas, seed, schedule, base, device, dtype):
    dev = _device_of(rbm, device)
    dtype = dtype or torch.float32  # log-weights are accumulated in float64 either way
    path = _Path(rbm, base, dev, dtype)
    gen = torch.Generator(device=dev)
    gen.manual_seed(int(seed))
    if schedule == "adaptive":
        if n_betas < 2:
            raise ConfigError(f"n_betas={n_betas}: need at least 2 inverse temperatures (0 and 1)")
        betas = _adaptive_schedule(path, n_betas, gen)
    elif isinstance(schedule, str):
        betas = beta_schedule(n_betas, schedule)
    else:
        betas = torch.as_tensor(schedule, dtype=torch.float64).reshape(-1)
        if len(betas) < 2 or betas[0] != 0 or betas[-1] != 1 or (betas.diff() < 0).any():
            raise ConfigError("a custom AIS schedule must increase monotonically from 0 to 1")
    return path, gen, betas


def ais_log_weights(rbm, n_chains: int, n_betas: int, seed: int = 0, *, schedule="adaptive", base="bias",
                    device=None, dtype=None, progress: bool = False) -> tuple[torch.Tensor, float]:
    """Forward-AIS log-weights. Returns (log_w (n_chains,) float64 on CPU, ln Z_0 of the base).

    ln Z ≈ ln Z_0 + log_mean_exp(log_w).  Arguments as in :func:`ais`.

    Example:
        >>> from calolib.rbm import RBM
        >>> lw, lz0 = ais_log_weights(RBM(sizes=(2, 2, 2, 2), weight_std=0.0), 4, 10)
        >>> lw.tolist(), round(lz0, 4)   # no couplings: the base is the model, all weights are 1
        ([0.0, 0.0, 0.0, 0.0], 5.5452)
    """
    if n_chains < 1:
        raise ConfigError(f"n_chains={n_chains}: need at least one AIS chain")
    path, gen, betas = _setup(rbm, n_betas, seed, schedule, base, device, dtype)
    zt = path.sample_base(int(n_chains), gen)
    with torch.no_grad():
        log_w = _anneal(path, zt, betas, gen, progress, "AIS")
    return log_w.cpu(), path.log_z0


def rais_log_weights(rbm, samples: torch.Tensor, n_betas: int, seed: int = 0, *, schedule="adaptive", base="bias",
                     device=None, dtype=None, progress: bool = False) -> tuple[torch.Tensor, float]:
    """Reverse-AIS log-weights from ``samples`` (S, N) of the model. Returns (log_w_rev (S,), ln Z_0).

    ln Z ≈ ln Z_0 − log_mean_exp(log_w_rev).  Arguments as in :func:`rais`.

    Example:
        >>> from calolib.rbm import RBM
        >>> lw, lz0 = rais_log_weights(RBM(sizes=(2, 2, 2, 2), weight_std=0.0), torch.ones(3, 8), 10)
        >>> lw.tolist()
        [0.0, 0.0, 0.0]
    """
    path, gen, betas = _setup(rbm, n_betas, seed, schedule, base, device, dtype)
    z = torch.as_tensor(samples)
    if z.ndim != 2 or z.shape[1] != path.b.numel() or z.shape[0] < 1:
        raise CalolibError(f"rais: samples must have shape (S, {path.b.numel()}); got {tuple(z.shape)}")
    zt = z.detach().to(device=path.b.device, dtype=path.b.dtype).T.contiguous()
    with torch.no_grad():
        log_w = _anneal(path, zt, betas.flip(0), gen, progress, "RAIS")
    return log_w.cpu(), path.log_z0


def log_mean_exp(log_w: torch.Tensor) -> tuple[float, float]:
    """(ln mean(w), stderr) from log-weights, without exponentiating raw log-weights.

    The stderr is the delta method: sd(w) / (√n · mean(w)), on w / max(w) (0 for n = 1).

    Example:
        >>> v, e = log_mean_exp(torch.log(torch.tensor([1.0, 3.0], dtype=torch.float64)))
        >>> bool(math.isclose(v, math.log(2.0))), round(e, 4)
        (True, 0.5)
    """
    lw = torch.as_tensor(log_w, dtype=torch.float64).reshape(-1)
    n = lw.numel()
    if n == 0 or not torch.isfinite(lw).all():
        raise CalolibError("log_mean_exp: log-weights are empty or not finite")
    m = lw.max()
    r = torch.exp(lw - m)
    value = float(m + torch.log(r.mean()))
    stderr = float(r.std() / (math.sqrt(n) * r.mean())) if n > 1 else 0.0
    return value, stderr


def ais(rbm, n_chains: int, n_betas: int, seed: int = 0, *, schedule="adaptive", base="bias", device=None,
        dtype=None, progress: bool = False) -> tuple[float, float]:
    """ln Z by annealed importance sampling (lower-biased on average). Returns (log_z, stderr).

    Args:
        rbm: a :class:`calolib.rbm.RBM`.
        n_chains: independent AIS runs, batched.
        n_betas: number of inverse temperatures including 0 and 1 (thousands for large RBMs).
        seed: RNG seed.
        schedule: ``"adaptive"`` (equal thermodynamic length, pilot run), ``"sigmoid"``,
            ``"linear"`` or an explicit increasing sequence from 0 to 1.
        base: ``"bias"`` (p_0 ∝ exp(a·z), default), ``"uniform"``, or a tensor (N,) of base biases.
        device: torch device (default: the RBM's).
        dtype: dtype of the chains and couplings (default float32; weights accumulate in float64).
        progress: tqdm bar over the β's.

    Example:
        >>> from calolib.rbm import RBM
        >>> rbm = RBM(sizes=(3, 3, 3, 3), weight_std=0.5, bias_std=0.5, seed=1)
        >>> lz, err = ais(rbm, 200, 300, seed=0)
        >>> abs(lz - exact_log_z(rbm)) < 0.05
        True
    """
    log_w, log_z0 = ais_log_weights(rbm, n_chains, n_betas, seed, schedule=schedule, base=base, device=device,
                                    dtype=dtype, progress=progress)
    value, stderr = log_mean_exp(log_w)
    return log_z0 + value, stderr


def rais(rbm, samples: torch.Tensor, n_betas: int, seed: int = 0, *, schedule="adaptive", base="bias",
         device=None, dtype=None, progress: bool = False) -> tuple[float, float]:
    """ln Z by reverse AIS from ``samples`` (S, N) 0/1 of the model (upper-biased). Returns (log_z, stderr).

    The samples should follow the model at β = 1 (long Gibbs chains, exact samples); each one starts
    a chain that is annealed down to the base.  Other arguments as in :func:`ais`.

    Example:
        >>> from calolib.rbm import RBM
        >>> from calolib.samplers import gibbs_sample
        >>> rbm = RBM(sizes=(3, 3, 3, 3), weight_std=0.5, bias_std=0.5, seed=1)
        >>> lz, err = rais(rbm, gibbs_sample(rbm, 200, 200, seed=0), 300, seed=0)
        >>> abs(lz - exact_log_z(rbm)) < 0.05
        True
    """
    log_w, log_z0 = rais_log_weights(rbm, samples, n_betas, seed, schedule=schedule, base=base, device=device,
                                     dtype=dtype, progress=progress)
    value, stderr = log_mean_exp(log_w)
    return log_z0 - value, stderr


def log_likelihood(rbm, z: torch.Tensor, log_z: float) -> float:
    """Mean log-likelihood of latent states, LL = −⟨E(z)⟩ − ln Z (nats per state).

    Example:
        >>> from calolib.rbm import RBM
        >>> rbm = RBM(sizes=(1, 1, 1, 1), weight_std=0.0)      # uniform: every state has p = 1/16
        >>> bool(math.isclose(log_likelihood(rbm, torch.zeros(5, 4), exact_log_z(rbm)), -math.log(16)))
        True
    """
    with torch.no_grad():
        e = rbm.energy(torch.as_tensor(z).to(device=rbm.bias_vector().device, dtype=rbm.bias_vector().dtype))
    return float(-e.double().mean() - log_z)
