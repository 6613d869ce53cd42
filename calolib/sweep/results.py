"""A sweep's results: every point's metrics, a per-configuration summary across seeds, and the run dirs.

``sweep.csv`` has one row per point (id, configuration, seed, status, the grid values, every metric, the
error of a failed point); ``sweep_summary.csv`` one row per configuration with ``<metric>_mean``,
``<metric>_std`` (sample standard deviation across the seeds, ddof = 1; NaN for a single seed) and
``<metric>_sem`` (std/√n); ``sweep.json`` holds both plus the spec.  :func:`load_results` reads a sweep
directory back, :func:`run_dirs` turns a sweep directory (or a single run directory) into the list of run
directories that the other reports take.

Example:
    >>> summarise([{"id": "a__seed=0", "config_id": "a", "seed": 0, "values": {}, "status": "done",
    ...             "metrics": {"fpd": 1.0}},
    ...            {"id": "a__seed=1", "config_id": "a", "seed": 1, "values": {}, "status": "done",
    ...             "metrics": {"fpd": 3.0}}])[0]["fpd"]
    {'mean': 2.0, 'std': 1.4142135623730951, 'sem': 1.0, 'n': 2}
"""
from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from calolib.errors import ConfigError
from calolib.io.files import atomic_write_bytes

__all__ = ["SweepResults", "summarise", "build_results", "write_results", "load_results", "run_dirs",
           "metric_names", "matching_sweep", "expand_runs", "IGNORED_FOR_MATCH"]


def __dir__():
    return __all__


@dataclass(frozen=True)
class SweepResults:
    """Everything ``sweep.json`` holds.

    Attributes:
        points: one record per point: ``id``, ``config_id``, ``seed``, ``values`` (grid values), ``status``
            (``done``/``failed``), ``metrics`` (name -> number), ``error``.
        summary: one dict per configuration: ``config_id``, ``values``, ``n_done``, ``n_failed`` and, per
            metric, ``{"mean", "std", "sem", "n"}``.
        spec: the sweep's description (:meth:`~calolib.sweep.spec.SweepSpec.to_dict`).
        out_dir: the sweep directory.
        timing: ``wall_s`` of the last run, ``n_run`` points run in it.
    """

    points: list[dict]
    summary: list[dict]
    spec: dict
    out_dir: Path
    data_path: str = ""
    timing: dict = field(default_factory=dict)

    @property
    def n_failed(self) -> int:
        return sum(p["status"] != "done" for p in self.points)

    def metric(self, name: str) -> dict[str, list[float]]:
        """``{config_id: [value per finished seed]}`` of one metric."""
        out: dict[str, list[float]] = {}
        for p in self.points:
            if p["status"] == "done":
                out.setdefault(p["config_id"], []).append(float(p["metrics"].get(name, math.nan)))
        return out


def metric_names(points: list[dict]) -> list[str]:
    """The numeric metrics present in any finished point, in first-seen order."""
    names: dict[str, None] = {}
    for p in points:
        for k, v in (p.get("metrics") or {}).items():
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                names.setdefault(k, None)
    return list(names)


def _stats(values: list[float]) -> dict:
    v = np.asarray([x for x in values if x is not None and math.isfinite(x)], dtype=float)
    n = int(v.size)
    mean = float(v.mean()) if n else math.nan
    std = float(v.std(ddof=1)) if n > 1 else math.nan
    return {"mean": mean, "std": std, "sem": std / math.sqrt(n) if n > 1 else math.nan, "n": n}


def summarise(points: list[dict]) -> list[dict]:
    """Per configuration (in point order): mean, std, sem and count of every metric over its finished seeds."""
    names = metric_names(points)
    groups: dict[str, list[dict]] = {}
    for p in points:
        groups.setdefault(p["config_id"], []).append(p)
    out = []
    for cid, pts in groups.items():
        done = [p for p in pts if p["status"] == "done"]
        row: dict[str, Any] = {"config_id": cid, "values": pts[0].get("values", {}), "n_done": len(done),
                               "n_failed": len(pts) - len(done), "seeds": [p["seed"] for p in done]}
        for k in names:
            row[k] = _stats([float(p["metrics"][k]) for p in done if k in p["metrics"]])
        out.append(row)
    return out


