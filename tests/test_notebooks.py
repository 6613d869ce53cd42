"""Every study notebook runs headless under papermill with the "tiny" preset, and its results.json holds
real numbers.  A tiny dataset and a tiny trained checkpoint are built once per session with the library."""
from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
import pytest

from calolib.reports import PRESETS, run_reports

pytestmark = pytest.mark.notebook

N_EVENTS = 800  # tiny synthetic ds2 file: 400 train (the tiny preset's max_events) + a held-out tail


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory) -> Path:
    from calolib.io import save_showers
    from calolib.synthetic import simulate

    path = tmp_path_factory.mktemp("data") / "tiny_ds2.h5"
    s = simulate(N_EVENTS, geometry="ds2", seed=3)
    save_showers(path, s.energies, s.showers)
    return path


@pytest.fixture(scope="session")
def tiny_run(tiny_data, tmp_path_factory) -> Path:
    """A QVAE trained for the tiny preset's epochs with the tiny preset's config, RBM snapshots included."""
    from calolib.reports.notebook import rbm_snapshot_callback
    from calolib.training import apply_overrides, get_preset, train

    p = PRESETS["tiny"]["02_train"]
    config = apply_overrides(get_preset(p["preset"]), {"epochs": p["epochs"], "max_events": p["max_events"]})
    config = apply_overrides(config, p["overrides"])
    run = tmp_path_factory.mktemp("runs") / "tiny"
    train(config, tiny_data, run, device="cpu", progress=False, callbacks=[rbm_snapshot_callback(run)])
    return run


def _run(name: str, tmp_path: Path, **params) -> dict:
    out = tmp_path / "reports"
    (result,) = run_reports("tiny", only=[name], out_dir=out, params_overrides=params, progress=False)
    assert result.ok, f"{name} failed: {result.error}"
    html = (out / f"{name}.html").read_text()
    assert "<img" in html or "image/png" in html, f"{name} shows no figure"
    assert result.figures, f"{name}: no key figure extracted"
    res = json.loads((out / f"{name}.results.json").read_text())
    if name in TAKEAWAY_REPORTS:  # every claim of the report is a computed take-away, shown on the page
        assert res["takeaways"] and isinstance(res["headline"], dict)
        for t in res["takeaways"]:
            assert t["key"] and t["verdict"] and t["text"].split(" This run: ")[-1][:40] in html.replace("&#x27;", "'")
    return res


def _verdict(res: dict, key: str) -> str:
    return next(t["verdict"] for t in res["takeaways"] if t["key"] == key)


TAKEAWAY_REPORTS = ("02_train", "02_controls", "04_rbm", "05_latent_clustering", "06_einc_sweep", "07_autocorrelation", "08_annealer")


def _file_energies(path: Path) -> np.ndarray:
    with h5py.File(path, "r") as f:
        return np.asarray(f["incident_energies"][:]).ravel()


def test_01_data(tiny_data, tmp_path):
    res = _run("01_data", tmp_path, data_path=str(tiny_data))
    n = PRESETS["tiny"]["01_data"]["n_events"]
    e = _file_energies(tiny_data)[:n]
    assert res["n_events"] == n and res["geometry"] == "ds2" and res["n_voxels"] == 6480
    assert np.isclose(res["e_inc_min_mev"], e.min()) and np.isclose(res["e_inc_max_mev"], e.max())
    assert 0 < res["mean_sparsity"] < 1 and 0 < res["mean_e_ratio"] < 1
    assert res["sparsity_low_e"] > res["sparsity_high_e"]  # low-energy showers are sparser


def test_02_train(tiny_data, tmp_path):
    run_dir = tmp_path / "run"
    res = _run("02_train", tmp_path, data_path=str(tiny_data), run_dir=str(run_dir))
    epochs = PRESETS["tiny"]["02_train"]["epochs"]
    assert res["epochs"] == epochs and res["n_rbm_snapshots"] == epochs
    assert (run_dir / "best.pt").is_file() and (run_dir / "last.pt").is_file()
    assert len((run_dir / "history.csv").read_text().strip().splitlines()) == 1 + epochs + 1  # header, untrained row
    assert res["config"]["model"]["encoder_hidden"] == [64]  # the preset's overrides reached the config
    assert res["val_ae_final"] < res["val_ae_untrained"]  # it learns
    assert res["ll_ais_final"] is not None and res["ll_rais_final"] is not None  # LL per epoch recorded
    assert 0 <= res["sep_e_ratio_final"] <= 1 + 1e-9
    assert res["best"]["best_epoch"] == res["headline"]["best.pt epoch"] and 1 <= res["best"]["best_epoch"] <= epochs


