"""The ``calolib`` command line.

Each sub-command lives in its own module under :mod:`calolib.commands` and exposes
``register(subparsers)``; modules are imported lazily so ``calolib --help`` is fast.
Errors that are :class:`calolib.errors.CalolibError` (a ``ValueError``) print one line on
stderr and exit with code 2, without a traceback; so do the operating system's refusals that no check
could foresee (a disk that fills up meanwhile, a directory made read-only) and running out of memory.
SIGINT exits with 130 and SIGTERM with 143, after the atomic writers removed their temporaries.
:class:`calolib.errors.CalolibWarning` warnings print as one ``calolib: warning:`` line each.
"""
from __future__ import annotations

import argparse
import contextlib
import importlib
import signal
import sys
import warnings
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


class Terminated(BaseException):
    """Raised by the SIGTERM handler, so ``finally`` blocks (temp-file removal, lock release) run."""


@contextlib.contextmanager
def _signals_and_warnings():
    """SIGTERM -> :class:`Terminated`; calolib warnings -> one ``calolib: warning:`` line (restored after)."""
    from calolib.errors import CalolibWarning

    def on_term(signum, frame):
        raise Terminated()

    old_show = warnings.showwarning

    def show(message, category, filename, lineno, file=None, line=None):
        if issubclass(category, CalolibWarning):
            print(f"calolib: warning: {' '.join(str(message).split())}", file=sys.stderr)
        else:
            old_show(message, category, filename, lineno, file, line)

    old_term = None
    try:
        old_term = signal.signal(signal.SIGTERM, on_term)
    except ValueError:  # not the main thread: leave signals alone
        pass
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("default", CalolibWarning)  # a line on stderr, even under -W error
            warnings.showwarning = show
            yield
    finally:
        warnings.showwarning = old_show
        if old_term is not None:
            signal.signal(signal.SIGTERM, old_term)


def _error(msg: str) -> int:
    print(f"calolib: error: {' '.join(str(msg).split())}", file=sys.stderr)
    return 2


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``calolib`` console script; returns the exit code."""
    import os

    # OpenMP threads that spin while waiting starve each other on a shared machine: small torch ops ran 10-40x
    # slower at 2 threads under load (a training epoch 117 s instead of 10 s).  Set before torch is imported.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    rc = _main(argv)
    writer = sys.modules.get("calolib.io.writer")
    if argv is None and writer is not None and writer.UNCLOSABLE:  # the console script after a failed HDF5 write:
        import os  # freeing that handle can crash HDF5 (a segfault at exit); the temporary is already removed

        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(rc)
    return rc


def _main(argv: Sequence[str] | None) -> int:
    from calolib.errors import CalolibError

    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    with _signals_and_warnings():
        try:
            rc = args.func(args)
        except CalolibError as exc:
            return _error(str(exc))
        except FileNotFoundError as exc:
            return _error(str(exc))
        except OSError as exc:  # refused by the system mid-run: full disk, read-only directory, ...
            from calolib.io.files import os_error_message

            return _error(os_error_message(exc))
        except MemoryError as exc:
            return _error(f"out of memory ({exc or 'allocation failed'}); use fewer events, a smaller batch or fewer chains")
        except RuntimeError as exc:  # torch's allocators raise RuntimeError subclasses
            text = str(exc)
            if "out of memory" in text.lower() or "can't allocate memory" in text.lower():
                return _error(f"out of memory ({text.splitlines()[0][:120]}); use fewer events, a smaller batch or "
                              "fewer chains")
            raise
        except KeyboardInterrupt:
            print("calolib: interrupted", file=sys.stderr)
            return 130
        except Terminated:
            print("calolib: terminated (SIGTERM)", file=sys.stderr)
            return 143
    return int(rc or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
