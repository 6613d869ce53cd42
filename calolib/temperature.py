"""Effective inverse temperature β_eff of (annealer) samples relative to the RBM, and reweighting to β = 1.

An annealer returns states distributed roughly as exp(−β_eff E(z)) with β_eff ≠ 1 (device temperature,
range scaling, freeze-out).  Four estimators of β_eff, each with a standard error:

* ``"mpl"`` — maximum pseudo-likelihood.  With the energy lost by flipping unit i,
  f_i(z) = E(z) − E(z^{(i)}) = (1 − 2 z_i) u_i (u = a + Wz, :meth:`RBM.local_fields`), the conditionals
  are P(z_i | rest) = σ(−β f_i); the root of the score Σ_s Σ_i f_i σ(β f_i) = 0 is β_MPL (the same
  equation as ``dwave.system.temperatures.maximum_pseudolikelihood_temperature``, which returns T = 1/β
  in the units of the BQM it gets; ``backend="dwave"`` calls it with our f_i, i.e. in RBM energy units).
  Stderr: sandwich (score variance over the Fisher information).  Needs no reference sampling.
* ``"fast"`` — binned single-unit logit regression: pairs (u_i, z_i) are grouped in quantile bins of u;
  logit P̂(z_i = 1) = β ū per bin, fitted through the origin by weighted least squares.  The closed-form
  analogue, on samples of the RBM itself, of ``fast_effective_temperature`` (which probes a sampler with
  single-qubit problems and fits the excitation rate against the field).
* ``"moments"`` — energy moment matching: the β with ⟨E⟩_β = mean energy of the samples.  ⟨E⟩_β is exact
  (enumeration) for ≤ ``exact_max_units`` free units, otherwise from block-Gibbs chains with Newton steps
  β ← β + (⟨E⟩_β − Ē)/Var_β(E) (since d⟨E⟩/dβ = −Var E).  Stderr: δĒ / Var_β(E).
* ``"ratio"`` — slope of ln p_samples(E)/p_ref(E): for reference samples at a known β_ref, the log ratio
  of the energy densities is −(β − β_ref) E + const, so a logistic regression of "sample vs reference"
  on E has slope −(β − β_ref).  Unbinned; reference from exact sampling (small RBMs) or Gibbs at β_ref
  (default: the MPL estimate, so both sets overlap).

For QPU-like samplers, :func:`probe_device_beta` measures the device's own β with
``dwave.system.temperatures.fast_effective_temperature`` (single-qubit problems) and converts it to the
RBM scale, β = β_dev / s (s: the autoscale divisor), before any RBM sample is drawn.

Clamped units (conditioned samples: partition 0) are excluded from the single-unit estimators, and the
reference ensembles use the samples' own conditioning rows.  :func:`importance_weights` gives normalised
w ∝ n_s exp(−(1 − β_eff) E), computed in log space, to estimate β = 1 averages from the samples
(:func:`weighted_mean`, :func:`effective_sample_size`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch

from calolib.errors import CalolibError, SamplerError

__all__ = [
    "BetaEstimate",
    "METHODS",
    "estimate_beta_eff",
    "compare_beta_estimators",
    "probe_device_beta",
    "importance_weights",
    "weighted_mean",
    "effective_sample_size",
]

METHODS = ("mpl", "fast", "moments", "ratio")


def __dir__():
    return __all__


@dataclass(frozen=True)
class BetaEstimate:
    """An effective inverse temperature relative to the RBM energy (dimensionless) with its stderr."""

    beta: float
    stderr: float
    method: str
    info: dict = field(default_factory=dict)


def _unpack(rbm, samples):
    """(z (S,N), counts (S,) float64, energies (S,) float64, conditioned) on the RBM's device."""
    dev, dtype = rbm.bias_vector().device, rbm.bias_vector().dtype
    if hasattr(samples, "num_occurrences"):
        z = samples.z.to(device=dev, dtype=dtype)
        counts = samples.num_occurrences.to(dev).double()
        energy = samples.energy.to(dev).double()
        conditioned = bool(samples.info.get("conditioned", False))
    else:
        z = torch.as_tensor(samples).to(device=dev, dtype=dtype)
        if z.ndim != 2 or z.shape[1] != rbm.n_units:
            raise CalolibError(f"samples must be LatentSamples or a (S, {rbm.n_units}) 0/1 tensor; got shape {tuple(z.shape)}")
        counts = torch.ones(z.shape[0], dtype=torch.float64, device=dev)
        with torch.no_grad():
            energy = rbm.energy(z).double()
        conditioned = False
    if z.shape[0] < 2 or float(counts.sum()) < 2:
        raise CalolibError("β_eff needs at least two samples")
    return z, counts, energy, conditioned


