"""Physics validation of the synthetic model: headline numbers and the two figures it is judged by.

:func:`physics_summary` simulates fixed-energy samples and returns the response E_total/E_inc, the
relative resolution and its fit sigma/E = a/sqrt(E) (+) b (+) c/E (E in GeV), the sparsity, the layer of
maximum mean energy and the centre of gravity in depth.  :func:`plot_longitudinal_profiles` and
:func:`plot_layer_correlations` draw the mean longitudinal profiles and the layer-energy correlation matrix.
"""
from __future__ import annotations

import numpy as np

from calolib.geometry import get_geometry
from calolib.showers import Showers

__all__ = ["fixed_energy_samples", "fit_resolution", "physics_summary", "plot_longitudinal_profiles",
           "plot_layer_correlations"]

DEFAULT_ENERGIES_GEV = (1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0)


def fixed_energy_samples(energies_gev=DEFAULT_ENERGIES_GEV, n: int = 2000, geometry: str = "ds2",
                         seed: int = 0, params=None) -> dict[float, Showers]:
    """``{E in GeV: Showers}`` with ``n`` showers at each fixed energy (seeds ``seed + i``).

    Example:
        >>> s = fixed_energy_samples((1.0, 10.0), n=5, geometry="ds1-photons")
        >>> sorted(s), len(s[10.0])
        ([1.0, 10.0], 5)
    """
    from calolib.synthetic import simulate

    return {float(e): simulate(n, geometry, seed=seed + i, energies=np.full(n, float(e) * 1e3), params=params)
            for i, e in enumerate(energies_gev)}


def fit_resolution(e_gev, rel) -> tuple[float, float, float]:
    """Least-squares ``(a, b, c)`` of ``rel = sqrt(a^2/E + b^2 + c^2/E^2)`` (E in GeV), all >= 0.

    Example:
        >>> e = np.array([1.0, 4.0, 16.0, 64.0]); rel = np.sqrt(0.15**2 / e + 0.01**2)
        >>> np.round(fit_resolution(e, rel), 3).tolist()
        [0.15, 0.01, 0.0]
    """
    from scipy.optimize import curve_fit

    e_gev, rel = np.asarray(e_gev, float), np.asarray(rel, float)
    popt, _ = curve_fit(lambda x, a, b, c: np.sqrt(a**2 / x + b**2 + c**2 / x**2), e_gev, rel,
                        p0=(0.15, 0.005, 0.01), bounds=(0, 1), sigma=rel)
    return tuple(float(v) for v in popt)


def physics_summary(samples: dict[float, Showers] | None = None, *, n: int = 2000, seed: int = 0) -> dict:
    """Headline physics numbers of fixed-energy samples (default: ds2 at 1 GeV .. 1 TeV, ``n`` each).

    Returns a JSON-able dict: ``per_energy`` (list of dicts: e_gev, response, rel_resolution, sparsity,
    layer_of_max, cog_x0), ``resolution`` (``abc``, ``loglog_slope``), ``response_spread`` (max/min - 1).

    Example:
        >>> out = physics_summary(fixed_energy_samples((2.0, 20.0), n=40, geometry="ds1-photons"))
        >>> [round(p["e_gev"]) for p in out["per_energy"]]
        [2, 20]
    """
    from calolib.synthetic.materials import detector_for

    samples = samples if samples is not None else fixed_energy_samples(n=n, seed=seed)
    rows = []
    for e_gev, s in sorted(samples.items()):
        g = s.geometry
        det = detector_for(g)
        tot = s.showers.sum(axis=1, dtype=np.float64)
        le = g.layer_energies(s.showers).mean(axis=0)
        act = np.array(g.active_layers)
        mid = 0.5 * (det.depth_start[act] + det.depth_end[act])
        rows.append({"e_gev": float(e_gev), "response": float(np.mean(tot / s.energies)),
                     "rel_resolution": float(tot.std() / tot.mean()), "sparsity": float(np.mean(s.showers == 0)),
                     "layer_of_max": int(np.argmax(le)), "cog_x0": float((le[act] * mid).sum() / le[act].sum())})
    e = np.array([r["e_gev"] for r in rows])
    rel = np.array([r["rel_resolution"] for r in rows])
    resp = np.array([r["response"] for r in rows])
    out = {"per_energy": rows, "response_spread": float(resp.max() / resp.min() - 1)}
    if len(rows) >= 3:
        slope = float(np.polyfit(np.log(e), np.log(rel), 1)[0])
        out["resolution"] = {"abc": fit_resolution(e, rel), "loglog_slope": slope}
    return out


def plot_longitudinal_profiles(samples: dict[float, Showers], *, ax=None, normalise: bool = True, **kw):
    """Mean energy per layer against depth for each incident energy (step lines); returns the artists.

    Example:
        >>> import matplotlib; matplotlib.use("agg")
        >>> arts = plot_longitudinal_profiles(fixed_energy_samples((1.0, 10.0), n=5))
        >>> len(arts)
        2
    """
    from calolib.plotting import style

    style.use_style()
    ax = style.get_ax(ax)
    arts = []
    for e_gev, s in sorted(samples.items()):
        le = s.geometry.layer_energies(s.showers).mean(axis=0)
        if normalise:
            le = le / le.sum()
        arts.append(ax.stairs(le, np.arange(le.shape[0] + 1), label=f"{e_gev:g} GeV", **kw))
    style.label_axes(ax, "layer", "mean fraction of E_total per layer" if normalise else "mean energy per layer [MeV]",
                     logy=True)
    ax.legend(ncol=2)
    return arts


def plot_layer_correlations(showers: Showers, *, ax=None, **kw):
    """Pearson correlation matrix of the layer energies (active layers), as an image; returns the image.

    Example:
        >>> import matplotlib; matplotlib.use("agg")
        >>> im = plot_layer_correlations(fixed_energy_samples((10.0,), n=20)[10.0])
        >>> im.get_array().shape
        (45, 45)
    """
    import matplotlib.pyplot as plt

    from calolib.plotting import style

    style.use_style()
    ax = style.get_ax(ax)
    g = get_geometry(showers.geometry)
    le = g.layer_energies(showers.showers)[:, list(g.active_layers)].astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        c = np.nan_to_num(np.corrcoef(le.T))
    im = ax.imshow(c, vmin=-1, vmax=1, cmap=kw.pop("cmap", "RdBu_r"), origin="lower", **kw)
    plt.colorbar(im, ax=ax, label="correlation of layer energies")
    style.label_axes(ax, "layer", "layer")
    return im


def __dir__():
    return __all__
