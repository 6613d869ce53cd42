"""Figures of the diagnostics: each ``plot_x(result, *, ax=None, **kw)`` draws one study result and
returns the artists it made (matplotlib + the calolib/mplhep style, labelled axes with units).
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from calolib.errors import CalolibError
from calolib.metrics._arrays import as_numpy
from calolib.plotting.style import COLORS, get_ax, label_axes, use_style

__all__ = ["plot_acf", "plot_magnetisation", "plot_correlation_matrices", "plot_resolution", "plot_relative_error",
           "plot_spectra", "plot_spectra_history", "plot_latent_clustering", "plot_latent_ecdf", "plot_einc_curves",
           "plot_einc_argmin"]


def __dir__():
    return __all__


def _noise_level(r, c: np.ndarray, lag: np.ndarray, energy: bool = False) -> np.ndarray:
    """Bartlett's standard error of C(τ): √((1 + 2 Σ_{k<τ} C(k)²) / (E (T − τ)))."""
    series = (r.energy if energy else r.magnetisation) if hasattr(r, "magnetisation") else None
    if series is None:
        return np.full(len(lag), np.nan)
    n_e, n_t = series.shape
    cum = np.concatenate([[0.0], np.cumsum(np.nan_to_num(c[1:]) ** 2)])[: len(lag)]
    return np.sqrt((1 + 2 * cum) / (n_e * np.maximum(n_t - lag, 1)))


def plot_acf(results, *, ax=None, max_lag: int | None = None, show_tau: bool = True, logy: bool = False,
             observable: str = "m", lag_factor: float | None = None) -> list:
    """C(τ) against τ for one or several studies (``AutocorrelationResult``, dict of them, or a C array).

    Args:
        observable: ``"m"`` (magnetisation) or ``"E"`` (RBM energy; studies run with ``energy=True``).
        logy: log-y axis; each curve then stops where C(τ) first falls below twice its Bartlett noise level
            (dotted: the noise level of the longest-running case).
        lag_factor: draw each case up to ``lag_factor · τ_int`` (e.g. 5), at least 5 lags.

    Example:
        >>> from calolib.diagnostics.autocorrelation import bernoulli_noise_study
        >>> len(plot_acf({"noise": bernoulli_noise_study(50, 40)}))
        1
    """
    use_style()
    ax = get_ax(ax)
    if isinstance(results, dict):
        items = list(results.items())
    elif hasattr(results, "c"):
        items = [(results.name, results)]
    else:
        items = [("C(τ)", results)]
    if observable not in ("m", "E"):
        raise CalolibError(f"observable must be 'm' or 'E', got {observable!r}")
    lines, floor = [], None
    for i, (name, r) in enumerate(items):
        is_e = observable == "E"
        src = (r.c_energy if is_e else r.c) if hasattr(r, "c") else r
        if src is None:
            continue
        c = as_numpy(src)
        tau = (r.tau_energy if is_e else r.tau) if hasattr(r, "tau") else None
        err = (r.tau_energy_err if is_e else r.tau_err) if hasattr(r, "tau") else None
        n = len(c) - 1
        if max_lag is not None:
            n = min(n, max_lag)
        if lag_factor is not None and tau is not None and np.isfinite(tau):
            n = min(n, max(5, int(np.ceil(lag_factor * tau))))
        lag = np.arange(n + 1)
        c = c[: n + 1]
        col = COLORS[i % len(COLORS)]
        label = f"{name} (τ_int = {tau:.3g} ± {err:.2g})" if show_tau and tau is not None else name
        if logy:
            noise = _noise_level(r, as_numpy(src), lag, is_e)
            below = np.nonzero((c <= 2 * noise) & (lag > 0))[0] if np.isfinite(noise).any() else np.nonzero(c <= 0)[0]
            stop = int(below[0]) if below.size else n + 1
            lines += ax.plot(lag[:stop], c[:stop], "o-", ms=3, color=col, label=label)
            if np.isfinite(noise).any() and (floor is None or len(noise) > len(floor[0])):
                floor = (lag, noise)
        else:
            lines += ax.plot(lag, c, label=label, drawstyle="steps-mid", color=col)
    if logy:
        if floor is not None:
            ax.plot(floor[0][1:], 2 * floor[1][1:], color="grey", ls=":", lw=1, label="2 × noise level")
        ax.set_yscale("log")
    else:
        ax.axhline(0.0, color="grey", lw=0.8, ls=":")
    label_axes(ax, "lag τ [sweeps]", f"C(τ) of {'E(z)' if observable == 'E' else 'm'}")
    ax.legend(fontsize=9)
    return lines


