"""Smoke tests of the diagnostics and metrics figures: artists exist, axes are labelled with units."""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from calolib.diagnostics import plots as dplots  # noqa: E402
from calolib.diagnostics.autocorrelation import ar1_series, bernoulli_noise_study  # noqa: E402
from calolib.diagnostics.clustering import latent_clustering  # noqa: E402
from calolib.diagnostics.einc_sweep import einc_sweep  # noqa: E402
from calolib.diagnostics.resolution import relative_error_curve, resolution_fit_full  # noqa: E402
from calolib.errors import CalolibError  # noqa: E402
from calolib.metrics.divergences import histogram_pair  # noqa: E402
from calolib.metrics.plots import feature_label, plot_feature_histogram, plot_feature_histograms  # noqa: E402


def test_acf_and_magnetisation():
    fig, (a1, a2) = plt.subplots(1, 2)
    r = bernoulli_noise_study(50, 60)
    lines = dplots.plot_acf({"noise": r, "ar1": r.__class__("ar1", r.magnetisation, np.array([1.0, 0.5, 0.25]),
                                                              2.0, 0.1, 2)}, ax=a1)
    assert len(lines) == 2 and "τ_int" in lines[0].get_label()
    assert a1.get_xlabel() == "lag τ [sweeps]" and a1.get_ylabel() == "C(τ) of m"
    assert len(dplots.plot_magnetisation(r, ax=a2, n_chains=3)) == 3 and "[sweeps]" in a2.get_xlabel()
    with pytest.raises(TypeError):
        dplots.plot_acf(r, ax="not an axes")


def test_correlation_heatmaps():
    c = np.corrcoef(np.random.default_rng(0).normal(size=(50, 4)), rowvar=False)
    out = dplots.plot_correlation_matrices(c, np.eye(4), tick_labels=list("abcd"))
    np.testing.assert_allclose(out["difference"].get_array(), c - np.eye(4))
    assert "‖Δ‖_F" in out["axes"][2].get_title()
    assert out["model"].get_clim() == (-1, 1)


def test_resolution_and_relative_error():
    rng = np.random.default_rng(0)
    e = 10 ** rng.uniform(3, 6, 5000)
    r = e * (1 + 0.1 / np.sqrt(e / 1e3) * rng.normal(size=e.size))
    fig, (a1, a2) = plt.subplots(1, 2)
    arts = dplots.plot_resolution({"model": resolution_fit_full(e, r)}, ax=a1)
    assert len(arts) == 2 and a1.get_xscale() == "log" and a1.get_xlabel() == "E [GeV]"
    arts = dplots.plot_relative_error(relative_error_curve(e, r), ax=a2)
    labels = [a.get_label() for a in arts]
    assert sum("slope" in l for l in labels) == 4  # data + three regime guides
    assert a2.get_xscale() == "log" and a2.get_yscale() == "log" and "GeV⁻¹" in a2.get_xlabel()


def test_spectra():
    from calolib.diagnostics.svd import coupling_spectra, spectra_over_checkpoints
    from calolib.rbm import RBM

    fig, (a1, a2) = plt.subplots(1, 2)
    lines = dplots.plot_spectra(coupling_spectra(RBM((3, 3, 3, 3))), ax=a1, normalise=True)
    assert len(lines) == 7 and a1.get_yscale() == "log" and lines[-1].get_ydata()[0] == pytest.approx(1.0)
    h = spectra_over_checkpoints([RBM((3, 3, 3, 3), seed=s) for s in range(3)], epochs=[1, 2, 3])
    assert len(dplots.plot_spectra_history(h, pair="full", ax=a2)) == 3 and "full W" in a2.get_ylabel()


def test_latent_clustering_plot_uses_perceptual_colours():
    rng = np.random.default_rng(0)
    r = latent_clustering(lambda x, e: rng.random((len(e), 6)) < 0.5, lambda z: -z.sum(1), np.zeros((30, 1)),
                          np.geomspace(1e3, 1e6, 30), n_repeats=4, groups=3, gibbs_energies=-rng.integers(0, 7, 200))
    arts = dplots.plot_latent_clustering(r)
    assert len(arts) == 4
    c_low, c_high = (np.array(arts[i].get_edgecolor()[:3]) for i in (0, 2))
    assert c_low.sum() < c_high.sum()  # viridis: dark for low E_inc, light for high
    assert arts[-1].get_label() == "Gibbs samples"


