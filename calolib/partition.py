"""The partition function Z = Σ_z exp(−E(z)) of the RBM prior, and the log-likelihood it gives.

Two models can be meant by "the RBM" of a conditioned QVAE, and each has its own Z:

* the **joint** model over all units (``conditioning=None``): Z = Σ_{c, z} exp(−E(c, z));
* the **conditional** model of the free units given the E_inc code c clamped on partition 0
  (``conditioning`` = codes (C, n0)): Z(c) = Σ_z exp(−E(c, z)), one per code.  This is the prior the
  QVAE trains (its negative phase clamps the code) and samples from, so its LL is the one that counts.

Three estimators of ln Z, each for either model:

* :func:`exact_log_z` — enumeration.  Given the other partitions, the units of one free partition
  are independent, so it is summed in closed form, ``Σ_{z_p} exp(a_p·z_p + z_p·h_p) = Π_i (1 + e^{a_pi + h_pi})``,
  and only the remaining free units are enumerated (≤ ``max_units``, 24 by default).
* :func:`ais` — annealed importance sampling (Neal 2001; Salakhutdinov & Murray 2008) on the geometric path
  f_β(z) = exp(b·z + β D(z)), D = −E(z) − b·z − (clamped constant), from the factorised base p_0 ∝ exp(b·z)
  over the free units (``base="bias"``: b = the biases plus, for a conditional model, the field of the clamped
  code, so only the couplings among free units are annealed; ``"uniform"``: b = 0; or a tensor of N base
  biases).  p_0 is sampled exactly, ln Z_0 = Σ_free ln(1 + e^{b_i}) (+ a_0·c).  Each intermediate β applies
  one block-Gibbs sweep of the free partitions that leaves f_β invariant; the log-weights collect
  (β_k − β_{k−1}) D(z).  E[w] = Z/Z_0, so by Jensen ln Z_0 + ln mean(w) is low on average.
* :func:`rais` — reverse AIS (Burda, Grosse & Salakhutdinov 2015): the same chain run from samples *of the
  same model* (β = 1; for a conditional model, samples with that code clamped) down to the base.
  E[w_rev] = Z_0/Z, so ln Z_0 − ln mean(w_rev) is high on average — provided the starting samples follow
  the model (exact samples, or long Gibbs chains: :func:`model_samples`).

Mean weights are taken as a log-mean-exp; the standard error is the delta method,
stderr(ln Ẑ) ≈ sd(w) / (√n · mean(w)), computed on w / max(w).

Schedule.  For well-mixed transitions, Var[ln w] ≈ Σ_k Δβ_k² Var_{β_k}[D], so with K steps the best
spacing has density ∝ sd_β(D) and Var[ln w] ≈ L²/K (L = ∫ sd_β(D) dβ, the thermodynamic length); the
bias of ln Ẑ is ≈ ∓Var/2.  ``schedule="adaptive"`` (default) measures sd_β(D) on a pilot anneal and
places the β's at equal thermodynamic length; ``"sigmoid"`` densifies both ends; ``"linear"``.

The log-likelihood of latent states is LL = −⟨E(z)⟩ − ln Z (:func:`log_likelihood`); for the conditional
model use the mean of ln Z(c_i) over the states' codes (:mod:`calolib.diagnostics.likelihood` does this).
"""
from __future__ import annotations

import math
import warnings

import numpy as np
import torch

from calolib.errors import CalolibError, ConfigError

__all__ = ["exact_log_z", "ais", "rais", "ais_log_weights", "rais_log_weights", "model_samples", "beta_schedule",
           "log_mean_exp", "log_likelihood"]

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


def _codes(rbm, conditioning, device, dtype) -> torch.Tensor:
    """Conditioning codes as a (C, n0) 0/1 tensor (a single (n0,) code becomes C = 1)."""
    c = torch.as_tensor(conditioning).to(device=device, dtype=dtype)
    c = c[None] if c.ndim == 1 else c
    n0 = int(rbm.sizes[0])
    if c.ndim != 2 or c.shape[1] != n0 or c.shape[0] < 1:
        raise ConfigError(f"conditioning must be (n0,) or (C, n0) with n0 = {n0} (partition 0); got {tuple(c.shape)}")
    if not bool(((c == 0) | (c == 1)).all()):
        raise ConfigError("conditioning codes must be 0/1")
    return c


