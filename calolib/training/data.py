"""Training data: read a CaloChallenge file, split it deterministically, preprocess it once.

The last ``val_fraction`` of the (first ``max_events``) events is the validation split, so the
split is the same on every machine and every resume.  The :class:`~calolib.preprocessing.VoxelTransform`
is fitted on the training split only; both splits are stored preprocessed (float32) in memory and
batches are cut from a per-epoch permutation drawn from a generator seeded by ``(seed, epoch)``, so
the data order of epoch ``k`` never depends on how many epochs ran before (exact resume).

Before anything is read, the memory the two splits need is compared with the memory available (a
split larger than memory is one line saying how much is needed, not an allocation traceback), and the
training split is checked for plausibility (a file in GeV instead of MeV warns with
:class:`~calolib.errors.PlausibilityWarning`).

Example:
    >>> batch_order(5, 2, seed=0, epoch=0).shape, batch_order(5, 2, seed=0, epoch=0).tolist() == batch_order(5, 2, seed=0, epoch=0).tolist()
    (torch.Size([2, 2]), True)
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from calolib.errors import ConfigError, PlausibilityWarning, ShowerFileError

__all__ = ["TrainingData", "load_training_data", "batch_order", "split_sizes"]

_CHUNK = 4096  # events preprocessed at a time


@dataclass
class TrainingData:
    """Preprocessed training and validation splits (CPU tensors).

    Attributes:
        x_train, x_val: ``(N, V)`` float32 preprocessed voxels ``u'``.
        e_train, e_val: ``(N,)`` float32 incident energies, MeV.
        transform: the fitted VoxelTransform (or LayerShapeTransform for the factorised model).
        geometry: geometry name of the file.
        n_file: events in the file.
        l_train, l_val: ``(N, L)`` float32 layer energies (MeV, after the readout threshold) for the factorised
            model (``energy_model="flow"``), else ``None``.
    """

    x_train: torch.Tensor
    e_train: torch.Tensor
    x_val: torch.Tensor
    e_val: torch.Tensor
    transform: object
    geometry: str
    n_file: int
    l_train: torch.Tensor | None = None
    l_val: torch.Tensor | None = None


def split_sizes(n: int, val_fraction: float) -> tuple[int, int]:
    """``(n_train, n_val)`` with ``n_val = max(1, round(n * val_fraction))``.

    Example:
        >>> split_sizes(100, 0.1), split_sizes(3, 0.1)
        ((90, 10), (2, 1))
    """
    n_val = max(1, int(round(n * val_fraction)))
    return n - n_val, n_val


def _preprocess(transform, showers) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    n = len(showers)
    x = torch.empty((n, showers.n_voxels), dtype=torch.float32)
    layered = hasattr(transform, "layer_energies")
    L = torch.empty((n, transform.n_layers), dtype=torch.float32) if layered else None
    for lo in range(0, n, _CHUNK):
        hi = min(lo + _CHUNK, n)
        x[lo:hi] = torch.from_numpy(transform.transform(showers.energies[lo:hi], showers.showers[lo:hi]))
        if layered:
            L[lo:hi] = torch.from_numpy(transform.layer_energies(showers.showers[lo:hi]).astype(np.float32))
    e = torch.as_tensor(np.asarray(showers.energies, dtype=np.float32))
    return x, e, L


def load_training_data(data_path: str | Path, *, val_fraction: float, max_events: int = 0, transform=None,
                       geometry: str | None = None, layer_shapes: bool = False,
                       threshold_mev: float = 0.0) -> TrainingData:
    """Read ``data_path``, split off the validation tail, fit (unless given) and apply the transform.

    Args:
        data_path: CaloChallenge HDF5 file.
        val_fraction: fraction of the events (the last ones) used for validation.
        max_events: read only the first ``max_events`` events (0 = all).
        transform: a fitted VoxelTransform to reuse (resume); fitted on the training split when ``None``.
        geometry: expected geometry name (the model's); a mismatch is a ConfigError.
        layer_shapes: fit a :class:`~calolib.shapes.LayerShapeTransform` (the factorised model's
            preprocessing, with ``threshold_mev``) instead of a VoxelTransform, and return layer energies.
    """
    from calolib.checks import check_memory, format_bytes
    from calolib.io import ShowerFile, load_showers
    from calolib.io.files import check_input_file
    from calolib.preprocessing import VoxelTransform

    path = Path(data_path)
    check_input_file(path, "training data",
                     missing_hint=f"make it with `calolib data make --out {path}` or point to a CaloChallenge .h5 file")
    with ShowerFile(path) as f:
        n_file, geo, itemsize, n_vox = len(f), f.geometry.name, f.voxel_dtype.itemsize, f.n_voxels
    if geometry is not None and geo != geometry:
        raise ConfigError(f"{path} holds {geo} showers but the model is for {geometry}; set model.geometry={geo!r}")
    n = min(n_file, max_events) if max_events else n_file
    if n < 2:
        raise ShowerFileError(f"{path} has {n} usable events; training needs at least 2 (one for validation)")
    n_train, n_val = split_sizes(n, val_fraction)
    if n_train < 1:
        raise ConfigError(f"val_fraction={val_fraction} leaves no training events of the {n} used; "
                          "lower val_fraction or raise max_events")
    need = n_train * n_vox * (itemsize + 4) + n_val * n_vox * 4  # raw + preprocessed float32 splits
    check_memory(need, f"the training data ({n_train} + {n_val} {geo} events, {format_bytes(need)})",
                 "set max_events to train on fewer events")
    train = load_showers(path, max_events=n_train)
    _warn_implausible(path, train, geo)
    if transform is None and layer_shapes:
        from calolib.shapes import LayerShapeTransform

        transform = LayerShapeTransform(geo, threshold_mev=threshold_mev).fit(train.energies, train.showers)
    elif transform is None:
        transform = VoxelTransform().fit(train.energies, train.showers)
    elif transform.n_voxels != train.n_voxels:
        raise ConfigError(f"saved preprocessing is for {transform.n_voxels} voxels but {path} has {train.n_voxels}")
    x_train, e_train, l_train = _preprocess(transform, train)
    del train
    val = load_showers(path, start=n_train, max_events=n_val)
    x_val, e_val, l_val = _preprocess(transform, val)
    return TrainingData(x_train, e_train, x_val, e_val, transform, geo, n_file, l_train, l_val)


def _warn_implausible(path: Path, showers, geometry: str) -> None:
    from calolib.io import plausibility_warnings

    e = np.asarray(showers.energies, dtype=np.float64)
    ratio = float(np.mean(showers.showers.sum(axis=1, dtype=np.float64) / e))
    for text in plausibility_warnings(float(e.min()), float(e.max()), ratio, geometry):
        warnings.warn(f"{path}: {text}", PlausibilityWarning, stacklevel=3)


def batch_order(n: int, batch_size: int, *, seed: int, epoch: int) -> torch.Tensor:
    """Shuffled event indices of one epoch, ``(n_batches, batch_size)``; drops the ragged tail.

    When ``n < batch_size`` there is a single batch of all ``n`` events.  The permutation depends
    only on ``(seed, epoch)``.
    """
    gen = torch.Generator().manual_seed(int(seed) * 1_000_003 + int(epoch) * 7_919 + 17)
    perm = torch.randperm(n, generator=gen)
    if n < batch_size:
        return perm.view(1, n)
    n_batches = n // batch_size
    return perm[: n_batches * batch_size].view(n_batches, batch_size)


def __dir__():
    return __all__
