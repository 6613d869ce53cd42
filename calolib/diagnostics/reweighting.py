"""Where does importance reweighting of annealer samples to β = 1 break down? (seed 004)

Samples drawn at an effective inverse temperature β_s ≠ 1 are moved to β = 1 with weights
w ∝ exp(−(1 − β_s) E(z)) (:func:`calolib.temperature.importance_weights`).  The weights are exact in
principle, but their spread grows fast with |β_s − 1|: for exact samples at β_s the expected effective
sample size is

    ESS / N = E[w]² / E[w²] = Z(1)² / (Z(β_s) Z(2 − β_s)),

(Kish's ESS; Z(β) = Σ_z e^{−βE(z)}, conditional on the clamped code when there is one), so beyond some
β_s the handful of lowest-energy states carries all the weight and the reweighted averages are noisier —
or, when the sampler's distribution is not exactly e^{−β_s E}, biased — than the unweighted ones.

* :func:`reweighting_effect`: for one sample set, the RMS error of the free units' marginals against the
  exact ones, unweighted and reweighted, with bootstrap errors of both and of their paired difference,
  and the ESS.  This is what decides "reweighting improved the marginals".
* :func:`reweighting_scan`: the same on exact samples drawn at each β_s of a grid (reweighted with the true
  β_s, so any failure is variance, not a wrong β), beside the closed-form ESS / N above.

Example:
    >>> from calolib.rbm import RBM
    >>> rbm = RBM((2, 3, 3, 3), "full", 1.0, 1.0, seed=0)
    >>> scan = reweighting_scan(rbm, [1.0, 3.0], 2000, conditioning=torch.tensor([1.0, 0.0]), seed=0)
    >>> bool(scan.ess_fraction_theory[0] == 1.0 and scan.ess_fraction_theory[1] < 1.0)
    True
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch

from calolib.errors import CalolibError

__all__ = ["ReweightingEffect", "reweighting_effect", "ReweightingScan", "reweighting_scan", "ess_fraction_exact"]


def __dir__():
    return __all__


@dataclass(frozen=True)
class ReweightingEffect:
    """RMS error of the free marginals unweighted / reweighted (with bootstrap sd), their paired difference,
    and Kish's ESS of the weights (``n`` reads in all)."""

    beta_eff: float
    rms_plain: float
    rms_plain_err: float
    rms_weighted: float
    rms_weighted_err: float
    diff: float  # rms_weighted − rms_plain (negative: reweighting helped)
    diff_err: float
    ess: float
    n: int

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def _reads(samples):
    """(z (R, N) float64, energies (R,) float64) with every read repeated ``num_occurrences`` times."""
    counts = samples.num_occurrences.cpu()
    z = samples.z.cpu().double().repeat_interleave(counts, 0)
    return z, samples.energy.cpu().double().repeat_interleave(counts, 0)


def reweighting_effect(samples, beta_eff: float, exact_marginals, free=None, *, n_boot: int = 100,
                       seed: int = 0) -> ReweightingEffect:
    """RMS error of the marginals ⟨z_i⟩ (over ``free`` units) unweighted and reweighted to β = 1 from ``beta_eff``.

    Args:
        samples: :class:`~calolib.samplers.LatentSamples` (energies at β = 1, ``num_occurrences`` honoured).
        beta_eff: the samples' effective inverse temperature (e.g. the MPL estimate).
        exact_marginals: (N,) exact ⟨z_i⟩ at β = 1 (e.g. ``exact_moments(rbm, conditioning=c)["marginals"]``).
        free: index or boolean mask of the units compared (default: all).
        n_boot: bootstrap resamples of the reads (the same resample for both estimates: paired errors).

    Example:
        >>> from calolib.rbm import RBM
        >>> from calolib.samplers import ExactSampler
        >>> from calolib.samplers.exact import exact_moments
        >>> rbm = RBM((2, 2, 2, 2), "full", 1.0, 1.0, seed=1)
        >>> s = ExactSampler(beta=1.0).sample(rbm, 3000, seed=0)
        >>> r = reweighting_effect(s, 1.0, exact_moments(rbm)["marginals"])
        >>> bool(abs(r.diff) < 1e-12 and r.ess > 2999)   # β_eff = 1: the weights are uniform
        True
    """
    z, e = _reads(samples)
    truth = torch.as_tensor(np.asarray(exact_marginals), dtype=torch.float64)
    if truth.numel() != z.shape[1]:
        raise CalolibError(f"exact_marginals has {truth.numel()} entries; the samples have {z.shape[1]} units")
    cols = torch.arange(z.shape[1])
    if free is not None:
        cols = cols[free] if isinstance(free, slice) else cols[torch.as_tensor(free)]
    log_w = -(1.0 - float(beta_eff)) * e
    w = torch.softmax(log_w, 0)
    r = z.shape[0]

    def rms(idx):
        zz, ww = z[idx][:, cols], torch.softmax(log_w[idx], 0)
        plain = zz.mean(0)
        weighted = (ww[:, None] * zz).sum(0)
        return (float(((plain - truth[cols]) ** 2).mean().sqrt()), float(((weighted - truth[cols]) ** 2).mean().sqrt()))

    full = torch.arange(r)
    a, b = rms(full)
    gen = torch.Generator().manual_seed(int(seed))
    boot = np.array([rms(torch.randint(0, r, (r,), generator=gen)) for _ in range(int(n_boot))]) if n_boot else None
    sd = (lambda x: float(np.std(x, ddof=1))) if n_boot and n_boot > 1 else (lambda x: float("nan"))
    ess = float(w.sum() ** 2 / (w * w).sum())
    return ReweightingEffect(float(beta_eff), a, sd(boot[:, 0]) if boot is not None else float("nan"), b,
                             sd(boot[:, 1]) if boot is not None else float("nan"), b - a,
                             sd(boot[:, 1] - boot[:, 0]) if boot is not None else float("nan"), ess, r)


