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
           "plot_spectra", "plot_spectra_history", "plot_latent_clustering", "plot_einc_curves", "plot_einc_argmin"]


def __dir__():
    return __all__


def plot_acf(results, *, ax=None, max_lag: int | None = None, show_tau: bool = True) -> list:
    """C(τ) against τ for one or several studies (``AutocorrelationResult``, dict of them, or a C array).

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
    lines = []
    for name, r in items:
        c = as_numpy(r.c if hasattr(r, "c") else r)
        c = c if max_lag is None else c[: max_lag + 1]
        label = f"{name} (τ_int = {r.tau:.3g} ± {r.tau_err:.2g})" if show_tau and hasattr(r, "tau") else name
        lines += ax.plot(np.arange(len(c)), c, label=label, drawstyle="steps-mid")
    ax.axhline(0.0, color="grey", lw=0.8, ls=":")
    label_axes(ax, "lag τ [sweeps]", "C(τ)")
    ax.legend()
    return lines


def plot_magnetisation(result, *, ax=None, n_chains: int = 5) -> list:
    """Magnetisation m(t) of the first ``n_chains`` chains of an ``AutocorrelationResult`` (or an (E, T) array).

    Example:
        >>> len(plot_magnetisation(np.zeros((3, 10)), n_chains=2))
        2
    """
    use_style()
    ax = get_ax(ax)
    m = as_numpy(result.magnetisation if hasattr(result, "magnetisation") else result)
    lines = ax.plot(np.arange(m.shape[1]), m[:n_chains].T, lw=0.8)
    label_axes(ax, "t [sweeps]", "magnetisation m(t)")
    return lines


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


def plot_spectra(spectra, *, ax=None, normalise: bool = False) -> list:
    """Singular values (descending, log y) of every coupling block and of the full W.

    Example:
        >>> from calolib.rbm import RBM
        >>> from calolib.diagnostics.svd import coupling_spectra
        >>> len(plot_spectra(coupling_spectra(RBM((2, 2, 2, 2)))))
        7
    """
    use_style()
    ax = get_ax(ax)
    lines = []
    for (p, q), s in spectra.blocks.items():
        s = s / s[0] if normalise and s.size and s[0] > 0 else s
        lines += ax.plot(np.arange(1, s.size + 1), s, marker=".", label=f"W{p}{q} (erank {spectra.effective_ranks[(p, q)]:.1f})")
    s = spectra.full / spectra.full[0] if normalise and spectra.full[0] > 0 else spectra.full
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


def plot_latent_clustering(result, *, ax=None, cmap: str = "viridis", density: bool = True) -> list:
    """RBM-energy histograms of the encodings per E_inc group (dark = low E_inc) and of Gibbs samples.

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
    edges = result.group_edges
    centres = np.sqrt(edges[:-1] * edges[1:])
    norm = plt.matplotlib.colors.LogNorm(edges[0], edges[-1]) if edges[0] > 0 else plt.Normalize(edges[0], edges[-1])
    cm = plt.get_cmap(cmap)
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
    label_axes(ax, "RBM energy E(z)", "density" if density else "encodings")
    ax.set_title(f"overlap (mean sep. power) {result.overlap_score:.3f}; "
                 f"E_inc-group accuracy {result.classifier_accuracy:.2f} (chance {result.chance_accuracy:.2f})",
                 fontsize=10)
    ax.legend(fontsize=8)
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
        arts += ax.plot(sweep.e_grid, sweep.curves[criterion][ev], color=col, label=f"event {ev}")
        arts.append(ax.axvline(sweep.e_true[ev], color=col, ls="--", lw=1))
    ylab = {"mse": f"MSE(x, x̂(E′)) [{'preprocessed' if sweep.space == 'decoder' else 'MeV²'}]",
            "energy": "|ΣÊ′ − ΣE| / ΣE", "sparsity": "|sparsity(x̂) − sparsity(x)|"}[criterion]
    label_axes(ax, "decoder E′_inc [MeV]", ylab, logx=True, logy=criterion == "mse")
    ax.legend()
    return arts


def plot_einc_argmin(sweep, *, criteria=None, ax=None) -> list:
    """argmin E′ against the true E_inc (log-log) per criterion, with the y = x line.

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
    for i, c in enumerate(criteria or tuple(sweep.argmin)):
        arts.append(ax.scatter(sweep.e_true, sweep.argmin[c], s=8, alpha=0.6, color=COLORS[(i + 1) % len(COLORS)],
                               label=f"{c} (median ratio {np.median(sweep.argmin[c] / sweep.e_true):.2f})"))
    lo, hi = float(sweep.e_grid.min()), float(sweep.e_grid.max())
    arts += ax.plot([lo, hi], [lo, hi], color="black", ls="--", lw=1, label="y = x")
    label_axes(ax, "true E_inc [MeV]", "argmin E′ [MeV]", logx=True, logy=True)
    ax.legend()
    return arts
