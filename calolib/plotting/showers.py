"""The standard CaloChallenge comparison plots of generated against reference showers.

Every function takes ``samples = {label: Showers}`` with the **reference first** (black, with errors)
and the models after it (coloured), applies the official threshold (0.5 keV/0.033 for ds2/ds3), and
draws into the axes it is given (``ax=None``: the current axes; ratio panels through ``rax``):

* :func:`plot_layer_energy_grid`: E_layer histograms (official log bins) for a set of layers;
* :func:`plot_mean_profiles`: mean longitudinal (per layer) and radial (per ring) energy profiles, log y,
  with model/reference ratio panels;
* :func:`plot_voxel_spectrum`: the voxel-energy spectrum on log-log axes (official bins);
* :func:`plot_response_in_einc_bins`: E_dep/E_inc histograms in log-spaced bins of E_inc;
* :func:`plot_worst_features`: the features with the largest separation power, on their official bins;
* :func:`plot_image_comparison`: one generated shower, the average generated and reference showers, and
  their ratio, per layer (polar images);
* :func:`plot_roc_curves`: classifier ROC curves with their AUCs.

Ratio points that fall outside a panel are drawn as arrows at its edge (:func:`calolib.plotting.ratio.draw_ratio`).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np

from calolib.plotting.ratio import draw_ratio, plot_counts_ratio, plot_hist_ratio, ratio_axes
from calolib.plotting.style import COLORS, get_ax, label_axes, use_style

__all__ = ["plot_layer_energy_grid", "plot_mean_profiles", "plot_voxel_spectrum", "plot_response_in_einc_bins",
           "plot_worst_features", "plot_image_comparison", "plot_roc_curves", "thresholded"]


def __dir__():
    return __all__


def thresholded(samples: Mapping[str, object]) -> dict[str, np.ndarray]:
    """``{label: (N, V) voxels}`` with the official threshold applied (voxels below it set to 0), MeV."""
    from calolib.metrics.official import official_threshold

    out = {}
    for k, s in samples.items():
        v = np.asarray(s.showers, np.float64)
        out[k] = np.where(v < official_threshold(s.geometry), 0.0, v)
    return out


def _geometry(samples):
    return next(iter(samples.values())).geometry


def plot_layer_energy_grid(samples: Mapping[str, object], *, layers: Sequence[int] | None = None, fig=None,
                           ncols: int = 5) -> dict:
    """E_layer histograms (MeV, log-log, official bins: threshold … reference max) with ratio panels.

    Returns ``{layer: HistRatioArtists}``.

    Example:
        >>> from calolib.synthetic import simulate
        >>> arts = plot_layer_energy_grid({"ref": simulate(200, seed=1), "gen": simulate(200, seed=2)}, layers=(0, 20))
        >>> sorted(arts)
        [0, 20]
        >>> plt.close("all")
    """
    from calolib.metrics.official import official_bins

    use_style()
    vox = thresholded(samples)
    geo = _geometry(samples)
    layers = list(layers) if layers is not None else list(geo.active_layers)[::5]
    ncols = min(ncols, len(layers))
    nrows = int(np.ceil(len(layers) / ncols))
    fig = fig or plt.figure(figsize=(3.6 * ncols, 3.6 * nrows), constrained_layout=True)
    outer = fig.add_gridspec(nrows, ncols)
    arts = {}
    ref_key = next(iter(vox))
    for i, l in enumerate(layers):
        sl = geo.layer_slices[l]
        e = {k: v[:, sl].sum(1) for k, v in vox.items()}
        edges = official_bins(f"e_layer_{l}", geo, ref_max=float(e[ref_key].max()))
        ax, rax = ratio_axes(fig, spec=outer[i // ncols, i % ncols])
        if edges is None:
            ax.set_title(f"layer {l}: empty in the reference", fontsize=9)
            continue
        arts[l] = plot_counts_ratio(edges, {k: np.histogram(x, edges)[0] for k, x in e.items()}, ax=ax, rax=rax,
                                    logx=True, logy=True, density="fraction", xlabel=f"E layer {l} [MeV]",
                                    legend=i == 0)
        ax.set_title(f"layer {l}", fontsize=10)
    return arts


def plot_mean_profiles(samples: Mapping[str, object], *, axes=None) -> dict:
    """Mean energy per layer and per radial ring (summed over angles and layers), MeV, with ratio panels.

    ``axes`` = ``(ax_long, rax_long, ax_rad, rax_rad)`` (default: a new 2×2 figure).  Error bars are the
    standard errors of the means.  Returns ``{"longitudinal": {label: (mean, err)}, "radial": {...}, "artists": [...]}``.

    Example:
        >>> from calolib.synthetic import simulate
        >>> out = plot_mean_profiles({"ref": simulate(100, seed=1), "gen": simulate(100, seed=2)})
        >>> out["longitudinal"]["ref"][0].shape, out["radial"]["gen"][0].shape
        ((45,), (9,))
        >>> plt.close("all")
    """
    use_style()
    if axes is None:
        fig = plt.figure(figsize=(14, 5.5), constrained_layout=True)
        gs = fig.add_gridspec(1, 2)
        axes = (*ratio_axes(fig, spec=gs[0]), *ratio_axes(fig, spec=gs[1]))
    ax_l, rax_l, ax_r, rax_r = axes
    vox = thresholded(samples)
    geo = _geometry(samples)
    out = {"longitudinal": {}, "radial": {}, "artists": []}
    r_edges = np.asarray(geo.layers[geo.active_layers[0]].r_edges, float)
    same_rings = all(np.array_equal(np.asarray(geo.layers[l].r_edges, float), r_edges) for l in geo.active_layers)
    for kind, ax, rax in (("longitudinal", ax_l, rax_l), ("radial", ax_r, rax_r)):
        for i, (k, v) in enumerate(vox.items()):
            if kind == "longitudinal":
                per = geo.layer_energies(v)
                x = np.arange(geo.n_layers)
                edges = np.arange(geo.n_layers + 1) - 0.5
            else:
                if not same_rings:
                    ax.set_title("radial profile needs one ring binning for all layers", fontsize=9)
                    break
                ring = np.searchsorted(r_edges, geo.voxel_r) - 1
                per = np.stack([v[:, ring == j].sum(1) for j in range(len(r_edges) - 1)], 1)
                x, edges = 0.5 * (r_edges[1:] + r_edges[:-1]), r_edges
            mean, err = per.mean(0), per.std(0) / np.sqrt(max(len(per), 1))
            out[kind][k] = (mean, err)
            col = COLORS[i % len(COLORS)]
            out["artists"].append(ax.stairs(mean, edges, color=col, lw=1.5 if i == 0 else 1.8, label=k))
            out["artists"].append(ax.errorbar(x, mean, yerr=err, fmt="none", ecolor=col, lw=1))
            if i > 0:
                m0, e0 = out[kind][next(iter(vox))]
                with np.errstate(divide="ignore", invalid="ignore"):
                    ratio = np.where(m0 > 0, mean / m0, np.nan)
                    rerr = np.abs(ratio) * np.sqrt((err / np.where(mean > 0, mean, np.inf)) ** 2
                                                   + (e0 / np.where(m0 > 0, m0, np.inf)) ** 2)
                eb, arrows = draw_ratio(rax, x, ratio, rerr, color=col)
                out["artists"] += [eb, *arrows]
        rax.axhline(1.0, color=COLORS[0], lw=1, ls="--")
        label_axes(ax, "", "mean energy per layer [MeV]" if kind == "longitudinal" else "mean energy per ring [MeV]",
                   logy=True)
        label_axes(rax, "layer" if kind == "longitudinal" else "r [mm]", "model / ref.")
        ax.legend(fontsize=9)
    return out


def plot_voxel_spectrum(samples: Mapping[str, object], *, ax=None, rax=None):
    """Voxel-energy spectrum (all voxels above threshold, MeV) on log-log axes, official bins (threshold … ref max).

    Example:
        >>> from calolib.synthetic import simulate
        >>> a = plot_voxel_spectrum({"ref": simulate(50, seed=1), "gen": simulate(50, seed=2)}, ax=plt.figure().gca())
        >>> len(a.edges) - 1
        49
        >>> plt.close("all")
    """
    from calolib.metrics.official import official_bins

    vox = thresholded(samples)
    geo = _geometry(samples)
    ref = next(iter(vox.values()))
    edges = official_bins("voxel_energy", geo, ref_max=float(ref.max()))
    counts = {k: np.histogram(v[v > 0], edges)[0] for k, v in vox.items()}
    return plot_counts_ratio(edges, counts, ax=ax, rax=rax, logx=True, logy=True, density=True,
                             xlabel="voxel energy [MeV]")


def plot_response_in_einc_bins(samples: Mapping[str, object], *, n_bins: int = 6, fig=None, ncols: int = 3,
                               bins: np.ndarray | None = None) -> dict:
    """E_dep/E_inc histograms in ``n_bins`` log-spaced E_inc bins (over the reference range), with ratio panels.

    ``bins`` are the E_dep/E_inc edges (default: 50 bins on the reference's 0.1–99.9 % range, padded).
    Returns ``{(lo, hi) MeV: HistRatioArtists}``.

    Example:
        >>> from calolib.synthetic import simulate
        >>> out = plot_response_in_einc_bins({"ref": simulate(300, seed=1), "gen": simulate(300, seed=2)}, n_bins=2)
        >>> len(out)
        2
        >>> plt.close("all")
    """
    use_style()
    vox = thresholded(samples)
    e_inc = {k: np.asarray(s.energies, np.float64) for k, s in samples.items()}
    ratio = {k: v.sum(1) / e_inc[k] for k, v in vox.items()}
    ref_key = next(iter(samples))
    e_edges = np.geomspace(e_inc[ref_key].min(), e_inc[ref_key].max() * (1 + 1e-9), n_bins + 1)
    if bins is None:
        lo, hi = np.quantile(ratio[ref_key], [0.001, 0.999])
        pad = 0.5 * (hi - lo)
        bins = np.linspace(max(lo - pad, 0), hi + pad, 51)
    ncols = min(ncols, n_bins)
    nrows = int(np.ceil(n_bins / ncols))
    fig = fig or plt.figure(figsize=(4.4 * ncols, 4.2 * nrows), constrained_layout=True)
    outer = fig.add_gridspec(nrows, ncols)
    out = {}
    for i in range(n_bins):
        lo, hi = e_edges[i], e_edges[i + 1]
        sel = {k: r[(e_inc[k] >= lo) & (e_inc[k] < hi)] for k, r in ratio.items()}
        ax, rax = ratio_axes(fig, spec=outer[i // ncols, i % ncols])
        out[(lo, hi)] = plot_hist_ratio(sel, bins=bins, ax=ax, rax=rax, xlabel="E_dep / E_inc", legend=i == 0)
        ax.set_title(f"E_inc {lo / 1e3:.3g}–{hi / 1e3:.3g} GeV (n={len(sel[ref_key])})", fontsize=10)
    return out


def plot_worst_features(separation_powers: Mapping[str, object], samples: Mapping[str, object], *, n: int = 6,
                        fig=None, ncols: int = 3, model: str | None = None) -> dict:
    """Histograms (official bins) of the ``n`` official-mode features with the largest separation power.

    ``separation_powers`` is ``{name: SeparationPower}`` of one model (``model``, default the second label of
    ``samples``) against the reference; every sample in ``samples`` is drawn on each panel.
    """
    from calolib.metrics.official import official_histograms, official_name

    use_style()
    ref_key = next(iter(samples))
    model = model or list(samples)[1]
    ranked = sorted((s for s in separation_powers.values() if s.official_mode and np.isfinite(s.value)),
                    key=lambda s: -s.value)[:n]
    hists = {k: official_histograms(s, samples[ref_key]) for k, s in samples.items() if k != ref_key}
    ncols = min(ncols, max(len(ranked), 1))
    nrows = int(np.ceil(max(len(ranked), 1) / ncols))
    fig = fig or plt.figure(figsize=(4.4 * ncols, 4.2 * nrows), constrained_layout=True)
    outer = fig.add_gridspec(nrows, ncols)
    out = {}
    for i, sp in enumerate(ranked):
        h0 = hists[model][sp.name]
        counts = {ref_key: h0.counts("ref"), **{k: h[sp.name].counts("gen") for k, h in hists.items()}}
        logx = sp.name.startswith(("e_layer", "voxel"))
        ax, rax = ratio_axes(fig, spec=outer[i // ncols, i % ncols])
        out[sp.name] = plot_counts_ratio(h0.edges, counts, ax=ax, rax=rax, logx=logx, logy=True, legend=i == 0,
                                         density="fraction" if logx else True,
                                         xlabel=official_name(sp.name) + (" [MeV]" if logx else " [mm]" if "EC" in
                                                                          official_name(sp.name) or "Width" in
                                                                          official_name(sp.name) else ""))
        ax.set_title(f"{official_name(sp.name)}: sep. power {sp.value:.3g} ({model})", fontsize=9)
    return out


def plot_image_comparison(samples: Mapping[str, object], *, layers: Sequence[int] | None = None, fig=None,
                          event: int = 0) -> dict:
    """Rows: one generated shower (``event``), the average generated shower, the average reference shower and
    their ratio (generated/reference, diverging log colour scale), per layer (polar images, MeV).

    Uses the first model (second label of ``samples``).

    Example:
        >>> from calolib.synthetic import simulate
        >>> out = plot_image_comparison({"ref": simulate(20, seed=1), "gen": simulate(20, seed=2)}, layers=(5, 15))
        >>> sorted(out)
        ['average', 'ratio', 'reference', 'single']
        >>> plt.close("all")
    """
    from matplotlib.colors import LogNorm

    from calolib.reports.plots import plot_layer_images

    use_style()
    vox = thresholded(samples)
    geo = _geometry(samples)
    ref_key, gen_key = list(samples)[:2]
    active = list(geo.active_layers)
    layers = list(layers) if layers is not None else [active[int(i)] for i in np.linspace(0, len(active) - 1, 5).round()]
    fig = fig or plt.figure(figsize=(3.0 * len(layers) + 1.5, 12.5), constrained_layout=True)
    axes = fig.subplots(4, len(layers), subplot_kw={"projection": "polar"}, squeeze=False)
    avg_g, avg_r = vox[gen_key].mean(0), vox[ref_key].mean(0)
    vmax = float(max(avg_r.max(), avg_g.max(), vox[gen_key][event].max()))
    out = {"single": plot_layer_images(vox[gen_key][event], geo, layers=layers, axes=axes[0], vmax=vmax),
           "average": plot_layer_images(avg_g, geo, layers=layers, axes=axes[1], vmax=vmax),
           "reference": plot_layer_images(avg_r, geo, layers=layers, axes=axes[2], vmax=vmax, colorbar=False)}
    for row, text in zip(axes[:3, 0], (f"{gen_key}: event {event}", f"{gen_key}: average", f"{ref_key}: average")):
        row.annotate(text, (-0.25, 0.5), xycoords="axes fraction", rotation=90, va="center", fontsize=10)
    out["ratio"] = []
    slices = geo.layer_slices
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where((avg_r > 0) & (avg_g > 0), avg_g / avg_r, np.nan)
    for ax, l in zip(axes[3], layers):
        layer = geo.layers[l]
        img = ratio[slices[l]].reshape(layer.n_alpha, layer.n_r)
        theta = np.linspace(-np.pi, np.pi, layer.n_alpha + 1)
        mesh = ax.pcolormesh(theta, np.asarray(layer.r_edges, float), np.ma.masked_invalid(img.T), cmap="RdBu_r",
                             norm=LogNorm(vmin=0.2, vmax=5.0), shading="flat")
        ax.set_yticklabels([]), ax.set_xticklabels([]), ax.grid(False)
        ax.set_title(f"layer {l}", fontsize=11)
        out["ratio"].append(mesh)
    axes[3, 0].annotate("average ratio gen/ref", (-0.25, 0.5), xycoords="axes fraction", rotation=90, va="center",
                        fontsize=10)
    if out["ratio"]:
        cb = fig.colorbar(out["ratio"][-1], ax=list(axes[3]), label="⟨E_gen⟩ / ⟨E_ref⟩ per voxel", shrink=0.8, pad=0.04)
        cb.set_ticks([0.2, 0.5, 1, 2, 5], labels=["0.2", "0.5", "1", "2", "5"])
        cb.minorticks_off()
    return out


def plot_roc_curves(curves: Mapping[str, object], *, ax=None) -> list:
    """ROC curves ``{label: result}`` (an OfficialClassifierResult, or ``(fpr, tpr, auc)``) with the diagonal.

    Example:
        >>> arts = plot_roc_curves({"cls-low": ([0, 0.2, 1], [0, 0.7, 1], 0.75)}, ax=plt.figure().gca())
        >>> arts[0].get_label()
        'cls-low: AUC 0.750'
        >>> plt.close("all")
    """
    use_style()
    ax = get_ax(ax)
    arts = []
    for i, (label, r) in enumerate(curves.items()):
        fpr, tpr, auc = (r.fpr, r.tpr, r.auc) if hasattr(r, "fpr") else r
        arts += ax.plot(fpr, tpr, color=COLORS[(i + 1) % len(COLORS)], lw=1.8, label=f"{label}: AUC {auc:.3f}")
    arts += ax.plot([0, 1], [0, 1], color="grey", ls=":", lw=1, label="indistinguishable (AUC 0.5)")
    ax.set_xlim(0, 1), ax.set_ylim(0, 1)
    label_axes(ax, "false-positive rate (generated called reference)", "true-positive rate")
    ax.legend(fontsize=9, loc="lower right")
    return arts
