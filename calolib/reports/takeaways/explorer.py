"""Take-aways of the decoder explorer (09): what changes in a decoded shower when only E′ changes.

One latent code is decoded at several decoder energies E′.  Three claims, each chosen by the numbers
of that sweep (:meth:`calolib.widgets.DecoderExplorer.sweep_shapes`):

* :func:`energy_scaling` — is the decoded energy fraction E_dep/E′ flat (then a brighter shower at a
  higher E′ is the inverse preprocessing multiplying by E′, not the decoder using its conditioning) or
  does it move?
* :func:`depth_trend` — does the shower get deeper (longitudinal centre of gravity, in layers, per
  decade of E′), beside the trend of the data's own showers (depth vs log10 E_inc);
* :func:`width_trend` — does the radial width (energy-weighted RMS radius, mm) change?

:func:`explorer_takeaways` returns all three; :func:`data_depth_slope` fits the data's trend.

Example:
    >>> t = energy_scaling([3e3, 3e4, 3e5], [2211.0, 21990.0, 218400.0], transform_scales=True)
    >>> t.verdict, t.text.split(":")[0]
    ('flat', 'Decoded E_dep/E′ = 0.737 / 0.733 / 0.728 at E′ = 3 / 30 / 300 GeV (spread 1.2 %)')
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from calolib.reports.takeaways import Takeaway, choose, compare, fmt

__all__ = ["energy_scaling", "depth_trend", "width_trend", "data_depth_slope", "explorer_takeaways",
           "FLAT_RATIO", "FLAT_DEPTH", "FLAT_WIDTH"]

#: E_dep/E′ counts as flat when its (max − min) / median over the sweep is at most this.
FLAT_RATIO = 0.03
#: The depth counts as fixed when it moves by at most this many layers per decade of E′.
FLAT_DEPTH = 0.2
#: The radial width counts as unchanged when it moves by at most this fraction over the sweep.
FLAT_WIDTH = 0.05


def __dir__():
    return __all__


def _gev_list(e_prime: Sequence[float]) -> str:
    return " / ".join(fmt(float(e) / 1e3) for e in e_prime)


def energy_scaling(e_prime: Sequence[float], e_dep: Sequence[float], *, transform_scales: bool = True,
                   ratio_true: float | None = None, flat: float = FLAT_RATIO, factorised: bool = False) -> Takeaway:
    """Is the decoded energy fraction E_dep/E′ flat over the sweep (verdict ``flat``, ``rises``, ``falls``)?

    Args:
        e_prime: decoder energies E′ (MeV) of the sweep, increasing.
        e_dep: decoded total energies (MeV) at those E′.
        transform_scales: the inverse preprocessing multiplies the decoder's output by E′ (checked by the
            explorer), so a flat fraction means E_dep ∝ E′ comes from the transform alone.
        ratio_true: the event's own E_dep/E_inc, quoted for comparison.
        factorised: the layer energies come from the model's energy flow at E′ (not from the decoder), so the
            sentence names the flow as what sets the energy scale.

    Example:
        >>> energy_scaling([3e3, 3e5], [1500.0, 210000.0]).verdict
        'rises'
    """
    e_prime, e_dep = np.asarray(e_prime, float), np.asarray(e_dep, float)
    ratio = e_dep / e_prime
    spread = float((ratio.max() - ratio.min()) / np.median(ratio))
    verdict = "flat" if spread <= flat else ("rises" if ratio[-1] > ratio[0] else "falls")
    head = ("Decoded E_dep/E′ = " + " / ".join(fmt(r) for r in ratio) + f" at E′ = {_gev_list(e_prime)} GeV"
            f" (spread {fmt(100 * spread, digits=2)} %)")
    truth = f" (the event itself: E_dep/E_inc = {fmt(ratio_true)})" if ratio_true is not None else ""
    flat_why = (" only because the inverse preprocessing multiplies the decoder's energy fractions by E′ — brighter "
                "showers at a higher E′ are no evidence that the decoder uses its energy conditioning"
                if transform_scales else "")
    who = "the energy flow's" if factorised else "the decoder's own"
    uses = ("the flow's energy response changes with E′ (one flow draw per E′, the same noise)" if factorised
            else "it does use its energy conditioning for the energy scale")
    templates = {
        "flat": "{head}: the decoded energy grows in proportion to E′{why}{truth}.",
        "rises_f": "{head}: {who} energy fraction rises with E′ — {uses}{truth}.",
        "falls_f": "{head}: {who} energy fraction falls with E′ — {uses}{truth}.",
        "rises": "{head}: the decoder's own energy fraction rises with E′, so it does use its energy conditioning "
                 "for the energy scale{truth}.",
        "falls": "{head}: the decoder's own energy fraction falls with E′, so it does use its energy conditioning "
                 "for the energy scale{truth}.",
    }
    key = verdict + ("_f" if factorised and verdict != "flat" else "")
    t = choose("energy_scaling", key, templates, head=head, why=flat_why, truth=truth, who=who, uses=uses)
    t = Takeaway(t.key, verdict, t.text, t.numbers)
    return Takeaway(t.key, t.verdict, t.text, {"e_prime": e_prime.tolist(), "ratio": ratio.tolist(), "spread": spread,
                                               "transform_scales": bool(transform_scales), "ratio_true": ratio_true})


def data_depth_slope(e_inc: Sequence[float], depth: Sequence[float]) -> tuple[float, float]:
    """Least-squares slope of depth (layers) against log10 E_inc, and its standard error (layers per decade).

    Example:
        >>> e = np.geomspace(1e3, 1e6, 7); s, err = data_depth_slope(e, 5 + 2 * np.log10(e))
        >>> round(s, 6), err < 1e-9
        (2.0, True)
    """
    x = np.log10(np.asarray(e_inc, float))
    y = np.asarray(depth, float)
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    if len(x) < 3 or np.ptp(x) == 0:
        return float("nan"), float("nan")
    xc = x - x.mean()
    slope = float((xc * (y - y.mean())).sum() / (xc**2).sum())
    resid = y - y.mean() - slope * xc
    err = float(np.sqrt((resid**2).sum() / (len(x) - 2) / (xc**2).sum()))
    return slope, err


def depth_trend(e_prime: Sequence[float], depth: Sequence[float], *, data_slope: float | None = None,
                data_slope_err: float | None = None, flat: float = FLAT_DEPTH) -> Takeaway:
    """Does the decoded shower get deeper with E′ (verdict ``deeper``, ``shallower``, ``fixed``)?

    The slope is (last − first depth) / decades of E′ spanned; the data's trend (``data_slope`` ± err,
    layers per decade of E_inc, from :func:`data_depth_slope`) is quoted and compared.

    Example:
        >>> depth_trend([3e3, 3e5], [12.0, 12.1], data_slope=1.8, data_slope_err=0.2).verdict
        'fixed'
    """
    e_prime, depth = np.asarray(e_prime, float), np.asarray(depth, float)
    decades = float(np.log10(e_prime[-1] / e_prime[0]))
    slope = float((depth[-1] - depth[0]) / decades) if decades > 0 else float("nan")
    verdict = "fixed" if abs(slope) <= flat else ("deeper" if slope > 0 else "shallower")
    layers = " / ".join(fmt(d) for d in depth)
    data = ""
    if data_slope is not None and np.isfinite(data_slope):
        rel = compare(slope, data_slope, err_b=data_slope_err or 0.0)
        how = {"consistent": "consistent with", "lower": "below", "higher": "above", "unknown": "beside"}[rel]
        data = (f"; the data's showers get deeper by {fmt(data_slope, data_slope_err)} layers per decade of E_inc, "
                f"so the decoder's trend is {how} the data's")
    templates = {
        "fixed": "The decoded shower does not get deeper: its centre of gravity stays at layer {layers} for "
                 "E′ = {gev} GeV ({slope} layers per decade of E′){data}.",
        "deeper": "The decoded shower gets deeper with E′: its centre of gravity moves through layer {layers} for "
                  "E′ = {gev} GeV ({slope} layers per decade of E′){data}.",
        "shallower": "The decoded shower gets shallower with E′: its centre of gravity moves through layer {layers} "
                     "for E′ = {gev} GeV ({slope} layers per decade of E′){data}.",
    }
    t = choose("depth_trend", verdict, templates, layers=layers, gev=_gev_list(e_prime), slope=f"{slope:+.2f}",
               data=data)
    return Takeaway(t.key, t.verdict, t.text, {"e_prime": e_prime.tolist(), "depth": depth.tolist(), "slope": slope,
                                               "data_slope": data_slope, "data_slope_err": data_slope_err})


def width_trend(e_prime: Sequence[float], radial_width: Sequence[float], *, flat: float = FLAT_WIDTH) -> Takeaway:
    """Does the radial width (energy-weighted RMS radius, mm) change (``wider``, ``narrower``, ``unchanged``)?

    Example:
        >>> width_trend([3e3, 3e5], [20.0, 20.4]).verdict, width_trend([3e3, 3e5], [20.0, 25.0]).verdict
        ('unchanged', 'wider')
    """
    e_prime, w = np.asarray(e_prime, float), np.asarray(radial_width, float)
    rel = float((w[-1] - w[0]) / w[0])
    verdict = "unchanged" if abs(rel) <= flat else ("wider" if rel > 0 else "narrower")
    templates = {
        "unchanged": "Its radial width barely changes: {widths} mm (RMS radius) for E′ = {gev} GeV ({rel} %).",
        "wider": "It gets wider with E′: RMS radius {widths} mm for E′ = {gev} GeV ({rel} %).",
        "narrower": "It gets narrower with E′: RMS radius {widths} mm for E′ = {gev} GeV ({rel} %).",
    }
    t = choose("width_trend", verdict, templates, widths=" / ".join(fmt(x) for x in w), gev=_gev_list(e_prime),
               rel=f"{100 * rel:+.1f}")
    return Takeaway(t.key, t.verdict, t.text, {"e_prime": e_prime.tolist(), "radial_width": w.tolist(), "rel": rel})


def explorer_takeaways(shapes: dict, *, transform_scales: bool = True, ratio_true: float | None = None,
                       data_slope: float | None = None, data_slope_err: float | None = None,
                       factorised: bool = False) -> list[Takeaway]:
    """The three claims from :meth:`~calolib.widgets.DecoderExplorer.sweep_shapes` output ``shapes``."""
    e = shapes["e_prime"]
    return [energy_scaling(e, shapes["e_dep"], transform_scales=transform_scales, ratio_true=ratio_true,
                           factorised=factorised),
            depth_trend(e, shapes["depth"], data_slope=data_slope, data_slope_err=data_slope_err),
            width_trend(e, shapes["radial_width"])]