def _free_mask(rbm, conditioned, clamped):
    if clamped is None:
        clamped = (0,) if conditioned else ()
    return ~rbm.clamp_mask(tuple(clamped))


def _flip_energies(rbm, z, free):
    """f (S, n_free) float64: energy lost by flipping each free unit; and u (local fields)."""
    with torch.no_grad():
        u = (rbm.bias_vector() + z @ rbm.weight_matrix()).double()[:, free]
    return (1.0 - 2.0 * z.double()[:, free]) * u, u


def _mpl(rbm, z, counts, free, backend="calolib"):
    f, _ = _flip_energies(rbm, z, free)
    f, n = f.cpu().numpy(), counts.cpu().numpy()
    if backend == "dwave":
        from dwave.system.temperatures import maximum_pseudolikelihood_temperature

        t, _ = maximum_pseudolikelihood_temperature(en1=f, sample_weights=n / n.sum(), optimize_method="bisect", T_bracket=(1e-4, 1e4))
        beta = 1.0 / float(t)
    else:
        from scipy.optimize import brentq

        def score(b):  # d/dβ of the mean log pseudo-likelihood, decreasing in β
            return float(n @ (-f * _sigmoid(b * f)).sum(1))

        lo, hi = 1e-6, 1e4
        if not (f > 0).any() or score(hi) > 0:  # no excitation at all: every sample is a local minimum
            return BetaEstimate(math.inf, math.inf, "mpl", {"note": "only local minima: β = inf"})
        beta = brentq(score, lo, hi, xtol=1e-10, rtol=1e-10) if score(lo) > 0 else lo
    sig = _sigmoid(beta * f)
    g = (-f * sig).sum(1)  # per-sample score
    info_matrix = float(n @ (f * f * sig * (1 - sig)).sum(1))
    stderr = math.sqrt(float(n @ (g * g))) / info_matrix if info_matrix > 0 else math.inf
    return BetaEstimate(float(beta), stderr, "mpl", {"backend": backend, "n_units": int(f.shape[1])})


def _sigmoid(x):
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def _fast(rbm, z, counts, free, n_bins=50):
    _, u = _flip_energies(rbm, z, free)
    u = u.cpu().numpy().ravel()
    zz = z.double()[:, free].cpu().numpy().ravel()
    w = np.repeat(counts.cpu().numpy(), int(free.sum()))
    order = np.argsort(u, kind="stable")
    cw = np.cumsum(w[order])
    edges = u[order][np.searchsorted(cw, np.linspace(0, cw[-1], n_bins + 1)[1:-1])]  # weighted quantiles
    b = np.searchsorted(np.unique(edges), u, side="right")  # equal fields share a bin
    nb = np.bincount(b, weights=w)
    kb = np.bincount(b, weights=w * zz)
    ub = np.bincount(b, weights=w * u) / np.where(nb > 0, nb, 1)
    p = kb / np.where(nb > 0, nb, 1)
    ok = (p > 0) & (p < 1) & (nb > 0)
    if ok.sum() < 2:
        raise CalolibError("fast β_eff: too few bins with both unit values; take more samples")
    y = np.log(p[ok] / (1 - p[ok]))
    wt = nb[ok] * p[ok] * (1 - p[ok])
    denom = float((wt * ub[ok] ** 2).sum())
    beta = float((wt * ub[ok] * y).sum()) / denom
    return BetaEstimate(beta, 1.0 / math.sqrt(denom), "fast", {"n_bins_used": int(ok.sum())})


def _condition_rows(rbm, z, counts, conditioned, n, gen):
    """Conditioning rows for a reference ensemble of size n (drawn from the samples' own rows)."""
    if not conditioned:
        return None
    idx = torch.multinomial(counts.float().cpu(), n, replacement=True, generator=gen)
    return z[idx.to(z.device), : rbm.sizes[0]]


