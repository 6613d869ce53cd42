"""Physics and API tests of the synthetic shower simulator (calolib.synthetic).

Expectations are independent of the implementation: PDG material constants, Rossi/GFlash scaling of the
shower maximum with ln E, the 1/sqrt(E) law of sampling fluctuations, the Moliere-radius containment of
electromagnetic showers, compound-Poisson moments, and statistical tolerances from the sample sizes.
"""
from __future__ import annotations

import numpy as np
import pytest

from calolib.errors import CalolibError, ConfigError
from calolib.geometry import GEOMETRY_NAMES, get_geometry
from calolib.synthetic import MATERIALS, SamplingStack, SyntheticParams, detector_for, simulate
from calolib.synthetic.gflash import longitudinal_moments, radial_cdf, radial_gradient, sample_longitudinal
from calolib.synthetic.spots import deposit_spots, layout

DS2 = get_geometry("ds2")
E_GRID_GEV = (1.0, 10.0, 100.0, 1000.0)
N_FIXED = 1500


@pytest.fixture(scope="module")
def fixed_energy_samples():
    """ds2 showers at a handful of fixed energies (GeV -> Showers)."""
    return {e: simulate(N_FIXED, "ds2", seed=100 + i, energies=np.full(N_FIXED, e * 1e3))
            for i, e in enumerate(E_GRID_GEV)}


# --------------------------------------------------------------------------------------------- API
@pytest.mark.parametrize("name", GEOMETRY_NAMES)
def test_shapes_dtype_nonnegative_every_geometry(name):
    g = get_geometry(name)
    s = simulate(12, name, seed=3)
    assert s.showers.shape == (12, g.n_voxels) and s.showers.dtype == np.float32
    assert s.energies.shape == (12,) and np.all((s.energies >= 1e3) & (s.energies <= 1e6))
    assert np.all(s.showers >= 0) and np.all(np.isfinite(s.showers))
    nz = s.showers[s.showers > 0]
    assert nz.size > 0 and nz.min() >= np.float32(g.threshold_mev)
    assert np.all(s.showers.sum(axis=1) > 0)


def test_deterministic_by_seed_and_prefix_stable_across_chunks():
    a = simulate(700, seed=5)  # ds2 chunks hold 647 showers: this crosses a chunk boundary
    b = simulate(700, seed=5)
    np.testing.assert_array_equal(a.showers, b.showers)
    np.testing.assert_array_equal(a.energies, b.energies)
    c = simulate(650, seed=5)
    np.testing.assert_array_equal(c.showers, a.showers[:650])
    d = simulate(30, seed=6)
    assert not np.array_equal(d.showers, a.showers[:30])


def test_energies_are_used_and_log_uniform_by_default():
    e = np.array([2e3, 3e4, 4e5])
    s = simulate(3, seed=0, energies=e)
    np.testing.assert_array_equal(s.energies, e)
    u = np.log(simulate(2000, "ds1-photons", seed=1, e_min=1e3, e_max=1e6).energies / 1e3) / np.log(1e3)
    # log-uniform: u is uniform on [0, 1]; KS distance well inside the 99.9 % band 1.95/sqrt(n)
    u = np.sort(u)
    ks = np.max(np.abs(u - (np.arange(1, u.size + 1) - 0.5) / u.size))
    assert ks < 1.95 / np.sqrt(u.size)


@pytest.mark.parametrize("kwargs", [
    {"n": -1}, {"n": 2.5}, {"n": 3, "energies": [1e3, 2e3]}, {"n": 2, "energies": [1e3, -5.0]},
    {"n": 2, "energies": [1e3, np.nan]}, {"n": 2, "e_min": 1e4, "e_max": 1e3}, {"n": 2, "e_min": 0.0},
    {"n": 2, "params": {"tail_sigma": 0.1}}, {"n": 2, "geometry": "ds9"},
])
def test_bad_input_raises_one_line_calolib_error(kwargs):
    with pytest.raises(CalolibError) as info:
        simulate(**kwargs)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("kwargs", [{"sampling_term": 0.0}, {"tail_sigma": -0.1}, {"spot_shape": float("nan")},
                                    {"calibration": "gev"}, {"transport_fraction": 1.5}, {"sigma_scale": "1"}])
def test_bad_params_raise_config_error(kwargs):
    with pytest.raises(ConfigError):
        SyntheticParams(**kwargs)


