"""Plots of a sweep: one metric per panel, configurations along x, every seed and the mean ± std across seeds.

Example:
    >>> import matplotlib; matplotlib.use("agg")
    >>> from calolib.sweep.results import build_results
    >>> pts = [{"id": f"{c}__seed={s}", "config_id": c, "seed": s, "values": {}, "status": "done",
    ...         "metrics": {"fpd": v}} for c, s, v in (("a", 0, 1.0), ("a", 1, 3.0), ("b", 0, 2.0), ("b", 1, 2.5))]
    >>> art = plot_metric(build_results({}, pts, data_path="", out_dir="."), "fpd")
    >>> art.means.tolist(), bool(art.stds[0] > 0)
    ([2.0, 2.25], True)
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from calolib.plotting.style import get_ax, use_style

__all__ = ["MetricArtists", "plot_metric", "plot_metrics"]


def __dir__():
    return __all__


@dataclass(frozen=True)
class MetricArtists:
    """What :func:`plot_metric` drew: the seed markers, the error bars and the plotted means/stds."""

    seeds: object
    errorbar: object
    configs: list[str]
    means: np.ndarray
    stds: np.ndarray


def plot_metric(results, metric: str, *, ax=None, label: str | None = None, log: bool | None = None,
                best: str | None = None) -> MetricArtists:
    """Every finished seed of ``metric`` (small grey dots) and each configuration's mean ± std (black bars).

    Args:
        results: :class:`~calolib.sweep.results.SweepResults`.
        metric: a metric name (see :data:`calolib.sweep.METRICS`).
        label: y-axis label (default: the metric's label).
        log: log y-axis (default: the metric's preference, when its values span more than a factor 10).
        best: ``"lower"``/``"higher"``: mark the best configuration's mean with a star.
    """
    from calolib.sweep.evaluation import METRICS

    use_style()
    ax = get_ax(ax)
    info = METRICS.get(metric)
    per = results.metric(metric)
    configs = list(per)
    x = np.arange(len(configs))
    means = np.array([np.nanmean(v) if np.isfinite(v).any() else np.nan for v in map(np.asarray, per.values())])
    stds = np.array([np.nanstd(v, ddof=1) if np.isfinite(v).sum() > 1 else 0.0 for v in map(np.asarray, per.values())])
    xs = np.concatenate([np.full(len(v), i) + np.linspace(-0.12, 0.12, len(v)) if len(v) > 1 else [i]
                         for i, v in enumerate(per.values())]) if configs else np.array([])
    ys = np.concatenate([np.asarray(v, float) for v in per.values()]) if configs else np.array([])
    seeds = ax.scatter(xs, ys, s=18, color="0.55", zorder=2, label="one seed")
    eb = ax.errorbar(x, means, yerr=stds, fmt="o", color="black", ms=6, capsize=5, zorder=3,
                     label="mean ± std over seeds")
    if best in ("lower", "higher") and np.isfinite(means).sum() > 1:  # a star only when there is a choice
        i = int(np.nanargmin(means) if best == "lower" else np.nanargmax(means))
        ax.plot([x[i]], [means[i]], marker="*", ms=16, color="#D55E00", zorder=4, linestyle="none", label="best mean")
    ax.set_xticks(x, configs, rotation=20 if len(configs) > 3 else 0, ha="right" if len(configs) > 3 else "center")
    ax.tick_params(axis="x", which="minor", bottom=False, top=False)
    ax.set_xlim(-0.6, len(configs) - 0.4)
    ax.set_ylabel(label or (info.label if info else metric))
    ax.set_xlabel("configuration")
    fin = ys[np.isfinite(ys)]
    if log is None:  # the metric's preference, when its values span more than a factor 10
        log = bool(info and info.log and fin.size and fin.min() > 0 and fin.max() > 10 * fin.min())
    if log and fin.size and np.all(fin > 0):
        ax.set_yscale("log")
    return MetricArtists(seeds, eb, configs, means, stds)


def plot_metrics(results, metrics, *, ncols: int = 3, panel_size=(5.2, 4.2)):
    """A grid of :func:`plot_metric` panels (best mean starred); returns ``(fig, {metric: MetricArtists})``."""
    import matplotlib.pyplot as plt

    from calolib.sweep.evaluation import METRICS

    metrics = [m for m in metrics if results.metric(m)]
    n = max(len(metrics), 1)
    ncols = min(ncols, n)
    nrows = -(-n // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(panel_size[0] * ncols, panel_size[1] * nrows), squeeze=False)
    out = {}
    for ax, m in zip(axes.flat, metrics):
        info = METRICS.get(m)
        out[m] = plot_metric(results, m, ax=ax, best=info.better if info else None)
    for ax in list(axes.flat)[len(metrics):]:
        ax.set_visible(False)
    if metrics:
        axes.flat[0].legend(loc="best", fontsize=9)
    fig.tight_layout()
    return fig, out
