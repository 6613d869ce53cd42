"""Generation: valid CaloChallenge output, the requested energies, conditioning, seeds, energy sampling."""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pytest
import torch

from calolib.errors import ConfigError
from calolib.generation import (generate, generate_from_checkpoint, sample_energies, separation_power_1d,
                                shower_separation)
from calolib.models import QVAE
from calolib.preprocessing import VoxelTransform
from calolib.samplers import LatentSamples, Sampler
from calolib.training import train
from calolib.training.testing import tiny_config, write_tiny_dataset


@pytest.fixture(scope="module")
def model_and_transform():
    from calolib.io import load_showers

    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as d:
        s = load_showers(write_tiny_dataset(Path(d) / "t.h5", n=32, seed=2))
    t = VoxelTransform().fit(s.energies, s.showers)
    model = QVAE(tiny_config().model)
    model.set_empty_value(t.transform(np.array([1e3]), np.zeros((1, 6480)))[0])
    return model, t


def test_generated_file_is_valid_calochallenge(model_and_transform, tmp_path):
    import h5py

    from calolib.io import load_showers, save_showers

    model, t = model_and_transform
    e = sample_energies(37, energies=(2e3, 5e5), seed=1)
    s = generate(model, t, e, n_gibbs_steps=3, batch_size=16, seed=0, device="cpu")
    assert s.showers.shape == (37, 6480) and s.showers.dtype == np.float32
    assert np.array_equal(s.energies, e)
    assert bool((s.showers >= 0).all()) and np.isfinite(s.showers).all()
    path = tmp_path / "gen.h5"
    save_showers(path, s)
    back = load_showers(path)
    assert back.geometry.name == "ds2" and np.allclose(back.energies, e) and np.array_equal(back.showers, s.showers)
    with h5py.File(path) as f:
        assert f["incident_energies"].shape == (37, 1) and f["showers"].shape == (37, 6480)


def test_seed_controls_the_output(model_and_transform):
    model, t = model_and_transform
    e = np.full(8, 1e4)
    a = generate(model, t, e, n_gibbs_steps=2, seed=4, device="cpu").showers
    b = generate(model, t, e, n_gibbs_steps=2, seed=4, device="cpu").showers
    c = generate(model, t, e, n_gibbs_steps=2, seed=5, device="cpu").showers
    assert np.array_equal(a, b) and not np.array_equal(a, c)


class _RecordingSampler(Sampler):
    """Returns all-ones states (partition 0 clamped) and records what it was asked."""

    name = "recording"

    def __init__(self):
        self.calls = []

    @property
    def parameters(self) -> Mapping:
        return {}

    def sample(self, rbm, n_samples, *, conditioning=None, seed=None, **kw):
        self.calls.append((n_samples, None if conditioning is None else conditioning.clone(), seed))
        z = torch.ones(n_samples, rbm.n_units)
        if conditioning is not None:
            z[:, : rbm.sizes[0]] = conditioning
        return LatentSamples.from_states(rbm, z)


def test_conditioning_is_the_code_of_each_energy(model_and_transform):
    model, t = model_and_transform
    assert model.config.condition_rbm
    rec = _RecordingSampler()
    e = np.array([1e3, 3e3, 1e4, 1e5, 9e5])
    s = generate(model, t, e, sampler=rec, batch_size=2, device="cpu", sample_hits=False)
    assert [c[0] for c in rec.calls] == [2, 2, 1]
    codes = torch.cat([c[1] for c in rec.calls])
    expected = model.rbm.encode_condition(torch.tensor(e), code=model.config.condition_code,
                                          e_min=model.config.einc_min, e_max=model.config.einc_max)
    assert torch.equal(codes, expected)
    # all-ones latents decoded with thresholded hits: the output equals decoding that z by hand
    z = torch.ones(5, 32)
    z[:, :8] = expected
    with torch.no_grad():
        x = model.reconstruct(model.decode(z, torch.tensor(e, dtype=torch.float32)))
    ref = t.inverse(e, x.numpy().astype(np.float64))
    thr = model.config.readout_threshold_mev  # generated files carry no sub-threshold "hits"
    assert np.allclose(s.showers, np.where(ref >= thr, ref, 0.0), rtol=1e-4, atol=1e-6)


