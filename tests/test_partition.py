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


# ------------------------------------------------------------------ conditional model: ln Z(c) per code
def brute_log_z_conditional(rbm, code):
    """Independent reference: every free state with ``code`` on partition 0, energies from rbm.energy."""
    n0, n = rbm.sizes[0], rbm.n_units
    k = np.arange(2 ** (n - n0))[:, None]
    zf = torch.as_tensor(((k >> np.arange(n - n0)) & 1).astype(np.float32))
    z = torch.cat([torch.as_tensor(code, dtype=torch.float32).expand(len(zf), -1), zf], 1)
    with torch.no_grad():
        return float(torch.logsumexp(-rbm.energy(z).double(), 0))


COND = RBM((4, 4, 5, 4), "full", weight_std=1.0, bias_std=0.5, seed=2)
CODES = (torch.rand(6, 4, generator=torch.Generator().manual_seed(0)) < 0.5).float()


def exact_conditional_samples(rbm, codes, k, seed=0):
    return torch.cat([ExactSampler().sample(rbm, k, conditioning=c, seed=seed + i).z for i, c in enumerate(codes)])


def test_exact_conditional_log_z_matches_brute_force():
    got = exact_log_z(COND, conditioning=CODES)
    want = np.array([brute_log_z_conditional(COND, c) for c in CODES])
    np.testing.assert_allclose(got, want, atol=1e-6)
    assert math.isclose(exact_log_z(COND, conditioning=CODES[0]), want[0], abs_tol=1e-6)  # one code: a float
    # Z = Σ_c Z(c): the joint partition function is the log-sum-exp over all codes
    all_codes = torch.as_tensor(((np.arange(16)[:, None] >> np.arange(4)) & 1).astype(np.float32))
    assert math.isclose(float(torch.logsumexp(torch.as_tensor(exact_log_z(COND, conditioning=all_codes)), 0)),
                        exact_log_z(COND), abs_tol=1e-6)


def test_conditional_ais_and_rais_converge_to_exact_per_code():
    exact = exact_log_z(COND, conditioning=CODES)
    lz, err = ais(COND, 200, 1000, seed=1, conditioning=CODES)
    assert lz.shape == err.shape == (6,)
    assert np.all(np.abs(lz - exact) < 4 * err + 0.01), (lz - exact, err)
    lz_r, err_r = rais(COND, exact_conditional_samples(COND, CODES, 200), 1000, seed=1, conditioning=CODES)
    assert np.all(np.abs(lz_r - exact) < 4 * err_r + 0.01), (lz_r - exact, err_r)


def test_conditional_bias_directions_ais_low_rais_high():
    """One chain per code and a 4-β schedule: over 60 codes, E[ln Ẑ_AIS(c) − ln Z(c)] < 0 < E[ln Ẑ_RAIS(c) − ln Z(c)]."""
    codes = (torch.rand(60, 4, generator=torch.Generator().manual_seed(1)) < 0.5).float()
    exact = exact_log_z(COND, conditioning=codes)
    fwd = ais(COND, 1, 4, seed=3, schedule="linear", conditioning=codes)[0] - exact
    rev = rais(COND, exact_conditional_samples(COND, codes, 1, seed=5), 4, seed=3, schedule="linear",
               conditioning=codes)[0] - exact
    sem = lambda x: x.std(ddof=1) / math.sqrt(len(x))  # noqa: E731
    assert fwd.mean() < -3 * sem(fwd), (fwd.mean(), sem(fwd))
    assert rev.mean() > 3 * sem(rev), (rev.mean(), sem(rev))


def test_rais_from_samples_of_another_model_is_wrong():
    """The defect of issue 11: RAIS of the *joint* Z started from samples with the code clamped (samples of the
    conditional model) is biased; from joint samples it is not.  (With a schedule long enough for the reverse
    chain to forget its start, as on this small RBM at ~1000 β's, the start matters less — on a large, slowly
    mixing prior it never stops mattering.)"""
    exact = exact_log_z(COND)
    clamped = exact_conditional_samples(COND, CODES[:1], 1600)  # all with one code: not the joint distribution
    wrong, err_w = rais(COND, clamped, 20, seed=0, schedule="linear")
    right, err_r = rais(COND, ExactSampler().sample(COND, 1600, seed=2).z, 20, seed=0, schedule="linear")
    assert abs(right - exact) < 3 * err_r + 0.01, (right, err_r, exact)
    assert wrong - exact > 5 * err_w, (wrong, err_w, exact)


def test_conditioned_rais_checks_the_sample_layout():
    samples = exact_conditional_samples(COND, CODES[:2], 3)
    with pytest.raises(CalolibError, match="code-major"):
        rais(COND, samples.flip(0), 10, conditioning=CODES[:2])
    with pytest.raises(ConfigError, match="n0 = 4"):
        ais(COND, 2, 10, conditioning=torch.zeros(2, 3))


def test_model_samples_layout():
    from calolib.partition import model_samples

    z = model_samples(COND, 5, 3, seed=0, conditioning=CODES[:3])
    assert z.shape == (15, COND.n_units)
    assert torch.equal(z[:, :4], CODES[:3].repeat_interleave(5, 0))
    assert model_samples(COND, 7, 2).shape == (7, COND.n_units)


def test_log_likelihood_with_per_state_log_z():
    z = exact_conditional_samples(COND, CODES[:2], 10)
    lz = np.repeat(exact_log_z(COND, conditioning=CODES[:2]), 10)
    with torch.no_grad():
        want = float((-COND.energy(z).double() - torch.as_tensor(lz)).mean())
    assert math.isclose(log_likelihood(COND, z, lz), want, abs_tol=1e-9)
