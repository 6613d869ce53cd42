"""Figures the study reports need that no library module draws: shower images, profiles, loss curves.

* :func:`plot_layer_images`: one polar image per calorimeter layer (radius × angle, log colour scale
  in MeV, empty voxels blank) of a single shower or of an average shower.
* :func:`plot_longitudinal_profile`: mean energy per layer (with the standard error) for one or
  several samples.
* :func:`plot_distributions`: step histograms of one quantity for several samples (the first is the
  reference, drawn black with Poisson errors), optionally with a ratio panel.
* :func:`plot_profile_vs_einc`: binned mean ± std of a quantity against E_inc (log axis).
* :func:`plot_loss_history`: training-history columns against epoch.
* :func:`plot_topology`: the qubit graph of an annealer topology with the RBM's four partitions coloured.

All follow ``plot_x(data, *, ax=None, **kw)`` and return the artists they drew.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np

from calolib.plotting.style import COLORS, get_ax, label_axes, use_style

__all__ = ["plot_layer_images", "plot_longitudinal_profile", "plot_distributions", "plot_profile_vs_einc",
           "plot_loss_history", "ratio_axes", "plot_topology"]


def __dir__():
    return __all__


def _voxels(x) -> np.ndarray:
    """Showers / (N, V) / (V,) -> float64 array (N, V)."""
    arr = np.asarray(getattr(x, "showers", x), dtype=np.float64)
    return arr[None] if arr.ndim == 1 else arr


def plot_layer_images(shower, geometry, *, layers: Sequence[int] | None = None, axes=None, vmin: float | None = None,
                      vmax: float | None = None, cmap: str = "viridis", colorbar: bool = True) -> list:
    """Polar images (x = r cos α, y = r sin α) of selected layers of one shower ``(V,)`` MeV.

    Args:
        shower: voxel energies ``(V,)`` in MeV (pass ``showers.mean(0)`` for the average shower).
        geometry: a :class:`~calolib.geometry.Geometry` or its name.
        layers: layer indices to draw (default: 5 active layers spread over the depth).
        axes: polar axes, one per layer (default: a new figure with one row).
        vmin, vmax: colour range in MeV (default: the geometry's threshold and the maximum).

    Example:
        >>> import numpy as np
        >>> arts = plot_layer_images(np.random.default_rng(0).random(6480), "ds2", layers=(0, 20))
        >>> len(arts)
        2
    """
    from matplotlib.colors import LogNorm

    from calolib.geometry import get_geometry

    use_style()
    geo = get_geometry(geometry)
    v = np.asarray(getattr(shower, "showers", shower), dtype=np.float64).reshape(-1)
    active = list(geo.active_layers)
    if layers is None:
        layers = [active[int(i)] for i in np.unique(np.linspace(0, len(active) - 1, min(5, len(active))).round())]
    layers = list(layers)
    if axes is None:
        fig, axes = plt.subplots(1, len(layers), figsize=(3.2 * len(layers), 3.6), subplot_kw={"projection": "polar"},
                                 squeeze=False)
        axes = axes[0]
    slices = geo.layer_slices
    positive = v[v > 0]
    hi = vmax if vmax is not None else (float(positive.max()) if positive.size else 1.0)
    lo = vmin if vmin is not None else max(geo.threshold_mev, hi * 1e-6)
    norm = LogNorm(vmin=min(lo, hi / 10), vmax=hi)
    arts = []
    for ax, li in zip(axes, layers):
        layer = geo.layers[li]
        img = v[slices[li]].reshape(layer.n_alpha, layer.n_r)  # radial fastest, then angle
        theta = np.linspace(-np.pi, np.pi, layer.n_alpha + 1)
        r = np.asarray(layer.r_edges, dtype=float)
        mesh = ax.pcolormesh(theta, r, np.ma.masked_less_equal(img.T, 0), norm=norm, cmap=cmap, shading="flat")
        ax.set_title(f"layer {li}", fontsize=11)
        ax.set_yticklabels([])
        ax.set_xticklabels([])
        ax.grid(False)
        arts.append(mesh)
    if colorbar and arts:
        axes[-1].figure.colorbar(arts[-1], ax=list(axes), label="voxel energy [MeV]", shrink=0.8, pad=0.04)
    return arts


def plot_longitudinal_profile(samples: Mapping[str, object], geometry, *, ax=None, logy: bool = True) -> list:
    """Mean energy per layer (MeV) for each sample ``{label: Showers | (N, V) array}`` with its standard error.

    Example:
        >>> import numpy as np
        >>> len(plot_longitudinal_profile({"a": np.ones((4, 6480))}, "ds2", ax=plt.figure().gca()))
        2
    """
    from calolib.geometry import get_geometry

    use_style()
    ax = get_ax(ax)
    geo = get_geometry(geometry)
    edges = np.arange(geo.n_layers + 1) - 0.5
    arts = []
    for i, (label, s) in enumerate(samples.items()):
        e_layer = geo.layer_energies(_voxels(s))
        mean = e_layer.mean(0)
        err = e_layer.std(0) / np.sqrt(max(len(e_layer), 1))
        col = COLORS[i % len(COLORS)]
        arts.append(ax.stairs(mean, edges, color=col, lw=1.8, label=label))
        arts.append(ax.errorbar(np.arange(geo.n_layers), mean, yerr=err, fmt="none", color=col, lw=1))
    label_axes(ax, "layer", "mean layer energy [MeV]", logy=logy)
    ax.legend()
    return arts


def ratio_axes(fig=None, *, height_ratio: float = 3.0):
    """A main axes and a ratio axes below it sharing x; returns ``(ax, rax)`` (see :func:`calolib.plotting.ratio.ratio_axes`).

    Example:
        >>> ax, rax = ratio_axes()
        >>> rax.get_shared_x_axes().joined(ax, rax)
        True
        >>> plt.close("all")
    """
    from calolib.plotting.ratio import ratio_axes as _ratio_axes

    return _ratio_axes(fig, height_ratio=height_ratio)


def plot_distributions(samples: Mapping[str, np.ndarray], *, bins: int | np.ndarray = 40, ax=None, rax=None,
                       xlabel: str = "", logx: bool = False, logy: bool = False, density: bool = True,
                       ratio_range=(0.5, 1.5)) -> list:
    """Histograms of one quantity for several samples; the first sample is the reference.

    The reference is drawn black with Poisson error bars, the others as coloured steps.  With ``rax``
    each other sample's ratio to the reference (with its statistical error) goes there, off-scale points
    as arrows.  With ``density`` the histograms are normalised to unit area, except on log-x axes (log
    bins), where each bin shows the fraction of entries so a log-uniform sample looks flat.  Drawn by
    :func:`calolib.plotting.ratio.plot_hist_ratio`.

    Example:
        >>> import numpy as np
        >>> rng = np.random.default_rng(0)
        >>> len(plot_distributions({"ref": rng.normal(size=500), "gen": rng.normal(size=500)}, bins=10,
        ...                        ax=plt.figure().gca()))
        3
        >>> plt.close("all")
    """
    from calolib.plotting.ratio import plot_hist_ratio

    mode = ("fraction" if logx else True) if density else False
    arts = plot_hist_ratio(samples, bins=bins, ax=ax, rax=rax, logx=logx, logy=logy, xlabel=xlabel, density=mode,
                           ratio_range=ratio_range, ratio_label="ratio")
    return arts.all()


def plot_profile_vs_einc(e_inc, values: Mapping[str, np.ndarray], *, n_bins: int = 12, ax=None,
                         ylabel: str = "", logy: bool = False) -> list:
    """Binned mean (line) and standard deviation (band) of each ``values[label]`` (N,) against E_inc (N,) in MeV.

    ``e_inc`` may be one (N,) array shared by all samples or a mapping with the same keys as ``values``.

    Example:
        >>> import numpy as np
        >>> e = np.geomspace(1e3, 1e6, 200)
        >>> len(plot_profile_vs_einc(e, {"data": np.log(e)}, n_bins=5, ax=plt.figure().gca()))
        2
    """
    use_style()
    ax = get_ax(ax)
    arts = []
    for i, (label, y) in enumerate(values.items()):
        e = np.asarray(e_inc[label] if isinstance(e_inc, Mapping) else e_inc, dtype=np.float64).ravel()
        y = np.asarray(y, dtype=np.float64).ravel()
        edges = np.geomspace(e.min(), e.max() * (1 + 1e-9), n_bins + 1)
        idx = np.clip(np.searchsorted(edges, e, side="right") - 1, 0, n_bins - 1)
        n = np.bincount(idx, minlength=n_bins)
        mean = np.bincount(idx, y, n_bins) / np.maximum(n, 1)
        std = np.sqrt(np.maximum(np.bincount(idx, y * y, n_bins) / np.maximum(n, 1) - mean**2, 0))
        ok = n > 0
        centre = np.sqrt(edges[:-1] * edges[1:])[ok]
        col = COLORS[i % len(COLORS)]
        arts += ax.plot(centre, mean[ok], "o-", ms=4, color=col, label=label)
        arts.append(ax.fill_between(centre, (mean - std)[ok], (mean + std)[ok], color=col, alpha=0.2, lw=0))
    label_axes(ax, "E_inc [MeV]", ylabel, logx=True, logy=logy)
    ax.legend()
    return arts


def plot_loss_history(history: Sequence[Mapping[str, object]], keys: Sequence[str], *, ax=None,
                      logy: bool | str = False, ylabel: str = "loss per event", mark_epoch: int | None = None,
                      errors: Mapping[str, str] | None = None) -> list:
    """History columns ``keys`` (e.g. ``"train_ae"``, ``"val_ae"``) against ``epoch``, one colour each;
    validation columns (``val_*``) dashed.

    Rows lacking a key (e.g. the untrained row 0 has no train terms) are skipped for that key.
    ``logy="auto"`` uses a log axis when every drawn value is positive and they span more than a factor 3
    (losses that fall steeply, where the untrained epoch 0 would squash the rest on a linear axis).  ``mark_epoch`` draws a vertical line there (e.g. best.pt's
    epoch); ``errors`` maps a key to the column holding its error bars.

    Example:
        >>> rows = [{"epoch": 0, "val_ae": 3000.0}, {"epoch": 1, "val_ae": 2.0, "train_ae": 2.5}]
        >>> ax = plt.figure().gca()
        >>> [len(a.get_xdata()) for a in plot_loss_history(rows, ["train_ae", "val_ae"], ax=ax, logy="auto")]
        [1, 2]
        >>> ax.get_yscale()
        'log'
    """
    use_style()
    ax = get_ax(ax)
    arts, drawn = [], []
    for i, key in enumerate(keys):
        pts = [(float(r["epoch"]), float(r[key]), float(r.get((errors or {}).get(key, ""), 0.0) or 0.0))
               for r in history if r.get(key) not in (None, "") and np.isfinite(float(r[key]))]
        if not pts:
            continue
        x, y, e = np.array(pts).T
        drawn.append(y)
        dashed = key.startswith("val")
        col = COLORS[(i + 1) % len(COLORS)]
        arts += ax.plot(x, y, "s--" if dashed else "o-", ms=4, color=col, label=key)
        if errors and key in errors and (e > 0).any():
            arts.append(ax.errorbar(x, y, yerr=e, fmt="none", color=col, lw=1))
    if logy == "auto":
        allv = np.concatenate(drawn) if drawn else np.array([1.0])
        logy = bool((allv > 0).all() and allv.max() > 3 * allv.min())
    if mark_epoch is not None:
        arts.append(ax.axvline(mark_epoch, color="grey", ls=":", lw=1.2, label=f"best.pt (epoch {mark_epoch})"))
    label_axes(ax, "epoch", ylabel, logy=bool(logy))
    ax.legend(fontsize=9)
    return arts


def plot_topology(masks, *, ax=None, node_size: float = 6.0, context: bool = True) -> list:
    """Draw the D-Wave graph behind ``masks`` (a :class:`~calolib.topology.TopologyMasks` of an annealer
    topology) with the qubits of partition p in colour p and the chosen couplings dark.

    With ``context`` the unused qubits and couplers of the chip are drawn faintly underneath.
    Needs ``dwave.graphs`` (imported here only).  Returns the node and edge collections.

    Example:
        >>> from calolib.topology import four_partite_mask
        >>> len(plot_topology(four_partite_mask((4, 4, 4, 4), "zephyr"), ax=plt.figure().gca())) >= 2
        True
    """
    import dwave.graphs as dg

    from calolib.errors import ConfigError

    use_style()
    ax = get_ax(ax)
    if masks.labels is None:
        raise ConfigError(f"topology {masks.topology!r} has no qubit graph to draw; use zephyr, pegasus or chimera")
    prm = masks.params
    if masks.topology == "zephyr":
        graph, draw = dg.zephyr_graph(prm["m"], prm["t"]), dg.draw_zephyr
    elif masks.topology == "pegasus":
        graph, draw = dg.pegasus_graph(prm["m"]), dg.draw_pegasus
    else:
        graph, draw = dg.chimera_graph(prm["m"], prm["m"], prm["t"]), dg.draw_chimera
    part = {int(n): p for p, lab in enumerate(masks.labels) for n in lab}
    before = len(ax.collections)
    if context:
        draw(graph, ax=ax, node_size=node_size * 0.4, node_color="#dddddd", edge_color="#eeeeee", width=0.2)
    sub = graph.subgraph(part)
    colours = [COLORS[1 + part[n]] for n in sub.nodes]
    draw(sub, ax=ax, node_size=node_size, node_color=colours, edge_color="#555555", width=0.25)
    for p in range(4):
        ax.scatter([], [], color=COLORS[1 + p], label=f"partition {p} ({masks.sizes[p]})")
    ax.legend(loc="upper right", fontsize=9)
    ax.set_title(f"{masks.graph}: {masks.n_edges} couplings, density {masks.density:.3f}", fontsize=11)
    ax.set_axis_off()
    return list(ax.collections[before:])
