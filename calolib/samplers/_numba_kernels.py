"""The numba kernels behind :mod:`calolib.samplers.compiled` (use that module; this one compiles them).

Chains live in tiles of ``T`` lanes: ``z`` is (n_tiles, N, T) uint8, so the states of one unit in the
chains of a tile are contiguous, and the field of unit ``i`` in all lanes is a vector loop
``acc[0:T] += w_ij * z[j, 0:T]`` over its neighbours ``j`` (CSR lists).  Tiles are independent: the
caller runs disjoint tile ranges on several threads (the kernels release the GIL; plain ``njit`` compiles
several times faster than ``parallel=True``).  A tile of 64 chains of a 4 x 302 RBM is 77 kB (L2).

Random numbers: one xoshiro128+ generator (Blackman & Vigna; period 2^128 - 1, 4 x uint32 state) per
chain, seeded by splitmix64 from ``(seed, chain index)``; the top 24 bits of each draw make a uniform
``u`` in (0, 1).  A chain's trajectory therefore depends on (seed, chain index) only, never on the
thread count, the tile width or the number of other chains.

Update rule: ``z_i = 1`` iff ``u < sigmoid(f) = 1 / (1 + e^-f)`` iff ``u e^-f < 1 - u`` (no division).
``e^x`` for ``x = -f`` clipped to [-20, 20] is ``p6(x / 64)^64`` (degree-6 Taylor polynomial, six
squarings): relative error < 2e-5, so P(z = 1) is exact to ~5e-6, below the 2^-24 resolution's
effect on any histogram we can fill; a field beyond +-20 gives P = sigmoid(+-20) (off by < 2.1e-9).

Example:
    >>> import numpy as np
    >>> bool(np.allclose(sigmoid(np.array([-3.0, 0.0, 3.0], np.float32)), [0.0474259, 0.5, 0.9525741], atol=1e-5))
    True
"""
from __future__ import annotations

import numpy as np

try:
    from numba import njit
except ImportError:  # no numba (e.g. a CUDA-only box): the module still imports; the engine is never chosen

    def njit(*args, **kwargs):
        return args[0] if args and callable(args[0]) else (lambda f: f)

__all__ = ["seed_lanes", "random_bits", "gibbs_sweeps", "sigmoid"]

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_CHAIN = np.uint64(0xD1B54A32D192ED03)


def __dir__():
    return __all__


@njit(cache=True, inline="always")
def _splitmix(x):
    """One splitmix64 step: returns (output, new state); all uint64."""
    x = x + _GOLDEN
    r = x
    r = (r ^ (r >> np.uint64(30))) * _MIX1
    r = (r ^ (r >> np.uint64(27))) * _MIX2
    return r ^ (r >> np.uint64(31)), x


@njit(cache=True)
def seed_lanes(seed, first_chain, n_tiles, width):
    """xoshiro128+ states (n_tiles, 4, width) uint32 of chains ``first_chain + tile * width + lane``.

    ``seed`` is a uint64; each chain's words come from splitmix64 started at ``seed ^ mix(chain)``.
    """
    rng = np.empty((n_tiles, 4, width), np.uint32)
    s = np.uint64(seed)
    for tile in range(n_tiles):
        for t in range(width):
            chain = np.uint64(first_chain + tile * width + t)
            key, _ = _splitmix(chain * _CHAIN)
            x = s ^ key
            for w in range(2):
                r, x = _splitmix(x)
                rng[tile, 2 * w, t] = np.uint32(r & np.uint64(0xFFFFFFFF))
                rng[tile, 2 * w + 1, t] = np.uint32(r >> np.uint64(32))
            if rng[tile, 0, t] == 0 and rng[tile, 1, t] == 0 and rng[tile, 2, t] == 0 and rng[tile, 3, t] == 0:
                rng[tile, 0, t] = np.uint32(1)  # the all-zero state is the one state xoshiro must avoid
    return rng


@njit(cache=True, inline="always")
def _step(s0, s1, s2, s3):
    """One xoshiro128+ step: (32-bit output, new state words)."""
    # numba widens uint32 arithmetic to 64 bits: cast back wherever high bits could appear
    r = np.uint32(s0 + s3)
    t = np.uint32(s1 << np.uint32(9))
    s2 ^= s0
    s3 ^= s1
    s1 ^= s2
    s0 ^= s3
    s2 ^= t
    s3 = np.uint32((s3 << np.uint32(11)) | (s3 >> np.uint32(21)))
    return r, s0, s1, s2, s3


