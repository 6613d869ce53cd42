"""Bit codes for the incident energy: how ``E_inc`` becomes the clamped bits of RBM partition 0.

The incident energy is mapped to a position on a log scale, ``t = ln(E/E_min) / ln(E_max/E_min)`` in
[0, 1], and ``t`` is quantised into bins.  Three codes turn a bin index into ``n_bits`` bits:

* ``"binary"``: the plain base-2 representation of the bin index (MSB first).  Neighbouring bins can
  differ in many bits (``0111 -> 1000``), so a tiny change of energy can flip the whole partition.
* ``"gray"``: the reflected binary Gray code ``g = k XOR (k >> 1)``; neighbouring bins differ in
  exactly one bit, so nearby energies stay nearby in Hamming distance.
* ``"thermometer"``: ``n_bits + 1`` bins, bin ``k`` switches on the first ``k`` bits.  Monotone and
  Hamming distance equal to the bin distance, at the price of only ``n_bits + 1`` levels.

:func:`code_hamming_profile` compares the codes by the mean Hamming distance between neighbouring bins.

Example:
    >>> encode_energy(np.array([1e3, 1e6]), 4, code="thermometer").tolist()
    [[0.0, 0.0, 0.0, 0.0], [1.0, 1.0, 1.0, 1.0]]
"""
from __future__ import annotations

import numpy as np
import torch

from calolib.errors import ConfigError

__all__ = [
    "CODES",
    "energy_to_unit",
    "n_levels",
    "energy_bin",
    "bin_to_bits",
    "encode_energy",
    "decode_energy_bin",
    "code_hamming_profile",
]

CODES = ("binary", "gray", "thermometer")

_MAX_BITS = 62


def __dir__():
    return __all__


def _check(code: str, n_bits: int) -> None:
    if code not in CODES:
        raise ConfigError(f"unknown energy code {code!r}; use one of {', '.join(CODES)}")
    if not 1 <= int(n_bits) <= (10_000 if code == "thermometer" else _MAX_BITS):
        raise ConfigError(f"n_bits={n_bits} is out of range for the {code} code; use 1..{_MAX_BITS}")


def energy_to_unit(e_inc, *, e_min: float = 1e3, e_max: float = 1e6) -> np.ndarray:
    """Log-scaled position ``t = ln(E/E_min)/ln(E_max/E_min)`` of incident energies (MeV), clipped to [0, 1].

    Example:
        >>> np.round(energy_to_unit(np.array([1e3, 10**4.5, 1e6])), 3).tolist()
        [0.0, 0.5, 1.0]
    """
    if not (e_min > 0 and e_max > e_min):
        raise ConfigError(f"need 0 < e_min < e_max, got e_min={e_min}, e_max={e_max}")
    e = np.asarray(e_inc, dtype=np.float64)
    if np.any(~np.isfinite(e)) or np.any(e <= 0):
        raise ConfigError("incident energies must be finite and > 0 MeV")
    return np.clip(np.log(e / e_min) / np.log(e_max / e_min), 0.0, 1.0)


def n_levels(code: str, n_bits: int) -> int:
    """Number of distinct energy bins a code of ``n_bits`` bits can represent.

    Example:
        >>> n_levels("gray", 4), n_levels("thermometer", 4)
        (16, 5)
    """
    _check(code, n_bits)
    return n_bits + 1 if code == "thermometer" else 2**n_bits


def energy_bin(e_inc, n_bits: int, *, code: str = "gray", e_min: float = 1e3, e_max: float = 1e6) -> np.ndarray:
    """Bin index (int64, 0..n_levels-1) of each incident energy (MeV) on the log scale.

    Binary/Gray use ``2**n_bits`` equal-width bins in ``t``; thermometer rounds ``t * n_bits``.

    Example:
        >>> energy_bin(np.array([1e3, 1e6]), 3).tolist()
        [0, 7]
    """
    levels = n_levels(code, n_bits)
    t = energy_to_unit(e_inc, e_min=e_min, e_max=e_max)
    if code == "thermometer":
        k = np.rint(t * n_bits)
    else:
        k = np.floor(t * levels)
    return np.clip(k, 0, levels - 1).astype(np.int64)