# --------------------------------------------------------------------------------------------- materials
def test_material_constants_match_pdg_values():
    w, si = MATERIALS["W"], MATERIALS["Si"]
    assert np.isclose(w.x0_mm, 3.504, rtol=2e-3) and np.isclose(si.x0_mm, 93.70, rtol=2e-3)
    # a (nearly) pure tungsten stack reproduces the PDG Moliere radius of W, 9.327 mm
    assert np.isclose(SamplingStack(w, si, 1.0, 1e-9).rm_mm, 9.327, rtol=0.01)
    # the ds2 cell: 1.4 mm W + 0.3 mm Si = 1.4/3.504 + 0.3/93.70 X0; a z-voxel holds two cells
    d = detector_for("ds2")
    assert np.isclose(d.depth_end[0], 2 * (1.4 / 3.504 + 0.3 / 93.70), rtol=5e-3)
    # mip sampling fraction from dE/dx_min: Si 1.664, W 1.145 MeV cm2/g
    f_mip = 1.664 * 2.329 * 0.3 / (1.664 * 2.329 * 0.3 + 1.145 * 19.3 * 1.4)
    assert np.isclose(d.stack.mip_fraction, f_mip, rtol=1e-6)
    assert 0.4 < 4.65 / d.stack.rm_mm < 0.5


def test_ds1_detectors_cover_every_active_layer():
    for name in ("ds1-photons", "ds1-pions"):
        g, d = get_geometry(name), detector_for(name)
        act = np.array(g.active_layers)
        assert np.all(d.depth_end[act] > d.depth_start[act]) and np.all(np.diff(d.depth_start[act]) > 0)
    assert detector_for("ds1-photons").particle == "photon" and detector_for("ds1-pions").particle == "pion"


# --------------------------------------------------------------------------------------------- GFlash pieces
def test_longitudinal_fluctuations_have_the_published_moments():
    e = np.full(40_000, 5e4)  # 50 GeV
    stack = detector_for("ds2").stack
    t, a = sample_longitudinal(e, stack, np.random.default_rng(0))
    m = longitudinal_moments(e[:1], stack)
    ln_y = np.log(5e4 / stack.ec_mev)
    assert np.isclose(np.corrcoef(np.log(t), np.log(a))[0, 1], 0.784 - 0.023 * ln_y, atol=0.02)
    assert np.isclose(np.log(t).std(), 1 / (-2.5 + 1.25 * ln_y), rtol=0.03)
    assert np.isclose(np.log(a).std(), 1 / (-0.82 + 0.79 * ln_y), rtol=0.03)
    assert np.isclose(np.log(t).mean(), m["mu_ln_t"][0], atol=0.01)


@pytest.mark.parametrize("lam", [0.3, 3.0, 200.0, 2000.0])
def test_spot_deposits_have_compound_poisson_moments(lam):
    """Voxel energy = sum of Poisson(lambda) spots of mean e, shape kappa: mean lambda e, var lambda e^2 (1+1/kappa)."""
    lay = layout("ds2")
    m, kappa, e_spot = 4000, 1.0, 0.5
    lam_ring = np.zeros((m, lay.ring_layer.shape[0]))
    lam_ring[:, 3] = lam  # layer 0, radial bin 3, spread over 16 angular bins
    rngs = {k: np.random.default_rng(i) for i, k in enumerate(
        ["poisson", "angle", "gamma", "poisson_dense", "gamma_dense", "gamma_big"])}
    out = deposit_spots(lam_ring, lay, e_spot, kappa, rngs).astype(np.float64)
    ring = DS2.to_grid(out)[:, 0, :, 3]  # (m, 16)
    assert out.sum() == pytest.approx(ring.sum(), rel=1e-6)  # nothing outside the ring
    lv = lam / 16
    mean, var = lv * e_spot, lv * e_spot**2 * (1 + 1 / kappa)
    n = ring.size
    assert abs(ring.mean() - mean) < 5 * np.sqrt(var / n)
    # sd of a sample variance: sqrt((excess kurtosis + 2) / n); compound Poisson with exponential spots has
    # excess kurtosis lambda E[X^4] / (lambda E[X^2])^2 = 24 / (4 lambda)
    assert abs(ring.var() / var - 1) < 5 * np.sqrt((6.0 / lv + 2.0) / n)
    if lv < 1:  # sparse regime: P(empty voxel) = exp(-lambda)
        assert abs((ring == 0).mean() - np.exp(-lv)) < 5 * np.sqrt(np.exp(-lv) * (1 - np.exp(-lv)) / n)
    # isotropy: the 16 angular bins receive equal energy (chi2 with 15 dof, p ~ 1e-4 cut at 45)
    per_bin = ring.sum(axis=0)
    chi2 = np.sum((per_bin - per_bin.mean()) ** 2) / (var * m)
    assert chi2 < 45


