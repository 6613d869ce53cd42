"""ln Z: exact enumeration against brute force; AIS / RAIS against exact, their bias directions; LL."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from calolib.errors import CalolibError, ConfigError
from calolib.partition import ais, ais_log_weights, beta_schedule, exact_log_z, log_likelihood, log_mean_exp, rais
from calolib.rbm import RBM
from calolib.samplers import ExactSampler


def brute_log_z(rbm, beta=1.0):
    """Independent reference: every state, its energy from rbm.energy, one logsumexp in float64."""
    n = rbm.n_units
    k = np.arange(2**n)[:, None]
    z = torch.as_tensor(((k >> np.arange(n)) & 1).astype(np.float32))
    with torch.no_grad():
        e = rbm.energy(z).double()
    return float(torch.logsumexp(-beta * e, 0))


MODELS = {
    "full-4x4": dict(sizes=(4, 4, 4, 4), topology="full", weight_std=1.0, bias_std=0.5, seed=3),
    "zephyr-4x5": dict(sizes=(4, 5, 4, 5), topology="zephyr", weight_std=1.0, bias_std=0.5, seed=5),
}


@pytest.fixture(scope="module", params=sorted(MODELS))
def model(request):
    rbm = RBM(**MODELS[request.param])
    return rbm, brute_log_z(rbm)


@pytest.mark.parametrize("beta", [1.0, 0.6])
def test_exact_log_z_matches_brute_force(model, beta):
    rbm, _ = model
    assert math.isclose(exact_log_z(rbm, beta=beta), brute_log_z(rbm, beta), rel_tol=0, abs_tol=1e-6)


def test_exact_log_z_sums_the_largest_partition_wherever_it_is():
    rbm = RBM((2, 6, 3, 2), weight_std=0.8, bias_std=0.7, seed=1)
    assert math.isclose(exact_log_z(rbm, batch_size=64), brute_log_z(rbm), abs_tol=1e-6)


def test_exact_log_z_refuses_huge_models():
    with pytest.raises(CalolibError, match="ais"):
        exact_log_z(RBM((10, 10, 10, 10)))


def test_ais_and_rais_agree_with_exact(model):
    rbm, exact = model
    lz, err = ais(rbm, 400, 600, seed=0)
    assert abs(lz - exact) < 0.05 and abs(lz - exact) < 5 * err + 0.005, (lz, err, exact)
    samples = ExactSampler().sample(rbm, 400, seed=1).z
    lz_r, err_r = rais(rbm, samples, 600, seed=0)
    assert abs(lz_r - exact) < 0.05 and abs(lz_r - exact) < 5 * err_r + 0.005, (lz_r, err_r, exact)


@pytest.mark.parametrize("schedule", ["linear", "sigmoid", "adaptive"])
def test_every_schedule_and_base_is_consistent(schedule):
    rbm = RBM((3, 3, 3, 3), weight_std=0.8, bias_std=0.5, seed=2)
    exact = brute_log_z(rbm)
    for base in ("bias", "uniform", torch.full((12,), 0.3)):
        lz, err = ais(rbm, 300, 400, seed=1, schedule=schedule, base=base)
        assert abs(lz - exact) < 6 * err + 0.01, (schedule, base, lz, err, exact)


def test_bias_directions_ais_low_rais_high():
    """With few intermediate β's the Jensen gap is visible: E[ln Ẑ_AIS] < ln Z < E[ln Ẑ_RAIS]."""
    rbm = RBM((4, 4, 4, 4), weight_std=1.0, bias_std=0.5, seed=3)
    exact = brute_log_z(rbm)
    seeds = range(40)
    fwd = np.array([ais(rbm, 1, 6, seed=s, schedule="linear")[0] for s in seeds]) - exact
    samples = ExactSampler().sample(rbm, len(seeds), seed=7).z
    rev = np.array([rais(rbm, samples[s : s + 1], 6, seed=s, schedule="linear")[0] for s in seeds]) - exact
    sem = lambda x: x.std(ddof=1) / math.sqrt(len(x))  # noqa: E731
    assert fwd.mean() < -3 * sem(fwd), fwd
    assert rev.mean() > 3 * sem(rev), rev


def test_uncoupled_model_has_zero_log_weights():
    rbm = RBM((3, 2, 3, 2), weight_std=0.0, bias_std=1.0, seed=0)
    log_w, log_z0 = ais_log_weights(rbm, 16, 50, seed=0)
    assert torch.equal(log_w, torch.zeros(16, dtype=torch.float64))
    assert math.isclose(log_z0, brute_log_z(rbm), abs_tol=1e-5)
    assert ais(rbm, 16, 50)[1] == 0.0


def test_beta_schedules():
    for kind in ("linear", "sigmoid"):
        b = beta_schedule(1000, kind)
        assert b[0] == 0 and b[-1] == 1 and bool((b.diff() > 0).all()) and len(b) == 1000
    s = beta_schedule(1001, "sigmoid").diff()
    assert s[0] < s[500] / 10 and s[-1] < s[500] / 10  # denser at both ends
    with pytest.raises(ConfigError):
        beta_schedule(1)
    with pytest.raises(ConfigError, match="sigmoid"):
        beta_schedule(10, "cubic")
    with pytest.raises(ConfigError, match="increase"):
        ais(RBM((1, 1, 1, 1)), 2, 3, schedule=[0.0, 0.7, 0.5])


def test_log_mean_exp_is_stable_and_correct():
    lw = torch.tensor([1000.0, 1000.0 + math.log(3.0)], dtype=torch.float64)
    value, err = log_mean_exp(lw)
    assert math.isclose(value, 1000.0 + math.log(2.0), rel_tol=1e-12)
    w = np.array([1.0, 3.0])
    assert math.isclose(err, w.std(ddof=1) / (math.sqrt(2) * w.mean()), rel_tol=1e-9)
    assert log_mean_exp(torch.tensor([-5000.0]))[0] == -5000.0
    with pytest.raises(CalolibError):
        log_mean_exp(torch.tensor([0.0, float("nan")]))


def test_log_likelihood_is_mean_exact_log_prob(model):
    rbm, exact = model
    z = ExactSampler().sample(rbm, 50, seed=0).z
    with torch.no_grad():
        log_p = -rbm.energy(z).double() - exact
    assert math.isclose(log_likelihood(rbm, z, exact), float(log_p.mean()), abs_tol=1e-5)


def test_rais_validates_samples():
    with pytest.raises(CalolibError, match="shape"):
        rais(RBM((1, 1, 1, 1)), torch.zeros(3, 5), 10)


@pytest.mark.slow
def test_large_zephyr_rbm_ais_below_rais():
    """4x302 on zephyr_graph(6, 4): no enumeration possible; AIS (low) and RAIS (high) must bracket ln Z."""
    from calolib.samplers import gibbs_sample

    rbm = RBM((302, 302, 302, 302), "zephyr", weight_std=0.2, bias_std=0.1, seed=0)
    lz, err = ais(rbm, 64, 400, seed=0)
    lz_r, err_r = rais(rbm, gibbs_sample(rbm, 64, 300, seed=1), 400, seed=0)
    assert math.isfinite(lz) and math.isfinite(lz_r)
    assert lz - lz_r < 4 * math.hypot(err, err_r), (lz, err, lz_r, err_r)
    assert abs(lz - lz_r) < 1.0
