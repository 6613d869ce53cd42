"""Lazy, validated reading of CaloChallenge shower files (see :mod:`calolib.io`)."""
from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path

import h5py
import numpy as np

from calolib.errors import GeometryError, ShowerFileError
from calolib.geometry import Geometry, geometry_for_n_voxels, get_geometry
from calolib.io._common import (ENERGY_KEY, SHOWER_KEY, PathLike, _check_values, _one_line, _raise_problems,
                                _value_problems)
from calolib.io.files import check_input_file

#: what h5py raises on damaged metadata, dangling links and unreadable chunks
_H5_ERRORS = (OSError, RuntimeError, KeyError, ValueError)
from calolib.showers import Showers

__all__ = ["ShowerFile", "iter_showers", "load_showers"]


class ShowerFile:
    """A CaloChallenge HDF5 file opened lazily: structure checked on open, values on read.

    Args:
        path: the ``.h5`` file.
        geometry: a geometry name or :class:`~calolib.geometry.Geometry`; inferred from ``V`` when
            ``None``.  A given geometry whose voxel count differs from the file's is an error.

    Use as a context manager (or call :meth:`close`).  ``len(f)`` is the number of showers.

    Example:
        >>> import tempfile, pathlib, numpy as np
        >>> from calolib.io import save_showers, load_showers
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "f.h5"
        >>> save_showers(path, np.arange(1, 6) * 1e3, np.zeros((5, 533)))
        >>> with ShowerFile(path) as f:
        ...     len(f), f.geometry.name, f.read(1, 3).energies.tolist()
        (5, 'ds1-pions', [2000.0, 3000.0])
    """

    def __init__(self, path: PathLike, *, geometry: str | Geometry | None = None, _inferred_from: str | None = None):
        self.path = Path(path)
        self._inferred_from = _inferred_from
        if not self.path.exists() and not self.path.is_symlink():
            raise ShowerFileError(f"{self.path}: no such file; create it with `calolib data make --out {self.path}` "
                                  "or point to a CaloChallenge .h5 file")
        if self.path.is_dir():
            raise ShowerFileError(f"{self.path}: is a directory, not an HDF5 shower file")
        check_input_file(self.path, "HDF5 shower file")  # FIFOs, devices: refused before opening (no hang)
        try:
            self._h5 = h5py.File(self.path, "r")
        except OSError as exc:
            raise ShowerFileError(_open_error(self.path, exc)) from None
        try:
            self._open_structure(geometry)
        except ShowerFileError:
            self._h5.close()
            raise
        except _H5_ERRORS as exc:
            self._h5.close()
            raise ShowerFileError(f"{self.path}: damaged HDF5 metadata ({_one_line(exc)}); the file is corrupt, "
                                  "re-copy or regenerate it") from None
        except BaseException:
            self._h5.close()
            raise

    def _check_link(self, key: str) -> None:
        link = self._h5.get(key, getlink=True)
        if isinstance(link, (h5py.SoftLink, h5py.ExternalLink)):
            try:
                self._h5[key]
            except _H5_ERRORS:
                target = (f"{link.filename}:{link.path}" if isinstance(link, h5py.ExternalLink) else link.path)
                kind = "external" if isinstance(link, h5py.ExternalLink) else "soft"
                raise ShowerFileError(f"{self.path}: '{key}' is a dangling {kind} link to {target}; "
                                      "copy the data into the file (h5copy) or fix the link") from None

    def _open_structure(self, geometry) -> None:
        h5, path = self._h5, self.path
        for key in (ENERGY_KEY, SHOWER_KEY):
            self._check_link(key)
        missing = [k for k in (ENERGY_KEY, SHOWER_KEY) if k not in h5]
        if missing:
            present = ", ".join(sorted(h5.keys())) or "none"
            raise ShowerFileError(f"{path}: missing dataset(s) {', '.join(repr(k) for k in missing)} "
                                  f"(present: {present}); expected the CaloChallenge layout "
                                  f"'{ENERGY_KEY}' (N, 1) and '{SHOWER_KEY}' (N, V)")
        e_ds, s_ds = h5[ENERGY_KEY], h5[SHOWER_KEY]
        for key, ds in ((ENERGY_KEY, e_ds), (SHOWER_KEY, s_ds)):
            if not isinstance(ds, h5py.Dataset):
                raise ShowerFileError(f"{path}: '{key}' is a group, expected a dataset")
            if ds.dtype.kind not in "fiu":
                raise ShowerFileError(f"{path}: '{key}' has non-numeric dtype {ds.dtype}")
        if not (e_ds.ndim == 1 or (e_ds.ndim == 2 and e_ds.shape[1] == 1)):
            raise ShowerFileError(f"{path}: '{ENERGY_KEY}' has shape {e_ds.shape}, expected (N, 1) or (N,)")
        if s_ds.ndim != 2:
            raise ShowerFileError(f"{path}: '{SHOWER_KEY}' has shape {s_ds.shape}, expected 2-D (N, V)")
        if e_ds.shape[0] != s_ds.shape[0]:
            raise ShowerFileError(f"{path}: mismatched N: {e_ds.shape[0]} incident energies "
                                  f"but {s_ds.shape[0]} showers")
        n_vox = int(s_ds.shape[1])
        if geometry is None:
            try:
                geometry = geometry_for_n_voxels(n_vox)
            except GeometryError as exc:
                raise ShowerFileError(f"{path}: {exc}") from None
        else:
            geometry = get_geometry(geometry)
            if geometry.n_voxels != n_vox:
                if self._inferred_from is not None:
                    raise ShowerFileError(f"{path}: showers have {n_vox} voxels but the first file "
                                          f"{self._inferred_from} is {geometry.name!r} ({geometry.n_voxels} voxels); "
                                          "files read together must share one geometry")
                raise ShowerFileError(f"{path}: showers have {n_vox} voxels but geometry {geometry.name!r} "
                                      f"has {geometry.n_voxels}; drop the geometry argument to infer it")
        self.geometry: Geometry = geometry
        self._e, self._s = e_ds, s_ds

    def __len__(self) -> int:
        return int(self._s.shape[0])

    @property
    def n_voxels(self) -> int:
        return int(self._s.shape[1])

    @property
    def voxel_dtype(self) -> np.dtype:
        """dtype of the ``showers`` dataset as stored (float32 in CaloChallenge files)."""
        return self._s.dtype

    def read(self, start: int = 0, stop: int | None = None, *, validate: bool = True) -> Showers:
        """Read showers ``[start, stop)`` (only those rows are read from disk) as :class:`Showers`.

        Values are checked (finite, voxels >= 0, incident energies > 0) unless ``validate=False``.
        """
        n = len(self)
        stop = n if stop is None else min(int(stop), n)
        start = int(start)
        if start < 0 or start > n:
            raise ShowerFileError(f"{self.path}: start={start} is outside the file's {n} showers")
        stop = max(stop, start)
        try:
            e = np.asarray(self._e[start:stop]).reshape(-1)
            s = np.asarray(self._s[start:stop])
        except _H5_ERRORS as exc:
            raise ShowerFileError(f"{self.path}: failed reading rows {start}-{stop} "
                                  f"(truncated or corrupt file: {_one_line(exc)})") from None
        if validate:
            _check_values(self.path, e, s, offset=start)
        return Showers(e, s, self.geometry)

    def read_rows(self, indices, *, validate: bool = True) -> Showers:
        """Read the showers at ``indices`` (any order, repeats allowed; e.g. a shuffled mini-batch).

        Only the distinct rows are read from disk (h5py needs them increasing; the order asked for
        is restored).

        Example:
            >>> import tempfile, pathlib, numpy as np
            >>> from calolib.io import save_showers
            >>> path = pathlib.Path(tempfile.mkdtemp()) / "r.h5"
            >>> save_showers(path, np.arange(1, 6) * 1e3, np.zeros((5, 368)))
            >>> with ShowerFile(path) as f:
            ...     f.read_rows([4, 0, 4]).energies.tolist()
            [5000.0, 1000.0, 5000.0]
        """
        idx = np.asarray(indices, dtype=np.int64).reshape(-1)
        n = len(self)
        if idx.size and (idx.min() < -n or idx.max() >= n):
            raise ShowerFileError(f"{self.path}: row indices must lie in [-{n}, {n}), got {idx.min()}..{idx.max()}")
        idx = np.where(idx < 0, idx + n, idx)
        uniq, inverse = np.unique(idx, return_inverse=True)
        try:
            e = np.asarray(self._e[uniq]).reshape(-1)[inverse]
            s = np.asarray(self._s[uniq])[inverse] if uniq.size else np.zeros((0, self.n_voxels), self._s.dtype)
        except _H5_ERRORS as exc:
            raise ShowerFileError(f"{self.path}: failed reading rows (truncated or corrupt file: {_one_line(exc)})") from None
        if validate:  # report file row numbers, not positions in the request
            problems = {k: (c, int(idx[r])) for k, (c, r) in _value_problems(e, s).items()}
            _raise_problems(self.path, problems)
        return Showers(e, s, self.geometry)

    def iter_chunks(self, batch_size: int, *, start: int = 0, stop: int | None = None,
                    validate: bool = True) -> Iterator[Showers]:
        """Yield consecutive batches of at most ``batch_size`` showers from ``[start, stop)``."""
        if int(batch_size) < 1:
            raise ShowerFileError(f"batch_size must be >= 1, got {batch_size}")
        stop = len(self) if stop is None else min(int(stop), len(self))
        for lo in range(int(start), stop, int(batch_size)):
            yield self.read(lo, min(lo + int(batch_size), stop), validate=validate)

    def close(self) -> None:
        self._h5.close()

    def __enter__(self) -> "ShowerFile":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"ShowerFile({str(self.path)!r}, n={len(self)}, geometry={self.geometry.name!r})"


