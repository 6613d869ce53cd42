"""Checkpoints: self-describing, rebuildable from the file alone, atomic, clear errors."""
from __future__ import annotations

import random

import numpy as np
import pytest
import torch

import calolib
from calolib.errors import CheckpointError, OutputError
from calolib.training import load_checkpoint, read_checkpoint, save_checkpoint, train
from calolib.training.checkpoint import FORMAT, FORMAT_VERSION, rng_state, set_rng_state
from calolib.training.testing import tiny_config, write_tiny_dataset


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    d = tmp_path_factory.mktemp("ck")
    data = write_tiny_dataset(d / "tiny.h5", n=48, seed=5)
    res = train(tiny_config(epochs=2), data, d / "run", device="cpu", progress=False)
    return res, data


def test_checkpoint_holds_everything(run):
    res, _ = run
    state = read_checkpoint(res.last_path)
    for key in ("model", "optimizer", "config", "transform", "rng", "chains", "epoch", "step", "best_val",
                "history", "version", "scheduler"):
        assert key in state, key
    assert state["format"] == FORMAT and state["version"] == calolib.__version__
    assert state["config"]["model"]["rbm_sizes"] == [8, 8, 8, 8]
    assert state["epoch"] == 2 and len(state["history"]) == 3
    assert state["chains"]["chains"]["z"].shape == (16, 32)


def test_load_rebuilds_the_model_from_the_file_alone(run):
    res, data = run
    ck = load_checkpoint(res.best_path)
    assert ck.config == res.config and not ck.model.training
    # the same weights as stored, and a forward pass that matches a model rebuilt by hand
    from calolib.models import QVAE

    manual = QVAE(res.config.model)
    manual.load_state_dict(read_checkpoint(res.best_path)["model"])
    manual.eval()
    z = (torch.rand(5, 32, generator=torch.Generator().manual_seed(0)) < 0.5).float()
    e = torch.tensor([1e3, 1e4, 1e5, 3e5, 1e6])
    assert torch.equal(ck.model.decode(z, e).x, manual.decode(z, e).x)
    # the preprocessing statistics round-trip, and the empty-voxel value matches them
    from calolib.training.data import load_training_data

    d = load_training_data(data, val_fraction=res.config.val_fraction)
    assert np.array_equal(ck.transform.mean, d.transform.mean) and np.array_equal(ck.transform.std, d.transform.std)
    empty = ck.transform.transform(np.array([1e4]), np.zeros((1, 6480)))[0]
    assert np.allclose(ck.model.empty_value.numpy(), empty)
    # a run directory resolves to its best.pt
    assert load_checkpoint(res.out_dir).epoch == ck.epoch


def test_missing_checkpoint(tmp_path):
    with pytest.raises(CheckpointError, match="not found"):
        load_checkpoint(tmp_path / "best.pt")
    with pytest.raises(CheckpointError, match="holds no best.pt"):
        load_checkpoint(tmp_path)


@pytest.mark.parametrize("cut", [0.5, 0.99])
def test_truncated_checkpoint(run, tmp_path, cut):
    res, _ = run
    raw = res.last_path.read_bytes()
    bad = tmp_path / "bad.pt"
    bad.write_bytes(raw[: int(len(raw) * cut)])
    with pytest.raises(CheckpointError, match="truncated or corrupt") as exc:
        load_checkpoint(bad)
    assert "\n" not in str(exc.value)


def test_garbage_and_foreign_files(tmp_path):
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a checkpoint at all" * 10)
    with pytest.raises(CheckpointError, match="truncated or corrupt"):
        load_checkpoint(junk)
    foreign = tmp_path / "foreign.pt"
    torch.save({"weights": torch.ones(3)}, foreign)
    with pytest.raises(CheckpointError, match="not a calolib QVAE checkpoint"):
        load_checkpoint(foreign)
    future = tmp_path / "future.pt"
    torch.save({"format": FORMAT, "format_version": FORMAT_VERSION + 1}, future)
    with pytest.raises(CheckpointError, match="upgrade calolib"):
        load_checkpoint(future)


def test_incompatible_weights(run, tmp_path):
    res, _ = run
    state = read_checkpoint(res.last_path)
    state["model"] = {k: v for k, v in state["model"].items() if not k.startswith("decoder.")}
    p = tmp_path / "partial.pt"
    save_checkpoint(p, state)
    with pytest.raises(CheckpointError, match="does not match the model"):
        load_checkpoint(p)
    state = read_checkpoint(res.last_path)
    del state["transform"]
    save_checkpoint(p, state)
    with pytest.raises(CheckpointError, match="lacks transform"):
        load_checkpoint(p)


def test_atomic_write_leaves_old_file_and_no_temp_on_failure(tmp_path, monkeypatch):
    p = tmp_path / "last.pt"
    save_checkpoint(p, {"format": FORMAT, "format_version": FORMAT_VERSION, "epoch": 1})
    before = p.read_bytes()
    real_save = torch.save

    def failing_save(obj, f, *a, **kw):
        real_save(obj, f, *a, **kw)  # a full write...
        f.write(b"partial")  # ...then more bytes, then the crash
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", failing_save)
    with pytest.raises(OutputError, match="disk full"):  # one line for the CLI, not a raw OSError
        save_checkpoint(p, {"format": FORMAT, "format_version": FORMAT_VERSION, "epoch": 2})
    monkeypatch.undo()
    assert p.read_bytes() == before
    assert read_checkpoint(p)["epoch"] == 1
    assert sorted(x.name for x in tmp_path.iterdir()) == ["last.pt"]


def test_rng_state_round_trip():
    state = rng_state()
    a = (torch.rand(3), np.random.rand(3), random.random())
    set_rng_state(state)
    b = (torch.rand(3), np.random.rand(3), random.random())
    assert torch.equal(a[0], b[0]) and np.array_equal(a[1], b[1]) and a[2] == b[2]