def ess_fraction_exact(rbm, beta_s: float, *, conditioning=None) -> float:
    """Expected ESS / N of exact samples at ``beta_s`` reweighted to β = 1: Z(1)² / (Z(β_s) Z(2 − β_s)) (enumeration).

    Example:
        >>> from calolib.rbm import RBM
        >>> ess_fraction_exact(RBM((1, 1, 1, 1), weight_std=1.0, seed=0), 1.0)
        1.0
    """
    from calolib.partition import exact_log_z

    lz = lambda b: exact_log_z(rbm, beta=b, conditioning=conditioning)  # noqa: E731
    return float(math.exp(min(0.0, 2 * lz(1.0) - lz(float(beta_s)) - lz(2.0 - float(beta_s)))))


@dataclass(frozen=True)
class ReweightingScan:
    """:func:`reweighting_scan` results, one entry per β_s of the grid."""

    betas: np.ndarray  # (K,)
    n_samples: int
    rms_plain: np.ndarray  # (K,)
    rms_weighted: np.ndarray
    rms_weighted_err: np.ndarray
    ess_fraction: np.ndarray  # measured ESS / N
    ess_fraction_theory: np.ndarray  # Z(1)² / (Z(β) Z(2 − β))
    effects: list = field(default_factory=list, repr=False)

    def breakdown_beta(self, *, ess_min: float = 0.1) -> float:
        """Smallest β_s > 1 of the grid at which the closed-form ESS / N drops below ``ess_min`` (inf: never)."""
        bad = [b for b, f in zip(self.betas, self.ess_fraction_theory) if b > 1 and f < ess_min]
        return float(min(bad)) if bad else math.inf

    def to_dict(self) -> dict:
        return {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in self.__dict__.items() if k != "effects"}


def reweighting_scan(rbm, betas, n_samples: int, *, conditioning=None, seed: int = 0,
                     n_boot: int = 50) -> ReweightingScan:
    """Exact samples at each β_s of ``betas``, reweighted to β = 1 with the true β_s: RMS error of the free
    marginals (unweighted, reweighted), measured and closed-form ESS / N.  Needs an enumerable RBM.

    Args:
        rbm: an RBM with ≤ 24 free units.
        betas: inverse temperatures β_s of the samples.
        n_samples: exact samples per β_s.
        conditioning: code (n0,) clamped on partition 0 (then only the free units are compared).
        seed, n_boot: sampling seed and bootstrap resamples per β_s.
    """
    from calolib.samplers import ExactSampler
    from calolib.samplers.exact import exact_moments

    truth = exact_moments(rbm, conditioning=conditioning)["marginals"]
    free = slice(int(rbm.sizes[0]) if conditioning is not None else 0, None)
    effects, theory = [], []
    for k, b in enumerate(float(x) for x in betas):
        s = ExactSampler(beta=b).sample(rbm, int(n_samples), conditioning=conditioning, seed=int(seed) + k)
        effects.append(reweighting_effect(s, b, truth, free, n_boot=n_boot, seed=int(seed) + k))
        theory.append(ess_fraction_exact(rbm, b, conditioning=conditioning))
    arr = lambda key: np.array([getattr(e, key) for e in effects])  # noqa: E731
    return ReweightingScan(np.asarray(list(betas), dtype=float), int(n_samples), arr("rms_plain"), arr("rms_weighted"),
                           arr("rms_weighted_err"), arr("ess") / int(n_samples), np.array(theory), effects)
