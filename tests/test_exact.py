"""Exact enumeration: states, probabilities, moments and the exact sampler against brute force."""
from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from scipy import stats

from calolib.errors import SamplerError
from calolib.rbm import RBM
from calolib.samplers import ExactSampler, enumerate_states, exact_log_probs, exact_moments, get_sampler
from calolib.samplers.testing import assert_clamped, assert_sample_energies, assert_sampler_api


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _brute(rbm: RBM, beta: float = 1.0):
    """All states by itertools and their log-probabilities through rbm.energy (independent path)."""
    z = torch.tensor(list(itertools.product([0.0, 1.0], repeat=rbm.n_units)), dtype=torch.float64)
    e = rbm.double().energy(z).detach()
    rbm.float()
    lw = -beta * e
    return z, lw - torch.logsumexp(lw, 0), float(torch.logsumexp(lw, 0))


def test_enumerate_states_counts_in_binary():
    s = enumerate_states(5)
    assert s.shape == (32, 5)
    value = (s * 2 ** torch.arange(4, -1, -1)).sum(1)
    assert torch.equal(value, torch.arange(32, dtype=torch.float32))
    assert torch.equal(enumerate_states(5, start=7, stop=9), s[7:9])


@pytest.mark.parametrize("topology,beta", [("full", 1.0), ("zephyr", 1.0), ("zephyr", 0.4)])
def test_probabilities_and_moments_match_brute_force(topology, beta):
    rbm = RBM((3, 3, 3, 3), topology, weight_std=0.9, bias_std=0.6, seed=8)
    z, log_p, log_z = _brute(rbm, beta)
    torch.testing.assert_close(exact_log_probs(rbm, beta=beta), log_p, atol=1e-9, rtol=0)
    m = exact_moments(rbm, beta=beta)
    p = log_p.exp()
    assert np.isclose(m["log_z"], log_z, atol=1e-9)
    np.testing.assert_allclose(m["marginals"], (p @ z).numpy(), atol=1e-10)
    np.testing.assert_allclose(m["correlations"], ((z * p[:, None]).T @ z).numpy(), atol=1e-10)
    e = rbm.double().energy(z).detach()
    rbm.float()
    assert np.isclose(m["mean_energy"], float(p @ e), atol=1e-9)


def test_conditional_moments_are_joint_ratios():
    rbm = RBM((2, 3, 3, 3), weight_std=0.8, bias_std=0.5, seed=1)
    cond = torch.tensor([0.0, 1.0])
    z, log_p, _ = _brute(rbm)
    keep = (z[:, :2] == cond.double()).all(1)
    pc = log_p[keep].exp()
    pc = pc / pc.sum()
    m = exact_moments(rbm, conditioning=cond)
    np.testing.assert_allclose(m["marginals"], (pc @ z[keep]).numpy(), atol=1e-10)
    assert np.allclose(m["marginals"][:2], [0.0, 1.0])


def test_beta_zero_is_uniform():
    m = exact_moments(RBM((2, 2, 2, 2), weight_std=2.0, bias_std=2.0, seed=0), beta=0.0)
    assert np.allclose(m["marginals"], 0.5) and np.isclose(m["log_z"], 8 * np.log(2))


def test_exact_sampler_frequencies_follow_probabilities():
    rbm = RBM((2, 2, 2, 2), weight_std=1.0, bias_std=0.5, seed=3)
    sampler = get_sampler("exact")
    assert isinstance(sampler, ExactSampler)
    assert_sampler_api(sampler)
    n = 100_000
    s = sampler.sample(rbm, n, seed=0)
    assert_sample_energies(s, rbm)
    agg = s.aggregate()
    assert agg.n_samples == n
    index = (agg.z * 2 ** torch.arange(7, -1, -1)).sum(1).long()
    counts = torch.zeros(256, dtype=torch.int64)
    counts[index] = agg.num_occurrences
    expected = exact_log_probs(rbm).exp().numpy() * n
    chi2 = stats.chisquare(counts.numpy(), expected)
    assert chi2.pvalue > 1e-4


def test_exact_sampler_per_row_conditioning():
    rbm = RBM((2, 2, 3, 3), weight_std=1.0, bias_std=0.5, seed=2)
    cond = torch.tensor([[1.0, 0.0], [0.0, 0.0], [1.0, 1.0]]).repeat(2000, 1)
    s = ExactSampler().sample(rbm, len(cond), conditioning=cond, seed=1)
    assert_clamped(s, cond, rbm)
    assert_sample_energies(s, rbm)
    rows = (cond == torch.tensor([1.0, 1.0])).all(1)
    got = s.z[rows].double().mean(0).numpy()
    want = exact_moments(rbm, conditioning=torch.tensor([1.0, 1.0]))["marginals"]
    se = np.sqrt(np.clip(want * (1 - want), 1e-4, None) / int(rows.sum()))
    assert np.all(np.abs(got - want) <= 5 * se)


def test_too_many_units_is_a_clear_error():
    with pytest.raises(SamplerError, match="<= 24 free units"):
        exact_moments(RBM((7, 7, 7, 7)))
    with pytest.raises(SamplerError, match="unknown arguments"):
        ExactSampler().sample(RBM((1, 1, 1, 1)), 2, n_steps=3)
