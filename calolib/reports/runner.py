"""The papermill batch runner behind ``calolib reports``.

For each selected notebook, in dependency order: ``jupytext.read`` -> inject the preset's parameters
-> ``papermill.execute_notebook`` (kernel ``python3``, a per-cell timeout) -> ``<out>/<name>.ipynb``,
``<out>/<name>.html`` (code hidden), key figures under ``<out>/figures/`` and a card in
``<out>/index.html``.  A failing notebook is recorded with the last line of its error and the others
still run; notebooks whose dependency failed in the same run are skipped.  Each notebook is driven
from a fresh worker process (so kernel sockets and event loops never leak into the caller); with
``jobs > 1`` independent notebooks run side by side.
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
from calolib.reports.index import ReportResult, export_html, extract_figures, write_index

__all__ = ["run_reports", "run_notebook", "plan", "default_jobs"]


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


def _last_line(exc: BaseException) -> str:
    from papermill.exceptions import PapermillExecutionError

    if isinstance(exc, PapermillExecutionError):
        text = f"{exc.ename}: {exc.evalue}"
    else:
        text = f"{type(exc).__name__}: {exc}"
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    return lines[-1] if lines else type(exc).__name__


def run_notebook(path: str | Path, out_dir: str | Path, parameters: Mapping[str, Any] | None = None, *,
                 timeout: float | None = 1800, cwd: str | Path | None = None, kernel_name: str = "python3",
                 n_figures: int = 2) -> ReportResult:
    """Execute one notebook with papermill and write its ipynb, HTML and key figures under ``out_dir``.

    Never raises for a failure inside the notebook: the returned record says ``status="failed"``.
    ``timeout`` is papermill's per-cell execution limit in seconds (``None``: no limit).
    """
    import papermill as pm

    path, out_dir = Path(path), Path(out_dir)
    name = path.stem
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / f"{name}.results.json").unlink(missing_ok=True)  # never report a stale result
    out_ipynb = out_dir / f"{name}.ipynb"
    params = dict(parameters or {})
    record = ReportResult(name=name, parameters=params)
    t0 = time.perf_counter()
    try:
        nb = read_notebook(path)
        record.title = notebook_title(nb, name)
        run_cwd = str(Path(cwd) if cwd is not None else Path.cwd())
        pm.execute_notebook(nb, str(out_ipynb), parameters=params, kernel_name=kernel_name, progress_bar=False,
                            execution_timeout=timeout, resources={"metadata": {"path": run_cwd}})
    except Exception as exc:  # noqa: BLE001 - any failure becomes a red card, the batch goes on
        record.status, record.error = "failed", _last_line(exc)
    record.duration_s = time.perf_counter() - t0
    record.finished = time.strftime("%Y-%m-%d %H:%M:%S")
    if out_ipynb.exists():
        import nbformat

        try:
            executed = nbformat.read(str(out_ipynb), as_version=4)
            record.html = export_html(executed, out_dir / f"{name}.html").name
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


def _run_in_worker(path, out_dir, parameters, timeout, cwd) -> ReportResult:
    """:func:`run_notebook` inside a dedicated worker process, whose stderr (and so the kernel's: ipykernel
    start-up warnings, crash messages) goes to ``<out_dir>/_work/<name>.kernel.log`` instead of the terminal."""
    import sys

    log = Path(out_dir) / "_work" / f"{Path(path).stem}.kernel.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "w") as fh:
        sys.stderr.flush()
        os.dup2(fh.fileno(), 2)
        record = run_notebook(path, out_dir, parameters, timeout=timeout, cwd=cwd)
    if record.status == "failed" and "Kernel" in (record.error or ""):  # a dead kernel leaves its story there
        record.error += f" (kernel log: _work/{log.name})"
    return record


def run_reports(preset: str = "quick", only: Iterable[str] | None = None, out_dir: str | Path = "reports",
                params_overrides: Mapping[str, Any] | None = None, timeout: float | None = 1800, jobs: int = 1,
                progress: bool = True, *, notebooks_dir: str | Path | None = None,
                depends: Mapping[str, Iterable[str]] | None = None, cwd: str | Path | None = None) -> list[ReportResult]:
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

    from tqdm.auto import tqdm

    bar = tqdm(total=len(order), desc="reports", unit="nb", disable=not progress)
    results: dict[str, ReportResult] = {}

    def finish(rec: ReportResult) -> None:
        results[rec.name] = rec
        bar.update(1)
        if progress:
            bar.write(f"{rec.name:<24} {rec.status:<7} {rec.duration_s:7.1f} s" + (f"  {rec.error}" if rec.error else ""))
        write_index([rec], out_dir, preset=preset, order=list(found))

    def skip_reason(n: str) -> str | None:
        bad = [d for d in deps[n] if d in results and not results[d].ok]
        return f"skipped: dependency {', '.join(bad)} failed" if bad else None

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
                                        error=reason, parameters=params[n]))
                    continue
                try:
                    running[pool.submit(_run_in_worker, found[n], out_dir, params[n], timeout, cwd)] = n
                except Exception as exc:  # noqa: BLE001 - a broken pool (a worker was killed): record, go on
                    finish(ReportResult(name=n, status="failed", error=f"not started: {_last_line(exc)}",
                                        parameters=params[n]))
            if not running:
                continue
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for fut in done:
                n = running.pop(fut)
                try:
                    finish(fut.result())
                except Exception as exc:  # noqa: BLE001 - the worker process died (e.g. out of memory)
                    finish(ReportResult(name=n, status="failed", error=f"worker process died: {_last_line(exc)}",
                                        parameters=params[n]))
    bar.close()
    return [results[n] for n in order]


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
