"""Take-aways of the training report (02) and of every report that loads ``best.pt``: which epoch it is and why.

:func:`best_checkpoint` reads the run's ``best.pt`` (and ``last.pt``) and recomputes the selection from the
history stored in the file — training keeps the epoch with the lowest validation AHEP = AE + Hits + Ent + Pos
among the epochs of the training stage that epoch belongs to (two-stage runs compare only within the final
stage) — so the sentence says what the file holds, not what the code is supposed to do.

Example:
    >>> info = {"best_epoch": 12, "last_epoch": 15, "criterion": "val_ahep", "best_value": 1851.4, "stage": "joint",
    ...         "stage_first": 1, "stage_last": 15, "stage_min": 1851.4, "last_value": 1853.0, "run": "quick"}
    >>> best_epoch(info).verdict
    'earlier'
"""
from __future__ import annotations

import math
from pathlib import Path

from calolib.reports.takeaways import Takeaway, choose, compare, fmt

__all__ = ["best_checkpoint", "best_epoch", "loss_drop", "ll_trend", "latent_activity"]


def __dir__():
    return __all__


def best_checkpoint(run_dir: str | Path) -> dict:
    """Which epoch ``best.pt`` holds and the numbers of its selection, read from the checkpoint files.

    Returns ``{"best_epoch", "last_epoch", "criterion", "best_value", "stage", "stage_first", "stage_last",
    "stage_min", "last_value", "run", "path"}`` (values from the history in ``best.pt`` / ``last.pt``).
    ``run_dir`` may also be a ``.pt`` file (then ``last.pt`` is looked for next to it).
    """
    from calolib.training.checkpoint import read_checkpoint

    p = Path(run_dir)
    best_path = p if p.suffix == ".pt" else p / "best.pt"
    last_path = best_path.parent / "last.pt"
    best = read_checkpoint(best_path)
    last = read_checkpoint(last_path) if last_path.is_file() and last_path != best_path else best
    hist = [r for r in last.get("history", best["history"]) if r.get("epoch", 0) >= 1]
    epoch = int(best["epoch"])
    row = next((r for r in hist if int(r["epoch"]) == epoch), {})
    stage = row.get("stage", "")
    # the factorised model selects on val_select = AHEP + the energy flow's NLL; older runs on val_ahep
    key = "val_select" if "val_select" in row else "val_ahep"
    in_stage = [r for r in hist if r.get("stage", "") == stage and r.get(key) is not None]
    return {"best_epoch": epoch, "last_epoch": int(last["epoch"]), "criterion": key,
            "best_value": float(row.get(key, best.get("best_val", math.nan))), "stage": stage,
            "stage_first": min((int(r["epoch"]) for r in in_stage), default=epoch),
            "stage_last": max((int(r["epoch"]) for r in in_stage), default=epoch),
            "stage_min": min((float(r[key]) for r in in_stage), default=math.nan),
            "last_value": float(hist[-1].get(key, math.nan)) if hist else math.nan,
            "run": best_path.parent.name, "path": str(best_path)}


def best_epoch(info: dict) -> Takeaway:
    """The sentence for :func:`best_checkpoint`'s numbers: which epoch, by which criterion and value.

    Example:
        >>> info = {"best_epoch": 15, "last_epoch": 15, "criterion": "val_ahep", "best_value": 1851.4, "stage": "joint",
        ...         "stage_first": 1, "stage_last": 15, "stage_min": 1851.4, "last_value": 1851.4, "run": "quick"}
        >>> best_epoch(info).verdict
        'last'
    """
    b, last = int(info["best_epoch"]), int(info["last_epoch"])
    stage = f" of the {info['stage']!s} stage (epochs {info['stage_first']}–{info['stage_last']})" if info.get("stage") else ""
    is_min = math.isclose(float(info["best_value"]), float(info["stage_min"]), rel_tol=1e-9, abs_tol=1e-9)
    verdict = "mismatch" if not is_min else ("last" if b == last else "earlier")
    flow = info.get("criterion") == "val_select"
    name = "AHEP + flow NLL" if flow else "AHEP"
    crit = name + (" (AE + Hits + Ent + Pos + the layer-energy flow's NLL" if flow else " (AE + Hits + Ent + Pos")
    t = {"last": "best.pt of run {run} is epoch {b} of {n}, the last one: it has the lowest validation {crit} "
                 "= {v}) among the epochs{stage} — the model was still improving when training stopped.",
         "earlier": "best.pt of run {run} is epoch {b} of {n}: it has the lowest validation {crit} "
                    "= {v}) among the epochs{stage}; the last epoch reached {vl}.",
         "mismatch": "best.pt of run {run} is epoch {b} of {n} (validation {name} {v}), but the lowest {name} among "
                     "the epochs{stage} is {vm}: the file was not chosen by the {name} criterion."}
    return choose("best_epoch", verdict, t, crit=crit, name=name, run=str(info.get("run", "")), b=b, n=last,
                  v=fmt(info["best_value"], digits=5),
                  vl=fmt(info["last_value"], digits=5), vm=fmt(info["stage_min"], digits=5), stage=stage)


