"""Histogram divergences between a generated and a reference distribution.

All functions take two histograms over the *same* bins (counts or densities, any positive scale) and
normalise them to unit sum inside, so ``separation_power(np.histogram(a, b)[0], np.histogram(c, b)[0])``
is the CaloChallenge number.  Logarithms are natural (nats), so ``jsd <= ln 2``.

* ``separation_power``: ½ Σ (h₁−h₂)²/(h₁+h₂), empty bins skipped; 0 identical, 1 disjoint (CaloChallenge).
* ``jsd``: Jensen–Shannon divergence ½ KL(p‖m) + ½ KL(q‖m), m = (p+q)/2, 0·ln 0 = 0; in [0, ln 2].
* ``hellinger``: H = √(1 − Σ √(p q)) in [0, 1].
* ``kl_divergence``: KL(p‖q) after additive smoothing: ε is added to *every* bin of both histograms
  (after normalisation) and they are normalised again, so empty reference bins give a large but finite value.

``histogram_pair`` and ``feature_histograms`` build the common binning used by the report and the plots.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from calolib.errors import CalolibError
from calolib.metrics._arrays import as_numpy

__all__ = [
    "separation_power",
    "jsd",
    "hellinger",
    "kl_divergence",
    "HistogramPair",
    "histogram_pair",
    "feature_histograms",
    "feature_table",
    "common_bins",
]


def __dir__():
    return __all__


def _normalised_pair(h1, h2) -> tuple[np.ndarray, np.ndarray]:
    p, q = as_numpy(h1).ravel(), as_numpy(h2).ravel()
    if p.shape != q.shape:
        raise CalolibError(f"histograms must have the same bins, got {p.size} and {q.size} bins")
    if not (np.all(np.isfinite(p)) and np.all(np.isfinite(q))):
        raise CalolibError("histograms contain NaN or inf; drop non-finite values before histogramming")
    if (p < 0).any() or (q < 0).any():
        raise CalolibError("histograms must be non-negative (counts or densities)")
    sp, sq = p.sum(), q.sum()
    if sp <= 0 or sq <= 0:
        raise CalolibError("a histogram is empty (sum 0); check the binning covers the data")
    return p / sp, q / sq


def separation_power(h1, h2) -> float:
    """CaloChallenge separation power ½ Σ_bins (h₁−h₂)²/(h₁+h₂) of two histograms on the same bins.

    Histograms are normalised to unit sum inside; bins empty in both are skipped.
    Returns a number in [0, 1]: 0 for identical shapes, 1 for disjoint supports.

    Example:
        >>> separation_power([1, 2, 3], [2, 4, 6]), separation_power([1, 0], [0, 5])
        (0.0, 1.0)
    """
    p, q = _normalised_pair(h1, h2)
    s = p + q
    m = s > 0
    # clip: rounding can give 1 + 1e-16 for disjoint histograms
    return float(min(0.5 * np.sum((p[m] - q[m]) ** 2 / s[m]), 1.0))


def _kl_terms(p: np.ndarray, q: np.ndarray) -> float:
    m = p > 0
    return float(np.sum(p[m] * np.log(p[m] / q[m])))


def jsd(h1, h2) -> float:
    """Jensen–Shannon divergence (natural log) of two histograms on the same bins; 0 ≤ JSD ≤ ln 2.

    Example:
        >>> bool(np.isclose(jsd([1, 0], [0, 1]), np.log(2))), jsd([1, 1], [3, 3])
        (True, 0.0)
    """
    p, q = _normalised_pair(h1, h2)
    m = 0.5 * (p + q)
    return float(max(0.5 * _kl_terms(p, m) + 0.5 * _kl_terms(q, m), 0.0))


def hellinger(h1, h2) -> float:
    """Hellinger distance √(1 − Σ √(p q)) of two histograms on the same bins, in [0, 1].

    Example:
        >>> hellinger([1, 0], [0, 1]), hellinger([2, 2], [1, 1])
        (1.0, 0.0)
    """
    p, q = _normalised_pair(h1, h2)
    bc = float(np.sum(np.sqrt(p * q)))
    return float(np.sqrt(max(1.0 - bc, 0.0)))


def kl_divergence(h1, h2, *, eps: float = 1e-10) -> float:
    """KL(p‖q) in nats of histogram ``h1`` (p, e.g. generated) from ``h2`` (q, e.g. reference).

    Smoothing: after normalisation, ``eps`` is added to every bin of both histograms and they are
    renormalised, so the value stays finite when q has empty bins (≈ p·ln(p/eps) there).

    Example:
        >>> kl_divergence([1, 1], [1, 1])
        0.0
        >>> round(kl_divergence([1, 3], [1, 1]), 4)  # 0.25 ln 0.5 + 0.75 ln 1.5
        0.1308
    """
    if eps < 0:
        raise CalolibError(f"eps must be >= 0, got {eps}")
    p, q = _normalised_pair(h1, h2)
    p, q = (p + eps) / (1 + eps * p.size), (q + eps) / (1 + eps * q.size)
    if (q[p > 0] == 0).any():
        raise CalolibError("KL divergence is infinite (q has empty bins where p does not); use eps > 0")
    return float(max(_kl_terms(p, q), 0.0))


def common_bins(a, b, bins: int = 50, *, log: bool | None = None, quantile: float = 0.0) -> np.ndarray:
    """Bin edges covering both samples ``a`` and ``b`` (finite values only).

    ``log=None`` chooses logarithmic bins when all values are positive and span more than two decades.
    ``quantile`` > 0 trims that fraction from each tail (robust to outliers).

    Example:
        >>> common_bins([1.0, 2.0], [3.0], bins=2).tolist()
        [1.0, 2.0, 3.0]
    """
    x = np.concatenate([as_numpy(a).ravel(), as_numpy(b).ravel()])
    x = x[np.isfinite(x)]
    if x.size == 0:
        raise CalolibError("cannot bin: both samples are empty or non-finite")
    lo, hi = (np.quantile(x, [quantile, 1 - quantile]) if quantile > 0 else (x.min(), x.max()))
    if log is None:
        log = bool(lo > 0 and hi / lo > 100)
    if hi <= lo:
        lo, hi = (lo - 0.5, hi + 0.5) if lo == 0 else (lo * (1 - 1e-3), hi * (1 + 1e-3))
        if lo <= 0:
            log = False
    if log:
        if lo <= 0:
            raise CalolibError("log bins need positive values; pass log=False")
        return np.geomspace(lo, hi, bins + 1)
    return np.linspace(lo, hi, bins + 1)


@dataclass(frozen=True)
class HistogramPair:
    """Two histograms on shared ``edges`` with Poisson errors (counts; normalise with :meth:`density`)."""

    name: str
    edges: np.ndarray  # (B+1,)
    gen: np.ndarray  # (B,) counts of the generated sample
    ref: np.ndarray  # (B,) counts of the reference sample
    log: bool = False

    def density(self, which: str) -> tuple[np.ndarray, np.ndarray]:
        """``(density, error)`` of ``"gen"`` or ``"ref"``, normalised to unit area."""
        h = self.gen if which == "gen" else self.ref
        w = np.diff(self.edges) * max(h.sum(), 1)
        return h / w, np.sqrt(h) / w

    def scores(self) -> dict[str, float]:
        """Separation power, JSD, Hellinger and KL(gen‖ref) of this pair (NaN where a side is empty)."""
        if self.gen.sum() == 0 or self.ref.sum() == 0:
            return {k: float("nan") for k in ("separation_power", "jsd", "hellinger", "kl")}
        return {
            "separation_power": separation_power(self.gen, self.ref),
            "jsd": jsd(self.gen, self.ref),
            "hellinger": hellinger(self.gen, self.ref),
            "kl": kl_divergence(self.gen, self.ref),
        }


def histogram_pair(gen, ref, bins: int | np.ndarray = 50, *, name: str = "", log: bool | None = None) -> HistogramPair:
    """Histogram two 1-D samples on common bins (``bins`` edges or a count, see :func:`common_bins`).

    Example:
        >>> hp = histogram_pair([0.1, 0.2, 0.9], [0.1, 0.8], bins=np.array([0, 0.5, 1]))
        >>> hp.gen.tolist(), hp.ref.tolist()
        ([2.0, 1.0], [1.0, 1.0])
    """
    g, r = as_numpy(gen).ravel(), as_numpy(ref).ravel()
    g, r = g[np.isfinite(g)], r[np.isfinite(r)]
    if np.ndim(bins) == 0:
        edges = common_bins(g, r, int(bins), log=log)
    else:
        edges = as_numpy(bins)
    if log is None or np.ndim(bins) == 0:  # geometric (constant-ratio, non-constant-width) edges are log bins
        d = np.diff(edges)
        log = bool(edges[0] > 0 and len(edges) > 2 and np.allclose(edges[1:] / edges[:-1], edges[1] / edges[0])
                   and not np.allclose(d, d[0]))
    is_log = bool(log)
    hg = np.histogram(g, edges)[0].astype(np.float64)
    hr = np.histogram(r, edges)[0].astype(np.float64)
    return HistogramPair(name=name, edges=edges, gen=hg, ref=hr, log=is_log)


def feature_table(features) -> dict[str, np.ndarray]:
    """Flatten a :class:`~calolib.features.HighLevelFeatures` (or a mapping) into named 1-D arrays.

    Per-layer fields ``(N, L)`` become ``"<field>_<layer>"`` columns; ``(N,)`` fields keep their name.

    Example:
        >>> t = feature_table({"e_total": np.ones(3), "e_layer": np.ones((3, 2))})
        >>> sorted(t)
        ['e_layer_0', 'e_layer_1', 'e_total']
    """
    import dataclasses

    if dataclasses.is_dataclass(features):
        items = {f.name: getattr(features, f.name) for f in dataclasses.fields(features)}
    else:
        items = dict(features)
    out: dict[str, np.ndarray] = {}
    for key, val in items.items():
        if val is None or isinstance(val, (str, bytes)):
            continue
        arr = np.asarray(val)
        if arr.dtype.kind not in "fiub":
            continue
        if arr.ndim == 1:
            out[key] = arr.astype(np.float64)
        elif arr.ndim == 2:
            for j in range(arr.shape[1]):
                out[f"{key}_{j}"] = arr[:, j].astype(np.float64)
    return out


# Features whose natural axis is logarithmic (energies span decades).
_LOG_PREFIXES = ("e_inc", "e_total", "e_layer")


def feature_histograms(gen, ref, bins: int = 50, *, names=None, skip_constant: bool = True) -> dict[str, HistogramPair]:
    """Histogram every high-level feature of ``gen`` and ``ref`` on common bins.

    ``gen``/``ref`` are :class:`~calolib.features.HighLevelFeatures` or mappings of arrays (see
    :func:`feature_table`). Energy features get log bins (positive part), the rest linear bins.
    Features that are constant in both samples (e.g. an empty layer) are skipped.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> h = feature_histograms({"w": rng.normal(size=100)}, {"w": rng.normal(size=100)}, bins=10)
        >>> list(h), int(h["w"].gen.sum())
        (['w'], 100)
    """
    tg, tr = feature_table(gen), feature_table(ref)
    keys = [k for k in tg if k in tr] if names is None else list(names)
    out: dict[str, HistogramPair] = {}
    for k in keys:
        if k not in tg or k not in tr:
            raise CalolibError(f"feature {k!r} missing from one sample; available: {sorted(set(tg) & set(tr))}")
        g, r = tg[k], tr[k]
        both = np.concatenate([g, r])
        both = both[np.isfinite(both)]
        if both.size == 0 or (skip_constant and np.ptp(both) == 0):
            continue
        log = k.startswith(_LOG_PREFIXES) and (both > 0).any()
        if log:
            pos = both[both > 0]
            lo, hi = pos.min(), pos.max()
            if hi / lo <= 1.0001:
                log = False
        if log:
            edges = np.geomspace(lo, hi, bins + 1)
            g, r = np.where(g > 0, g, lo), np.where(r > 0, r, lo)  # empty layers go in the first bin
        else:
            edges = common_bins(g, r, bins, log=False)
        out[k] = histogram_pair(g, r, edges, name=k)
    return out
