"""β_eff estimators recover a known β from samples drawn exactly at that β; importance weights reach β = 1."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from calolib.errors import CalolibError
from calolib.rbm import RBM
from calolib.samplers import ExactSampler, LatentSamples
from calolib.temperature import (
    METHODS,
    compare_beta_estimators,
    effective_sample_size,
    estimate_beta_eff,
    importance_weights,
    weighted_mean,
)


def exact_energy_moments(rbm, beta):
    """Independent reference: enumerate all states, Boltzmann weights at beta, mean and variance of E."""
    n = rbm.n_units
    k = np.arange(2**n)[:, None]
    z = torch.as_tensor(((k >> np.arange(n)) & 1).astype(np.float32))
    with torch.no_grad():
        e = rbm.energy(z).double()
    p = torch.softmax(-beta * e, 0)
    m = float(p @ e)
    return m, float(p @ (e - m) ** 2)


@pytest.fixture(scope="module", params=["full", "zephyr"])
def rbm(request):
    return RBM((4, 4, 4, 4), request.param, weight_std=0.7, bias_std=0.5, seed=2)


@pytest.mark.parametrize("beta", [0.5, 2.0])
def test_every_estimator_recovers_a_known_beta(rbm, beta):
    samples = ExactSampler(beta=beta).sample(rbm, 3000, seed=11)
    estimates = compare_beta_estimators(rbm, samples, seed=0)
    assert [e.method for e in estimates] == list(METHODS)
    for est in estimates:
        assert abs(est.beta - beta) < 0.1 * beta, est
        assert 0 < est.stderr < 0.05 * beta, est
        assert abs(est.beta - beta) < 5 * est.stderr, est  # the quoted errors are honest


def test_gibbs_reference_paths_recover_beta():
    rbm = RBM((4, 4, 4, 4), "zephyr", weight_std=0.7, bias_std=0.5, seed=2)
    samples = ExactSampler(beta=2.0).sample(rbm, 3000, seed=3)
    for method in ("moments", "ratio"):
        est = estimate_beta_eff(rbm, samples, method, exact_max_units=0, n_chains=2000, n_steps=60, seed=1)
        assert est.info["reference"] == "gibbs"
        assert abs(est.beta - 2.0) < 0.2 and abs(est.beta - 2.0) < 5 * est.stderr, est


def test_mpl_agrees_with_dwave_implementation(rbm):
    pytest.importorskip("dwave.system")
    samples = ExactSampler(beta=1.5).sample(rbm, 1000, seed=4)
    ours = estimate_beta_eff(rbm, samples, "mpl")
    theirs = estimate_beta_eff(rbm, samples, "mpl", backend="dwave")
    assert math.isclose(ours.beta, theirs.beta, rel_tol=1e-5)


def test_conditioned_samples_exclude_the_clamped_partition():
    rbm = RBM((4, 4, 4, 4), weight_std=0.7, bias_std=0.5, seed=6)
    cond = torch.tensor([[1.0, 0, 1, 0]] * 1500 + [[0.0, 1, 1, 1]] * 1500)
    samples = ExactSampler(beta=2.0).sample(rbm, 3000, conditioning=cond, seed=5)
    assert samples.info["conditioned"]
    for est in compare_beta_estimators(rbm, samples, ("mpl", "fast", "moments")):
        assert abs(est.beta - 2.0) < 0.2, est
    # counting the clamped units as if they were sampled biases the single-unit estimators
    wrong = estimate_beta_eff(rbm, samples.z, "mpl")
    right = estimate_beta_eff(rbm, samples, "mpl")
    assert abs(wrong.beta - 2.0) > abs(right.beta - 2.0)


def test_num_occurrences_count_as_repeated_samples(rbm):
    samples = ExactSampler(beta=2.0).sample(rbm, 2000, seed=8)
    agg = samples.aggregate()
    assert len(agg) < len(samples)
    for method in ("mpl", "fast", "moments"):
        a, b = estimate_beta_eff(rbm, samples, method), estimate_beta_eff(rbm, agg, method)
        assert math.isclose(a.beta, b.beta, rel_tol=1e-6, abs_tol=1e-9), (method, a, b)


def test_importance_weights_move_averages_to_beta_one(rbm):
    beta_eff = 2.0
    samples = ExactSampler(beta=beta_eff).sample(rbm, 20000, seed=9)
    w = importance_weights(rbm, samples, beta_eff)
    m1, var1 = exact_energy_moments(rbm, 1.0)
    m2, _ = exact_energy_moments(rbm, beta_eff)
    reweighted = float(weighted_mean(samples.energy, w))
    ess = effective_sample_size(w)
    assert 100 < ess < len(samples)
    tol = 5 * math.sqrt(var1 / ess)
    assert abs(reweighted - m1) < tol, (reweighted, m1, tol)
    assert abs(float(samples.energy.double().mean()) - m1) > 3 * tol  # unweighted: clearly off (near m2)
    assert abs(float(samples.energy.double().mean()) - m2) < 0.1


def test_importance_weight_properties(rbm):
    z = ExactSampler().sample(rbm, 50, seed=1).z
    w1 = importance_weights(rbm, z, 1.0)
    assert torch.allclose(w1, torch.full((50,), 1 / 50, dtype=torch.float64))
    w = importance_weights(rbm, z, 0.3)
    assert math.isclose(float(w.sum()), 1.0, rel_tol=1e-12) and bool((w > 0).all())
    with torch.no_grad():
        e = rbm.energy(z).double()
    ratio = torch.log(w[1:] / w[0])
    assert torch.allclose(ratio, -(1 - 0.3) * (e[1:] - e[0]), atol=1e-6)
    # huge energies do not overflow (log space)
    big = LatentSamples(z, e * 1e4, torch.ones(50, dtype=torch.int64))
    assert torch.isfinite(importance_weights(rbm, big, 0.5)).all()
    counts = LatentSamples(z[:2], e[:2], torch.tensor([3, 1]))
    assert torch.allclose(importance_weights(rbm, counts, 1.0), torch.tensor([0.75, 0.25], dtype=torch.float64))
    assert effective_sample_size(torch.tensor([0.5, 0.5, 0.0])) == 2.0
    vals = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    assert torch.allclose(weighted_mean(vals, torch.tensor([1.0, 3.0])), torch.tensor([2.5, 3.5], dtype=torch.float64))


def test_bad_input(rbm):
    z = ExactSampler().sample(rbm, 20, seed=1)
    with pytest.raises(CalolibError, match="mpl"):
        estimate_beta_eff(rbm, z, "guess")
    with pytest.raises(CalolibError, match="two samples"):
        estimate_beta_eff(rbm, z.z[:1], "mpl")
    with pytest.raises(CalolibError, match="shape"):
        estimate_beta_eff(rbm, torch.zeros(5, 3), "mpl")


def test_ground_states_give_infinite_mpl_beta():
    rbm = RBM((1, 1, 1, 1), weight_std=0.0, bias_std=0.0, seed=0)
    with torch.no_grad():
        rbm.biases[0].fill_(1.0)
        rbm.biases[1].fill_(-1.0)
        rbm.biases[2].fill_(2.0)
        rbm.biases[3].fill_(-2.0)
    ground = torch.tensor([[1.0, 0.0, 1.0, 0.0]] * 10)
    assert estimate_beta_eff(rbm, ground, "mpl").beta == math.inf
