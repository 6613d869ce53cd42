"""The GFlash shower parametrisation (Grindhammer & Peters, hep-ex/0001020) for sampling calorimeters.

Longitudinal profile: a gamma distribution ``dE/dt = E (beta t)^(alpha-1) beta exp(-beta t) / Gamma(alpha)``
with depth of maximum ``T = (alpha-1)/beta`` (X0).  Per shower, ``(ln T, ln alpha)`` is drawn from a
correlated normal distribution whose parameters depend on ``y = E / E_c``:

* homogeneous medium: ``<ln T_hom> = ln(ln y - 0.812)``, ``<ln alpha_hom> = ln(0.81 + (0.458 + 2.26/Z) ln y)``;
* sampling calorimeter: ``<ln T> = ln(T_hom + t1/F_S + t2 (1 - e_hat))`` with t1 = -0.55, t2 = -0.69,
  ``<ln alpha> = ln(alpha_hom + a1/F_S)`` with a1 = -0.476;
* ``sigma(ln T) = 1/(-2.5 + 1.25 ln y)``, ``sigma(ln alpha) = 1/(-0.82 + 0.79 ln y)`` (both capped at 0.5),
  correlation ``rho(ln T, ln alpha) = 0.784 - 0.023 ln y``.

Radial profile at depth ``tau = t/T``: ``f(r) = p f_C(r) + (1-p) f_T(r)`` with ``f_i(r) = 2 r R_i^2 / (r^2 + R_i^2)^2``
(r in Moliere radii), whose CDF is ``r^2 / (r^2 + R_i^2)``:

* ``R_C = z1 + z2 tau``, z1 = 0.0251 + 0.00319 ln E, z2 = 0.1162 - 0.000381 Z;
* ``R_T = k1 (exp(k3 (tau - k2)) + exp(k4 (tau - k2)))``, k1 = 0.659 - 0.00309 Z, k2 = 0.645, k3 = -2.59,
  k4 = 0.3585 + 0.0421 ln E;
* ``p = p1 exp((p2 - tau)/p3 - exp((p2 - tau)/p3))``, p1 = 2.632 - 0.00094 Z, p2 = 0.401 + 0.00187 Z,
  p3 = 1.313 - 0.0686 ln E  (E in GeV);
* sampling corrections: ``R_C += -0.0203 (1 - e_hat) + 0.0397/F_S exp(-tau)``,
  ``R_T += -0.14 (1 - e_hat) - 0.495/F_S exp(-tau)``, ``p += (1 - e_hat)(0.348 - 0.642/F_S exp(-(tau-1)^2))``.

A small transverse displacement ``d`` of the shower axis changes the density to ``rho(x - d) ~ rho - d.grad(rho)``;
over a ring ``[r1, r2]`` the energy then varies with the angle as ``1 + kappa cos(angle - phi)``, with
``kappa = -d (G(r2) - G(r1)) / (F(r2) - F(r1))``, F the radial CDF and ``G(r) = 2 pi int_0^r s rho'(s) ds``
(:func:`radial_gradient`).

All functions are vectorised over arrays of showers.
"""
from __future__ import annotations

import numpy as np
from scipy.special import gammainc

from calolib.synthetic.materials import SamplingStack

__all__ = ["longitudinal_moments", "sample_longitudinal", "gamma_cdf", "radial_parameters", "radial_cdf",
           "radial_gradient"]


def longitudinal_moments(energy_mev: np.ndarray, stack: SamplingStack) -> dict[str, np.ndarray]:
    """Means, widths and correlation of ``(ln T, ln alpha)`` for showers of energy ``energy_mev`` (N,) MeV.

    Returns a dict of (N,) arrays ``mu_ln_t``, ``mu_ln_alpha``, ``sigma_ln_t``, ``sigma_ln_alpha``, ``rho``.

    Example:
        >>> from calolib.synthetic.materials import detector_for
        >>> m = longitudinal_moments(np.array([1e3, 1e6]), detector_for("ds2").stack)
        >>> np.round(np.exp(m["mu_ln_t"]), 2).tolist()  # depth of maximum in X0 at 1 GeV and 1 TeV
        [3.56, 10.47]
    """
    ln_y = np.log(np.asarray(energy_mev, dtype=np.float64) / stack.ec_mev)
    t_hom = np.maximum(ln_y - 0.812, 0.1)
    a_hom = np.maximum(0.81 + (0.458 + 2.26 / stack.z_eff) * ln_y, 0.1)
    t_sam = np.maximum(t_hom - 0.55 / stack.f_s - 0.69 * (1.0 - stack.e_hat), 0.1)
    a_sam = np.maximum(a_hom - 0.476 / stack.f_s, 1.1)
    den_t, den_a = -2.5 + 1.25 * ln_y, -0.82 + 0.79 * ln_y
    sig_t = np.where(den_t > 2.0, 1.0 / np.maximum(den_t, 2.0), 0.5)
    sig_a = np.where(den_a > 2.0, 1.0 / np.maximum(den_a, 2.0), 0.5)
    rho = np.clip(0.784 - 0.023 * ln_y, -0.99, 0.99)
    return {"mu_ln_t": np.log(t_sam), "mu_ln_alpha": np.log(a_sam), "sigma_ln_t": sig_t, "sigma_ln_alpha": sig_a,
            "rho": rho}