def bin_to_bits(k, n_bits: int, *, code: str = "gray") -> np.ndarray:
    """Bits (float32 0/1, shape (B, n_bits), MSB first) of bin indices ``k`` (B,) in the given code.

    Example:
        >>> bin_to_bits(np.array([2, 3]), 2, code="gray").tolist()
        [[1.0, 1.0], [1.0, 0.0]]
    """
    _check(code, n_bits)
    k = np.asarray(k, dtype=np.int64).reshape(-1)
    if np.any(k < 0) or np.any(k >= n_levels(code, n_bits)):
        raise ConfigError(f"bin index out of range for a {n_bits}-bit {code} code")
    if code == "thermometer":
        return (np.arange(n_bits)[None, :] < k[:, None]).astype(np.float32)
    if code == "gray":
        k = k ^ (k >> 1)
    shifts = np.arange(n_bits - 1, -1, -1, dtype=np.int64)
    return ((k[:, None] >> shifts[None, :]) & 1).astype(np.float32)


def decode_energy_bin(bits, *, code: str = "gray") -> np.ndarray:
    """Inverse of :func:`bin_to_bits`: bin indices (B,) from bits (B, n_bits).

    Thermometer bits are decoded by counting the ones (robust to a non-monotone pattern).

    Example:
        >>> decode_energy_bin(bin_to_bits(np.arange(8), 3), code="gray").tolist()
        [0, 1, 2, 3, 4, 5, 6, 7]
    """
    b = np.asarray(bits.detach().cpu() if isinstance(bits, torch.Tensor) else bits)
    b = np.rint(b.reshape(-1, b.shape[-1])).astype(np.int64)
    n_bits = b.shape[1]
    _check(code, n_bits)
    if code == "thermometer":
        return b.sum(axis=1)
    weights = 1 << np.arange(n_bits - 1, -1, -1, dtype=np.int64)
    g = (b * weights[None, :]).sum(axis=1)
    if code == "binary":
        return g
    k = g.copy()
    shift = g >> 1
    while np.any(shift):  # Gray -> binary: prefix XOR, at most n_bits iterations
        k ^= shift
        shift >>= 1
    return k


def encode_energy(
    e_inc,
    n_bits: int,
    *,
    code: str = "gray",
    e_min: float = 1e3,
    e_max: float = 1e6,
    device: str | torch.device | None = None,
) -> torch.Tensor:
    """Encode incident energies (B,) MeV into a (B, n_bits) float32 0/1 tensor.

    Accepts numpy or torch input; the output lives on ``device`` (default: the input's device, else CPU).

    Example:
        >>> encode_energy(torch.tensor([1e3, 1e4]), 3, code="binary").tolist()
        [[0.0, 0.0, 0.0], [0.0, 1.0, 0.0]]
    """
    if device is None:
        device = e_inc.device if isinstance(e_inc, torch.Tensor) else "cpu"
    e = e_inc.detach().cpu().numpy() if isinstance(e_inc, torch.Tensor) else e_inc
    k = energy_bin(np.asarray(e).reshape(-1), n_bits, code=code, e_min=e_min, e_max=e_max)
    return torch.from_numpy(bin_to_bits(k, n_bits, code=code)).to(device)


def code_hamming_profile(code: str, n_bits: int) -> dict:
    """Hamming distances between the codes of neighbouring energy bins.

    Returns a dict with ``distances`` (n_levels-1,) int array, ``mean``, ``max`` and ``n_levels``.

    Example:
        >>> code_hamming_profile("gray", 4)["max"], code_hamming_profile("binary", 4)["max"]
        (1, 4)
    """
    levels = n_levels(code, n_bits)
    bits = bin_to_bits(np.arange(levels), n_bits, code=code)
    d = np.abs(np.diff(bits, axis=0)).sum(axis=1).astype(np.int64)
    return {"code": code, "n_bits": n_bits, "n_levels": levels, "distances": d, "mean": float(d.mean()), "max": int(d.max())}