# --------------------------------------------------------------------------------------------- physics
def test_response_is_flat_in_energy(fixed_energy_samples):
    stack = detector_for("ds2").stack
    f_e = stack.sampling_fraction / stack.mip_fraction  # default calibration: silicon energy / f_mip
    ratio = np.array([s.showers.sum(axis=1).mean() / (e * 1e3) for e, s in fixed_energy_samples.items()])
    assert ratio.max() / ratio.min() < 1.10
    # calibrated energy = (f_e / f_mip) x containment (a few % leak radially and through the back)
    assert np.all((ratio > 0.85 * f_e) & (ratio < 1.02 * f_e))


def test_resolution_falls_like_one_over_sqrt_e():
    from scipy.optimize import curve_fit

    e_gev = np.array([2.0, 5.0, 10.0, 20.0, 50.0])
    rel = []
    for i, e in enumerate(e_gev):
        tot = simulate(1500, seed=200 + i, energies=np.full(1500, e * 1e3)).showers.sum(axis=1, dtype=np.float64)
        rel.append(tot.std() / tot.mean())
    slope = np.polyfit(np.log(e_gev), np.log(rel), 1)[0]
    assert -0.6 < slope < -0.3
    (a, b, c), _ = curve_fit(lambda x, a, b, c: np.sqrt(a**2 / x + b**2 + c**2 / x**2), e_gev, rel,
                             p0=(0.15, 0.005, 0.01), bounds=(0, 1))
    assert 0.05 < a < 0.25


def test_shower_maximum_moves_deeper_like_ln_e(fixed_energy_samples):
    x0_per_layer = detector_for("ds2").depth_end[0]
    ln_e, cog = [], []
    for e, s in fixed_energy_samples.items():
        le = DS2.layer_energies(s.showers).mean(axis=0)
        ln_e.append(np.log(e))
        cog.append((le * (np.arange(45) + 0.5)).sum() / le.sum() * x0_per_layer)  # depth in X0
    slope, icpt = np.polyfit(ln_e, cog, 1)
    r2 = 1 - np.sum((np.polyval((slope, icpt), ln_e) - cog) ** 2) / np.sum((cog - np.mean(cog)) ** 2)
    assert r2 > 0.98
    assert 0.7 < slope < 1.4  # Rossi / GFlash: t_max = ln(E/E_c) + const, about 1 X0 per e-fold


def test_sparsity_higher_at_low_energy(fixed_energy_samples):
    sp = [(s.showers == 0).mean() for s in fixed_energy_samples.values()]
    assert np.all(np.diff(sp) < 0)
    assert sp[0] > 0.95 and sp[-1] < 0.8


def test_layer_correlations_neighbours_positive_early_late_negative(fixed_energy_samples):
    le = DS2.layer_energies(fixed_energy_samples[100.0].showers)
    c = np.corrcoef(le.T)
    assert min(c[9, 10], c[10, 11], c[11, 12]) > 0.5
    assert c[3, 20] < -0.2  # a late-starting shower has less energy early and more late


def _g4_distance(n: int, seed: int) -> tuple[float, np.ndarray]:
    """||PCC - PCC_G4||_F of the layer energies of ``simulate(n, "ds2", seed)`` (threshold applied) and the rows."""
    from calolib import reference

    c = reference.layer_pcc(reference.layer_energies(simulate(n, "ds2", seed=seed)))
    ref = reference.load_reference()
    return reference.frobenius_distance(c, ref), reference.row_contributions(c, ref)


@pytest.mark.slow
def test_layer_correlations_match_geant4():
    """Issue 12 acceptance on a seed the calibration never saw (tuned on seeds 1-3): 20,000 showers sit at most
    2.0 from the Geant4 matrix (the level of the good published models; the previous model sat at 6.0), and no
    single layer's row dominates."""
    d, rows = _g4_distance(20_000, seed=11)
    assert d <= 2.0
    assert rows.max() < 0.6


