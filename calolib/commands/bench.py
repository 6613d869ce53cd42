"""``calolib bench synthetic|sampler|generate``: benchmarks writing JSON under reports/bench/."""
from __future__ import annotations

import argparse
import importlib
import json

from calolib.bench import BENCHMARKS, write_result

__all__ = ["register"]


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bench", help="run a benchmark (JSON under reports/bench/)")
    bsub = p.add_subparsers(dest="bench_name", metavar="NAME", required=True)
    for name, module in BENCHMARKS.items():
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise
            continue
        bp = bsub.add_parser(name, help=(mod.__doc__ or name).strip().splitlines()[0])
        bp.add_argument("--device", default="cpu", help="cpu, cuda or auto (default cpu)")
        bp.add_argument("--out", default=None, help="JSON output path (default reports/bench/NAME.json)")
        mod.add_arguments(bp)
        bp.set_defaults(func=_runner(name, mod))


def _runner(name, mod):
    def run(args) -> int:
        result = mod.run(args)
        path = write_result(name, result, args.out)
        print(json.dumps(result.get("summary", result), indent=2, default=float))
        print(f"wrote {path}")
        return 0

    return run
