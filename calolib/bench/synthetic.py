"""Synthetic shower simulator throughput (showers/s per geometry) and its headline physics numbers.

``calolib bench synthetic [--n 10000] [--geometry ds2|ds3|ds1-photons|ds1-pions|all] [--physics]``
times :func:`calolib.synthetic.simulate` (wall clock and process CPU time; numpy runs on one core) and,
with ``--physics``, adds the resolution fit, response, sparsity and depth of maximum of the ds2 model.
"""
from __future__ import annotations

import argparse
import time

from calolib.errors import ConfigError
from calolib.geometry import GEOMETRY_NAMES, get_geometry

__all__ = ["add_arguments", "run", "measure"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--n", type=int, default=10_000, help="showers per geometry (default 10000; ds3 uses n/6)")
    parser.add_argument("--geometry", default="ds2", help="ds2 (default), ds3, ds1-photons, ds1-pions or all")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=2, help="also time this many processes (default 2; 1 skips)")
    parser.add_argument("--physics", action="store_true", help="also fit resolution, response, sparsity (ds2)")


def measure(n: int, geometry: str = "ds2", seed: int = 0, workers: int = 1) -> dict:
    """Time ``simulate(n, geometry, seed, workers=workers)`` once after a small warm-up; rates in showers/s
    (``showers_per_cpu_s`` counts this process's CPU time only, so it is meaningful for ``workers=1``).

    Example:
        >>> r = measure(50, "ds1-photons")
        >>> r["n"], r["showers_per_s"] > 0
        (50, True)
    """
    from calolib.synthetic import simulate

    simulate(min(n, 64), geometry, seed=seed + 1)  # warm-up: geometry caches, imports
    t_cpu, t_wall = time.process_time(), time.perf_counter()
    simulate(n, geometry, seed=seed, workers=workers)
    cpu, wall = time.process_time() - t_cpu, time.perf_counter() - t_wall
    return {"geometry": get_geometry(geometry).name, "n": int(n), "workers": int(workers), "wall_s": wall, "cpu_s": cpu,
            "showers_per_s": n / wall, "showers_per_cpu_s": n / max(cpu, 1e-9),
            "voxels": get_geometry(geometry).n_voxels}


def run(args: argparse.Namespace) -> dict:
    """Benchmark entry point (``calolib bench synthetic``); headline numbers under ``summary``."""
    if args.n < 1:
        raise ConfigError(f"--n must be >= 1, got {args.n}")
    names = ("ds2", *(g for g in GEOMETRY_NAMES if g != "ds2")) if args.geometry == "all" else (
        get_geometry(args.geometry).name,)
    per = {}
    for name in names:
        n = max(args.n // 6, 1) if name == "ds3" else args.n
        per[name] = measure(n, name, seed=args.seed)
    first = per[names[0]]
    summary = {"geometry": first["geometry"], "showers_per_s": round(first["showers_per_s"], 1),
               "showers_per_cpu_s": round(first["showers_per_cpu_s"], 1),
               "per_geometry_showers_per_s": {k: round(v["showers_per_s"], 1) for k, v in per.items()}}
    result = {"summary": summary, "per_geometry": per}
    if args.workers > 1:
        par = measure(first["n"], names[0], seed=args.seed, workers=args.workers)
        result["parallel"] = par
        summary[f"showers_per_s_{args.workers}_workers"] = round(par["showers_per_s"], 1)
    if getattr(args, "physics", False):
        from calolib.synthetic.validation import physics_summary

        result["physics"] = physics_summary(seed=args.seed)
        summary["resolution_abc"] = result["physics"]["resolution"]["abc"]
    return result


def __dir__():
    return __all__
