"""Whole-file validation and summary of a shower file, chunk by chunk (see :mod:`calolib.io`)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from calolib.geometry import Geometry
from calolib.io._common import PathLike, _merge_problems, _raise_problems, _rows_per_chunk, _value_problems
from calolib.io.reader import ShowerFile

__all__ = ["check_showers", "format_summary", "plausibility_warnings"]

#: mean E_dep/E_inc above this cannot come from a calorimeter (CaloChallenge: ~0.5-1); likely E_inc in GeV
MAX_E_RATIO = 1.5
#: ... and below this (but > 0) the voxel energies are likely in GeV while E_inc is in MeV
MIN_E_RATIO = 1e-3
#: lowest incident energy of the CaloChallenge datasets, MeV (ds1: 256 MeV, ds2/ds3: 1 GeV): a file whose
#: largest E_inc is below it is probably in GeV; above 100 TeV, probably in keV
E_INC_MIN_MEV = {"ds1-photons": 256.0, "ds1-pions": 256.0, "ds2": 1e3, "ds3": 1e3}
E_INC_MAX_PLAUSIBLE_MEV = 1e8


def plausibility_warnings(e_min: float | None, e_max: float | None, mean_e_ratio: float | None,
                          geometry: str | None = None) -> list[str]:
    """Warnings (one line each) for a file whose values are valid but look like the wrong units.

    ``geometry`` sets the dataset's lowest nominal incident energy (:data:`E_INC_MIN_MEV`, default 256 MeV).

    Example:
        >>> plausibility_warnings(1.0, 1000.0, 696.0)[0][:44]
        'mean E_dep/E_inc is 696, above 1.5: showers '
        >>> plausibility_warnings(1e3, 1e6, 0.56)
        []
    """
    out = []
    if mean_e_ratio is not None and np.isfinite(mean_e_ratio):
        if mean_e_ratio > MAX_E_RATIO:
            out.append(f"mean E_dep/E_inc is {mean_e_ratio:.3g}, above {MAX_E_RATIO}: showers deposit more than the "
                       "incident energy; is E_inc in GeV? CaloChallenge files are in MeV")
        elif 0 < mean_e_ratio < MIN_E_RATIO:
            out.append(f"mean E_dep/E_inc is {mean_e_ratio:.3g}, below {MIN_E_RATIO}: are the voxel energies in GeV? "
                       "CaloChallenge files are in MeV")
    lo, hi = E_INC_MIN_MEV.get(str(geometry), 256.0), E_INC_MAX_PLAUSIBLE_MEV
    if e_max is not None and np.isfinite(e_max) and e_max < lo:
        out.append(f"the largest incident energy is {e_max:.4g} MeV, below the {lo:g} MeV where the "
                   f"{geometry or 'CaloChallenge'} data start: is E_inc in GeV? CaloChallenge files are in MeV")
    if e_min is not None and np.isfinite(e_min) and e_min > hi:
        out.append(f"the smallest incident energy is {e_min:.4g} MeV, above {hi:g} MeV: is E_inc in keV? "
                   "CaloChallenge files are in MeV")
    return out


def check_showers(path: PathLike, *, geometry: str | Geometry | None = None,
                  batch_size: int | None = None) -> dict:
    """Validate a whole file chunk by chunk and summarise it.

    Returns a JSON-able dict: ``path``, ``n_events``, ``geometry``, ``n_voxels``,
    ``e_inc_min_mev``/``e_inc_max_mev``, ``mean_sparsity`` (mean fraction of voxels below the
    geometry's evaluation threshold ``sparsity_threshold_mev``), ``mean_e_ratio`` (mean of
    total deposited energy / E_inc), ``file_size_bytes`` and ``warnings`` (see
    :func:`plausibility_warnings`).  The statistics of a file without events are ``None``.

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
    ratio = sum_ratio / n if n else None
    return {
        "path": str(path),
        "n_events": n,
        "geometry": g.name,
        "n_voxels": g.n_voxels,
        "e_inc_min_mev": e_min if n else None,
        "e_inc_max_mev": e_max if n else None,
        "mean_sparsity": sum_sparsity / n if n else None,
        "sparsity_threshold_mev": thr,
        "mean_e_ratio": ratio,
        "file_size_bytes": Path(path).stat().st_size,
        "warnings": plausibility_warnings(e_min if n else None, e_max if n else None, ratio, g.name)
        + ([] if n else ["the file holds no showers"]),
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
    ]
    if not summary["n_events"] or summary.get("e_inc_min_mev") is None:
        lines.append("E_inc range:   - (no events)")
        return "\n".join(lines)
    lines += [
        f"E_inc range:   {summary['e_inc_min_mev']:.4g} - {summary['e_inc_max_mev']:.4g} MeV",
        f"mean sparsity: {summary['mean_sparsity']:.4f} (fraction of voxels < "
        f"{summary['sparsity_threshold_mev'] * 1e3:.4g} keV)",
        f"E_dep / E_inc: {summary['mean_e_ratio']:.4f} (mean)",
    ]
    return "\n".join(lines)


def __dir__():
    return __all__