def plot_magnetisation(result, *, ax=None, n_chains: int = 5, band: bool = False, observable: str = "m",
                       max_t: int | None = None, legend: bool = True) -> list:
    """Trajectories of the first ``n_chains`` chains of an ``AutocorrelationResult`` (or an (E, T) array).

    With ``band`` the ensemble's 16–84 % band at each time is drawn underneath (readable for 100 chains);
    ``observable="E"`` draws the RBM energy instead of m; ``max_t`` limits the records drawn.

    Example:
        >>> len(plot_magnetisation(np.zeros((3, 10)), n_chains=2))
        2
    """
    use_style()
    ax = get_ax(ax)
    if hasattr(result, "magnetisation"):
        m = as_numpy(result.energy if observable == "E" else result.magnetisation)
        every = int(result.info.get("every", 1))
    else:
        m, every = as_numpy(result), 1
    m = m[:, :max_t] if max_t else m
    t = np.arange(m.shape[1]) * every
    arts = []
    if band:
        lo, med, hi = np.quantile(m, [0.16, 0.5, 0.84], axis=0)
        arts.append(ax.fill_between(t, lo, hi, color="grey", alpha=0.3, lw=0, label="16–84 % of the chains"))
        arts += ax.plot(t, med, color="black", lw=1, label="median")
    for k in range(min(n_chains, m.shape[0])):
        arts += ax.plot(t, m[k], lw=0.9, color=COLORS[(k + 1) % len(COLORS)], label=f"chain {k}" if band else None)
    label_axes(ax, "t [sweeps]", "RBM energy E(z)" if observable == "E" else "magnetisation m(t)")
    if band and legend:
        ax.legend(fontsize=8)
    return arts


def plot_correlation_matrices(c_model, c_ref, *, axes=None, labels=("model", "reference"), tick_labels=None) -> dict:
    """Heatmaps of two correlation matrices side by side and of their difference (3 axes).

    Returns ``{"model": image, "reference": image, "difference": image, "axes": axes}``.

    Example:
        >>> out = plot_correlation_matrices(np.eye(3), np.ones((3, 3)))
        >>> sorted(k for k in out if k != "axes")
        ['difference', 'model', 'reference']
    """
    use_style()
    a, b = as_numpy(c_model), as_numpy(c_ref)
    if a.shape != b.shape or a.ndim != 2:
        raise CalolibError(f"need two square matrices of one shape, got {a.shape} and {b.shape}")
    if axes is None:
        fig, axes = plt.subplots(1, 3, figsize=(16, 4.8), constrained_layout=True)
    if len(axes) != 3:
        raise CalolibError("plot_correlation_matrices needs 3 axes")
    d = a - b
    lim = max(float(np.abs(d).max()), 1e-12)
    out = {"axes": axes}
    for key, ax, m, title, kw in ((("model", axes[0], a, labels[0], {"cmap": "RdBu_r", "vmin": -1, "vmax": 1}),
                                   ("reference", axes[1], b, labels[1], {"cmap": "RdBu_r", "vmin": -1, "vmax": 1}),
                                   ("difference", axes[2], d, f"{labels[0]} − {labels[1]}  (‖Δ‖_F = {np.linalg.norm(d):.3g})",
                                    {"cmap": "PuOr_r", "vmin": -lim, "vmax": lim}))):
        im = ax.imshow(m, origin="lower", **kw)
        ax.figure.colorbar(im, ax=ax, label="correlation" if key != "difference" else "Δ correlation")
        ax.set_title(title, fontsize=12)
        label_axes(ax, "group", "group")
        if tick_labels is not None:
            ax.set_xticks(range(len(tick_labels)), tick_labels, rotation=90, fontsize=8)
            ax.set_yticks(range(len(tick_labels)), tick_labels, fontsize=8)
        out[key] = im
    return out