def test_layer_correlations_near_geant4_on_a_small_sample():
    """A cheaper check of the same: 4,000 showers of a fresh seed (sampling noise adds ~0.3; the previous model
    gave 5.5 here)."""
    d, _ = _g4_distance(4000, seed=12)
    assert d < 2.6


def test_radial_containment_in_moliere_radii(fixed_energy_samples):
    rm = detector_for("ds2").stack.rm_mm
    edges = DS2.layers[0].r_edges
    for s in fixed_energy_samples.values():
        radial = DS2.to_grid(s.showers).sum(axis=(0, 1, 2))
        cum = np.cumsum(radial) / radial.sum()
        # PDG: ~90 % of an electromagnetic shower's energy within 1 R_M, ~95 % within 2 R_M
        assert np.interp(rm, edges[1:], cum) > 0.85
        assert np.interp(2 * rm, edges[1:], cum) > 0.93


def test_threshold_zeroes_small_deposits():
    e = np.full(300, 2e3)
    raw = simulate(300, seed=9, energies=e, params=SyntheticParams(threshold_mev=0.0)).showers
    cut = simulate(300, seed=9, energies=e).showers
    thr = np.float32(DS2.threshold_mev)
    assert np.any((raw > 0) & (raw < thr))
    np.testing.assert_array_equal(cut, np.where(raw >= thr, raw, 0))


def test_calibration_rescales_to_the_incident_energy():
    e = np.full(400, 2e4)
    s = simulate(400, seed=2, energies=e, params=SyntheticParams(calibration="electron"))
    assert 0.9 < s.showers.sum(axis=1).mean() / 2e4 < 1.02


def test_primary_track_feeds_the_first_layer_centre_and_photons_start_later():
    s = simulate(1000, seed=4, energies=np.full(1000, 5e3))
    layer0 = DS2.to_grid(s.showers)[:, 0]
    assert layer0[:, :, 0].sum() > 0.5 * layer0.sum()
    # ds1 photons convert after ~9/7 X0 and leave no track: the presampler sees less than for a pure track
    g = get_geometry("ds1-photons")
    ph = simulate(2000, "ds1-photons", seed=4, energies=np.full(2000, 8e3))
    assert g.layer_energies(ph.showers)[:, 2].mean() > g.layer_energies(ph.showers)[:, 0].mean()


def test_pions_penetrate_deeper_than_photons():
    e = np.full(1500, 3.2e4)
    for name in ("ds1-photons", "ds1-pions"):
        g = get_geometry(name)
        le = g.layer_energies(simulate(1500, name, seed=8, energies=e).showers).mean(axis=0)
        if name == "ds1-photons":
            photon_late = le[12] / le.sum()
        else:
            pion_late = le[12:].sum() / le.sum()
    assert pion_late > 5 * photon_late


def test_pions_at_em_scale_are_non_compensating():
    """Calibrated layer by layer to the electron scale, hadrons read out less than their energy (pi/e < 1),
    and photons close to theirs (minus the ~2 X0 of dead material in front)."""
    prm = SyntheticParams(calibration="electron")
    e = np.full(800, 6.4e4)
    pi = simulate(800, "ds1-pions", seed=11, energies=e, params=prm).showers.sum(axis=1).mean() / 6.4e4
    ph = simulate(800, "ds1-photons", seed=11, energies=e, params=prm).showers.sum(axis=1).mean() / 6.4e4
    assert 0.9 < ph < 1.02
    assert 0.5 < pi < 0.9 * ph


def test_displaced_profile_modulation_matches_monte_carlo():
    """First-order angular modulation of a displaced 2 r R^2 / (r^2 + R^2)^2 profile against sampled points."""
    rng = np.random.default_rng(0)
    n, r_m, d, phi = 1_000_000, 1.0, 0.05, 0.3
    u = rng.random(n)
    r, a = r_m * np.sqrt(u / (1 - u)), rng.uniform(-np.pi, np.pi, n)  # inverse CDF r^2 / (r^2 + R^2)
    x, y = r * np.cos(a) + d * np.cos(phi), r * np.sin(a) + d * np.sin(phi)
    rr, aa = np.hypot(x, y), np.arctan2(y, x)
    centres = -np.pi + (np.arange(16) + 0.5) * 2 * np.pi / 16
    for r1, r2 in [(0.5, 1.0), (1.0, 2.0)]:
        h, _ = np.histogram(aa[(rr >= r1) & (rr < r2)], bins=16, range=(-np.pi, np.pi))
        rel = h / h.mean() - 1
        amp_mc = np.sum(rel * np.cos(centres - phi)) / np.sum(np.cos(centres - phi) ** 2)
        kappa = -d * np.diff(radial_gradient(np.array([r1, r2]), r_m, r_m, 1.0)) / np.diff(
            radial_cdf(np.array([r1, r2]), r_m, r_m, 1.0))
        amp = float(kappa[0]) * np.sin(np.pi / 16) / (np.pi / 16)
        sd = np.sqrt(2 / h.sum())  # statistical error of the fitted cosine amplitude
        assert abs(amp_mc - amp) < 5 * sd + 0.1 * abs(amp)


