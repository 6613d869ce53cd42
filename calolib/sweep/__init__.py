"""Sweeps of trainings on Dask: a grid of configurations times seeds, each point train -> generate -> evaluate.

Public API::

    from calolib.sweep import load_spec, run_sweep, load_results, run_dirs
    res = run_sweep("sweep.toml", "data/synthetic_ds2.h5", "sweeps/enc")   # LocalCluster, one worker per core
    res.summary        # per configuration: mean / std / sem across seeds of every metric
    run_dirs("sweeps/enc")   # the finished points' run directories, for the other reports

Modules: :mod:`~calolib.sweep.spec` (the sweep file and its points), :mod:`~calolib.sweep.point` (one point
as a re-runnable task), :mod:`~calolib.sweep.evaluation` (the one metrics wrapper),
:mod:`~calolib.sweep.runner` (dask.distributed), :mod:`~calolib.sweep.results` (CSV/JSON, summaries).

Example:
    >>> spec = parse_spec({"seeds": [0, 1], "grid": {"model.encoder": ["fcn", "cnn"]}})
    >>> len(spec.points()), spec.points()[0].config_id
    (4, 'encoder=fcn')
"""
from calolib.sweep.evaluation import METRICS, MetricInfo, point_metrics
from calolib.sweep.point import point_status, run_point
from calolib.sweep.results import (SweepResults, expand_runs, load_results, matching_sweep, run_dirs, summarise,
                                   write_results)
from calolib.sweep.runner import format_plan, plan_sweep, run_sweep
from calolib.sweep.spec import EvalSettings, Point, SweepSpec, load_spec, parse_spec

__all__ = [
    "EvalSettings",
    "METRICS",
    "MetricInfo",
    "Point",
    "SweepResults",
    "SweepSpec",
    "expand_runs",
    "format_plan",
    "load_results",
    "load_spec",
    "matching_sweep",
    "parse_spec",
    "plan_sweep",
    "point_metrics",
    "point_status",
    "run_dirs",
    "run_point",
    "run_sweep",
    "summarise",
    "write_results",
]


def __dir__():
    return __all__
