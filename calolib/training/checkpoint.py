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

Integrity: the zip container torch writes does not check its CRCs on loading, so a file with a few
overwritten bytes used to load silently with wrong weights.  Since format version 2 every checkpoint
stores ``sha256``, a SHA-256 digest of its whole content (:func:`state_digest`: every tensor's dtype,
shape and bytes and every plain value, in a canonical order), and :func:`read_checkpoint` recomputes
and compares it.  Version-1 files (written before the digest existed) still load, unverified.  A
checkpoint whose model holds NaN/inf is refused by :func:`load_checkpoint` (it would generate NaN
showers), and :func:`restore_training_state` refuses to resume from NaN/inf in any tensor.

Example:
    >>> import tempfile, os, torch
    >>> p = os.path.join(tempfile.mkdtemp(), "x.pt")
    >>> save_checkpoint(p, {"format": FORMAT, "format_version": FORMAT_VERSION, "w": torch.ones(2)})
    >>> read_checkpoint(p)["w"].tolist()
    [1.0, 1.0]
"""
from __future__ import annotations

import hashlib
import os
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from calolib.errors import CalolibError, CheckpointError, ConfigError, OutputError
from calolib.io.files import atomic_write, check_input_file, ensure_space, os_error_message

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
    "state_digest",
    "nonfinite_tensors",
    "restore_training_state",
    "check_topology",
]

FORMAT = "calolib-qvae-checkpoint"
FORMAT_VERSION = 2  # 2: with the "sha256" digest of the content; 1 (no digest) is still read
_REQUIRED = ("config", "model", "transform", "epoch", "history")
DIGEST_KEY = "sha256"


# ------------------------------------------------------------------------------------ integrity
def _feed(h, obj) -> None:
    if isinstance(obj, torch.Tensor):
        t = obj.detach().cpu().contiguous()
        h.update(f"T{t.dtype}{tuple(t.shape)};".encode())
        if t.numel():
            h.update(t.reshape(-1).view(torch.uint8).numpy())
    elif isinstance(obj, dict):
        h.update(f"D{len(obj)};".encode())
        for k in sorted(obj, key=lambda k: (type(k).__name__, repr(k))):
            _feed(h, k)
            _feed(h, obj[k])
    elif isinstance(obj, (list, tuple)):
        h.update(f"L{len(obj)};".encode())
        for v in obj:
            _feed(h, v)
    elif isinstance(obj, str):
        b = obj.encode("utf-8", "surrogatepass")
        h.update(f"S{len(b)};".encode() + b)
    elif isinstance(obj, (bytes, bytearray)):
        h.update(f"B{len(obj)};".encode() + bytes(obj))
    elif obj is None or isinstance(obj, (bool, int, float)):
        h.update(f"{type(obj).__name__}:{obj!r};".encode())
    else:
        h.update(f"O{type(obj).__qualname__}:{obj!r};".encode())


def state_digest(state: dict) -> str:
    """SHA-256 (hex) of a checkpoint's content, leaving out its own ``sha256`` entry.

    Equal for a state and the state read back from its file; any changed byte of a tensor changes it.

    Example:
        >>> a = {"w": torch.ones(3), "epoch": 2}
        >>> state_digest(a) == state_digest({"epoch": 2, "w": torch.ones(3)}), state_digest(a) == state_digest({**a, "epoch": 3})
        (True, False)
    """
    h = hashlib.sha256()
    _feed(h, {k: v for k, v in state.items() if k != DIGEST_KEY})
    return h.hexdigest()


def nonfinite_tensors(obj, prefix: str = "") -> list[str]:
    """Names of the floating-point tensors in a nested state that hold NaN or inf.

    Example:
        >>> nonfinite_tensors({"model": {"w": torch.tensor([1.0, float("nan")]), "n": torch.tensor([3])}})
        ['model.w']
    """
    out: list[str] = []
    if isinstance(obj, torch.Tensor):
        if (obj.is_floating_point() or obj.is_complex()) and obj.numel() and not bool(torch.isfinite(obj).all()):
            out.append(prefix or "tensor")
    elif isinstance(obj, dict):
        for k, v in obj.items():
            out += nonfinite_tensors(v, f"{prefix}.{k}" if prefix else str(k))
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            out += nonfinite_tensors(v, f"{prefix}[{i}]")
    return out


def save_checkpoint(path: str | os.PathLike, state: dict) -> None:
    """Write ``state`` to ``path`` atomically (temp file in the same dir, flush, fsync, rename), with its
    SHA-256 digest (``state["sha256"]``, see :func:`state_digest`).

    If anything fails midway (a full disk, a signal) the target is untouched and the temporary file is
    removed; an OSError becomes one :class:`~calolib.errors.OutputError` line.
    """
    path = Path(path)
    state = {**state, DIGEST_KEY: state_digest(state)}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        ensure_space(path, sum(t.numel() * t.element_size() for t in _tensors(state)))
        atomic_write(path, lambda fh: torch.save(state, fh))
    except OSError as exc:
        raise OutputError(os_error_message(exc, path) + f" (the previous {path.name}, if any, is intact)") from None
    except RuntimeError as exc:  # torch's zip writer wraps the failed write
        if "write" not in str(exc).lower():
            raise
        raise OutputError(f"cannot write {path} ({' '.join(str(exc).split())[:120]}); is the disk full? "
                          f"The previous {path.name}, if any, is intact") from None


def _tensors(obj):
    if isinstance(obj, torch.Tensor):
        yield obj
    elif isinstance(obj, dict):
        for v in obj.values():
            yield from _tensors(v)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            yield from _tensors(v)


def _resolve(path: str | os.PathLike) -> Path:
    p = Path(path)
    if p.is_dir():
        for name in ("best.pt", "last.pt"):
            if (p / name).is_file():
                return p / name
        raise CheckpointError(f"run directory {p} holds no best.pt or last.pt; train there first (calolib train --out {p})")
    if not p.exists() and not p.is_symlink():
        raise CheckpointError(f"checkpoint not found: {p}; pass RUN_DIR/best.pt of a finished `calolib train` run")
    return check_input_file(p, "checkpoint file", error=CheckpointError)  # a FIFO would block torch.load


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
    if not isinstance(version, int) or isinstance(version, bool) or version > FORMAT_VERSION:
        raise CheckpointError(
            f"checkpoint {p} has format version {version!r}, this calolib reads <= {FORMAT_VERSION}; upgrade calolib"
        )
    stored = state.get(DIGEST_KEY)
    if stored is None and version >= 2:
        raise CheckpointError(f"checkpoint {p} lacks its SHA-256 digest (format version {version} stores one); "
                              "the file was altered after it was written; use another checkpoint or retrain")
    if stored is not None and stored != state_digest(state):
        raise CheckpointError(f"checkpoint {p} is corrupt (its content does not match its SHA-256 digest: bytes changed "
                              "on disk after it was written); use another checkpoint (last.pt/best.pt) or retrain")
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


def check_topology(model_config) -> None:
    """ConfigError (one line) when ``topology_kwargs`` do not fit the RBM topology (unknown key, bad value).

    Example:
        >>> from calolib.models import ModelConfig
        >>> check_topology(ModelConfig(rbm_sizes=(4, 4, 4, 4), topology="full", topology_kwargs={"foo": 1}))
        Traceback (most recent call last):
        ...
        calolib.errors.ConfigError: model.topology_kwargs {'foo': 1} do not fit topology 'full' (got an unexpected keyword argument 'foo'); accepted keys: m, t
    """
    import inspect

    from calolib.topology import four_partite_mask

    kw = dict(model_config.topology_kwargs or {})
    accepted = [n for n, prm in inspect.signature(four_partite_mask).parameters.items() if prm.kind is prm.KEYWORD_ONLY]
    try:
        four_partite_mask(tuple(model_config.rbm_sizes), model_config.topology, **kw)
    except CalolibError as exc:
        raise ConfigError(f"model.topology_kwargs {kw} do not fit topology {model_config.topology!r}: {exc}") from None
    except (TypeError, ValueError, KeyError) as exc:
        reason = str(exc).split("() ", 1)[-1]
        raise ConfigError(f"model.topology_kwargs {kw} do not fit topology {model_config.topology!r} "
                          f"({reason.strip()}); accepted keys: {', '.join(accepted)}") from None


def fit_transform(model_config, energies, showers):
    """The preprocessing a model of ``model_config`` trains with, fitted on ``(energies (N,), showers (N, V))`` MeV:
    a :class:`~calolib.shapes.LayerShapeTransform` for the factorised model (``energy_model="flow"``), else a
    :class:`~calolib.preprocessing.VoxelTransform`."""
    if getattr(model_config, "energy_model", "none") == "flow":
        from calolib.shapes import LayerShapeTransform

        return LayerShapeTransform(model_config.geometry, threshold_mev=model_config.readout_threshold_mev).fit(
            energies, showers)
    from calolib.preprocessing import VoxelTransform

    return VoxelTransform().fit(energies, showers)


def build_model(config, transform, device: torch.device | str = "cpu"):
    """A fresh QVAE for ``config.model`` with the preprocessing of ``transform`` set (empty-voxel value,
    the logit statistics of the energy-sum term, and ``model.transform``)."""
    from calolib.models import QVAE

    try:
        model = QVAE(config.model)
    except TypeError:  # e.g. topology_kwargs the topology does not take: say so in one line
        check_topology(config.model)
        raise
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
    except (RuntimeError, KeyError, TypeError, CalolibError) as exc:
        reason = str(exc).strip().splitlines()[0][:160]
        raise CheckpointError(f"checkpoint {p} does not match the model its config describes ({reason})") from None
    bad = nonfinite_tensors(state["model"])
    if bad:
        more = f" and {len(bad) - 1} more tensors" if len(bad) > 1 else ""
        raise CheckpointError(f"checkpoint {p} holds NaN/inf weights (in {bad[0]}{more}): the training that wrote it "
                              "diverged; use an earlier checkpoint (best.pt) or retrain with a lower lr")
    model.to(dev).eval()
    return Checkpoint(model=model, transform=transform, config=config, epoch=int(state["epoch"]),
                      history=list(state["history"]), best_val=float(state.get("best_val", float("inf"))), path=p,
                      step=int(state.get("step", 0)), version=str(state.get("version", "")), state=state)


def __dir__():
    return __all__
