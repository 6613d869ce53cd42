"""The papermill batch runner behind ``calolib reports``.

For each selected notebook, in dependency order: ``jupytext.read`` -> inject the preset's parameters
-> ``papermill.execute_notebook`` (kernel ``python3``, a per-cell timeout) -> ``<out>/<name>.ipynb``,
``<out>/<name>.html`` (code hidden), key figures under ``<out>/figures/`` and a card in
``<out>/index.html``.  A failing notebook is recorded with the last line of its error and the others
still run; notebooks whose dependency failed in the same run are skipped.  Each notebook is driven
from a fresh worker process (so kernel sockets and event loops never leak into the caller); with
``jobs > 1`` independent notebooks run side by side.

Before anything runs, the data files the notebooks will read are checked: the default embedded dataset
(``data/synthetic_ds2.h5``) is built when missing and ``build_default_data`` is set (``calolib reports``
does, as ``make reports`` does); any other missing data file is one clear error.  The run's
provenance (:mod:`calolib.reports.provenance`) is recorded on every card and page.  Kernels keep
the runner's working directory (``CALOLIB_KEEP_CWD=1``): relative paths resolve against ``cwd``.
"""
from __future__ import annotations

import os
import time
from collections.abc import Iterable, Mapping
import multiprocessing
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from pathlib import Path
from typing import Any

from calolib.errors import ConfigError
from calolib.reports.catalog import (DEPENDS, NOTEBOOKS, PRESETS, find_notebooks, notebook_parameters,
                                     notebook_title, read_notebook, resolve_parameters)
from calolib.reports.index import ReportResult, write_index
from calolib.reports.pages import export_html, extract_figures, page_header

__all__ = ["run_reports", "run_notebook", "plan", "default_jobs", "check_data", "DEFAULT_DATA"]

#: The embedded default dataset every preset reads (built by ``make data`` / ``calolib data make``).
DEFAULT_DATA = "data/synthetic_ds2.h5"


def __dir__():
    return __all__


def plan(names: Iterable[str], depends: Mapping[str, Iterable[str]] | None = None) -> list[str]:
    """Order ``names`` so that every notebook comes after its dependencies (stable otherwise).

    Example:
        >>> plan(["03_evaluate", "01_data", "02_train"], {"03_evaluate": ["02_train"]})
        ['01_data', '02_train', '03_evaluate']
    """
    names = list(names)
    deps = {n: [d for d in (depends if depends is not None else DEPENDS).get(n, ()) if d in names] for n in names}
    rank = {n: i for i, n in enumerate(NOTEBOOKS)}
    todo = sorted(names, key=lambda n: (rank.get(n, len(rank)), n))
    done: list[str] = []
    while todo:
        ready = [n for n in todo if all(d in done for d in deps[n])]
        if not ready:
            raise ConfigError(f"circular notebook dependencies among {todo}")
        done.append(ready[0])
        todo.remove(ready[0])
    return done


def _last_line(exc: BaseException, nb=None, timeout: float | None = None) -> str:
    """One line saying what went wrong: the exception's last meaningful line (a separator such as
    ``-----`` is not one), or for a cell time-out which cell ran past the limit."""
    from nbclient.exceptions import CellTimeoutError
    from papermill.exceptions import PapermillExecutionError

    if isinstance(exc, CellTimeoutError):
        return _timeout_line(str(exc), nb, timeout)
    if isinstance(exc, PapermillExecutionError):
        text = f"{exc.ename}: {exc.evalue}"
    else:
        text = f"{type(exc).__name__}: {exc}"
    lines = [ln.strip() for ln in text.strip().splitlines() if any(ch.isalnum() for ch in ln)]
    return lines[-1] if lines else type(exc).__name__