def _exact_spectrum(rbm, cond_groups):
    """Energies (float64) of all states, one array per conditioning group, and the group weights."""
    from calolib.samplers import enumerate_states

    dev, dtype = rbm.bias_vector().device, rbm.bias_vector().dtype
    if cond_groups is None:
        with torch.no_grad():
            return [rbm.energy(enumerate_states(rbm.n_units, device=dev, dtype=dtype)).double()], [1.0]
    vecs, wts = cond_groups
    free = enumerate_states(rbm.n_units - rbm.sizes[0], device=dev, dtype=dtype)
    with torch.no_grad():
        spectra = [rbm.energy(torch.cat([v.to(dtype).expand(free.shape[0], -1), free], 1)).double() for v in vecs]
    return spectra, wts


def _mean_var(spectra, wts, beta):
    """Exact ⟨E⟩_β and Var_β(E) of the (group-weighted) ensemble."""
    m = v2 = 0.0
    for e, w in zip(spectra, wts):
        p = torch.softmax(-beta * e, 0)
        m += w * float(p @ e)
        v2 += w * float(p @ (e * e))
    return m, v2 - m * m


def _n_free(rbm, conditioned):
    return rbm.n_units - (rbm.sizes[0] if conditioned else 0)


def _moments(rbm, z, counts, energy, conditioned, *, exact_max_units=20, n_chains=1024, n_steps=200, seed=0,
             beta0=None, n_iter=6):
    n_eff = float(counts.sum())
    e_bar = float((counts * energy).sum() / n_eff)
    sd_bar = math.sqrt(float((counts * (energy - e_bar) ** 2).sum() / n_eff) / n_eff)
    if _n_free(rbm, conditioned) <= exact_max_units:
        groups = None
        if conditioned:
            vecs, inv = torch.unique(z[:, : rbm.sizes[0]], dim=0, return_inverse=True)
            wts = torch.zeros(len(vecs), dtype=torch.float64, device=z.device).index_add_(0, inv, counts) / n_eff
            groups = (list(vecs), wts.tolist())
        from scipy.optimize import brentq

        spectra, wts = _exact_spectrum(rbm, groups)

        def gap(logb):
            return _mean_var(spectra, wts, math.exp(logb))[0] - e_bar

        lo, hi = math.log(1e-3), math.log(1e3)
        if gap(lo) < 0 or gap(hi) > 0:
            raise CalolibError(f"moments β_eff: mean energy {e_bar:.4g} is outside the range reachable for β in [1e-3, 1e3]")
        beta = math.exp(brentq(gap, lo, hi, xtol=1e-12))
        var = _mean_var(spectra, wts, beta)[1]
        return BetaEstimate(beta, sd_bar / var, "moments", {"reference": "exact", "mean_energy": e_bar})
    from calolib.samplers import gibbs_sample

    gen = torch.Generator().manual_seed(int(seed))
    beta = float(beta0) if beta0 else 1.0
    for k in range(n_iter):
        cond = _condition_rows(rbm, z, counts, conditioned, n_chains, gen)
        ref = gibbs_sample(rbm, n_chains, n_steps, beta, seed=int(seed) + k, conditioning=cond)
        with torch.no_grad():
            e = rbm.energy(ref.to(rbm.bias_vector().dtype)).double()
        m, var = float(e.mean()), float(e.var())
        step = (m - e_bar) / max(var, 1e-12)
        stderr = math.sqrt(sd_bar**2 + var / n_chains) / max(var, 1e-12)
        beta = min(max(beta + step, 0.5 * beta), 2.0 * beta)
        if abs(step) < stderr:  # the remaining step is within the statistical error
            break
    return BetaEstimate(beta, stderr, "moments", {"reference": "gibbs", "mean_energy": e_bar, "iterations": k + 1})


