"""evaluate(): a distorted copy scores worse than an independent sample of the same simulation."""
import json

import numpy as np
import pytest
import torch

from calolib.errors import CalolibError
from calolib.metrics import ClassifierConfig, EvaluateConfig, Report, evaluate
from calolib.showers import Showers
from calolib.synthetic import simulate


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def samples():
    ref = simulate(500, "ds1-photons", seed=0)
    same = simulate(500, "ds1-photons", seed=1)
    # distortion: every voxel ×1.3 and energy moved from the first to the last active layer
    s = same.showers.copy() * 1.3
    g = same.geometry
    first, last = g.layer_slices[g.active_layers[1]], g.layer_slices[g.active_layers[-1]]
    moved = 0.3 * s[:, first].sum(1)
    s[:, first] *= 0.7
    s[:, last] += moved[:, None] / (last.stop - last.start)
    return ref, same, Showers(same.energies, s, g)


CFG = EvaluateConfig(bins=20, fpd_bootstrap=5, kpd_batches=5, kpd_batch_size=250,
                     classifier=ClassifierConfig(epochs=8, batch_size=128))


def test_distorted_copy_scores_worse(samples):
    ref, same, distorted = samples
    r0 = evaluate(same, ref, config=CFG)
    r1 = evaluate(distorted, ref, config=CFG)
    s0, s1 = r0.summary, r1.summary
    assert s1["sep_power_mean"] > 3 * s0["sep_power_mean"]
    assert s1["fpd"] > s0["fpd"] + 5 * max(s0["fpd_err"], s1["fpd_err"])
    assert s1["kpd"] > s0["kpd"] + 3 * max(s0["kpd_err"], s1["kpd_err"])
    for k in ("auc_low", "auc_high"):
        assert abs(s0[k] - 0.5) < 5 * s0[f"{k}_err"] + 0.05
        assert s1[k] > 0.9
    assert s1["frobenius"] > s0["frobenius"]
    assert s1["resolution_gen"]["response"] == pytest.approx(1.3 * s0["resolution_gen"]["response"], rel=0.01)
    names = {row["name"] for row in r1.rows}
    assert {"e_ratio", "e_total", "e_layer_1"} <= names
    e_ratio = next(r for r in r1.rows if r["name"] == "e_ratio")
    assert e_ratio["separation_power"] > 0.5  # 30 % more energy: the E_total/E_inc peaks barely overlap


def test_report_serialisation_and_threshold(samples, tmp_path):
    ref, same, _ = samples
    r = evaluate(same, ref, classifier=False, config=CFG)
    assert "auc_low" not in r.summary and r.summary["threshold_mev"] == pytest.approx(1.0)
    data = json.loads(r.to_json(tmp_path / "sub" / "report.json").read_text())
    assert data["summary"]["n_gen"] == 500 and len(data["features"]) == len(r.rows)
    md = r.to_markdown(top=3)
    assert md.startswith("| metric | value |") and md.count("\n| ") >= 3 + 5
    # voxels below the 1 MeV ds1 threshold do not change anything once the threshold is applied
    noisy = Showers(same.energies, same.showers + 0.5 * (same.showers == 0), same.geometry)
    r2 = evaluate(noisy, ref, classifier=False, config=CFG)
    assert r2.summary["fpd"] == pytest.approx(r.summary["fpd"], rel=1e-9)
    r3 = evaluate(noisy, ref, classifier=False, threshold=False, config=CFG)
    assert r3.summary["sep_power_max"] > r.summary["sep_power_max"]
    assert isinstance(r3, Report) and r3.summary["threshold_mev"] is None


def test_bad_inputs(samples):
    ref, _, _ = samples
    with pytest.raises(CalolibError):
        evaluate(ref.showers, ref)
    with pytest.raises(CalolibError):
        evaluate(simulate(10, "ds1-pions", seed=0), ref, classifier=False)
