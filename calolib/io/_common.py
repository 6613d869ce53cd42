"""Shared pieces of :mod:`calolib.io`: dataset names and chunked value validation."""
from __future__ import annotations

import os

import numpy as np

from calolib.errors import ShowerFileError

__all__ = ["ENERGY_KEY", "SHOWER_KEY", "PathLike"]

ENERGY_KEY = "incident_energies"
SHOWER_KEY = "showers"
PathLike = str | os.PathLike

#: Rows per read when scanning a whole file (~2**23 voxel values, 32 MB in float32).
_SCAN_VALUES = 2**23


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def _rows_per_chunk(n_voxels: int, budget: int = _SCAN_VALUES) -> int:
    return max(1, budget // max(n_voxels, 1))


_PROBLEMS = (  # (kind, message template), checked in this order
    ("e_nonfinite", "{n} incident energ{ies} NaN/inf (first at row {row})"),
    ("e_nonpositive", "{n} incident energ{ies} <= 0 MeV (first at row {row}); they must be positive"),
    ("s_nonfinite", "{n} shower{s} contain{v} NaN/inf voxel energies (first at row {row})"),
    ("s_negative", "{n} shower{s} contain{v} negative voxel energies (first at row {row}); energies must be >= 0 MeV"),
)


def _value_problems(energies: np.ndarray, showers: np.ndarray, offset: int = 0) -> dict[str, tuple[int, int]]:
    """Count bad rows in a block: kind -> (number of rows, first row index + offset)."""
    masks = {
        "e_nonfinite": ~np.isfinite(energies),
        "e_nonpositive": np.isfinite(energies) & (energies <= 0),
        "s_nonfinite": (~np.isfinite(showers)).any(axis=1),
        "s_negative": (showers < 0).any(axis=1),
    }
    return {k: (int(m.sum()), offset + int(np.argmax(m))) for k, m in masks.items() if m.any()}


def _merge_problems(total: dict, new: dict) -> None:
    for k, (n, row) in new.items():
        n0, row0 = total.get(k, (0, row))
        total[k] = (n0 + n, min(row0, row))


def _raise_problems(path: PathLike, problems: dict[str, tuple[int, int]]) -> None:
    for kind, template in _PROBLEMS:
        if kind in problems:
            n, row = problems[kind]
            one = n == 1
            msg = template.format(n=n, row=row, ies="y is" if one else "ies are", s="" if one else "s",
                                  v="s" if one else "")
            raise ShowerFileError(f"{path}: {msg}")


def _check_values(path: PathLike, energies: np.ndarray, showers: np.ndarray, offset: int = 0) -> None:
    """Raise ShowerFileError if a block of rows has non-finite, negative or non-positive values."""
    _raise_problems(path, _value_problems(energies, showers, offset))


def __dir__():
    return __all__
