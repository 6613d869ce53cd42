"""RBM: energy against independent computations (loops, dimod BQM, Ising), masks, config, gradients."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

import calolib.rbm as rbm_module
from calolib.codes import encode_energy
from calolib.errors import ConfigError
from calolib.rbm import RBM, RBMConfig


pytestmark = pytest.mark.usefixtures("one_torch_thread")


TOPOS = ["full", "zephyr", "pegasus", "chimera"]


def _loop_energy(rbm: RBM, z: np.ndarray) -> np.ndarray:
    """E(z) by explicit sums over units and allowed pairs (float64), independent of RBM.energy."""
    a = rbm.bias_vector().detach().double().numpy()
    out = np.zeros(len(z))
    for p, q in rbm.pairs:
        w = rbm.weights[f"{p}{q}"].detach().double().numpy()
        m = getattr(rbm, f"mask_{p}{q}").numpy()
        for i, j in zip(*np.nonzero(m)):
            out -= w[i, j] * z[:, rbm.offsets[p] + i] * z[:, rbm.offsets[q] + j]
    return out - z @ a


@pytest.mark.parametrize("topology", TOPOS)
def test_energy_matches_loops_bqm_and_ising(topology):
    dimod = pytest.importorskip("dimod")
    rbm = RBM((4, 5, 4, 5), topology, weight_std=0.8, bias_std=0.6, seed=7)
    z = torch.randint(0, 2, (64, rbm.n_units), generator=torch.Generator().manual_seed(1)).float()
    e = rbm.energy(z).detach().double().numpy()
    np.testing.assert_allclose(e, _loop_energy(rbm, z.double().numpy()), atol=1e-5)
    bqm = rbm.to_bqm()
    assert bqm.vartype is dimod.BINARY and set(bqm.variables) == set(range(rbm.n_units))
    assert bqm.num_interactions == rbm.n_parameters - rbm.n_units
    np.testing.assert_allclose(bqm.energies((z.numpy(), list(range(rbm.n_units)))), e, atol=1e-5)
    h, J, offset = rbm.to_ising()
    spin = dimod.BinaryQuadraticModel.from_ising(h, J, offset)
    np.testing.assert_allclose(spin.energies(((2 * z - 1).numpy(), list(range(rbm.n_units)))), e, atol=1e-5)
    np.testing.assert_allclose(bqm.spin.energies(((2 * z - 1).numpy(), list(range(rbm.n_units)))), e, atol=1e-5)


def test_structure_and_weight_matrix():
    rbm = RBM((2, 3, 4, 5), weight_std=0.3, bias_std=0.1, seed=0)
    assert rbm.n_units == 14 and rbm.offsets == (0, 2, 5, 9) and rbm.pairs == [(0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3)]
    w = rbm.weight_matrix()
    assert torch.equal(w, w.T)
    for p in range(4):
        s = slice(rbm.offsets[p], rbm.offsets[p] + rbm.sizes[p])
        assert torch.count_nonzero(w[s, s]) == 0
    assert torch.equal(rbm.coupling(2, 1), rbm.coupling(1, 2).T)
    assert rbm.n_parameters == 14 + (2 * 3 + 2 * 4 + 2 * 5 + 3 * 4 + 3 * 5 + 4 * 5)
    assert [t.shape[1] for t in rbm.split(torch.zeros(3, 14))] == [2, 3, 4, 5]
    with pytest.raises(ConfigError):
        rbm.energy(torch.zeros(3, 13))


def test_initialisation_statistics_and_seed():
    rbm = RBM((100, 100, 100, 100), weight_std=0.2, bias_std=0.0, seed=5)
    w = torch.cat([rbm.coupling(p, q).flatten() for p, q in rbm.pairs]).detach()
    # 60,000 N(0, 0.2^2) draws: sample std within ~1% (its own sd is 0.2/sqrt(2*60000) = 0.06%)
    assert abs(float(w.std()) - 0.2) < 0.002 and abs(float(w.mean())) < 0.003
    assert torch.count_nonzero(rbm.bias_vector()) == 0
    again = RBM((100, 100, 100, 100), weight_std=0.2, seed=5)
    assert torch.equal(rbm.weight_matrix(), again.weight_matrix())
    assert not torch.equal(rbm.weight_matrix(), RBM((100, 100, 100, 100), weight_std=0.2, seed=6).weight_matrix())


def test_local_fields_give_exact_conditionals():
    rbm = RBM((3, 3, 3, 3), "zephyr", weight_std=1.0, bias_std=0.5, seed=2)
    z = torch.randint(0, 2, (20, 12), generator=torch.Generator().manual_seed(0)).float()
    for p in range(4):
        f = rbm.local_fields(z, p)
        for i in range(rbm.sizes[p]):
            k = rbm.offsets[p] + i
            z1, z0 = z.clone(), z.clone()
            z1[:, k], z0[:, k] = 1, 0
            # P(z_k=1|rest)/P(z_k=0|rest) = exp(E(z0) - E(z1))  <=>  field = E(z0) - E(z1)
            torch.testing.assert_close(f[:, i], rbm.energy(z0) - rbm.energy(z1), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("opt", ["adam", "adamw", "sgd"])
def test_masked_couplings_stay_zero_through_training(opt):
    rbm = RBM((6, 6, 6, 6), "zephyr", weight_std=0.5, seed=0)
    assert any(not rbm.mask(p, q).all() for p, q in rbm.pairs)
    make = {
        "adam": lambda ps: torch.optim.Adam(ps, lr=0.05, weight_decay=0.1),
        "adamw": lambda ps: torch.optim.AdamW(ps, lr=0.05, weight_decay=0.1),
        "sgd": lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.9, weight_decay=0.1),
    }[opt]
    optim = make(rbm.parameters())
    z = torch.randint(0, 2, (32, rbm.n_units), generator=torch.Generator().manual_seed(3)).float()
    before = {k: v.detach().clone() for k, v in rbm.weights.items()}
    for _ in range(5):
        optim.zero_grad()
        loss = rbm.energy(z).mean() + 0.1 * rbm.energy(1 - z).pow(2).mean()
        loss.backward()
        for p, q in rbm.pairs:
            g = rbm.weights[f"{p}{q}"].grad
            assert torch.count_nonzero(g[~rbm.mask(p, q)]) == 0
        optim.step()
    for p, q in rbm.pairs:
        w, m = rbm.weights[f"{p}{q}"].detach(), rbm.mask(p, q)
        assert torch.count_nonzero(w[~m]) == 0
        assert not torch.equal(w[m], before[f"{p}{q}"][m])  # the allowed ones did train


def test_config_roundtrip_and_state_dict_holds_masks():
    rbm = RBM((3, 4, 3, 4), "zephyr", weight_std=0.4, bias_std=0.2, seed=9)
    cfg = json.loads(json.dumps(rbm.config.to_dict()))
    assert isinstance(rbm.config, RBMConfig) and cfg["topology"] == "zephyr"
    sd = rbm.state_dict()
    assert all(f"mask_{p}{q}" in sd for p, q in rbm.pairs) and "labels_0" in sd
    clone = RBM.from_config(cfg, sd)
    z = torch.randint(0, 2, (10, 14)).float()
    torch.testing.assert_close(clone.energy(z), rbm.energy(z))
    assert clone.qubit_labels == rbm.qubit_labels and len(set(rbm.qubit_labels)) == 14
    fresh = RBM.from_config(rbm.config)  # same seed -> same init, masks rebuilt from dwave.graphs
    torch.testing.assert_close(fresh.weight_matrix(), rbm.weight_matrix())
    with pytest.raises(ConfigError, match="unknown RBM config keys"):
        RBM.from_config({**cfg, "hidden": 3})
    assert RBM((2, 2, 2, 2)).qubit_labels is None


def test_checkpoint_loads_without_dwave_graphs(monkeypatch):
    saved = RBM((3, 3, 3, 3), "pegasus", weight_std=0.5, seed=1)

    def no_graphs(*args, **kwargs):
        raise ImportError("No module named 'dwave.graphs'")

    monkeypatch.setattr(rbm_module, "four_partite_mask", no_graphs)
    pending = RBM((3, 3, 3, 3), "pegasus", weight_std=0.5, seed=1)
    with pytest.raises(ConfigError, match="dwave-graphs"):
        pending.weight_matrix()
    pending.load_state_dict(saved.state_dict())
    torch.testing.assert_close(pending.weight_matrix(), saved.weight_matrix())
    parent = torch.nn.Sequential(RBM((3, 3, 3, 3), "pegasus", seed=4))  # nested, as inside the QVAE
    parent.load_state_dict(torch.nn.Sequential(saved).state_dict())
    torch.testing.assert_close(parent[0].weight_matrix(), saved.weight_matrix())


def test_encode_condition_and_clamp_mask(device):
    rbm = RBM((5, 2, 2, 2)).to(device)
    e = torch.tensor([1e3, 5e3, 2e5, 1e6], device=device)
    for code in ("gray", "binary", "thermometer"):
        bits = rbm.encode_condition(e, code=code)
        assert bits.shape == (4, 5) and bits.device.type == device.type
        assert torch.equal(bits.cpu(), encode_energy(e.cpu(), 5, code=code))
    assert rbm.clamp_mask().tolist() == [True] * 5 + [False] * 6
