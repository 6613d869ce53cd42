"""Annealer samplers through dimod: valid samples, BQM energies, clamping, scaling, ground states, QPU errors."""
from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest
import torch

pytest.importorskip("dimod")
pytest.importorskip("dwave.samplers")

import dimod  # noqa: E402

from calolib.errors import QPUUnavailableError, SamplerError  # noqa: E402
from calolib.rbm import RBM  # noqa: E402
from calolib.samplers import exact_moments, get_sampler  # noqa: E402
from calolib.samplers.dimod_bridge import autoscale_factor, clamp_bqm, group_conditioning  # noqa: E402
from calolib.samplers.dimod_samplers import SamplerArgumentWarning, qpu_token_configured  # noqa: E402
from calolib.samplers.testing import assert_clamped, assert_sample_energies, assert_sampler_api  # noqa: E402
from calolib.temperature import estimate_beta_eff  # noqa: E402

FAST = {"sa": {"num_sweeps": 100}, "pimc": {"num_sweeps": 50}, "mock-qpu": {"num_sweeps": 50}}


@pytest.fixture(scope="module")
def rbm():
    return RBM((4, 4, 4, 4), "zephyr", weight_std=1.0, bias_std=0.5, seed=0)


def all_states(n):
    k = np.arange(2**n)[:, None]
    return ((k >> np.arange(n)) & 1).astype(np.float32)


@pytest.mark.parametrize("name", sorted(FAST))
def test_sampler_api_and_valid_samples(rbm, name):
    sampler = get_sampler(name, **FAST[name])
    assert_sampler_api(sampler)
    out = sampler.sample(rbm, 30, seed=1)
    assert out.z.shape == (30, 16) and out.num_occurrences.tolist() == [1] * 30
    assert_sample_energies(out, rbm)
    bqm = rbm.to_bqm()  # the dimod side agrees with rbm.energy on the returned states
    assert np.allclose(bqm.energies((out.z.numpy().astype(np.int8), range(16))), out.energy.numpy(), atol=1e-4)
    assert out.info["sampler"] == name and out.info["timing"]["total_s"] > 0
    again = sampler.sample(rbm, 30, seed=1)
    assert torch.equal(out.z, again.z)  # seeded


@pytest.mark.parametrize("name", sorted(FAST))
@pytest.mark.parametrize("clamp", ["fix", "bias"])
def test_conditioning_is_clamped_row_by_row(rbm, name, clamp):
    cond = torch.tensor([[1.0, 0, 1, 1], [0, 0, 0, 1], [1.0, 0, 1, 1]] * 8)
    out = get_sampler(name, **FAST[name]).sample(rbm, 24, conditioning=cond, seed=2, clamp=clamp)
    assert_clamped(out, cond, rbm)
    assert_sample_energies(out, rbm)
    assert out.info["n_groups"] == 2 and out.info["clamp"] == clamp
    if clamp == "bias":
        assert out.info["clamp_violation_rate"] == 0.0  # strength 4 at these temperatures


@pytest.mark.parametrize("clamp", ["fix", "bias"])
def test_clamped_sa_samples_the_exact_conditional(rbm, clamp):
    """SA ending at β = 1 is an equilibrium Metropolis chain: its marginals match the exact conditional ones."""
    c = torch.tensor([1.0, 0.0, 0.0, 1.0])
    n = 3000
    out = get_sampler("sa", num_sweeps=300).sample(rbm, n, conditioning=c, seed=3, clamp=clamp)
    exact = exact_moments(rbm, conditioning=c)["marginals"]
    got = out.z.double().mean(0).numpy()
    sd = np.sqrt(exact * (1 - exact) / n) + 1e-9
    assert np.all(np.abs(got - exact) < 5 * sd + 0.01), (got, exact)


def test_sa_long_anneal_finds_the_ground_state(rbm):
    z = torch.as_tensor(all_states(16))
    with torch.no_grad():
        e_min = float(rbm.energy(z).min())
    out = get_sampler("sa").sample(rbm, 20, seed=0, beta_range=(0.1, 30.0), num_sweeps=2000)
    assert math.isclose(float(out.energy.min()), e_min, abs_tol=1e-5)
    assert float(out.lowest().energy[0]) == float(out.energy.min())


