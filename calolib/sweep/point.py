"""One sweep point as a self-contained, re-runnable task: train -> generate -> evaluate into ``DIR/<id>/``.

The point's directory is an ordinary run directory (``last.pt``, ``best.pt``, ``history.csv``, ``config.json``)
plus three files of the sweep's own:

* ``point.json``: the point's *identity* (its full training config, the evaluation settings and the data
  file), written first; a directory without it was not made by the sweep and is never touched;
* ``attempts.jsonl``: one line per start (host, pid, time), so a re-executed task is visible;
* ``metrics.json``: written atomically last.  A point is **finished** when ``metrics.json`` exists and its
  identity equals the point's; a point whose identity differs is **stale**.

Re-running is safe at any moment: a task killed with its worker restarts from the run's last complete epoch
(``last.pt`` is written atomically; leftover temporary files of a killed write are removed), then
generates and evaluates again.  A Python error inside the point is returned as a ``failed`` record (and
``error.json``) rather than raised, so the other points go on and Dask does not retry a deterministic
failure; only a dead worker makes Dask re-run the task.

Example:
    >>> import tempfile
    >>> from calolib.sweep.spec import parse_spec
    >>> p = parse_spec({"preset": "quick", "seeds": [0]}).points()[0]
    >>> point_status(Path(tempfile.mkdtemp()) / p.id, point_identity(p, {}, "x.h5"))
    'new'
"""
from __future__ import annotations

import dataclasses
import json
import os
import socket
import time
from pathlib import Path
from typing import Any

from calolib.errors import ConfigError
from calolib.training.config import config_to_dict
from calolib.io.files import atomic_write_bytes

__all__ = ["POINT_FILE", "METRICS_FILE", "point_identity", "point_status", "point_device", "run_point", "read_json"]


def __dir__():
    return __all__


POINT_FILE, METRICS_FILE, ERROR_FILE, ATTEMPTS_FILE = "point.json", "metrics.json", "error.json", "attempts.jsonl"


def point_identity(point, settings, data_path: str | Path) -> dict:
    """What makes a point's results valid: config, evaluation settings and data file (JSON-normalised)."""
    ev = dataclasses.asdict(settings) if dataclasses.is_dataclass(settings) else dict(settings)
    return json.loads(json.dumps({"config": config_to_dict(point.config), "evaluate": ev,
                                  "data": str(Path(data_path).resolve())}))


def read_json(path: Path) -> dict | None:
    """The JSON object in ``path``, or None when missing or unreadable (a half-written foreign file)."""
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def point_status(pdir: Path, identity: dict) -> str:
    """``done``, ``stale`` (results for another identity), ``failed``, ``partial`` (started, not finished),
    ``new`` (nothing there) or ``foreign`` (a non-empty directory the sweep did not make)."""
    pdir = Path(pdir)
    if not pdir.exists() or (pdir.is_dir() and not any(pdir.iterdir())):
        return "new"
    meta = read_json(pdir / POINT_FILE)
    if meta is None:
        return "foreign"
    if meta.get("identity") != identity:
        return "stale"
    done = read_json(pdir / METRICS_FILE)
    if done is not None and done.get("identity") == identity:
        return "done"
    return "failed" if (pdir / ERROR_FILE).exists() else "partial"


def _write_json(path: Path, data: dict) -> None:
    from calolib.jsonutil import to_jsonable

    atomic_write_bytes(path, json.dumps(to_jsonable(data), indent=1).encode())


def _clean_leftovers(pdir: Path) -> None:
    """Remove temporary files of atomic writes that a killed process left (``.NAME.tmp-PID``)."""
    for p in pdir.glob(".*.tmp-*"):
        try:
            p.unlink()
        except OSError:
            pass


def _log_attempt(pdir: Path, event: str, **extra) -> None:
    line = json.dumps({"event": event, "host": socket.gethostname(), "pid": os.getpid(), "time": time.time(), **extra})
    with open(pdir / ATTEMPTS_FILE, "a") as fh:
        fh.write(line + "\n")
        fh.flush()
        os.fsync(fh.fileno())


def _reference(data_path: Path, n_events: int):
    from calolib.io import ShowerFile, load_showers

    with ShowerFile(data_path) as f:
        n_total = len(f)
    n = min(n_events, n_total)
    return load_showers(data_path, start=n_total - n, max_events=n), n_total - n


def point_device(device: str = "auto") -> str:
    """The device a point trains on: ``device`` itself, except that ``"auto"``/``"cuda"`` on a worker of a
    multi-GPU machine picks GPU ``worker index mod n_gpus`` (LocalCluster workers are named 0, 1, ...), so
    the workers of one node share its GPUs instead of all using the first.

    Example:
        >>> point_device("cpu")
        'cpu'
    """
    import torch

    if str(device) not in ("auto", "cuda") or torch.cuda.device_count() < 2:
        return str(device)
    try:
        from distributed import get_worker

        index = int(get_worker().name)
    except (ImportError, ValueError, TypeError):  # not in a Dask worker, or a named one
        return str(device)
    return f"cuda:{index % torch.cuda.device_count()}"


