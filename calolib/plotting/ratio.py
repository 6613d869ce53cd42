"""Step histograms with a ratio panel: the one implementation behind every "reference vs model" histogram.

* :func:`plot_counts_ratio` draws histograms already binned (``{label: counts}`` on shared edges): the first
  label is the reference (black, with Poisson error bars), the others coloured steps; with ``rax`` each
  model's ratio to the reference goes underneath, with its statistical error.
* :func:`plot_hist_ratio` bins raw values first (:func:`auto_edges` when ``bins`` is a number).
* :func:`draw_ratio` draws ratio points; points outside the panel's range are drawn as arrows at its
  edge (pointing up or down) instead of disappearing.

Used by :func:`calolib.reports.plots.plot_distributions`, :func:`calolib.metrics.plots.plot_feature_histogram`
and the CaloChallenge plots in :mod:`calolib.plotting.showers`.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import matplotlib.pyplot as plt
import numpy as np

from calolib.plotting.style import COLORS, get_ax, label_axes, use_style

__all__ = ["HistRatioArtists", "auto_edges", "draw_ratio", "plot_counts_ratio", "plot_hist_ratio", "ratio_axes"]


def __dir__():
    return __all__


@dataclass
class HistRatioArtists:
    """What :func:`plot_counts_ratio` drew, by sample label."""

    steps: dict = field(default_factory=dict)  # label -> StepPatch
    errors: dict = field(default_factory=dict)  # label -> ErrorbarContainer (reference, and models if asked)
    ratio: dict = field(default_factory=dict)  # label -> ErrorbarContainer in the ratio panel
    arrows: list = field(default_factory=list)  # off-scale ratio points
    edges: np.ndarray | None = None
    values: dict = field(default_factory=dict)  # label -> (y, err) as drawn

    def all(self) -> list:
        """Every artist in drawing order (reference step, reference errors, model steps, ratio points)."""
        out = []
        for k in self.steps:
            out.append(self.steps[k])
            if k in self.errors:
                out.append(self.errors[k])
        return out + list(self.ratio.values()) + self.arrows


def ratio_axes(fig=None, *, height_ratio: float = 3.0, spec=None):
    """A main axes and a ratio axes below it sharing x; returns ``(ax, rax)``.

    ``spec`` (a SubplotSpec) places the pair inside an existing grid.

    Example:
        >>> ax, rax = ratio_axes()
        >>> rax.get_shared_x_axes().joined(ax, rax)
        True
        >>> plt.close("all")
    """
    use_style()
    fig = fig if fig is not None else plt.figure()
    gs = (spec.subgridspec(2, 1, height_ratios=(height_ratio, 1), hspace=0.05) if spec is not None
          else fig.add_gridspec(2, 1, height_ratios=(height_ratio, 1), hspace=0.05))
    ax = fig.add_subplot(gs[0])
    rax = fig.add_subplot(gs[1], sharex=ax)
    ax.tick_params(labelbottom=False)
    return ax, rax


def auto_edges(values, bins: int = 40, *, logx: bool = False, quantiles=(0.001, 0.999)) -> np.ndarray:
    """Bin edges covering the central ``quantiles`` of the pooled finite values (positive ones for ``logx``).

    Example:
        >>> auto_edges([1.0, 10.0, 100.0], 2, logx=True, quantiles=(0, 1)).tolist()
        [1.0, 10.0, 100.0]
        >>> plt.close("all")
    """
    x = np.concatenate([np.asarray(v, np.float64).ravel() for v in values]) if len(values) else np.zeros(0)
    x = x[np.isfinite(x)]
    if logx:
        x = x[x > 0]
    lo, hi = np.quantile(x, quantiles) if x.size else (1.0, 10.0)
    if hi <= lo:
        hi = lo * 10 if logx else lo + 1.0
    return np.geomspace(lo, hi, int(bins) + 1) if logx else np.linspace(lo, hi, int(bins) + 1)


def draw_ratio(rax, x, ratio, err=None, *, color=COLORS[1], ylim=(0.5, 1.5), label: str | None = None,
               marker: str = "o", ms: float = 3.0) -> tuple:
    """Ratio points with error bars on ``rax`` inside ``ylim``; points outside drawn as arrows at the edge.

    Returns ``(errorbar container, [arrow artists])``.

    Example:
        >>> fig, rax = plt.subplots()
        >>> eb, arrows = draw_ratio(rax, [1, 2, 3], [1.0, 3.0, 0.1], [0.1, 0.1, 0.1])
        >>> len(arrows), tuple(float(v) for v in rax.get_ylim())
        (2, (0.5, 1.5))
        >>> plt.close("all")
    """
    x, r = np.asarray(x, np.float64), np.asarray(ratio, np.float64)
    e = np.zeros_like(r) if err is None else np.asarray(err, np.float64)
    lo, hi = ylim
    inside = np.isfinite(r) & (r >= lo) & (r <= hi)
    eb = rax.errorbar(x[inside], r[inside], yerr=e[inside], fmt=marker, ms=ms, color=color, lw=1, label=label)
    arrows = []
    span = hi - lo
    for xi, ri in zip(x[np.isfinite(r) & ~inside], r[np.isfinite(r) & ~inside]):
        up = ri > hi
        tip, tail = (hi, hi - 0.22 * span) if up else (lo, lo + 0.22 * span)
        arrows.append(rax.annotate("", xy=(xi, tip), xytext=(xi, tail), annotation_clip=False,
                                   arrowprops={"arrowstyle": "-|>", "color": color, "lw": 1.2}))
    rax.set_ylim(lo, hi)
    return eb, arrows


def plot_counts_ratio(edges, counts: Mapping[str, np.ndarray], *, ax=None, rax=None, density: str | bool = True,
                      logx: bool = False, logy: bool = False, xlabel: str = "", ratio_range=(0.5, 1.5),
                      ratio_label: str = "model / ref.", model_errors: bool = False, legend: bool = True,
                      colors=None, linestyles=None) -> HistRatioArtists:
    """Draw histograms binned on ``edges`` (``{label: counts}``; first label = reference) with a ratio panel.

    Args:
        density: ``True``/``"area"`` unit area; ``"fraction"`` fraction of entries per bin (a log-uniform
            sample looks flat on log bins); ``False`` raw counts.
        rax: ratio axes (model / reference with statistical errors of both); off-scale points are arrows.
        model_errors: also draw Poisson error bars on the models.

    Example:
        >>> arts = plot_counts_ratio(np.array([0., 1., 2.]), {"ref": np.array([10, 20]), "gen": np.array([12, 18])},
        ...                          ax=plt.figure().gca())
        >>> list(arts.steps), [round(float(v), 3) for v in arts.values["gen"][0]]
        (['ref', 'gen'], [0.4, 0.6])
        >>> plt.close("all")
    """
    use_style()
    ax = get_ax(ax)
    edges = np.asarray(edges, np.float64)
    width = np.diff(edges)
    centres = np.sqrt(edges[1:] * edges[:-1]) if logx and edges[0] > 0 else 0.5 * (edges[1:] + edges[:-1])
    out = HistRatioArtists(edges=edges)
    ref = None
    for i, (label, c) in enumerate(counts.items()):
        c = np.asarray(c, np.float64)
        tot = c.sum() if c.sum() > 0 else 1.0
        norm = {"fraction": tot * np.ones_like(width), False: np.ones_like(width)}.get(density, tot * width)
        y, err = c / norm, np.sqrt(c) / norm
        out.values[label] = (y, err)
        col = (colors[i] if colors is not None else COLORS[i % len(COLORS)])
        ls = linestyles[i] if linestyles is not None else "-"
        out.steps[label] = ax.stairs(y, edges, color=col, lw=1.5 if i == 0 else 1.8, ls=ls, label=label)
        if i == 0 or model_errors:
            out.errors[label] = ax.errorbar(centres, y, yerr=err, fmt="none", ecolor=col, lw=1)
        if i == 0:
            ref = (y, err)
            continue
        if rax is not None:
            with np.errstate(divide="ignore", invalid="ignore"):
                ratio = np.where(ref[0] > 0, y / ref[0], np.nan)
                rerr = np.abs(ratio) * np.sqrt(np.where(y > 0, (err / np.where(y > 0, y, 1)) ** 2, 0)
                                              + np.where(ref[0] > 0, (ref[1] / np.where(ref[0] > 0, ref[0], 1)) ** 2, 0))
            out.ratio[label], arrows = draw_ratio(rax, centres, ratio, rerr, color=col, ylim=ratio_range)
            out.arrows += arrows
    ylabel = {"fraction": "fraction per bin", False: "entries"}.get(density, "normalised entries")
    label_axes(ax, "" if rax is not None else xlabel, ylabel, logx=logx, logy=logy)
    if legend:
        ax.legend(fontsize=9)
    if rax is not None:
        rax.axhline(1.0, color=COLORS[0], lw=1, ls="--")
        label_axes(rax, xlabel, ratio_label, logx=logx)
        ax.tick_params(labelbottom=False)
    return out


def plot_hist_ratio(samples: Mapping[str, np.ndarray], *, bins: int | np.ndarray = 40, ax=None, rax=None,
                    logx: bool = False, **kw) -> HistRatioArtists:
    """Histogram raw values ``{label: (N,) array}`` (first = reference) and draw them with :func:`plot_counts_ratio`.

    Non-finite values are dropped; with a number of ``bins`` the edges come from :func:`auto_edges`.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> fig = plt.figure(); ax, rax = ratio_axes(fig)
        >>> a = plot_hist_ratio({"ref": rng.normal(size=500), "gen": rng.normal(0.2, 1, 500)}, bins=10, ax=ax, rax=rax)
        >>> len(a.ratio), rax.get_ylabel()
        (1, 'model / ref.')
        >>> plt.close("all")
    """
    arrays = {k: np.asarray(v, np.float64).ravel() for k, v in samples.items()}
    arrays = {k: v[np.isfinite(v)] for k, v in arrays.items()}
    edges = auto_edges(list(arrays.values()), int(bins), logx=logx) if np.ndim(bins) == 0 else np.asarray(bins, float)
    counts = {k: np.histogram(v, edges)[0] for k, v in arrays.items()}
    return plot_counts_ratio(edges, counts, ax=ax, rax=rax, logx=logx, **kw)