def test_sa_final_beta_sets_the_temperature(rbm):
    for beta in (0.5, 2.0):
        out = get_sampler("sa").sample(rbm, 2000, seed=4, beta_range=(0.05, beta), num_sweeps=300)
        assert out.beta == beta and out.info["beta_nominal"] == beta
        est = estimate_beta_eff(rbm, out, "mpl")
        assert abs(est.beta - beta) < 0.1 * beta, est


def test_mock_qpu_scaling_and_nominal_beta(rbm):
    h, j, _ = rbm.to_ising()
    scale = max(max(abs(v) for v in h.values()) / 4.0, max(abs(v) for v in j.values()) / 1.0)
    out = get_sampler("mock-qpu").sample(rbm, 2000, seed=5)
    assert math.isclose(out.info["scale"], scale, rel_tol=1e-9)
    assert math.isclose(out.info["beta_nominal"], 4.0 / scale, rel_tol=1e-9) and out.beta == out.info["beta_nominal"]
    est = estimate_beta_eff(rbm, out, "mpl")  # the substitute SA ends at beta_device in scaled units
    assert abs(est.beta - out.info["beta_nominal"]) < 0.15 * out.info["beta_nominal"], (est, out.info)


def test_aggregate_counts_sum_to_the_request(rbm):
    out = get_sampler("sa", num_sweeps=50, aggregate=True).sample(rbm, 200, seed=6, beta_range=(0.1, 5.0))
    assert int(out.num_occurrences.sum()) == 200 and len(out) < 200
    assert_sample_energies(out, rbm)


def test_full_topology_needs_an_embedding():
    full = RBM((3, 3, 3, 3), weight_std=1.0, seed=0)
    with pytest.raises(SamplerError, match="minorminer"):
        get_sampler("mock-qpu").sample(full, 4, seed=0)
    pytest.importorskip("minorminer")
    out = get_sampler("mock-qpu", num_sweeps=50).sample(full, 20, seed=0, embedding="minorminer")
    assert_sample_energies(out, full)
    assert out.info["embedding"] == "minorminer" and out.info["max_chain_length"] >= 1


def test_rbm_off_the_device_graph_is_rejected():
    rbm = RBM((4, 4, 4, 4), "pegasus", weight_std=1.0, seed=0)
    sampler = get_sampler("mock-qpu", num_sweeps=10)
    assert_sample_energies(sampler.sample(rbm, 4, seed=0), rbm)
    from dwave.system.testing import MockDWaveSampler

    q = rbm.qubit_labels[0]
    broken = MockDWaveSampler(topology_type="pegasus", topology_shape=[2], broken_nodes=[q])
    sampler._children[("pegasus", (2,))] = broken
    with pytest.raises(SamplerError, match="not on the mock-qpu graph"):
        sampler.sample(rbm, 4, seed=0)