def plot_resolution(fits, *, ax=None) -> list:
    """Measured σ/E per bin (error bars) and the fitted a/√E ⊕ b ⊕ c/E curve (E in GeV, log x).

    ``fits`` is a ``ResolutionFit`` or a dict name -> ``ResolutionFit``.

    Example:
        >>> from calolib.diagnostics.resolution import resolution_fit_full
        >>> rng = np.random.default_rng(0); e = 10 ** rng.uniform(3, 6, 5000)
        >>> len(plot_resolution(resolution_fit_full(e, e * (1 + 0.05 * rng.normal(size=e.size)))))
        2
    """
    use_style()
    ax = get_ax(ax)
    items = fits.items() if isinstance(fits, dict) else [("", fits)]
    artists = []
    for i, (name, f) in enumerate(items):
        col = COLORS[i % len(COLORS)]
        a, b, c = f.params
        artists.append(ax.errorbar(f.e_gev, f.sigma_rel, yerr=f.sigma_rel_err, fmt="o", color=col, ms=4,
                                   label=f"{name} data".strip()))
        e = np.geomspace(f.e_gev.min(), f.e_gev.max(), 200)
        artists += ax.plot(e, f.model(e), color=col,
                           label=f"{name} fit: a={a:.3g}/√E ⊕ b={b:.2g} ⊕ c={c:.2g}/E".strip())
    label_axes(ax, "E [GeV]", "σ_E / E", logx=True)
    ax.legend()
    return artists


def plot_relative_error(curves, *, ax=None, guides: bool = True) -> list:
    """rel = |E − Ê|/E against 1/E on log-log axes with slope guides 1 (const δ), ½ (√E), 0 (θE).

    Example:
        >>> from calolib.diagnostics.resolution import relative_error_curve
        >>> e = np.geomspace(1e3, 1e6, 500)
        >>> len(plot_relative_error(relative_error_curve(e, e + 10))) >= 2
        True
    """
    use_style()
    ax = get_ax(ax)
    items = curves.items() if isinstance(curves, dict) else [("", curves)]
    artists = []
    x_all, y_all = [], []
    for name, c in items:
        artists.append(ax.errorbar(c.inv_e, c.rel, yerr=c.rel_err, fmt="o-", ms=4,
                                   label=f"{name} (slope {c.slope:.2f})".strip()))
        x_all.append(c.inv_e)
        y_all.append(c.rel)
    if guides and x_all:
        x = np.concatenate(x_all)
        y = np.concatenate(y_all)
        y = y[y > 0]
        x0, y0 = float(np.exp(np.log(x).mean())), float(np.exp(np.log(y).mean())) if y.size else 1.0
        xs = np.geomspace(x.min(), x.max(), 2)
        for slope, text, ls in ((1.0, "slope 1: |E−Ê| = δ", "--"), (0.5, "slope ½: |E−Ê| ∝ √E", "-."),
                                (0.0, "slope 0: |E−Ê| = θE", ":")):
            artists += ax.plot(xs, y0 * (xs / x0) ** slope, color="grey", ls=ls, lw=1, label=text)
    label_axes(ax, "1/E [GeV⁻¹]", "rel = |E − Ê| / E", logx=True, logy=True)
    ax.legend()
    return artists


def plot_spectra(spectra, *, ax=None, normalise: bool = False, rtol: float = 1e-6) -> list:
    """Singular values (descending, log y) of every coupling block and of the full W; values below ``rtol``·σ_1 of
    their matrix (numerical zeros, e.g. of sparse Zephyr blocks) are not drawn.

    Example:
        >>> from calolib.rbm import RBM
        >>> from calolib.diagnostics.svd import coupling_spectra
        >>> len(plot_spectra(coupling_spectra(RBM((2, 2, 2, 2)))))
        7
    """
    use_style()
    ax = get_ax(ax)
    lines = []

    def _nonzero(s):
        s = np.asarray(s, dtype=float)
        return s[s > rtol * s[0]] if s.size and s[0] > 0 else s

    for (p, q), s in spectra.blocks.items():
        s = _nonzero(s)
        s = s / s[0] if normalise and s.size and s[0] > 0 else s
        lines += ax.plot(np.arange(1, s.size + 1), s, marker=".", label=f"W{p}{q} (erank {spectra.effective_ranks[(p, q)]:.1f})")
    s = _nonzero(spectra.full)
    s = s / s[0] if normalise and s.size and s[0] > 0 else s
    lines += ax.plot(np.arange(1, s.size + 1), s, color="black", lw=2, label=f"full W (erank {spectra.effective_ranks['full']:.1f})")
    label_axes(ax, "index i", "σ_i / σ_1" if normalise else "singular value σ_i", logy=True)
    ax.legend(ncol=2)
    return lines


