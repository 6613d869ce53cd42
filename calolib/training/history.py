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
import os
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

__all__ = ["write_history", "read_history", "atomic_write", "atomic_write_bytes", "history_columns"]


def atomic_write(path: str | Path, write: Callable[[BinaryIO], object]) -> None:
    """Write a file atomically: ``write(fh)`` into a temp file in the same directory, flush, fsync, rename.

    If ``write`` fails midway the target is untouched and the temporary file is removed.

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "x.txt"; atomic_write(p, lambda fh: fh.write(b"hi")); p.read_text()
        'hi'
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    _fsync_dir(path.parent)


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """:func:`atomic_write` of a bytes payload.

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "x.txt"; atomic_write_bytes(p, b"hi"); p.read_text()
        'hi'
    """
    atomic_write(path, lambda fh: fh.write(data))


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory fds
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


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
    """Read ``history.json`` back (missing values are ``None``).

    Example:
        >>> import tempfile
        >>> d = tempfile.mkdtemp(); write_history(d, [{"epoch": 1, "lr": 1e-3}])
        >>> read_history(d)[0]["lr"]
        0.001
    """
    path = Path(run_dir) / "history.json"
    return json.loads(path.read_text())


def __dir__():
    return __all__
