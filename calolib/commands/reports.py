"""``calolib reports``: run the study notebooks with papermill into HTML reports and an index page.

Examples::

    calolib reports                         # every notebook, preset quick, into reports/
    calolib reports --list                  # each notebook's parameters (papermill --help-notebook style)
    calolib reports --only 01_data --only 07_autocorrelation -p seed 3 -p 01_data.n_events 500

When the default data file ``data/synthetic_ds2.h5`` is missing it is built first (the embedded synthetic
dataset, as ``make reports`` does); a missing ``-p data_path FILE`` is an error and nothing runs.
"""
from __future__ import annotations

import argparse
import sys

__all__ = ["register", "run", "format_listing"]


def __dir__():
    return __all__


def register(sub: argparse._SubParsersAction) -> None:
    from calolib.reports.catalog import PRESETS

    p = sub.add_parser("reports", help="regenerate the study reports (papermill -> HTML + index)",
                       description="Run the study notebooks with papermill and write HTML reports plus index.html.")
    p.add_argument("--preset", default="quick", choices=list(PRESETS),
                   help="parameter preset: tiny (tests), quick (2 CPU cores, ~12 min), full (GPU) [quick]")
    p.add_argument("--only", action="append", metavar="NAME", default=None,
                   help="run only this notebook (repeatable), e.g. --only 01_data")
    p.add_argument("--list", action="store_true", help="list the notebooks and their parameters, run nothing")
    p.add_argument("--out", default="reports", metavar="DIR", help="output folder [reports]")
    p.add_argument("-p", "--parameter", nargs=2, action="append", metavar=("NAME", "VALUE"), dest="parameters",
                   help="override a parameter (VALUE read as YAML); NAME for all notebooks, NOTEBOOK.NAME for one")
    p.add_argument("--jobs", type=int, default=None, metavar="N",
                   help="notebooks run at once when independent [2 on >=4 cores, else 1]")
    p.add_argument("--timeout", type=float, default=1800, metavar="S", help="per-cell time limit in seconds [1800]")
    p.add_argument("--notebooks", default=None, metavar="DIR", help="folder of the .py notebooks [repo notebooks/]")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.set_defaults(func=run)


def format_listing(notebooks_dir=None, preset: str = "quick") -> str:
    """Text describing every notebook: title, dependencies and parameters (type, default, preset value, help)."""
    from calolib.reports.catalog import DEPENDS, PRESETS, find_notebooks, notebook_parameters, notebook_title, read_notebook
    from calolib.reports.catalog import resolve_parameters

    lines = []
    for name, path in find_notebooks(notebooks_dir).items():
        nb = read_notebook(path)
        params = notebook_parameters(nb)
        lines.append(f"{name}: {notebook_title(nb, name)}")
        if DEPENDS.get(name):
            lines.append(f"  (runs after {', '.join(DEPENDS[name])})")
        chosen = resolve_parameters(name, [q.name for q in params], PRESETS[preset],
                                    context={"out_dir": "reports", "preset": preset})
        if not params:
            lines.append("  no cell tagged 'parameters'")
        for q in params:
            type_ = q.type if q.type != "None" else "unknown type"
            extra = ""
            if q.name == "out_dir":
                extra = "; set by --out"
            elif q.name in chosen and not _same(chosen[q.name], q.default):
                extra = f"; preset {preset}: {chosen[q.name]!r}"
            lines.append(f"  {q.name}: {type_} (default {q.default}{extra})")
            if q.help:
                lines.append(f"      {q.help}")
        lines.append("")
    return "\n".join(lines)


def _same(value, default_source: str) -> bool:
    import ast

    try:
        return ast.literal_eval(default_source) == value
    except (ValueError, SyntaxError):
        return False


def run(args: argparse.Namespace) -> int:
    from calolib.reports.catalog import parse_overrides
    from calolib.reports.runner import default_jobs, run_reports

    if args.list:
        print(format_listing(args.notebooks, args.preset))
        return 0
    results = run_reports(
        preset=args.preset,
        only=args.only,
        out_dir=args.out,
        params_overrides=parse_overrides(args.parameters),
        timeout=args.timeout,
        jobs=args.jobs if args.jobs is not None else default_jobs(),
        progress=not args.quiet,
        notebooks_dir=args.notebooks,
        build_default_data=True,  # a fresh checkout has no data/synthetic_ds2.h5 yet: build it, as `make reports` does
    )
    failed = [r for r in results if not r.ok]
    print(f"{len(results) - len(failed)}/{len(results)} reports ok; index: {args.out}/index.html")
    for r in failed:
        print(f"  {r.name}: {r.status}: {r.error}", file=sys.stderr)
    return 1 if failed else 0
