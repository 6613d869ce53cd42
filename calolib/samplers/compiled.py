"""Compiled block Gibbs on CPU (numba): the default engine of :func:`calolib.samplers.gibbs_sample` on CPU.

The torch path (:class:`~calolib.samplers.gibbs.BlockGibbsKernel`) makes one pass over an (N, B) float
state per partition for the fields, one for the sigmoid, one for the random numbers and one for the
comparison; here one compiled loop does all of it per unit while the states of 64 chains stay in cache:

* chains in tiles of up to 64 lanes, uint8 states (n_tiles, N, T), disjoint tile ranges on parallel
  threads (the compiled loops release the GIL);
* sparse neighbour lists (CSR) of the topology (Zephyr 4 x 302: ~18 neighbours per unit), so the field
  of a unit in all lanes is ~18 fused multiply-adds of a 64-wide vector;
* one xoshiro128+ generator per chain seeded from ``(seed, chain)``: results do not depend on the
  number of threads, the tile width or how many other chains run;
* ``u < sigmoid(f)`` tested as ``u e^-f < 1 - u`` with a polynomial e^x (no division, no libm call).

Threads follow ``torch.get_num_threads()``, so ``torch.set_num_threads`` controls both engines.  The
kernels compile on first use (``cache=True``: later processes load them from ``__pycache__``; a cold
compile takes a few seconds, ``calolib bench sampler`` measures it); numba is imported only when this
module's kernels are first needed, and CUDA never comes here.  Details of the kernels: :mod:`calolib.samplers._numba_kernels`.

Example:
    >>> from calolib.rbm import RBM
    >>> rbm = RBM((2, 2, 2, 2), weight_std=0.5)
    >>> chains = TiledChains.new(rbm.n_units, 5, seed=0)
    >>> _ = CompiledGibbsKernel(rbm).run(chains, 3)
    >>> tuple(chains.states().shape)
    (5, 8)
"""
from __future__ import annotations

import functools
import importlib.util
import threading
import weakref
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import torch

from calolib.errors import SamplerError

__all__ = ["numba_available", "CompiledGibbsKernel", "TiledChains", "TILE", "n_threads", "threading_info"]

TILE = 64  # lanes (chains) per tile: 64 x 1208 uint8 states = 77 kB, resident in L2


def __dir__():
    return __all__


def numba_available() -> bool:
    """Whether numba is installed (checked once, without importing it)."""
    return _has_numba()


@functools.cache
def _has_numba() -> bool:
    return importlib.util.find_spec("numba") is not None


def _kernels():
    """The numba kernels module (imports numba on first call)."""
    if not numba_available():
        raise SamplerError("the compiled Gibbs backend needs numba (pip install numba), or use backend='torch'")
    from calolib.samplers import _numba_kernels

    return _numba_kernels


_POOL: dict = {}
_LOCK = threading.Lock()


def n_threads() -> int:
    """Threads the compiled engine uses: ``torch.get_num_threads()``."""
    return max(1, int(torch.get_num_threads()))


