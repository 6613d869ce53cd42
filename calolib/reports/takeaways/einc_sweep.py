"""Take-aways of the E′ sweep report (06, seed 003): which decoder energy each criterion wants.

The numbers are :meth:`calolib.diagnostics.EincSweep.stats` per criterion: the median of argmin E′ / E_inc over
interior minima with a bootstrap interval, and the fractions of argmins on the grid edges (not minima).

Example:
    >>> st = {"median_ratio": 7.1, "lo": 6.5, "hi": 7.8, "n_interior": 420, "n_events": 500,
    ...       "frac_low_edge": 0.0, "frac_high_edge": 0.16}
    >>> direction("sparsity", st).verdict
    'larger'
"""
from __future__ import annotations

import math

from calolib.reports.takeaways import Takeaway, beside_seed, choose, fmt

__all__ = ["SEED_003", "direction", "seed_003_directions", "edges", "energy_owner", "seed_003_sparsity"]

#: Seed 003's finding on the decoder-energy sweep, quoted beside this run's own.
SEED_003 = "in all models the energy criterion wants a larger E′ than the true E_inc, the sparsity criterion a smaller one."

_NAMES = {"mse": "the MSE", "energy": "the energy criterion", "sparsity": "the sparsity criterion"}


def __dir__():
    return __all__


def direction(criterion: str, st: dict, *, tol: float = 0.1, max_edge: float = 0.5) -> Takeaway:
    """Which E′ a criterion wants, from the median of argmin E′ / E_inc over interior minima and its 68 % interval.

    ``"larger"`` / ``"smaller"``: the interval excludes 1 and the median is beyond 1 ± ``tol``;
    ``"slightly_larger"`` / ``"slightly_smaller"``: the interval excludes 1 but the shift is below ``tol``;
    ``"faithful"``: the interval contains 1; ``"edge"``: more than ``max_edge`` of the argmins sit on the grid
    edge (no minimum in range), with the side they pile up on.

    Example:
        >>> st = {"median_ratio": 1.02, "lo": 0.98, "hi": 1.05, "n_interior": 480, "n_events": 500,
        ...       "frac_low_edge": 0.01, "frac_high_edge": 0.03}
        >>> direction("energy", st).verdict
        'faithful'
    """
    low, high = st["frac_low_edge"], st["frac_high_edge"]
    med, lo, hi = st["median_ratio"], st["lo"], st["hi"]
    if low + high > max_edge or not math.isfinite(med):
        verdict = "edge"
    elif lo > 1:
        verdict = "larger" if med > 1 + tol else "slightly_larger"
    elif hi < 1:
        verdict = "smaller" if med < 1 / (1 + tol) else "slightly_smaller"
    else:
        verdict = "faithful"
    name = _NAMES.get(criterion, criterion)
    numbers = "median argmin E′ / E_inc = {m} (68 % interval {lo}–{hi}, {k} interior minima of {n})"
    side = ("it keeps improving towards larger E′" if high > low else "it keeps improving towards smaller E′")
    t = {"larger": "{N} wants a larger E′ than the true E_inc: " + numbers + ".",
         "smaller": "{N} wants a smaller E′ than the true E_inc: " + numbers + ".",
         "slightly_larger": "{N} wants a slightly larger E′ than the true E_inc (by less than {pt} %): " + numbers + ".",
         "slightly_smaller": "{N} wants a slightly smaller E′ than the true E_inc (by less than {pt} %): " + numbers + ".",
         "faithful": "{N} is minimised at the true E_inc within errors: " + numbers + ".",
         "edge": "{N} has no minimum inside the grid for {pc} % of the events (argmin on the edge: {pl} % low, "
                 "{ph} % high) — {side}, beyond the range swept."}
    return choose(f"direction_{criterion}", verdict, t, N=name[0].upper() + name[1:], m=fmt(med, digits=2),
                  lo=fmt(lo, digits=2), hi=fmt(hi, digits=2), k=st["n_interior"], n=st["n_events"],
                  pt=fmt(100 * tol), pc=fmt(100 * (low + high), digits=2), pl=fmt(100 * low, digits=2),
                  ph=fmt(100 * high, digits=2), side=side)


