"""Running a sweep on dask.distributed: every point an independent task, results gathered as they finish.

By default :func:`run_sweep` starts a ``LocalCluster`` sized to the machine (one single-threaded worker
*process* per core, since a point's torch work wants its own core); ``scheduler=ADDRESS`` connects to any
running Dask cluster instead (dask-jobqueue on Slurm/HTCondor, Kubernetes, ``dask scheduler`` +
``dask worker`` by hand), whose workers must see the data file and the output directory at the same paths.

* points already finished (``metrics.json`` matching their config) are skipped, so a re-run after an
  interruption does only what is missing, and a re-run of a finished sweep is a no-op;
* a worker that dies takes its task with it; the scheduler re-runs the task on another worker (up to
  ``distributed.scheduler.allowed-failures`` times), and the point resumes from its last complete epoch;
* a point that fails (an exception inside it) is recorded with its error and the others go on;
* stale points (run with another config) stop the sweep before anything runs, unless ``redo_stale``.

The results (``sweep.csv``, ``sweep_summary.csv``, ``sweep.json``) are written by :mod:`calolib.sweep.results`.
"""
from __future__ import annotations

import logging
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from calolib.errors import ConfigError
from calolib.sweep.point import POINT_FILE, point_identity, point_status, run_point
from calolib.sweep.results import SweepResults, build_results, write_results
from calolib.sweep.spec import SweepSpec, load_spec, parse_spec

__all__ = ["PlannedPoint", "plan_sweep", "run_sweep", "check_sweep_data", "default_workers", "format_plan"]


def __dir__():
    return __all__


@dataclass(frozen=True)
class PlannedPoint:
    """A point and what the sweep directory says about it (``done``, ``new``, ``partial``, ``failed``, ``stale``)."""

    point: object
    status: str


def default_workers() -> int:
    """Cores this process may use (its CPU affinity), at least 1.

    Example:
        >>> default_workers() >= 1
        True
    """
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def _as_spec(spec) -> SweepSpec:
    if isinstance(spec, SweepSpec):
        return spec
    if isinstance(spec, dict):
        return parse_spec(spec)
    return load_spec(spec)


def check_sweep_data(spec, data_path: str | Path) -> int:
    """The number of showers in ``data_path``, after checking — before any worker starts or any point directory
    is made — that it is a readable CaloChallenge file holding more showers than the ``n_events`` reference.

    Raises:
        ConfigError: a missing file or one too small; ShowerFileError (a ValueError): not a CaloChallenge file.
    """
    from calolib.io import ShowerFile

    spec, path = _as_spec(spec), Path(data_path)
    if not path.is_file():
        raise ConfigError(f"training data not found: {path}; make it with `calolib data make --out {path}`")
    with ShowerFile(path) as f:
        n = len(f)
    if n <= spec.evaluate.n_events:
        raise ConfigError(f"{path} holds {n} showers, but the sweep's reference alone takes the last "
                          f"{spec.evaluate.n_events} ([evaluate] n_events): nothing would be left to train on")
    return n


def plan_sweep(spec, data_path: str | Path, out_dir: str | Path) -> list[PlannedPoint]:
    """Every point of ``spec`` with its status in ``out_dir`` (nothing is run or written), after
    :func:`check_sweep_data` (so a dry run and a real run refuse a wrong data file alike, before any worker).

    Raises:
        ConfigError: a point directory that the sweep did not make (it would not touch it); a missing or too
            small data file.  ShowerFileError: a data file that is not a CaloChallenge file.
    """
    spec = _as_spec(spec)
    check_sweep_data(spec, data_path)
    out = []
    for p in spec.points():
        status = point_status(Path(out_dir) / p.id, point_identity(p, spec.evaluate, data_path))
        if status == "foreign":
            raise ConfigError(f"{Path(out_dir) / p.id} exists but was not made by calolib sweep (no {POINT_FILE}); "
                              "move it away or choose another --out")
        out.append(PlannedPoint(p, status))
    return out


def format_plan(planned: list[PlannedPoint]) -> str:
    """A plain-text table of the points (what ``--dry-run`` prints).

    Example:
        >>> from calolib.sweep.spec import parse_spec
        >>> pts = parse_spec({"seeds": [0], "grid": {"lr": [1e-3]}}).points()
        >>> print(format_plan([PlannedPoint(pts[0], "new")]))
        point             status  lr
        lr=0.001__seed=0  new     0.001
        1 point(s): 1 to run, 0 finished
    """
    keys = list(planned[0].point.values) if planned else []
    rows = [["point", "status", *keys]]
    rows += [[pp.point.id, pp.status, *(str(pp.point.values[k]) for k in keys)] for pp in planned]
    widths = [max(len(r[i]) for r in rows) + 2 for i in range(len(rows[0]))]
    lines = ["".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    n_done = sum(pp.status == "done" for pp in planned)
    lines.append(f"{len(planned)} point(s): {len(planned) - n_done} to run, {n_done} finished")
    return "\n".join(lines)


def _client(workers: int | None, scheduler: str | None):
    """(client, cluster or None): a connection to ``scheduler`` or a new LocalCluster of ``workers`` processes."""
    from distributed import Client, LocalCluster

    if scheduler:
        try:
            return Client(scheduler, timeout="30s"), None
        except (OSError, TimeoutError) as exc:
            raise ConfigError(f"cannot reach the Dask scheduler at {scheduler} ({type(exc).__name__}); "
                              "check the address (tcp://HOST:8786) or drop --scheduler for a local cluster") from None
    n = workers or default_workers()
    # ":0": the scheduler's HTTP routes on a free port (a fixed one clashes with other clusters on the machine)
    cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=":0",
                           silence_logs=logging.CRITICAL)
    return Client(cluster), cluster


