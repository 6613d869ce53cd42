"""Feature-histogram figures of the evaluation: reference vs generated step histograms (normalised,
with Poisson error bars) and a ratio panel generated/reference underneath, one pair of axes per feature.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from calolib.errors import CalolibError
from calolib.metrics.divergences import HistogramPair, feature_histograms, separation_power
from calolib.plotting.style import get_ax, use_style

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

    Drawn by :func:`calolib.plotting.ratio.plot_counts_ratio` (off-scale ratio points as arrows).
    Returns ``{"ref": stairs, "gen": stairs, "ref_err": errorbar, "gen_err": errorbar, "ratio": errorbar or None}``.

    Example:
        >>> from calolib.metrics.divergences import histogram_pair
        >>> rng = np.random.default_rng(0)
        >>> out = plot_feature_histogram(histogram_pair(rng.normal(size=500), rng.normal(size=500), 10, name="ec_x_0"))
        >>> sorted(out)
        ['gen', 'gen_err', 'ratio', 'ref', 'ref_err']
        >>> plt.close("all")
    """
    from calolib.plotting.ratio import plot_counts_ratio

    use_style()
    ax = get_ax(ax)
    logy = pair.name.startswith(("e_layer", "e_total")) and (pair.ref > 0).any()
    arts = plot_counts_ratio(pair.edges, {labels[1]: pair.ref, labels[0]: pair.gen}, ax=ax, rax=rax,
                             logx=pair.log, logy=logy, xlabel=feature_label(pair.name), ratio_range=ratio_range,
                             ratio_label="gen/ref", model_errors=True)
    if pair.gen.sum() > 0 and pair.ref.sum() > 0:
        ax.set_title(f"sep. power {separation_power(pair.gen, pair.ref):.3g} (50 pooled bins, calolib)", fontsize=9)
    return {"ref": arts.steps[labels[1]], "gen": arts.steps[labels[0]], "ref_err": arts.errors[labels[1]],
            "gen_err": arts.errors[labels[0]], "ratio": arts.ratio.get(labels[0])}


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