def exact_log_z(rbm, *, beta: float = 1.0, conditioning=None, max_units: int = 24, batch_size: int = 1 << 16):
    """Exact ln Z(β) by enumeration, one free partition summed analytically.

    Args:
        rbm: a :class:`calolib.rbm.RBM` (anything with ``sizes``, ``offsets``, ``bias_vector()``, ``weight_matrix()``).
        beta: inverse temperature.
        conditioning: None (joint model) or the code(s) clamped on partition 0, (n0,) or (C, n0):
            ln Z(c) = ln Σ_z exp(−β E(c, z)) of the conditional model.
        max_units: refuse models whose enumerated part (free units but the largest free partition) exceeds this.
        batch_size: states per enumeration batch.

    Returns:
        ln Z (float, nats); for ``conditioning`` of shape (C, n0) a (C,) float64 array.

    Example:
        >>> from calolib.rbm import RBM
        >>> rbm = RBM(sizes=(2, 2, 2, 2), weight_std=0.0)   # no couplings, zero biases: Z = 2^8
        >>> bool(math.isclose(exact_log_z(rbm), 8 * math.log(2)))
        True
        >>> exact_log_z(rbm, conditioning=torch.ones(3, 2)).round(4).tolist()   # 6 free units: 2^6 per code
        [4.1589, 4.1589, 4.1589]
    """
    sizes = tuple(int(s) for s in rbm.sizes)
    free = list(range(len(sizes))) if conditioning is None else list(range(1, len(sizes)))
    p = max(free, key=lambda i: sizes[i])  # summed analytically
    n_rest = sum(sizes[q] for q in free) - sizes[p]
    if n_rest > max_units:
        raise CalolibError(f"exact_log_z: {n_rest} units to enumerate (> max_units={max_units}); use ais()/rais()")
    a, w = _params(rbm, torch.device("cpu"))
    a, w = beta * a, beta * w
    sp = slice(rbm.offsets[p], rbm.offsets[p] + sizes[p])
    rest = torch.cat([torch.arange(rbm.offsets[q], rbm.offsets[q] + sizes[q]) for q in free if q != p]).long()
    if conditioning is None:
        fields, consts = a[None], torch.zeros(1, dtype=torch.float64)
    else:
        c = _codes(rbm, conditioning, torch.device("cpu"), torch.float64)
        fields = a[None] + c @ w[: sizes[0]]  # (C, N): biases plus the clamped code's field
        consts = c @ a[: sizes[0]]  # a_0·c (no couplings inside partition 0)
    w_rr, w_rp = w[rest][:, rest], w[rest][:, sp]
    bits = 1 << torch.arange(n_rest, dtype=torch.int64)
    out = []
    for h, k in zip(fields, consts):  # one code at a time
        parts = []
        for start in range(0, 1 << n_rest, batch_size):
            idx = torch.arange(start, min(start + batch_size, 1 << n_rest), dtype=torch.int64)
            x = ((idx[:, None] & bits) > 0).to(torch.float64)  # (B, n_rest)
            log_f = x @ h[rest] + 0.5 * ((x @ w_rr) * x).sum(1)
            parts.append(torch.logsumexp(log_f + torch.nn.functional.softplus(h[sp] + x @ w_rp).sum(1), 0))
        out.append(float(torch.logsumexp(torch.stack(parts), 0) + k))
    if conditioning is None or torch.as_tensor(conditioning).ndim == 1:
        return out[0]
    return np.array(out)


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
    """The geometric path f_β(z) = exp(b·z + β D(z)) for B = C·K chains (K per code, code-major columns),
    states stored transposed as (N, B) so partition updates are row slices (W may be sparse CSR).

    Joint model: C = 1, every unit free, b (N, 1).  Conditional: partition 0 holds each column's code and is
    never updated; b (N, B) is 0 there, D leaves out the constant a_0·c, which goes into ln Z_0 instead."""

    def __init__(self, rbm, base, device, dtype, codes=None, per_code: int = 1):
        a, w = _params(rbm, device, dtype)
        n, n0 = a.numel(), int(rbm.sizes[0])
        self.n_codes, self.per_code = (1 if codes is None else int(codes.shape[0])), int(per_code)
        self.slices = [slice(o, o + s) for o, s in zip(rbm.offsets, rbm.sizes)]
        self.free_slices = self.slices if codes is None else self.slices[1:]
        if isinstance(base, str):
            if base not in ("bias", "uniform"):
                raise ConfigError(f"unknown AIS base {base!r}; use 'bias', 'uniform' or a tensor of N base biases")
            b = (a.clone() if base == "bias" else torch.zeros_like(a))[:, None]
        else:
            b = torch.as_tensor(base, dtype=dtype, device=device).reshape(-1, 1)
            if b.shape[0] != n:
                raise ConfigError(f"AIS base biases have {b.shape[0]} entries; the RBM has {n} units")
        const = torch.zeros(1, dtype=torch.float64, device=device)
        self.clamp = None
        if codes is not None:
            cvec = codes.to(device=device, dtype=dtype).repeat_interleave(self.per_code, 0).T  # (n0, B)
            self.clamp = cvec
            if isinstance(base, str) and base == "bias":
                b = b + w[:, :n0] @ cvec  # biases plus the field of the clamped code
            b = b.expand(n, cvec.shape[1]).clone()
            b[:n0] = 0.0
            const = (a[:n0].to(torch.float64) @ cvec.to(torch.float64))  # (B,) a_0·c
        self.b = b
        self.da = a[:, None] - b
        if codes is not None:
            self.da[:n0] = 0.0
        sparse = n > 64 and float((w != 0).to(torch.float32).mean()) < 0.1
        with warnings.catch_warnings():  # "sparse CSR support is in beta": we use only CSR @ dense
            warnings.simplefilter("ignore", UserWarning)
            self.w = w.to_sparse_csr() if sparse else w
            self.rows = [w[s].to_sparse_csr() if sparse else w[s] for s in self.free_slices]
        sp = torch.nn.functional.softplus(self.b.to(torch.float64))
        if codes is not None:
            sp = sp[n0:]
        self.log_z0_cols = sp.sum(0) + const  # (B,) or (1,)

    @property
    def n_chains(self) -> int:
        return self.n_codes * self.per_code

    def log_z0(self) -> torch.Tensor:
        """ln Z_0 per code, (C,) float64."""
        lz = self.log_z0_cols
        return lz.expand(self.n_chains)[:: self.per_code] if lz.numel() > 1 else lz.expand(self.n_codes)

    def d(self, zt: torch.Tensor) -> torch.Tensor:
        """D(z) for each column, (B,) float64."""
        return ((self.da * zt).sum(0) + 0.5 * (zt * (self.w @ zt)).sum(0)).to(torch.float64)

    def sweep(self, zt: torch.Tensor, beta: float, gen: torch.Generator) -> None:
        """One block-Gibbs sweep of the free partitions in place, invariant for f_β."""
        for s, rows in zip(self.free_slices, self.rows):
            field = self.b[s] + beta * (self.da[s] + rows @ zt)
            u = torch.rand(field.shape, generator=gen, device=zt.device, dtype=zt.dtype)
            zt[s] = (u < torch.sigmoid(field)).to(zt.dtype)

    def sample_base(self, gen: torch.Generator) -> torch.Tensor:
        """(N, B) exact samples of the base (clamped rows hold the codes)."""
        n = self.b.shape[0]
        u = torch.rand((n, self.n_chains), generator=gen, device=self.b.device, dtype=self.b.dtype)
        zt = (u < torch.sigmoid(self.b)).to(self.b.dtype)
        if self.clamp is not None:
            zt[: self.clamp.shape[0]] = self.clamp
        return zt


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