def plot_spectra_history(history, *, pair=(0, 1), ax=None, cmap: str = "viridis") -> list:
    """Spectrum of one block (or ``pair="full"``) for every checkpoint, coloured by epoch (dark = early).

    Example:
        >>> from calolib.rbm import RBM
        >>> from calolib.diagnostics.svd import spectra_over_checkpoints
        >>> len(plot_spectra_history(spectra_over_checkpoints([RBM((2, 2, 2, 2), seed=s) for s in range(3)])))
        3
    """
    use_style()
    ax = get_ax(ax)
    arr = history.full if pair == "full" else history.blocks[tuple(pair)]
    ep = np.asarray(history.epochs, dtype=float)
    norm = plt.Normalize(ep.min(), ep.max() if ep.max() > ep.min() else ep.min() + 1)
    cm = plt.get_cmap(cmap)
    lines = []
    for k in range(arr.shape[0]):
        lines += ax.plot(np.arange(1, arr.shape[1] + 1), arr[k], color=cm(norm(ep[k])))
    ax.figure.colorbar(plt.cm.ScalarMappable(norm=norm, cmap=cm), ax=ax, label="epoch")
    label_axes(ax, "index i", f"singular value σ_i ({'full W' if pair == 'full' else 'W%d%d' % tuple(pair)})", logy=True)
    return lines


def _group_colours(result, cmap: str):
    """E_inc group edges (MeV), their geometric centres, a (log) colour norm over the edges and the colour map."""
    edges = result.group_edges
    centres = np.sqrt(edges[:-1] * edges[1:])
    norm = plt.matplotlib.colors.LogNorm(edges[0], edges[-1]) if edges[0] > 0 else plt.Normalize(edges[0], edges[-1])
    return edges, centres, norm, plt.get_cmap(cmap)


def plot_latent_clustering(result, *, ax=None, cmap: str = "viridis", density: bool = True,
                           xlabel: str = "RBM energy E(z)") -> list:
    """RBM-energy histograms of the encodings per E_inc group (dark = low E_inc; each event weighs 1, its encodings
    1/R each) and of Gibbs samples.

    Example:
        >>> from calolib.diagnostics.clustering import latent_clustering
        >>> rng = np.random.default_rng(0)
        >>> r = latent_clustering(lambda x, e: rng.random((len(e), 4)) < 0.5, lambda z: -z.sum(1), np.zeros((20, 1)),
        ...                       np.geomspace(1e3, 1e6, 20), n_repeats=3, groups=2, gibbs_energies=-rng.integers(0, 5, 50))
        >>> len(plot_latent_clustering(r))
        3
    """
    use_style()
    ax = get_ax(ax)
    edges, centres, norm, cm = _group_colours(result, cmap)
    width = np.diff(result.bins)
    arts = []
    for g, h in enumerate(result.group_hist):
        y = h / max(h.sum(), 1) / width if density else h
        arts.append(ax.stairs(y, result.bins, color=cm(norm(centres[g])), lw=1.5,
                              label=f"E_inc {edges[g] / 1e3:.3g}–{edges[g + 1] / 1e3:.3g} GeV"))
    if result.gibbs_energies is not None:
        h = np.histogram(result.gibbs_energies, result.bins)[0].astype(float)
        y = h / max(h.sum(), 1) / width if density else h
        arts.append(ax.stairs(y, result.bins, color=COLORS[4], lw=2.5, ls="--", label="Gibbs samples"))
    ax.figure.colorbar(plt.cm.ScalarMappable(norm=norm, cmap=cm), ax=ax, label="E_inc [MeV]")
    label_axes(ax, xlabel, "density (each event weighs 1)" if density else "events")
    null = f" vs {result.null_overlap_mean:.3f} shuffled" if np.isfinite(result.null_overlap_mean) else ""
    ax.set_title(f"overlap (mean sep. power) {result.overlap_score:.3f}{null}; "
                 f"E_inc-group accuracy {result.classifier_accuracy:.2f} (chance {result.chance_accuracy:.2f})",
                 fontsize=10)
    ax.legend(fontsize=8)
    return arts


def plot_latent_ecdf(result, *, ax=None, cmap: str = "viridis", xlabel: str = "RBM energy E(z)") -> list:
    """Empirical CDFs of the per-event mean energies per E_inc group (one step per event; dark = low E_inc), and of
    the Gibbs samples (dashed): honest for few events and for deterministic encoders, where histograms are spikes.

    Example:
        >>> from calolib.diagnostics.clustering import latent_clustering
        >>> rng = np.random.default_rng(0)
        >>> r = latent_clustering(lambda x, e: rng.random((len(e), 4)) < 0.5, lambda z: -z.sum(1), np.zeros((20, 1)),
        ...                       np.geomspace(1e3, 1e6, 20), n_repeats=3, groups=2, gibbs_energies=-rng.integers(0, 5, 50))
        >>> len(plot_latent_ecdf(r))
        3
    """
    use_style()
    ax = get_ax(ax)
    edges, centres, norm, cm = _group_colours(result, cmap)
    arts = []
    for g in range(len(centres)):
        v = np.sort(result.event_mean[result.group == g])
        if v.size:
            arts += ax.step(v, np.arange(1, v.size + 1) / v.size, where="post", color=cm(norm(centres[g])), lw=1.6,
                            label=f"E_inc {edges[g] / 1e3:.3g}–{edges[g + 1] / 1e3:.3g} GeV ({v.size} events)")
    if result.gibbs_energies is not None and result.gibbs_energies.size:
        v = np.sort(result.gibbs_energies)
        arts += ax.step(v, np.arange(1, v.size + 1) / v.size, where="post", color=COLORS[4], lw=2.2, ls="--",
                        label="Gibbs samples")
    label_axes(ax, xlabel + " (per-event mean)", "cumulative fraction")
    ax.legend(fontsize=8, loc="lower right")
    return arts


