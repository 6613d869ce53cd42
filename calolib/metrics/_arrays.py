"""Small private helpers shared by :mod:`calolib.metrics` and :mod:`calolib.diagnostics`:
turn torch tensors / lists into numpy arrays and pull voxel arrays out of :class:`~calolib.showers.Showers`.
"""
from __future__ import annotations

import numpy as np

from calolib.errors import CalolibError

__all__ = ["as_numpy", "showers_arrays"]


def as_numpy(x, dtype=np.float64) -> np.ndarray:
    """Return ``x`` (numpy array, torch tensor, list) as a numpy array of ``dtype`` (on the CPU).

    Example:
        >>> as_numpy([1, 2]).dtype
        dtype('float64')
    """
    if hasattr(x, "detach") and hasattr(x, "cpu"):  # torch tensor, without importing torch
        x = x.detach().cpu().numpy()
    return np.asarray(x, dtype=dtype)


def showers_arrays(showers, geometry=None, *, name: str = "showers"):
    """Return ``(energies (N,) or None, voxels (N, V) MeV, geometry)`` from a Showers or a plain array.

    Raises:
        CalolibError: for a plain array without a geometry or a non-2-D array.

    Example:
        >>> e, v, g = showers_arrays(np.zeros((3, 368)), "ds1-photons")
        >>> e is None, v.shape, g.name
        (True, (3, 368), 'ds1-photons')
    """
    from calolib.geometry import get_geometry
    from calolib.showers import Showers

    if isinstance(showers, Showers):
        geom = showers.geometry if geometry is None else get_geometry(geometry)
        return np.asarray(showers.energies, np.float64), np.asarray(showers.showers, np.float64), geom
    v = as_numpy(showers)
    if v.ndim != 2:
        raise CalolibError(f"{name} must be a Showers or a 2-D (N, V) array, got shape {v.shape}")
    if geometry is None:
        from calolib.geometry import geometry_for_n_voxels

        geom = geometry_for_n_voxels(v.shape[1])
    else:
        geom = get_geometry(geometry)
    if geom.n_voxels != v.shape[1]:
        raise CalolibError(f"{name} have {v.shape[1]} voxels but geometry {geom.name!r} has {geom.n_voxels}")
    return None, v, geom
