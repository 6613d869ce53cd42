"""Report 03's take-aways follow the comparison table: numbers that flip a verdict change the sentence."""
from __future__ import annotations

from pathlib import Path

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


def _prior_summary(rbm: tuple[float, float], gauss: tuple[float, float], n: int = 2) -> list[dict]:
    import math

    return [{"config_id": f"prior={p}", "values": {"model.prior": p},
             "fpd_official": {"mean": m, "std": s, "sem": s / math.sqrt(n), "n": n}}
            for p, (m, s) in (("rbm", rbm), ("gaussian", gauss))]


def test_across_seeds_judges_the_ranking_against_the_seed_scatter():
    from calolib.reports.takeaways.evaluate import across_seeds

    # the issue-10 situation: RBM 582 vs Gaussian 623 at one seed, but seeds scatter by ~26
    close = across_seeds(_prior_summary((602.0, 26.4), (630.0, 10.0)), metrics={"fpd_official": "FPD"})
    assert [t.verdict for t in close] == ["within_noise"] and "rbm" in close[0].text and "gaussian" in close[0].text
    # the same means with a tight scatter: resolved, and the winner flips when the means swap
    tight = across_seeds(_prior_summary((602.0, 2.0), (630.0, 2.0)), metrics={"fpd_official": "FPD"})[0]
    assert tight.verdict == "resolved" and tight.numbers["best"] == "rbm"
    swapped = across_seeds(_prior_summary((640.0, 2.0), (630.0, 2.0)), metrics={"fpd_official": "FPD"})[0]
    assert swapped.verdict == "resolved" and swapped.numbers["best"] == "gaussian"
    # the table's single-training winner, judged: not a win / confirmed / overturned
    from calolib.reports.takeaways import Takeaway

    table = [Takeaway("winner_fpd", "sole", "", {"best": "rbm", "winners": ["rbm"]})]
    m = {"fpd_official": "FPD"}
    assert "is not a win across seeds" in across_seeds(_prior_summary((602.0, 26.4), (630.0, 10.0)), metrics=m,
                                                      table=table)[0].text
    assert "confirms the table's single-training winner, rbm" in across_seeds(
        _prior_summary((602.0, 2.0), (630.0, 2.0)), metrics=m, table=table)[0].text
    assert "winner, rbm, is not the winner across seeds" in across_seeds(
        _prior_summary((640.0, 2.0), (630.0, 2.0)), metrics=m, table=table)[0].text
    tie = [Takeaway("winner_fpd", "tie", "", {"best": "rbm", "winners": ["rbm", "gaussian"]})]
    assert "table" not in across_seeds(_prior_summary((602.0, 2.0), (630.0, 2.0)), metrics=m, table=tie)[0].text
    none = across_seeds(None, "no sweep there")
    assert [t.verdict for t in none] == ["one_training"] and "no sweep there" in none[0].text


def test_matching_sweep_accepts_only_the_same_recipe_on_the_same_data(tmp_path):
    import json

    from calolib.sweep import matching_sweep

    run = tmp_path / "run"
    run.mkdir()
    base = {"lr": 0.001, "seed": 0, "log_rbm_ll": True, "model": {"prior": "rbm", "seed": 0, "encoder": "fcn"}}
    (run / "config.json").write_text(json.dumps(base))
    data = tmp_path / "d.h5"
    data.write_bytes(b"")

    def sweep(name: str, *, lr: float = 0.001, data_path=data) -> Path:
        d = tmp_path / name
        pts = []
        for prior, seed in (("rbm", 1), ("gaussian", 0)):
            pid = f"prior={prior}__seed={seed}"
            (d / pid).mkdir(parents=True)
            cfg = {**base, "lr": lr, "seed": seed, "log_rbm_ll": False, "model": {**base["model"], "prior": prior,
                                                                                    "seed": seed}}
            (d / pid / "config.json").write_text(json.dumps(cfg))
            pts.append({"id": pid, "config_id": f"prior={prior}", "seed": seed, "values": {"model.prior": prior},
                        "status": "done", "metrics": {}})
        (d / "sweep.json").write_text(json.dumps({"format": "calolib-sweep", "spec": {}, "data": str(data_path),
                                                  "points": pts, "summary": []}))
        return d

    res, why = matching_sweep(sweep("same"), run, data)
    assert res is not None and why == ""
    res, why = matching_sweep(sweep("other_lr", lr=0.002), run, data)
    assert res is None and "trains differently" in why and "lr" in why
    res, why = matching_sweep(sweep("other_data", data_path=tmp_path / "other.h5"), run, data)
    assert res is None and "another data file" in why
    assert matching_sweep(tmp_path / "nothing", run, data) == (None, "no sweep there")
