"""Take-aways of the annealer report (08, seed 004): β_eff, whether reweighting helped, where it breaks down.

The numbers are :class:`calolib.diagnostics.reweighting.ReweightingEffect` dicts (RMS error of the marginals
unweighted / reweighted with bootstrap errors, their paired difference, ESS) and a
:class:`~calolib.diagnostics.reweighting.ReweightingScan`.

Example:
    >>> eff = {"rms_plain": 0.134, "rms_plain_err": 0.004, "rms_weighted": 0.203, "rms_weighted_err": 0.03,
    ...        "diff": 0.069, "diff_err": 0.03, "ess": 2.1, "n": 1000, "beta_eff": 3.9}
    >>> reweighting("mock-qpu", eff).verdict
    'worse'
"""
from __future__ import annotations

import math

from calolib.reports.takeaways import Takeaway, beside_seed, choose, compare, fmt

__all__ = ["SEED_004", "beta_eff", "reweighting", "seed_004_reweighting", "breakdown"]

#: Seed 004's finding on the 7×7×7×7 Zephyr RBM (weights and biases ~ N(0, 1)), quoted beside this run's own.
SEED_004 = "weighing the samples fixed the discrepancy; BGS and QA can accurately estimate statistical averages."


def __dir__():
    return __all__


def beta_eff(name: str, beta: float, err: float, *, method: str = "MPL", rel_tol: float = 0.05,
             label: str | None = None) -> Takeaway:
    """Is the sampler at the RBM's temperature (β_eff ≈ 1), colder (> 1) or hotter (< 1)?  ``label``: display name.

    Example:
        >>> beta_eff("mock-qpu", 3.91, 0.09).verdict, beta_eff("gibbs", 1.005, 0.007).verdict
        ('colder', 'at_beta_1')
    """
    v = compare(beta, 1.0, err_a=err, rel_tol=rel_tol)
    verdict = {"higher": "colder", "lower": "hotter", "consistent": "at_beta_1"}.get(v, "unknown")
    t = {"colder": "{name} samples are colder than the RBM: β_eff = {b} ({m}).",
         "hotter": "{name} samples are hotter than the RBM: β_eff = {b} ({m}).",
         "at_beta_1": "{name} samples are at the RBM's temperature: β_eff = {b} ({m}).",
         "unknown": "{name}: β_eff could not be estimated."}
    return choose(f"beta_eff_{name}", verdict, t, name=label or name, b=fmt(beta, err), m=method)


def reweighting(name: str, eff: dict, *, n_sigma: float = 2.0, rel_tol: float = 0.1, min_ess: float = 10.0,
                label: str | None = None) -> Takeaway:
    """Did reweighting to β = 1 make the marginals better, worse, not measurably different — or is it unreliable?

    The paired change of the RMS error must exceed ``n_sigma`` bootstrap errors and ``rel_tol`` of the unweighted
    RMS error to count.  With an ESS below ``max(min_ess, 1 % of the reads)`` an apparent improvement is not
    trusted (``"unreliable"``): the reweighted average rests on a handful of reads.

    Example:
        >>> eff = {"rms_plain": 0.01, "rms_plain_err": 0.001, "rms_weighted": 0.0101, "rms_weighted_err": 0.001,
        ...        "diff": 0.0001, "diff_err": 0.0005, "ess": 990, "n": 1000, "beta_eff": 1.0}
        >>> reweighting("gibbs", eff).verdict
        'no_change'
    """
    d, de = eff["diff"], eff["diff_err"]
    tol = max(n_sigma * (de if math.isfinite(de) else 0.0), rel_tol * abs(eff["rms_plain"]))
    few = eff["ess"] < max(min_ess, 0.01 * eff["n"])
    if not math.isfinite(d):
        verdict = "unknown"
    elif d > tol:
        verdict = "worse"
    elif few:
        verdict = "unreliable"
    elif d < -tol:
        verdict = "improved"
    else:
        verdict = "no_change"
    weight = " — a few low-energy reads carry all the weight" if few else ""
    t = {"improved": "{name}: reweighting to β = 1 (β_eff = {b}) improved the marginals: RMS error {a} → {w} "
                     "(ESS {ess} of {n}).",
         "worse": "{name}: reweighting to β = 1 (β_eff = {b}) made the marginals worse: RMS error {a} → {w} (ESS {ess} of "
                  "{n}){weight}.",
         "unreliable": "{name}: reweighting to β = 1 (β_eff = {b}) did not help: the reweighted marginals (RMS error {w}, "
                       "against {a} unweighted) rest on an effective {ess} of {n} reads — too few to trust.",
         "no_change": "{name}: reweighting to β = 1 (β_eff = {b}) did not change the marginals' RMS error measurably "
                      "({a} → {w}; ESS {ess} of {n}).",
         "unknown": "{name}: the reweighted marginals are not finite."}
    return choose(f"reweighting_{name}", verdict, t, name=label or name, b=fmt(eff["beta_eff"], digits=3),
                  a=fmt(eff["rms_plain"], eff["rms_plain_err"]), w=fmt(eff["rms_weighted"], eff["rms_weighted_err"]),
                  ess=fmt(eff["ess"], digits=2), n=int(eff["n"]), weight=weight)