def run_point(point, data_path: str | Path, sweep_dir: str | Path, settings, *, device: str = "auto",
              threads: int = 1) -> dict[str, Any]:
    """Train, generate and evaluate one point into ``sweep_dir/point.id`` (the task a Dask worker runs).

    Finished points return their stored record at once.  Returns a record ``{"id", "status": "done" |
    "failed", "metrics", "error", "wall_s", ...}``; errors inside the point become ``failed`` records.
    Raises ConfigError only for a directory the sweep must not touch (foreign or stale).
    """
    import torch

    from calolib.generation import generate
    from calolib.sweep.evaluation import point_metrics
    from calolib.training import load_checkpoint, train
    from calolib.training.history import write_history

    data_path, pdir = Path(data_path), Path(sweep_dir) / point.id
    identity = point_identity(point, settings, data_path)
    status = point_status(pdir, identity)
    if status == "done":
        # the metrics are valid for this identity; the labels are this sweep's (a copied-in point keeps its own)
        return {**read_json(pdir / METRICS_FILE)["record"], "id": point.id, "config_id": point.config_id,
                "seed": point.seed, "values": point.values, "skipped": True}
    if status in ("foreign", "stale"):
        raise ConfigError(f"{pdir} holds {'another run' if status == 'foreign' else 'a point of another config'}; "
                          "the sweep does not overwrite it (move it away, or pass --redo-stale for stale points)")
    pdir.mkdir(parents=True, exist_ok=True)
    _clean_leftovers(pdir)
    if status == "new":
        _write_json(pdir / POINT_FILE, {"id": point.id, "config_id": point.config_id, "seed": point.seed,
                                        "values": point.values, "identity": identity})
    _log_attempt(pdir, "start")
    t0 = time.perf_counter()
    record: dict[str, Any] = {"id": point.id, "config_id": point.config_id, "seed": point.seed,
                              "values": point.values, "host": socket.gethostname()}
    try:
        if threads > 0:
            torch.set_num_threads(threads)
        device = point_device(device)
        record["device"] = device
        train(point.config, data_path, pdir, resume=True, device=device, progress=False)
        ckpt = load_checkpoint(pdir / "best.pt", device=device)
        write_history(pdir, read_json_history(pdir / "last.pt"))  # history matches last.pt even after a kill
        history = [r for r in ckpt.history if r.get("epoch", 0) > 0]
        ref, ref_start = _reference(data_path, settings.n_events)
        t_gen = time.perf_counter()
        gen = generate(ckpt.model, ckpt.transform, ref.energies, sampler=settings.sampler,
                       n_gibbs_steps=settings.gibbs_steps, seed=point.seed, device=device)
        gen_s = time.perf_counter() - t_gen
        t_eval = time.perf_counter()
        metrics = point_metrics(gen, ref, settings, seed=point.seed, device=device)
        n_train_end = point.config.max_events or ref_start + len(ref)
        metrics.update({
            "train_time_s": float(sum(r.get("time_s", 0.0) for r in history)),
            "epochs": int(ckpt.epoch), "best_epoch": int(ckpt.history[-1]["epoch"]) if ckpt.history else 0,
            "val_ahep": float(ckpt.best_val), "val_ae": float(history[-1]["val_ae"]) if history else float("nan"),
            "gen_showers_per_s": len(gen) / max(gen_s, 1e-9), "eval_time_s": time.perf_counter() - t_eval,
            "n_ref": len(ref), "reference_overlaps_training": bool(ref_start < n_train_end),
        })
        record.update(status="done", metrics=metrics, error=None, wall_s=time.perf_counter() - t0)
        _write_json(pdir / METRICS_FILE, {"identity": identity, "record": record})
        (pdir / ERROR_FILE).unlink(missing_ok=True)
        _log_attempt(pdir, "done", wall_s=record["wall_s"])
    except (KeyboardInterrupt, SystemExit):
        raise
    except Exception as exc:  # recorded, not raised: the other points go on
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        record.update(status="failed", metrics={}, error=f"{type(exc).__name__}: {msg}"[:500],
                      wall_s=time.perf_counter() - t0)
        _write_json(pdir / ERROR_FILE, {"identity": identity, "record": record})
        _log_attempt(pdir, "failed", error=record["error"])
    return record


def read_json_history(last_pt: Path) -> list[dict]:
    """The loss history stored in a checkpoint (the authoritative copy)."""
    from calolib.training.checkpoint import read_checkpoint

    return list(read_checkpoint(last_pt)["history"])