def build_results(spec, points: list[dict], *, data_path, out_dir, wall_s: float = 0.0, n_run: int = 0) -> SweepResults:
    """Assemble :class:`SweepResults` from point records (``spec``: a SweepSpec or its dict)."""
    clean = [{k: v for k, v in p.items() if k != "skipped"} for p in points]
    spec_d = spec.to_dict() if hasattr(spec, "to_dict") else dict(spec)
    return SweepResults(points=clean, summary=summarise(clean), spec=spec_d, out_dir=Path(out_dir),
                        data_path=str(data_path), timing={"wall_s": float(wall_s), "n_run": int(n_run)})


def _csv(rows: list[list]) -> bytes:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    return buf.getvalue().encode()


def _cell(v) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return "" if math.isnan(v) else repr(v)
    if isinstance(v, (list, tuple, dict)):
        return json.dumps(v)
    return str(v)


def write_results(results: SweepResults, out_dir: str | Path | None = None) -> dict[str, Path]:
    """Write ``sweep.csv``, ``sweep_summary.csv`` and ``sweep.json`` (atomically); returns their paths."""
    from calolib.jsonutil import to_jsonable

    out = Path(out_dir or results.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    keys = list(results.spec.get("grid", {}))
    names = metric_names(results.points)
    rows = [["id", "config_id", "seed", "status", *keys, *names, "error"]]
    for p in results.points:
        rows.append([p["id"], p["config_id"], p["seed"], p["status"], *(_cell(p["values"].get(k)) for k in keys),
                     *(_cell(p["metrics"].get(k)) for k in names), _cell(p.get("error"))])
    srows = [["config_id", *keys, "n_done", "n_failed",
              *(f"{k}_{s}" for k in names for s in ("mean", "std", "sem"))]]
    for s in results.summary:
        srows.append([s["config_id"], *(_cell(s["values"].get(k)) for k in keys), s["n_done"], s["n_failed"],
                      *(_cell(s[k][st]) if k in s else "" for k in names for st in ("mean", "std", "sem"))])
    paths = {"csv": out / "sweep.csv", "summary_csv": out / "sweep_summary.csv", "json": out / "sweep.json"}
    atomic_write_bytes(paths["csv"], _csv(rows))
    atomic_write_bytes(paths["summary_csv"], _csv(srows))
    doc = {"format": "calolib-sweep", "spec": results.spec, "data": results.data_path, "timing": results.timing,
           "points": results.points, "summary": results.summary}
    atomic_write_bytes(paths["json"], json.dumps(to_jsonable(doc), indent=1).encode())
    return paths


def _nan(x):
    """JSON null -> NaN in metric dicts."""
    if isinstance(x, dict):
        return {k: _nan(v) for k, v in x.items()}
    return math.nan if x is None else x


def load_results(sweep_dir: str | Path) -> SweepResults:
    """Read ``sweep_dir/sweep.json`` back (JSON nulls of metrics become NaN).

    Raises:
        ConfigError: no sweep there (with the command that makes one).
    """
    d = Path(sweep_dir)
    path = d / "sweep.json"
    try:
        doc = json.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"no sweep results in {d} (no sweep.json); run `calolib sweep SPEC.toml --data FILE.h5 "
                          f"--out {d}` first") from None
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from None
    if doc.get("format") != "calolib-sweep":
        raise ConfigError(f"{path} is not a calolib sweep result")
    points = [{**p, "metrics": _nan(p.get("metrics") or {})} for p in doc["points"]]
    summary = [{k: (_nan(v) if isinstance(v, dict) and "mean" in v else v) for k, v in s.items()}
               for s in doc["summary"]]
    return SweepResults(points=points, summary=summary, spec=doc.get("spec", {}), out_dir=d,
                        data_path=doc.get("data", ""), timing=doc.get("timing", {}))


