"""The layer-energy flow: exact feature inverse, empty layers, reproducible sampling, and that training
it recovers a known conditional distribution."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from calolib.errors import ConfigError
from calolib.models.energy import LayerEnergyFlow


def _layers(n, rng):
    e = np.exp(rng.uniform(np.log(1e3), np.log(1e6), n))
    frac = rng.dirichlet([2.0, 5.0, 3.0, 0.3], n)
    L = 0.7 * e[:, None] * frac
    L[L < 0.05] = 0.0  # empty layers, as after a readout threshold
    return torch.tensor(e), torch.tensor(L)


def test_features_invert_exactly_up_to_the_dequantisation():
    e, L = _layers(500, np.random.default_rng(0))
    f = LayerEnergyFlow(4, threshold_mev=0.05, transforms=1, hidden=(8,), dequant=1.0).fit_stats(e, L, seed=0)
    u = f.features(e, L, generator=torch.Generator().manual_seed(1))
    back = f.energies(e, u)
    nz = L > 0
    # non-empty layers come back within the dequantisation noise (< threshold), empty ones exactly empty
    assert torch.all((back[nz] - L[nz]).abs() <= 0.05)
    assert torch.all(back[~nz] == 0)
    assert torch.all((back == 0) | (back >= 0.05))


def test_wrong_shapes_and_threshold_are_clear_errors():
    with pytest.raises(ConfigError, match="threshold"):
        LayerEnergyFlow(3, threshold_mev=0.0)
    f = LayerEnergyFlow(3, threshold_mev=0.01, transforms=1, hidden=(8,))
    with pytest.raises(ConfigError, match=r"layer energies must be \(2, 3\)"):
        f.features(torch.ones(2), torch.ones(2, 4))


def test_sampling_is_seeded_and_leaves_the_global_rng_alone():
    f = LayerEnergyFlow(3, threshold_mev=0.01, transforms=1, hidden=(8,))
    e = torch.full((6,), 1e4)
    torch.manual_seed(5)
    before = torch.rand(1)
    torch.manual_seed(5)
    a = f.sample(e, seed=3)
    after = torch.rand(1)
    assert torch.equal(before, after)
    assert torch.equal(a, f.sample(e, seed=3)) and not torch.equal(a, f.sample(e, seed=4))
    assert a.shape == (6, 3) and bool((a >= 0).all())


def test_trained_flow_recovers_energy_response_and_layer_fractions():
    """Train on toy showers with a known E_inc-dependent layer split; samples reproduce its means."""
    rng = np.random.default_rng(2)
    n = 4000
    e = np.exp(rng.uniform(np.log(1e3), np.log(1e6), n))
    t = np.log(e / 1e3) / np.log(1e3)
    f0 = 0.6 - 0.4 * t + 0.03 * rng.normal(size=n)  # the front fraction falls with energy
    ratio = 0.7 * (1 + 0.05 * rng.normal(size=n) / np.sqrt(e / 1e3))
    L = np.stack([f0, 1 - f0], 1) * (ratio * e)[:, None]
    et, Lt = torch.tensor(e), torch.tensor(L)
    torch.manual_seed(0)
    flow = LayerEnergyFlow(2, threshold_mev=0.01, transforms=2, hidden=(32, 32), seed=0).fit_stats(et, Lt, seed=0)
    opt = torch.optim.Adam(flow.parameters(), lr=3e-3)
    for step in range(600):
        idx = torch.randint(0, n, (256,))
        loss = flow.nll(et[idx], Lt[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
    for e0, f_true in ((2e3, 0.6 - 0.4 * np.log(2)/np.log(1e3)), (5e5, 0.6 - 0.4 * np.log(500)/np.log(1e3))):
        s = flow.sample(torch.full((3000,), e0), seed=1).double().numpy()
        tot = s.sum(1)
        assert abs(np.mean(tot / e0) - 0.7) < 0.01
        assert abs(np.mean(s[:, 0] / tot) - f_true) < 0.02
