"""Benchmarks behind ``calolib bench NAME``.  Each module ``calolib.bench.<name>`` provides
``add_arguments(parser)`` and ``run(args) -> dict``; the result dict is written as JSON under
``reports/bench/<name>.json`` (or ``--out``).  Targets are ratios against a peer measured in the
same run, never absolute timings in tests.
"""
from __future__ import annotations

import json
import platform
import time
from collections.abc import Callable
from pathlib import Path

__all__ = ["BENCHMARKS", "time_call", "machine_info", "write_result"]

BENCHMARKS: dict[str, str] = {
    "synthetic": "calolib.bench.synthetic",
    "sampler": "calolib.bench.sampler",
    "generate": "calolib.bench.generate",
    "widget": "calolib.bench.widget",
}


def time_call(fn: Callable[[], object], *, repeats: int = 3, warmup: int = 1, sync: Callable[[], None] | None = None) -> float:
    """Best wall-clock seconds of ``fn()`` over ``repeats`` runs after ``warmup`` runs.

    ``sync`` (e.g. ``torch.cuda.synchronize``) is called before reading the clock, for GPU work.

    Example:
        >>> time_call(lambda: sum(range(10)), repeats=2) >= 0
        True
    """
    for _ in range(warmup):
        fn()
        if sync:
            sync()
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        if sync:
            sync()
        best = min(best, time.perf_counter() - t0)
    return best


def machine_info() -> dict:
    """Facts that make a benchmark number interpretable (CPU count, torch threads, GPU name)."""
    import os

    import torch

    info = {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "cuda": torch.cuda.is_available(),
    }
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
    return info


def write_result(name: str, result: dict, out: str | Path | None = None) -> Path:
    """Write ``result`` (plus machine info and a timestamp) as JSON; returns the path."""
    path = Path(out) if out else Path("reports") / "bench" / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"benchmark": name, "time": time.strftime("%Y-%m-%dT%H:%M:%S"), "machine": machine_info(), **result}
    path.write_text(json.dumps(payload, indent=2, default=float))
    return path