def sample_longitudinal(energy_mev: np.ndarray, stack: SamplingStack, rng: np.random.Generator,
                        *, sigma_scale: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Draw per-shower ``(T, alpha)`` (each (N,)) with the correlated GFlash fluctuations.

    ``ln T = mu_T + s_T (sqrt((1+rho)/2) z1 + sqrt((1-rho)/2) z2)`` and
    ``ln alpha = mu_a + s_a (sqrt((1+rho)/2) z1 - sqrt((1-rho)/2) z2)``, so corr(ln T, ln alpha) = rho.
    ``T`` is at least 0.5 X0 and ``alpha`` at least 1.1.

    Example:
        >>> from calolib.synthetic.materials import detector_for
        >>> t, a = sample_longitudinal(np.full(4, 1e4), detector_for("ds2").stack, np.random.default_rng(0))
        >>> t.shape, bool((a > 1).all())
        ((4,), True)
    """
    m = longitudinal_moments(energy_mev, stack)
    z = rng.standard_normal((m["rho"].shape[0], 2)).T  # event-major draws
    c1, c2 = np.sqrt((1 + m["rho"]) / 2), np.sqrt((1 - m["rho"]) / 2)
    ln_t = m["mu_ln_t"] + sigma_scale * m["sigma_ln_t"] * (c1 * z[0] + c2 * z[1])
    ln_a = m["mu_ln_alpha"] + sigma_scale * m["sigma_ln_alpha"] * (c1 * z[0] - c2 * z[1])
    return np.maximum(np.exp(ln_t), 0.5), np.maximum(np.exp(ln_a), 1.1)


def gamma_cdf(t: np.ndarray, t_max: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Fraction of a gamma profile (maximum ``t_max``, shape ``alpha``) before depth ``t`` (X0, broadcast).

    Example:
        >>> round(float(gamma_cdf(np.array(1e3), np.array(5.0), np.array(3.0))), 6)
        1.0
        >>> float(gamma_cdf(np.array(-1.0), np.array(5.0), np.array(3.0)))
        0.0
    """
    beta = (alpha - 1.0) / t_max
    return gammainc(alpha, beta * np.maximum(t, 0.0))


def radial_parameters(energy_gev: np.ndarray, tau: np.ndarray, stack: SamplingStack) -> tuple[np.ndarray, ...]:
    """GFlash ``(R_C, R_T, p)`` in Moliere radii at relative depth ``tau = t/T`` (broadcast with ``energy_gev``).

    Example:
        >>> from calolib.synthetic.materials import detector_for
        >>> rc, rt, p = radial_parameters(np.array(10.0), np.array(1.0), detector_for("ds2").stack)
        >>> bool(rc < rt), bool(0.5 < p < 1.0)
        (True, True)
    """
    ln_e = np.log(energy_gev)
    z, eh, fs = stack.z_eff, stack.e_hat, stack.f_s
    r_c = 0.0251 + 0.00319 * ln_e + (0.1162 - 0.000381 * z) * tau
    k1, k4 = 0.659 - 0.00309 * z, 0.3585 + 0.0421 * ln_e
    r_t = k1 * (np.exp(-2.59 * (tau - 0.645)) + np.exp(k4 * (tau - 0.645)))
    p1, p2, p3 = 2.632 - 0.00094 * z, 0.401 + 0.00187 * z, 1.313 - 0.0686 * ln_e
    x = (p2 - tau) / p3
    p = p1 * np.exp(x - np.exp(x))
    r_c = r_c - 0.0203 * (1 - eh) + 0.0397 / fs * np.exp(-tau)
    r_t = r_t - 0.14 * (1 - eh) - 0.495 / fs * np.exp(-tau)
    p = p + (1 - eh) * (0.348 - 0.642 / fs * np.exp(-((tau - 1) ** 2)))
    r_c = np.maximum(r_c, 0.02)
    return r_c, np.maximum(r_t, r_c), np.clip(p, 0.0, 1.0)


def radial_cdf(r: np.ndarray, r_c: np.ndarray, r_t: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Fraction of a layer's energy within radius ``r`` (Moliere radii) for the core+tail profile.

    Example:
        >>> round(float(radial_cdf(np.array(0.3), np.array(0.3), np.array(1.0), np.array(1.0))), 3)
        0.5
    """
    r2 = r * r
    return p * r2 / (r2 + r_c * r_c) + (1 - p) * r2 / (r2 + r_t * r_t)


def radial_gradient(r: np.ndarray, r_c: np.ndarray, r_t: np.ndarray, p: np.ndarray) -> np.ndarray:
    """``G(r) = 2 pi int_0^r s rho'(s) ds`` for the core+tail areal density ``rho`` (r in Moliere radii, G in 1/R_M).

    For one component of radius R: ``G = 2 R^2 r / (r^2 + R^2)^2 - r / (r^2 + R^2) - atan(r / R) / R``.

    Example:
        >>> # over the whole plane G = -2 pi int_0^inf rho ds = -pi / (2 R); here R = 2
        >>> round(float(radial_gradient(np.array(1e9), 2.0, 2.0, 1.0) / (-np.pi / 4)), 6)
        1.0
    """
    def one(rr):
        q = r * r + rr * rr
        return 2 * rr * rr * r / (q * q) - r / q - np.arctan(r / rr) / rr

    return p * one(r_c) + (1 - p) * one(r_t)


def __dir__():
    return __all__
