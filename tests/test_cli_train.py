"""``calolib train`` and ``calolib generate``: flags, layering of configs, exit codes, one-line errors."""
from __future__ import annotations

import json

import numpy as np
import pytest

from calolib.cli import main
from calolib.training.testing import write_tiny_dataset

TINY = ["--set", "model.encoder_hidden=[16]", "--set", "model.decoder_hidden=[16]", "--set", "model.rbm_sizes=[8,8,8,8]",
        "--set", "n_neg_chains=16", "--set", "batch_size=16", "--set", "lr_schedule=constant", "--quiet",
        "--device", "cpu"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli")
    data = write_tiny_dataset(d / "tiny.h5", n=40, seed=7)
    rc = main(["train", "--data", str(data), "--out", str(d / "run"), "--epochs", "1", *TINY])
    assert rc == 0
    return d, data


def _one_line_error(capsys, fragment):
    err = capsys.readouterr().err.strip()
    assert err.startswith("calolib: error:") and "\n" not in err and "Traceback" not in err
    assert fragment in err, err


def test_train_writes_run_dir_and_resume_extends(trained, capsys):
    d, data = trained
    run = d / "run"
    for name in ("last.pt", "best.pt", "history.csv", "history.json", "config.json"):
        assert (run / name).is_file(), name
    cfg = json.loads((run / "config.json").read_text())
    assert cfg["model"]["rbm_sizes"] == [8, 8, 8, 8] and cfg["epochs"] == 1 and cfg["lr_schedule"] == "constant"
    capsys.readouterr()
    assert main(["train", "--data", str(data), "--out", str(run), "--resume", "--epochs", "2", "--quiet", "--device", "cpu"]) == 0
    assert "trained 1 epoch(s)" in capsys.readouterr().out
    rows = (run / "history.csv").read_text().strip().splitlines()
    assert len(rows) == 1 + 3  # header, epochs 0..2
    # resume keeps the saved architecture: the config layering starts from the run's config
    assert json.loads((run / "config.json").read_text())["model"]["encoder_hidden"] == [16]


def test_train_errors_exit_2(trained, tmp_path, capsys):
    d, data = trained
    assert main(["train", "--data", str(tmp_path / "none.h5"), "--out", str(tmp_path / "r"), "--quiet"]) == 2
    _one_line_error(capsys, "training data not found")
    assert main(["train", "--data", str(data), "--out", str(tmp_path / "r"), "--set", "lrr=1", "--quiet"]) == 2
    _one_line_error(capsys, "did you mean 'lr'")
    assert main(["train", "--data", str(data), "--out", str(tmp_path / "r"), "--set", "epochs=two", "--quiet"]) == 2
    _one_line_error(capsys, "must be an integer")
    assert main(["train", "--data", str(data), "--out", str(d / "run"), *TINY]) == 2
    _one_line_error(capsys, "--resume")
    assert main(["train", "--data", str(data), "--out", str(d / "run"), "--resume", "--preset", "full", "--quiet"]) == 2
    _one_line_error(capsys, "saved config")
    assert main(["train", "--data", str(data), "--out", str(tmp_path / "r"), "--device", "tpu", "--quiet"]) == 2
    _one_line_error(capsys, "device")


def test_train_config_file_layering(tmp_path, capsys):
    data = write_tiny_dataset(tmp_path / "t.h5", n=24, seed=0)
    cfg = tmp_path / "c.yaml"
    cfg.write_text("epochs: 1\nbatch_size: 8\nmodel:\n  encoder_hidden: [8]\n  decoder_hidden: [8]\n"
                   "  rbm_sizes: [4, 4, 4, 4]\nn_neg_chains: 8\n")
    rc = main(["train", "--data", str(data), "--out", str(tmp_path / "r"), "--config", str(cfg),
               "--set", "lr=2e-3", "--quiet", "--device", "cpu"])
    assert rc == 0
    saved = json.loads((tmp_path / "r" / "config.json").read_text())
    assert saved["model"]["rbm_sizes"] == [4, 4, 4, 4] and saved["lr"] == 2e-3 and saved["batch_size"] == 8
    bad = tmp_path / "bad.toml"
    bad.write_text("nonsense_key = 1\n")
    assert main(["train", "--data", str(data), "--out", str(tmp_path / "r2"), "--config", str(bad), "--quiet"]) == 2
    _one_line_error(capsys, "nonsense_key")


def test_generate_cli(trained, tmp_path, capsys):
    from calolib.io import load_showers

    d, _ = trained
    out = tmp_path / "gen.h5"
    rc = main(["generate", "--model", str(d / "run" / "best.pt"), "--n", "12", "--out", str(out),
               "--energies", "2e3,4e3", "--gibbs-steps", "2", "--device", "cpu", "--quiet"])
    assert rc == 0 and "showers/s" in capsys.readouterr().out
    s = load_showers(out)
    assert len(s) == 12 and s.energies.min() >= 2e3 and s.energies.max() <= 4e3 and (s.showers >= 0).all()
    rc = main(["generate", "--model", str(d / "run"), "--n", "3", "--out", str(tmp_path / "g2.h5"),
               "--energy", "5e4", "--gibbs-steps", "1", "--device", "cpu", "--quiet", "--hits", "threshold"])
    assert rc == 0 and np.all(load_showers(tmp_path / "g2.h5").energies == 5e4)


def test_generate_errors_exit_2(trained, tmp_path, capsys):
    d, _ = trained
    best = d / "run" / "best.pt"
    bad = tmp_path / "bad.pt"
    bad.write_bytes(best.read_bytes()[:2000])
    cases = [
        (["--model", str(bad)], "truncated or corrupt"),
        (["--model", str(tmp_path / "missing.pt")], "not found"),
        (["--model", str(best), "--energies", "1e3"], "MIN,MAX"),
        (["--model", str(best), "--energies", "5e3,1e3"], "MIN <= MAX"),
        (["--model", str(best), "--sampler", "warp"], "unknown sampler"),
    ]
    for extra, fragment in cases:
        rc = main(["generate", "--n", "2", "--out", str(tmp_path / "x.h5"), "--quiet", "--device", "cpu", *extra])
        assert rc == 2, extra
        _one_line_error(capsys, fragment)
    assert not (tmp_path / "x.h5").exists()


def test_bench_generate_runs(trained, tmp_path, capsys):
    d, _ = trained
    out = tmp_path / "bench.json"
    rc = main(["bench", "generate", "--model", str(d / "run" / "best.pt"), "--max-batch", "10", "--min-time", "0",
               "--gibbs-steps", "2", "--train-steps", "1", "--out", str(out)])
    assert rc == 0
    summary = json.loads(out.read_text())["summary"]
    assert set(summary["generate_showers_per_s"]) == {"1", "10"}
    assert all(v > 0 for v in summary["generate_showers_per_s"].values()) and summary["train_samples_per_s"] > 0
