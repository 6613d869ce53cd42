"""Read and write shower files in the CaloChallenge HDF5 layout, lazily and with validation.

A CaloChallenge file holds two datasets: ``incident_energies`` of shape ``(N, 1)`` (``(N,)`` is
accepted on reading) and ``showers`` of shape ``(N, V)``, both in MeV.  The geometry is inferred
from ``V`` (368 ds1-photons, 533 ds1-pions, 6480 ds2, 40500 ds3) or given explicitly.

Files can be larger than memory (ds3 files are several GB), so everything here works on row
slices through h5py: :class:`ShowerFile` opens a file and checks its *structure* (keys, shapes,
geometry) without reading data; :meth:`ShowerFile.read` reads one slice and checks its *values*
(finite, voxel energies >= 0, incident energies > 0); :func:`iter_showers` yields batches and
:func:`check_showers` validates a whole file chunk by chunk.  Every problem raises
:class:`~calolib.errors.ShowerFileError` (a ``ValueError``) with one line naming the file and
the problem.

Writing goes through :class:`ShowerWriter`, which appends batches to resizable gzip datasets in
a temporary file next to the target and renames it into place only on success, so an
interrupted write never leaves a half file behind.

Example:
    >>> import tempfile, pathlib, numpy as np
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "tiny.h5"
    >>> save_showers(path, np.array([1e3, 2e3]), np.ones((2, 368), np.float32))
    >>> s = load_showers(path)
    >>> len(s), s.geometry.name, float(s.showers.sum())
    (2, 'ds1-photons', 736.0)

Modules: :mod:`~calolib.io.reader` (ShowerFile, load/iter), :mod:`~calolib.io.writer` (ShowerWriter,
save), :mod:`~calolib.io.check` (whole-file check, summary, plausibility), :mod:`~calolib.io.files`
(input/output checks, atomic writes, free space, stale temporaries).
"""
from __future__ import annotations

from calolib.errors import ShowerFileError
from calolib.io._common import ENERGY_KEY, SHOWER_KEY
from calolib.io.check import check_showers, format_summary, plausibility_warnings
from calolib.io.reader import ShowerFile, iter_showers, load_showers
from calolib.io.writer import ShowerWriter, save_showers

__all__ = [
    "ShowerFileError",
    "ShowerFile",
    "ShowerWriter",
    "load_showers",
    "save_showers",
    "iter_showers",
    "check_showers",
    "format_summary",
    "plausibility_warnings",
    "ENERGY_KEY",
    "SHOWER_KEY",
]


def __dir__():
    return __all__