def seed_004_reweighting(t: Takeaway) -> Takeaway:
    """:func:`reweighting`'s take-away (for the annealer) with seed 004's finding quoted beside it."""
    return beside_seed("004", SEED_004, t)


def breakdown(betas, ess_theory, rms_plain, rms_weighted, rms_weighted_err, *, ess_min: float = 0.1,
              n_samples: int | None = None) -> Takeaway:
    """From a scan of exact samples at β_s reweighted with the true β_s: the first β_s with expected ESS / N below
    ``ess_min`` and the first where the reweighted marginals are no better than the unweighted ones.

    Example:
        >>> breakdown([1, 1.5, 2, 3], [1, 0.23, 5e-5, 1e-23], [0.008, 0.047, 0.076, 0.11], [0.008, 0.026, 0.03, 0.075],
        ...           [0.002, 0.006, 0.011, 0.02]).verdict
        'ess_collapses'
    """
    pairs = list(zip(betas, ess_theory, rms_plain, rms_weighted, rms_weighted_err))
    low = [b for b, f, *_ in pairs if b > 1 and f < ess_min]
    useless = [b for b, _, p, w, e in pairs if b > 1 and w + 2 * e >= p]
    if not low and not useless:
        verdict = "holds"
    else:
        verdict = "ess_collapses" if low and (not useless or min(low) <= min(useless)) else "no_gain"
    n = "" if n_samples is None else f" ({n_samples} exact samples per β_s)"
    t = {"holds": "Over the whole scan{n} (β_s up to {bmax}) the reweighted marginals beat the unweighted ones and the "
                  "expected ESS stays above {pc} % of the samples.",
         "ess_collapses": "Reweighting breaks down from β_s ≈ {b}: there the expected ESS / N = Z(1)²/(Z(β_s)Z(2−β_s)) "
                          "falls below {pc} % ({f}){n}, and beyond it the measured ESS overstates the real one (the "
                          "states that dominate the weights are too rare to be drawn){u}.",
         "no_gain": "From β_s ≈ {bu} the reweighted marginals are no better than the unweighted ones{n}, before the "
                    "expected ESS falls below {pc} %."}
    fb = dict((b, f) for b, f, *_ in pairs)
    u = "" if not useless else f"; from β_s ≈ {fmt(min(useless))} the reweighted marginals are no better than the raw ones"
    return choose("breakdown", verdict, t, n=n, bmax=fmt(max(betas)), pc=fmt(100 * ess_min),
                  b=fmt(min(low)) if low else "n/a", f=fmt(fb[min(low)], digits=2) if low else "n/a",
                  bu=fmt(min(useless)) if useless else "n/a", u=u)