def test_qpu_without_token_raises_a_helpful_error(monkeypatch, tmp_path):
    monkeypatch.delenv("DWAVE_API_TOKEN", raising=False)
    monkeypatch.delenv("DWAVE_CONFIG_FILE", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    assert not qpu_token_configured()
    with pytest.raises(QPUUnavailableError, match="DWAVE_API_TOKEN") as info:
        get_sampler("qpu")
    assert "mock-qpu" in str(info.value) and "\n" not in str(info.value)
    assert isinstance(info.value, SamplerError)


def test_unknown_arguments(rbm):
    sampler = get_sampler("sa", num_sweeps=10)
    with pytest.warns(SamplerArgumentWarning, match="annealing_tme"):
        sampler.sample(rbm, 2, seed=0, annealing_tme=5)
    with pytest.raises(SamplerError, match="accepted"):
        get_sampler("sa", num_sweep=10)
    with pytest.raises(SamplerError, match="'fix' or 'bias'"):
        sampler.sample(rbm, 2, seed=0, conditioning=torch.zeros(4), clamp="glue")


def test_clamp_bqm_gives_the_conditional_energies(rbm):
    bqm = rbm.to_bqm()
    units, values = np.arange(4), np.array([1, 0, 0, 1])
    fixed = clamp_bqm(bqm, units, values, mode="fix")
    assert set(fixed.variables) == set(range(4, 16))
    free = all_states(12)[:256]
    full = np.concatenate([np.broadcast_to(values, (256, 4)), free], 1)
    assert np.allclose(fixed.energies((free.astype(np.int8), range(4, 16))), bqm.energies((full.astype(np.int8), range(16))))
    biased = clamp_bqm(bqm, units, values, mode="bias", strength=2.0)
    diff = biased.energies((full.astype(np.int8), range(16))) - bqm.energies((full.astype(np.int8), range(16)))
    assert np.allclose(diff, diff[0])  # a constant shift when the clamp holds: same conditional
    flipped = full.copy()
    flipped[:, 0] = 0  # violating the clamp costs at least the strength, whatever the other units do
    assert np.all(biased.energies((flipped.astype(np.int8), range(16))) - biased.energies((full.astype(np.int8), range(16))) >= 2.0 - 1e-9)


def test_autoscale_factor_and_grouping():
    bqm = dimod.BinaryQuadraticModel({0: -6.0, 1: 1.0}, {(0, 1): 0.5, (1, 2): -0.25}, 1.0, "SPIN")
    assert autoscale_factor(bqm, (-2.0, 2.0), (-1.0, 1.0)) == 3.0
    assert autoscale_factor(bqm, (-8.0, 8.0), (-0.5, 1.0)) == 0.75
    groups = group_conditioning(torch.tensor([[0.0, 1], [1, 1], [0, 1]]), 3)
    assert [(c.tolist(), r.tolist()) for c, r in groups] == [([0, 1], [0, 2]), ([1, 1], [1])]
    assert group_conditioning(None, 4)[0][0] is None


def test_torch_side_imports_without_dimod():
    code = (
        "import sys; import calolib.samplers, calolib.partition, calolib.temperature, calolib.rbm; "
        "bad = [m for m in sys.modules if m.split('.')[0] in ('dimod', 'dwave') or m.endswith('dimod_samplers')]; "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_mock_qpu_for_an_rbm_loaded_from_a_state_dict():
    """Masks from a state_dict carry no graph size: the sampler finds the graph that holds every coupling."""
    a = RBM((30, 30, 30, 30), "zephyr", weight_std=1.0, seed=1)  # zephyr_graph(2, 4)
    assert a.config.topology_kwargs == {}
    b = RBM.from_config(a.config.to_dict(), a.state_dict())
    out = get_sampler("mock-qpu", num_sweeps=20).sample(b, 8, seed=0)
    assert_sample_energies(out, b)


def test_probe_device_beta_measures_the_mock_temperature(rbm):
    from calolib.temperature import probe_device_beta

    est = probe_device_beta("mock-qpu", rbm, num_reads=3000, seed=1, beta_device=3.0)
    assert abs(est.info["beta_device"] - 3.0) < max(4 * est.stderr * est.info["scale"], 0.05 * 3.0), est
    scale = get_sampler("mock-qpu", num_sweeps=10).sample(rbm, 2, seed=0).info["scale"]
    assert math.isclose(est.info["scale"], scale) and math.isclose(est.beta, est.info["beta_device"] / scale)
    with pytest.raises(SamplerError, match="cannot be probed"):
        probe_device_beta("sa", rbm)


def test_vectorised_fix_equals_dimods_fix_variables_term_by_term():
    """The numpy clamp (bqm labelled 0..N-1) against dimod's own fix_variables, on a Zephyr RBM with clamped units
    spread over every partition; a bqm with other labels takes dimod's path and gives the same."""
    from calolib.rbm import RBM

    rbm = RBM((6, 8, 8, 8), topology="zephyr", weight_std=0.7, bias_std=0.5, seed=3)
    bqm = rbm.to_bqm()
    rng = np.random.default_rng(0)
    units = np.sort(rng.choice(bqm.num_variables, 11, replace=False))
    values = (rng.random(11) < 0.5).astype(np.int8)
    ours = clamp_bqm(bqm, units, values)
    ref = bqm.copy()
    ref.fix_variables({int(u): int(v) for u, v in zip(units, values)})
    assert set(ours.variables) == set(ref.variables) and ours.num_interactions == ref.num_interactions
    assert all(np.isclose(ours.linear[v], ref.linear[v]) for v in ref.variables)
    assert all(np.isclose(ours.quadratic[k], ref.quadratic[k]) for k in ref.quadratic)
    assert np.isclose(ours.offset, ref.offset)
    relabelled = bqm.relabel_variables({i: f"q{i}" for i in bqm.variables}, inplace=False)
    other = clamp_bqm(relabelled, [f"q{u}" for u in units], values)
    assert all(np.isclose(other.linear[f"q{v}"], ref.linear[v]) for v in ref.variables)
