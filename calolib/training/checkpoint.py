"""Self-describing, atomically written checkpoints.

A checkpoint is one ``torch.save`` file holding everything a run needs (nanoGPT style): the model
``state_dict``, the optimiser state, the training config (``asdict``), the fitted preprocessing
statistics (``VoxelTransform.to_dict()``), the persistent Gibbs chains, all RNG states (torch CPU and
CUDA, numpy, python), the epoch/step counters, the best validation score, the loss history and the
calolib version.  :func:`load_checkpoint` rebuilds a ready-to-use model from the file alone.

Only tensors and plain Python containers are stored, so files load with ``weights_only=True`` (no
arbitrary code runs when a checkpoint is opened).  Writes are atomic: the data go to a temporary
file in the same directory, which is flushed, fsync'ed and renamed over the target, so a crash
never leaves a truncated ``last.pt``/``best.pt``.  A missing, truncated, corrupt or incompatible
file raises :class:`~calolib.errors.CheckpointError` with one line saying what to do.

Example:
    >>> import tempfile, os, torch
    >>> p = os.path.join(tempfile.mkdtemp(), "x.pt")
    >>> save_checkpoint(p, {"format": FORMAT, "format_version": FORMAT_VERSION, "w": torch.ones(2)})
    >>> read_checkpoint(p)["w"].tolist()
    [1.0, 1.0]
"""
from __future__ import annotations

import os
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from calolib.errors import CalolibError, CheckpointError
from calolib.training.history import atomic_write

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "Checkpoint",
    "save_checkpoint",
    "read_checkpoint",
    "load_checkpoint",
    "rng_state",
    "set_rng_state",
    "empty_value",
]

FORMAT = "calolib-qvae-checkpoint"
FORMAT_VERSION = 1
_REQUIRED = ("config", "model", "transform", "epoch", "history")


