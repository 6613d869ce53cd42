"""Report 03's take-aways follow the comparison table: numbers that flip a verdict change the sentence."""
from __future__ import annotations

from calolib.reports.takeaways.evaluate import evaluate_takeaways, floor_verdict, metric_winner, rbm_verdict


def _nums(rbm, bern, gauss, floor, err=0.1):
    return {"fpd": {"rbm": (rbm, err), "bernoulli": (bern, err), "gaussian": (gauss, err), "floor": (floor, err)}}


def test_winner_sole_tie_and_single():
    t = metric_winner(_nums(1.0, 2.0, 3.0, 0.5), "fpd", labels={"fpd": "FPD"})
    assert t.verdict == "sole" and t.text.startswith("FPD: rbm is best") and "next bernoulli" in t.text
    t = metric_winner(_nums(1.0, 1.1, 3.0, 0.5), "fpd")  # 1.0 vs 1.1 with errors 0.1: consistent
    assert t.verdict == "tie" and "no clear winner" in t.text and "bernoulli" in t.text and "gaussian" not in t.text
    t = metric_winner(_nums(1.0, 1.1, 3.0, 0.5, err=0.001), "fpd")  # same numbers, small errors: a winner
    assert t.verdict == "sole"
    t = metric_winner({"fpd": {"rbm": (2.0, 0.1), "floor": (1.0, 0.1)}}, "fpd")
    assert t.verdict == "single" and "only rbm" in t.text


def test_rbm_verdict_says_when_the_rbm_does_not_win():
    wins = rbm_verdict(_nums(1.0, 2.0, 3.0, 0.5), metrics=["fpd"])
    assert wins.verdict == "wins_all" and wins.text == "The RBM prior wins on fpd."
    loses = rbm_verdict(_nums(3.0, 2.0, 1.0, 0.5), metrics=["fpd"])
    assert loses.verdict == "loses_all" and "does not win on fpd (best: gaussian)" in loses.text
    ties = rbm_verdict(_nums(1.0, 1.05, 3.0, 0.5), metrics=["fpd"])
    assert ties.verdict == "mixed" and "ties for best on fpd" in ties.text
    both = {**_nums(1.0, 2.0, 3.0, 0.5), "kpd": {"rbm": (5.0, 0.1), "gaussian": (1.0, 0.1)}}
    t = rbm_verdict(both, metrics=["fpd", "kpd"], labels={"kpd": "KPD"})
    assert t.verdict == "mixed" and t.text == "The RBM prior wins on fpd; it does not win on KPD (best: gaussian)."
    assert rbm_verdict({"fpd": {"rbm": (1.0, 0.1)}}, metrics=["fpd"]).verdict == "no_controls"


def test_floor_verdict_all_some_none():
    nums = {"fpd": {"rbm": (1.05, 0.1), "floor": (1.0, 0.1)}, "kpd": {"rbm": (0.2, 0.1), "floor": (0.1, 0.1)}}
    assert floor_verdict(nums, "rbm", ["fpd", "kpd"]).verdict == "all"
    nums["kpd"]["rbm"] = (3.0, 0.1)
    t = floor_verdict(nums, "rbm", ["fpd", "kpd"])
    assert t.verdict == "some" and "not on kpd (3.00 ± 0.10 vs 0.10 ± 0.10)" in t.text
    nums["fpd"]["rbm"] = (9.0, 0.1)
    t = floor_verdict(nums, "rbm", ["fpd", "kpd"])
    assert t.verdict == "none" and "largest excess: kpd" in t.text  # 3.0/0.1 beats 9.0/1.0
    assert floor_verdict({"fpd": {"rbm": (1.0, 0.1)}}, "rbm", ["fpd"]).verdict == "no_floor"


def test_evaluate_takeaways_lists_every_model():
    keys = [t.key for t in evaluate_takeaways(_nums(1.0, 2.0, 3.0, 0.5), metrics=["fpd", "missing"])]
    assert keys == ["winner_fpd", "rbm_verdict", "floor_rbm", "floor_bernoulli", "floor_gaussian"]