def run_sweep(spec, data_path: str | Path, out_dir: str | Path, *, workers: int | None = None,
              scheduler: str | None = None, client=None, redo_stale: bool = False, device: str = "auto",
              threads: int = 1, progress: bool = True) -> SweepResults:
    """Run every unfinished point of ``spec`` on Dask and write the sweep's results into ``out_dir``.

    Args:
        spec: a :class:`~calolib.sweep.spec.SweepSpec`, a sweep file path, or the dict of one.
        data_path: CaloChallenge HDF5 file (training data; its last ``evaluate.n_events`` are the reference).
        out_dir: the sweep directory (one sub-directory per point, ``sweep.csv``/``sweep.json`` at the top).
        workers: worker processes of the LocalCluster (default: one per core); ignored with ``scheduler``/``client``.
        scheduler: address of a running Dask scheduler (``tcp://host:8786``) to use instead.
        client: an existing ``distributed.Client`` to use (it is not closed).
        redo_stale: delete and re-run points that were run with another config (else ConfigError).
        device, threads: per point (``"auto"`` picks a worker's GPU when it has one; torch CPU threads).
        progress: a tqdm bar over the points.

    Returns:
        :class:`~calolib.sweep.results.SweepResults` of all points (finished before and now).
    """
    from tqdm.auto import tqdm

    spec = _as_spec(spec)
    data_path, out_dir = Path(data_path).resolve(), Path(out_dir).resolve()
    planned = plan_sweep(spec, data_path, out_dir)  # checks the data file first
    stale = [pp for pp in planned if pp.status == "stale"]
    if stale and not redo_stale:
        raise ConfigError(f"{len(stale)} point(s) in {out_dir} were run with another config or evaluation "
                          f"(e.g. {stale[0].point.id}); pass --redo-stale to re-run them or choose another --out")
    records = {pp.point.id: None for pp in planned}
    todo = []
    for pp in planned:
        if pp.status == "done":
            records[pp.point.id] = run_point(pp.point, data_path, out_dir, spec.evaluate)  # reads metrics.json
        else:
            todo.append(pp.point)
    t0 = time.perf_counter()
    if todo:
        own = client is None
        cluster = None
        if own:  # connect first: an unreachable scheduler leaves nothing behind
            client, cluster = _client(workers, scheduler)
        try:
            for pp in stale:  # ours (point.json), so safe to clear
                shutil.rmtree(out_dir / pp.point.id)
            out_dir.mkdir(parents=True, exist_ok=True)
            records.update(_submit_all(client, todo, data_path, out_dir, spec, device, threads, progress, tqdm))
        finally:
            if own:
                client.close()
                if cluster is not None:
                    cluster.close()
    wall = time.perf_counter() - t0
    results = build_results(spec, [records[k] for k in records], data_path=data_path, out_dir=out_dir,
                            wall_s=wall, n_run=len(todo))
    write_results(results, out_dir)
    return results


def _submit_all(client, todo, data_path, out_dir, spec, device, threads, progress, tqdm) -> dict:
    from distributed import as_completed

    futures = {client.submit(run_point, p, str(data_path), str(out_dir), spec.evaluate, device=device,
                             threads=threads, pure=False, key=f"calolib-point-{p.id}-{time.time_ns()}"): p
               for p in todo}
    out = {}
    failed = 0
    bar = tqdm(total=len(todo), desc="sweep points", disable=not progress, unit="point")
    try:
        for fut in as_completed(futures):
            p = futures[fut]
            try:
                rec = fut.result()
            except Exception as exc:  # the task could not finish: e.g. KilledWorker after repeated deaths
                msg = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
                rec = {"id": p.id, "config_id": p.config_id, "seed": p.seed, "values": p.values, "status": "failed",
                       "metrics": {}, "error": f"{type(exc).__name__}: {msg}"[:500]}
            failed += rec.get("status") != "done"
            out[p.id] = rec
            bar.update(1)
            bar.set_postfix(failed=failed, last=p.id)
    except KeyboardInterrupt:
        client.cancel(list(futures))
        raise
    finally:
        bar.close()
    return out
