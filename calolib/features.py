"""High-level shower features in the CaloChallenge evaluation convention.

Per event and layer ``l`` (voxel energies ``v_i`` in MeV, voxel centre coordinates ``c_i`` in mm,
``c`` one of ``x = r cos(alpha)``, ``y = r sin(alpha)`` or ``r``):

* ``e_layer = sum_i v_i``;
* centre of energy ``ec_c = sum_i v_i c_i / e_layer``;
* width ``width_c = sqrt(max(sum_i v_i c_i**2 / e_layer - ec_c**2, 0))``;
  centres and widths are 0 where the layer is empty;
* ``sparsity_layer`` = fraction of the layer's voxels that are EMPTY (``v <= 0``), i.e.
  ``1 - occupancy`` (geometrically empty layers of ds1 count as fully sparse, 1.0);
* ``e_total = sum of all voxels``, ``e_ratio = e_total / e_inc``, ``sparsity`` over all voxels.

An optional per-voxel threshold is applied first (``v < threshold -> 0``, see
:func:`apply_threshold`; the evaluation default is ``geometry.threshold_mev``: 15.15 keV for
ds2/ds3, 1 MeV for ds1).  Layers are contiguous voxel ranges, so all per-layer sums are one
``np.add.reduceat`` over the voxel axis, done in blocks of events to bound memory.

Example:
    >>> import numpy as np
    >>> from calolib.showers import Showers
    >>> s = np.zeros((1, 6480)); s[0, 0] = 10.0          # layer 0, first angular bin, innermost ring
    >>> f = compute_features(Showers(np.array([100.0]), s, "ds2"))
    >>> float(f.e_ratio[0]), round(float(f.ec_r[0, 0]), 3), float(f.width_r[0, 0])
    (0.1, 2.325, 0.0)
"""
from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from calolib.errors import CalolibError
from calolib.geometry import Geometry
from calolib.showers import Showers

__all__ = [
    "HighLevelFeatures",
    "compute_features",
    "features_from_file",
    "apply_threshold",
    "total_energy",
    "sparsity",
    "LAYER_FEATURES",
]

#: Names of the per-layer ``(N, L)`` features.
LAYER_FEATURES = ("e_layer", "ec_x", "ec_y", "ec_r", "width_x", "width_y", "width_r", "sparsity_layer")

_BLOCK_VALUES = 2**17  # voxel values per block of events: cache-sized float64 temporaries (~1 MB)