def test_02_controls_then_03_compares_three_priors(tiny_data, tiny_run, tmp_path):
    """The prior controls train with report 02's config next to its run, and report 03 puts all three side by side."""
    import shutil

    run = tmp_path / "tiny"
    shutil.copytree(tiny_run, run)
    res = _run("02_controls", tmp_path, data_path=str(tiny_data), run_dir=str(run))
    assert set(res["final"]) == {"rbm", "bernoulli", "gaussian"}
    for prior in ("bernoulli", "gaussian"):
        assert (tmp_path / f"tiny-{prior}" / "best.pt").is_file()
        assert 0 <= res["final"][prior]["val_active_fraction"] <= 1
    assert {t["key"] for t in res["takeaways"]} == {"reconstruction", "latent_usage"}
    ev = _run("03_evaluate", tmp_path, data_path=str(tiny_data), run_dir=str(run))
    assert ev["models"] == ["rbm", "bernoulli", "gaussian"]
    assert not any("bernoulli" in s or "gaussian" in s for s in ev["skipped"])  # no control missing
    assert ev["comparison"]["columns"] == ["rbm", "bernoulli", "gaussian", "floor"]


def test_03_evaluate(tiny_data, tiny_run, tmp_path):
    res = _run("03_evaluate", tmp_path, data_path=str(tiny_data), run_dir=str(tiny_run))
    n = PRESETS["tiny"]["03_evaluate"]["n_events"]
    assert res["n_ref"] == n and res["n_gen"] == n and res["models"] == ["rbm"]
    assert len(res["skipped"]) >= 2  # no prior-control runs next to the tiny run: both skipped, visibly
    for key in ("sep_power_e_ratio", "sep_power_sparsity", "sep_power_mean"):
        assert 0 <= res[key] <= 1 + 1e-9, key
    assert 0 <= res["auc_low"] <= 1 and 0 <= res["auc_high"] <= 1
    assert res["fpd"] >= 0 and res["frobenius"] >= 0 and res["showers_per_s"] > 0
    assert res["resolution_ref"]["a"] > 0  # the reference showers have a stochastic term
    assert res["comparison"]["columns"] == ["rbm", "floor"]
    assert res["headline"]["FPD (official, ×1e3)"]["value"] == res["fpd"]
    assert res["resolution"]["rbm"] == res["resolution_gen"]  # one fit, reported once
    assert {t["key"] for t in res["takeaways"]} >= {"winner_fpd", "floor_rbm"}
    assert _verdict(res, "across_seeds") == "one_training"  # no seed sweep next to these reports: said so


def test_04_rbm(tiny_data, tiny_run, tmp_path):
    from calolib.training import load_checkpoint

    res = _run("04_rbm", tmp_path, data_path=str(tiny_data), run_dir=str(tiny_run))
    rbm = load_checkpoint(tiny_run).model.rbm
    assert res["rbm_sizes"] == list(rbm.sizes) and res["n_parameters"] == rbm.n_parameters
    assert res["n_snapshots"] == PRESETS["tiny"]["02_train"]["epochs"]
    assert set(res["topologies"]) == {"zephyr", "pegasus"}
    assert all(t["sizes"] == list(rbm.sizes) for t in res["topologies"].values())
    # AIS / RAIS against exact enumeration on the small RBM
    assert abs(res["small_ais_log_z"] - res["small_exact_log_z"]) < 0.15
    assert abs(res["small_rais_log_z"] - res["small_exact_log_z"]) < 0.15
    assert np.isclose(res["ll_ais"] - res["ll_rais"], res["rais_log_z"] - res["ais_log_z"])
    # the conditional prior (code clamped) and the sentence that matches its numbers
    assert res["likelihood_model"] == "conditional p(z ∣ c)"
    d, err = res["rais_log_z"] - res["ais_log_z"], np.hypot(res["ais_err"], res["rais_err"])
    want = "lower" if d > 2 * err else "higher" if d < -2 * err else "consistent"
    assert _verdict(res, "ais_rais_bracket") == want
    assert abs(res["small_conditional"]["ais"] - res["small_conditional"]["exact"]) < 0.15


