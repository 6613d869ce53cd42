"""Loss history on disk: one row per epoch with every loss term (train and validation), the
learning rate, KL weight, relaxation beta and wall time, written as ``history.csv`` and
``history.json`` in the run directory after every epoch (seed 001 asks for saved loss data).

Both files are rewritten atomically, so a crash never leaves half a row.

Example:
    >>> import tempfile
    >>> d = tempfile.mkdtemp()
    >>> write_history(d, [{"epoch": 1, "train_ae": 0.5}, {"epoch": 2, "train_ae": 0.25, "val_ae": 0.3}])
    >>> rows = read_history(d)
    >>> [r["train_ae"] for r in rows], rows[0]["val_ae"] is None
    ([0.5, 0.25], True)
"""
from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path

from calolib.io.files import atomic_write, atomic_write_bytes  # re-exported: where they used to live

__all__ = ["write_history", "read_history", "atomic_write", "atomic_write_bytes", "history_columns"]


def history_columns(rows: list[dict]) -> list[str]:
    """Union of the rows' keys, in first-seen order (``epoch`` first).

    Example:
        >>> history_columns([{"epoch": 1, "a": 1}, {"b": 2, "epoch": 2}])
        ['epoch', 'a', 'b']
    """
    cols: list[str] = []
    for row in rows:
        for k in row:
            if k not in cols:
                cols.append(k)
    if "epoch" in cols:
        cols.remove("epoch")
        cols.insert(0, "epoch")
    return cols


def _clean(v):
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def write_history(run_dir: str | Path, rows: list[dict]) -> None:
    """Write ``history.csv`` and ``history.json`` (one row per epoch) into ``run_dir``."""
    run_dir = Path(run_dir)
    cols = history_columns(rows)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=cols, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: ("" if row.get(k) is None else repr(row[k]) if isinstance(row.get(k), float) else row[k])
                         for k in cols})
    atomic_write_bytes(run_dir / "history.csv", buf.getvalue().encode())
    atomic_write_bytes(run_dir / "history.json",
                       json.dumps([{k: _clean(row.get(k)) for k in cols} for row in rows], indent=1).encode())


def read_history(run_dir: str | Path) -> list[dict]:
    """Read ``history.json`` back (missing values are ``None``); :class:`~calolib.errors.CheckpointError`
    when it is missing or damaged (``calolib train --resume`` rebuilds it from ``last.pt``).

    Example:
        >>> import tempfile
        >>> d = tempfile.mkdtemp(); write_history(d, [{"epoch": 1, "lr": 1e-3}])
        >>> read_history(d)[0]["lr"]
        0.001
    """
    from calolib.errors import CheckpointError

    path = Path(run_dir) / "history.json"
    try:
        rows = json.loads(path.read_text())
    except FileNotFoundError:
        raise CheckpointError(f"{path} not found; train into {Path(run_dir)} first (calolib train --out)") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"{path} is damaged ({type(exc).__name__}); rebuild it from last.pt with "
                              f"`calolib train --resume --out {Path(run_dir)} --data ...`") from None
    if not isinstance(rows, list):
        raise CheckpointError(f"{path} does not hold a list of epoch rows; rebuild it with calolib train --resume")
    return rows


def __dir__():
    return __all__