def _timeout_line(message: str, nb=None, timeout: float | None = None) -> str:
    """``cell K (first code line) ran past the per-cell limit of T s; raise --timeout`` from nbclient's message."""
    parts = message.split("-------------------")
    preview = parts[1].strip() if len(parts) >= 3 else ""
    where = ""
    if nb is not None and preview:
        for k, cell in enumerate(nb.cells, start=1):
            src = cell.source.strip()
            if cell.cell_type == "code" and src and (src in preview or str(src.split("\n")[:5]) in preview):
                where = f"cell {k} "
                break
    code = next((ln.strip() for ln in preview.splitlines()
                 if ln.strip() and not ln.strip().startswith(("#", "import ", "from "))), "")
    if code.startswith("[") and "', '" in code:  # nbclient previews long cells as a list of lines
        code = code.strip("[]'\"").split("', '")[0]
    code = code if len(code) <= 80 else code[:79] + "…"
    limit = f"{timeout:g} s" if timeout else "the time limit"
    return (f"TimeoutError: {where}" + (f"({code}) " if code else "")
            + f"ran past the per-cell limit of {limit}; raise it with --timeout")


def run_notebook(path: str | Path, out_dir: str | Path, parameters: Mapping[str, Any] | None = None, *,
                 timeout: float | None = 1800, cwd: str | Path | None = None, kernel_name: str = "python3",
                 n_figures: int = 2, provenance: Mapping[str, Any] | None = None) -> ReportResult:
    """Execute one notebook with papermill and write its ipynb, HTML and key figures under ``out_dir``.

    Never raises for a failure inside the notebook: the returned record says ``status="failed"``.
    ``timeout`` is papermill's per-cell execution limit in seconds (``None``: no limit);
    ``provenance`` is shown in the page's top bar and kept on the record.
    """
    import papermill as pm

    path, out_dir = Path(path), Path(out_dir)
    name = path.stem
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / f"{name}.results.json").unlink(missing_ok=True)  # never report a stale result
    out_ipynb = out_dir / f"{name}.ipynb"
    params = dict(parameters or {})
    record = ReportResult(name=name, parameters=params, provenance=dict(provenance or {}))
    t0 = time.perf_counter()
    nb = None
    try:
        nb = read_notebook(path)
        record.title = notebook_title(nb, name)
        run_cwd = str(Path(cwd) if cwd is not None else Path.cwd())
        pm.execute_notebook(nb, str(out_ipynb), parameters=params, kernel_name=kernel_name, progress_bar=False,
                            execution_timeout=timeout, resources={"metadata": {"path": run_cwd}})
    except Exception as exc:  # noqa: BLE001 - any failure becomes a red card, the batch goes on
        record.status, record.error = "failed", _last_line(exc, nb, timeout)
    record.duration_s = time.perf_counter() - t0
    record.finished = time.strftime("%Y-%m-%d %H:%M:%S")
    if out_ipynb.exists():
        import nbformat

        try:
            executed = nbformat.read(str(out_ipynb), as_version=4)
            title = record.title or name
            header = page_header(title, name=name, parameters=params, provenance=record.provenance)
            record.html = export_html(executed, out_dir / f"{name}.html", title=title, header=header).name
            record.ipynb = out_ipynb.name
            record.figures = [f"figures/{p.name}" for p in extract_figures(executed, out_dir / "figures", name, n_figures)]
        except Exception as exc:  # noqa: BLE001
            record.status = "failed"
            record.error = record.error or f"HTML export failed: {_last_line(exc)}"
    results_path = out_dir / f"{name}.results.json"
    if results_path.exists():
        import json

        try:
            record.results = json.loads(results_path.read_text())
        except ValueError:
            record.results = {}
    return record


def _run_in_worker(path, out_dir, parameters, timeout, cwd, provenance=None) -> ReportResult:
    """:func:`run_notebook` inside a dedicated worker process, whose stderr (and so the kernel's: ipykernel
    start-up warnings, crash messages) goes to ``<out_dir>/_work/<name>.kernel.log`` instead of the terminal."""
    import sys

    os.environ["CALOLIB_KEEP_CWD"] = "1"  # the kernel inherits it: setup() leaves the working directory alone
    log = Path(out_dir) / "_work" / f"{Path(path).stem}.kernel.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "w") as fh:
        sys.stderr.flush()
        os.dup2(fh.fileno(), 2)
        record = run_notebook(path, out_dir, parameters, timeout=timeout, cwd=cwd, provenance=provenance)
    if record.status == "failed" and "Kernel" in (record.error or ""):  # a dead kernel leaves its story there
        record.error += f" (kernel log: _work/{log.name})"
    return record


