"""Parameterised study reports: Jupytext notebooks run by papermill into HTML, with an index page.

The studies live in ``notebooks/NN_name.py`` (Jupytext percent format, a ``parameters`` cell each).
:func:`run_reports` executes them in dependency order with a preset's parameters (``tiny`` for
tests, ``quick`` for ``make reports`` on a laptop, ``full`` for a GPU), writes ``reports/<name>.html``
with the code hidden, and ``reports/index.html`` with every report's status, parameters, duration,
key numbers and figures.  ``calolib reports --list`` documents each notebook's parameters.

Example:
    >>> from calolib.reports import PRESETS, NOTEBOOKS
    >>> "quick" in PRESETS and NOTEBOOKS[0]
    '01_data'
"""
from calolib.reports.catalog import (DEPENDS, NOTEBOOKS, PRESETS, NotebookParameter, find_notebooks,
                                     notebook_parameters, notebook_title, parse_override, parse_overrides,
                                     read_notebook, resolve_parameters)
from calolib.reports.index import ReportResult, export_html, extract_figures, write_index
from calolib.reports.notebook import save_results, setup
from calolib.reports.runner import default_jobs, plan, run_notebook, run_reports

__all__ = [
    "DEPENDS",
    "NOTEBOOKS",
    "PRESETS",
    "NotebookParameter",
    "ReportResult",
    "default_jobs",
    "export_html",
    "extract_figures",
    "find_notebooks",
    "notebook_parameters",
    "notebook_title",
    "parse_override",
    "parse_overrides",
    "plan",
    "read_notebook",
    "resolve_parameters",
    "run_notebook",
    "run_reports",
    "save_results",
    "setup",
    "write_index",
]


def __dir__():
    return __all__
