"""Training, resuming and generating with the factorised model (layer-energy flow + shape VAE) and with
the prior controls, through the same loop, checkpoints and generation as the RBM QVAE."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from calolib.generation import generate
from calolib.geometry import get_geometry
from calolib.training import load_checkpoint, read_checkpoint, train
from calolib.training.testing import tiny_config, write_tiny_dataset

GEO = get_geometry("ds2")
FLOW = {"energy_model": "flow", "flow_transforms": 1, "flow_hidden": [16]}


@pytest.fixture(scope="module")
def data_file(tmp_path_factory):
    return write_tiny_dataset(tmp_path_factory.mktemp("data") / "tiny.h5", n=64, seed=5)


def _strip(history):
    return [{k: v for k, v in r.items() if k not in ("time_s", "samples_per_s")} for r in history]


@pytest.mark.parametrize("prior", ["rbm", "bernoulli", "gaussian"])
def test_factorised_model_resumes_exactly_and_generates(prior, data_file, tmp_path, one_torch_thread):
    cfg = tiny_config(epochs=2, model={**FLOW, "prior": prior})
    full = train(cfg, data_file, tmp_path / "full", device="cpu", progress=False)
    train(dataclasses.replace(cfg, epochs=1), data_file, tmp_path / "cut", device="cpu", progress=False)
    resumed = train(cfg, data_file, tmp_path / "cut", resume=True, device="cpu", progress=False)
    assert _strip(resumed.history) == _strip(full.history)
    a, b = read_checkpoint(full.last_path)["model"], read_checkpoint(resumed.last_path)["model"]
    assert all(torch.equal(a[k], b[k]) for k in a)
    row = full.history[-1]
    for key in ("val_flow", "val_active_units", "val_active_fraction", "val_unit_entropy", "val_select"):
        assert key in row and np.isfinite(row[key])
    assert row["val_select"] == pytest.approx(row["val_ahep"] + row["val_flow"])
    assert "best_criterion" in read_checkpoint(full.best_path)
    ck = load_checkpoint(full.best_path)
    e = np.array([1e3, 3e4, 1e6, 2e5])
    s = generate(ck.model, ck.transform, e, device="cpu", seed=1)
    thr = ck.model.config.readout_threshold_mev
    assert s.showers.shape == (4, GEO.n_voxels)
    assert np.all((s.showers == 0) | (s.showers >= thr))  # the readout threshold is applied
    # generated layer energies are exactly the flow's samples
    L = ck.model.energy_flow.sample(torch.tensor(e, dtype=torch.float32), seed=1 * 1_000_003 + 0 + 17)
    np.testing.assert_allclose(GEO.layer_energies(s.showers), L.numpy(), rtol=2e-5, atol=1e-4)


def test_controls_have_no_chains_and_no_rbm(data_file, tmp_path, one_torch_thread):
    cfg = tiny_config(epochs=1, model={"prior": "bernoulli"})
    res = train(cfg, data_file, tmp_path / "b", device="cpu", progress=False)
    ck = load_checkpoint(res.best_path)
    assert not ck.model.has_rbm and not hasattr(ck.model, "rbm")
    s = generate(ck.model, ck.transform, np.array([1e4, 1e5]), device="cpu")
    assert s.showers.shape == (2, GEO.n_voxels)
    with pytest.raises(ValueError, match="sampled exactly"):
        generate(ck.model, ck.transform, np.array([1e4]), sampler="sa", device="cpu")


def test_two_stage_gaussian_is_refused():
    with pytest.raises(ValueError, match="two_stage"):
        tiny_config(scheme="two_stage", ae_epochs=1, model={"prior": "gaussian"})
