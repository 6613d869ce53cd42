"""The prior controls (Bernoulli, Gaussian) against exact enumeration and closed forms, and the QVAE with
each prior: same networks, same loss-term names, exact samplers."""
from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch

from calolib.errors import ConfigError
from calolib.models import QVAE, ModelConfig
from calolib.models.priors import BernoulliPrior, GaussianPrior, active_units, gaussian_kl_terms
from calolib.rbm import RBM


def _states(n):
    return torch.tensor(list(itertools.product([0.0, 1.0], repeat=n)))


def test_bernoulli_kl_terms_equal_exact_kl_by_enumeration():
    torch.manual_seed(0)
    p = BernoulliPrior(n_code=2, n_free=4)
    with torch.no_grad():
        p.bias.normal_(0, 1)
        p.coupling.normal_(0, 1)
    logits = torch.randn(3, 4) * 2
    code = torch.tensor([[0.0, 1.0], [1.0, 1.0], [0.0, 0.0]])
    t = p.kl_terms(logits, code)
    kl_terms = float((t["ent"] + t["pos"] - t["neg"]).detach())
    zs = _states(4)
    kls = []
    for b in range(3):
        q = torch.sigmoid(logits[b])
        lq = (zs * torch.log(q) + (1 - zs) * torch.log1p(-q)).sum(1)
        lp = p.log_prob(zs, code[b:b + 1].expand(16, -1)).detach()
        kls.append(float((lq.exp() * (lq - lp)).sum()))
    assert math.isclose(kl_terms, float(np.mean(kls)), rel_tol=1e-5, abs_tol=1e-6)


def test_bernoulli_prior_is_the_rbm_without_free_free_couplings():
    """The control equals an RBM whose couplings among the free partitions are zero (exact marginals)."""
    rbm = RBM((2, 2, 2, 1), topology="full", weight_std=0.8, bias_std=0.8, seed=3)
    with torch.no_grad():
        for key in ("12", "13", "23"):
            rbm.weights[key].zero_()
    p = BernoulliPrior(n_code=2, n_free=5)
    with torch.no_grad():
        p.bias.copy_(torch.cat([rbm.biases[1], rbm.biases[2], rbm.biases[3]]))
        p.coupling.copy_(torch.cat([rbm.weights["01"], rbm.weights["02"], rbm.weights["03"]], dim=1))
    code = torch.tensor([[1.0, 0.0]])
    free = _states(5)
    z = torch.cat([code.expand(32, -1), free], 1)
    logp_rbm = -rbm.energy(z).detach()
    logp_rbm = logp_rbm - torch.logsumexp(logp_rbm, 0)  # conditional on the code
    assert torch.allclose(p.log_prob(free, code.expand(32, -1)).detach(), logp_rbm, atol=1e-5)


def test_bernoulli_samples_follow_their_probabilities():
    p = BernoulliPrior(n_code=1, n_free=3)
    with torch.no_grad():
        p.bias.copy_(torch.tensor([-1.0, 0.0, 2.0]))
        p.coupling.copy_(torch.tensor([[2.0, -3.0, 0.0]]))
    code = torch.ones(20000, 1)
    z = p.sample(code, generator=torch.Generator().manual_seed(0))
    prob = torch.sigmoid(torch.tensor([1.0, -3.0, 2.0]))
    se = torch.sqrt(prob * (1 - prob) / 20000)
    assert torch.all((z.mean(0) - prob).abs() < 5 * se)


def test_gaussian_kl_closed_form_matches_monte_carlo():
    mu, logvar = torch.tensor([[0.5, -1.0, 2.0]]), torch.tensor([[0.3, -0.7, 0.0]])
    t = gaussian_kl_terms(mu, logvar)
    kl = float(t["ent"] + t["pos"] - t["neg"])
    g = torch.Generator().manual_seed(1)
    z = mu + torch.exp(0.5 * logvar) * torch.randn(400_000, 3, generator=g)
    q = torch.distributions.Normal(mu, torch.exp(0.5 * logvar))
    mc = float((q.log_prob(z) - torch.distributions.Normal(0.0, 1.0).log_prob(z)).sum(1).mean())
    assert abs(kl - mc) < 0.01
    assert kl == pytest.approx(0.5 * float((mu ** 2 + logvar.exp() - 1 - logvar).sum()), rel=1e-6)


def test_active_units_binary_and_continuous():
    z = torch.tensor([[0.0, 1.0, 0.0]] * 50 + [[1.0, 1.0, 0.0]] * 50)
    a = active_units(z, binary=True)
    assert a["active"] == [True, False, False] and a["n_active"] == 1
    assert a["entropy"][0] == pytest.approx(math.log(2), rel=1e-6)
    mu = torch.cat([torch.randn(200, 1), torch.zeros(200, 1), 0.05 * torch.randn(200, 1)], 1)
    c = active_units(mu, binary=False)
    assert c["active"] == [True, False, False]
    with pytest.raises(ConfigError):
        active_units(torch.zeros(3), binary=True)


@pytest.mark.parametrize("prior", ["rbm", "bernoulli", "gaussian"])
def test_qvae_with_each_prior_trains_terms_and_samples(prior):
    cfg = ModelConfig(prior=prior, rbm_sizes=(4, 6, 6, 6), topology="full", encoder_hidden=(8,), decoder_hidden=(8,))
    model = QVAE(cfg)
    x, e = torch.randn(5, 6480), torch.tensor([1e3, 3e3, 1e4, 1e5, 1e6])
    out = model(x, e)
    assert out.enc.z.shape == (5, 22) and out.dec.x.shape == (5, 6480)
    assert torch.equal(out.enc.z[:, :4], model.condition_code(e))  # the code bits are prepended for every prior
    neg = torch.zeros(7, 22) if prior == "rbm" else None
    terms = model.loss_terms(x, e, out, neg)
    assert {"ae", "hits", "ent", "pos", "neg"} <= set(terms)
    loss = sum(terms[k] for k in ("ae", "hits", "ent", "pos")) - terms["neg"]
    loss.backward()
    prior_params = (list(model.rbm.parameters()) if prior == "rbm" else
                    list(model.bernoulli_prior.parameters()) if prior == "bernoulli" else [])
    assert all(p.grad is not None for p in prior_params)
    z = model.sample_latents(e, sampler=None if prior != "rbm" else None, seed=0)
    assert z.shape == (5, 22) and torch.equal(z[:, :4], model.condition_code(e))
    if prior != "gaussian":
        assert set(torch.unique(z).tolist()) <= {0.0, 1.0}
    assert model.has_rbm == (prior == "rbm")


def test_controls_refuse_annealer_samplers():
    from calolib.samplers import get_sampler

    model = QVAE(ModelConfig(prior="gaussian", rbm_sizes=(4, 4, 4, 4), topology="full", encoder_hidden=(8,),
                             decoder_hidden=(8,)))
    with pytest.raises(ConfigError, match="sampled exactly"):
        model.sample_latents(torch.tensor([1e4]), sampler=get_sampler("gibbs", n_steps=2))


def test_gaussian_prior_samples_are_standard_normal():
    z = GaussianPrior(4).sample(50_000, generator=torch.Generator().manual_seed(0))
    assert z.mean(0).abs().max() < 0.03 and (z.std(0) - 1).abs().max() < 0.03
