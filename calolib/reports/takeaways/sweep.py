"""Take-aways of the sweep report (notebook 11): which configuration is best, and is it more than seed noise?

Every claim reads the per-configuration summary of a sweep (:func:`calolib.sweep.summarise`: mean, sample
std across seeds and the standard error of the mean, sem = std/√n) and picks its sentence from the numbers:

* :func:`best_configuration` — the configuration with the best mean of a metric, and whether the runner-up
  is worse beyond 2 combined standard errors (``resolved``), consistent with it (``within_noise``), or
  whether there is no seed error to judge by (``no_error``: one seed) or nothing to rank (``single``);
* :func:`seed_spread` — the seed-to-seed scatter of a metric (pooled std within configurations) against the
  spread of the configurations' means, as the ratio of the latter to the error of a mean
  (``differ`` above 2, ``noise`` below);
* :func:`seed_vs_eval_error` — the seed-to-seed scatter against the error a single evaluation quotes
  (FPD's bootstrap, the classifier's): whether one training's error bar is honest;
* :func:`completion` — how many points finished, and the first failure's error.

Example:
    >>> s = [{"config_id": "a", "n_done": 2, "fpd": {"mean": 1.0, "std": 0.1, "sem": 0.07, "n": 2}},
    ...      {"config_id": "b", "n_done": 2, "fpd": {"mean": 2.0, "std": 0.1, "sem": 0.07, "n": 2}}]
    >>> best_configuration(s, "fpd", "FPD").verdict
    'resolved'
"""
from __future__ import annotations

import math

from calolib.reports.takeaways import Takeaway, choose, compare, fmt

__all__ = ["best_configuration", "seed_spread", "seed_vs_eval_error", "completion", "best_table", "headline"]


def __dir__():
    return __all__


def _finite(x) -> bool:
    return x is not None and isinstance(x, (int, float)) and math.isfinite(float(x))


def _ranked(summary: list[dict], metric: str, better: str = "lower") -> list[dict]:
    rows = [s for s in summary if metric in s and _finite(s[metric].get("mean"))]
    return sorted(rows, key=lambda s: s[metric]["mean"], reverse=better == "higher")


def best_table(summary: list[dict], metrics: dict) -> list[dict]:
    """Per metric: the best configuration, its mean ± std and n (``metrics``: name -> MetricInfo-like with
    ``label`` and ``better``); metrics no configuration has are left out.

    Example:
        >>> from calolib.sweep import METRICS
        >>> s = [{"config_id": "a", "fpd": {"mean": 2.0, "std": 0.5, "sem": 0.35, "n": 2}}]
        >>> best_table(s, {"fpd": METRICS["fpd"]})[0]["config_id"]
        'a'
    """
    out = []
    for name, info in metrics.items():
        ranked = _ranked(summary, name, getattr(info, "better", "lower"))
        if ranked:
            b = ranked[0][name]
            out.append({"metric": name, "label": info.label, "config_id": ranked[0]["config_id"], "mean": b["mean"],
                        "std": b["std"], "n": b["n"], "runner_up": ranked[1]["config_id"] if len(ranked) > 1 else None})
    return out


