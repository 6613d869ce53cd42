"""The CaloChallenge 2022 evaluation's own definitions: threshold, feature vector and histogram binnings.

calolib's general metrics (:mod:`calolib.metrics.evaluate`) bin every feature on 50 bins over the pooled
range; the numbers in the CaloChallenge tables come from the official ``evaluate.py``
(CaloChallenge/homepage, ``code/``), whose choices are reproduced here so that calolib's numbers can be
put beside published ones:

* **threshold**: voxels below ``0.5 keV / 0.033`` (= 15.1515… keV) are zeroed for ds2/ds3, below 1 MeV for
  ds1 (:func:`official_threshold`);
* **feature vector** (the ``cls-high`` classifier input and the FPD/KPD input), per event:
  ``[log10 E_inc, log10(E_layer + 1e-8) (active layers), EC_x/100, EC_y/100, width_x/100, width_y/100
  (layers binned in angle), log10(E_tot + 1e-8), sparsity (active layers), EC_r/100, width_r/100]``,
  lengths in mm, energies in MeV (:func:`feature_vector`; 362 columns for ds2);
* **histograms** for separation powers, fixed bins per feature (:func:`official_bins`): E_tot/E_inc 100
  bins on [0.5, 1.5]; E_layer 39 log bins from the threshold to the *reference* maximum; centres of energy
  100 bins on ±30 mm; widths 100 bins on [0, 30] mm (ds2/ds3; ds1 has wider ranges); the voxel spectrum 49
  log bins from the threshold to the reference maximum.  Entries outside the bins are dropped (so empty
  layers, E_layer = 0, do not enter), and each histogram is normalised to its in-range entries.  The
  official ``hist`` mode reports exactly these features (:data:`OFFICIAL_HIST_FEATURES`); its plotting
  helper also defines bins for per-layer sparsity (20 bins on [0, 1]), EC_r ([0, 42] mm) and width_r
  ([0, 20] mm), which are computed here too, flagged ``official_mode=False``.  The *total* sparsity has no
  official histogram; calolib scores it on the per-layer sparsity bins (a calolib extension).

Separation power is ``½ Σ (p − q)² / (p + q + 1e-16)`` on the two normalised histograms; its error is the
standard deviation over bootstrap resamples of both samples' events (bins fixed).

Example:
    >>> from calolib.showers import Showers
    >>> from calolib.synthetic import simulate
    >>> a, b = simulate(300, seed=1), simulate(300, seed=2)
    >>> sp = official_separation_powers(a, b, n_bootstrap=0)
    >>> 0 <= sp["e_ratio"].value < 0.2, len(feature_vector(official_features(a))[1])
    (True, 362)
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from calolib.errors import CalolibError
from calolib.features import HighLevelFeatures, compute_features
from calolib.showers import Showers

__all__ = ["official_threshold", "official_features", "feature_vector", "official_bins", "OfficialHistogram",
           "official_histograms", "official_separation_powers", "SeparationPower", "OFFICIAL_HIST_FEATURES",
           "official_name"]


def __dir__():
    return __all__


#: features (name stems) whose separation powers the official ``hist`` mode writes out
OFFICIAL_HIST_FEATURES = ("e_ratio", "e_layer", "ec_x", "ec_y", "width_x", "width_y", "voxel_energy")

_OFFICIAL_LABELS = {"e_ratio": "Etot / Einc", "e_layer": "E layer {l}", "ec_x": "EC Eta layer {l}",
                    "ec_y": "EC Phi layer {l}", "width_x": "Width Eta layer {l}", "width_y": "Width Phi layer {l}",
                    "sparsity_layer": "Sparsity layer {l}", "ec_r": "EC r layer {l}", "width_r": "Width r layer {l}",
                    "voxel_energy": "Voxel distribution", "sparsity": "sparsity (total; calolib extension)"}


def official_name(name: str) -> str:
    """The label the official code prints for a calolib feature name (``"ec_x_3"`` -> ``"EC Eta layer 3"``).

    Example:
        >>> official_name("ec_x_3"), official_name("e_ratio")
        ('EC Eta layer 3', 'Etot / Einc')
    """
    stem, layer = _split(name)
    return _OFFICIAL_LABELS.get(stem, name).format(l=layer)


def _split(name: str) -> tuple[str, str]:
    base, _, layer = name.rpartition("_")
    return (base, layer) if layer.isdigit() and base else (name, "")


def official_threshold(geometry) -> float:
    """Per-voxel readout threshold of the official evaluation, MeV: 0.5e-3/0.033 for ds2/ds3, 1 for ds1.

    Example:
        >>> round(official_threshold("ds2") * 1e3, 4), official_threshold("ds1-photons")
        (15.1515, 1.0)
    """
    from calolib.geometry import get_geometry

    name = get_geometry(geometry).name
    return 1.0 if name.startswith("ds1") else 0.5e-3 / 0.033


def official_features(showers: Showers) -> HighLevelFeatures:
    """High-level features after the official threshold (:func:`official_threshold`)."""
    if not isinstance(showers, Showers):
        raise CalolibError(f"official_features needs a calolib.showers.Showers, got {type(showers).__name__}")
    return compute_features(showers, threshold_mev=official_threshold(showers.geometry))


def _alpha_layers(geometry) -> list[int]:
    return [l for l in geometry.active_layers if geometry.layers[l].n_alpha > 1]


def feature_vector(features: HighLevelFeatures) -> tuple[np.ndarray, list[str]]:
    """The official high-level feature vector ``(X (N, F) float64, names)`` (``cls-high`` and FPD/KPD input).

    Order: log10 E_inc; log10(E_layer + 1e-8) per active layer; EC_x/100, EC_y/100, width_x/100,
    width_y/100 per layer binned in angle (each block over all such layers); log10(E_tot + 1e-8);
    sparsity per active layer; EC_r/100, width_r/100 per active layer.  Energies MeV, lengths mm.

    Example:
        >>> s = np.zeros((1, 6480)); s[0, 0] = 10.0
        >>> X, names = feature_vector(compute_features(Showers(np.array([1e3]), s, "ds2")))
        >>> X.shape, names[:2], float(X[0, 0]), round(float(X[0, 1]), 6)
        ((1, 362), ['log_e_inc', 'log_e_layer_0'], 3.0, 1.0)
    """
    g = features.geometry
    act, alp = list(g.active_layers), _alpha_layers(g)
    cols: list[tuple[str, np.ndarray]] = [("log_e_inc", np.log10(features.e_inc))]
    cols += [(f"log_e_layer_{l}", np.log10(features.e_layer[:, l] + 1e-8)) for l in act]
    for name in ("ec_x", "ec_y", "width_x", "width_y"):
        arr = getattr(features, name)
        cols += [(f"{name}_{l}", arr[:, l] / 1e2) for l in alp]
    cols.append(("log_e_total", np.log10(features.e_total + 1e-8)))
    cols += [(f"sparsity_{l}", features.sparsity_layer[:, l]) for l in act]
    cols += [(f"ec_r_{l}", features.ec_r[:, l] / 1e2) for l in act]
    cols += [(f"width_r_{l}", features.width_r[:, l] / 1e2) for l in act]
    return np.stack([c for _, c in cols], axis=1).astype(np.float64), [n for n, _ in cols]


def _lin(lo: float, hi: float, n_edges: int = 101) -> np.ndarray:
    return np.linspace(lo, hi, n_edges)


def official_bins(name: str, geometry, *, ref_max: float | None = None) -> np.ndarray | None:
    """Bin edges the official code uses for feature ``name`` (``None``: no official histogram / empty layer).

    ``ref_max`` is the reference sample's maximum of the feature, needed for the log-binned energies
    (``e_layer_*``, ``voxel_energy``), whose bins run from the threshold to it.

    Example:
        >>> official_bins("ec_x_3", "ds2")[[0, -1]].tolist(), len(official_bins("e_ratio", "ds2")) - 1
        ([-30.0, 30.0], 100)
        >>> len(official_bins("e_layer_3", "ds2", ref_max=1e3)) - 1
        39
    """
    from calolib.geometry import get_geometry

    g = get_geometry(geometry)
    ds1 = g.name.startswith("ds1")
    stem, layer = _split(name)
    l = int(layer) if layer else -1
    thr = official_threshold(g)
    if stem == "e_ratio":
        return _lin(0.5, 1.5)
    if stem in ("e_layer", "voxel_energy"):
        if ref_max is None or not np.isfinite(ref_max) or ref_max <= thr:
            return None
        return np.logspace(np.log10(thr), np.log10(ref_max), 40 if stem == "e_layer" else 50)
    if stem in ("ec_x", "ec_y"):
        lim = 30.0 if not ds1 else (500.0 if l in (12, 13) else 100.0)
        return _lin(-lim, lim)
    if stem in ("width_x", "width_y"):
        return _lin(0.0, 30.0 if not ds1 else (400.0 if l in (12, 13) else 100.0))
    if stem == "ec_r":
        return _lin(0.0, 42.0 if not ds1 else (1500.0 if l in (12, 13, 14) else 500.0))
    if stem == "width_r":
        return _lin(0.0, 20.0 if not ds1 else (1500.0 if l in (12, 13, 14) else 500.0))
    if stem in ("sparsity_layer", "sparsity"):
        return _lin(0.0, 1.0, 21)
    return None


@dataclass(frozen=True)
class OfficialHistogram:
    """One feature binned the official way: per-event bin indices (``-1`` = out of range) or, for the
    voxel spectrum, per-event histograms, so bootstrap resamples are weighted sums."""

    name: str
    edges: np.ndarray  # (B+1,)
    official_mode: bool  # reported by the official ``hist`` mode
    idx_gen: np.ndarray | None = None  # (N_gen,) bin index per event, -1 out of range
    idx_ref: np.ndarray | None = None
    per_event_gen: np.ndarray | None = None  # (N_gen, B) counts per event (voxel spectrum)
    per_event_ref: np.ndarray | None = None

    @property
    def n_bins(self) -> int:
        return len(self.edges) - 1

    def counts(self, which: str, weights: np.ndarray | None = None) -> np.ndarray:
        """Histogram counts ``(B,)`` of ``"gen"`` or ``"ref"``; ``weights`` (N,) = event multiplicities."""
        per_event = self.per_event_gen if which == "gen" else self.per_event_ref
        if per_event is not None:
            return per_event.sum(0) if weights is None else weights @ per_event
        idx = self.idx_gen if which == "gen" else self.idx_ref
        ok = idx >= 0
        w = None if weights is None else weights[ok]
        return np.bincount(idx[ok], weights=w, minlength=self.n_bins).astype(np.float64)


def _bin_index(x: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """np.histogram's bin of each value (last bin closed), -1 outside [edges[0], edges[-1]] or non-finite."""
    idx = np.searchsorted(edges, x, side="right") - 1
    idx[x == edges[-1]] = len(edges) - 2
    bad = ~np.isfinite(x) | (x < edges[0]) | (x > edges[-1])
    idx[bad] = -1
    return idx.astype(np.intp)


