"""Persistent block-Gibbs chains (PCD): states and random streams that survive between calls.

The negative phase of RBM training advances the same chains a few sweeps per batch while the model
changes under them.  :class:`PersistentChains` keeps the chains in the layout of the engine that runs
them (the compiled CPU engine's tiles, or the torch engine's (N + 1, B) tensor), rebuilds the kernel from
the RBM's current parameters at every :meth:`~PersistentChains.run`, and checkpoints chains and
generators so that a resumed training continues exactly.

Example:
    >>> from calolib.rbm import RBM
    >>> pc = PersistentChains(RBM((2, 2, 2, 2)), 3, seed=0)
    >>> pc.run(1).shape
    torch.Size([3, 8])
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from calolib.errors import SamplerError
from calolib.samplers.base import check_conditioning
from calolib.samplers.gibbs import BlockGibbsKernel, _check_counts, _generator, resolve_backend

__all__ = ["PersistentChains"]


def __dir__():
    return __all__


class PersistentChains:
    """Persistent Gibbs chains for PCD training: the state survives between :meth:`run` calls.

    The kernel is rebuilt from the RBM's current parameters at every call, so the chains follow the
    model as it trains.  :meth:`state_dict` holds the chains and the generator state, so a resumed
    training continues exactly (on the same engine; a state from the other engine restarts its
    random streams from ``seed``).  ``backend`` as in :func:`gibbs_sample`: the compiled engine on CPU
    by default; chains whose RBM moves to CUDA switch to the torch engine.

    Example:
        >>> from calolib.rbm import RBM
        >>> pc = PersistentChains(RBM((2, 2, 2, 2)), 6, seed=1)
        >>> tuple(pc.run(2).shape)
        (6, 8)
    """

    def __init__(self, rbm, n_chains: int, seed: int = 0, *, backend: str = "auto", dtype: torch.dtype | None = None) -> None:
        _check_counts(n_chains, 0)
        self.rbm = rbm
        self.n_chains = int(n_chains)
        self.seed = int(seed)
        self.backend = backend
        self.dtype = dtype
        self._tiled = None  # compiled engine's TiledChains, or None on the torch engine
        self._start(resolve_backend(rbm, backend, dtype), self.seed, None)

    def _start(self, engine: str, seed: int, z: torch.Tensor | None) -> None:
        """(Re)create the state for ``engine`` from ``seed``, with states ``z`` (random when None)."""
        if engine == "numba":
            from calolib.samplers.compiled import TiledChains

            self._tiled, self._zt, self._gen = TiledChains.new(self.rbm.n_units, self.n_chains, seed, z), None, None
            return
        self._tiled = None
        self._gen = _generator(self.rbm.device, seed)
        if z is None:
            u = torch.rand(self.rbm.n_units, self.n_chains, generator=self._gen, device=self.rbm.device)
            z = (u < 0.5).float().T
        ones = torch.ones(1, self.n_chains, device=self.rbm.device)
        self._zt = torch.cat([z.to(device=self.rbm.device, dtype=torch.float32).T, ones]).contiguous()  # (N + 1, B)

    @property
    def engine(self) -> str:
        """``"numba"`` or ``"torch"``: the engine holding the chains now."""
        return "torch" if self._tiled is None else "numba"

    @property
    def z(self) -> torch.Tensor:
        """Current states (n_chains, N), float 0/1 (torch engine: a view; compiled engine: a copy)."""
        if self._tiled is not None:
            return self._tiled.states()
        return self._zt[: self.rbm.n_units].T

    @z.setter
    def z(self, value: torch.Tensor) -> None:
        value = torch.as_tensor(value)
        if tuple(value.shape) != (self.n_chains, self.rbm.n_units):
            raise SamplerError(f"chain states must have shape ({self.n_chains}, {self.rbm.n_units}), got {tuple(value.shape)}")
        if self._tiled is not None:
            self._tiled.set_states(value)
            return
        ones = torch.ones(1, self.n_chains, device=self.rbm.device)
        self._zt = torch.cat([value.to(device=self.rbm.device, dtype=torch.float32).T, ones]).contiguous()

    def _derived_seed(self) -> int:
        if self._tiled is not None:
            return self._tiled.derive_seed()
        return int(torch.randint(0, 2**62, (1,), generator=self._gen, device=self._gen.device).item())

    @torch.no_grad()
    def run(self, n_sweeps: int, beta: float = 1.0, *, conditioning=None) -> torch.Tensor:
        """Advance all chains by ``n_sweeps`` sweeps at ``beta``; returns a copy of the states (n_chains, N)."""
        _check_counts(self.n_chains, n_sweeps)
        engine = "numba" if resolve_backend(self.rbm, self.backend, self.dtype) == "numba" else "torch"
        moved = engine == "torch" and self._zt is not None and self._zt.device != self.rbm.device
        if engine != self.engine or moved:  # the RBM moved: follow it with streams derived from ours
            self._start(engine, self._derived_seed(), self.z.detach().cpu())
        cond = check_conditioning(self.rbm, conditioning, self.n_chains)
        if self._tiled is not None:
            from calolib.samplers.compiled import CompiledGibbsKernel

            if cond is not None:
                self._tiled.set_block(0, cond)
            CompiledGibbsKernel(self.rbm, beta).run(self._tiled, int(n_sweeps), clamp0=cond is not None)
            return self._tiled.states().to(self.rbm.device)
        kernel = BlockGibbsKernel(self.rbm, beta, backend=self.backend if self.backend != "auto" else "torch", dtype=self.dtype)
        zt = self._zt if kernel.dtype == torch.float32 else self._zt.to(kernel.dtype)
        if cond is not None:
            zt[kernel.slices[0]] = cond.T.to(zt.dtype)
        kernel.run(zt, int(n_sweeps), self._gen, clamp0=cond is not None)
        self._zt = zt.float()
        return self.z.contiguous()

    def state_dict(self) -> dict:
        """Chains (CPU tensor) plus generator state, seed and engine."""
        if self._tiled is not None:
            gen, device = self._tiled.generator_state(), "cpu"
        else:
            gen, device = self._gen.get_state(), str(self._gen.device)
        return {"z": self.z.detach().cpu().clone(), "generator": gen, "seed": self.seed, "device": device, "engine": self.engine}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore chains and generators (used only when saved by the same engine on the same device type;
        otherwise the streams restart from the saved seed)."""
        self.seed = int(state.get("seed", self.seed))
        engine = "numba" if resolve_backend(self.rbm, self.backend, self.dtype) == "numba" else "torch"
        self._start(engine, self.seed, torch.as_tensor(state["z"]))
        same = state.get("engine", "torch") == engine
        if same and engine == "numba":
            self._tiled.set_generator_state(state["generator"])
        elif same and torch.device(state.get("device", "cpu")).type == self.rbm.device.type:
            self._gen.set_state(state["generator"])