def _ratio(rbm, z, counts, energy, conditioned, *, beta_ref=None, exact_max_units=20, n_chains=4096, n_steps=200, seed=0):
    if beta_ref is None:
        beta_ref = _mpl(rbm, z, counts, _free_mask(rbm, conditioned, None)).beta
        beta_ref = min(max(beta_ref, 1e-2), 1e2)
    gen = torch.Generator().manual_seed(int(seed))
    cond = _condition_rows(rbm, z, counts, conditioned, n_chains, gen)
    if _n_free(rbm, conditioned) <= exact_max_units and cond is None:
        from calolib.samplers import ExactSampler

        ref = ExactSampler(beta=beta_ref).sample(rbm, n_chains, seed=int(seed)).z
        kind = "exact"
    else:
        from calolib.samplers import gibbs_sample

        ref = gibbs_sample(rbm, n_chains, n_steps, beta_ref, seed=int(seed), conditioning=cond)
        kind = "gibbs"
    with torch.no_grad():
        e_ref = rbm.energy(ref.to(rbm.bias_vector().dtype)).double().cpu().numpy()
    e_s, w_s = energy.cpu().numpy(), counts.cpu().numpy()
    x = np.concatenate([e_s, e_ref])
    y = np.concatenate([np.ones_like(e_s), np.zeros_like(e_ref)])
    w = np.concatenate([w_s, np.ones(len(e_ref))])  # counts; the intercept absorbs the class sizes
    mu, sd = x.mean(), x.std() or 1.0
    xs = (x - mu) / sd
    theta = np.zeros(2)  # logistic regression y ~ σ(θ0 + θ1 xs) by Newton
    for _ in range(100):
        p = _sigmoid(theta[0] + theta[1] * xs)
        g = np.array([np.sum(w * (y - p)), np.sum(w * (y - p) * xs)])
        r = w * p * (1 - p)
        h = np.array([[r.sum(), (r * xs).sum()], [(r * xs).sum(), (r * xs * xs).sum()]])
        d = np.linalg.solve(h, g)
        theta += d
        if np.abs(d).max() < 1e-12:
            break
    cov = np.linalg.inv(h)
    slope, slope_err = theta[1] / sd, math.sqrt(cov[1, 1]) / sd
    return BetaEstimate(float(beta_ref - slope), float(slope_err), "ratio", {"reference": kind, "beta_ref": float(beta_ref)})


def estimate_beta_eff(rbm, samples, method: str = "mpl", *, clamped=None, seed: int = 0, **kw) -> BetaEstimate:
    """β_eff of ``samples`` (LatentSamples or (S, N) 0/1 tensor) relative to ``rbm.energy``.

    Args:
        rbm: the :class:`calolib.rbm.RBM` the samples were drawn for.
        samples: :class:`~calolib.samplers.LatentSamples` (uses its ``num_occurrences`` and
            ``info["conditioned"]``) or a tensor of states.
        method: one of :data:`METHODS` (see the module docstring).
        clamped: partitions held fixed while sampling (default: (0,) for conditioned samples, else none).
        seed: seed of the reference sampling (``"moments"``, ``"ratio"``).
        **kw: method options: ``backend`` ("calolib"|"dwave", mpl), ``n_bins`` (fast), ``n_chains``,
            ``n_steps``, ``exact_max_units`` (moments, ratio), ``beta_ref`` (ratio), ``beta0`` (moments).

    Returns:
        :class:`BetaEstimate`.

    Example:
        >>> from calolib.rbm import RBM
        >>> from calolib.samplers import ExactSampler
        >>> rbm = RBM((2, 2, 2, 2), weight_std=1.0, bias_std=0.5, seed=0)
        >>> s = ExactSampler(beta=2.0).sample(rbm, 4000, seed=0)
        >>> est = estimate_beta_eff(rbm, s, "mpl")
        >>> abs(est.beta - 2.0) < 4 * est.stderr
        True
    """
    z, counts, energy, conditioned = _unpack(rbm, samples)
    free = _free_mask(rbm, conditioned, clamped)
    if method == "mpl":
        return _mpl(rbm, z, counts, free, kw.get("backend", "calolib"))
    if method == "fast":
        return _fast(rbm, z, counts, free, int(kw.get("n_bins", 50)))
    if method == "moments":
        opts = {k: kw[k] for k in ("exact_max_units", "n_chains", "n_steps", "beta0") if k in kw}
        if "beta0" not in opts:
            opts["beta0"] = min(max(_mpl(rbm, z, counts, free).beta, 1e-2), 1e2)
        return _moments(rbm, z, counts, energy, conditioned or clamped is not None and 0 in clamped, seed=seed, **opts)
    if method == "ratio":
        opts = {k: kw[k] for k in ("exact_max_units", "n_chains", "n_steps", "beta_ref") if k in kw}
        return _ratio(rbm, z, counts, energy, conditioned, seed=seed, **opts)
    raise CalolibError(f"unknown β_eff method {method!r}; choose one of {', '.join(METHODS)}")


