"""Helpers that the study notebooks call (and nothing else): set up plotting, write results.

Each notebook starts with :func:`setup` (inline figures even when ``MPLBACKEND=agg`` is set, the
calolib plot style, and paths that mean the same wherever the kernel was started) and ends with
:func:`save_results`, which writes ``<out_dir>/<name>.results.json`` holding the study's key numbers;
the report index shows them and the tests assert on them.

Paths in the notebooks (``data/synthetic_ds2.h5``, ``reports/runs/quick``) are relative to the project
root.  JupyterLab starts a notebook's kernel in the notebook's folder (``notebooks/``), so
:func:`setup` moves the kernel's working directory to the project root when it finds itself inside the
project tree (:func:`project_cwd`); ``calolib reports`` sets ``CALOLIB_KEEP_CWD=1`` so its kernels keep
the working directory the runner chose.
"""
from __future__ import annotations

import json
import os
import warnings
from pathlib import Path

from calolib.jsonutil import to_jsonable

__all__ = ["training_config", "setup", "project_cwd", "save_results", "to_jsonable", "rbm_snapshot_callback", "load_rbm_snapshots",
           "clear_run_dir", "RUN_FILES"]


def __dir__():
    return __all__


def project_cwd(root: str | Path | None = None, *, cwd: str | Path | None = None) -> Path | None:
    """The directory relative notebook paths should resolve against, when it is not the working directory.

    That is the project ``root`` (default: the checkout holding calolib, see
    :func:`calolib.reports.provenance.project_root`) when the working directory ``cwd`` lies strictly
    inside it (``notebooks/``, where JupyterLab starts kernels); ``None`` otherwise — at the root
    itself, outside the project, for an installed (non-checkout) calolib, or when the environment
    variable ``CALOLIB_KEEP_CWD`` is set.

    Example:
        >>> import tempfile
        >>> root = Path(tempfile.mkdtemp()).resolve(); (root / "notebooks").mkdir()
        >>> project_cwd(root, cwd=root / "notebooks") == root, project_cwd(root, cwd=root), project_cwd(root, cwd="/")
        (True, None, None)
    """
    from calolib.reports.provenance import project_root

    if os.environ.get("CALOLIB_KEEP_CWD"):
        return None
    root = Path(root).resolve() if root is not None else project_root()
    if root is None:
        return None
    here = Path(cwd if cwd is not None else Path.cwd()).resolve()
    return root if here != root and root in here.parents else None


def setup(*, chdir: bool = True) -> None:
    """Show figures inline when running in IPython/papermill, apply the calolib style, and (``chdir``)
    move the working directory to the project root when the kernel started inside the project tree
    (:func:`project_cwd`), so ``data/…`` and ``reports/…`` paths work from JupyterLab too.

    Example:
        >>> setup(chdir=False)  # outside IPython only the style is applied
    """
    from calolib.plotting import style

    target = project_cwd() if chdir else None
    if target is not None:
        old = Path.cwd()
        os.chdir(target)
        print(f"calolib: working directory {old} -> project root {target} (notebook paths are relative to it)")

    try:
        from IPython import get_ipython

        ip = get_ipython()
    except ImportError:  # pragma: no cover - IPython ships with ipykernel
        ip = None
    if ip is not None and getattr(ip, "kernel", None) is not None:  # a notebook kernel: tune it for reports
        ip.run_line_magic("matplotlib", "inline")
        warnings.filterwarnings("ignore", message="Glyph .* missing from font", category=UserWarning)
    style.use_style()


def save_results(out_dir: str | Path, name: str, results: dict, *, show: bool = True) -> Path:
    """Write ``results`` as ``<out_dir>/<name>.results.json``; returns the path.

    With ``show`` (and inside IPython) the scalar entries are also displayed as a Markdown table.

    Example:
        >>> import tempfile, json
        >>> p = save_results(tempfile.mkdtemp(), "01_data", {"n_events": 3})
        >>> json.loads(p.read_text())["n_events"], p.name
        (3, '01_data.results.json')
    """
    path = Path(out_dir) / f"{name}.results.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    clean = to_jsonable(results)
    path.write_text(json.dumps(clean, indent=2))
    if show:
        _show_table(clean)
    return path