def test_einc_plots():
    grid = np.geomspace(1e3, 1e6, 13)
    z = np.random.default_rng(1).random((5, 4))
    e = grid[[2, 4, 6, 8, 10]]
    sw = einc_sweep(lambda zz, ee: zz * ee[:, None], z, z * e[:, None], e, grid)
    fig, (a1, a2) = plt.subplots(1, 2)
    arts = dplots.plot_einc_curves(sw, events=(0, 3), ax=a1)
    assert len(arts) == 4 and arts[1].get_xdata()[0] == pytest.approx(e[0])
    assert a1.get_xlabel() == "decoder E′_inc [MeV]"
    arts = dplots.plot_einc_argmin(sw, ax=a2)
    # mse, energy, sparsity, the sparsity argmins on the low grid edge (flat criterion: no empty voxels), y = x
    assert len(arts) == 5 and a2.get_ylabel() == "argmin E′ [MeV]"
    assert arts[3].get_label() == "sparsity: 5 at the low grid edge" and "0 interior" in arts[2].get_label()
    with pytest.raises(CalolibError):
        dplots.plot_einc_curves(sw, criterion="nope", ax=a1)


def test_feature_histograms_with_ratio_panels():
    rng = np.random.default_rng(2)
    hp = histogram_pair(rng.exponential(size=400) * 1e3 + 1, rng.exponential(size=400) * 1e3 + 1, 15,
                        name="e_layer_2", log=True)
    fig, (ax, rax) = plt.subplots(2, 1, sharex=True)
    out = plot_feature_histogram(hp, ax=ax, rax=rax)
    assert out["ratio"] is not None and rax.get_xlabel() == "E_layer 2 [MeV]" and ax.get_xscale() == "log"
    assert ax.get_yscale() == "log" and rax.get_ylabel() == "gen/ref"
    gen = {"e_ratio": rng.normal(1, 0.1, 300), "ec_x_3": rng.normal(0, 5, 300)}
    ref = {"e_ratio": rng.normal(1, 0.1, 300), "ec_x_3": rng.normal(0, 5, 300)}
    fig, arts = plot_feature_histograms(gen, ref, bins=10, ncols=2)
    assert list(arts) == ["e_ratio", "ec_x_3"] and len(fig.axes) == 4
    assert feature_label("ec_x_3") == "⟨x⟩ layer 3 [mm]"
    with pytest.raises(ValueError):
        plot_feature_histograms(gen, ref, names=["nope"])


def test_log_acf_stops_at_the_noise_and_at_k_tau():
    from calolib.diagnostics.autocorrelation import _result, ar1_series

    r = _result("ar1", ar1_series(0.9, 100, 2000, seed=0), 600, 5.0, {})
    fig, ax = plt.subplots()
    (line, *_), = [dplots.plot_acf({"ar1": r}, ax=ax, logy=True, lag_factor=5.0)]
    x, y = line.get_xdata(), line.get_ydata()
    assert ax.get_yscale() == "log" and (y > 0).all()
    assert x.max() <= 5 * r.tau + 1  # drawn to at most 5 τ_int
    np.testing.assert_allclose(y[:10], 0.9 ** np.arange(10), atol=0.03)  # exponential decay, C(τ) = φ^τ
    assert any(a.get_label() == "2 × noise level" for a in ax.get_lines())
    with pytest.raises(CalolibError):
        dplots.plot_acf({"ar1": r}, ax=ax, observable="x")


def test_trajectory_band_and_loss_log_scale():
    from calolib.diagnostics.autocorrelation import bernoulli_noise_study
    from calolib.reports.plots import plot_loss_history

    fig, (a1, a2, a3) = plt.subplots(1, 3)
    arts = dplots.plot_magnetisation(bernoulli_noise_study(50, 40), ax=a1, n_chains=2, band=True, max_t=30)
    assert arts[0].get_label() == "16–84 % of the chains" and len(arts) == 4 and len(arts[1].get_xdata()) == 30
    rows = [{"epoch": 0, "val_ae": 5000.0}, {"epoch": 1, "val_ae": 700.0}, {"epoch": 2, "val_ae": 400.0}]
    plot_loss_history(rows, ["val_ae"], ax=a2, logy="auto", mark_epoch=2)
    assert a2.get_yscale() == "log" and any("best.pt (epoch 2)" == a.get_label() for a in a2.get_lines())
    plot_loss_history([{"epoch": 0, "val_pos": -10.0}, {"epoch": 1, "val_pos": -140.0}], ["val_pos"], ax=a3, logy="auto")
    assert a3.get_yscale() == "linear"  # negative terms stay linear


def test_latent_ecdf_steps_once_per_event():
    rng = np.random.default_rng(0)
    r = latent_clustering(lambda x, e: rng.random((len(e), 6)) < 0.5, lambda z: -z.sum(1), np.zeros((30, 1)),
                          np.geomspace(1e3, 1e6, 30), n_repeats=4, groups=3)
    arts = dplots.plot_latent_ecdf(r)
    assert len(arts) == 3 and all(len(a.get_xdata()) == 10 for a in arts) and arts[0].get_ydata()[-1] == 1.0