def compare_beta_estimators(rbm, samples, methods=METHODS, *, seed: int = 0, **kw) -> list[BetaEstimate]:
    """Run several estimators on the same samples; returns one :class:`BetaEstimate` per method.

    Example:
        >>> from calolib.rbm import RBM
        >>> from calolib.samplers import ExactSampler
        >>> rbm = RBM((2, 2, 2, 2), weight_std=1.0, seed=0)
        >>> [e.method for e in compare_beta_estimators(rbm, ExactSampler().sample(rbm, 500, seed=0), ("mpl", "fast"))]
        ['mpl', 'fast']
    """
    return [estimate_beta_eff(rbm, samples, m, seed=seed, **kw) for m in methods]


def probe_device_beta(sampler, rbm, *, num_reads: int = 1000, seed: int = 0, **kw) -> BetaEstimate:
    """β of a QPU-like sampler relative to the RBM, from single-qubit probes (no RBM samples needed).

    ``fast_effective_temperature`` (dwave.system.temperatures) measures the device temperature T on
    independent qubits in programmable units; the RBM problem is sent divided by the autoscale factor s,
    so β = (1/T)/s.  ``sampler`` is ``"mock-qpu"``, ``"qpu"`` or such an instance; ``kw`` are sampling
    options (``annealing_time``, ``h_range``, ...).  Needs the Ocean SDK.

    Example:
        >>> from calolib.rbm import RBM
        >>> rbm = RBM((2, 2, 2, 2), "zephyr", weight_std=1.0, seed=0)
        >>> est = probe_device_beta("mock-qpu", rbm, num_reads=2000, beta_device=3.0)
        >>> abs(est.info["beta_device"] - 3.0) < 0.3
        True
    """
    from calolib.samplers import get_sampler
    from calolib.samplers.dimod_bridge import autoscale_factor

    s = get_sampler(sampler)
    if not hasattr(s, "probe_device_beta"):
        raise SamplerError(f"sampler {s.name!r} cannot be probed; use 'mock-qpu' or 'qpu' (or estimate_beta_eff on samples)")
    beta_dev, err = s.probe_device_beta(rbm, num_reads=num_reads, seed=seed, **kw)
    child = s._child(rbm)
    scale = autoscale_factor(rbm.to_bqm().change_vartype("SPIN", inplace=False), *s._ranges(child))
    return BetaEstimate(beta_dev / scale, err / scale, "device", {"beta_device": beta_dev, "scale": scale})


def importance_weights(rbm, samples, beta_eff: float, *, beta_target: float = 1.0) -> torch.Tensor:
    """Normalised weights (S,) float64, w ∝ n_s exp(−(β_target − β_eff) E(z_s)), from log space.

    Averages ``weighted_mean(f(z), w)`` then estimate E_{β_target}[f] from samples at β_eff.

    Example:
        >>> from calolib.rbm import RBM
        >>> rbm = RBM((1, 1, 1, 1), bias_std=1.0, seed=0)
        >>> w = importance_weights(rbm, torch.eye(4), 0.5)
        >>> bool(torch.isclose(w.sum(), torch.tensor(1.0, dtype=torch.float64)))
        True
    """
    _, counts, energy, _ = _unpack(rbm, samples)
    log_w = torch.log(counts) - (float(beta_target) - float(beta_eff)) * energy
    return torch.softmax(log_w, dim=0)


def weighted_mean(values, weights) -> torch.Tensor:
    """Σ_s w_s v_s / Σ_s w_s over the first axis (values (S, ...), weights (S,)).

    Example:
        >>> weighted_mean(torch.tensor([1.0, 3.0]), torch.tensor([3.0, 1.0])).item()
        1.5
    """
    v = torch.as_tensor(values)
    w = torch.as_tensor(weights, dtype=torch.float64, device=v.device)
    w = w.reshape((-1,) + (1,) * (v.ndim - 1))
    return (v.double() * w).sum(0) / w.sum()


def effective_sample_size(weights) -> float:
    """Kish's effective sample size (Σw)² / Σw² (equals S for uniform weights).

    Example:
        >>> effective_sample_size(torch.ones(10)), effective_sample_size(torch.tensor([1.0, 0, 0]))
        (10.0, 1.0)
    """
    w = torch.as_tensor(weights, dtype=torch.float64)
    return float(w.sum() ** 2 / (w * w).sum())
