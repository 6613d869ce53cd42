"""The compute-matched sampler study: its distances, the study loop on a small QVAE with a strongly coupled
prior (short Gibbs chains miss the long-chain distribution, long ones reach it; SA ending at β = 2 is
recognised as β_eff ≈ 2 and reweighting brings it back), settings that cannot run, JSON output."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from calolib.diagnostics.sampler_study import SamplerSetting, StudyConfig, energy_distance, run_sampler_study, \
    sampler_settings
from calolib.errors import ConfigError
from calolib.rbm import RBM
from calolib.samplers import ExactSampler

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_energy_distance_weights_reweight_to_the_target_temperature():
    """Exact samples at β = 1.5 reweighted by exp(-(1 - 1.5) E) have the β = 1 energy histogram."""
    rbm = RBM((2, 3, 3, 3), weight_std=1.0, bias_std=0.5, seed=4)
    hot, cold = ExactSampler(beta=1.0).sample(rbm, 40_000, seed=0), ExactSampler(beta=1.5).sample(rbm, 40_000, seed=1)
    e1, e2 = hot.energy.double().numpy(), cold.energy.double().numpy()
    raw = energy_distance(e2, e1, bins=20)
    w = np.exp(-(1.0 - 1.5) * e2)
    assert raw > 0.1 and energy_distance(e2, e1, weights=w / w.sum(), bins=20) < 0.006
    assert energy_distance(e1[:20_000], e1[20_000:], bins=20) < 0.005


def test_settings_build_their_samplers_with_the_sweep_count():
    st = sampler_settings(gibbs=(3,), sa=(7,), pimc=(), mock_qpu=())
    assert [s.label for s in st] == ["gibbs-3", "sa-7"]
    assert st[0].build().n_steps == 3
    pytest.importorskip("dwave.samplers")
    assert st[1].build().defaults["num_sweeps"] == 7
    with pytest.raises(ConfigError, match="sweeps must be >= 1"):
        sampler_settings(gibbs=(0,))
    with pytest.raises(ConfigError, match="no sweep count"):
        SamplerSetting("exact-1", "exact", 1).build()


@pytest.fixture(scope="module")
def small_model():
    """A ds1-photons QVAE whose Zephyr RBM prior is strongly coupled (slow to forget a random start)."""
    from calolib.models import ModelConfig, QVAE
    from calolib.preprocessing import VoxelTransform
    from calolib.synthetic import simulate

    torch.manual_seed(0)
    model = QVAE(ModelConfig(geometry="ds1-photons", rbm_sizes=(4, 12, 12, 12), topology="zephyr", encoder_hidden=(16,),
                             decoder_hidden=(16,)))
    with torch.no_grad():
        gen = torch.Generator().manual_seed(1)
        for key, w in model.rbm.weights.items():
            w.copy_(torch.randn(w.shape, generator=gen) * 1.2)
        model.rbm.project_()
    ref = simulate(300, geometry="ds1-photons", seed=2)
    transform = VoxelTransform().fit(ref.energies, ref.showers)
    return model, transform, ref


def test_study_tells_short_from_long_chains_and_finds_beta_eff(small_model):
    pytest.importorskip("dwave.samplers")
    model, transform, ref = small_model
    settings = (*sampler_settings(gibbs=(1, 300), sa=(), pimc=(), mock_qpu=()),
                SamplerSetting("sa-cold", "sa", 300, {"beta_range": (0.1, 2.0)}))
    cfg = StudyConfig(reference_sweeps=600, n_probe=2000, energy_bins=15, tau_chains=100, tau_sweeps=200,
                      fpd_bootstrap=2, classifier_epochs=2)
    study = run_sampler_study(model, transform, ref, settings, cfg)
    rows = {r["label"]: r for r in study.rows()}
    assert set(rows) == {"gibbs-1", "gibbs-300", "sa-cold"} and not any(r["error"] for r in rows.values())
    floor = study.energy_floor
    assert 0 < floor < 0.1
    assert rows["gibbs-300"]["energy_distance"] <= 2.5 * floor < rows["gibbs-1"]["energy_distance"]
    g = rows["gibbs-300"]
    assert abs(g["probe_beta_eff"] - 1.0) < 5 * g["probe_beta_eff_err"] and g["probe_ess_fraction"] > 0.95
    cold = rows["sa-cold"]
    assert abs(cold["probe_beta_eff"] - 2.0) < 0.4 and cold["probe_ess_fraction"] < 0.9
    assert cold["probe_energy_distance_reweighted"] < 0.5 * cold["probe_energy_distance"]
    for r in rows.values():
        assert r["seconds_per_shower"] > 0 and r["core_seconds_per_shower"] > 0
        assert 0 <= r["sep_e_ratio"] <= 1 and 0 <= r["auc_high"] <= 1 and r["fpd"] >= 0
        assert set(r["stage_seconds"]) == {"sample", "decode", "metrics", "probe"}
    tau, err, _ = study.tau
    assert tau >= 1 and err > 0
    json.dumps(study.to_dict(), allow_nan=False)


def test_study_keeps_settings_that_cannot_run(small_model):
    from dataclasses import replace

    model, transform, ref = small_model
    full = type(model)(replace(model.config, topology="full"))  # no qubit labels: the mock QPU cannot run it
    settings = (SamplerSetting("gibbs-2", "gibbs", 2), SamplerSetting("mock-qpu-10", "mock-qpu", 10))
    cfg = StudyConfig(reference_sweeps=20, n_probe=40, energy_bins=10, tau_chains=20, tau_sweeps=20, fpd_bootstrap=2,
                      classifier_epochs=1)
    study = run_sampler_study(full, transform, ref[:60], settings, cfg)
    rows = {r["label"]: r for r in study.rows()}
    assert rows["gibbs-2"]["error"] is None
    assert "qubit labels" in rows["mock-qpu-10"]["error"] or "Ocean" in rows["mock-qpu-10"]["error"]
    assert math.isnan(rows["mock-qpu-10"]["seconds_per_shower"])
    with pytest.raises(Exception, match="at least 20 reference showers"):
        run_sampler_study(full, transform, ref[:10], settings, cfg)