def run_reports(preset: str = "quick", only: Iterable[str] | None = None, out_dir: str | Path = "reports",
                params_overrides: Mapping[str, Any] | None = None, timeout: float | None = 1800, jobs: int = 1,
                progress: bool = True, *, notebooks_dir: str | Path | None = None,
                depends: Mapping[str, Iterable[str]] | None = None, cwd: str | Path | None = None,
                build_default_data: bool = False) -> list[ReportResult]:
    """Run the study notebooks with papermill and write ``<out_dir>/index.html``.

    Args:
        preset: a key of :data:`~calolib.reports.catalog.PRESETS` (``"tiny"``, ``"quick"``, ``"full"``).
        only: notebook names to run (default: all found in ``notebooks_dir``).
        out_dir: where ipynb/HTML/figures/results/index go.
        params_overrides: ``{NAME: value}`` for every notebook declaring NAME, ``{"NB.NAME": value}`` for one.
        timeout: per-cell execution limit in seconds.
        jobs: how many notebooks may run at once (dependencies respected).
        progress: print a progress bar and one line per finished notebook.
        notebooks_dir: folder of Jupytext ``.py`` notebooks (default: the repository's ``notebooks/``).
        depends: dependency map (default :data:`~calolib.reports.catalog.DEPENDS`).
        cwd: working directory of the kernels (default: the current directory); relative paths resolve there.
        build_default_data: build the embedded dataset :data:`DEFAULT_DATA` when a notebook reads it and it
            is missing (otherwise a missing data file is a :class:`~calolib.errors.ShowerFileError`).

    Returns:
        one :class:`ReportResult` per notebook, in run order.
    """
    if preset not in PRESETS:
        raise ConfigError(f"unknown preset {preset!r}; choose one of {', '.join(PRESETS)}")
    found = find_notebooks(notebooks_dir)
    only = list(only) if only else None
    if only:
        unknown = [n for n in only if n not in found]
        if unknown:
            raise ConfigError(f"unknown notebook(s) {', '.join(unknown)}; available: {', '.join(found)}")
    order = plan(only or list(found), depends)
    deps = {n: [d for d in (depends if depends is not None else DEPENDS).get(n, ()) if d in order] for n in order}
    out_dir = Path(out_dir)
    overrides = dict(params_overrides or {})
    declared = {n: [p.name for p in notebook_parameters(found[n])] for n in order}
    _check_overrides(overrides, declared)
    context = {"out_dir": str(out_dir), "preset": preset}
    params = {n: resolve_parameters(n, declared[n], PRESETS[preset], overrides, context=context) for n in order}
    for n in order:
        if "out_dir" in declared[n]:
            params[n]["out_dir"] = str(out_dir)
    base = Path(cwd) if cwd is not None else Path.cwd()
    data_files = check_data(params, base, build_default=build_default_data, progress=progress)

    from calolib.reports.provenance import collect

    labels = [(os.path.relpath(f, base) if f.resolve().is_relative_to(base.resolve()) else str(f), f) for f in data_files]
    provenance = collect(labels, preset=preset, exclude=[out_dir], cache_file=out_dir / "_work" / "sha256.json")

    from tqdm.auto import tqdm

    bar = tqdm(total=len(order), desc="reports", unit="nb", disable=not progress)
    results: dict[str, ReportResult] = {}

    def finish(rec: ReportResult) -> None:
        results[rec.name] = rec
        bar.update(1)
        if progress:
            bar.write(f"{rec.name:<24} {rec.status:<7} {rec.duration_s:7.1f} s" + (f"  {rec.error}" if rec.error else ""))
        write_index([rec], out_dir, preset=preset, order=list(found), provenance=provenance)

    def skip_reason(n: str) -> str | None:  # "02_train failed" (the CLI and the card add "skipped: ")
        bad = [d for d in deps[n] if d in results and not results[d].ok]
        return ", ".join(f"{d} {results[d].status}" for d in bad) if bad else None

    pending = list(order)
    running: dict[Future, str] = {}
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=max(1, int(jobs)), mp_context=ctx, max_tasks_per_child=1) as pool:
        while pending or running:
            for n in [n for n in pending if all(d in results for d in deps[n])]:
                if len(running) >= max(1, int(jobs)):
                    break
                pending.remove(n)
                reason = skip_reason(n)
                if reason:
                    finish(ReportResult(name=n, title=notebook_title(read_notebook(found[n]), n), status="skipped",
                                        error=reason, parameters=params[n], provenance=provenance))
                    continue
                try:
                    running[pool.submit(_run_in_worker, found[n], out_dir, params[n], timeout, cwd, provenance)] = n
                except Exception as exc:  # noqa: BLE001 - a broken pool (a worker was killed): record, go on
                    finish(ReportResult(name=n, status="failed", error=f"not started: {_last_line(exc)}",
                                        parameters=params[n], provenance=provenance))
            if not running:
                continue
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for fut in done:
                n = running.pop(fut)
                try:
                    finish(fut.result())
                except Exception as exc:  # noqa: BLE001 - the worker process died (e.g. out of memory)
                    finish(ReportResult(name=n, status="failed", error=f"worker process died: {_last_line(exc)}",
                                        parameters=params[n], provenance=provenance))
    bar.close()
    return [results[n] for n in order]


