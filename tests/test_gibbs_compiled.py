"""The compiled (numba) block-Gibbs engine: exact enumeration, agreement with the torch engine in
distribution, determinism (seed, threads, batch size), the sigmoid's accuracy, engine selection."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import special, stats

from calolib.errors import SamplerError
from calolib.rbm import RBM
from calolib.samplers import PersistentChains, exact_moments, gibbs_sample, gibbs_trajectory
from calolib.samplers import compiled
from calolib.samplers.gibbs import resolve_backend

pytest.importorskip("numba")
pytestmark = pytest.mark.usefixtures("one_torch_thread")

N_CHAINS = 20_000


def _check_moments(z: torch.Tensor, exact: dict, n_sigma: float = 5.0) -> None:
    z = z.double().cpu().numpy()
    n = len(z)
    for got, want in ((z.mean(0), exact["marginals"]), (z.T @ z / n, exact["correlations"])):
        se = np.sqrt(np.clip(want * (1 - want), 1e-4, None) / n)
        assert np.all(np.abs(got - want) <= n_sigma * se + 1e-9), float(np.max(np.abs(got - want) / se))


@pytest.mark.parametrize("sizes,topology,beta", [
    ((4, 4, 4, 4), "full", 1.0), ((5, 5, 5, 5), "zephyr", 1.0), ((4, 4, 4, 4), "chimera", 1.0),
    ((4, 4, 4, 4), "pegasus", 1.0), ((4, 4, 4, 4), "zephyr", 0.5), ((4, 4, 4, 4), "zephyr", 2.0),
])
def test_compiled_matches_exact_moments(sizes, topology, beta):
    rbm = RBM(sizes, topology, weight_std=0.8, bias_std=0.5, seed=11)
    exact = exact_moments(rbm, beta=beta)
    assert np.abs(exact["correlations"] - np.outer(exact["marginals"], exact["marginals"])).max() > 0.05  # not trivial
    z = gibbs_sample(rbm, N_CHAINS, 40, beta=beta, seed=0, backend="numba")
    assert z.shape == (N_CHAINS, rbm.n_units) and z.dtype == torch.float32
    _check_moments(z, exact)


@pytest.mark.parametrize("backend", ["numba", "torch"])
def test_clamped_compiled_and_torch_match_exact_conditional(backend):
    rbm = RBM((4, 5, 5, 5), "full", weight_std=0.7, bias_std=0.5, seed=5)
    cond = torch.tensor([0.0, 1.0, 1.0, 0.0])
    z = gibbs_sample(rbm, N_CHAINS, 40, seed=2, conditioning=cond, backend=backend)
    assert torch.all(z[:, :4] == cond)
    _check_moments(z, exact_moments(rbm, conditioning=cond))
    # per-row conditioning: each half follows its own conditional
    rows = torch.stack([cond, 1 - cond]).repeat_interleave(N_CHAINS // 2, dim=0)
    z2 = gibbs_sample(rbm, N_CHAINS, 40, seed=3, conditioning=rows, backend=backend)
    assert torch.equal(z2[:, :4], rows)
    _check_moments(z2[N_CHAINS // 2 :], exact_moments(rbm, conditioning=1 - cond))


def _energies(rbm, backend, beta=1.0, seed=0, n=8000):
    z = gibbs_sample(rbm, n, 60, beta=beta, seed=seed, backend=backend)
    return rbm.energy(z).detach().double().numpy(), z.double().numpy()


def test_compiled_and_torch_engines_agree_in_distribution():
    """An RBM too large to enumerate (96 units): both engines' energy distributions and marginals agree,
    and the same comparison tells beta = 1 from beta = 1.15 apart (so it can fail)."""
    rbm = RBM((24, 24, 24, 24), "zephyr", weight_std=0.6, bias_std=0.4, seed=2)
    e_c, z_c = _energies(rbm, "numba", seed=1)
    e_t, z_t = _energies(rbm, "torch", seed=2)
    assert stats.ks_2samp(e_c, e_t).pvalue > 1e-3
    se = np.sqrt((z_c.var(0) + z_t.var(0)) / len(z_c)) + 1e-9
    assert np.max(np.abs(z_c.mean(0) - z_t.mean(0)) / se) < 5.0
    e_hot, _ = _energies(rbm, "torch", beta=1.15, seed=3)
    assert stats.ks_2samp(e_c, e_hot).pvalue < 1e-6


def test_compiled_is_deterministic_in_seed_threads_and_batch():
    rbm = RBM((16, 16, 16, 16), "zephyr", weight_std=0.5, bias_std=0.3, seed=1)
    a = gibbs_sample(rbm, 100, 10, seed=7, backend="numba")
    assert torch.equal(a, gibbs_sample(rbm, 100, 10, seed=7, backend="numba"))
    assert not torch.equal(a, gibbs_sample(rbm, 100, 10, seed=8, backend="numba"))
    # chain b depends on (seed, b) only: fewer chains (another tile width) give the same first chains
    assert torch.equal(a[:20], gibbs_sample(rbm, 20, 10, seed=7, backend="numba"))
    torch.set_num_threads(3)  # the compiled engine follows torch's thread count (2 tiles here, 3 below)
    try:
        assert compiled.threading_info()["engine_threads"] == 3
        assert torch.equal(a, gibbs_sample(rbm, 100, 10, seed=7, backend="numba"))
        b = gibbs_sample(rbm, 200, 10, seed=7, backend="numba")
    finally:
        torch.set_num_threads(1)
    assert torch.equal(b[:100], a) and torch.equal(b, gibbs_sample(rbm, 200, 10, seed=7, backend="numba"))
    # progress bars run the sweeps in chunks: same result
    z, m = gibbs_sample(rbm, 100, 10, seed=7, backend="numba", record_magnetisation=True, progress=True)
    assert torch.equal(z, a) and m.shape == (100, 10)
    torch.testing.assert_close(m[:, -1], (2 * a - 1).mean(dim=1))
    traj = gibbs_trajectory(rbm, 100, 10, seed=7, every=5, backend="numba")
    torch.testing.assert_close(traj, m[:, 4::5])


def test_compiled_sigmoid_accuracy():
    from calolib.samplers._numba_kernels import sigmoid

    x = np.linspace(-20, 20, 400_001).astype(np.float32)
    err = np.abs(sigmoid(x).astype(np.float64) - special.expit(x.astype(np.float64)))
    assert err.max() < 5e-6
    far = np.array([-40.0, 40.0], np.float32)
    assert np.all(np.abs(sigmoid(far) - special.expit(far.astype(np.float64))) < 3e-9)


def test_random_initial_bits_are_fair_and_per_chain():
    chains = compiled.TiledChains.new(50, 4000, seed=3)
    z = chains.states().numpy()
    assert abs(z.mean() - 0.5) < 5 * 0.5 / np.sqrt(z.size)
    assert abs(np.corrcoef(z[:, 0], z[:, 1])[0, 1]) < 0.06 and abs(np.corrcoef(z[:-1, 0], z[1:, 0])[0, 1]) < 0.06
    assert np.array_equal(compiled.TiledChains.new(50, 30, seed=3).states().numpy(), z[:30])


def test_persistent_chains_compiled_engine_resumes_and_switches_engine():
    rbm = RBM((4, 4, 4, 4), "zephyr", weight_std=0.8, bias_std=0.5, seed=4)
    pc = PersistentChains(rbm, 500, seed=3)
    assert pc.engine == "numba"
    pc.run(3)
    state = pc.state_dict()
    ahead = pc.run(4).clone()
    again = PersistentChains(rbm, 500, seed=99)
    again.load_state_dict(state)
    assert torch.equal(again.run(4), ahead)
    torch_pc = PersistentChains(rbm, 500, seed=3, backend="torch")
    assert torch_pc.engine == "torch"
    torch_pc.load_state_dict(state)  # another engine's state: chains kept, streams restarted from the seed
    assert torch.equal(torch_pc.z, state["z"])
    pc.backend = "torch"  # switching engine keeps the chains
    before = pc.z.clone()
    pc.run(0)
    assert pc.engine == "torch" and torch.equal(pc.z, before)


def test_engine_selection(monkeypatch):
    rbm = RBM((2, 2, 2, 2))
    assert resolve_backend(rbm) == "numba"
    assert resolve_backend(rbm, "auto", torch.float64) == "torch"
    with pytest.raises(SamplerError, match="unknown Gibbs backend"):
        gibbs_sample(rbm, 2, 1, backend="numpy")
    with pytest.raises(SamplerError, match="float32"):
        resolve_backend(rbm, "numba", torch.float64)
    monkeypatch.setattr(compiled, "numba_available", lambda: False)
    assert resolve_backend(rbm) == "torch"  # without numba, auto falls back to torch
    with pytest.raises(SamplerError, match="pip install numba"):
        resolve_backend(rbm, "numba")
    assert gibbs_sample(rbm, 3, 2).shape == (3, 8)


def test_torch_and_cuda_paths_never_import_numba():
    """The GPU box has torch but no numba: importing the samplers, the torch engine and a CUDA RBM's engine
    choice must not import it."""
    import subprocess
    import sys

    code = """
import sys, torch
from calolib.rbm import RBM
from calolib.samplers import PersistentChains, get_sampler, gibbs_sample
from calolib.samplers.gibbs import resolve_backend
rbm = RBM((2, 2, 2, 2))
gibbs_sample(rbm, 3, 2, backend="torch")
PersistentChains(rbm, 3, backend="torch").run(1)
class OnCuda:
    device = torch.device("cuda")
assert resolve_backend(OnCuda()) == "torch" and resolve_backend(OnCuda(), "dense") == "dense"
assert "numba" not in sys.modules, "numba was imported"
gibbs_sample(rbm, 3, 2)
assert "numba" in sys.modules  # the CPU default does use it
"""
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