def _per_event_hist(v: np.ndarray, edges: np.ndarray) -> np.ndarray:
    n, b = v.shape[0], len(edges) - 1
    out = np.zeros((n, b))
    for lo in range(0, n, 512):
        blk = np.asarray(v[lo:lo + 512], dtype=np.float64)
        idx = _bin_index(blk.ravel(), edges).reshape(blk.shape)
        rows = np.broadcast_to(np.arange(blk.shape[0])[:, None], blk.shape)
        ok = idx >= 0
        out[lo:lo + blk.shape[0]] = np.bincount(rows[ok] * b + idx[ok], minlength=blk.shape[0] * b).reshape(-1, b)
    return out


def official_histograms(gen: Showers, ref: Showers, *, features: tuple | None = None,
                        voxels: bool = True) -> dict[str, OfficialHistogram]:
    """Bin every feature of ``gen`` and ``ref`` (after the official threshold) on the official bins.

    Args:
        gen, ref: showers of one geometry, MeV (thresholded here).
        features: optional precomputed ``(official_features(gen), official_features(ref))``.
        voxels: include the voxel-energy spectrum (``"voxel_energy"``).

    Returns ``{name: OfficialHistogram}`` in the order e_ratio, sparsity, then per-layer features by kind.
    """
    if gen.geometry.name != ref.geometry.name:
        raise CalolibError(f"geometries differ: {gen.geometry.name} vs {ref.geometry.name}")
    g = gen.geometry
    fg, fr = features if features is not None else (official_features(gen), official_features(ref))
    cols: list[tuple[str, np.ndarray, np.ndarray]] = [("e_ratio", fg.e_ratio, fr.e_ratio),
                                                       ("sparsity", fg.sparsity, fr.sparsity)]
    act, alp = list(g.active_layers), _alpha_layers(g)
    for stem in ("e_layer", "ec_x", "ec_y", "width_x", "width_y", "sparsity_layer", "ec_r", "width_r"):
        layers = alp if stem in ("ec_x", "ec_y", "width_x", "width_y") else act
        cols += [(f"{stem}_{l}", getattr(fg, stem)[:, l], getattr(fr, stem)[:, l]) for l in layers]
    out: dict[str, OfficialHistogram] = {}
    for name, a, b in cols:
        edges = official_bins(name, g, ref_max=float(np.max(b)) if b.size else None)
        if edges is None:
            continue
        out[name] = OfficialHistogram(name, edges, _split(name)[0] in OFFICIAL_HIST_FEATURES,
                                      idx_gen=_bin_index(np.asarray(a, np.float64), edges),
                                      idx_ref=_bin_index(np.asarray(b, np.float64), edges))
    if voxels:
        thr = official_threshold(g)
        vg = np.where(gen.showers < thr, 0, gen.showers)
        vr = np.where(ref.showers < thr, 0, ref.showers)
        edges = official_bins("voxel_energy", g, ref_max=float(vr.max()) if vr.size else None)
        if edges is not None:
            out["voxel_energy"] = OfficialHistogram("voxel_energy", edges, True, per_event_gen=_per_event_hist(vg, edges),
                                                    per_event_ref=_per_event_hist(vr, edges))
    return out