@njit(cache=True, nogil=True)
def random_bits(z, rng, start, stop):
    """Fill units ``start:stop`` of tiles ``z`` (n_tiles, N, T) with fair random bits from ``rng``."""
    n_tiles = z.shape[0]
    width = z.shape[2]
    for tile in range(n_tiles):
        for i in range(start, stop):
            for t in range(width):
                r, a0, a1, a2, a3 = _step(rng[tile, 0, t], rng[tile, 1, t], rng[tile, 2, t], rng[tile, 3, t])
                rng[tile, 0, t] = a0
                rng[tile, 1, t] = a1
                rng[tile, 2, t] = a2
                rng[tile, 3, t] = a3
                z[tile, i, t] = np.uint8(r >> np.uint32(31))


@njit(cache=True, fastmath=True, inline="always")
def _exp(x):
    """e^x for float32 x, clipped to [-20, 20] (see the module docstring for the error)."""
    y = min(max(x, np.float32(-20.0)), np.float32(20.0)) * np.float32(0.015625)
    e = np.float32(1.0) + y * (np.float32(1.0) + y * (np.float32(0.5) + y * (np.float32(1.0 / 6.0) + y * (
        np.float32(1.0 / 24.0) + y * (np.float32(1.0 / 120.0) + y * np.float32(1.0 / 720.0))))))
    e = e * e
    e = e * e
    e = e * e
    e = e * e
    e = e * e
    return e * e


@njit(cache=True, fastmath=True)
def sigmoid(x):
    """The kernel's 1 / (1 + e^-x) for a float32 array (used by the tests of its accuracy)."""
    out = np.empty_like(x)
    for k in range(x.size):
        out[k] = np.float32(1.0) / (np.float32(1.0) + _exp(-x[k]))
    return out


@njit(cache=True, fastmath=True, nogil=True)
def gibbs_sweeps(z, rng, indptr, indices, weights, bias, units, n_sweeps, every, mag, first, last):
    """Run ``n_sweeps`` block-Gibbs sweeps in place.

    Args:
        z: (n_tiles, N, T) uint8 states; rng: (n_tiles, 4, T) uint32 generator states.
        indptr, indices, weights: CSR neighbour lists (int32, int32, float32 = beta * W_ij).
        bias: (N,) float32 = beta * a_i.
        units: int32 units to update, in sweep order (free partitions, each one's units together).
        n_sweeps: sweeps to run; every: record the magnetisation every ``every`` sweeps (0: never)
            into ``mag`` (n_tiles, T, n_sweeps // every) float32.
        first, last: the tiles to run (threads take disjoint ranges; the GIL is released).
    """
    n = z.shape[1]
    width = z.shape[2]
    for tile in range(first, last):
        zt = z[tile]
        s0 = rng[tile, 0]
        s1 = rng[tile, 1]
        s2 = rng[tile, 2]
        s3 = rng[tile, 3]
        acc = np.empty(width, np.float32)
        count = np.empty(width, np.int32)
        for sweep in range(n_sweeps):
            for ii in range(units.size):
                i = units[ii]
                b = bias[i]
                for t in range(width):
                    acc[t] = b
                for k in range(indptr[i], indptr[i + 1]):
                    w = weights[k]
                    zj = zt[indices[k]]
                    for t in range(width):
                        acc[t] += w * np.float32(zj[t])
                zi = zt[i]
                for t in range(width):
                    r, a0, a1, a2, a3 = _step(s0[t], s1[t], s2[t], s3[t])
                    s0[t] = a0
                    s1[t] = a1
                    s2[t] = a2
                    s3[t] = a3
                    u = (np.float32(r >> np.uint32(8)) + np.float32(0.5)) * np.float32(5.9604645e-08)
                    zi[t] = np.uint8(1) if u * _exp(-acc[t]) < np.float32(1.0) - u else np.uint8(0)
            if every > 0 and (sweep + 1) % every == 0:
                for t in range(width):
                    count[t] = 0
                for i in range(n):
                    zi = zt[i]
                    for t in range(width):
                        count[t] += np.int32(zi[t])
                col = (sweep + 1) // every - 1
                for t in range(width):
                    mag[tile, t, col] = np.float32(2.0 * count[t] / n - 1.0)
