"""Take-aways of the prior reports (02, 04): ln Z bracketing, the exact check, prior vs data, LL, active units.

Every function picks its sentence from the numbers it is given (see :mod:`calolib.reports.takeaways`).

Example:
    >>> ais_rais_bracket(161.782, 0.031, 161.751, 0.031).verdict
    'consistent'
    >>> ais_rais_bracket(161.70, 0.01, 161.80, 0.01).verdict
    'lower'
"""
from __future__ import annotations

import math

import numpy as np

from calolib.reports.takeaways import Takeaway, choose, compare, fmt

__all__ = ["ais_rais_bracket", "exact_check", "prior_vs_data", "log_likelihood_range", "active_units"]


def __dir__():
    return __all__


_BRACKET = {
    "lower": "AIS gives {q} = {a} and RAIS {r}: AIS ≤ ln Z ≤ RAIS holds and brackets it; the gap of {gap} nats "
             "is the uncertainty of ln Z and of the LL.",
    "consistent": "AIS ({a}) and RAIS ({r}) agree within their errors (RAIS − AIS = {d}): {q} is known to about "
                  "±{err} nats, and the bracket AIS ≤ ln Z ≤ RAIS cannot be resolved at this precision.",
    "higher": "AIS ({a}) lies above RAIS ({r}) by {d}, beyond their errors: the two do not bracket {q} (too few "
              "intermediate β's, or RAIS start samples that are not from the model); treat the LL as uncertain "
              "by at least {gap} nats.",
    "unknown": "AIS or RAIS did not give a finite {q}.",
}


def ais_rais_bracket(ais: float, ais_err: float, rais: float, rais_err: float, *,
                     quantity: str = "ln Z") -> Takeaway:
    """Do AIS (low on average) and RAIS (high on average) bracket ln Z, agree, or contradict each other?

    Example:
        >>> ais_rais_bracket(161.782, 0.031, 161.651, 0.031).verdict
        'higher'
    """
    verdict = compare(ais, rais, err_a=ais_err, err_b=rais_err)
    err = math.hypot(ais_err, rais_err)
    return choose("ais_rais_bracket", verdict, _BRACKET, q=quantity, a=fmt(ais, ais_err), r=fmt(rais, rais_err),
                  d=fmt(rais - ais, err), gap=fmt(abs(rais - ais)), err=fmt(err, digits=2))


def exact_check(exact: float, ais: float, ais_err: float, rais: float, rais_err: float, *, n_sigma: float = 3.0,
                tol: float = 0.01) -> Takeaway:
    """AIS and RAIS against exact enumeration on a small RBM: both within ``n_sigma`` errors (+ ``tol`` nats)?

    Example:
        >>> exact_check(15.24, 15.239, 0.003, 15.241, 0.003).verdict, exact_check(15.24, 15.0, 0.003, 15.24, 0.003).verdict
        ('both', 'ais_off')
    """
    ok_a = abs(ais - exact) <= n_sigma * ais_err + tol
    ok_r = abs(rais - exact) <= n_sigma * rais_err + tol
    verdict = {(True, True): "both", (False, True): "ais_off", (True, False): "rais_off"}.get((ok_a, ok_r), "both_off")
    t = {"both": "On the enumerable RBM both estimators reproduce the exact ln Z = {x} (AIS {a}, RAIS {r}).",
         "ais_off": "On the enumerable RBM AIS misses the exact ln Z = {x} (AIS {a}; RAIS {r} agrees): the AIS "
                    "schedule is too short for this model.",
         "rais_off": "On the enumerable RBM RAIS misses the exact ln Z = {x} (RAIS {r}; AIS {a} agrees): its start "
                     "samples or schedule are not good enough.",
         "both_off": "On the enumerable RBM neither estimator reproduces the exact ln Z = {x} (AIS {a}, RAIS {r}): "
                     "do not trust the trained prior's ln Z either."}
    return choose("exact_check", verdict, t, x=fmt(exact, digits=6), a=fmt(ais, ais_err), r=fmt(rais, rais_err))


