"""Take-aways of report 03: which prior wins on which metric, who reaches the floor, and whether the RBM wins.

Input is a plain ``{metric: {column: (value, err)}}`` mapping (e.g. from
:func:`table_numbers` of a :class:`~calolib.metrics.compare.ComparisonTable`), lower = better for every
metric used here (separation powers, FPD, KPD, AUC, JSD).  Verdicts use
:func:`calolib.reports.takeaways.compare` with the errors (2σ):

* :func:`metric_winner`: ``"sole"`` (one model lower than every other), ``"tie"`` (the best is consistent
  with another), ``"single"`` (only one model);
* :func:`floor_verdict`: per model, the metrics on which it is consistent with the floor;
* :func:`rbm_verdict`: "the RBM prior wins / shares / does not win on X", listed per metric;
* :func:`evaluate_takeaways`: all of the above as :class:`~calolib.reports.takeaways.Takeaway` objects.

Example:
    >>> nums = {"fpd": {"rbm": (5.0, 0.5), "gaussian": (9.0, 0.5), "floor": (1.0, 0.1)}}
    >>> metric_winner(nums, "fpd", labels={"fpd": "FPD"}).text
    'FPD: rbm is best (5.00 ± 0.50; next gaussian 9.00 ± 0.50).'
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from calolib.reports.takeaways import Takeaway, choose, compare, fmt

__all__ = ["table_numbers", "metric_winner", "floor_verdict", "rbm_verdict", "evaluate_takeaways", "across_seeds",
           "HEADLINE_METRICS", "SEED_METRICS"]


def __dir__():
    return __all__


FLOOR = "floor"
#: metrics the take-aways talk about, in order (all: lower is better)
HEADLINE_METRICS = ("sep_e_ratio", "sep_sparsity", "sep_mean", "fpd", "kpd", "auc_low", "auc_high", "calolib_auc_low",
                    "calolib_auc_high")

Numbers = Mapping[str, Mapping[str, tuple[float, float]]]


def table_numbers(table) -> tuple[dict, dict]:
    """``({metric: {column: (value, err)}}, {metric: label})`` of a ComparisonTable, in its display scale."""
    nums = {k: {c: table.value(c, k) for c in table.columns} for k in table.metrics}
    labels = {k: i.label for k, i in table.metrics.items()}
    return nums, labels


def _e(x: float) -> float:
    return float(x) if x is not None and math.isfinite(float(x)) else 0.0


def _f(v: tuple[float, float]) -> str:
    return fmt(v[0], v[1] if _e(v[1]) > 0 else None)


def _models(row: Mapping[str, tuple[float, float]]) -> list[str]:
    return [c for c, v in row.items() if c != FLOOR and math.isfinite(float(v[0]))]


def metric_winner(nums: Numbers, metric: str, *, labels: Mapping[str, str] | None = None) -> Takeaway:
    """Which model is best on ``metric``, taking errors into account (see module docstring).

    Example:
        >>> nums = {"auc_low": {"rbm": (0.90, 0.01), "bernoulli": (0.91, 0.01)}}
        >>> metric_winner(nums, "auc_low").verdict
        'tie'
    """
    row = nums[metric]
    name = (labels or {}).get(metric, metric)
    models = sorted(_models(row), key=lambda c: row[c][0])
    if not models:
        return choose(f"winner_{metric}", "none", {"none": "{name}: no model has a value."}, name=name)
    best = models[0]
    if len(models) == 1:
        return choose(f"winner_{metric}", "single", {"single": "{name}: only {best} was evaluated ({v})."},
                      name=name, best=best, v=_f(row[best]))
    tied = [c for c in models[1:] if compare(row[best][0], row[c][0], err_a=_e(row[best][1]), err_b=_e(row[c][1]))
            != "lower"]
    nxt = models[1]
    t = choose(f"winner_{metric}", "tie" if tied else "sole", {
        "sole": "{name}: {best} is best ({v}; next {nxt} {vn}).",
        "tie": "{name}: no clear winner — {best} ({v}) is consistent within errors with {others}.",
    }, name=name, best=best, v=_f(row[best]), nxt=nxt, vn=_f(row[nxt]),
        others=", ".join(f"{c} ({_f(row[c])})" for c in tied))
    return Takeaway(t.key, t.verdict, t.text, {**t.numbers, "winners": [best, *tied]})


def floor_verdict(nums: Numbers, model: str, metrics: Sequence[str] = HEADLINE_METRICS, *,
                  labels: Mapping[str, str] | None = None) -> Takeaway:
    """Whether ``model`` is consistent with the floor (reference 2 vs reference) on each metric.

    Example:
        >>> nums = {"fpd": {"rbm": (1.1, 0.2), "floor": (1.0, 0.2)}, "kpd": {"rbm": (9.0, 0.1), "floor": (0.1, 0.1)}}
        >>> floor_verdict(nums, "rbm", ["fpd", "kpd"]).text
        'rbm is consistent with the same-distribution floor on fpd, but not on kpd (9.00 ± 0.10 vs 0.10 ± 0.10).'
    """
    labels = labels or {}
    have = [m for m in metrics if m in nums and model in nums[m] and FLOOR in nums[m]]
    if not have:
        return choose(f"floor_{model}", "no_floor", {"no_floor": "{model}: no floor to compare with (no second "
                                                                 "reference sample)."}, model=model)
    ok, bad = [], []
    for m in have:
        v, f = nums[m][model], nums[m][FLOOR]
        (ok if compare(v[0], f[0], err_a=_e(v[1]), err_b=_e(f[1])) != "higher" else bad).append(m)
    name = lambda m: labels.get(m, m)  # noqa: E731
    verdict = "all" if not bad else ("none" if not ok else "some")
    worst = max(bad, key=lambda m: nums[m][model][0] / max(abs(nums[m][FLOOR][0]), 1e-300)) if bad else ""
    return choose(f"floor_{model}", verdict, {
        "all": "{model} is consistent with the same-distribution floor on every metric shown ({ok}).",
        "some": "{model} is consistent with the same-distribution floor on {ok}, but not on {bad}.",
        "none": "{model} is above the same-distribution floor on every metric (largest excess: {worst_txt}).",
    }, model=model, ok=", ".join(name(m) for m in ok),
        bad=", ".join(f"{name(m)} ({_f(nums[m][model])} vs {_f(nums[m][FLOOR])})" for m in bad),
        worst_txt=(f"{name(worst)}, {_f(nums[worst][model])} vs {_f(nums[worst][FLOOR])}" if worst else ""))


def rbm_verdict(nums: Numbers, rbm: str = "rbm", metrics: Sequence[str] = HEADLINE_METRICS, *,
                labels: Mapping[str, str] | None = None) -> Takeaway:
    """Where the RBM prior wins, shares the win, or does not win (against the other models, with errors).

    Example:
        >>> nums = {"fpd": {"rbm": (5.0, 0.1), "gaussian": (2.0, 0.1)}, "kpd": {"rbm": (1.0, 0.1), "gaussian": (3.0, 0.1)}}
        >>> t = rbm_verdict(nums, metrics=["fpd", "kpd"])
        >>> t.verdict, t.text
        ('mixed', 'The RBM prior wins on kpd; it does not win on fpd (best: gaussian).')
    """
    labels = labels or {}
    have = [m for m in metrics if m in nums and rbm in _models(nums[m]) and len(_models(nums[m])) > 1]
    if not have:
        return choose("rbm_verdict", "no_controls", {"no_controls": "No control model to compare the RBM prior "
                                                                    "with (prior controls missing)."})
    wins, shares, loses = [], [], []
    for m in have:
        w = metric_winner(nums, m)
        winners = w.numbers.get("winners", [])
        if w.verdict == "sole" and winners[0] == rbm:
            wins.append(m)
        elif rbm in winners:
            shares.append(m)
        else:
            loses.append((m, winners[0]))
    name = lambda m: labels.get(m, m)  # noqa: E731
    parts = []
    if wins:
        parts.append("wins on " + ", ".join(name(m) for m in wins))
    if shares:
        parts.append("ties for best on " + ", ".join(name(m) for m in shares))
    if loses:
        parts.append("does not win on " + ", ".join(f"{name(m)} (best: {b})" for m, b in loses))
    verdict = "wins_all" if len(wins) == len(have) else ("loses_all" if len(loses) == len(have) else "mixed")
    text = "The RBM prior " + "; it ".join(parts) + "."
    return Takeaway("rbm_verdict", verdict, text, {"wins": wins, "ties": shares, "loses": [m for m, _ in loses]})


def evaluate_takeaways(nums: Numbers, *, rbm: str = "rbm", labels: Mapping[str, str] | None = None,
                       metrics: Sequence[str] = HEADLINE_METRICS) -> list[Takeaway]:
    """Winner per metric, the RBM verdict (when controls exist) and the floor verdict per model.

    Example:
        >>> nums = {"fpd": {"rbm": (5.0, 0.5), "floor": (1.0, 0.1)}}
        >>> [t.key for t in evaluate_takeaways(nums, metrics=["fpd"])]
        ['winner_fpd', 'rbm_verdict', 'floor_rbm']
    """
    metrics = [m for m in metrics if m in nums]
    out = [metric_winner(nums, m, labels=labels) for m in metrics]
    models = sorted({c for m in metrics for c in _models(nums[m])}, key=lambda c: (c != rbm, c))
    if rbm in models:
        out.append(rbm_verdict(nums, rbm, metrics, labels=labels))
    out += [floor_verdict(nums, c, metrics, labels=labels) for c in models]
    return out


#: sweep metrics :func:`across_seeds` re-judges (the sweep's names: official FPD x1e3, calolib's classifier AUCs)
SEED_METRICS = {"fpd_official": "FPD ×1e3 (official)", "auc_high": "AUC (features, calolib classifier)",
                "auc_low": "AUC (voxels, calolib classifier)"}


#: the comparison-table metric each sweep metric corresponds to (for the single-training winner)
TABLE_METRIC = {"fpd_official": "fpd", "auc_high": "calolib_auc_high", "auc_low": "calolib_auc_low"}


#: how an across-seeds sentence ends when the table has a sole single-training winner for that metric
_TABLE_WINNER_CLAUSES = {
    "not_a_win": "so the single-training win of {winner} in the table above is not a win across seeds.",
    "confirmed": "this confirms the table's single-training winner, {winner}.",
    "overturned": "the table's single-training winner, {winner}, is not the winner across seeds.",
}


def across_seeds(summary: list[dict] | None, reason: str = "", *, metrics: Mapping[str, str] = SEED_METRICS,
                 prior_key: str = "model.prior", table: Sequence[Takeaway] = ()) -> list[Takeaway]:
    """The table's single-training ranking re-judged across seeds, from a sweep over the prior (its summary).

    Without a sweep (``summary`` None, ``reason`` why) one take-away says the ranking rests on one training per
    prior.  Otherwise, per metric, the best prior over seeds and whether the runner-up is distinguishable from
    it by the seed-to-seed scatter (:func:`calolib.reports.takeaways.sweep.best_configuration`, 2σ on the
    standard errors), configurations named by their prior.  With ``table`` (the table's :func:`metric_winner`
    take-aways) each sentence ends by saying whether the single-training winner of that metric holds across seeds.

    Example:
        >>> s = [{"config_id": "prior=rbm", "values": {"model.prior": "rbm"},
        ...       "fpd_official": {"mean": 600.0, "std": 26.0, "sem": 18.4, "n": 2}},
        ...      {"config_id": "prior=gaussian", "values": {"model.prior": "gaussian"},
        ...       "fpd_official": {"mean": 630.0, "std": 10.0, "sem": 7.1, "n": 2}}]
        >>> [t.verdict for t in across_seeds(s, metrics={"fpd_official": "FPD"})]
        ['within_noise']
        >>> table = [Takeaway("winner_fpd", "sole", "", {"best": "rbm", "winners": ["rbm"]})]
        >>> across_seeds(s, metrics={"fpd_official": "FPD"}, table=table)[0].text.split("; ")[-1]
        'so the single-training win of rbm in the table above is not a win across seeds.'
        >>> across_seeds(None, "no sweep there")[0].verdict
        'one_training'
    """
    from calolib.reports.takeaways.sweep import best_configuration

    if not summary:
        return [choose("across_seeds", "one_training", {
            "one_training": "Each prior above is one training (one seed): the errors are the evaluation's, not "
                            "how far another training lands, so a win here is not yet a win across seeds "
                            "(the seed sweep examples/sweeps/priors.toml was not used: {reason})."},
            reason=reason or "none given")]
    named = [{**s, "config_id": str((s.get("values") or {}).get(prior_key, s["config_id"]))} for s in summary]
    single = {t.key.removeprefix("winner_"): t for t in table if t.key.startswith("winner_")}
    out = []
    for metric, label in metrics.items():
        if not any(metric in s for s in named):
            continue
        t = best_configuration(named, metric, f"{label} across seeds")
        text, nums = t.text, dict(t.numbers)
        w = single.get(TABLE_METRIC.get(metric, metric))
        if w is not None and w.verdict == "sole" and t.verdict in ("within_noise", "resolved"):
            winner = nums["table_winner"] = w.numbers["best"]
            case = ("not_a_win" if t.verdict == "within_noise" else
                    "confirmed" if winner == t.numbers["best"] else "overturned")
            clause = choose(f"across_seeds_{metric}", case, _TABLE_WINNER_CLAUSES, winner=winner)
            text = f"{text[:-1]}; {clause.text}"
        out.append(Takeaway(f"across_seeds_{metric}", t.verdict, text, nums))
    return out