def _open_error(path: Path, exc: OSError) -> str:
    """One line for a file h5py cannot open: locked by a writer, unreadable, or not HDF5 at all."""
    text = _one_line(exc)
    if "lock" in text.lower():
        return (f"{path}: the file is open for writing in another process (HDF5 file lock); wait until that "
                "process has finished, or set HDF5_USE_FILE_LOCKING=FALSE if the file is complete")
    if isinstance(exc, PermissionError) or "Permission denied" in text:
        return f"{path}: not readable (permission denied); check its permissions"
    try:
        with open(path, "rb") as fh:
            head = fh.read(4096)
    except OSError:
        head = b""
    if any(head[o:o + 4] == b"\x89HDF" for o in (0, 512, 1024, 2048)):
        return f"{path}: not a readable HDF5 file (truncated or damaged: {text}); re-copy or regenerate it"
    return f"{path}: not a readable HDF5 file (no HDF5 signature: not HDF5 at all); expected a CaloChallenge .h5 file"


def _as_paths(path: PathLike | Sequence[PathLike]) -> list[Path]:
    if isinstance(path, (str, os.PathLike)):
        return [Path(path)]
    paths = [Path(p) for p in path]
    if not paths:
        raise ShowerFileError("no shower files given")
    return paths


def iter_showers(path: PathLike | Sequence[PathLike], batch_size: int = 10_000, *, max_events: int | None = None,
                 start: int = 0, geometry: str | Geometry | None = None,
                 validate: bool = True) -> Iterator[Showers]:
    """Yield batches of at most ``batch_size`` showers from one file or several (in order).

    ``start`` and ``max_events`` count events over the concatenation of the files; only the
    rows yielded are read from disk.

    Example:
        >>> import tempfile, pathlib, numpy as np
        >>> from calolib.io import save_showers, load_showers
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "f.h5"
        >>> save_showers(path, np.full(7, 1e3), np.zeros((7, 368)))
        >>> [len(b) for b in iter_showers(path, batch_size=3)]
        [3, 3, 1]
    """
    if int(start) < 0:
        raise ShowerFileError(f"start must be >= 0, got {start}")
    if max_events is not None and int(max_events) < 0:
        raise ShowerFileError(f"max_events must be >= 0, got {max_events}")
    remaining = None if max_events is None else int(max_events)
    skip = int(start)
    first = None if geometry is not None else ""  # "" -> the geometry is inferred from the first file
    for p in _as_paths(path):
        if remaining == 0:
            return
        with ShowerFile(p, geometry=geometry, _inferred_from=first or None) as f:
            geometry = f.geometry  # every later file must match the first
            if first == "":
                first = str(p)
            if skip >= len(f):
                skip -= len(f)
                continue
            stop = len(f) if remaining is None else min(len(f), skip + remaining)
            for batch in f.iter_chunks(batch_size, start=skip, stop=stop, validate=validate):
                yield batch
            if remaining is not None:
                remaining -= stop - skip
            skip = 0