def _adaptive_schedule(pilot: _Path, n_betas: int, gen, *, n_grid: int = 64, sweeps: int = 5):
    """β's at equal thermodynamic length, from the within-code sd_β(D) measured on a pilot anneal."""
    grid = beta_schedule(n_grid, "sigmoid").tolist()
    zt = pilot.sample_base(gen)
    sds = []
    for beta in grid:
        for _ in range(sweeps):
            pilot.sweep(zt, beta, gen)
        d = pilot.d(zt).reshape(pilot.n_codes, pilot.per_code)
        sds.append(float(d.var(1).mean().sqrt()))
    sd = torch.tensor(sds, dtype=torch.float64).clamp_min(1e-3 * max(max(sds), 1e-12))
    g = torch.tensor(grid, dtype=torch.float64)
    length = torch.cat([torch.zeros(1, dtype=torch.float64), torch.cumsum(0.5 * (sd[1:] + sd[:-1]) * g.diff(), 0)])
    target = torch.linspace(0.0, float(length[-1]), n_betas, dtype=torch.float64)
    j = torch.searchsorted(length, target).clamp(1, n_grid - 1)
    frac = (target - length[j - 1]) / (length[j] - length[j - 1]).clamp_min(1e-300)
    betas = g[j - 1] + frac * (g[j] - g[j - 1])
    betas[0], betas[-1] = 0.0, 1.0
    return torch.cummax(betas, 0).values