@dataclass(frozen=True, eq=False)
class HighLevelFeatures:
    """High-level features of N showers (energies in MeV, lengths in mm).

    Attributes:
        e_inc, e_total, e_ratio, sparsity: ``(N,)``.
        e_layer, ec_x, ec_y, ec_r, width_x, width_y, width_r, sparsity_layer: ``(N, L)`` with ``L``
            the geometry's number of layers (empty ds1 layers included).
        geometry: the geometry the features were computed on.
        threshold_mev: the per-voxel threshold applied first (``None``: none).
    """

    e_inc: np.ndarray
    e_total: np.ndarray
    e_ratio: np.ndarray
    e_layer: np.ndarray
    ec_x: np.ndarray
    ec_y: np.ndarray
    ec_r: np.ndarray
    width_x: np.ndarray
    width_y: np.ndarray
    width_r: np.ndarray
    sparsity_layer: np.ndarray
    sparsity: np.ndarray
    geometry: Geometry
    threshold_mev: float | None = None

    def __len__(self) -> int:
        return int(self.e_inc.shape[0])

    def layer_feature(self, name: str) -> np.ndarray:
        """The ``(N, L)`` array of a per-layer feature by name (one of :data:`LAYER_FEATURES`).

        Example:
            >>> f = compute_features(Showers(np.ones(2) * 10, np.ones((2, 368)), "ds1-photons"))
            >>> f.layer_feature("e_layer").shape
            (2, 24)
        """
        if name not in LAYER_FEATURES:
            raise CalolibError(f"unknown layer feature {name!r}; choose one of {', '.join(LAYER_FEATURES)}")
        return getattr(self, name)

    def _columns(self) -> list[tuple[str, np.ndarray]]:
        g = self.geometry
        eps = 1e-8
        cols = [("e_ratio", self.e_ratio)]
        for l in g.active_layers:
            cols.append((f"log_e_layer_{l}", np.log10(self.e_layer[:, l] / self.e_inc + eps)))
        for name in ("ec_x", "ec_y", "width_x", "width_y"):
            arr = getattr(self, name)
            for l in g.active_layers:
                # a layer with one angular bin has all voxel centres on y = 0: drop the constant columns
                if name.endswith("_y") and g.layers[l].n_alpha == 1:
                    continue
                cols.append((f"{name}_{l}", arr[:, l]))
        for l in g.active_layers:
            cols.append((f"sparsity_{l}", self.sparsity_layer[:, l]))
        return cols

    @property
    def feature_names(self) -> list[str]:
        """Names of the columns of :meth:`matrix`."""
        return [n for n, _ in self._columns()]

    def matrix(self) -> tuple[np.ndarray, list[str]]:
        """Feature matrix for FPD/KPD-style metrics: ``(X (N, F) float64, names)``.

        Columns: ``e_ratio``; ``log10(e_layer / e_inc + 1e-8)`` per active layer; ``ec_x``,
        ``ec_y``, ``width_x``, ``width_y`` per active layer (``y`` ones skipped for layers with a
        single angular bin, where they are identically 0); ``sparsity`` per active layer.  The set
        depends only on the geometry, so matrices of two samples always have the same columns.

        Example:
            >>> f = compute_features(Showers(np.ones(3) * 10, np.ones((3, 6480)), "ds2"))
            >>> X, names = f.matrix()
            >>> X.shape, names[:2]
            ((3, 271), ['e_ratio', 'log_e_layer_0'])
        """
        cols = self._columns()
        return np.stack([c for _, c in cols], axis=1).astype(np.float64), [n for n, _ in cols]

    def __getitem__(self, idx) -> "HighLevelFeatures":
        """Select events (slice, index array or boolean mask)."""
        arrays = {k: v[idx] for k, v in self.to_dict().items()}
        return HighLevelFeatures(**arrays, geometry=self.geometry, threshold_mev=self.threshold_mev)

    @staticmethod
    def concatenate(parts: "list[HighLevelFeatures]") -> "HighLevelFeatures":
        """Join features of event batches (same geometry and threshold) along the event axis.

        Example:
            >>> f = compute_features(Showers(np.ones(3) * 10, np.ones((3, 368)), "ds1-photons"))
            >>> len(HighLevelFeatures.concatenate([f[:1], f[1:]]))
            3
        """
        if not parts:
            raise CalolibError("nothing to concatenate")
        keys = {(p.geometry.name, p.threshold_mev) for p in parts}
        if len(keys) != 1:
            raise CalolibError(f"cannot concatenate features of different geometries/thresholds: {sorted(keys, key=str)}")
        arrays = {k: np.concatenate([p.to_dict()[k] for p in parts]) for k in parts[0].to_dict()}
        return HighLevelFeatures(**arrays, geometry=parts[0].geometry, threshold_mev=parts[0].threshold_mev)

    def to_dict(self) -> dict[str, np.ndarray]:
        """The feature arrays by name (no geometry)."""
        return {f.name: getattr(self, f.name) for f in fields(self) if isinstance(getattr(self, f.name), np.ndarray)}


def _as_array(showers) -> np.ndarray:
    return showers.showers if isinstance(showers, Showers) else np.asarray(showers)


def apply_threshold(showers, threshold_mev: float | None = None):
    """Zero every voxel below ``threshold_mev`` (CaloChallenge evaluation: ``v < thr -> 0``).

    ``showers`` is a :class:`Showers` (returned as a new Showers; ``threshold_mev=None`` uses
    ``geometry.threshold_mev``) or an ``(N, V)`` array (``threshold_mev`` required).

    Example:
        >>> apply_threshold(np.array([[0.01, 0.02, 0.0]]), 0.015).tolist()
        [[0.0, 0.02, 0.0]]
        >>> s = Showers(np.array([1e3]), np.full((1, 6480), 0.01), "ds2")
        >>> float(apply_threshold(s).showers.sum())
        0.0
    """
    if isinstance(showers, Showers):
        thr = showers.geometry.threshold_mev if threshold_mev is None else float(threshold_mev)
        return Showers(showers.energies, np.where(showers.showers < thr, 0, showers.showers).astype(showers.showers.dtype),
                       showers.geometry)
    if threshold_mev is None:
        raise CalolibError("apply_threshold on a plain array needs threshold_mev (or pass a Showers)")
    arr = np.asarray(showers)
    return np.where(arr < threshold_mev, 0, arr).astype(arr.dtype)


def total_energy(showers) -> np.ndarray:
    """Total deposited energy per event, ``(N,)`` MeV, of a :class:`Showers` or ``(N, V)`` array.

    Example:
        >>> total_energy(np.array([[1.0, 2.0], [0.5, 0.0]])).tolist()
        [3.0, 0.5]
    """
    return _as_array(showers).sum(axis=-1, dtype=np.float64)


def sparsity(showers, threshold_mev: float | None = None) -> np.ndarray:
    """Fraction of empty voxels per event, ``(N,)``; voxels below ``threshold_mev`` count as empty.

    Example:
        >>> sparsity(np.array([[1.0, 0.0, 0.0, 0.01]]), threshold_mev=0.1).tolist()
        [0.75]
    """
    arr = _as_array(showers)
    thr = 0.0 if threshold_mev is None else float(threshold_mev)
    empty = (arr <= 0) | (arr < thr)
    return empty.mean(axis=-1)


