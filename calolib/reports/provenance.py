"""Provenance of a report run: what code, data, software and hardware produced the numbers.

:func:`collect` gathers, once per ``calolib reports`` run, everything a reader needs to trust (or
reproduce) a report: the git commit of the project and whether tracked files differed from it
("dirty"; the report output folder itself is not counted), the SHA-256 of every data file the
notebooks read, the versions of calolib, torch, numpy and the D-Wave Ocean SDK, the CPU model and
core count, the GPU name (or none), the date and the preset.  The index page shows it in a header
box and every report page in its top bar.

Hashing a multi-GB CaloChallenge file takes seconds, so digests are cached on
``(path, size, mtime)`` in a small JSON file (``<out_dir>/_work/sha256.json``).

Example:
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp()); _ = (d / "x.h5").write_bytes(b"abc")
    >>> p = collect([d / "x.h5"], preset="tiny", gpu=False)
    >>> p["preset"], p["data"][0]["sha256"][:12], p["gpu"]
    ('tiny', 'ba7816bf8f01', None)
"""
from __future__ import annotations

import hashlib
import json
import os
import platform
import subprocess
import time
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path
from typing import Any

__all__ = ["collect", "sha256_file", "git_state", "cpu_model", "project_root", "summary_line"]


def __dir__():
    return __all__


def project_root() -> Path | None:
    """The project checkout holding the ``calolib`` package (editable install), else ``None``.

    Recognised by a ``pyproject.toml`` and a ``notebooks/`` folder next to the package.
    """
    root = Path(__file__).resolve().parents[2]
    return root if (root / "pyproject.toml").is_file() and (root / "notebooks").is_dir() else None


def sha256_file(path: str | Path, *, cache: dict | None = None, chunk: int = 1 << 22) -> str:
    """Hex SHA-256 of a file's bytes; ``cache`` (a dict) reuses digests keyed on path, size and mtime.

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "f"; _ = p.write_bytes(b"")
        >>> sha256_file(p)[:16]
        'e3b0c44298fc1c14'
    """
    path = Path(path).resolve()
    st = path.stat()
    key, stamp = str(path), [st.st_size, st.st_mtime_ns]
    if cache is not None and cache.get(key, {}).get("stamp") == stamp:
        return cache[key]["sha256"]
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    digest = h.hexdigest()
    if cache is not None:
        cache[key] = {"stamp": stamp, "sha256": digest}
    return digest


def git_state(root: str | Path | None = None, *, exclude: Iterable[str | Path] = ()) -> dict[str, Any] | None:
    """``{"commit", "short", "branch", "dirty", "n_changed"}`` of the checkout at ``root`` (``None`` if not git).

    ``dirty`` is True when tracked files differ from the commit, ignoring paths under ``exclude``
    (the report folder, which a run rewrites).
    """
    root = Path(root) if root is not None else project_root()
    if root is None:
        return None

    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, check=True,
                              timeout=30).stdout.strip()

    try:
        commit = git("rev-parse", "HEAD")
        branch = git("rev-parse", "--abbrev-ref", "HEAD")
        top = Path(git("rev-parse", "--show-toplevel")).resolve()
        specs = []
        for p in exclude:
            try:
                rel = Path(p).resolve().relative_to(top)
            except ValueError:
                continue
            if str(rel) not in ("", "."):
                specs.append(f":(exclude){rel.as_posix()}")
        changed = [ln for ln in git("status", "--porcelain", "--untracked-files=no", "--", ".", *specs).splitlines()
                   if ln.strip()]
    except (OSError, subprocess.SubprocessError):
        return None
    return {"commit": commit, "short": commit[:10], "branch": branch, "dirty": bool(changed), "n_changed": len(changed)}


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo`` on Linux, else :func:`platform.processor`)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def _gpu_name() -> str | None:
    try:
        import torch

        return torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    except Exception:  # noqa: BLE001 - a broken CUDA setup is "no GPU" for provenance
        return None


def collect(data_paths: Iterable[str | Path | tuple[str, str | Path]] = (), *, preset: str = "", exclude: Iterable[str | Path] = (),
            cache_file: str | Path | None = None, gpu: bool = True) -> dict[str, Any]:
    """Provenance of a run reading ``data_paths`` (missing files are listed with ``sha256: None``).

    Args:
        data_paths: data files the notebooks read (duplicates are hashed once); an item may be a
            ``(label, path)`` pair to show ``label`` (e.g. the path as the notebooks were given it).
        preset: the parameter preset of the run.
        exclude: paths whose changes do not make the checkout "dirty" (the report folder).
        cache_file: JSON file caching SHA-256 digests between runs.
        gpu: look for a CUDA GPU (imports torch).

    Returns:
        ``{"date", "preset", "git", "data": [{"path", "sha256", "size_bytes"}], "versions", "cpu", "gpu", "python"}``.
    """
    cache: dict = {}
    if cache_file is not None:
        try:
            cache = json.loads(Path(cache_file).read_text())
        except (OSError, ValueError):
            cache = {}
    data, seen = [], set()
    for item in data_paths:
        label, p = (str(item[0]), Path(item[1])) if isinstance(item, tuple) else (str(item), Path(item))
        if str(p) in seen:
            continue
        seen.add(str(p))
        entry: dict[str, Any] = {"path": label, "sha256": None, "size_bytes": None}
        if p.is_file():
            entry["sha256"] = sha256_file(p, cache=cache)
            entry["size_bytes"] = p.stat().st_size
        data.append(entry)
    if cache_file is not None and cache:
        try:
            Path(cache_file).parent.mkdir(parents=True, exist_ok=True)
            Path(cache_file).write_text(json.dumps(cache, indent=1))
        except OSError:
            pass  # a cache we cannot write only costs time
    versions = {name: _version(dist) for name, dist in
                (("calolib", "calolib"), ("torch", "torch"), ("numpy", "numpy"), ("dwave-ocean-sdk", "dwave-ocean-sdk"),
                 ("dimod", "dimod"))}
    try:
        usable = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        usable = os.cpu_count()
    return {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %z"),
        "preset": preset,
        "git": git_state(exclude=exclude),
        "data": data,
        "versions": versions,
        "python": platform.python_version(),
        "cpu": {"model": cpu_model(), "cores": os.cpu_count(), "usable_cores": usable},
        "gpu": _gpu_name() if gpu else None,
    }


def summary_line(prov: dict[str, Any] | None) -> str:
    """One line for a page's top bar: commit (dirty), data digest, preset, date.

    Example:
        >>> summary_line({"git": {"short": "abc1234def", "dirty": True}, "data": [{"path": "d.h5", "sha256": "f00d" * 16}],
        ...               "preset": "quick", "date": "2026-01-01 10:00:00 +0000"})
        'commit abc1234def (dirty) · d.h5 sha256 f00df00df00d… · preset quick · 2026-01-01 10:00:00 +0000'
    """
    if not prov:
        return "provenance not recorded"
    parts = []
    g = prov.get("git")
    parts.append(f"commit {g['short']}" + (" (dirty)" if g.get("dirty") else "") if g else "not a git checkout")
    for d in prov.get("data") or []:
        parts.append(f"{Path(d['path']).name} sha256 {d['sha256'][:12]}…" if d.get("sha256") else f"{d['path']} missing")
    if prov.get("preset"):
        parts.append(f"preset {prov['preset']}")
    if prov.get("date"):
        parts.append(prov["date"])
    return " · ".join(parts)