def test_wandering_axis_spreads_the_centre_of_energy_symmetrically():
    e = np.full(600, 1e6)
    cx = DS2.voxel_x[:144]
    spread = {}
    for sigma in (0.0, 0.1):
        x = simulate(600, seed=12, energies=e, params=SyntheticParams(axis_sigma=sigma)).showers.reshape(600, 45, 144)
        ec = (x[:, 12] * cx).sum(axis=1) / x[:, 12].sum(axis=1)  # centre of energy in x, layer 12, mm
        assert abs(ec.mean()) < 5 * ec.std() / np.sqrt(ec.size)
        spread[sigma] = ec.std()
    assert spread[0.1] > 3 * spread[0.0]


def test_worker_processes_give_identical_showers():
    a = simulate(700, seed=13)
    b = simulate(700, seed=13, workers=2)  # two chunks in two spawned processes
    np.testing.assert_array_equal(a.showers, b.showers)
    np.testing.assert_array_equal(a.energies, b.energies)


@pytest.mark.parametrize("lam", [4.0, 400.0])  # a sparse and a dense ring
def test_modulated_spots_follow_the_displaced_angular_density(lam):
    """With modulation (amp, phase) the expected energy in angular bin a is proportional to
    1 + amp sinc(h) cos(alpha_a - phase), h the half bin width (the integral of 1 + amp cos over the bin)."""
    lay = layout("ds2")
    m, amp, phase = 3000, 0.6, 1.0
    lam_ring = np.zeros((m, lay.ring_layer.shape[0]))
    lam_ring[:, 0] = lam
    rngs = {k: np.random.default_rng(i) for i, k in enumerate(
        ["poisson", "angle", "gamma", "poisson_dense", "gamma_dense", "gamma_big"])}
    mod = (np.full_like(lam_ring, amp), np.full_like(lam_ring, phase))
    ring = DS2.to_grid(deposit_spots(lam_ring, lay, 1.0, 1.0, rngs, mod=mod).astype(np.float64))[:, 0, :, 0]
    h = np.pi / 16
    centres = -np.pi + (2 * np.arange(16) + 1) * h
    expect = lam / 16 * (1 + amp * np.sin(h) / h * np.cos(centres - phase))  # mean energy per bin (e_spot = 1)
    var = expect * 2.0  # compound Poisson with exponential spots: lambda E[X^2] = 2 lambda
    z = (ring.mean(axis=0) - expect) / np.sqrt(var / m)
    assert np.sum(z**2) < 45  # chi2, 16 dof


def test_modulated_bins_invert_the_angular_cdf_exactly():
    from calolib.synthetic.spots import _modulated_bins

    rng = np.random.default_rng(1)
    n = 20_000
    u, amp, phase = rng.random(n), rng.uniform(-0.95, 0.95, n), rng.uniform(-np.pi, np.pi, n)
    for n_alpha in (1, 10, 16, 50):
        edges = np.linspace(-np.pi, np.pi, n_alpha + 1)
        # F(a) = int_{-pi}^{a} (1 + amp cos(x - phase)) dx / (2 pi), evaluated at the bin edges
        cdf = (edges[None, :] + np.pi + amp[:, None] * (np.sin(edges[None, :] - phase[:, None])
                                                       - np.sin(-np.pi - phase[:, None]))) / (2 * np.pi)
        expected = (cdf[:, 1:-1] <= u[:, None]).sum(axis=1)
        got = _modulated_bins(u, amp, phase, np.full(n, n_alpha))
        assert np.mean(got == expected) > 0.9999  # float32 arithmetic may flip a u within ~1e-7 of an edge