def _setup(rbm, n_betas, seed, schedule, base, device, dtype, codes, per_code):
    dev = _device_of(rbm, device)
    dtype = dtype or torch.float32  # log-weights are accumulated in float64 either way
    codes = None if codes is None else _codes(rbm, codes, dev, dtype)
    path = _Path(rbm, base, dev, dtype, codes, per_code)
    gen = torch.Generator(device=dev)
    gen.manual_seed(int(seed))
    if schedule == "adaptive":
        if n_betas < 2:
            raise ConfigError(f"n_betas={n_betas}: need at least 2 inverse temperatures (0 and 1)")
        pilot = _Path(rbm, base, dev, dtype, None if codes is None else codes[:8], 64 if codes is None else 8)
        betas = _adaptive_schedule(pilot, n_betas, gen)
    elif isinstance(schedule, str):
        betas = beta_schedule(n_betas, schedule)
    else:
        betas = torch.as_tensor(schedule, dtype=torch.float64).reshape(-1)
        if len(betas) < 2 or betas[0] != 0 or betas[-1] != 1 or (betas.diff() < 0).any():
            raise ConfigError("a custom AIS schedule must increase monotonically from 0 to 1")
    return path, gen, betas


def _shaped(log_w, path, conditioned):
    """Joint: (log_w (B,), ln Z_0 float); conditional: (log_w (C, K), ln Z_0 (C,)), on the CPU."""
    if not conditioned:
        return log_w.cpu(), float(path.log_z0()[0])
    return log_w.reshape(path.n_codes, path.per_code).cpu(), path.log_z0().cpu()


def ais_log_weights(rbm, n_chains: int, n_betas: int, seed: int = 0, *, conditioning=None, schedule="adaptive",
                    base="bias", device=None, dtype=None, progress: bool = False):
    """Forward-AIS log-weights: joint model ``(log_w (n_chains,), ln Z_0)``; with ``conditioning`` (C, n0)
    ``(log_w (C, n_chains), ln Z_0 (C,))`` — ln Z ≈ ln Z_0 + log_mean_exp(log_w) (per code).  Arguments as in :func:`ais`.

    Example:
        >>> from calolib.rbm import RBM
        >>> lw, lz0 = ais_log_weights(RBM(sizes=(2, 2, 2, 2), weight_std=0.0), 4, 10)
        >>> lw.tolist(), round(lz0, 4)   # no couplings: the base is the model, all weights are 1
        ([0.0, 0.0, 0.0, 0.0], 5.5452)
    """
    if n_chains < 1:
        raise ConfigError(f"n_chains={n_chains}: need at least one AIS chain")
    path, gen, betas = _setup(rbm, n_betas, seed, schedule, base, device, dtype, conditioning, int(n_chains))
    zt = path.sample_base(gen)
    with torch.no_grad():
        log_w = _anneal(path, zt, betas, gen, progress, "AIS")
    return _shaped(log_w, path, conditioning is not None)


