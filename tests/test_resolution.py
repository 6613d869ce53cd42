"""Energy-resolution fit recovers known parameters; relative-error slopes match the three regimes."""
import numpy as np
import pytest

from calolib.diagnostics import resolution_fit
from calolib.diagnostics.resolution import loglog_slope, relative_error_curve, resolution_fit_full, resolution_model
from calolib.errors import CalolibError

A, B, C = 0.15, 0.01, 0.25  # √GeV, 1, GeV


def smeared(n, seed, response=1.0):
    rng = np.random.default_rng(seed)
    e = 10 ** rng.uniform(3, 6, n)  # MeV, 1 GeV – 1 TeV log-uniform as in ds2
    sigma = resolution_model(e / 1e3, A, B, C)
    return e, response * e * (1 + sigma * rng.normal(size=n))


def test_model_closed_form():
    assert float(resolution_model(100.0, 0.1, 0.0, 0.0)) == pytest.approx(0.01)
    assert float(resolution_model(1.0, 0.3, 0.4, 0.0)) == pytest.approx(0.5)
    assert float(resolution_model(2.0, 0.0, 0.0, 1.0)) == pytest.approx(0.5)


@pytest.mark.parametrize("seed", [0, 1])
def test_fit_recovers_known_parameters_within_errors(seed):
    e, r = smeared(100_000, seed)
    fit = resolution_fit_full(e, r)
    for got, err, true in zip(fit.params, fit.errors, (A, B, C)):
        assert err > 0
        assert abs(got - true) < 3 * err, (got, err, true)
    assert fit.chi2 < fit.ndf + 5 * np.sqrt(2 * fit.ndf)
    a, b, c = resolution_fit(e, r)  # unpacks as a 3-tuple
    assert (a, b, c) == tuple(fit.params)


def test_constant_sampling_fraction_drops_out():
    e, r = smeared(50_000, 2, response=0.03)
    a, b, c = resolution_fit(e, r)
    fit = resolution_fit_full(e, r)
    assert abs(a - A) < 3 * fit.errors.a and abs(c - C) < 3 * fit.errors.c


def test_unneeded_term_goes_to_zero():
    rng = np.random.default_rng(4)
    e = 10 ** rng.uniform(3, 6, 50_000)
    r = e * (1 + 0.2 / np.sqrt(e / 1e3) * rng.normal(size=e.size))  # pure stochastic term
    fit = resolution_fit_full(e, r)
    assert abs(fit.params.a - 0.2) < 3 * fit.errors.a
    # significance judged on the fitted variances b², c² (the fit is linear there)
    assert fit.variances.b < 3 * fit.variance_errors.b and fit.variances.c < 3 * fit.variance_errors.c
    assert fit.params.b == pytest.approx(np.sqrt(fit.variances.b))


@pytest.mark.parametrize("kind, slope", [("const", 1.0), ("sqrt", 0.5), ("linear", 0.0)])
def test_relative_error_regimes(kind, slope):
    e = np.geomspace(1e3, 1e6, 3000)
    delta = {"const": 40.0 * np.ones_like(e), "sqrt": 3.0 * np.sqrt(e), "linear": 0.02 * e}[kind]
    curve = relative_error_curve(e, e + delta)
    assert curve.slope == pytest.approx(slope, abs=0.02)
    assert np.all(np.diff(curve.inv_e) < 0)  # bins ordered by E, so 1/E decreases


def test_loglog_slope_and_errors():
    assert loglog_slope([1, 4, 16], [1, 2, 4]) == pytest.approx(0.5)
    with pytest.raises(CalolibError):
        resolution_fit([1e3, 2e3], [1e3])
    with pytest.raises(CalolibError):
        resolution_fit(np.full(100, -1.0), np.ones(100))
    with pytest.raises(CalolibError):
        resolution_fit(np.geomspace(1e3, 1e6, 40), np.geomspace(1e3, 1e6, 40))  # too few per bin
