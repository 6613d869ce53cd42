"""Take-aways of the prior-control trainings (report 02_controls): the RBM prior beside the Bernoulli and
Gaussian controls trained with the same networks, data and schedule.

Only quantities that mean the same for every prior are compared: the reconstruction terms (AE, Hits; per
event, validation split) and the latent usage (active units).  The KL terms are not: the RBM's
``ent + pos - neg`` omits ``ln Z``, while the controls' is the exact KL.

Example:
    >>> rows = {"rbm": {"val_ae": 250.0, "val_hits": 1200.0, "val_active_fraction": 0.8},
    ...         "gaussian": {"val_ae": 260.0, "val_hits": 1210.0, "val_active_fraction": 0.5}}
    >>> reconstruction_ranking(rows).verdict
    'rbm'
"""
from __future__ import annotations

from calolib.reports.takeaways import Takeaway, choose, fmt

__all__ = ["reconstruction_ranking", "latent_usage"]


def __dir__():
    return __all__


def reconstruction_ranking(rows: dict[str, dict], *, rel_tol: float = 0.01) -> Takeaway:
    """Which prior's model reconstructs the validation showers best (lowest AE + Hits per event).

    Differences below ``rel_tol`` (relative) of the best value are called a tie (verdict ``"tie"``); otherwise
    the verdict is the winning prior's name.
    """
    score = {p: float(r["val_ae"]) + float(r["val_hits"]) for p, r in rows.items()}
    order = sorted(score, key=score.get)
    best, second = order[0], order[1] if len(order) > 1 else order[0]
    listing = ", ".join(f"{p} {fmt(score[p], digits=4)}" for p in order)
    if len(order) > 1 and score[second] - score[best] <= rel_tol * abs(score[best]):
        return choose("reconstruction", "tie", {"tie": "Reconstruction (validation AE + Hits per event) does not "
                      "separate the priors: {listing} (within {tol} of each other)."},
                      listing=listing, tol=f"{100 * rel_tol:g} %")
    templates = {p: "The {winner} prior's model reconstructs best (validation AE + Hits per event: {listing})."
                 for p in order}
    return choose("reconstruction", best, templates, winner=best, listing=listing)


def latent_usage(rows: dict[str, dict], *, target: float = 0.7) -> Takeaway:
    """How many free latent units each model uses (fraction active on the validation encodings), against the
    ``target`` fraction; verdict ``"all"`` (every prior reaches it), ``"some"`` or ``"none"``."""
    frac = {p: float(r["val_active_fraction"]) for p, r in rows.items()}
    ok = [p for p, f in frac.items() if f >= target]
    listing = ", ".join(f"{p} {100 * f:.0f} %" for p, f in frac.items())
    verdict = "all" if len(ok) == len(frac) else "some" if ok else "none"
    return choose("latent_usage", verdict, {
        "all": "Every model uses at least {target} of its free latent units ({listing}).",
        "some": "Only {ok} reach {target} active free units ({listing}); the others leave units unused.",
        "none": "No model uses {target} of its free latent units ({listing}): the latents are partly collapsed.",
    }, target=f"{100 * target:.0f} %", listing=listing, ok=" and ".join(ok) or "none")