def check_data(params: Mapping[str, Mapping[str, Any]], base: str | Path, *, build_default: bool = False,
               progress: bool = True) -> list[Path]:
    """The data files the notebooks will read (their ``data_path`` parameters, relative ones against ``base``).

    A missing :data:`DEFAULT_DATA` is built (the embedded synthetic dataset, as ``make data`` does) when
    ``build_default``; any other missing file raises :class:`~calolib.errors.ShowerFileError` naming the
    notebooks that read it, before anything runs.

    Example:
        >>> import tempfile
        >>> d = Path(tempfile.mkdtemp()); _ = (d / "x.h5").write_bytes(b"")
        >>> [p.name for p in check_data({"01_data": {"data_path": "x.h5"}, "08_annealer": {}}, d)]
        ['x.h5']
    """
    from calolib.errors import ShowerFileError

    readers: dict[str, list[str]] = {}
    for n, p in params.items():
        if isinstance(p.get("data_path"), str) and p["data_path"]:
            readers.setdefault(p["data_path"], []).append(n)
    files = []
    for rel, names in readers.items():
        path = Path(rel) if Path(rel).is_absolute() else Path(base) / rel
        if not path.exists():
            is_default = Path(rel).as_posix() == DEFAULT_DATA or path.resolve() == (Path(base) / DEFAULT_DATA).resolve()
            if not (is_default and build_default):
                hint = ("build it with `make data` or `calolib data make --out " + DEFAULT_DATA + "`" if is_default
                        else "check the path (relative paths start at " + str(base) + ") or pass -p data_path FILE")
                raise ShowerFileError(f"data file {rel!r} read by {', '.join(names)} not found; {hint}")
            from calolib.commands.data import make

            if progress:
                print(f"{rel} is missing: building the embedded synthetic dataset (as `make data` does)", flush=True)
            path.parent.mkdir(parents=True, exist_ok=True)
            make(path, progress=progress)
        files.append(path)
    return files


def _check_overrides(overrides: Mapping[str, Any], declared: Mapping[str, list[str]]) -> None:
    for key in overrides:
        target, _, param = key.rpartition(".")
        if target and target not in declared:
            raise ConfigError(f"-p {key}: notebook {target!r} is not selected or does not exist")
        if not target and not any(param in names for names in declared.values()):
            raise ConfigError(f"-p {key}: no selected notebook has a parameter {param!r}; see `calolib reports --list`")


def default_jobs() -> int:
    """A sensible ``--jobs`` default: 2 when at least 4 cores are free to share, else 1."""
    return 2 if (os.cpu_count() or 1) >= 4 else 1