def test_05_latent_clustering(tiny_data, tiny_run, tmp_path):
    res = _run("05_latent_clustering", tmp_path, data_path=str(tiny_data), run_dir=str(tiny_run))
    p = PRESETS["tiny"]["05_latent_clustering"]
    assert res["n_events"] == p["n_events"] and res["n_groups"] == p["n_groups"] and res["n_repeats"] == p["n_repeats"]
    assert 0 <= res["overlap_score"] <= 1 and 0 <= res["classifier_accuracy"] <= 1
    assert res["chance_accuracy"] >= 1 / p["n_groups"] - 1e-9
    assert len(res["group_mean"]) == p["n_groups"]
    assert res["energy"].startswith("free-unit")  # the clamped code bits are left out of E(z)
    assert res["degenerate"] == (res["excess_overlap"] < res["degenerate_threshold"])
    assert _verdict(res, "degeneracy") == ("degenerate" if res["degenerate"] else "separated")
    assert 1 <= res["median_distinct_codes"] <= p["n_repeats"]


def test_06_einc_sweep(tiny_data, tiny_run, tmp_path):
    res = _run("06_einc_sweep", tmp_path, data_path=str(tiny_data), run_dir=str(tiny_run))
    p = PRESETS["tiny"]["06_einc_sweep"]
    assert res["n_events"] == p["n_events"] and res["n_grid"] == p["n_grid"]
    e = _file_energies(tiny_data)[-p["n_events"]:]
    assert res["invert_with"] == "true"  # MeV criteria use the true E_inc
    for crit in ("mse", "energy", "sparsity"):  # interior argmins E' lie inside the 1 GeV .. 1 TeV grid
        st = res["stats"][crit]
        assert st["n_interior"] + round((st["frac_low_edge"] + st["frac_high_edge"]) * st["n_events"]) == p["n_events"]
        if st["n_interior"]:
            assert 1e3 / e.max() * 0.999 <= res[f"median_ratio_{crit}"] <= 1e6 / e.min() * 1.001, crit


def test_07_autocorrelation(tiny_run, tmp_path):
    res = _run("07_autocorrelation", tmp_path, run_dir=str(tiny_run))
    assert res["cases"] == ["random-full", "zephyr", "zephyr-no-bias", "zephyr-strong", "zephyr-strong-cold",
                            "zephyr-strong-cold-thinned", "trained", "bernoulli"]
    # i.i.d. Bernoulli noise: no autocorrelation, tau_int = 1 within its error
    assert abs(res["tau_bernoulli"] - 1) < 5 * res["tau_err_bernoulli"] + 0.02
    assert abs(res["bernoulli_c1"]) < 0.02
    assert all(res[f"tau_{k}"] >= 0.5 for k in ("random_full", "zephyr", "zephyr_no_bias", "trained"))
    # the colder strongly coupled RBM correlates more than at beta = 1, in m and in E(z)
    hot, cold = res["summaries"]["zephyr-strong"], res["summaries"]["zephyr-strong-cold"]
    assert cold["tau"] > hot["tau"] and cold["tau_energy"] > hot["tau_energy"]
    assert res["summaries"]["zephyr-strong-cold-thinned"]["every"] == PRESETS["tiny"]["07_autocorrelation"]["thin_every"]


def test_08_annealer(tmp_path):
    res = _run("08_annealer", tmp_path)
    n = PRESETS["tiny"]["08_annealer"]["n_per_partition"]
    assert res["n_units"] == 4 * n and res["samplers"] == ["exact", "gibbs", "sa", "pimc", "mock-qpu"]
    # exact samples are at beta = 1: every estimator agrees within its error
    for m in ("mpl", "moments"):
        assert abs(res[f"beta_{m}_exact"] - 1) < 4 * res[f"beta_err_{m}_exact"] + 0.05, m
    # the mock QPU ends colder than the RBM; whether reweighting helped is said by the numbers, not assumed
    assert res["beta_mpl_mock_qpu"] > 1.5
    e = res["effects"]["mock-qpu"]
    v = _verdict(res, "reweighting_mock-qpu")
    assert v in ("improved", "worse", "unreliable", "no_change")
    if v == "improved":  # only said when the paired change is a significant decrease and the ESS is not tiny
        assert e["diff"] < -2 * e["diff_err"] and e["ess"] >= 10
    if v == "worse":
        assert e["diff"] > 2 * e["diff_err"]
    if v == "unreliable":
        assert e["ess"] < max(10, 0.01 * e["n"])
    scan = res["scan"]
    assert scan["ess_fraction_theory"][0] == 1.0 and scan["ess_fraction_theory"][-1] < scan["ess_fraction_theory"][0]


