"""Whole-file validation and summary of a shower file, chunk by chunk (see :mod:`calolib.io`)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from calolib.geometry import Geometry
from calolib.io._common import PathLike, _merge_problems, _raise_problems, _rows_per_chunk, _value_problems
from calolib.io.reader import ShowerFile

__all__ = ["check_showers", "format_summary"]


def check_showers(path: PathLike, *, geometry: str | Geometry | None = None,
                  batch_size: int | None = None) -> dict:
    """Validate a whole file chunk by chunk and summarise it.

    Returns a JSON-able dict: ``path``, ``n_events``, ``geometry``, ``n_voxels``,
    ``e_inc_min_mev``/``e_inc_max_mev``, ``mean_sparsity`` (mean fraction of voxels below the
    geometry's evaluation threshold ``sparsity_threshold_mev``), ``mean_e_ratio`` (mean of
    total deposited energy / E_inc), ``file_size_bytes``.

    Raises:
        ShowerFileError: structural problems at once; value problems after the whole file was
            scanned, with the number of bad rows and the first one.

    Example:
        >>> import tempfile, pathlib, numpy as np
        >>> from calolib.io import save_showers, load_showers
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "c.h5"
        >>> save_showers(path, np.array([1e3, 4e3]), np.full((2, 368), 2.0))
        >>> d = check_showers(path)
        >>> d["n_events"], d["e_inc_max_mev"], round(d["mean_e_ratio"], 3), d["mean_sparsity"]
        (2, 4000.0, 0.46, 0.0)
    """
    with ShowerFile(path, geometry=geometry) as f:
        g = f.geometry
        thr = g.threshold_mev
        bs = batch_size or _rows_per_chunk(g.n_voxels)
        n, e_min, e_max, sum_sparsity, sum_ratio = 0, np.inf, -np.inf, 0.0, 0.0
        problems: dict[str, tuple[int, int]] = {}
        for b in f.iter_chunks(bs, validate=False):
            e, s = b.energies, b.showers
            _merge_problems(problems, _value_problems(e, s, offset=n))
            n += len(b)
            if problems:  # keep counting bad rows over the whole file, skip the statistics
                continue
            e_min, e_max = min(e_min, float(e.min())), max(e_max, float(e.max()))
            sum_sparsity += float((s < thr).mean(axis=1).sum())
            sum_ratio += float((s.sum(axis=1, dtype=np.float64) / e).sum())
    _raise_problems(path, problems)
    return {
        "path": str(path),
        "n_events": n,
        "geometry": g.name,
        "n_voxels": g.n_voxels,
        "e_inc_min_mev": e_min if n else float("nan"),
        "e_inc_max_mev": e_max if n else float("nan"),
        "mean_sparsity": sum_sparsity / n if n else float("nan"),
        "sparsity_threshold_mev": thr,
        "mean_e_ratio": sum_ratio / n if n else float("nan"),
        "file_size_bytes": Path(path).stat().st_size,
    }


def format_summary(summary: dict) -> str:
    """Human-readable multi-line text of a :func:`check_showers` summary.

    Example:
        >>> print(format_summary({"path": "a.h5", "n_events": 2, "geometry": "ds2", "n_voxels": 6480,
        ...     "e_inc_min_mev": 1e3, "e_inc_max_mev": 1e6, "mean_sparsity": 0.5, "sparsity_threshold_mev": 0.01515,
        ...     "mean_e_ratio": 0.9, "file_size_bytes": 2048}).splitlines()[1])
        events:        2
    """
    size = summary["file_size_bytes"]
    unit = next((u for u, f in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)) if size >= f), "B")
    scale = {"GB": 1e9, "MB": 1e6, "kB": 1e3, "B": 1}[unit]
    lines = [
        f"file:          {summary['path']} ({size / scale:.1f} {unit})",
        f"events:        {summary['n_events']}",
        f"geometry:      {summary['geometry']} ({summary['n_voxels']} voxels)",
        f"E_inc range:   {summary['e_inc_min_mev']:.4g} - {summary['e_inc_max_mev']:.4g} MeV",
        f"mean sparsity: {summary['mean_sparsity']:.4f} (fraction of voxels < "
        f"{summary['sparsity_threshold_mev'] * 1e3:.4g} keV)",
        f"E_dep / E_inc: {summary['mean_e_ratio']:.4f} (mean)",
    ]
    return "\n".join(lines)


def __dir__():
    return __all__