def rais_log_weights(rbm, samples: torch.Tensor, n_betas: int, seed: int = 0, *, conditioning=None,
                     schedule="adaptive", base="bias", device=None, dtype=None, progress: bool = False):
    """Reverse-AIS log-weights from ``samples`` (S, N) of the model; shapes as in :func:`ais_log_weights`.

    ln Z ≈ ln Z_0 − log_mean_exp(log_w_rev).  With ``conditioning`` (C, n0) the samples are code-major,
    S = C·K, and partition 0 of rows c·K .. (c+1)·K − 1 must hold code c (see :func:`model_samples`).

    Example:
        >>> from calolib.rbm import RBM
        >>> lw, lz0 = rais_log_weights(RBM(sizes=(2, 2, 2, 2), weight_std=0.0), torch.ones(3, 8), 10)
        >>> lw.tolist()
        [0.0, 0.0, 0.0]
    """
    z = torch.as_tensor(samples)
    n = int(rbm.n_units)
    if z.ndim != 2 or z.shape[1] != n or z.shape[0] < 1:
        raise CalolibError(f"rais: samples must have shape (S, {n}); got {tuple(z.shape)}")
    per_code = z.shape[0]
    if conditioning is not None:
        codes = _codes(rbm, conditioning, z.device, z.dtype)
        per_code = z.shape[0] // codes.shape[0]
        if per_code * codes.shape[0] != z.shape[0] or not torch.equal(
                z[:, : rbm.sizes[0]], codes.repeat_interleave(per_code, 0)):
            raise CalolibError("rais: conditioned samples must be code-major (K rows per code, partition 0 = the code); "
                               "draw them with calolib.partition.model_samples(rbm, K, n_steps, conditioning=codes)")
    path, gen, betas = _setup(rbm, n_betas, seed, schedule, base, device, dtype, conditioning, per_code)
    zt = z.detach().to(device=path.b.device, dtype=path.b.dtype).T.contiguous()
    with torch.no_grad():
        log_w = _anneal(path, zt, betas.flip(0), gen, progress, "RAIS")
    return _shaped(log_w, path, conditioning is not None)


def model_samples(rbm, n_chains: int, n_steps: int, seed: int = 0, *, conditioning=None) -> torch.Tensor:
    """Samples of the model whose Z is estimated, laid out as :func:`rais` wants them: ``n_chains`` block-Gibbs
    chains of ``n_steps`` sweeps from uniform random bits, unclamped (joint model, (n_chains, N)) or, with
    ``conditioning`` (C, n0), ``n_chains`` chains per code with the code clamped ((C·n_chains, N), code-major).

    Example:
        >>> from calolib.rbm import RBM
        >>> z = model_samples(RBM((2, 2, 2, 2)), 3, 5, conditioning=torch.tensor([[1., 0.], [0., 1.]]))
        >>> tuple(z.shape), z[:, :2].tolist()
        ((6, 8), [[1.0, 0.0], [1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, 1.0], [0.0, 1.0]])
    """
    from calolib.samplers import gibbs_sample

    if conditioning is None:
        return gibbs_sample(rbm, int(n_chains), int(n_steps), seed=seed)
    codes = _codes(rbm, conditioning, rbm.bias_vector().device, torch.float32)
    rows = codes.repeat_interleave(int(n_chains), 0)
    return gibbs_sample(rbm, rows.shape[0], int(n_steps), seed=seed, conditioning=rows)


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


def _per_code(log_w, log_z0, sign):
    vals = [log_mean_exp(row) for row in log_w]
    return (log_z0.numpy() + sign * np.array([v for v, _ in vals]), np.array([e for _, e in vals]))