def test_09_decoder_explorer(tiny_data, tiny_run, tmp_path):
    res = _run("09_decoder_explorer", tmp_path, data_path=str(tiny_data), run_dir=str(tiny_run))
    e = res["decoded_e_total"]
    assert res["sweep_energies"] == [3000.0, 30000.0, 300000.0] and len(e) == 3
    assert e[0] < e[1] < e[2]  # a higher decoder energy gives a more energetic shower
    assert np.allclose(res["decoded_e_ratio"], np.array(e) / np.array(res["sweep_energies"]))
    assert 1e3 <= res["mse_argmin_e"] <= 1e6
    # the take-aways are chosen by this run's numbers
    said = {t["key"]: t for t in res["takeaways"]}
    assert set(said) == {"energy_scaling", "depth_trend", "width_trend"}
    spread = np.ptp(res["decoded_e_ratio"]) / np.median(res["decoded_e_ratio"])
    assert (said["energy_scaling"]["verdict"] == "flat") == (spread <= 0.03)
    slope = (res["decoded_depth_layers"][-1] - res["decoded_depth_layers"][0]) / 2  # two decades of E'
    assert np.isclose(said["depth_trend"]["numbers"]["slope"], slope)
    assert ("gets deeper" in said["depth_trend"]["text"]) == (slope > 0.2)
    assert set(res["headline"]) >= {"decoded E_dep/E′ spread over the sweep [%]"}


def test_10_samplers(tiny_data, tiny_run, tmp_path):
    res = _run("10_samplers", tmp_path, data_path=str(tiny_data), run_dir=str(tiny_run))
    p = PRESETS["tiny"]["10_samplers"]
    rows = {r["label"]: r for r in res["rows"]}
    want = [f"gibbs-{n}" for n in p["gibbs_sweeps"]] + [f"sa-{n}" for n in p["sa_sweeps"]] + \
        [f"pimc-{n}" for n in p["pimc_sweeps"]] + [f"mock-qpu-{n}" for n in p["qpu_sweeps"]]
    assert list(rows) == want and res["n_showers"] == p["n_showers"]
    for label in want[:-1]:  # Gibbs, SA and PIMC run on any topology
        r = rows[label]
        assert r["error"] is None and r["seconds_per_shower"] > 0 and 0 <= r["energy_distance"] <= 1
        assert 0 <= r["auc_high"] <= 1 and r["fpd"] >= 0 and 0 < r["probe_ess_fraction"] <= 1
    qpu = rows[want[-1]]
    assert (qpu["error"] is None) == (res["prior_topology"] != "full")  # the mock QPU needs qubit labels
    g = rows[f"gibbs-{p['gibbs_sweeps'][-1]}"]
    assert abs(g["probe_beta_eff"] - 1) < 5 * g["probe_beta_eff_err"] + 0.1  # Gibbs samples the RBM at beta = 1
    assert 0 < res["energy_floor"] < 1 and res["tau_int"][0] > 0
    assert [t["key"] for t in res["takeaways"]] == ["prior_fidelity", "compute_matched", "shower_quality",
                                                     "annealer_temperature", "gibbs_mixing"]
    assert "τ_int prior (sweeps)" in res["headline"]


