"""The ``calolib`` command line.

Each sub-command lives in its own module under :mod:`calolib.commands` and exposes
``register(subparsers)``; modules are imported lazily so ``calolib --help`` is fast.
Errors that are :class:`calolib.errors.CalolibError` (a ``ValueError``) print one line on
stderr and exit with code 2, without a traceback.
"""
from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

__all__ = ["main", "build_parser"]

#: sub-command name -> module in calolib.commands providing ``register(subparsers)``
COMMANDS: dict[str, str] = {
    "data": "calolib.commands.data",
    "train": "calolib.commands.train",
    "generate": "calolib.commands.generate",
    "reports": "calolib.commands.reports",
    "bench": "calolib.commands.bench",
    "evaluate": "calolib.commands.evaluate",
    "sweep": "calolib.commands.sweep",
}


def build_parser() -> argparse.ArgumentParser:
    """Build the full argument parser (every sub-command registered)."""
    from calolib import __version__

    parser = argparse.ArgumentParser(
        prog="calolib",
        description="Quantum-assisted VAE study suite for calorimeter showers (CaloChallenge format).",
    )
    parser.add_argument("--version", action="version", version=f"calolib {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module in COMMANDS.items():
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError as exc:  # a command module not written yet
            if exc.name != module:
                raise
            continue
        mod.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``calolib`` console script; returns the exit code."""
    from calolib.errors import CalolibError

    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        rc = args.func(args)
    except (CalolibError, FileNotFoundError) as exc:
        print(f"calolib: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("calolib: interrupted", file=sys.stderr)
        return 130
    return int(rc or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