def best_configuration(summary: list[dict], metric: str, label: str, *, better: str = "lower") -> Takeaway:
    """Which configuration is best in ``metric`` and whether the runner-up is distinguishable from it.

    Example:
        >>> s = [{"config_id": "a", "fpd": {"mean": 1.0, "std": 0.9, "sem": 0.64, "n": 2}},
        ...      {"config_id": "b", "fpd": {"mean": 1.5, "std": 0.9, "sem": 0.64, "n": 2}}]
        >>> best_configuration(s, "fpd", "FPD").text
        "Lowest FPD: a, 1.00 ± 0.90 (mean ± std over 2 seeds); the runner-up b (1.50 ± 0.90) is consistent with it within the seeds' scatter (difference 0.5, 0.55 standard errors)."
    """
    key = f"best_{metric}"
    ranked = _ranked(summary, metric, better)
    word = "Lowest" if better == "lower" else "Highest"
    if not ranked:
        return choose(key, "no_data", {"no_data": "No finished point has a {label}."}, label=label)
    best = ranked[0]
    b = best[metric]
    nums = dict(label=label, word=word, best=best["config_id"], best_val=_pm(b), n=b["n"])
    if len(ranked) == 1:
        return choose(key, "single", {"single": "{label}: {best_val} for {best} (the only configuration with results)."},
                      **nums)
    second = ranked[1]
    r = second[metric]
    nums.update(second=second["config_id"], second_val=_pm(r), diff=abs(r["mean"] - b["mean"]))
    if not (_finite(b.get("sem")) and _finite(r.get("sem"))):
        return choose(key, "no_error", {
            "no_error": "{word} {label}: {best} ({best_val}), then {second} ({second_val}); with one seed per "
                        "configuration there is no seed-to-seed error, so the ranking is untested."}, **nums)
    err = math.hypot(b["sem"], r["sem"])
    verdict = compare(b["mean"], r["mean"], err_a=b["sem"], err_b=r["sem"], n_sigma=2.0)
    verdict = "within_noise" if verdict == "consistent" else "resolved"
    nums["sigmas"] = fmt(nums["diff"] / err, digits=2) if err > 0 else "∞"
    return choose(key, verdict, {
        "resolved": "{word} {label}: {best}, {best_val} (mean ± std over {n} seeds); the runner-up {second} "
                    "({second_val}) is worse by {diff}, {sigmas} standard errors: a difference beyond seed noise.",
        "within_noise": "{word} {label}: {best}, {best_val} (mean ± std over {n} seeds); the runner-up {second} "
                        "({second_val}) is consistent with it within the seeds' scatter (difference {diff}, "
                        "{sigmas} standard errors).",
    }, **nums)


def _pm(stat: dict) -> str:
    return fmt(stat["mean"], stat["std"]) if _finite(stat.get("std")) and stat["std"] > 0 else fmt(stat["mean"])


def seed_spread(summary: list[dict], metric: str, label: str) -> Takeaway:
    """Seed-to-seed scatter of ``metric`` (pooled std) against the spread of the configurations' means.

    ``ratio = std(config means) / (pooled std / √n_seeds)``: about 1 when the configurations differ no more
    than seed noise makes identical ones differ.

    Example:
        >>> s = [{"config_id": c, "fpd": {"mean": m, "std": 0.5, "sem": 0.35, "n": 2}} for c, m in (("a", 1.0), ("b", 1.2))]
        >>> seed_spread(s, "fpd", "FPD").verdict
        'noise'
    """
    key = f"seed_spread_{metric}"
    rows = [s[metric] for s in summary if metric in s and _finite(s[metric].get("mean"))]
    with_std = [r for r in rows if _finite(r.get("std")) and r["n"] > 1]
    if not with_std:
        return choose(key, "insufficient", {"insufficient": "{label}: no configuration has two finished seeds, so "
                                                            "there is no seed-to-seed scatter to quote."}, label=label)
    dof = sum(r["n"] - 1 for r in with_std)
    pooled = math.sqrt(sum((r["n"] - 1) * r["std"] ** 2 for r in with_std) / dof)
    n_seeds = sum(r["n"] for r in with_std) / len(with_std)
    mean_all = sum(r["mean"] for r in rows) / len(rows)
    rel = pooled / abs(mean_all) if mean_all else math.nan
    nums = dict(label=label, pooled=pooled, rel=fmt(100 * rel, digits=2) + " %" if _finite(rel) else "n/a",
                n=fmt(n_seeds, digits=2))
    if len(rows) < 2:
        return choose(key, "single", {"single": "Seed-to-seed scatter of {label}: {pooled} ({rel} of its value, "
                                                "pooled std over {n} seeds)."}, **nums)
    means = [r["mean"] for r in rows]
    between = math.sqrt(sum((m - mean_all) ** 2 for m in means) / (len(means) - 1))
    err_mean = pooled / math.sqrt(n_seeds)
    ratio = between / err_mean if err_mean > 0 else math.inf
    nums.update(between=between, ratio=fmt(ratio, digits=2))
    verdict = "differ" if ratio > 2 else "noise"
    return choose(key, verdict, {
        "differ": "Seed-to-seed scatter of {label}: {pooled} ({rel} of its value, pooled std over {n} seeds); the "
                  "configurations' means spread by {between}, {ratio}× the error of a mean: the configurations "
                  "differ beyond what the seeds alone produce.",
        "noise": "Seed-to-seed scatter of {label}: {pooled} ({rel} of its value, pooled std over {n} seeds); the "
                 "configurations' means spread by only {between}, {ratio}× the error of a mean: differences this "
                 "small are what retraining with another seed produces.",
    }, **nums)


