"""Atomic, chunked writing of CaloChallenge shower files (see :mod:`calolib.io`).

A full disk is the dangerous case: when an HDF5 write fails with ENOSPC, closing the file can crash the
process (a segfault at exit) and leave the temporary behind.  So every batch is checked against the free
space (its uncompressed size, an upper bound of what gzip writes, plus a margin) *before* HDF5 sees it,
and should a write fail anyway the temporary is truncated first (which frees its space, so HDF5 can close
its handle) and then removed.  Batches are written in pieces of at most ``_WRITE_BYTES``, so the space
check never asks for much more than a piece needs.
"""
from __future__ import annotations

import os
from pathlib import Path

import h5py
import numpy as np

from calolib.errors import GeometryError, OutputError, ShowerFileError
from calolib.geometry import Geometry, geometry_for_n_voxels, get_geometry
from calolib.io._common import ENERGY_KEY, SHOWER_KEY, PathLike, _check_values
from calolib.io.files import check_output_file, ensure_space, os_error_message, remove_stale_temps, temp_path
from calolib.showers import Showers

_WRITE_BYTES = 64 * 2**20  # uncompressed bytes per HDF5 write
#: HDF5 handles whose close failed after a failed write; HDF5 may crash when they are freed, so they are kept
#: alive, and the CLI leaves with ``os._exit`` when this list is not empty (the temporaries are already gone)
UNCLOSABLE: list = []

__all__ = ["ShowerWriter", "save_showers"]


class ShowerWriter:
    """Append batches of showers to a new CaloChallenge file (resizable gzip datasets).

    Data go to a temporary file next to ``path``; on a clean exit from the ``with`` block it is
    renamed to ``path``; on an exception (a full disk, a signal) it is deleted.  An existing ``path`` is
    replaced only with ``overwrite=True`` (the default of the Python API; the CLI passes ``--force``).

    Args:
        path: target ``.h5`` file (parent directories are created).
        geometry: geometry name or Geometry (fixes ``V``).
        compression: h5py compression filter (``"gzip"`` as in the CaloChallenge files, or ``None``).
        dtype: voxel dtype; default: that of the first batch (float32 for integer input).
        attrs: extra root attributes (provenance); the two datasets stay exactly CaloChallenge.
        overwrite: replace an existing ``path`` (else :class:`~calolib.errors.OutputError`).

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
                 dtype=None, attrs: dict | None = None, validate: bool = True, overwrite: bool = True):
        self.path = Path(path)
        self.geometry = get_geometry(geometry)
        self.compression, self.dtype, self.attrs, self.validate = compression, dtype, dict(attrs or {}), validate
        self.overwrite = bool(overwrite)
        self.tmp_path = temp_path(self.path)
        self.n = 0
        self._h5: h5py.File | None = None

    def __enter__(self) -> "ShowerWriter":
        if self.path.is_dir():
            raise ShowerFileError(f"{self.path}: is a directory; give a file name ending in .h5")
        check_output_file(self.path, force=self.overwrite, what="shower file")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            remove_stale_temps(self.path.parent, name=self.path.name, min_age_s=60.0)
            ensure_space(self.tmp_path, 0, what=str(self.path))
            self._h5 = h5py.File(self.tmp_path, "w")
        except OSError as exc:
            raise OutputError(os_error_message(exc, self.path)) from None
        try:
            for k, v in self.attrs.items():
                self._h5.attrs[k] = v
        except BaseException:
            self._abort()
            raise
        return self

    def _abort(self, *datasets) -> None:
        """Drop the temporary after a failure: truncate it (frees its blocks, so HDF5 can flush and close
        its handle even on a full disk), close, unlink.  Handles that cannot be closed are kept alive
        (:data:`UNCLOSABLE`): freeing them can crash HDF5."""
        h5, self._h5 = self._h5, None
        try:
            os.truncate(self.tmp_path, 0)
        except OSError:
            pass
        if h5 is not None:
            try:
                h5.close()
            except Exception:  # noqa: BLE001 - the file is being discarded
                UNCLOSABLE.extend([h5, *(d for d in datasets if d is not None)])
        self.tmp_path.unlink(missing_ok=True)

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
        e_ds = s_ds = None
        try:
            if SHOWER_KEY not in self._h5:
                s_dtype = self.dtype or (s.dtype if s.dtype.kind == "f" else np.float32)
                e_dtype = e.dtype if e.dtype.kind == "f" else np.float64
                self._create(self._h5, e_dtype, s_dtype)
            e_ds, s_ds = self._h5[ENERGY_KEY], self._h5[SHOWER_KEY]
            row_bytes = s_ds.dtype.itemsize * s.shape[1] + e_ds.dtype.itemsize
            step = max(1, _WRITE_BYTES // row_bytes)
            for lo in range(0, e.shape[0], step):
                hi = min(lo + step, e.shape[0])
                size = self.tmp_path.stat().st_size
                ensure_space(self.tmp_path, (hi - lo) * row_bytes, current_size=size, what=str(self.path))
                n_new = self.n + hi - lo
                e_ds.resize(n_new, axis=0)
                s_ds.resize(n_new, axis=0)
                e_ds[self.n:n_new, 0] = e[lo:hi]
                s_ds[self.n:n_new] = s[lo:hi]
                self.n = n_new
        except OSError as exc:  # a full disk the check could not foresee (another writer)
            self._abort(e_ds, s_ds)
            raise OutputError(os_error_message(exc, self.path)) from None
        except BaseException:
            self._abort(e_ds, s_ds)
            raise

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            self._abort()
            return
        h5, self._h5 = self._h5, None
        if h5 is None:
            self.tmp_path.unlink(missing_ok=True)
            return
        try:
            if SHOWER_KEY not in h5:  # nothing written: an empty, valid file
                self._create(h5, np.float64, self.dtype or np.float32)
            h5.close()
            if not self.overwrite and self.path.exists():  # appeared while we wrote
                raise OutputError(f"{self.path} appeared while it was being written; "
                                  f"pass --force to replace it, or choose another output path")
            os.replace(self.tmp_path, self.path)
        except OSError as exc:
            self._h5 = h5
            self._abort()
            raise OutputError(os_error_message(exc, self.path)) from None
        except BaseException:
            self._h5 = h5
            self._abort()
            raise


def save_showers(path: PathLike, energies, showers=None, *, compression: str | None = "gzip",
                 geometry: str | Geometry | None = None, attrs: dict | None = None, overwrite: bool = True) -> None:
    """Write showers to ``path`` in the exact CaloChallenge layout (atomically, gzip by default).

    Args:
        energies: incident energies (N,) MeV, or a :class:`Showers` (then ``showers`` is omitted).
        showers: voxel energies (N, V) MeV; the dtype is kept (float32 in CaloChallenge files).
        geometry: inferred from ``V`` when ``None``.
        overwrite: replace an existing file (``False``: :class:`~calolib.errors.OutputError` instead).

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
                      attrs=attrs, overwrite=overwrite) as w:
        w.write(energies, s)


def __dir__():
    return __all__
