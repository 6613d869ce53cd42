"""Take-aways of report 01 (the dataset): what its layer-energy correlation matrices show.

Each function reads numbers the report computed (a distance, a matrix) and returns a
:class:`~calolib.reports.takeaways.Takeaway` whose sentence is chosen by those numbers:

* :func:`reference_distance`: where the file's distance to the Geant4 matrix falls among the published models,
  and whether it is above the sampling-noise floor of a file of this size;
* :func:`worst_rows`: which layers' rows differ most from Geant4, and whether they sit at the front, the back,
  the middle or all over the calorimeter;
* :func:`spectrum_correlations`: over the whole E_inc spectrum, do all layers correlate positively (they all
  scale with E_inc) or do some pairs anti-correlate;
* :func:`fixed_energy_correlations`: in one narrow E_inc bin, do early and late layers anti-correlate (a shower
  that develops late puts less energy early and more late) beyond the statistical noise ``3 / sqrt(n)``;
* :func:`shower_max_depth`: does the layer of maximum mean energy move deeper from the lowest to the highest
  E_inc bin (as ln E for electromagnetic showers);
* :func:`response_vs_einc` and :func:`sparsity_vs_einc`: is E_dep/E_inc flat in E_inc, does the sparsity fall.

Example:
    >>> t = reference_distance(1.5, 0.02, 0.1, {"A": 1.0, "B": 2.0})
    >>> t.verdict, t.text
    ('between', 'The layer-energy correlations lie at ‖PCC − PCC_G4‖_F = 1.500 ± 0.020 from Geant4’s (sampling noise of these showers alone gives about 0.1), between A (1) and B (2), closer than 1 of the 2 published ds2 models.')
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from calolib.reports.takeaways import Takeaway, choose, fmt

__all__ = ["reference_distance", "worst_rows", "spectrum_correlations", "fixed_energy_correlations",
           "shower_max_depth", "response_vs_einc", "sparsity_vs_einc"]


def __dir__():
    return __all__


def _raw(t: Takeaway, **numbers) -> Takeaway:
    """``t`` with its record of numbers replaced by the raw (unformatted) ones."""
    return Takeaway(t.key, t.verdict, t.text, numbers)


_DISTANCE = {
    "best": "The layer-energy correlations lie at ‖PCC − PCC_G4‖_F = {d} from Geant4’s (sampling noise of "
            "{n_events} showers alone gives about {floor}), closer than every published ds2 model (the best, {best}, "
            "sits at {best_d}).",
    "between": "The layer-energy correlations lie at ‖PCC − PCC_G4‖_F = {d} from Geant4’s (sampling noise of "
               "{n_events} showers alone gives about {floor}), between {lo} ({lo_d}) and {hi} ({hi_d}), closer "
               "than {n_worse} of the {n} published ds2 models.",
    "worst": "The layer-energy correlations lie at ‖PCC − PCC_G4‖_F = {d} from Geant4’s (sampling noise of "
             "{n_events} showers alone gives about {floor}), farther than every published ds2 model (the worst, "
             "{worst}, sits at {worst_d}).",
    "noise": "The layer-energy correlations lie at ‖PCC − PCC_G4‖_F = {d} from Geant4’s, no more than sampling "
             "noise of {n_events} showers adds (floor {floor}): at this size the file cannot be told apart from "
             "Geant4 by this measure.",
}


def reference_distance(distance: float, err: float, noise_floor: float, published: Mapping[str, float], *,
                       n_events: int | None = None) -> Takeaway:
    """Where ``distance`` (± ``err``) falls among the ``published`` model distances, unless it is within twice the
    sampling-noise ``noise_floor`` (then the sample is too small to say).

    Example:
        >>> reference_distance(0.2, 0.01, 0.15, {"A": 1.0}, n_events=300).verdict
        'noise'
    """
    d_s = fmt(distance, err) if err is not None and np.isfinite(err) and err > 0 else fmt(distance)
    ranked = sorted(published.items(), key=lambda kv: kv[1])
    nums = {"distance": float(distance), "err": err, "noise_floor": float(noise_floor), "n_events": n_events}
    n_s, floor_s = (fmt(n_events) if n_events is not None else "these"), fmt(noise_floor, digits=2)
    if distance <= 2.0 * noise_floor:
        return Takeaway("reference_distance", "noise", _DISTANCE["noise"].format(d=d_s, n_events=n_s, floor=floor_s),
                        nums)
    better = [kv for kv in ranked if kv[1] <= distance]  # published models closer to Geant4 than the file
    worse = [kv for kv in ranked if kv[1] > distance]
    nums["n_models_farther"] = len(worse)
    if not better:
        t = choose("reference_distance", "best", _DISTANCE, d=d_s, n_events=n_s, floor=floor_s, best=ranked[0][0],
                   best_d=ranked[0][1])
    elif not worse:
        t = choose("reference_distance", "worst", _DISTANCE, d=d_s, n_events=n_s, floor=floor_s, worst=ranked[-1][0],
                   worst_d=ranked[-1][1])
    else:
        t = choose("reference_distance", "between", _DISTANCE, d=d_s, n_events=n_s, floor=floor_s,
                   lo=better[-1][0], lo_d=better[-1][1], hi=worse[0][0], hi_d=worse[0][1], n_worse=len(worse),
                   n=len(ranked))
    return _raw(t, **nums)


_ROWS = {
    "front": "The rows that differ most from Geant4 are layers {layers} (‖row‖ = {values}), all in the front "
             "third of the calorimeter: the shower's start is the least Geant4-like part.",
    "back": "The rows that differ most from Geant4 are layers {layers} (‖row‖ = {values}), all in the back third "
            "of the calorimeter: the shower's tail is the least Geant4-like part.",
    "middle": "The rows that differ most from Geant4 are layers {layers} (‖row‖ = {values}), all in the middle "
              "third of the calorimeter, around the shower maximum.",
    "spread": "The rows that differ most from Geant4 are layers {layers} (‖row‖ = {values}), spread over the "
              "depth of the calorimeter.",
}


def worst_rows(rows: Sequence[float], *, n_worst: int = 3) -> Takeaway:
    """The ``n_worst`` layers with the largest row contributions ``||row_i||`` and where they sit in depth
    (front / middle / back third of the layers, or spread).

    Example:
        >>> rows = np.full(45, 0.1); rows[[0, 2, 5]] = [0.6, 0.5, 0.4]
        >>> worst_rows(rows).verdict
        'front'
    """
    rows = np.asarray(rows, dtype=np.float64)
    n_l = rows.shape[0]
    idx = np.argsort(rows)[::-1][:n_worst]
    third = np.minimum(idx * 3 // n_l, 2)
    verdict = ("front", "middle", "back")[int(third[0])] if np.all(third == third[0]) else "spread"
    t = choose("worst_rows", verdict, _ROWS, layers=", ".join(str(int(i)) for i in idx),
               values=", ".join(fmt(float(rows[i]), digits=2) for i in idx))
    return _raw(t, layers=[int(i) for i in idx], rows=[float(rows[i]) for i in idx])


_SPECTRUM = {
    "positive": "Over the whole E_inc spectrum every pair of layers correlates positively (lowest r = {r_min}, "
                "layers {i} and {j}): all layer energies grow with E_inc, which dominates the matrix.",
    "mixed": "Over the whole E_inc spectrum some pairs of layers anti-correlate (lowest r = {r_min}, layers {i} "
             "and {j}): the common growth with E_inc does not dominate everywhere.",
}


def spectrum_correlations(pcc: np.ndarray) -> Takeaway:
    """Whether every off-diagonal entry of the whole-spectrum matrix ``pcc`` (L, L) is positive.

    Example:
        >>> spectrum_correlations(np.array([[1.0, 0.5], [0.5, 1.0]])).verdict
        'positive'
    """
    c = np.asarray(pcc, dtype=np.float64).copy()
    np.fill_diagonal(c, np.inf)
    i, j = np.unravel_index(np.argmin(c), c.shape)
    r_min = float(c[i, j])
    t = choose("spectrum_correlations", "positive" if r_min > 0 else "mixed", _SPECTRUM,
               r_min=fmt(r_min, digits=2), i=int(min(i, j)), j=int(max(i, j)))
    return _raw(t, r_min=r_min, layers=[int(min(i, j)), int(max(i, j))])


_FIXED = {
    "anti": "At fixed E_inc ({bin}, {n} showers) early and late layers anti-correlate: layers {i} and {j} at "
            "r = {r_min}, beyond the noise ±{noise}; a shower that develops later puts less energy early and more "
            "late. {neighbours}",
    "none": "At fixed E_inc ({bin}, {n} showers) no pair of layers anti-correlates beyond the noise ±{noise} "
            "(lowest r = {r_min}, layers {i} and {j}). {neighbours}",
    "few": "The fixed-E_inc bin ({bin}) holds only {n} showers: too few to read its correlations.",
}
_NEIGHBOURS = {
    "together": "The layer of maximum energy ({k}) and the next one move together (r = {r_nb}).",
    "apart": "The layer of maximum energy ({k}) and the next one do not move together beyond the noise "
             "(r = {r_nb}).",
}


def fixed_energy_correlations(pcc: np.ndarray, n: int, bin_label: str, *, mean_profile: np.ndarray | None = None,
                              min_events: int = 20) -> Takeaway:
    """Whether the layers of a narrow E_inc bin anti-correlate beyond ``3 / sqrt(n)``.

    Only layers whose mean energy (``mean_profile`` (L,) MeV; all layers when ``None``) is at least 1 % of the
    largest layer's are compared, so that nearly empty deep layers do not decide.  ``r_nb`` is the correlation of the layer of maximum
    mean energy with the next one.

    Example:
        >>> c = np.array([[1.0, 0.7, -0.5], [0.7, 1.0, 0.1], [-0.5, 0.1, 1.0]])
        >>> fixed_energy_correlations(c, 400, "100–150 GeV", mean_profile=np.array([1.0, 2.0, 1.0])).verdict
        'anti'
    """
    if n < min_events:
        return choose("fixed_energy_correlations", "few", _FIXED, bin=bin_label, n=int(n))
    c = np.asarray(pcc, dtype=np.float64)
    prof = np.ones(c.shape[0]) if mean_profile is None else np.asarray(mean_profile, dtype=np.float64)
    keep = np.flatnonzero(prof >= 0.01 * prof.max())
    sub = c[np.ix_(keep, keep)].copy()
    np.fill_diagonal(sub, np.inf)
    a, b = np.unravel_index(np.argmin(sub), sub.shape)
    i, j = int(keep[min(a, b)]), int(keep[max(a, b)])
    r_min = float(c[i, j])
    k = int(np.argmax(prof))
    r_nb = float(c[k, min(k + 1, c.shape[0] - 1)])
    noise = 3.0 / np.sqrt(n)
    verdict = "anti" if r_min < -noise else "none"
    nb = choose("neighbours", "together" if r_nb > noise else "apart", _NEIGHBOURS, k=k, r_nb=fmt(r_nb, digits=2))
    t = choose("fixed_energy_correlations", verdict, _FIXED, bin=bin_label, n=int(n), i=i, j=j,
               r_min=fmt(r_min, digits=2), noise=fmt(noise, digits=2), neighbours=nb.text)
    return _raw(t, n=int(n), r_min=r_min, layers=[i, j], noise=noise, r_neighbours=r_nb, layer_of_max=k)


_MAX = {
    "deeper": "The layer of maximum mean energy moves deeper with E_inc, from layer {first} ({lo}) to layer {last} "
              "({hi}).",
    "same": "The layer of maximum mean energy stays at layer {first} from {lo} to {hi}.",
    "shallower": "The layer of maximum mean energy moves towards the front with E_inc, from layer {first} ({lo}) "
                 "to layer {last} ({hi}): unlike an electromagnetic shower, whose maximum deepens like ln E.",
}


def shower_max_depth(labels: Sequence[str], layer_of_max: Sequence[int]) -> Takeaway:
    """Compare the layer of maximum mean energy of the first and last E_inc bin (``labels`` name the bins).

    Example:
        >>> shower_max_depth(["1–10 GeV", "100–1000 GeV"], [4, 11]).text
        'The layer of maximum mean energy moves deeper with E_inc, from layer 4 (1–10 GeV) to layer 11 (100–1000 GeV).'
    """
    first, last = int(layer_of_max[0]), int(layer_of_max[-1])
    verdict = "deeper" if last > first else ("same" if last == first else "shallower")
    return choose("shower_max_depth", verdict, _MAX, first=first, last=last, lo=labels[0], hi=labels[-1])


_RESPONSE = {
    "consistent": "E_dep/E_inc is flat in E_inc: {lo_r} in the lowest third of E_inc and {hi_r} in the highest "
                  "(within {tol} %).",
    "higher": "E_dep/E_inc rises with E_inc, from {lo_r} in the lowest third to {hi_r} in the highest.",
    "lower": "E_dep/E_inc falls with E_inc, from {lo_r} in the lowest third to {hi_r} in the highest "
             "(more leakage at high energy).",
}


def response_vs_einc(lo_mean: float, lo_err: float, hi_mean: float, hi_err: float, *, rel_tol: float = 0.03) -> Takeaway:
    """Whether the mean E_dep/E_inc of the highest E_inc third differs from the lowest's beyond 2 sigma and
    ``rel_tol``.

    Example:
        >>> response_vs_einc(0.69, 0.002, 0.70, 0.001).verdict, response_vs_einc(0.69, 0.002, 0.60, 0.001).verdict
        ('consistent', 'lower')
    """
    from calolib.reports.takeaways import compare

    verdict = compare(hi_mean, lo_mean, err_a=hi_err, err_b=lo_err, rel_tol=rel_tol)
    t = choose("response_vs_einc", verdict, _RESPONSE, lo_r=fmt(lo_mean, lo_err), hi_r=fmt(hi_mean, hi_err),
               tol=fmt(100 * rel_tol))
    return _raw(t, lo_mean=float(lo_mean), lo_err=float(lo_err), hi_mean=float(hi_mean), hi_err=float(hi_err))


_SPARSITY = {
    "falls": "The sparsity falls with E_inc, from {lo} of the voxels empty in the lowest fifth of E_inc to {hi} in "
             "the highest: more secondaries fill more voxels.",
    "flat": "The sparsity hardly changes with E_inc ({lo} empty in the lowest fifth of E_inc, {hi} in the highest).",
    "rises": "The sparsity rises with E_inc, from {lo} in the lowest fifth of E_inc to {hi} in the highest.",
}


def sparsity_vs_einc(low_e: float, high_e: float, *, tol: float = 0.01) -> Takeaway:
    """Compare the mean sparsity (fraction of empty voxels) of the low- and high-E_inc showers.

    Example:
        >>> sparsity_vs_einc(0.97, 0.62).verdict, sparsity_vs_einc(0.9, 0.895).verdict
        ('falls', 'flat')
    """
    verdict = "falls" if high_e < low_e - tol else ("rises" if high_e > low_e + tol else "flat")
    t = choose("sparsity_vs_einc", verdict, _SPARSITY, lo=fmt(low_e, digits=2), hi=fmt(high_e, digits=2))
    return _raw(t, low_e=float(low_e), high_e=float(high_e))
