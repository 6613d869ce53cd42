"""Reweighting breakdown: the closed-form ESS against enumeration, paired RMS errors, the β_s scan."""
import math

import numpy as np
import torch

from calolib.diagnostics.reweighting import ess_fraction_exact, reweighting_effect, reweighting_scan
from calolib.rbm import RBM
from calolib.samplers import ExactSampler
from calolib.samplers.exact import exact_log_probs, exact_moments

RBM_ = RBM((3, 4, 4, 4), "zephyr", weight_std=1.0, bias_std=1.0, seed=0)
CODE = torch.tensor([1.0, 0.0, 1.0])


def test_ess_fraction_matches_the_definition_on_all_states():
    for beta in (0.7, 1.0, 1.5, 2.5):
        p_s = exact_log_probs(RBM_, beta=beta, conditioning=CODE).exp()
        p_1 = exact_log_probs(RBM_, beta=1.0, conditioning=CODE).exp()
        w = p_1 / p_s  # exact importance weights of every state
        want = float((p_s * w).sum() ** 2 / (p_s * w * w).sum())
        assert math.isclose(ess_fraction_exact(RBM_, beta, conditioning=CODE), want, rel_tol=1e-6)
    assert ess_fraction_exact(RBM_, 1.0) == 1.0


def test_reweighting_with_the_true_beta_helps_when_beta_is_close_to_one():
    truth = exact_moments(RBM_, conditioning=CODE)["marginals"]
    s = ExactSampler(beta=1.5).sample(RBM_, 20000, conditioning=CODE, seed=1)
    eff = reweighting_effect(s, 1.5, truth, slice(3, None), n_boot=30, seed=0)
    assert eff.rms_weighted < eff.rms_plain and eff.diff < -3 * eff.diff_err
    assert 0.05 * eff.n < eff.ess < eff.n


def test_reweighting_with_a_wrong_beta_makes_things_worse():
    truth = exact_moments(RBM_, conditioning=CODE)["marginals"]
    s = ExactSampler(beta=1.0).sample(RBM_, 5000, conditioning=CODE, seed=2)  # already at β = 1
    eff = reweighting_effect(s, 3.0, truth, slice(3, None), n_boot=30, seed=0)  # but "corrected" as if β_eff = 3
    assert eff.diff > 3 * eff.diff_err and eff.ess < 0.5 * eff.n


def test_scan_shows_the_collapse():
    scan = reweighting_scan(RBM_, [1.0, 1.5, 3.0, 5.0], 2000, conditioning=CODE, seed=0, n_boot=10)
    assert scan.ess_fraction_theory[0] == 1.0 and np.all(np.diff(scan.ess_fraction_theory) < 0)
    assert math.isclose(scan.ess_fraction[0], 1.0, rel_tol=1e-9)
    # the sample ESS cannot see the rare states that dominate the weights: it overstates the expected one
    assert scan.ess_fraction[-1] > 10 * scan.ess_fraction_theory[-1]
    assert scan.breakdown_beta(ess_min=0.1) in (3.0, 5.0, 1.5)
    assert scan.breakdown_beta(ess_min=1e-300) == math.inf
    assert set(scan.to_dict()) >= {"betas", "rms_plain", "rms_weighted", "ess_fraction_theory"}