def test_decoder_slider_drives_the_decoding(tiny_data, tiny_run):
    """The live widget on a trained run: a slider move re-decodes into the same figure; the cache serves repeats."""
    import matplotlib

    matplotlib.use("agg")
    from calolib.widgets import DecoderExplorer

    explorer = DecoderExplorer.from_run(tiny_run, tiny_data, n_events=5, device="cpu", grid=np.geomspace(1e3, 1e6, 6))
    ui = explorer.widget(event=2, seed=1, dpi=40)
    fig, first = ui.view.figure, explorer.last
    assert first.event == 2 and np.isclose(first.e_inc, explorer.showers.energies[2], rtol=1e-6)
    e_slider = ui.controls["e_inc"]
    e_slider.value = 2e3 if first.e_inc > 1e4 else 5e5  # moving the slider re-runs the callback
    second = explorer.last
    assert np.isclose(second.e_inc, e_slider.value, rtol=1e-6) and ui.view.figure is fig
    assert np.array_equal(first.z, second.z)  # same latent code ...
    assert not np.allclose(first.shower, second.shower)  # ... decoded differently
    again = explorer.update(first.e_inc, 1, "encoder", 2)
    assert again.shower is first.shower  # served from the cache
    ui.controls["sampler"].value = "gibbs"
    assert explorer.last.sampler == "gibbs" and explorer.last.z.shape == first.z.shape
    static = explorer.draw(5e4, 1, "encoder", 2)  # the static view: 5 layers, profile, MSE curve (+ colour bar)
    assert len(static.axes) == 5 + 1 + 1 + 1 and sum(ax.name == "polar" for ax in static.axes) == 5


def test_11_sweep(tiny_data, tmp_path):
    """The tiny preset runs a 2 x 2 sweep on a local Dask cluster and reports it with seed error bars."""
    res = _run("11_sweep", tmp_path, data_path=str(tiny_data))
    assert res["status"] == "ok" and res["n_points"] == 4 and res["n_failed"] == 0
    assert res["configurations"] == ["encoder=fcn", "encoder=cnn"] and res["seeds"] == [0, 1]
    sweep = json.loads((tmp_path / "reports" / "sweeps" / "tiny" / "sweep.json").read_text())
    for s, stored in zip(res["summary"], sweep["summary"]):
        fpd = [p["metrics"]["fpd"] for p in sweep["points"] if p["config_id"] == s["config_id"]]
        assert s["fpd"]["n"] == 2 and np.isclose(s["fpd"]["mean"], np.mean(fpd))
        assert np.isclose(s["fpd"]["std"], np.std(fpd, ddof=1)) and stored["fpd"]["mean"] == s["fpd"]["mean"]
    best_fpd = next(b for b in res["best"] if b["metric"] == "fpd")
    assert best_fpd["mean"] == min(s["fpd"]["mean"] for s in res["summary"])
    assert len(res["run_dirs"]) == 4 and all(Path(d, "best.pt").is_file() for d in res["run_dirs"])
    keys = [t["key"] for t in res["takeaways"]]
    assert keys[0] == "completion" and {"best_fpd", "seed_spread_fpd", "seed_vs_eval_fpd"} <= set(keys)
    assert any(k.startswith("FPD") for k in res["headline"])


def test_05_takes_a_sweep_directory_as_its_runs(tiny_data, tiny_run, tmp_path):
    """A sweep directory in ``runs`` stands for its finished points (calolib.sweep.expand_runs)."""
    import shutil

    sweep = tmp_path / "sweep"
    for i in (0, 1):
        shutil.copytree(tiny_run, sweep / f"prior=rbm__seed={i}")
    pts = [{"id": f"prior=rbm__seed={i}", "config_id": "prior=rbm", "seed": i, "values": {"model.prior": "rbm"},
            "status": "done", "metrics": {}} for i in (0, 1)]
    pts.append({**pts[0], "id": "prior=gaussian__seed=0", "status": "failed"})  # unfinished: left out
    (sweep / "sweep.json").write_text(json.dumps({"format": "calolib-sweep", "spec": {}, "data": str(tiny_data),
                                                  "points": pts, "summary": []}))
    res = _run("05_latent_clustering", tmp_path, data_path=str(tiny_data), run_dir=str(tiny_run),
               runs=[str(sweep)])
    assert list(res["per_model"]) == ["tiny", "prior=rbm__seed=0", "prior=rbm__seed=1"]


def test_11_sweep_without_a_sweep_says_so(tmp_path):
    from calolib.training.testing import write_tiny_dataset

    out = tmp_path / "reports"
    data = write_tiny_dataset(tmp_path / "tiny.h5", n=8)  # declared by the notebook; unused without a spec
    (result,) = run_reports("tiny", only=["11_sweep"], out_dir=out, progress=False,
                            params_overrides={"spec": {}, "sweep_dir": str(tmp_path / "none"), "data_path": str(data)})
    assert result.ok, result.error
    res = json.loads((out / "11_sweep.results.json").read_text())
    assert res["status"] == "no sweep" and res["n_points"] == 0
    assert "No sweep in" in (out / "11_sweep.html").read_text()