def seed_003_directions(stats: dict[str, dict], **kw) -> Takeaway:
    """This model's energy and sparsity directions in one sentence, with seed 003's finding quoted beside it.

    Example:
        >>> a = {"median_ratio": 1.6, "lo": 1.5, "hi": 1.7, "n_interior": 400, "n_events": 500, "frac_low_edge": 0.0,
        ...      "frac_high_edge": 0.0}
        >>> b = dict(a, median_ratio=7.0, lo=6.5, hi=7.5)
        >>> seed_003_directions({"energy": a, "sparsity": b}).verdict
        'energy_larger_sparsity_larger'
    """
    e, s = direction("energy", stats["energy"], **kw), direction("sparsity", stats["sparsity"], **kw)
    agrees = e.verdict in ("larger", "slightly_larger") and s.verdict in ("smaller", "slightly_smaller")
    verdict = f"energy_{e.verdict}_sparsity_{s.verdict}"
    own = Takeaway("seed_003_directions", verdict, f"{e.text} {s.text} " + (
        "So this model shows the same competition between the energy and the hits as seed 003." if agrees else
        "So this model does not show the competition seed 003 saw."),
        {"energy": e.numbers, "sparsity": s.numbers, "agrees_with_seed": agrees})
    return beside_seed("003", SEED_003, own)


def seed_003_sparsity(stats: dict[str, dict], **kw) -> Takeaway:
    """The factorised model's version of :func:`seed_003_directions`: only the sparsity direction is the decoder's
    (the energy is the flow's), quoted beside seed 003's finding.

    Example:
        >>> a = {"median_ratio": 0.5, "lo": 0.4, "hi": 0.6, "n_interior": 400, "n_events": 500, "frac_low_edge": 0.0,
        ...      "frac_high_edge": 0.0}
        >>> seed_003_sparsity({"sparsity": a}).verdict
        'smaller'
    """
    sp = direction("sparsity", stats["sparsity"], **kw)
    own = Takeaway("seed_003_directions", sp.verdict, sp.text + " (The energy is the flow's here, so the energy/hits "
                   "competition of seed 003 cannot arise in this decoder.)", {"sparsity": sp.numbers})
    return beside_seed("003", SEED_003, own)


def edges(stats: dict[str, dict]) -> Takeaway:
    """How many argmins sit on the grid edges (flagged, not counted as minima), per criterion.

    Example:
        >>> st = {"frac_low_edge": 0.0, "frac_high_edge": 0.0}
        >>> edges({"mse": st, "energy": st}).verdict
        'none'
    """
    parts = [f"{c}: {fmt(100 * (v['frac_low_edge'] + v['frac_high_edge']), digits=2)} %" for c, v in stats.items()
             if v["frac_low_edge"] + v["frac_high_edge"] > 0]
    verdict = "some" if parts else "none"
    t = {"some": "Argmins on the first or last grid point are flagged and left out of the medians (no minimum inside the "
                 "grid): {p}.",
         "none": "Every criterion has its minimum inside the grid for every event."}
    return choose("edges", verdict, t, p="; ".join(parts))


def energy_owner(factorised: bool) -> Takeaway:
    """Who sets the shower's energy: in the factorised model the layer-energy flow does (its layer energies are
    held at the event's true ones here, so the energy criterion cannot depend on E′); otherwise the decoder.

    Example:
        >>> energy_owner(True).verdict, energy_owner(False).verdict
        ('flow', 'decoder')
    """
    return choose("energy_owner", "flow" if factorised else "decoder", {
        "flow": "In this factorised model the layer energies come from the energy flow and are held at each event's "
                "true values while E′ varies, so the total energy is the flow's (up to voxels dropped at the readout "
                "threshold) and the energy criterion is not used; only the MSE and sparsity criteria measure the "
                "shape decoder's use of E′.",
        "decoder": "The decoder sets the shower's energy itself, so all three criteria measure its use of E′."})