def loss_drop(first: float, last: float, *, term: str = "AE", rel_tol: float = 0.02) -> Takeaway:
    """Did validation ``term`` fall from the untrained model (``first``) to the last epoch (``last``)?

    Example:
        >>> loss_drop(5457.0, 717.6).verdict, loss_drop(700.0, 710.0).verdict
        ('fell', 'flat')
    """
    verdict = {"lower": "fell", "higher": "rose", "consistent": "flat"}.get(
        compare(last, first, rel_tol=rel_tol), "unknown")
    t = {"fell": "Validation {term} fell from {a} (untrained) to {b}, a factor {r}.",
         "rose": "Validation {term} rose from {a} (untrained) to {b}: training made it worse.",
         "flat": "Validation {term} barely moved ({a} untrained, {b} at the end).",
         "unknown": "Validation {term} is not finite."}
    r = first / last if last else math.inf
    return choose("loss_drop", verdict, t, term=term, a=fmt(first, digits=4), b=fmt(last, digits=4), r=fmt(r, digits=3))


def ll_trend(history, key: str = "rbm_ll_ais") -> Takeaway:
    """How the prior's LL of the validation encodings moved over the epochs (first vs last recorded value).

    Example:
        >>> ll_trend([{"epoch": 1, "rbm_ll_ais": -60.0}, {"epoch": 4, "rbm_ll_ais": -47.0}]).verdict
        'rose'
    """
    pts = [(int(r["epoch"]), float(r[key]), float(r.get(f"{key}_err") or 0.0)) for r in history
           if r.get(key) not in (None, "") and math.isfinite(float(r[key]))]
    if len(pts) < 2:
        return choose("ll_trend", "unknown", {"unknown": "The prior's LL was recorded at fewer than two epochs."})
    (e0, a, ea), (e1, b, eb) = pts[0], pts[-1]
    verdict = {"higher": "rose", "lower": "fell", "consistent": "flat"}.get(compare(b, a, err_a=eb, err_b=ea), "unknown")
    t = {"rose": "The prior's LL of the validation encodings rose from {a} (epoch {e0}) to {b} (epoch {e1}) nats per event.",
         "fell": "The prior's LL of the validation encodings fell from {a} (epoch {e0}) to {b} (epoch {e1}) nats per event: "
                 "the encodings moved faster than the prior could follow.",
         "flat": "The prior's LL of the validation encodings stayed at {b} nats per event (epoch {e0}: {a}).",
         "unknown": "The prior's LL is not finite."}
    return choose("ll_trend", verdict, t, a=fmt(a, digits=4), b=fmt(b, digits=4), e0=e0, e1=e1)


def latent_activity(history, *, target: float = 0.7) -> Takeaway:
    """How many free latent units the final model uses (validation encodings: mean activation in (0.01, 0.99),
    or ``Var[mu] > 0.01`` for Gaussian latents), against ``target``; verdicts ``"used"`` / ``"collapsed"``.

    Example:
        >>> h = [{"epoch": 0, "val_active_units": 96, "val_active_fraction": 1.0},
        ...      {"epoch": 1, "val_active_units": 12, "val_active_fraction": 0.125}]
        >>> latent_activity(h).verdict
        'collapsed'
    """
    rows = [r for r in history if r.get("val_active_fraction") is not None and int(r.get("epoch", 0)) >= 1]
    if not rows:
        return choose("latent_activity", "unknown", {"unknown": "Latent usage was not recorded for this run."})
    last = rows[-1]
    n, f = int(last["val_active_units"]), float(last["val_active_fraction"])
    total = round(n / f) if f > 0 else n
    low = min(rows, key=lambda r: float(r["val_active_fraction"]))
    return choose("latent_activity", "used" if f >= target else "collapsed", {
        "used": "The final model uses {n} of its {total} free latent units ({pct}; at least {tgt} wanted); the fewest "
                "in any epoch was {low_n} (epoch {low_e}).",
        "collapsed": "Only {n} of the {total} free latent units are active at the end ({pct}, below {tgt}): the "
                     "encodings are partly collapsed (fewest: {low_n} at epoch {low_e})."},
        n=n, total=total, pct=f"{100 * f:.0f} %", tgt=f"{100 * target:.0f} %", low_n=int(low["val_active_units"]),
        low_e=int(low["epoch"]))
