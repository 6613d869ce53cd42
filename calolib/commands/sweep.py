"""``calolib sweep``: train -> generate -> evaluate every point of a sweep file on dask.distributed.

A sweep file names a base (``preset = "quick"`` or a config file), fixed overrides (``[set]``), a grid
(``[grid]``, whose product is taken) and ``seeds``; see :mod:`calolib.sweep.spec`.  Each point runs in
``OUT/<point-id>/`` (a normal run directory) as an independent Dask task: on a ``LocalCluster`` of
``--workers`` single-threaded processes (default: one per core), or on the cluster behind
``--scheduler``.  Finished points are skipped, so re-running continues an interrupted sweep and re-running
a finished one does nothing.  ``OUT/sweep.csv``, ``OUT/sweep_summary.csv`` (mean ± std across seeds) and
``OUT/sweep.json`` hold the results.

Examples::

    calolib sweep sweep.toml --data data/synthetic_ds2.h5 --out sweeps/enc --dry-run
    calolib sweep sweep.toml --data data/synthetic_ds2.h5 --out sweeps/enc --workers 2
    calolib sweep sweep.toml --data /shared/ds2.h5 --out /shared/sweeps/enc --scheduler tcp://head:8786
"""
from __future__ import annotations

import argparse
import math
import sys

__all__ = ["register"]


def __dir__():
    return __all__


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sweep", help="run a sweep of trainings (grid x seeds) on Dask, with error bars across seeds",
                       description=__doc__.split("\n\n")[0])
    p.add_argument("spec", help="sweep file (.toml): preset, seeds, [set], [grid], optional [evaluate]")
    p.add_argument("--data", required=True, help="CaloChallenge .h5 file (training data; its last events are the reference)")
    p.add_argument("--out", required=True, help="sweep directory (one run directory per point, sweep.csv, sweep.json)")
    p.add_argument("--workers", type=int, default=None, help="worker processes of the local cluster (default: one per core)")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="use a running Dask cluster (e.g. tcp://host:8786) instead of a local one")
    p.add_argument("--dry-run", action="store_true", help="list the points and their status; run nothing")
    p.add_argument("--redo-stale", action="store_true",
                   help="delete and re-run points that were run with another config (default: stop)")
    p.add_argument("--device", default="auto", help="device of each point: cpu, cuda or auto (default auto)")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads per point (default 1)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_sweep)


def _fmt(stat: dict) -> str:
    m, s = stat.get("mean", math.nan), stat.get("std", math.nan)
    if not math.isfinite(m):
        return "n/a"
    return f"{m:.4g}" if not math.isfinite(s) else f"{m:.4g} ± {s:.2g}"


def _cmd_sweep(args: argparse.Namespace) -> int:
    from pathlib import Path

    from calolib.errors import ConfigError
    from calolib.sweep import format_plan, load_spec, plan_sweep, run_sweep

    if args.workers is not None and args.workers < 1:
        raise ConfigError(f"--workers must be >= 1, got {args.workers}")
    spec = load_spec(args.spec)
    if args.dry_run:
        print(format_plan(plan_sweep(spec, Path(args.data).resolve(), Path(args.out).resolve())))
        return 0
    res = run_sweep(spec, args.data, args.out, workers=args.workers, scheduler=args.scheduler,
                    redo_stale=args.redo_stale, device=args.device, threads=args.threads, progress=not args.quiet)
    n = len(res.points)
    print(f"{n} point(s): {res.timing['n_run']} run, {n - res.timing['n_run']} already finished, "
          f"{res.n_failed} failed, in {res.timing['wall_s']:.1f} s -> {res.out_dir / 'sweep.csv'}")
    for s in res.summary:
        print(f"  {s['config_id']}: {s['n_done']} seed(s)"
              + "".join(f", {k} {_fmt(s[k])}" for k in ("fpd", "auc_high", "sep_e_ratio") if k in s))
    for p in res.points:
        if p["status"] != "done":
            print(f"  failed {p['id']}: {p.get('error')}", file=sys.stderr)
    return 1 if res.n_failed else 0  # 0: all finished; 1: some failed (recorded in sweep.csv); 2: bad input