def _show_table(results: dict) -> None:
    try:
        from IPython import get_ipython
        from IPython.display import Markdown, display
    except ImportError:  # pragma: no cover
        return
    if get_ipython() is None:
        return
    rows = []
    for k, v in results.items():
        if isinstance(v, float):
            rows.append(f"| {k} | {v:.5g} |")
        elif isinstance(v, (int, str, bool)) or v is None:
            rows.append(f"| {k} | {v} |")
    display(Markdown("\n".join(["**Key numbers** (also in `results.json`)", "", "| quantity | value |", "|---|---|", *rows])))


def training_config(preset: str, *, seed: int = 0, epochs: int = 0, max_events: int = 0, overrides=()):
    """The TrainConfig the training reports (02, 02_controls) use: ``preset`` with ``seed``, ``epochs`` and
    ``max_events`` (0 keeps the preset's) and ``overrides`` (``"key=value"`` or ``"key: value"`` strings).

    Example:
        >>> training_config("quick", epochs=2, overrides=["lr: 1e-3"]).lr, training_config("quick", epochs=2).epochs
        (0.001, 2)
    """
    from calolib.training import apply_overrides, get_preset

    changes = {"seed": int(seed)}
    if epochs:
        changes["epochs"] = int(epochs)
    if max_events:
        changes["max_events"] = int(max_events)
    return apply_overrides(apply_overrides(get_preset(preset), changes),
                           [o if "=" in o else o.replace(":", "=", 1) for o in overrides])


def rbm_snapshot_callback(run_dir: str | Path):
    """A :func:`calolib.training.train` callback saving the RBM of every epoch to ``run_dir/rbm_epochs/``.

    Each file holds ``{"epoch", "config" (RBMConfig dict), "state" (state_dict)}`` — a few hundred kB —
    so the prior's evolution (SVD spectra vs epoch, 04_rbm) can be studied without keeping every
    full checkpoint.  The callback never stops training (returns ``None``).
    """
    run_dir = Path(run_dir)

    def callback(epoch: int, row: dict) -> None:
        import torch

        from calolib.training import load_checkpoint

        rbm = load_checkpoint(run_dir / "last.pt").model.rbm
        folder = run_dir / "rbm_epochs"
        folder.mkdir(parents=True, exist_ok=True)
        torch.save({"epoch": int(epoch), "config": rbm.config.to_dict(), "state": rbm.state_dict()},
                   folder / f"epoch_{int(epoch):04d}.pt")

    return callback


def load_rbm_snapshots(run_dir: str | Path) -> list:
    """The RBMs saved by :func:`rbm_snapshot_callback`, sorted by epoch, as ``[(epoch, RBM), ...]``."""
    import torch

    from calolib.rbm import RBM

    out = []
    for path in sorted((Path(run_dir) / "rbm_epochs").glob("epoch_*.pt")):
        snap = torch.load(path, map_location="cpu", weights_only=True)
        out.append((int(snap["epoch"]), RBM.from_config(snap["config"], snap["state"])))
    return out


#: Files and folders a training run writes (what :func:`clear_run_dir` may delete).
RUN_FILES = ("last.pt", "best.pt", "history.csv", "history.json", "config.json", "rbm_epochs")


def clear_run_dir(run_dir: str | Path) -> list[str]:
    """Delete the training outputs in ``run_dir`` (only :data:`RUN_FILES`, nothing else) so a fresh run can start.

    Returns the names removed.  Never touches other files, so a mistyped ``run_dir`` cannot wipe a folder.

    Example:
        >>> import tempfile
        >>> d = Path(tempfile.mkdtemp()); _ = (d / "last.pt").write_bytes(b"x"); _ = (d / "notes.txt").write_text("keep")
        >>> clear_run_dir(d), sorted(p.name for p in d.iterdir())
        (['last.pt'], ['notes.txt'])
    """
    import shutil

    removed = []
    for name in RUN_FILES:
        p = Path(run_dir) / name
        if p.is_dir():
            shutil.rmtree(p)
        elif p.exists():
            p.unlink()
        else:
            continue
        removed.append(name)
    return removed
