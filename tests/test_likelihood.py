"""prior_log_likelihood: the conditional and joint LL of latent states against exact enumeration."""
import math

import numpy as np
import pytest
import torch

from calolib.diagnostics.likelihood import prior_log_likelihood
from calolib.errors import ConfigError
from calolib.partition import exact_log_z
from calolib.rbm import RBM
from calolib.samplers import ExactSampler

RBM_ = RBM((3, 4, 4, 4), "full", weight_std=0.8, bias_std=0.5, seed=4)


def states(n=60, seed=0):
    """Latent states with random codes on partition 0 (like validation encodings), drawn from the conditional."""
    gen = torch.Generator().manual_seed(seed)
    codes = (torch.rand(n, 3, generator=gen) < 0.5).float()
    return torch.cat([ExactSampler().sample(RBM_, 1, conditioning=c, seed=seed + i).z for i, c in enumerate(codes)])


def exact_conditional_ll(z):
    lz = exact_log_z(RBM_, conditioning=z[:, :3])
    with torch.no_grad():
        return float((-RBM_.energy(z).double()).mean() - lz.mean())


def test_conditional_ll_matches_exact_within_errors():
    z = states()
    est = prior_log_likelihood(RBM_, z, conditioned=True, n_codes=60, n_chains=64, n_betas=500, gibbs_steps=100)
    exact = exact_conditional_ll(z)
    assert est.n_codes == 60 and est.per_code_ais.shape == (60,)
    for ll, err in ((est.ll_ais, est.ll_ais_err), (est.ll_rais, est.ll_rais_err)):
        assert abs(ll - exact) < 4 * err + 0.01, (ll, err, exact)
    assert est.ais_rais_verdict == "consistent"
    assert math.isclose(est.ll_ais - est.ll_rais, est.log_z_rais - est.log_z_ais, abs_tol=1e-9)


def test_subsampled_codes_carry_the_sampling_error():
    z = states(200, seed=1)
    exact = exact_conditional_ll(z)
    est = prior_log_likelihood(RBM_, z, conditioned=True, n_codes=10, n_chains=32, n_betas=300, gibbs_steps=100, seed=3)
    assert est.n_codes == 10 and est.code_spread > 0
    assert est.ll_ais_err > est.log_z_ais_err  # the spread of ln Z(c) over codes is part of the LL's error
    assert abs(est.ll_ais - exact) < 4 * est.ll_ais_err + 0.01


def test_joint_ll_matches_exact():
    z = states()
    est = prior_log_likelihood(RBM_, z, conditioned=False, n_codes=8, n_chains=50, n_betas=500, gibbs_steps=200)
    with torch.no_grad():
        exact = float((-RBM_.energy(z).double()).mean()) - exact_log_z(RBM_)
    assert not est.conditioned and est.n_chains == 400
    assert abs(est.ll_ais - exact) < 4 * est.ll_ais_err + 0.01 and abs(est.ll_rais - exact) < 4 * est.ll_rais_err + 0.01
    d = est.to_dict()
    assert d["ais_rais_verdict"] in ("lower", "consistent") and d["per_code_ais"] is None


def test_bad_states():
    with pytest.raises(ConfigError, match="latent states"):
        prior_log_likelihood(RBM_, torch.zeros(3, 5), conditioned=True)
