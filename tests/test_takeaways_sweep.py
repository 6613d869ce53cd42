"""The sweep report's sentences change with the numbers (calolib.reports.takeaways.sweep)."""
from __future__ import annotations

import math

import numpy as np
import pytest

from calolib.reports.takeaways.sweep import (best_configuration, best_table, completion, headline, seed_spread,
                                             seed_vs_eval_error)
from calolib.sweep import METRICS, summarise


def _summary(per_config: dict[str, list[float]], metric: str = "fpd") -> list[dict]:
    pts = [{"id": f"{c}__seed={i}", "config_id": c, "seed": i, "values": {}, "status": "done",
            "metrics": {metric: v}} for c, vs in per_config.items() for i, v in enumerate(vs)]
    return summarise(pts)


def test_best_configuration_resolved_vs_within_noise():
    far = best_configuration(_summary({"fcn": [5.0, 5.2, 5.1], "cnn": [1.0, 1.1, 0.9]}), "fpd", "FPD")
    assert far.verdict == "resolved" and far.text.startswith("Lowest FPD: cnn")
    assert "runner-up fcn" in far.text and "beyond seed noise" in far.text
    close = best_configuration(_summary({"fcn": [1.0, 3.0, 2.0], "cnn": [1.5, 2.5, 1.6]}), "fpd", "FPD")
    assert close.verdict == "within_noise" and "cnn" in close.text.split(";")[0]
    # the standard error used is std/sqrt(n) of each configuration
    s = _summary({"a": [1.0, 2.0], "b": [3.0, 4.0]})
    err = math.hypot(np.std([1, 2], ddof=1) / math.sqrt(2), np.std([3, 4], ddof=1) / math.sqrt(2))
    t = best_configuration(s, "fpd", "FPD")
    assert t.numbers["sigmas"] == f"{2.0 / err:.2g}" and t.verdict == "resolved"  # 2.0 / 0.707 = 2.8 sigma


def test_best_configuration_higher_is_better_and_degenerate_cases():
    hi = best_configuration(_summary({"a": [0.6, 0.61], "b": [0.9, 0.91]}, "x"), "x", "score", better="higher")
    assert hi.text.startswith("Highest score: b")
    assert best_configuration(_summary({"a": [1.0], "b": [2.0]}), "fpd", "FPD").verdict == "no_error"
    assert best_configuration(_summary({"a": [1.0, 2.0]}), "fpd", "FPD").verdict == "single"
    assert best_configuration([], "fpd", "FPD").verdict == "no_data"


def test_seed_spread_flips_with_the_between_configuration_spread():
    noise = seed_spread(_summary({"a": [1.0, 2.0], "b": [1.4, 2.2], "c": [1.2, 1.9]}), "fpd", "FPD")
    assert noise.verdict == "noise" and "retraining with another seed" in noise.text
    differ = seed_spread(_summary({"a": [1.0, 1.1], "b": [5.0, 5.1], "c": [9.0, 9.2]}), "fpd", "FPD")
    assert differ.verdict == "differ" and "beyond what the seeds alone produce" in differ.text
    # pooled std: sqrt(mean of the within-configuration variances) for equal seed counts
    pooled = math.sqrt(np.mean([np.var(v, ddof=1) for v in ([1.0, 1.1], [5.0, 5.1], [9.0, 9.2])]))
    assert differ.numbers["pooled"] == pytest.approx(pooled)
    assert seed_spread(_summary({"a": [1.0], "b": [2.0]}), "fpd", "FPD").verdict == "insufficient"
    assert seed_spread(_summary({"a": [1.0, 1.2]}), "fpd", "FPD").verdict == "single"


def test_completion_and_best_table_and_headline():
    assert completion([{"id": "a", "status": "done"}]).text == "All 1 points finished."
    t = completion([{"id": "a", "status": "done"}, {"id": "b", "status": "failed", "error": "KilledWorker: x"}])
    assert t.verdict == "failures" and "b — KilledWorker: x" in t.text
    s = summarise([{"id": f"{c}{i}", "config_id": c, "seed": i, "values": {}, "status": "done",
                    "metrics": {"fpd": f, "auc_high": a}}
                   for c, f, a in (("x", 1.0, 0.9), ("y", 2.0, 0.7)) for i in (0, 1)])
    rows = {r["metric"]: r for r in best_table(s, METRICS)}
    assert rows["fpd"]["config_id"] == "x" and rows["auc_high"]["config_id"] == "y"  # AUC: lower is better
    h = headline(s, METRICS)
    assert h["FPD (calolib extra: 271 standardised features), best mean: x"] == {"value": 1.0, "err": 0.0}  # identical seeds: std 0


def test_seed_scatter_against_the_evaluation_error_flips_with_the_numbers():
    def summary(fpd, errs):
        pts = [{"id": f"a{i}", "config_id": "a", "seed": i, "values": {}, "status": "done",
                "metrics": {"fpd": v, "fpd_err": e}} for i, (v, e) in enumerate(zip(fpd, errs))]
        return summarise(pts)

    big = seed_vs_eval_error(summary([54.7, 46.4], [1.2, 1.5]), "fpd", "fpd_err", "FPD")
    assert big.verdict == "seed_dominates" and "understates" in big.text
    assert big.numbers["pooled"] == pytest.approx(np.std([54.7, 46.4], ddof=1))
    assert big.numbers["eval_err"] == pytest.approx(1.35)
    assert seed_vs_eval_error(summary([50.0, 51.0], [1.0, 1.0]), "fpd", "fpd_err", "FPD").verdict == "comparable"
    small = seed_vs_eval_error(summary([50.0, 50.1], [1.0, 1.0]), "fpd", "fpd_err", "FPD")
    assert small.verdict == "eval_dominates" and "limits the precision" in small.text
    assert seed_vs_eval_error(summary([50.0], [1.0]), "fpd", "fpd_err", "FPD").verdict == "insufficient"