def run_dirs(path: str | Path, *, finished_only: bool = True) -> list[Path]:
    """Run directories named by ``path``: a sweep directory's point directories (finished ones, in sweep
    order), or ``[path]`` for a single run directory (one holding ``best.pt``/``last.pt``).

    Example:
        >>> import tempfile
        >>> d = Path(tempfile.mkdtemp()); _ = (d / "best.pt").write_bytes(b"")
        >>> run_dirs(d) == [d]
        True
    """
    p = Path(path)
    if p.is_file():
        return [p]
    if (p / "best.pt").is_file() or (p / "last.pt").is_file():
        return [p]
    if (p / "sweep.json").is_file():
        res = load_results(p)
        return [p / r["id"] for r in res.points if (r["status"] == "done" or not finished_only)
                and (p / r["id"]).is_dir()]
    subs = sorted(q for q in p.glob("*/metrics.json")) if p.is_dir() else []
    if subs:
        return [q.parent for q in subs]
    raise ConfigError(f"{p} is neither a run directory (best.pt/last.pt) nor a sweep directory (sweep.json)")


def expand_runs(paths) -> list[Path]:
    """Flatten a list of run directories, checkpoint files and sweep directories into run directories/files
    (a sweep directory becomes its finished points, in sweep order), without repeats — what reports 03/05/06 take
    as their list of runs.

    Raises:
        ConfigError: a path that is none of these (:func:`run_dirs`).

    Example:
        >>> import tempfile
        >>> d = Path(tempfile.mkdtemp()); _ = (d / "best.pt").write_bytes(b"")
        >>> expand_runs([d, d]) == [d]
        True
    """
    out: list[Path] = []
    for p in paths:
        for q in run_dirs(p):
            if q not in out:
                out.append(q)
    return out


#: configuration keys a sweep point may differ in from a run and still count as "the same training recipe":
#: the seeds, the prior (the sweep's grid), and monitoring that does not change the trained model
IGNORED_FOR_MATCH = frozenset({"seed", "model.seed", "model.prior", "gen_check_events", "log_rbm_ll"})


def matching_sweep(sweep_dir: str | Path, run_dir: str | Path,
                   data_path: str | Path) -> tuple[SweepResults | None, str]:
    """The sweep in ``sweep_dir`` if it repeats the training of ``run_dir`` on ``data_path`` across seeds.

    A sweep matches when it was run on the same data file and every finished point's ``config.json`` equals the
    run's ``config.json`` except in :data:`IGNORED_FOR_MATCH` (seeds, the prior, monitoring).  Returns
    ``(results, "")`` or ``(None, reason)`` — the reason is one sentence a report can print.

    Example:
        >>> import tempfile
        >>> matching_sweep(Path(tempfile.mkdtemp()) / "none", ".", "x.h5")[1]
        'no sweep there'
    """
    from calolib.sweep.spec import _flatten  # nested config -> dotted keys, as the sweep's [set]/[grid] use

    d = Path(sweep_dir)
    if not (d / "sweep.json").is_file():
        return None, "no sweep there"
    try:
        res = load_results(d)
        run_cfg = _flatten(json.loads((Path(run_dir) / "config.json").read_text()))
    except (ConfigError, OSError, ValueError) as exc:
        return None, f"unreadable: {exc}"
    if res.data_path and Path(res.data_path).resolve() != Path(data_path).resolve():
        return None, f"it was run on another data file ({res.data_path})"
    done = [p for p in res.points if p["status"] == "done"]
    if not done:
        return None, "none of its points has finished"
    for p in done:
        try:
            cfg = _flatten(json.loads((d / p["id"] / "config.json").read_text()))
        except (OSError, ValueError):
            return None, f"point {p['id']} has no readable config.json"
        diff = sorted(k for k in set(cfg) | set(run_cfg)
                      if k not in IGNORED_FOR_MATCH and cfg.get(k) != run_cfg.get(k))
        if diff:
            return None, f"point {p['id']} trains differently from this run ({', '.join(diff[:3])})"
    return res, ""