@dataclass(frozen=True)
class SeparationPower:
    """Separation power of one feature on official bins, with its bootstrap error (NaN if not computed)."""

    name: str
    value: float
    err: float
    official_mode: bool
    boot: np.ndarray = field(repr=False, default_factory=lambda: np.zeros(0))  # bootstrap replicates

    def __iter__(self):
        return iter((self.value, self.err))


def _sep(p: np.ndarray, q: np.ndarray) -> float:
    """½ Σ (p−q)²/(p+q+1e-16) after normalising each histogram to unit sum.

    One histogram with no entry in range while the other has some: 1 (disjoint within the official window;
    the official code prints nan there); both empty: NaN.
    """
    sp, sq = p.sum(), q.sum()
    if sp <= 0 or sq <= 0:
        return 1.0 if max(sp, sq) > 0 else float("nan")
    p, q = p / sp, q / sq
    return float(0.5 * np.sum((p - q) ** 2 / (p + q + 1e-16)))


def official_separation_powers(gen: Showers, ref: Showers, *, n_bootstrap: int = 20, seed: int = 0,
                               histograms: dict[str, OfficialHistogram] | None = None) -> dict[str, SeparationPower]:
    """Separation power of every feature on the official bins (see module docstring), with bootstrap errors.

    A feature whose generated (or reference) values all fall outside the official bins while the other
    sample's do not gets 1 (the official code prints nan, a 0/0); NaN when both are outside.

    Example:
        >>> from calolib.synthetic import simulate
        >>> sp = official_separation_powers(simulate(200, seed=1), simulate(200, seed=2), n_bootstrap=3)
        >>> sp["e_ratio"].err > 0, sp["ec_x_5"].official_mode, sp["ec_r_5"].official_mode
        (True, True, False)
    """
    hists = histograms if histograms is not None else official_histograms(gen, ref)
    names = list(hists)
    values = {k: float(_sep(hists[k].counts("gen"), hists[k].counts("ref"))) for k in names}
    errs = {k: float("nan") for k in names}
    boot: dict[str, list] = {k: [] for k in names}
    if n_bootstrap >= 2 and names:
        rng = np.random.default_rng(seed)
        ng, nr = len(gen), len(ref)
        for _ in range(n_bootstrap):
            wg = np.bincount(rng.integers(0, ng, ng), minlength=ng).astype(np.float64)
            wr = np.bincount(rng.integers(0, nr, nr), minlength=nr).astype(np.float64)
            for k in names:
                boot[k].append(float(_sep(hists[k].counts("gen", wg), hists[k].counts("ref", wr))))
        errs = {k: float(np.nanstd(v, ddof=1)) if np.isfinite(v).sum() > 1 else float("nan") for k, v in boot.items()}
    return {k: SeparationPower(k, values[k], errs[k], hists[k].official_mode, np.asarray(boot[k])) for k in names}
