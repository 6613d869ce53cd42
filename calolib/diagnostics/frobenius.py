"""Frobenius correlation distance between model and reference showers (seed 004).

Layers are grouped (default: ds2/ds3 5 groups of 9 consecutive layers; ds1 one group per active layer),
the energy of each group is summed per event, and the Pearson correlation matrix over events
(``np.corrcoef``) of those G group energies is formed for each sample. The distance is

    d_F = ‖C_a − C_b‖_F = sqrt(Σ_ij (C_a − C_b)²_ij),

symmetric and 0 for identical inputs. ``level="voxel"`` instead correlates the individual voxels of the
layers of one group (``group=k``), a (V_k, V_k) matrix. A column that is constant over events (e.g. a
voxel that is always empty) has no defined correlation: its off-diagonal entries are set to 0 and its
diagonal to 1, in both samples alike.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from calolib.errors import CalolibError
from calolib.reference import pearson_matrix
from calolib.metrics._arrays import showers_arrays

__all__ = ["layer_groups", "group_energies", "correlation_matrix", "frobenius_distance"]


def __dir__():
    return __all__


def layer_groups(geometry, groups: int | Sequence[Sequence[int]] | None = None) -> list[list[int]]:
    """Layer indices of each group.

    ``None``: 5 groups of consecutive layers for ds2/ds3 (9 each), one group per active layer for ds1;
    an int ``G``: the active layers split into G consecutive nearly equal groups; a sequence: used as is.

    Example:
        >>> [g[0] for g in layer_groups("ds2")], len(layer_groups("ds1-photons"))
        ([0, 9, 18, 27, 36], 5)
    """
    from calolib.geometry import get_geometry

    geom = get_geometry(geometry)
    active = list(geom.active_layers)
    if groups is None:
        groups = 5 if geom.is_regular else len(active)
    if isinstance(groups, (int, np.integer)):
        if not 1 <= groups <= len(active):
            raise CalolibError(f"groups must be between 1 and {len(active)} for {geom.name}, got {groups}")
        return [list(map(int, c)) for c in np.array_split(np.array(active), int(groups))]
    out = [[int(l) for l in g] for g in groups]
    bad = [l for g in out for l in g if not 0 <= l < geom.n_layers]
    if not out or any(len(g) == 0 for g in out) or bad:
        raise CalolibError(f"layer groups must be non-empty lists of layer indices 0..{geom.n_layers - 1}")
    return out


def group_energies(showers, geometry=None, *, groups=None) -> np.ndarray:
    """Energy per layer group, (N, G) MeV.

    Example:
        >>> s = np.ones((2, 6480))
        >>> group_energies(s, "ds2", groups=[[0], [1, 2]])[0].tolist()  # 144 voxels per layer
        [144.0, 288.0]
    """
    _, v, geom = showers_arrays(showers, geometry)
    layer_e = geom.layer_energies(v)
    return np.stack([layer_e[:, g].sum(axis=1) for g in layer_groups(geom, groups)], axis=1)


def _corr(x: np.ndarray) -> np.ndarray:
    if x.shape[0] < 2:
        raise CalolibError("correlation needs at least 2 events")
    return pearson_matrix(x)


def correlation_matrix(showers, geometry=None, *, groups=None, level: str = "layer", group: int = 0) -> np.ndarray:
    """Correlation matrix over events of grouped-layer energies (G, G), or of the voxels of one group.

    Args:
        showers: :class:`~calolib.showers.Showers` or an (N, V) array in MeV (then give ``geometry``).
        groups: layer grouping (see :func:`layer_groups`).
        level: ``"layer"`` (group energies) or ``"voxel"`` (voxels of the layers in group ``group``).

    Example:
        >>> rng = np.random.default_rng(0)
        >>> s = np.repeat(rng.exponential(size=(50, 1)), 6480, axis=1)  # every voxel moves together
        >>> bool(np.allclose(correlation_matrix(s, "ds2"), 1.0))
        True
    """
    _, v, geom = showers_arrays(showers, geometry)
    if level == "layer":
        return _corr(group_energies(v, geom, groups=groups))
    if level == "voxel":
        gl = layer_groups(geom, groups)
        if not 0 <= group < len(gl):
            raise CalolibError(f"group must be in 0..{len(gl) - 1}, got {group}")
        return _corr(v[:, np.isin(geom.voxel_layer, gl[group])])
    raise CalolibError(f"level must be 'layer' or 'voxel', got {level!r}")


def frobenius_distance(showers_a, showers_b, geometry=None, *, groups=None, level: str = "layer",
                       group: int = 0) -> float:
    """‖C_a − C_b‖_F of the grouped-layer energy correlation matrices of two shower samples.

    Args:
        showers_a, showers_b: :class:`~calolib.showers.Showers` or (N, V) arrays in MeV.
        geometry: geometry name/object (needed only to override or for arrays of ambiguous size).
        groups, level, group: see :func:`correlation_matrix`.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> a = rng.exponential(size=(200, 368))
        >>> frobenius_distance(a, a, "ds1-photons"), frobenius_distance(a, a[::-1] ** 2, "ds1-photons") > 0
        (0.0, True)
    """
    _, va, ga = showers_arrays(showers_a, geometry, name="showers_a")
    _, vb, gb = showers_arrays(showers_b, geometry, name="showers_b")
    if ga.name != gb.name:
        raise CalolibError(f"the two samples have different geometries ({ga.name} vs {gb.name})")
    ca = correlation_matrix(va, ga, groups=groups, level=level, group=group)
    cb = correlation_matrix(vb, gb, groups=groups, level=level, group=group)
    if ca.shape != cb.shape:
        raise CalolibError(f"correlation matrices differ in shape {ca.shape} vs {cb.shape}; use the same geometry")
    return float(np.linalg.norm(ca - cb, ord="fro"))
