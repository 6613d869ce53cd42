"""ACF and τ_int against closed forms (i.i.d. noise, AR(1)) and a literal implementation of the definition."""
import numpy as np
import pytest
import torch

from calolib.diagnostics import acf, integrated_autocorrelation_time
from calolib.diagnostics.autocorrelation import (acf_two_time, ar1_series, autocorrelation_study,
                                                 bernoulli_noise_study, magnetisation, seed_004_cases,
                                                 tau_int_with_error)
from calolib.errors import CalolibError


def literal_c(f, max_lag):
    """The seed-004 definition written out with loops (small inputs only)."""
    n_e, n_t = f.shape
    out = []
    for tau in range(max_lag + 1):
        vals = []
        for t in range(n_t - tau):
            a, b = f[:, t + tau], f[:, t]
            var = np.mean(b**2) - np.mean(b) ** 2
            vals.append(np.mean((a - a.mean()) * (b - b.mean())) / var)
        out.append(np.mean(vals))
    return np.array(out)


def test_acf_matches_literal_definition():
    rng = np.random.default_rng(3)
    f = np.cumsum(rng.normal(size=(7, 25)), axis=1)  # non-stationary: variance grows with t
    np.testing.assert_allclose(acf(f, max_lag=10), literal_c(f, 10), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(np.nanmean(acf_two_time(f, 10), axis=0), literal_c(f, 10), rtol=1e-10)


def test_iid_noise_is_uncorrelated():
    rng = np.random.default_rng(0)
    n_e, n_t, lag = 200, 500, 40
    c = acf(rng.normal(size=(n_e, n_t)), max_lag=lag)
    assert c[0] == 1.0
    tol = 4.0 / np.sqrt(n_e * (n_t - np.arange(1, lag + 1)))
    assert np.all(np.abs(c[1:]) < tol)


@pytest.mark.parametrize("phi", [0.5, 0.8])
def test_ar1_acf_and_tau(phi):
    n_e, n_t = 100, 2000
    x = ar1_series(phi, n_e, n_t, seed=1)
    c = acf(x, max_lag=10)
    # Bartlett bound on the standard error of an AR(1) autocorrelation estimate
    se = np.sqrt((1 + phi**2) / (1 - phi**2) / (n_e * n_t))
    np.testing.assert_allclose(c, phi ** np.arange(11), atol=4 * se)
    t = tau_int_with_error(x)
    expected = (1 + phi) / (1 - phi)
    assert abs(t.tau - expected) < 3 * t.err
    assert t.window >= 5 * t.tau  # Sokal's criterion holds at the chosen window
    assert integrated_autocorrelation_time(x) == t.tau


def test_torch_input_and_constant_start():
    x = ar1_series(0.5, 50, 300, seed=2)
    x[:, 0] = 0.0  # all chains start in one state: variance 0 at t = 0 is left out
    c_np = acf(x, 5)
    c_t = acf(torch.tensor(x, dtype=torch.float64), 5)
    np.testing.assert_allclose(c_np, c_t)
    assert np.isfinite(c_np).all() and c_np[0] == 1.0
    np.testing.assert_allclose(c_np, literal_c(x[:, 1:], 5), atol=0.02)


def test_bad_input():
    with pytest.raises(CalolibError):
        acf(np.zeros(10))
    with pytest.raises(CalolibError):
        acf(np.ones((5, 10)))  # no variance anywhere
    with pytest.raises(CalolibError):
        acf(np.random.default_rng(0).normal(size=(3, 10)), max_lag=10)


def test_magnetisation_conventions():
    z = np.array([[1, 1, 0, 0], [1, 1, 1, 0]])
    np.testing.assert_allclose(magnetisation(z), [0.0, 0.5])
    np.testing.assert_allclose(magnetisation(2 * z - 1), [0.0, 0.5])
    np.testing.assert_allclose(magnetisation(torch.ones(2, 3), binary=False), [1.0, 1.0])


def test_bernoulli_sanity_case():
    r = bernoulli_noise_study(n_chains=400, n_steps=200, n_spins=50, seed=0)
    assert r.magnetisation.shape == (400, 200)
    assert abs(r.tau - 1.0) < 3 * r.tau_err


def test_study_with_plain_trajectory_callable():
    calls = {}

    def traj(rbm, n_chains, n_steps, beta, seed):
        calls["args"] = (rbm, n_chains, n_steps, beta, seed)
        return torch.tensor(ar1_series(0.6, n_chains, n_steps, seed=seed))

    r = autocorrelation_study("model", 80, 1500, 0.5, 3, trajectory=traj)
    assert calls["args"] == ("model", 80, 1500, 0.5, 3)
    assert abs(r.tau - 4.0) < 3 * r.tau_err


def test_gibbs_chains_of_a_nearly_free_rbm_decorrelate_in_one_sweep():
    from calolib.rbm import RBM

    r = autocorrelation_study(RBM((10, 10, 10, 10), weight_std=1e-3, seed=0), n_chains=100, n_steps=200, seed=0)
    assert r.magnetisation.shape == (100, 200)
    assert abs(r.tau - 1.0) < 3 * r.tau_err + 0.05


def test_strong_ferromagnetic_coupling_slows_mixing():
    from calolib.rbm import RBM

    weak = RBM((8, 8, 8, 8), weight_std=1e-3, seed=0)
    strong = RBM((8, 8, 8, 8), weight_std=1e-3, seed=0)
    with torch.no_grad():
        # ferromagnetic couplings J between partitions, biases −J·(24/2): all-0 and all-1 phases compete
        for p, q in strong.pairs:
            strong.weights[f"{p}{q}"].fill_(0.2)
        for b in strong.biases:
            b.fill_(-0.2 * 24 / 2)
    w = autocorrelation_study(weak, 100, 300, seed=1)
    s = autocorrelation_study(strong, 100, 300, seed=1)
    assert s.tau - 3 * s.tau_err > 5 * (w.tau + 3 * w.tau_err)


def test_seed_004_cases_small():
    from calolib.rbm import RBM

    cases = seed_004_cases(RBM((4, 4, 4, 4), seed=5), sizes=(4, 4, 4, 4), n_chains=30, n_steps=60, device="cpu",
                           max_lag=20)
    assert set(cases) == {"random-full", "zephyr", "zephyr-no-bias", "trained", "bernoulli"}
    for r in cases.values():
        assert r.c[0] == 1.0 and r.c.shape == (21,)


def test_gibbs_observables_energy_is_the_rbm_energy_in_equilibrium():
    """The recorded E(z(t)) average equals the exact ⟨E⟩ of an enumerable RBM; m(t) ∈ [−1, 1]."""
    from calolib.diagnostics.autocorrelation import gibbs_observables
    from calolib.rbm import RBM
    from calolib.samplers.exact import exact_moments

    rbm = RBM((3, 3, 3, 3), "full", weight_std=1.0, bias_std=0.5, seed=1)
    obs = gibbs_observables(rbm, 200, 100, seed=0, burn_in=50)
    assert obs["energy"].shape == (200, 100) and np.abs(obs["magnetisation"]).max() <= 1
    exact = exact_moments(rbm)["mean_energy"]
    sem = obs["energy"].mean(1).std() / np.sqrt(200)  # chains are independent
    assert abs(obs["energy"].mean() - exact) < 5 * sem


def test_cold_strong_rbm_correlates_and_thinning_removes_it():
    from calolib.rbm import RBM

    rbm = RBM((24, 24, 24, 24), "zephyr", weight_std=1.0, bias_std=1.0, seed=0)
    hot = autocorrelation_study(rbm, 60, 400, 1.0, seed=0, energy=True, burn_in=20)
    cold = autocorrelation_study(rbm, 60, 400, 3.0, seed=0, energy=True, burn_in=20)
    assert cold.tau - 3 * cold.tau_err > hot.tau + 3 * hot.tau_err
    assert cold.tau_energy - 3 * cold.tau_energy_err > 1.2  # the energy is correlated too
    thin = autocorrelation_study(rbm, 60, 60, 3.0, seed=1, every=int(20 * cold.tau), energy=True)
    assert thin.info["every"] > 1 and abs(thin.tau - 1) < 4 * thin.tau_err + 0.1
    s = cold.summary()
    assert s["converged"] and s["every"] == 1 and s["n_records"] == 400


def test_clamped_chains_with_one_code_decorrelate():
    """One code for every chain: the constant clamped bits add nothing to C(τ) (different codes would)."""
    from calolib.rbm import RBM

    rbm = RBM((4, 6, 6, 6), weight_std=1e-3, seed=0)
    r = autocorrelation_study(rbm, 100, 200, seed=0, energy=True, conditioning=torch.tensor([1.0, 0.0, 1.0, 1.0]))
    assert abs(r.tau - 1) < 3 * r.tau_err + 0.05 and abs(r.tau_energy - 1) < 3 * r.tau_energy_err + 0.05


def test_seed_004_cases_with_the_correlated_additions():
    cases = seed_004_cases(sizes=(6, 6, 6, 6), n_chains=20, n_steps=40, device="cpu", bernoulli=False, energy=True,
                           strong_std=1.0, cold_beta=3.0, thin_every=5, thin_records=10, thin_chains=6)
    assert list(cases) == ["random-full", "zephyr", "zephyr-no-bias", "zephyr-strong", "zephyr-strong-cold",
                           "zephyr-strong-cold-thinned"]
    assert cases["zephyr-strong-cold"].info["beta"] == 3.0 and "β = 3" in cases["zephyr-strong-cold"].info["label"]
    assert cases["zephyr-strong-cold-thinned"].magnetisation.shape == (6, 10)
    assert cases["zephyr-strong-cold-thinned"].info["every"] == 5
    assert all(r.c_energy is not None for r in cases.values())