def _layer_sums(block: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Sum ``block (N, V)`` over each active layer's contiguous voxel range -> (N, n_active)."""
    return np.add.reduceat(block, starts, axis=1)


def compute_features(showers: Showers, *, threshold_mev: float | None = None) -> HighLevelFeatures:
    """Compute the high-level features of a batch of showers (vectorised over events and layers).

    Args:
        showers: :class:`~calolib.showers.Showers` (energies (N,) MeV, showers (N, V) MeV).
        threshold_mev: zero voxels below this energy first; ``None`` (default) applies none.
            Use ``showers.geometry.threshold_mev`` for the CaloChallenge evaluation convention.

    Returns:
        :class:`HighLevelFeatures`.

    Example:
        >>> s = np.zeros((1, 6480)); s[0, [0, 8 * 9]] = 1.0   # opposite angular bins, same ring
        >>> f = compute_features(Showers(np.array([10.0]), s, "ds2"))
        >>> bool(np.isclose(f.ec_x[0, 0], 0) and np.isclose(f.ec_y[0, 0], 0)), float(f.sparsity_layer[0, 0])
        (True, 0.9861111111111112)
    """
    if not isinstance(showers, Showers):
        raise CalolibError(f"compute_features needs a calolib.showers.Showers, got {type(showers).__name__}")
    g = showers.geometry
    n, L = len(showers), g.n_layers
    active = np.array(g.active_layers, dtype=int)
    slices = g.layer_slices
    starts = np.array([slices[l].start for l in active], dtype=np.intp)
    n_vox_active = np.array([g.layers[l].n_voxels for l in active], dtype=np.intp)
    n_vox_layer = n_vox_active.astype(np.float64)
    coords = {"x": g.voxel_x, "y": g.voxel_y, "r": g.voxel_r}

    out = {k: np.zeros((n, L)) for k in LAYER_FEATURES}
    out["sparsity_layer"][:] = 1.0
    e_total, n_empty = np.zeros(n), np.zeros(n)
    block = max(4, _BLOCK_VALUES // max(g.n_voxels, 1))
    for lo in range(0, n, block):
        hi = min(lo + block, n)
        v = np.asarray(showers.showers[lo:hi], dtype=np.float64)
        if threshold_mev is not None:
            v = np.where(v < threshold_mev, 0.0, v)
        empty = v <= 0
        e_l = _layer_sums(v, starts)  # (b, n_active)
        safe = np.where(e_l > 0, e_l, 1.0)
        has = e_l > 0
        out["e_layer"][lo:hi, active] = e_l
        out["sparsity_layer"][lo:hi, active] = _layer_sums(empty.astype(np.float64), starts) / n_vox_layer
        for c, pos in coords.items():
            m1 = np.where(has, _layer_sums(v * pos, starts) / safe, 0.0)
            # centred second moment (two-pass): <(c - ec)^2> = <c^2> - ec^2 without cancellation
            d = pos - np.repeat(m1, n_vox_active, axis=1)
            var = _layer_sums(v * d * d, starts) / safe
            out[f"ec_{c}"][lo:hi, active] = m1
            out[f"width_{c}"][lo:hi, active] = np.where(has, np.sqrt(np.maximum(var, 0.0)), 0.0)
        e_total[lo:hi] = v.sum(axis=1)
        n_empty[lo:hi] = empty.sum(axis=1)
    e_inc = np.asarray(showers.energies, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        e_ratio = e_total / e_inc
    return HighLevelFeatures(
        e_inc=e_inc, e_total=e_total, e_ratio=e_ratio, sparsity=n_empty / max(g.n_voxels, 1),
        threshold_mev=None if threshold_mev is None else float(threshold_mev), geometry=g, **out,
    )


def features_from_file(path, *, threshold_mev: float | None = None, batch_size: int = 10_000,
                       max_events: int | None = None, start: int = 0, progress: bool = False) -> HighLevelFeatures:
    """High-level features of a shower file (or list of files), streamed in batches.

    Only ``batch_size`` showers are in memory at a time, so 100k ds3 showers (16 GB as float32)
    can be evaluated; the result equals :func:`compute_features` of the loaded file.

    Example:
        >>> import tempfile, pathlib
        >>> from calolib.io import save_showers
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "f.h5"
        >>> save_showers(p, np.full(5, 10.0), np.ones((5, 368)))
        >>> features_from_file(p, batch_size=2).e_total.tolist()
        [368.0, 368.0, 368.0, 368.0, 368.0]
    """
    from tqdm.auto import tqdm

    from calolib.io import iter_showers

    parts = [compute_features(b, threshold_mev=threshold_mev)
             for b in tqdm(iter_showers(path, batch_size, max_events=max_events, start=start),
                           disable=not progress, desc="features", unit="batch")]
    if not parts:
        from calolib.io import load_showers

        return compute_features(load_showers(path, max_events=0), threshold_mev=threshold_mev)
    return parts[0] if len(parts) == 1 else HighLevelFeatures.concatenate(parts)


def __dir__():
    return __all__