def load_showers(path: PathLike | Sequence[PathLike], *, geometry: str | Geometry | None = None,
                 max_events: int | None = None, start: int = 0, validate: bool = True) -> Showers:
    """Load showers from a CaloChallenge file (or a list of files, concatenated) into memory.

    Args:
        path: one ``.h5`` path or a list of them (same geometry).
        geometry: name or Geometry; inferred from the voxel count when ``None``.
        max_events: read at most this many events (only those rows are read).
        start: index of the first event (over the concatenated files).

    Returns:
        :class:`~calolib.showers.Showers` with ``energies`` (N,) MeV and ``showers`` (N, V) MeV.

    Raises:
        ShowerFileError: one line naming the file and the problem.

    Example:
        >>> import tempfile, pathlib, numpy as np
        >>> from calolib.io import save_showers, load_showers
        >>> d = pathlib.Path(tempfile.mkdtemp())
        >>> for i in range(2): save_showers(d / f"{i}.h5", np.full(3, 1e3 * (i + 1)), np.zeros((3, 368)))
        >>> load_showers([d / "0.h5", d / "1.h5"], start=2, max_events=2).energies.tolist()
        [1000.0, 2000.0]
    """
    paths = _as_paths(path)
    parts = list(iter_showers(paths, batch_size=2**62, max_events=max_events, start=start,
                              geometry=geometry, validate=validate))
    if not parts:
        total = 0
        for p in paths:
            with ShowerFile(p, geometry=geometry) as f:
                geometry, total = f.geometry, total + len(f)
        if int(start) > total:
            raise ShowerFileError(f"start={start} is beyond the {total} showers in {', '.join(map(str, paths))}")
        return Showers(np.zeros(0), np.zeros((0, geometry.n_voxels), np.float32), geometry)
    return parts[0] if len(parts) == 1 else Showers.concatenate(parts)


def __dir__():
    return __all__
