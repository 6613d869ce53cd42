"""Run directories that lose nothing: one training at a time, one commit per epoch, repair on resume.

A run directory holds ``last.pt``, ``best.pt``, ``history.csv``/``history.json`` and ``config.json``.
The rules that keep it consistent whatever happens (``kill -9``, SIGTERM, a full disk, a second
training started by mistake):

* **One training at a time.**  :class:`~calolib.training.runlock.RunDirLock` holds ``RUN_DIR/train.lock``
  (an exclusive ``flock``, so a stale lock file never blocks; see :mod:`calolib.training.runlock`).
* **One commit per epoch.**  ``last.pt`` is the commit point: it holds the whole history, the best
  validation score and which epoch that was (``best_epoch``).  :func:`commit_epoch` writes it first, then
  ``best.pt`` and the history files, which are derived from it.  A crash between those writes leaves them
  one epoch behind, and :func:`repair_run_dir` (run on every resume, even one with nothing left to train)
  rebuilds them from ``last.pt``.
* **Nothing replaced unasked.**  :func:`check_new_run` refuses to start a new run in a directory that
  holds a trained ``best.pt`` or history but no ``last.pt``; :func:`check_same_data` refuses to resume on
  another data file (or another split of it); :func:`check_resumable` refuses a checkpoint with NaN/inf or
  inconsistent counters before anything is trained.  Hidden ``.NAME.tmp-PID`` files of dead writers are
  removed when a training starts.

Example:
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp()); _ = (d / "best.pt").write_bytes(b"trained weights")
    >>> check_new_run(d)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    calolib.errors.RunDirError: ... holds best.pt but no last.pt ...
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import sys
from pathlib import Path

import torch

from calolib.errors import CalolibError, CheckpointError, OutputError, RunDirError
from calolib.io.files import atomic_write, atomic_write_bytes, os_error_message
from calolib.training.runlock import LOCK_NAME, RunDirLock, guarded_run_dir  # re-exported

__all__ = ["LOCK_NAME", "RunDirLock", "guarded_run_dir", "check_new_run", "check_resumable", "restore_training_state",
           "repair_run_dir", "commit_epoch", "best_epoch", "data_fingerprint", "check_same_data", "write_config_json",
           "check_run_memory"]

def __dir__():
    return __all__


# ------------------------------------------------------------------------------------------ checks
def check_new_run(out_dir: str | os.PathLike) -> None:
    """Refuse to start a new run where one would replace a trained ``best.pt`` or history (no ``last.pt``).

    Example:
        >>> import tempfile, pathlib
        >>> d = pathlib.Path(tempfile.mkdtemp()); _ = (d / "best.pt").write_bytes(b"x")
        >>> check_new_run(d)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        calolib.errors.RunDirError: ... holds best.pt but no last.pt ...
    """
    d = Path(out_dir)
    if (d / "best.pt").exists():
        raise RunDirError(f"{d} holds best.pt but no last.pt (a partial or copied run); a new run would replace it: "
                          "move best.pt away or choose another --out")
    try:
        rows = json.loads((d / "history.json").read_text())
    except (OSError, ValueError):
        return
    trained = [r for r in rows if isinstance(r, dict) and (r.get("epoch") or 0) > 0] if isinstance(rows, list) else []
    if trained:
        raise RunDirError(f"{d} holds the history of {len(trained)} trained epoch(s) but no last.pt; a new run would "
                          "replace it: move history.* away or choose another --out")


def check_resumable(path: Path, state: dict) -> None:
    """Refuse (one line) a ``last.pt`` whose counters disagree or whose tensors hold NaN/inf."""
    from calolib.training.checkpoint import nonfinite_tensors

    def bad(what: str):
        raise CheckpointError(f"{path} cannot be resumed: {what}; start a new run in another --out "
                              "(or resume from a copy of an intact last.pt)")

    for key in ("epoch", "step"):
        v = state.get(key, 0)
        if isinstance(v, bool) or not isinstance(v, int) or v < 0:
            bad(f"its {key!r} is {v!r}, not a count")
    hist = state.get("history")
    if not isinstance(hist, list) or not hist or not all(isinstance(r, dict) for r in hist):
        bad("its history is not a list of epoch rows")
    if hist[-1].get("epoch") != state["epoch"]:
        bad(f"its history ends at epoch {hist[-1].get('epoch')!r} but it says {state['epoch']} epochs were trained")
    for key in ("rng", "chains", "optimizer"):
        if not isinstance(state.get(key), dict):
            bad(f"its {key!r} entry is {type(state.get(key)).__name__}, not a table")
    best = state.get("best_val", math.inf)
    if not isinstance(best, (int, float)) or math.isnan(best):
        bad(f"its best validation score is {best!r}")
    found = nonfinite_tensors({k: state[k] for k in ("model", "optimizer", "chains") if k in state})
    if found:
        more = f" and {len(found) - 1} more" if len(found) > 1 else ""
        bad(f"it holds NaN/inf in {found[0]}{more} (the run diverged before it was saved)")


def check_run_memory(config, device) -> None:
    """One line (ConfigError) when the persistent chains or the per-epoch generation check cannot fit in the
    memory of ``device`` (``--set n_neg_chains=100000000`` asked for ~2 TB)."""
    from calolib.checks import available_memory, check_memory, format_bytes
    from calolib.geometry import get_geometry

    chains = config.n_neg_chains * config.model.n_latent * 4 * 4  # states + the sweep's temporaries, float32
    gen = config.gen_check_events * get_geometry(config.model.geometry).n_voxels * 4 * 3
    need = chains + gen
    avail = None
    dev = torch.device(device)
    if dev.type == "cuda":
        try:
            avail = int(torch.cuda.mem_get_info(dev)[0])
        except (RuntimeError, AssertionError):
            avail = None
    else:
        avail = available_memory()
    what = (f"{config.n_neg_chains} persistent chains of {config.model.n_latent} units"
            + (f" and {config.gen_check_events} check showers per epoch" if config.gen_check_events else "")
            + f" ({format_bytes(need)} on {dev.type})")
    check_memory(need, what, "lower n_neg_chains (or gen_check_events)", available=avail)


def restore_training_state(path: Path, state: dict, model, optimizer, negatives) -> tuple[int, int, list[dict], float]:
    """Load model, optimiser, chains and RNGs from a checked ``last.pt``; ``(epoch, step, history, best_val)``.

    Anything that does not fit (wrong shapes, wrong types) is one :class:`CheckpointError` line.
    """
    from calolib.training.checkpoint import set_rng_state

    part = "model"
    try:
        model.load_state_dict(state["model"])
        part = "optimizer state"
        optimizer.load_state_dict(state["optimizer"])
        for group in optimizer.param_groups:
            for p in group["params"]:
                for k, v in optimizer.state.get(p, {}).items():
                    if isinstance(v, torch.Tensor) and v.ndim and v.shape != p.shape:
                        raise ValueError(f"{k} has shape {tuple(v.shape)} for a parameter of shape {tuple(p.shape)}")
        if negatives is not None:  # the RBM prior's persistent chains (the controls have none)
            part = "Gibbs chains"
            negatives.load_state_dict(state["chains"])
            z = negatives.chains.z
            want = (int(negatives.chains.n_chains), int(model.rbm.n_units))
            if tuple(z.shape) != want:
                raise ValueError(f"chains have shape {tuple(z.shape)}, expected {want}")
        part = "random number generator states"
        set_rng_state(state["rng"])
    except CalolibError as exc:
        raise CheckpointError(f"{path} cannot be resumed: its {part} does not fit ({exc})") from None
    except (RuntimeError, KeyError, ValueError, TypeError, IndexError, AttributeError) as exc:
        reason = " ".join(str(exc).split())[:160] or type(exc).__name__
        raise CheckpointError(f"{path} cannot be resumed: its {part} does not fit this run ({reason}); "
                              "start a new run in another --out") from None
    return int(state["epoch"]), int(state.get("step", 0)), list(state["history"]), float(state.get("best_val", math.inf))


# ------------------------------------------------------------------------------------------ data identity
def data_fingerprint(data) -> str:
    """SHA-256 (hex, 16 chars) of the incident energies of both splits and the first preprocessed events:
    the same file and split give the same value on every machine; another file or ``max_events`` does not.

    Example:
        >>> from types import SimpleNamespace as NS
        >>> a = NS(e_train=torch.ones(3), e_val=torch.ones(1), x_train=torch.zeros(3, 2), x_val=torch.zeros(1, 2))
        >>> data_fingerprint(a) == data_fingerprint(a), len(data_fingerprint(a))
        (True, 16)
    """
    h = hashlib.sha256()
    for t in (data.e_train, data.e_val, data.x_train[:64], data.x_val[:64]):
        t = t.detach().cpu().contiguous()
        h.update(f"{tuple(t.shape)};".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy())
    return h.hexdigest()[:16]


def check_same_data(path: Path, state: dict, data, data_path) -> None:
    """Refuse to resume ``last.pt`` on data other than what it was trained on (M4)."""
    saved = state.get("data") or {}
    n_train, n_val = int(data.x_train.shape[0]), int(data.x_val.shape[0])
    fp = saved.get("fingerprint")
    same = (fp == data_fingerprint(data)) if fp else (saved.get("n_train"), saved.get("n_val")) in ((None, None), (n_train, n_val))
    if not same:
        raise CheckpointError(
            f"{path} was trained on {saved.get('path', '?')} ({saved.get('n_train', '?')} + {saved.get('n_val', '?')} "
            f"events) but --data {data_path} gives {n_train} + {n_val} other events; resume with the run's own data "
            "file and max_events, or start a new run in another --out")


# ------------------------------------------------------------------------------------------ commits and repair
def best_epoch(state: dict) -> int | None:
    """The epoch whose weights ``best.pt`` should hold: ``state["best_epoch"]``, else derived from the history:
    ``best_val`` is set only on a strict improvement within a stage, so it is the first trained row of the
    last stage reaching ``best_val``.

    Example:
        >>> best_epoch({"best_val": 1.0, "history": [{"epoch": 0, "val_ahep": 9.0}, {"epoch": 1, "val_ahep": 1.0},
        ...                                          {"epoch": 2, "val_ahep": 3.0}]})
        1
    """
    if isinstance(state.get("best_epoch"), int) and not isinstance(state.get("best_epoch"), bool):
        return state["best_epoch"]
    best = state.get("best_val")
    rows = [r for r in state.get("history", []) if isinstance(r, dict) and (r.get("epoch") or 0) > 0]
    hits = [r for r in rows if best is not None and r.get("val_select", r.get("val_ahep")) == best]
    if not hits:
        return None
    stage = hits[-1].get("stage")
    return int(next(r for r in hits if r.get("stage") == stage)["epoch"])


def _copy_atomic(src: Path, dst: Path) -> None:
    def write(fh):
        with open(src, "rb") as s:
            shutil.copyfileobj(s, fh, 16 * 2**20)

    try:
        atomic_write(dst, write)
    except OSError as exc:
        raise OutputError(os_error_message(exc, dst)) from None


def commit_epoch(out_dir: Path, ckpt: dict, improved: bool, *, data=None) -> None:
    """Write one epoch: ``last.pt`` (the commit point, with ``best_epoch`` and the data fingerprint), then
    ``best.pt`` when the epoch improved (or none exists), then the history files derived from ``last.pt``."""
    from calolib.training.checkpoint import save_checkpoint
    from calolib.training.history import write_history

    ckpt = dict(ckpt)
    ckpt["best_epoch"] = int(ckpt["epoch"]) if improved else best_epoch(ckpt)
    if data is not None:
        if getattr(data, "_fingerprint", None) is None:
            data._fingerprint = data_fingerprint(data)
        e = data.e_train
        ckpt["data"] = {**(ckpt.get("data") or {}), "fingerprint": data._fingerprint,
                        "e_inc_range": [float(e.min()), float(e.max())] if e.numel() else None}
    last, best = out_dir / "last.pt", out_dir / "best.pt"
    save_checkpoint(last, ckpt)
    if improved or not best.exists():
        _copy_atomic(last, best)  # the same bytes: no second serialisation
    write_history(out_dir, ckpt["history"])


def _history_matches(out_dir: Path, rows: list[dict]) -> bool:
    from calolib.training.history import history_columns

    try:
        saved = json.loads((out_dir / "history.json").read_text())
        csv_lines = (out_dir / "history.csv").read_text().strip().splitlines()
    except (OSError, ValueError):
        return False
    if not isinstance(saved, list) or len(saved) != len(rows) or len(csv_lines) != len(rows) + 1:
        return False
    cols = history_columns(rows)
    return [r.get("epoch") for r in saved] == [r.get("epoch") for r in rows] and csv_lines[0].split(",") == cols


def repair_run_dir(out_dir: Path, state: dict) -> list[str]:
    """Bring ``best.pt``, ``history.*`` and ``config.json`` in line with ``last.pt`` (``state``); returns what
    was repaired (empty when everything was consistent), each also printed as one ``calolib: repaired`` line
    on stderr.  A best.pt that cannot be rebuilt because its
    epoch is older than ``last.pt`` and the file is gone is rebuilt from ``last.pt`` with a note."""
    from calolib.training.checkpoint import read_checkpoint
    from calolib.training.history import write_history

    done: list[str] = []
    last, best = out_dir / "last.pt", out_dir / "best.pt"
    want, epoch = best_epoch(state), int(state["epoch"])
    have, damaged = None, False
    if best.exists():
        try:
            have = int(read_checkpoint(best).get("epoch", -1))
        except CheckpointError:
            damaged = True
    if want == epoch and have != epoch:  # killed between last.pt and best.pt of the same epoch
        _copy_atomic(last, best)
        done.append(f"best.pt rebuilt from last.pt (epoch {epoch})")
    elif not best.exists() and epoch > 0:
        _copy_atomic(last, best)
        done.append(f"best.pt was missing; rebuilt from last.pt (epoch {epoch}; the weights of the best epoch "
                    f"{want} are lost)")
    elif damaged:
        done.append(f"best.pt is damaged and its epoch ({want}) cannot be rebuilt; use last.pt")
    if not _history_matches(out_dir, state["history"]):
        write_history(out_dir, state["history"])
        done.append(f"history.csv/json rebuilt from last.pt ({len(state['history'])} rows)")
    if not (out_dir / "config.json").is_file():
        atomic_write_bytes(out_dir / "config.json", json.dumps(state["config"], indent=1).encode())
        done.append("config.json rebuilt from last.pt")
    for note in done:  # one line each on stderr: the user should know the run directory was repaired
        print(f"calolib: repaired {out_dir}: {note}", file=sys.stderr)
    return done


def write_config_json(out_dir: Path, config, state: dict | None) -> None:
    """Write ``config.json`` unless a resume has nothing left to train (then the run's own file stays: a
    ``--epochs`` smaller than the epochs done must not rewrite the record of what was trained)."""
    from calolib.training.config import config_to_dict

    if state is not None and config.epochs <= int(state["epoch"]) and (out_dir / "config.json").is_file():
        return
    atomic_write_bytes(out_dir / "config.json", json.dumps(config_to_dict(config), indent=1).encode())
