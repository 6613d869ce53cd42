"""Block Gibbs against exact enumeration: marginals, pair correlations, clamping, beta; persistence."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from calolib.errors import SamplerError
from calolib.rbm import RBM
from calolib.samplers import (
    GibbsSampler,
    LatentSamples,
    PersistentChains,
    exact_moments,
    get_sampler,
    gibbs_sample,
    gibbs_trajectory,
)
from calolib.samplers.testing import assert_clamped, assert_sample_energies, assert_sampler_api


pytestmark = pytest.mark.usefixtures("one_torch_thread")


N_CHAINS = 20_000


def _check_moments(z: torch.Tensor, exact: dict, n_sigma: float = 5.0) -> None:
    """Sample marginals/pair correlations within n_sigma binomial standard errors of the exact ones."""
    z = z.double().cpu().numpy()
    n = len(z)
    for got, want in ((z.mean(0), exact["marginals"]), (z.T @ z / n, exact["correlations"])):
        se = np.sqrt(np.clip(want * (1 - want), 1e-4, None) / n)
        assert np.all(np.abs(got - want) <= n_sigma * se + 1e-9), float(np.max(np.abs(got - want) / se))


@pytest.mark.parametrize("sizes,topology,backend", [((4, 4, 4, 4), "full", "dense"), ((5, 5, 5, 5), "zephyr", "sparse"), ((4, 4, 4, 4), "zephyr", "auto")])
def test_gibbs_matches_exact_moments(sizes, topology, backend, device):
    rbm = RBM(sizes, topology, weight_std=0.8, bias_std=0.5, seed=11).to(device)
    exact = exact_moments(rbm)
    assert np.abs(exact["correlations"] - np.outer(exact["marginals"], exact["marginals"])).max() > 0.05  # not trivial
    z = gibbs_sample(rbm, N_CHAINS, 40, seed=0, backend=backend if device.type == "cpu" else "auto")
    assert z.shape == (N_CHAINS, rbm.n_units) and z.device.type == device.type
    _check_moments(z, exact)


@pytest.mark.parametrize("beta", [0.5, 2.0])
def test_gibbs_targets_beta(beta):
    rbm = RBM((4, 4, 4, 4), "zephyr", weight_std=0.6, bias_std=0.4, seed=3)
    exact = exact_moments(rbm, beta=beta)
    _check_moments(gibbs_sample(rbm, N_CHAINS, 60, beta=beta, seed=1), exact)
    other = exact_moments(rbm, beta=1.0)
    assert np.abs(other["correlations"] - exact["correlations"]).max() > 0.03  # beta matters at this tolerance


def test_clamped_sampling_matches_exact_conditional():
    rbm = RBM((4, 5, 5, 5), "full", weight_std=0.7, bias_std=0.5, seed=5)
    cond = torch.tensor([1.0, 0.0, 1.0, 1.0])
    z = gibbs_sample(rbm, N_CHAINS, 40, seed=2, conditioning=cond)
    assert torch.all(z[:, :4] == cond)
    exact = exact_moments(rbm, conditioning=cond)
    _check_moments(z, exact)
    free = exact_moments(rbm)
    assert np.abs(free["marginals"][4:] - exact["marginals"][4:]).max() > 0.05  # clamping changes the rest


def test_per_row_conditioning_and_sampler_api():
    rbm = RBM((3, 3, 3, 3), weight_std=0.5, seed=0)
    cond = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 1.0]]).repeat(5, 1)
    sampler = get_sampler("gibbs", n_steps=5)
    assert isinstance(sampler, GibbsSampler)
    assert_sampler_api(sampler)
    s = sampler.sample(rbm, 10, conditioning=cond, seed=4)
    assert_sample_energies(s, rbm)
    assert_clamped(s, cond, rbm)
    with pytest.raises(SamplerError, match="conditioning must have shape"):
        sampler.sample(rbm, 10, conditioning=torch.ones(4))
    with pytest.raises(SamplerError, match="0/1"):
        sampler.sample(rbm, 3, conditioning=torch.full((3,), 0.5))
    with pytest.raises(SamplerError, match="unknown arguments"):
        sampler.sample(rbm, 3, temperature=2.0)


def test_seed_reproducibility_and_backends_agree():
    rbm = RBM((6, 6, 6, 6), "zephyr", weight_std=0.5, seed=1)
    a = gibbs_sample(rbm, 50, 10, seed=7, backend="dense")
    b = gibbs_sample(rbm, 50, 10, seed=7, backend="sparse")
    c = gibbs_sample(rbm, 50, 10, seed=8, backend="dense")
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_magnetisation_trajectory_is_consistent_with_states():
    rbm = RBM((3, 3, 3, 3), weight_std=0.5, bias_std=1.0, seed=2)
    z, mag = gibbs_sample(rbm, 64, 12, seed=3, record_magnetisation=True)
    assert mag.shape == (64, 12)
    torch.testing.assert_close(mag[:, -1], (2 * z - 1).mean(dim=1))
    traj = gibbs_trajectory(rbm, 64, 12, seed=3, every=3)
    assert traj.shape == (64, 4)
    torch.testing.assert_close(traj, mag[:, 2::3])
    # long-run average magnetisation agrees with the exact one
    exact = exact_moments(rbm)
    m_exact = float(np.mean(2 * exact["marginals"] - 1))
    long = gibbs_trajectory(rbm, 4000, 30, seed=0)
    assert abs(float(long[:, 10:].mean()) - m_exact) < 0.02


def test_persistent_chains_resume_exactly_and_converge():
    rbm = RBM((4, 4, 4, 4), "zephyr", weight_std=0.8, bias_std=0.5, seed=4)
    pc = PersistentChains(rbm, 1000, seed=3)
    pc.run(3)
    state = pc.state_dict()
    ahead = pc.run(4).clone()
    again = PersistentChains(rbm, 1000, seed=99)
    again.load_state_dict(state)
    assert torch.equal(again.run(4), ahead)
    big = PersistentChains(rbm, N_CHAINS, seed=0)
    for _ in range(4):
        big.run(10)
    _check_moments(big.z, exact_moments(rbm))
    with pytest.raises(SamplerError):
        pc.z = torch.zeros(3, 16)


def test_get_sampler_unknown_name_lists_valid_ones():
    with pytest.raises(SamplerError, match="valid names: .*gibbs"):
        get_sampler("metropolis")


def test_latent_samples_validation():
    z = torch.tensor([[0.0, 1.0], [1.0, 1.0]])
    ok = LatentSamples(z, torch.zeros(2), torch.ones(2, dtype=torch.int64))
    assert len(ok) == 2 and ok.n_samples == 2 and ok.expand().shape == (2, 2)
    bad = [
        dict(z=torch.tensor([[0.0, -1.0], [1.0, 1.0]])),  # spins, not bits
        dict(z=z[0]),
        dict(energy=torch.zeros(3)),
        dict(num_occurrences=torch.ones(2)),
        dict(num_occurrences=-torch.ones(2, dtype=torch.int64)),
        dict(beta=0.0),
    ]
    base = dict(z=z, energy=torch.zeros(2), num_occurrences=torch.ones(2, dtype=torch.int64))
    for b in bad:
        with pytest.raises(SamplerError):
            LatentSamples(**{**base, **b})
    agg = LatentSamples(torch.tensor([[1.0, 0.0], [0.0, 0.0], [1.0, 0.0]]), torch.tensor([2.0, 0.0, 2.0]), torch.tensor([1, 2, 3])).aggregate()
    assert agg.z.tolist() == [[0.0, 0.0], [1.0, 0.0]] and agg.num_occurrences.tolist() == [2, 4] and agg.energy.tolist() == [0.0, 2.0]


@pytest.mark.gpu
def test_bf16_gibbs_on_cuda_is_close_to_exact(device):
    rbm = RBM((4, 4, 4, 4), "zephyr", weight_std=0.5, bias_std=0.3, seed=1).to(device)
    z = gibbs_sample(rbm, N_CHAINS, 40, seed=0, dtype=torch.bfloat16)
    _check_moments(z, exact_moments(rbm), n_sigma=8.0)  # bf16 couplings round to 3 significant digits


def test_sampler_benchmark_runs_tiny(tmp_path):
    pytest.importorskip("dwave.samplers")
    import argparse

    from calolib.bench import sampler as bench

    parser = argparse.ArgumentParser()
    bench.add_arguments(parser)
    args = parser.parse_args(["--sizes", "6", "--chains", "16", "--sweeps", "2", "--raw-chains", "32", "--raw-sweeps", "3",
                              "--sa-reads", "2", "--sa-sweeps", "5", "--repeats", "1", "--skip", "plugin-blocksampler", "--no-jit"])
    args.device, args.out = "cpu", str(tmp_path / "sampler.json")
    result = bench.run(args)
    s = result["summary"]
    assert set(s["workloads"]) == {"anneal", "raw"}
    names = {"calolib-gibbs", "calolib-gibbs-torch", "dwave-sa"}
    for wl in s["workloads"].values():
        assert set(wl["spin_updates_per_s"]) == names and wl["description"]
        assert np.isclose(wl["speedup_vs_sa"], wl["spin_updates_per_s"]["calolib-gibbs"] / wl["spin_updates_per_s"]["dwave-sa"])
    want = {("anneal", "calolib-gibbs"): 16 * 2, ("raw", "calolib-gibbs"): 32 * 3, ("raw", "dwave-sa"): 2 * 5, ("anneal", "dwave-sa"): 16 * 2}
    for r in result["runs"]:
        if (r["workload"], r["name"]) in want:
            assert r["spin_updates"] == want[(r["workload"], r["name"])] * 24
    assert s["headline"]["raw_speedup_vs_sa"] == s["workloads"]["raw"]["speedup_vs_sa"]
    assert len(s["load_average"]["before"]) == 3 and s["versions"]["torch"] == torch.__version__
    assert (tmp_path / "sampler.png").stat().st_size > 0


@pytest.mark.slow
def test_sampler_benchmark_measures_cold_and_cached_jit():
    pytest.importorskip("numba")
    from calolib.bench.sampler import jit_times

    t = jit_times()
    assert set(t) == {"cold_first_call_s", "cold_import_s", "cached_first_call_s", "cached_import_s"}
    assert t["cached_first_call_s"] < t["cold_first_call_s"]  # the cache is used