def ais(rbm, n_chains: int, n_betas: int, seed: int = 0, *, conditioning=None, schedule="adaptive", base="bias",
        device=None, dtype=None, progress: bool = False):
    """ln Z by annealed importance sampling (lower-biased on average). Returns ``(log_z, stderr)``.

    Args:
        rbm: a :class:`calolib.rbm.RBM`.
        n_chains: independent AIS runs (per code), batched.
        n_betas: number of inverse temperatures including 0 and 1 (thousands for large RBMs).
        seed: RNG seed.
        conditioning: None (joint model: floats) or codes (C, n0) clamped on partition 0: ln Z(c) of the
            conditional model per code, as two (C,) float64 arrays.
        schedule: ``"adaptive"`` (equal thermodynamic length, pilot run), ``"sigmoid"``, ``"linear"`` or an
            explicit increasing sequence from 0 to 1.
        base: ``"bias"`` (default), ``"uniform"``, or a tensor (N,) of base biases (see the module docstring).
        device: torch device (default: the RBM's).
        dtype: dtype of the chains and couplings (default float32; weights accumulate in float64).
        progress: tqdm bar over the β's.

    Example:
        >>> from calolib.rbm import RBM
        >>> rbm = RBM(sizes=(3, 3, 3, 3), weight_std=0.5, bias_std=0.5, seed=1)
        >>> lz, err = ais(rbm, 200, 300, seed=0)
        >>> abs(lz - exact_log_z(rbm)) < 0.05
        True
        >>> c = torch.tensor([[0., 1., 1.], [1., 0., 0.]])
        >>> lzc, errc = ais(rbm, 200, 300, seed=0, conditioning=c)
        >>> bool(np.all(np.abs(lzc - exact_log_z(rbm, conditioning=c)) < 0.05))
        True
    """
    log_w, log_z0 = ais_log_weights(rbm, n_chains, n_betas, seed, conditioning=conditioning, schedule=schedule,
                                    base=base, device=device, dtype=dtype, progress=progress)
    if conditioning is not None:
        return _per_code(log_w, log_z0, +1.0)
    value, stderr = log_mean_exp(log_w)
    return log_z0 + value, stderr


def rais(rbm, samples: torch.Tensor, n_betas: int, seed: int = 0, *, conditioning=None, schedule="adaptive",
         base="bias", device=None, dtype=None, progress: bool = False):
    """ln Z by reverse AIS from ``samples`` (S, N) 0/1 *of the same model* (upper-biased). Returns ``(log_z, stderr)``.

    The samples must follow the model at β = 1 (exact samples or long Gibbs chains: :func:`model_samples`);
    for the joint model unclamped, for a conditional one (``conditioning`` (C, n0)) with each code clamped,
    code-major — then per-code (C,) arrays are returned.  Other arguments as in :func:`ais`.

    Example:
        >>> from calolib.rbm import RBM
        >>> rbm = RBM(sizes=(3, 3, 3, 3), weight_std=0.5, bias_std=0.5, seed=1)
        >>> lz, err = rais(rbm, model_samples(rbm, 200, 200), 300, seed=0)
        >>> abs(lz - exact_log_z(rbm)) < 0.05
        True
    """
    log_w, log_z0 = rais_log_weights(rbm, samples, n_betas, seed, conditioning=conditioning, schedule=schedule,
                                     base=base, device=device, dtype=dtype, progress=progress)
    if conditioning is not None:
        return _per_code(log_w, log_z0, -1.0)
    value, stderr = log_mean_exp(log_w)
    return log_z0 - value, stderr


def log_likelihood(rbm, z: torch.Tensor, log_z) -> float:
    """Mean log-likelihood of latent states, LL = −⟨E(z)⟩ − ⟨ln Z⟩ (nats per state).

    ``log_z`` is a float (joint model) or one ln Z(c_i) per state (conditional model), shape (S,).

    Example:
        >>> from calolib.rbm import RBM
        >>> rbm = RBM(sizes=(1, 1, 1, 1), weight_std=0.0)      # uniform: every state has p = 1/16
        >>> bool(math.isclose(log_likelihood(rbm, torch.zeros(5, 4), exact_log_z(rbm)), -math.log(16)))
        True
    """
    with torch.no_grad():
        e = rbm.energy(torch.as_tensor(z).to(device=rbm.bias_vector().device, dtype=rbm.bias_vector().dtype))
    return float(-e.double().mean()) - float(np.mean(np.asarray(log_z, dtype=np.float64)))
