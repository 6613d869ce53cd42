"""Relaxations of Bernoulli latents: closed-form distributions, discrete limits, reparametrised gradients."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import stats

from calolib.errors import ConfigError
from calolib.models.relaxations import (
    RELAXATIONS,
    gumbel_sigmoid,
    hard_sample,
    mixture_exp,
    relax,
    spike_exp,
    spike_exp_cdf,
)

N = 100_000


def _logit(q: float) -> float:
    return math.log(q / (1 - q))


def _draw(fn, q, sharp, n=N, seed=0, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    rho = torch.rand(n, generator=g, dtype=dtype)
    return fn(torch.full((n,), _logit(q), dtype=dtype), sharp, rho=rho).numpy()


@pytest.mark.parametrize("q", [0.05, 0.4, 0.9])
@pytest.mark.parametrize("beta", [1.0, 4.0, 30.0])
def test_spike_exp_matches_closed_form(q, beta):
    zeta = _draw(spike_exp, q, beta)
    # the spike: P(zeta = 0) = 1 - q, binomial tolerance
    n_zero = int((zeta == 0).sum())
    sigma = math.sqrt(N * q * (1 - q))
    assert abs(n_zero - N * (1 - q)) < 5 * sigma
    # the continuous part: zeta | zeta > 0 has CDF (e^{beta z} - 1)/(e^beta - 1)  (Rolfe 2016)
    cont = zeta[zeta > 0]
    p = stats.kstest(cont, lambda z: np.expm1(beta * z) / np.expm1(beta)).pvalue
    assert p > 1e-3
    # the closed form of the whole CDF agrees with the empirical CDF
    grid = np.linspace(0.05, 0.95, 7)
    emp = np.array([(zeta <= g).mean() for g in grid])
    assert np.allclose(emp, spike_exp_cdf(grid, q, beta), atol=5 / math.sqrt(N))


def _mixture_cdf(z, q, beta):
    """DVAE#: mixture of r0 ∝ e^{-beta z} and r1 ∝ e^{beta (z-1)} on [0, 1], weights 1-q and q."""
    norm = -np.expm1(-beta)
    return ((1 - q) * -np.expm1(-beta * z) + q * (np.exp(beta * (z - 1)) - np.exp(-beta))) / norm


@pytest.mark.parametrize("q", [0.01, 0.3, 0.5, 0.97])
@pytest.mark.parametrize("beta", [1.0, 8.0, 60.0])
def test_mixture_exp_matches_closed_form(q, beta):
    zeta = _draw(mixture_exp, q, beta)
    assert zeta.min() >= 0 and zeta.max() <= 1
    p = stats.kstest(zeta, lambda z: _mixture_cdf(z, q, beta)).pvalue
    assert p > 1e-3


@pytest.mark.parametrize("q", [0.1, 0.6])
@pytest.mark.parametrize("tau", [0.2, 1.0, 3.0])
def test_gumbel_sigmoid_matches_closed_form(q, tau):
    zeta = _draw(gumbel_sigmoid, q, tau)
    # binary concrete: P(zeta <= y) = sigmoid(tau * logit(y) - l)  (logistic noise)
    l = _logit(q)

    def cdf(y):
        y = np.clip(y, 1e-300, 1 - 1e-16)
        return 1 / (1 + np.exp(-(tau * np.log(y / (1 - y)) - l)))

    assert stats.kstest(zeta, cdf).pvalue > 1e-3
    # P(zeta > 1/2) = q at every temperature
    assert abs((zeta > 0.5).mean() - q) < 5 * math.sqrt(q * (1 - q) / N)


