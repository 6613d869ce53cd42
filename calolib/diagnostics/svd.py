"""Singular-value spectra of the RBM couplings (seed 004).

For each coupling block W_pq (masked by the topology) and for the whole symmetric masked matrix W,
the singular values σ₁ ≥ σ₂ ≥ … show how many directions the prior really uses. Two summaries:

* numerical rank: #{σ_i > tol}, tol = σ₁ · max(n, m) · 10 ε (numpy's convention ×10, ε of the weights'
  dtype, e.g. float32);
* effective rank (Roy & Vetterli 2007): exp(H(p)), p_i = σ_i / Σσ_j, H the Shannon entropy (nats):
  1 for a rank-1 matrix, k for k equal singular values.

:func:`spectra_over_checkpoints` follows the spectra through a training run (``epoch`` on the x axis).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from calolib.errors import CalolibError
from calolib.metrics._arrays import as_numpy

__all__ = ["singular_values", "effective_rank", "numerical_rank", "CouplingSpectra", "coupling_spectra",
           "SpectraHistory", "spectra_over_checkpoints"]


def __dir__():
    return __all__


def singular_values(matrix) -> np.ndarray:
    """Singular values of a 2-D array or tensor, descending (float64).

    Example:
        >>> singular_values(np.diag([1.0, 3.0])).tolist()
        [3.0, 1.0]
    """
    m = as_numpy(matrix)
    if m.ndim != 2:
        raise CalolibError(f"expected a 2-D matrix, got shape {m.shape}")
    if m.size == 0:
        return np.zeros(0)
    return np.linalg.svd(m, compute_uv=False)


def effective_rank(values) -> float:
    """Entropy-based effective rank exp(−Σ p_i ln p_i), p = σ/Σσ, of a matrix or of its singular values.

    Example:
        >>> round(effective_rank([2.0, 2.0, 0.0]), 6), effective_rank(np.zeros((2, 2)))
        (2.0, 0.0)
    """
    v = as_numpy(values)
    s = singular_values(v) if v.ndim == 2 else np.abs(v.ravel())
    tot = s.sum()
    if tot <= 0:
        return 0.0
    p = s[s > 0] / tot
    return float(np.exp(-np.sum(p * np.log(p))))


def numerical_rank(values, *, rtol: float | None = None, shape: tuple[int, int] | None = None,
                   eps: float | None = None) -> int:
    """Number of singular values above ``rtol · σ₁`` (default rtol = 10 · max(shape) · ε).

    ``values`` is a matrix or its singular values (then ``shape`` refines the default tolerance);
    ``eps`` is the machine epsilon of the data the values came from (default float64's; pass float32's
    for float32 weights).

    Example:
        >>> a = np.outer([1.0, 2.0, 3.0], [1.0, 0.5])
        >>> numerical_rank(a), numerical_rank(np.eye(3))
        (1, 3)
    """
    v = as_numpy(values)
    if v.ndim == 2:
        shape, s = v.shape, singular_values(v)
    else:
        s = np.sort(np.abs(v.ravel()))[::-1]
    if s.size == 0 or s[0] <= 0:
        return 0
    if rtol is None:
        eps = np.finfo(np.float64).eps if eps is None else eps
        rtol = 10 * max(shape if shape is not None else (s.size,)) * eps
    return int(np.sum(s > rtol * s[0]))


@dataclass(frozen=True)
class CouplingSpectra:
    """Singular values of each block W_pq and of the full masked W, plus their ranks."""

    blocks: dict[tuple[int, int], np.ndarray] = field(repr=False)  # (p, q) -> (min(n_p, n_q),)
    full: np.ndarray = field(repr=False)  # (N,) of the symmetric (N, N) W
    effective_ranks: dict[tuple[int, int] | str, float] = field(default_factory=dict)
    numerical_ranks: dict[tuple[int, int] | str, int] = field(default_factory=dict)


def _rbm_of(obj):
    """An RBM from an RBM, a model with ``.rbm``, or a checkpoint with ``.model.rbm``."""
    for path in ((), ("rbm",), ("model", "rbm")):
        cur = obj
        try:
            for a in path:
                cur = getattr(cur, a)
        except AttributeError:
            continue
        if hasattr(cur, "coupling") and hasattr(cur, "pairs"):
            return cur
    raise CalolibError(f"expected an RBM (or a model/checkpoint holding one), got {type(obj).__name__}")


def coupling_spectra(rbm) -> CouplingSpectra:
    """Singular values of every masked coupling block ``rbm.coupling(p, q)`` and of ``rbm.weight_matrix()``.

    Example:
        >>> from calolib.rbm import RBM
        >>> sp = coupling_spectra(RBM((3, 3, 4, 4), seed=0))
        >>> sp.blocks[(2, 3)].shape, sp.full.shape, sp.numerical_ranks[(0, 1)]
        ((4,), (14,), 3)
    """
    import torch

    rbm = _rbm_of(rbm)
    blocks, er, nr = {}, {}, {}
    with torch.no_grad():
        for p, q in rbm.pairs:
            w = rbm.coupling(p, q)
            blocks[(p, q)] = singular_values(w)
            er[(p, q)] = effective_rank(blocks[(p, q)])
            nr[(p, q)] = numerical_rank(blocks[(p, q)], shape=tuple(w.shape), eps=torch.finfo(w.dtype).eps)
        wf = rbm.weight_matrix()
        full = singular_values(wf)
    er["full"] = effective_rank(full)
    nr["full"] = numerical_rank(full, shape=(full.size, full.size), eps=torch.finfo(wf.dtype).eps)
    return CouplingSpectra(blocks, full, er, nr)


@dataclass(frozen=True)
class SpectraHistory:
    """Spectra across checkpoints: ``epochs`` (K,), per-block (K, r) arrays and effective ranks (K,)."""

    epochs: np.ndarray
    blocks: dict[tuple[int, int], np.ndarray] = field(repr=False)
    full: np.ndarray = field(repr=False)  # (K, N)
    effective_ranks: dict[tuple[int, int] | str, np.ndarray] = field(default_factory=dict)


def spectra_over_checkpoints(sources, *, epochs=None) -> SpectraHistory:
    """Coupling spectra of several checkpoints of one run (spectra vs epoch).

    Args:
        sources: checkpoint paths (read with :func:`calolib.training.load_checkpoint`), RBMs, models
            with ``.rbm`` or loaded checkpoints; all with the same partition sizes.
        epochs: x values; default the checkpoints' ``epoch`` (or 0, 1, 2, … for bare RBMs).

    Example:
        >>> from calolib.rbm import RBM
        >>> h = spectra_over_checkpoints([RBM((2, 2, 2, 2), seed=s) for s in range(3)])
        >>> h.epochs.tolist(), h.blocks[(0, 1)].shape
        ([0, 1, 2], (3, 2))
    """
    from pathlib import Path

    spectra, xs = [], []
    for i, src in enumerate(list(sources)):
        if isinstance(src, (str, Path)):
            from calolib.training import load_checkpoint

            src = load_checkpoint(src)
        xs.append(getattr(src, "epoch", i))
        spectra.append(coupling_spectra(src))
    if not spectra:
        raise CalolibError("no checkpoints given")
    keys = list(spectra[0].blocks)
    if any(list(s.blocks) != keys or s.full.shape != spectra[0].full.shape for s in spectra):
        raise CalolibError("checkpoints have different RBM shapes; compare checkpoints of one run")
    ep = np.asarray(epochs if epochs is not None else xs)
    return SpectraHistory(ep, {k: np.stack([s.blocks[k] for s in spectra]) for k in keys},
                          np.stack([s.full for s in spectra]),
                          {k: np.array([s.effective_ranks[k] for s in spectra]) for k in spectra[0].effective_ranks})