def plot_einc_curves(sweep, *, events=(0,), criterion: str = "mse", ax=None) -> list:
    """Criterion vs E′ for some events, with each event's true E_inc as a dashed vertical line.

    Example:
        >>> from calolib.diagnostics.einc_sweep import einc_sweep
        >>> z = np.ones((2, 3)); e = np.array([10.0, 100.0])
        >>> sw = einc_sweep(lambda z, e: z * e[:, None], z, z * e[:, None], e, np.geomspace(1, 1000, 7))
        >>> len(plot_einc_curves(sw, events=(0, 1)))
        4
    """
    use_style()
    ax = get_ax(ax)
    if criterion not in sweep.curves:
        raise CalolibError(f"unknown criterion {criterion!r}; choose one of {', '.join(sweep.curves)}")
    arts = []
    for i, ev in enumerate(events):
        col = COLORS[(i + 1) % len(COLORS)]
        y = np.where(sweep.curves[criterion][ev] > 0, sweep.curves[criterion][ev], np.nan)  # log axis: zeros left out
        arts += ax.plot(sweep.e_grid, y, color=col, label=f"event {ev} (E_inc {sweep.e_true[ev] / 1e3:.3g} GeV)")
        arts.append(ax.axvline(sweep.e_true[ev], color=col, ls="--", lw=1))
    ylab = {"mse": f"MSE(x, x̂(E′)) [{'preprocessed' if sweep.space == 'decoder' else 'MeV²'}]",
            "energy": "|ΣÊ′ − ΣE| / ΣE", "sparsity": "|sparsity(x̂) − sparsity(x)|"}[criterion]
    label_axes(ax, "decoder E′_inc [MeV]", ylab, logx=True, logy=True)
    ax.legend()
    return arts


def plot_einc_argmin(sweep, *, criteria=None, ax=None) -> list:
    """argmin E′ against the true E_inc (log-log) per criterion, with the y = x line; argmins on the grid edge
    (no minimum inside the grid) are drawn as hollow triangles pointing out of the grid and left out of the medians.

    Example:
        >>> from calolib.diagnostics.einc_sweep import einc_sweep
        >>> z = np.ones((2, 3)); e = np.array([10.0, 100.0])
        >>> sw = einc_sweep(lambda z, e: z * e[:, None], z, z * e[:, None], e, np.geomspace(1, 1000, 7))
        >>> len(plot_einc_argmin(sw, criteria=("mse",)))
        2
    """
    use_style()
    ax = get_ax(ax)
    arts = []
    summary = sweep.summary()
    for i, c in enumerate(criteria or tuple(sweep.argmin)):
        col = COLORS[(i + 1) % len(COLORS)]
        ok = sweep.interior(c)
        arts.append(ax.scatter(sweep.e_true[ok], sweep.argmin[c][ok], s=8, alpha=0.6, color=col,
                               label=f"{c} (median ratio {summary[c]:.2f}, {ok.sum()} interior)"))
        edge = sweep.at_edge.get(c)
        if edge is not None and (edge != 0).any():
            for side, marker in ((-1, "v"), (1, "^")):
                sel = edge == side
                if sel.any():
                    arts.append(ax.scatter(sweep.e_true[sel], sweep.argmin[c][sel], s=18, marker=marker,
                                           facecolors="none", edgecolors=col, lw=0.8,
                                           label=f"{c}: {sel.sum()} at the {'low' if side < 0 else 'high'} grid edge"))
    lo, hi = float(sweep.e_grid.min()), float(sweep.e_grid.max())
    arts += ax.plot([lo, hi], [lo, hi], color="black", ls="--", lw=1, label="y = x")
    label_axes(ax, "true E_inc [MeV]", "argmin E′ [MeV]", logx=True, logy=True)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0)
    return arts