def save_checkpoint(path: str | os.PathLike, state: dict) -> None:
    """Write ``state`` to ``path`` atomically (temp file in the same dir, flush, fsync, rename).

    If anything fails midway the target is untouched and the temporary file is removed.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda fh: torch.save(state, fh))


def _resolve(path: str | os.PathLike) -> Path:
    p = Path(path)
    if p.is_dir():
        for name in ("best.pt", "last.pt"):
            if (p / name).is_file():
                return p / name
        raise CheckpointError(f"run directory {p} holds no best.pt or last.pt; train there first (calolib train --out {p})")
    if not p.exists():
        raise CheckpointError(f"checkpoint not found: {p}; pass RUN_DIR/best.pt of a finished `calolib train` run")
    return p


def read_checkpoint(path: str | os.PathLike, *, map_location: Any = "cpu") -> dict:
    """The raw checkpoint dict, validated (format, version, required keys); CheckpointError otherwise.

    ``path`` may be a run directory (its ``best.pt``, else ``last.pt``).
    """
    p = _resolve(path)
    try:
        state = torch.load(p, map_location=map_location, weights_only=True)
    except (KeyboardInterrupt, MemoryError):
        raise
    except Exception as exc:  # truncated zip, garbage bytes, unpickling of a foreign object
        reason = str(exc).strip().splitlines()[0].split(". ")[0][:100] if str(exc).strip() else type(exc).__name__
        raise CheckpointError(
            f"checkpoint {p} is truncated or corrupt ({reason}); use another checkpoint (last.pt/best.pt) or retrain"
        ) from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise CheckpointError(f"{p} is not a calolib QVAE checkpoint (no '{FORMAT}' marker); pass a file written by calolib train")
    version = state.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise CheckpointError(
            f"checkpoint {p} has format version {version!r}, this calolib reads <= {FORMAT_VERSION}; upgrade calolib"
        )
    return state


def _check_complete(state: dict, p: Path) -> None:
    missing = [k for k in _REQUIRED if k not in state]
    if missing:
        raise CheckpointError(f"checkpoint {p} lacks {', '.join(missing)}; it was not written by calolib train")


# ------------------------------------------------------------------------------------ RNG states
def rng_state() -> dict:
    """Every global RNG state (torch CPU and CUDA, numpy, python) as tensors and plain containers."""
    mt, keys, pos, has_gauss, gauss = np.random.get_state()
    py = random.getstate()
    state = {
        "torch": torch.get_rng_state(),
        "numpy": {"name": mt, "keys": torch.from_numpy(np.asarray(keys, dtype=np.int64)), "pos": int(pos),
                  "has_gauss": int(has_gauss), "gauss": float(gauss)},
        "python": [py[0], list(py[1]), py[2]],
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    """Restore what :func:`rng_state` saved (CUDA states only when CUDA is present)."""
    torch.set_rng_state(state["torch"].cpu())
    n = state["numpy"]
    np.random.set_state((n["name"], n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["gauss"]))
    py = state["python"]
    random.setstate((py[0], tuple(py[1]), py[2]))
    if "cuda" in state and torch.cuda.is_available():
        cuda = state["cuda"]
        if len(cuda) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all([s.cpu() for s in cuda])


# ------------------------------------------------------------------------------------ loading
def empty_value(transform) -> torch.Tensor:
    """Preprocessed value of an empty voxel, per voxel, ``(V,)`` float32: ``(logit(delta) - mean) / std``.

    Example:
        >>> from calolib.preprocessing import VoxelTransform
        >>> t = VoxelTransform().fit(np.array([1e3, 1e3]), np.array([[0.0, 1.0], [2.0, 3.0]]))
        >>> empty_value(t)[0].item() == t.transform(np.array([1e3]), np.zeros((1, 2)))[0, 0].item()
        True
    """
    zeros = np.zeros((1, transform.n_voxels))
    return torch.as_tensor(transform.transform(np.array([1.0]), zeros)[0], dtype=torch.float32)


@dataclass
class Checkpoint:
    """A loaded checkpoint: the rebuilt model (eval mode, on ``device``) and everything around it.

    Attributes:
        model: the :class:`~calolib.models.QVAE`, in eval mode, with ``model.transform`` set (so
            ``model.generate(e_inc, sampler=...)`` works).
        transform: the fitted :class:`~calolib.preprocessing.VoxelTransform`.
        config: the run's :class:`~calolib.training.config.TrainConfig`.
        epoch: epochs completed when the file was written.
        history: one dict per epoch (see :mod:`calolib.training.history`).
        best_val: best validation AHEP so far (``inf`` when none).
        path: the file read.
        state: the raw dict (optimiser, RNG states, chains) for resuming.
    """

    model: Any
    transform: Any
    config: Any
    epoch: int
    history: list[dict]
    best_val: float
    path: Path
    step: int = 0
    version: str = ""
    state: dict = field(default_factory=dict, repr=False)


def build_model(config, transform, device: torch.device | str = "cpu"):
    """A fresh QVAE for ``config.model`` with the preprocessing of ``transform`` set (empty-voxel value,
    the logit statistics of the energy-sum term, and ``model.transform``)."""
    from calolib.models import QVAE

    model = QVAE(config.model)
    model.set_preprocessing(transform)
    return model.to(device)


def load_checkpoint(path: str | os.PathLike, *, device: str | torch.device = "cpu") -> Checkpoint:
    """Rebuild model, preprocessing and config from a checkpoint file alone.

    Args:
        path: a ``.pt`` file written by :func:`calolib.training.train` (or a run directory: its ``best.pt``).
        device: where to put the model (``"auto"``, ``"cpu"``, ``"cuda"``).

    Raises:
        CheckpointError: missing, truncated, corrupt or incompatible file (one line).
    """
    from calolib.device import resolve_device
    from calolib.shapes import transform_from_dict
    from calolib.training.config import config_from_dict

    dev = resolve_device(device)
    p = _resolve(path)
    state = read_checkpoint(p)
    _check_complete(state, p)
    try:
        config = config_from_dict(state["config"])
        transform = transform_from_dict(state["transform"])
    except CalolibError as exc:
        raise CheckpointError(f"checkpoint {p} holds an incompatible config or transform ({exc}); retrain with this calolib") from None
    try:
        model = build_model(config, transform, "cpu")
        model.load_state_dict(state["model"])
    except (RuntimeError, KeyError, CalolibError) as exc:
        reason = str(exc).strip().splitlines()[0][:160]
        raise CheckpointError(f"checkpoint {p} does not match the model its config describes ({reason})") from None
    model.to(dev).eval()
    return Checkpoint(model=model, transform=transform, config=config, epoch=int(state["epoch"]),
                      history=list(state["history"]), best_val=float(state.get("best_val", float("inf"))), path=p,
                      step=int(state.get("step", 0)), version=str(state.get("version", "")), state=state)


def __dir__():
    return __all__
