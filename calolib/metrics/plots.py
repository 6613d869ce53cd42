"""Feature-histogram figures of the evaluation: reference vs generated step histograms (normalised,
with Poisson error bars) and a ratio panel generated/reference underneath, one pair of axes per feature.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from calolib.errors import CalolibError
from calolib.metrics.divergences import HistogramPair, feature_histograms, separation_power
from calolib.plotting.style import COLORS, get_ax, use_style

__all__ = ["plot_feature_histogram", "plot_feature_histograms", "feature_label"]


def __dir__():
    return __all__


_UNITS = {"e_inc": "E_inc [MeV]", "e_total": "E_total [MeV]", "e_ratio": "E_total / E_inc", "sparsity": "sparsity",
          "e_layer": "E_layer {l} [MeV]", "ec_x": "⟨x⟩ layer {l} [mm]", "ec_y": "⟨y⟩ layer {l} [mm]",
          "ec_r": "⟨r⟩ layer {l} [mm]", "width_x": "σ_x layer {l} [mm]", "width_y": "σ_y layer {l} [mm]",
          "width_r": "σ_r layer {l} [mm]", "sparsity_layer": "sparsity layer {l}"}


def feature_label(name: str) -> str:
    """Axis label with units for a feature column name such as ``"ec_x_12"``.

    Example:
        >>> feature_label("e_layer_3"), feature_label("e_ratio")
        ('E_layer 3 [MeV]', 'E_total / E_inc')
    """
    if name in _UNITS:
        return _UNITS[name]
    base, _, layer = name.rpartition("_")
    if base in _UNITS and layer.isdigit():
        return _UNITS[base].format(l=layer)
    return name


def plot_feature_histogram(pair: HistogramPair, *, ax=None, rax=None, labels=("generated", "reference"),
                           ratio_range=(0.5, 1.5)) -> dict:
    """Normalised step histograms of one feature (reference black, generated coloured) and the ratio panel.

    Returns ``{"ref": stairs, "gen": stairs, "gen_err": errorbar, "ratio": errorbar or None}``.

    Example:
        >>> from calolib.metrics.divergences import histogram_pair
        >>> rng = np.random.default_rng(0)
        >>> out = plot_feature_histogram(histogram_pair(rng.normal(size=500), rng.normal(size=500), 10, name="ec_x_0"))
        >>> sorted(out)
        ['gen', 'gen_err', 'ratio', 'ref']
    """
    use_style()
    ax = get_ax(ax)
    centres = 0.5 * (pair.edges[1:] + pair.edges[:-1]) if not pair.log else np.sqrt(pair.edges[1:] * pair.edges[:-1])
    dr, er = pair.density("ref")
    dg, eg = pair.density("gen")
    out = {"ref": ax.stairs(dr, pair.edges, color=COLORS[0], lw=1.5, label=labels[1])}
    out["gen"] = ax.stairs(dg, pair.edges, color=COLORS[1], lw=1.5, label=labels[0])
    out["gen_err"] = ax.errorbar(centres, dg, yerr=eg, fmt="none", ecolor=COLORS[1], lw=1)
    ax.errorbar(centres, dr, yerr=er, fmt="none", ecolor=COLORS[0], lw=1)
    if pair.log:
        ax.set_xscale("log")
    if pair.name.startswith(("e_layer", "e_total")) and (dr > 0).any():
        ax.set_yscale("log")
    ax.set_ylabel("normalised entries")
    if pair.gen.sum() > 0 and pair.ref.sum() > 0:
        ax.set_title(f"sep. power {separation_power(pair.gen, pair.ref):.3g}", fontsize=9)
    ax.legend(fontsize=8)
    out["ratio"] = None
    xlabel = feature_label(pair.name)
    if rax is not None:
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(dr > 0, dg / dr, np.nan)
            rerr = ratio * np.sqrt(np.where(pair.gen > 0, 1 / pair.gen, 0) + np.where(pair.ref > 0, 1 / pair.ref, 0))
        out["ratio"] = rax.errorbar(centres, ratio, yerr=rerr, fmt="o", ms=2, color=COLORS[1])
        rax.axhline(1.0, color=COLORS[0], lw=1)
        rax.set_ylim(*ratio_range)
        rax.set_ylabel("gen/ref")
        rax.set_xlabel(xlabel)
        if pair.log:
            rax.set_xscale("log")
        ax.tick_params(labelbottom=False)
    else:
        ax.set_xlabel(xlabel)
    return out


def plot_feature_histograms(gen, ref=None, *, names=None, bins: int = 50, ncols: int = 4, max_features: int = 24,
                            labels=("generated", "reference"), fig=None) -> tuple:
    """Grid of feature histograms with ratio panels.

    ``gen``/``ref`` are HighLevelFeatures (or mappings of arrays); alternatively ``gen`` is a dict of
    :class:`HistogramPair` (e.g. ``Report.histograms``) and ``ref`` is None. ``names`` picks features
    (default: the first ``max_features``). Returns ``(fig, {name: artists})``.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> fig, arts = plot_feature_histograms({"e_ratio": rng.normal(1, .1, 300)}, {"e_ratio": rng.normal(1, .1, 300)})
        >>> list(arts), len(fig.axes)
        (['e_ratio'], 2)
    """
    use_style()
    if ref is None:
        if not isinstance(gen, dict) or not all(isinstance(v, HistogramPair) for v in gen.values()):
            raise CalolibError("pass generated and reference features, or one dict of HistogramPair")
        hists = gen
    else:
        hists = feature_histograms(gen, ref, bins=bins)
    keys = list(names) if names is not None else list(hists)[:max_features]
    missing = [k for k in keys if k not in hists]
    if missing:
        raise CalolibError(f"unknown features {missing}; available: {', '.join(list(hists)[:20])} ...")
    if not keys:
        raise CalolibError("no features to plot")
    ncols = min(ncols, len(keys))
    nrows = int(np.ceil(len(keys) / ncols))
    fig = fig or plt.figure(figsize=(4.2 * ncols, 4.2 * nrows), constrained_layout=True)
    outer = fig.add_gridspec(nrows, ncols)
    arts = {}
    for i, k in enumerate(keys):
        sub = outer[i // ncols, i % ncols].subgridspec(2, 1, height_ratios=(3, 1), hspace=0.05)
        ax = fig.add_subplot(sub[0])
        rax = fig.add_subplot(sub[1], sharex=ax)
        arts[k] = plot_feature_histogram(hists[k], ax=ax, rax=rax, labels=labels)
    return fig, arts
