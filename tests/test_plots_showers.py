"""The standard CaloChallenge plots and the shared histogram-with-ratio helper draw what the numbers say."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from calolib.plotting import showers as sp  # noqa: E402
from calolib.plotting.ratio import draw_ratio, plot_counts_ratio, ratio_axes  # noqa: E402
from calolib.synthetic import simulate  # noqa: E402


@pytest.fixture(scope="module")
def samples():
    return {"reference": simulate(150, seed=1), "model": simulate(150, seed=2)}


def test_off_scale_ratio_points_are_arrows_at_the_edge():
    fig, rax = plt.subplots()
    eb, arrows = draw_ratio(rax, [1, 2, 3, 4], [1.0, 2.5, 0.2, np.nan], [0.1] * 4, ylim=(0.5, 1.5))
    assert len(arrows) == 2
    tips = sorted(a.xy[1] for a in arrows)
    assert tips == [0.5, 1.5]  # one arrow pinned at each edge
    assert len(eb.lines[0].get_xdata()) == 1  # only the in-range point is a marker


def test_counts_ratio_normalisation_and_ratio():
    fig = plt.figure()
    ax, rax = ratio_axes(fig)
    a = plot_counts_ratio(np.array([0.0, 1.0, 3.0]), {"ref": np.array([10, 30]), "gen": np.array([20, 20])}, ax=ax,
                          rax=rax)
    np.testing.assert_allclose(a.values["ref"][0], [0.25, 0.375])  # unit area: 10/(40·1), 30/(40·2)
    ratio = a.ratio["gen"].lines[0].get_ydata()
    # 2.0 is off the default 0.5–1.5 panel: it is an arrow, 2/3 a point
    assert len(a.arrows) == 1 and np.allclose(ratio, [2 / 3])


def test_mean_profiles_match_direct_means(samples):
    out = sp.plot_mean_profiles(samples)
    v = sp.thresholded(samples)["model"]
    geo = samples["model"].geometry
    np.testing.assert_allclose(out["longitudinal"]["model"][0], geo.layer_energies(v).mean(0))
    ring0 = v[:, geo.voxel_r == geo.voxel_r.min()].sum(1).mean()
    assert out["radial"]["model"][0][0] == pytest.approx(ring0)
    assert plt.gcf().axes[0].get_yscale() == "log"


def test_voxel_spectrum_response_bins_layer_grid_images_roc(samples):
    fig = plt.figure()
    ax, rax = ratio_axes(fig)
    a = sp.plot_voxel_spectrum(samples, ax=ax, rax=rax)
    assert len(a.edges) == 50 and ax.get_xscale() == "log" and ax.get_yscale() == "log"
    assert ax.get_xlabel() == "" and rax.get_xlabel() == "voxel energy [MeV]"
    out = sp.plot_response_in_einc_bins(samples, n_bins=3)
    assert len(out) == 3
    n_in = sum(int(a.steps["reference"].get_data()[0].sum() > 0) for a in out.values())
    assert n_in == 3
    grid = sp.plot_layer_energy_grid(samples, layers=(2, 10))
    assert sorted(grid) == [2, 10]
    imgs = sp.plot_image_comparison(samples, layers=(5, 12))
    assert len(imgs["ratio"]) == 2
    arts = sp.plot_roc_curves({"cls-low": ([0, 0.3, 1], [0, 0.8, 1], 0.75)}, ax=plt.figure().gca())
    assert arts[0].get_label() == "cls-low: AUC 0.750"


def test_worst_features_are_the_largest_separation_powers(samples):
    from calolib.metrics.official import official_separation_powers

    seps = official_separation_powers(samples["model"], samples["reference"], n_bootstrap=0)
    out = sp.plot_worst_features(seps, samples, n=3)
    top = sorted((s for s in seps.values() if s.official_mode and np.isfinite(s.value)), key=lambda s: -s.value)[:3]
    assert list(out) == [s.name for s in top]