def seed_vs_eval_error(summary: list[dict], metric: str, err_metric: str, label: str) -> Takeaway:
    """Seed-to-seed scatter of ``metric`` (pooled std over configurations) against the error one evaluation
    quotes for it (the mean of ``err_metric``, e.g. FPD's bootstrap error): is one training's error bar honest?

    ``ratio = pooled std / mean evaluation error``: ``seed_dominates`` above 2, ``eval_dominates`` below 1/2,
    ``comparable`` between.

    Example:
        >>> s = [{"config_id": "a", "fpd": {"mean": 50.0, "std": 6.0, "sem": 4.2, "n": 2},
        ...       "fpd_err": {"mean": 1.5, "std": 0.2, "sem": 0.14, "n": 2}}]
        >>> seed_vs_eval_error(s, "fpd", "fpd_err", "FPD").verdict
        'seed_dominates'
    """
    key = f"seed_vs_eval_{metric}"
    rows = [s for s in summary if metric in s and err_metric in s and _finite(s[metric].get("std"))
            and s[metric]["n"] > 1 and _finite(s[err_metric].get("mean"))]
    if not rows:
        return choose(key, "insufficient", {"insufficient": "{label}: no configuration has two finished seeds and an "
                                                            "evaluation error, so the two cannot be compared."},
                      label=label)
    dof = sum(s[metric]["n"] - 1 for s in rows)
    pooled = math.sqrt(sum((s[metric]["n"] - 1) * s[metric]["std"] ** 2 for s in rows) / dof)
    eval_err = sum(s[err_metric]["mean"] for s in rows) / len(rows)
    ratio = pooled / eval_err if eval_err > 0 else math.inf
    verdict = "seed_dominates" if ratio > 2 else "eval_dominates" if ratio < 0.5 else "comparable"
    return choose(key, verdict, {
        "seed_dominates": "{label} varies from seed to seed by {pooled} (pooled std), {ratio}× the error one "
                          "evaluation quotes ({eval_err}): a single training's error bar understates how far "
                          "another training lands; compare configurations across seeds.",
        "comparable": "{label} varies from seed to seed by {pooled} (pooled std), {ratio}× the error one evaluation "
                      "quotes ({eval_err}): training noise and evaluation noise are of the same size.",
        "eval_dominates": "{label} varies from seed to seed by only {pooled} (pooled std), {ratio}× the error one "
                          "evaluation quotes ({eval_err}): the evaluation, not the training seed, limits the precision.",
    }, label=label, pooled=pooled, eval_err=eval_err, ratio=fmt(ratio, digits=2))


def completion(points: list[dict]) -> Takeaway:
    """How many points finished; names the first failure and its error.

    Example:
        >>> completion([{"id": "a", "status": "done"}, {"id": "b", "status": "failed", "error": "ConfigError: x"}]).text
        '1 of 2 points failed (first: b — ConfigError: x); the summary uses the finished seeds only.'
    """
    n = len(points)
    bad = [p for p in points if p.get("status") != "done"]
    if not bad:
        return choose("completion", "complete", {"complete": "All {n} points finished."}, n=str(n))
    first = bad[0]
    return choose("completion", "failures",
                  {"failures": "{k} of {n} points failed (first: {id} — {error}); the summary uses the finished "
                               "seeds only."},
                  k=str(len(bad)), n=str(n), id=first["id"], error=str(first.get("error") or "unknown error"))


def headline(summary: list[dict], metrics: dict, names=("fpd_official", "fpd", "auc_high", "sep_e_ratio")) -> dict:
    """``{"<label> (best: <config>)": {"value": mean, "err": std}}`` for the report index.

    Example:
        >>> from calolib.sweep import METRICS
        >>> headline([{"config_id": "a", "fpd": {"mean": 2.0, "std": 0.5, "sem": 0.35, "n": 2}}], METRICS, ("fpd",))
        {'FPD (calolib extra: 271 standardised features), best mean: a': {'value': 2.0, 'err': 0.5}}
    """
    out = {}
    for row in best_table(summary, {k: metrics[k] for k in names if k in metrics}):
        err = row["std"] if _finite(row["std"]) else None
        out[f"{row['label']}, best mean: {row['config_id']}"] = {"value": row["mean"], "err": err}
    return out