@pytest.mark.parametrize("name", RELAXATIONS)
def test_discrete_limit(name):
    """As beta -> inf (tau -> 0) zeta becomes a Bernoulli(q) 0/1 sample equal to the hard z."""
    q = torch.tensor([0.05, 0.3, 0.5, 0.8]).repeat(25_000)
    logits = torch.log(q / (1 - q))
    g = torch.Generator().manual_seed(3)
    fractions = []
    for sharp in (3.0, 30.0, 3000.0, 1e5):
        s = 1.0 / sharp if name == "gumbel" else sharp
        zeta, z = relax(name, logits, s, g)
        fractions.append(float(((zeta > 0.01) & (zeta < 0.99)).float().mean()))
    assert fractions[-1] < 1e-3
    assert fractions == sorted(fractions, reverse=True)
    assert float(((zeta - z).abs() > 0.01).float().mean()) < 1e-3
    for qv in (0.05, 0.3, 0.5, 0.8):
        sel = torch.isclose(q, torch.tensor(qv))
        n = int(sel.sum())
        assert abs(float(zeta[sel].mean()) - qv) < 5 * math.sqrt(qv * (1 - qv) / n)


@pytest.mark.parametrize("name", RELAXATIONS)
def test_hard_sample_is_bernoulli_with_shared_uniforms(name):
    logits = torch.full((N,), _logit(0.3))
    g = torch.Generator().manual_seed(1)
    zeta, z = relax(name, logits, 5.0 if name != "gumbel" else 0.5, g)
    assert set(torch.unique(z).tolist()) <= {0.0, 1.0}
    assert abs(float(z.mean()) - 0.3) < 5 * math.sqrt(0.21 / N)
    # zeta and z come from the same uniform: zeta is larger on average where z = 1
    assert float(zeta[z == 1].mean()) > float(zeta[z == 0].mean()) + 0.2
    assert torch.equal(hard_sample(torch.tensor([-40.0, 40.0]), torch.tensor([0.5, 0.5])), torch.tensor([0.0, 1.0]))


@pytest.mark.parametrize("fn", [spike_exp, mixture_exp])
@pytest.mark.parametrize("q", [0.2, 0.7])
def test_reparametrised_gradient_is_unbiased(fn, q):
    """The mean per-sample d zeta / d l estimates d E[zeta] / d l of the closed-form mean."""
    beta = 4.0
    logits = torch.full((N,), _logit(q), dtype=torch.float64, requires_grad=True)
    rho = torch.rand(N, generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    fn(logits, beta, rho=rho).sum().backward()
    g = logits.grad.numpy()
    m1 = 1 / -math.expm1(-beta) - 1 / beta  # E[zeta | z = 1] for e^{beta(zeta - 1)} on [0, 1]
    m0 = 0.0 if fn is spike_exp else 1 - m1  # spike at 0, or the mirrored exponential
    expected = q * (1 - q) * (m1 - m0)  # d/dl [(1 - q) m0 + q m1]
    assert abs(g.mean() - expected) < 5 * g.std() / math.sqrt(N)


@pytest.mark.parametrize("name", RELAXATIONS)
def test_extreme_logits_give_finite_values_and_gradients(name):
    logits = torch.tensor([-200.0, -30.0, -5.0, 0.0, 5.0, 30.0, 200.0], requires_grad=True)
    for sharp in (0.01, 1.0, 1e3):
        zeta, z = relax(name, logits, sharp, torch.Generator().manual_seed(0))
        zeta.sum().backward()
        assert torch.isfinite(zeta).all() and torch.isfinite(logits.grad).all()
        assert (zeta >= 0).all() and (zeta <= 1).all()
        logits.grad = None


def test_half_precision_logits_are_relaxed_in_float32():
    zeta, z = relax("mixture_exp", torch.zeros(4, dtype=torch.bfloat16), 10.0)
    assert zeta.dtype == torch.float32 and z.dtype == torch.float32


def test_bad_arguments_raise_config_errors():
    with pytest.raises(ConfigError, match="unknown relaxation"):
        relax("concrete", torch.zeros(2), 1.0)
    with pytest.raises(ConfigError, match="beta"):
        spike_exp(torch.zeros(2), 0.0)
    with pytest.raises(ConfigError, match="tau"):
        gumbel_sigmoid(torch.zeros(2), -1.0)
