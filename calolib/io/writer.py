"""Atomic, chunked writing of CaloChallenge shower files (see :mod:`calolib.io`)."""
from __future__ import annotations

import os
from pathlib import Path

import h5py
import numpy as np

from calolib.errors import GeometryError, ShowerFileError
from calolib.geometry import Geometry, geometry_for_n_voxels, get_geometry
from calolib.io._common import ENERGY_KEY, SHOWER_KEY, PathLike, _check_values, _one_line
from calolib.showers import Showers

__all__ = ["ShowerWriter", "save_showers"]


class ShowerWriter:
    """Append batches of showers to a new CaloChallenge file (resizable gzip datasets).

    Data go to a temporary file next to ``path``; on a clean exit from the ``with`` block it is
    renamed to ``path`` (replacing any old file); on an exception it is deleted.

    Args:
        path: target ``.h5`` file (parent directories are created).
        geometry: geometry name or Geometry (fixes ``V``).
        compression: h5py compression filter (``"gzip"`` as in the CaloChallenge files, or ``None``).
        dtype: voxel dtype; default: that of the first batch (float32 for integer input).
        attrs: extra root attributes (provenance); the two datasets stay exactly CaloChallenge.

    Example:
        >>> import tempfile, pathlib, numpy as np
        >>> from calolib.io import save_showers, load_showers
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "w.h5"
        >>> with ShowerWriter(path, "ds1-photons") as w:
        ...     w.write(np.full(2, 1e3), np.zeros((2, 368)))
        ...     w.write(np.full(3, 2e3), np.zeros((3, 368)))
        >>> len(load_showers(path))
        5
    """

    def __init__(self, path: PathLike, geometry: str | Geometry, *, compression: str | None = "gzip",
                 dtype=None, attrs: dict | None = None, validate: bool = True):
        self.path = Path(path)
        self.geometry = get_geometry(geometry)
        self.compression, self.dtype, self.attrs, self.validate = compression, dtype, dict(attrs or {}), validate
        self.tmp_path = self.path.with_name(f".{self.path.name}.tmp-{os.getpid()}")
        self.n = 0
        self._h5: h5py.File | None = None

    def __enter__(self) -> "ShowerWriter":
        if self.path.is_dir():
            raise ShowerFileError(f"{self.path}: is a directory; give a file name ending in .h5")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._h5 = h5py.File(self.tmp_path, "w")
        except OSError as exc:
            raise ShowerFileError(f"{self.path}: cannot write here ({_one_line(exc)})") from None
        for k, v in self.attrs.items():
            self._h5.attrs[k] = v
        return self

    def _create(self, h5: h5py.File, e_dtype, s_dtype) -> None:
        v = self.geometry.n_voxels
        rows = max(1, min(1024, 2**18 // v))  # ~1 MB float32 chunks
        kw = {"compression": self.compression} if self.compression else {}
        h5.create_dataset(ENERGY_KEY, shape=(0, 1), maxshape=(None, 1), dtype=e_dtype, chunks=(1024, 1), **kw)
        h5.create_dataset(SHOWER_KEY, shape=(0, v), maxshape=(None, v), dtype=s_dtype, chunks=(rows, v), **kw)

    def write(self, energies, showers=None) -> None:
        """Append ``energies`` (N,) MeV and ``showers`` (N, V) MeV, or one :class:`Showers`."""
        if self._h5 is None:
            raise ShowerFileError(f"{self.path}: ShowerWriter.write called outside its `with` block")
        if isinstance(energies, Showers):
            energies, showers = energies.energies, energies.showers
        e = np.asarray(energies).reshape(-1)
        s = np.asarray(showers)
        if s.ndim != 2 or s.shape[1] != self.geometry.n_voxels or s.shape[0] != e.shape[0]:
            raise ShowerFileError(f"{self.path}: cannot write showers of shape {s.shape} with {e.shape[0]} energies "
                                  f"to a {self.geometry.name} file (V={self.geometry.n_voxels})")
        if self.validate:
            _check_values(self.path, e, s, offset=self.n)
        if SHOWER_KEY not in self._h5:
            s_dtype = self.dtype or (s.dtype if s.dtype.kind == "f" else np.float32)
            e_dtype = e.dtype if e.dtype.kind == "f" else np.float64
            self._create(self._h5, e_dtype, s_dtype)
        e_ds, s_ds = self._h5[ENERGY_KEY], self._h5[SHOWER_KEY]
        n_new = self.n + e.shape[0]
        e_ds.resize(n_new, axis=0)
        s_ds.resize(n_new, axis=0)
        e_ds[self.n:n_new, 0] = e
        s_ds[self.n:n_new] = s
        self.n = n_new

    def __exit__(self, exc_type, exc, tb) -> None:
        h5, self._h5 = self._h5, None
        if h5 is not None:
            if exc_type is None and SHOWER_KEY not in h5:  # nothing written: an empty, valid file
                self._create(h5, np.float64, self.dtype or np.float32)
            h5.close()
        if exc_type is None:
            os.replace(self.tmp_path, self.path)
        else:
            self.tmp_path.unlink(missing_ok=True)


def save_showers(path: PathLike, energies, showers=None, *, compression: str | None = "gzip",
                 geometry: str | Geometry | None = None, attrs: dict | None = None) -> None:
    """Write showers to ``path`` in the exact CaloChallenge layout (atomically, gzip by default).

    Args:
        energies: incident energies (N,) MeV, or a :class:`Showers` (then ``showers`` is omitted).
        showers: voxel energies (N, V) MeV; the dtype is kept (float32 in CaloChallenge files).
        geometry: inferred from ``V`` when ``None``.

    Example:
        >>> import tempfile, pathlib, numpy as np, h5py
        >>> from calolib.io import save_showers, load_showers
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "s.h5"
        >>> save_showers(path, np.array([5e3]), np.zeros((1, 6480), np.float32))
        >>> with h5py.File(path) as f: f["incident_energies"].shape, f["showers"].shape
        ((1, 1), (1, 6480))
    """
    if isinstance(energies, Showers):
        geometry = geometry or energies.geometry
        energies, showers = energies.energies, energies.showers
    s = np.asarray(showers)
    if s.ndim != 2:
        raise ShowerFileError(f"{path}: showers must be 2-D (N, V), got shape {s.shape}")
    if geometry is None:
        try:
            geometry = geometry_for_n_voxels(s.shape[1])
        except GeometryError as exc:
            raise ShowerFileError(f"{path}: {exc}") from None
    with ShowerWriter(path, geometry, compression=compression, dtype=s.dtype if s.dtype.kind == "f" else None,
                      attrs=attrs) as w:
        w.write(energies, s)


def __dir__():
    return __all__