def prior_vs_data(e_data, e_prior, *, sep_power: float | None = None, tol: float = 0.05) -> Takeaway:
    """Do prior (Gibbs) samples sit at the energies of the encoded data (the prior learned the aggregate posterior)?

    ``tol``: relative mean-energy difference below which the two are called matching even if statistically
    distinguishable.

    Example:
        >>> prior_vs_data([-136.0, -135.0, -137.0], [-127.0, -126.0, -128.0]).verdict
        'higher'
    """
    a, b = np.asarray(e_data, float), np.asarray(e_prior, float)
    sem = lambda x: float(x.std(ddof=1) / math.sqrt(len(x))) if len(x) > 1 else 0.0  # noqa: E731
    verdict = compare(b.mean(), a.mean(), err_a=sem(b), err_b=sem(a), rel_tol=tol)
    t = {"higher": "Prior samples sit at higher energy than the encoded data (⟨E⟩ {p} vs {d}{sp}): the prior puts "
                   "weight where the encoder does not go — it has not matched the aggregate posterior.",
         "lower": "Prior samples sit at lower energy than the encoded data (⟨E⟩ {p} vs {d}{sp}): the prior "
                  "concentrates on states the encoder rarely uses.",
         "consistent": "Prior samples and encoded data have the same mean energy within {tol_pc} % (⟨E⟩ {p} vs {d}{sp}).",
         "unknown": "The energies are not finite."}
    spt = "" if sep_power is None else f"; separation power {fmt(sep_power)}"
    return choose("prior_vs_data", verdict, t, p=fmt(b.mean(), sem(b)), d=fmt(a.mean(), sem(a)), sp=spt,
                  tol_pc=fmt(100 * tol))


def log_likelihood_range(ll_ais: float, ll_rais: float, err: float, *, model: str = "the conditional prior p(z | E_inc)",
                         n_states: int | None = None) -> Takeaway:
    """The LL of the validation encodings as the interval the two ln Z estimates give.

    Example:
        >>> log_likelihood_range(-47.03, -47.02, 0.33).text.startswith("LL of the")
        True
    """
    lo, hi = sorted((ll_ais, ll_rais))
    n = "" if n_states is None else f" ({n_states} events)"
    verdict = "finite" if math.isfinite(lo) and math.isfinite(hi) else "unknown"
    t = {"finite": "LL of the validation encodings{n} under {m}: {lo} to {hi} nats per event (± {e}).",
         "unknown": "The LL of the validation encodings could not be computed."}
    return choose("log_likelihood", verdict, t, n=n, m=model, lo=fmt(lo, digits=5), hi=fmt(hi, digits=5),
                  e=fmt(err, digits=2))


def active_units(marginals, *, n_clamped: int = 0, lo: float = 0.01, hi: float = 0.99, target: float = 0.7) -> Takeaway:
    """How many free latent units are active (``lo`` < ⟨z⟩ < ``hi`` over the encodings)?

    Example:
        >>> active_units([0.5] * 7 + [0.0] * 3).verdict, active_units([0.0] * 8 + [0.3] * 2).verdict
        ('active', 'collapsed')
    """
    m = np.asarray(marginals, float)[int(n_clamped):]
    k = int(((m > lo) & (m < hi)).sum())
    frac = k / max(len(m), 1)
    verdict = "active" if frac >= target else "collapsed"
    t = {"active": "{k} of {n} free latent units are active ({lo} < ⟨z⟩ < {hi} over the encodings; {pc} %).",
         "collapsed": "Only {k} of {n} free latent units are active ({lo} < ⟨z⟩ < {hi}; {pc} %): the rest are frozen "
                      "at 0 or 1 — latent collapse."}
    return choose("active_units", verdict, t, k=k, n=len(m), lo=fmt(lo), hi=fmt(hi), pc=fmt(100 * frac, digits=2))