def _parallel(fn, n_tiles: int) -> None:
    """Call ``fn(first, last)`` on disjoint tile ranges, one per thread (the kernels release the GIL)."""
    k = min(n_threads(), n_tiles)
    if k <= 1:
        fn(0, n_tiles)
        return
    with _LOCK:  # grow the pool (old pools finish their jobs and are dropped)
        if _POOL.get("size", 0) < k:
            old = _POOL.get("pool")
            _POOL["pool"], _POOL["size"] = ThreadPoolExecutor(max_workers=k, thread_name_prefix="calolib-gibbs"), k
            if old is not None:
                old.shutdown(wait=False)
        pool = _POOL["pool"]
    bounds = [n_tiles * i // k for i in range(k + 1)]
    jobs = [pool.submit(fn, bounds[i], bounds[i + 1]) for i in range(1, k)]
    fn(bounds[0], bounds[1])  # this thread takes the first range
    for job in jobs:
        job.result()


def threading_info() -> dict:
    """numba version, thread count and tile width, for benchmarks."""
    import numba

    return {"numba": numba.__version__, "engine_threads": n_threads(), "threading": "python threads, GIL released", "tile": TILE}


def _width(n_chains: int) -> int:
    """Lanes per tile: TILE, or fewer (a multiple of 16) for small batches so little work is padding."""
    return TILE if n_chains >= TILE else 16 * -(-n_chains // 16)


@dataclass(eq=False)
class TiledChains:
    """States and generators of ``n_chains`` chains in the kernel's tiled layout.

    Attributes:
        z: (n_tiles, N, T) uint8 states (lanes past ``n_chains`` are padding).
        rng: (n_tiles, 4, T) uint32 xoshiro128+ states, one generator per chain.
        n_chains: number of real chains.
    """

    z: np.ndarray
    rng: np.ndarray
    n_chains: int

    @classmethod
    def new(cls, n_units: int, n_chains: int, seed: int, init: torch.Tensor | None = None) -> "TiledChains":
        """Chains seeded from ``seed`` with uniform random bits (or ``init`` (B, N) 0/1 states)."""
        k = _kernels()
        width = _width(int(n_chains))
        n_tiles = -(-int(n_chains) // width)
        rng = k.seed_lanes(np.uint64(int(seed) % 2**64), 0, n_tiles, width)
        z = np.zeros((n_tiles, int(n_units), width), np.uint8)
        chains = cls(z, rng, int(n_chains))
        if init is None:
            k.random_bits(z, rng, 0, int(n_units))
        else:
            chains.set_states(init)
        return chains

    @property
    def n_units(self) -> int:
        """Units N per chain."""
        return int(self.z.shape[1])

    def _to_tiles(self, x: torch.Tensor, n: int) -> np.ndarray:
        x = torch.as_tensor(x)
        if x.ndim != 2 or tuple(x.shape) != (self.n_chains, n):
            raise SamplerError(f"chain states must have shape ({self.n_chains}, {n}), got {tuple(x.shape)}")
        a = x.detach().to("cpu").numpy().astype(np.uint8, copy=False)
        n_tiles, _, width = self.z.shape
        pad = np.zeros((n_tiles * width, n), np.uint8)
        pad[: self.n_chains] = a
        return pad.reshape(n_tiles, width, n).transpose(0, 2, 1)

    def set_states(self, z: torch.Tensor) -> None:
        """Overwrite all states with ``z`` (n_chains, N) 0/1."""
        self.z[:] = self._to_tiles(z, self.n_units)

    def set_block(self, start: int, bits: torch.Tensor) -> None:
        """Overwrite units ``start : start + n`` with ``bits`` (n_chains, n) 0/1 (e.g. a clamped partition)."""
        bits = torch.as_tensor(bits)
        self.z[:, start : start + bits.shape[-1], :] = self._to_tiles(bits, int(bits.shape[-1]))

    def states(self) -> torch.Tensor:
        """The states as a (n_chains, N) float32 CPU tensor (a copy)."""
        flat = self.z.transpose(0, 2, 1).reshape(-1, self.n_units)[: self.n_chains]
        return torch.from_numpy(flat.astype(np.float32))

    def generator_state(self) -> torch.Tensor:
        """Generator states (n_tiles, 4, T) as an int64 tensor (for checkpoints)."""
        return torch.from_numpy(self.rng.astype(np.int64))

    def set_generator_state(self, state: torch.Tensor) -> None:
        """Restore :meth:`generator_state` (shape must match)."""
        a = torch.as_tensor(state).cpu().numpy()
        if a.shape != self.rng.shape:
            raise SamplerError(f"generator state has shape {a.shape}, the chains need {self.rng.shape}")
        self.rng[:] = a.astype(np.uint32)

    def derive_seed(self) -> int:
        """A seed drawn from the chains' generators (to hand the chains over to another engine)."""
        return int(np.bitwise_xor.reduce(self.rng.astype(np.uint64).ravel() * np.uint64(0x9E3779B97F4A7C15)) % (2**62))


_STRUCTURE: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def _structure(rbm) -> tuple[np.ndarray, np.ndarray, torch.Tensor]:
    """CSR ``indptr``, ``indices`` (int32) of the RBM's allowed couplings (all units, partition order)
    and, per CSR entry, its index into the concatenated flat weight blocks ``W_pq`` (p < q).

    Cached per RBM until its masks change (``load_state_dict`` renews ``rbm.sparse_pattern``), so
    rebuilding the kernel after an optimiser step costs one gather.
    """
    patterns = [rbm.sparse_pattern(p) for p in range(4)]
    hit = _STRUCTURE.get(rbm)
    if hit is not None and all(a is b for a, b in zip(hit[0], patterns)):
        return hit[1]
    base, start = {}, 0
    for p, q in rbm.pairs:
        base[(p, q)] = start
        start += rbm.sizes[p] * rbm.sizes[q]
    offsets = torch.tensor(rbm.offsets)
    counts, cols, gathers = [], [], []
    for p, (r, c) in enumerate(patterns):  # row-major within partition p; c are flat unit indices
        r, c = r.cpu(), c.cpu()
        q = torch.bucketize(c, offsets, right=True) - 1
        cq = c - offsets[q]
        g = torch.empty_like(c)
        for other in range(4):
            sel = q == other
            if other == p or not bool(sel.any()):
                continue
            if p < other:  # W_p,other[r, cq]
                g[sel] = base[(p, other)] + r[sel] * rbm.sizes[other] + cq[sel]
            else:  # W_other,p[cq, r]
                g[sel] = base[(other, p)] + cq[sel] * rbm.sizes[p] + r[sel]
        counts.append(torch.bincount(r, minlength=rbm.sizes[p]))
        cols.append(c)
        gathers.append(g)
    indptr = np.concatenate([[0], np.cumsum(torch.cat(counts).numpy())]).astype(np.int32)
    out = (indptr, torch.cat(cols).numpy().astype(np.int32), torch.cat(gathers))
    _STRUCTURE[rbm] = (patterns, out)
    return out


class CompiledGibbsKernel:
    """CSR operators of one snapshot of an RBM at inverse temperature ``beta``, and the sweep loop.

    Args:
        rbm: the :class:`~calolib.rbm.RBM` (on CPU; parameters copied, gradients detached).
        beta: inverse temperature (the fields are ``beta (a_i + sum_j W_ij z_j)``).
    """

    def __init__(self, rbm, beta: float = 1.0) -> None:
        if not (isinstance(beta, (int, float)) and beta >= 0):
            raise SamplerError(f"beta must be a number >= 0, got {beta!r}")
        if rbm.device.type != "cpu":
            raise SamplerError(f"the compiled Gibbs backend runs on CPU; the RBM is on {rbm.device} (use backend='torch')")
        self.sizes = rbm.sizes
        self.offsets = rbm.offsets
        self.n_units = rbm.n_units
        self.indptr, self.indices, gather = _structure(rbm)
        with torch.no_grad():
            flat = torch.cat([rbm.weights[f"{p}{q}"].detach().reshape(-1) for p, q in rbm.pairs]).float()
            self.weights = (flat[gather] * float(beta)).numpy().astype(np.float32)
            self.bias = (rbm.bias_vector().detach().float() * float(beta)).numpy().astype(np.float32)

    def units(self, clamp0: bool) -> np.ndarray:
        """Units updated per sweep, in order (partition 0 left out when clamped)."""
        start = self.sizes[0] if clamp0 else 0
        return np.arange(start, self.n_units, dtype=np.int32)

    def run(self, chains: TiledChains, n_sweeps: int, *, clamp0: bool = False, every: int = 0) -> torch.Tensor | None:
        """Advance ``chains`` by ``n_sweeps`` sweeps in place.

        With ``every > 0`` returns the magnetisation m = mean(2 z - 1) of each chain every ``every``
        sweeps, (n_chains, n_sweeps // every) float32; else ``None``.
        """
        if chains.n_units != self.n_units:
            raise SamplerError(f"chains have {chains.n_units} units, the RBM {self.n_units}")
        k = _kernels()
        n_tiles, _, width = chains.z.shape
        n_rec = int(n_sweeps) // int(every) if every > 0 else 0
        mag = np.zeros((n_tiles, width, n_rec), np.float32)
        if n_sweeps > 0:
            units = self.units(clamp0)
            _parallel(lambda first, last: k.gibbs_sweeps(chains.z, chains.rng, self.indptr, self.indices, self.weights, self.bias,
                                                         units, int(n_sweeps), int(every), mag, first, last), n_tiles)
        if every <= 0:
            return None
        return torch.from_numpy(mag.reshape(n_tiles * width, n_rec)[: chains.n_chains].copy())