def test_unconditioned_model_gets_no_conditioning():
    cfg = tiny_config(model={"condition_rbm": False})
    model = QVAE(cfg.model)
    t = VoxelTransform().fit(np.full(2, 1e4), np.random.default_rng(0).random((2, 6480)))
    rec = _RecordingSampler()
    generate(model, t, np.full(3, 1e4), sampler=rec, device="cpu")
    assert rec.calls[0][1] is None


def test_sample_energies_log_uniform_and_fixed():
    e = sample_energies(20000, energies=(1e3, 1e6), seed=0)
    u = (np.log(e) - np.log(1e3)) / np.log(1e3)
    assert u.min() >= 0 and u.max() <= 1
    # uniform on [0, 1]: mean 1/2 and variance 1/12, to ~5 standard errors
    assert abs(u.mean() - 0.5) < 5 * np.sqrt(1 / 12 / e.size)
    assert abs(u.var() - 1 / 12) < 5 * np.sqrt(1 / 180 / e.size)
    assert np.array_equal(sample_energies(3, energy=7e4), np.full(3, 7e4))
    with pytest.raises(ConfigError):
        sample_energies(3, energies=(1e6, 1e3))
    with pytest.raises(ConfigError):
        sample_energies(3, energy=1e4, energies=(1e3, 1e6))
    with pytest.raises(ConfigError):
        sample_energies(0)


def test_bad_generation_input(model_and_transform):
    model, t = model_and_transform
    with pytest.raises(ConfigError, match="> 0"):
        generate(model, t, np.array([1e3, -1.0]), device="cpu")
    from calolib.errors import SamplerError

    with pytest.raises(SamplerError, match="unknown sampler"):
        generate(model, t, np.array([1e3]), sampler="nope", device="cpu")


def test_separation_power_closed_forms():
    # disjoint samples -> 1, identical -> 0, and a two-bin case by hand
    assert separation_power_1d(np.zeros(50), np.ones(50)) == pytest.approx(1.0)
    x = np.random.default_rng(0).normal(size=500)
    assert separation_power_1d(x, x) == 0.0
    a = np.array([0.0] * 3 + [1.0] * 1)  # fractions (3/4, 1/4) in the two edge bins
    b = np.array([0.0] * 1 + [1.0] * 3)  # (1/4, 3/4)
    expected = 0.5 * (2 * (0.5**2) / 1.0)
    assert separation_power_1d(a, b, bins=2) == pytest.approx(expected)


def test_shower_separation_features():
    from calolib.showers import Showers

    rng = np.random.default_rng(0)
    v = rng.random((200, 368)) * 10
    ref = Showers(np.full(200, 1e4), v, "ds1-photons")
    same = shower_separation(ref, ref)
    assert same["e_ratio"] == 0.0 and same["sparsity"] == 0.0
    # below-threshold voxels (1 MeV for ds1) count as empty and do not add to E_total
    assert same["sparsity_mean_ref"] == pytest.approx(float((v < 1.0).mean()))
    assert same["e_ratio_mean_ref"] == pytest.approx(float(np.where(v >= 1.0, v, 0).sum(1).mean() / 1e4))
    w = 1.0 + v  # all above threshold: doubling them doubles E_total, disjoint e_ratio histograms
    doubled = shower_separation(Showers(ref.energies, 2 * w, "ds1-photons"), Showers(ref.energies, w, "ds1-photons"))
    assert doubled["e_ratio"] == pytest.approx(1.0) and doubled["sparsity"] == 0.0
    assert doubled["e_ratio_mean_gen"] == pytest.approx(2 * doubled["e_ratio_mean_ref"])


def test_generate_from_checkpoint(tmp_path):
    data = write_tiny_dataset(tmp_path / "t.h5", n=32, seed=1)
    res = train(tiny_config(epochs=1), data, tmp_path / "run", device="cpu", progress=False)
    s = generate_from_checkpoint(res.best_path, 6, energy=2e4, n_gibbs_steps=2, device="cpu")
    assert len(s) == 6 and np.all(s.energies == 2e4) and bool((s.showers >= 0).all())
