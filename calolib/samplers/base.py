"""The sampler interface: one result container and one small abstract base class.

Modelled on dimod: a :class:`Sampler` has read-only ``parameters`` (the keyword arguments its ``sample``
accepts) and ``properties`` (static facts), and ``sample(rbm, n_samples, *, conditioning=None, seed=None,
**kw)`` returns :class:`LatentSamples` (states, their RBM energies at beta = 1, occurrence counts, the
beta they were drawn at, and an ``info`` dict).  ``conditioning`` is a 0/1 tensor (n0,) or
(n_samples, n0) clamped onto partition 0.

Samplers are looked up by name with :func:`get_sampler`.  Names map to module paths and are imported
on first use, so ``import calolib.samplers`` never imports dimod: a module registers its classes with
:func:`register_sampler` (or simply defines ``Sampler`` subclasses whose ``name`` matches).

Example:
    >>> sorted(available_samplers())[:3]
    ['exact', 'gibbs', 'mock-qpu']
"""
from __future__ import annotations

import importlib
import math
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import torch

from calolib.errors import SamplerError

__all__ = [
    "LatentSamples",
    "Sampler",
    "register_sampler",
    "get_sampler",
    "available_samplers",
    "check_conditioning",
]


def __dir__():
    return __all__


@dataclass(frozen=True, eq=False)  # holds tensors/arrays: compare fields explicitly
class LatentSamples:
    """Samples of the RBM prior.

    Attributes:
        z: (S, N) float tensor of 0/1 states.
        energy: (S,) tensor, ``rbm.energy(z)`` (i.e. at beta = 1, whatever beta they were drawn at).
        num_occurrences: (S,) int64 tensor (1 per row unless aggregated).
        beta: inverse temperature the sampler targeted (annealers: nominal; see ``info["beta_eff"]``).
        info: free-form facts (sampler name, timing, embedding, beta_eff, ...).
    """

    z: torch.Tensor
    energy: torch.Tensor
    num_occurrences: torch.Tensor
    beta: float = 1.0
    info: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        z, e, n = self.z, self.energy, self.num_occurrences
        if not isinstance(z, torch.Tensor) or z.ndim != 2 or not z.is_floating_point():
            raise SamplerError(f"LatentSamples.z must be a 2-D float tensor (S, N), got {_describe(z)}")
        if z.numel() and not bool(((z == 0) | (z == 1)).all()):
            raise SamplerError("LatentSamples.z must hold only 0/1 values (binary units, not spins)")
        s = z.shape[0]
        if not isinstance(e, torch.Tensor) or tuple(e.shape) != (s,):
            raise SamplerError(f"LatentSamples.energy must have shape ({s},), got {_describe(e)}")
        if not isinstance(n, torch.Tensor) or tuple(n.shape) != (s,) or n.dtype != torch.int64:
            raise SamplerError(f"LatentSamples.num_occurrences must be an int64 tensor of shape ({s},), got {_describe(n)}")
        if n.numel() and bool((n < 0).any()):
            raise SamplerError("LatentSamples.num_occurrences must be >= 0")
        if not (isinstance(self.beta, (int, float)) and math.isfinite(self.beta) and self.beta > 0):
            raise SamplerError(f"LatentSamples.beta must be a finite positive number, got {self.beta!r}")
        if not isinstance(self.info, dict):
            raise SamplerError("LatentSamples.info must be a dict")

    @classmethod
    def from_states(cls, rbm, z: torch.Tensor, *, beta: float = 1.0, info: dict | None = None, num_occurrences=None) -> "LatentSamples":
        """Build from states (S, N), computing energies with ``rbm.energy``.

        Example:
            >>> from calolib.rbm import RBM
            >>> s = LatentSamples.from_states(RBM((1, 1, 1, 1)), torch.zeros(3, 4))
            >>> len(s), s.n_samples, float(s.energy.abs().sum())
            (3, 3, 0.0)
        """
        z = z.to(rbm.biases[0].dtype)
        with torch.no_grad():
            energy = rbm.energy(z)
        if num_occurrences is None:
            num_occurrences = torch.ones(z.shape[0], dtype=torch.int64, device=z.device)
        return cls(z, energy, num_occurrences, float(beta), dict(info or {}))

    def __len__(self) -> int:
        return int(self.z.shape[0])

    @property
    def n_samples(self) -> int:
        """Total number of samples, sum of ``num_occurrences``."""
        return int(self.num_occurrences.sum())

    def expand(self) -> torch.Tensor:
        """States with each row repeated ``num_occurrences`` times, (n_samples, N)."""
        return torch.repeat_interleave(self.z, self.num_occurrences.to(self.z.device), dim=0)

    def aggregate(self) -> "LatentSamples":
        """Merge identical states, summing their occurrences (rows sorted by state).

        Example:
            >>> from calolib.rbm import RBM
            >>> s = LatentSamples.from_states(RBM((1, 1, 1, 1)), torch.tensor([[1., 0, 0, 0]] * 3))
            >>> s.aggregate().num_occurrences.tolist()
            [3]
        """
        uniq, inverse = torch.unique(self.z, dim=0, return_inverse=True)
        counts = torch.zeros(uniq.shape[0], dtype=torch.int64, device=self.z.device)
        counts.index_add_(0, inverse, self.num_occurrences.to(self.z.device))
        energy = torch.zeros(uniq.shape[0], dtype=self.energy.dtype, device=self.energy.device)
        energy[inverse.to(energy.device)] = self.energy
        return replace(self, z=uniq, energy=energy, num_occurrences=counts)

    def lowest(self) -> "LatentSamples":
        """The rows with the lowest energy (ties included)."""
        keep = self.energy <= self.energy.min() + 1e-6 * max(1.0, float(self.energy.abs().max()))
        return replace(self, z=self.z[keep], energy=self.energy[keep], num_occurrences=self.num_occurrences[keep])

    def to(self, device) -> "LatentSamples":
        """Copy to another device."""
        return replace(self, z=self.z.to(device), energy=self.energy.to(device), num_occurrences=self.num_occurrences.to(device))


def _describe(x) -> str:
    if isinstance(x, torch.Tensor):
        return f"tensor of shape {tuple(x.shape)} and dtype {x.dtype}"
    return type(x).__name__


class Sampler(ABC):
    """Abstract sampler of RBM priors (see the module docstring).

    Subclasses set ``name`` and implement ``sample``; ``parameters`` lists the accepted keyword
    arguments of ``sample`` (beyond ``conditioning`` and ``seed``), ``properties`` static facts.
    """

    name: str = ""

    @property
    @abstractmethod
    def parameters(self) -> Mapping[str, Any]:
        """Keyword arguments accepted by :meth:`sample` (name -> description)."""

    @property
    def properties(self) -> Mapping[str, Any]:
        """Static facts about the sampler (name, device, limits)."""
        return {"name": self.name}

    @abstractmethod
    def sample(self, rbm, n_samples: int, *, conditioning=None, seed: int | None = None, **kw) -> LatentSamples:
        """Draw ``n_samples`` states of ``rbm`` (partition 0 clamped to ``conditioning`` when given)."""

    def _check_kwargs(self, kw: Mapping[str, Any]) -> None:
        """Raise :class:`SamplerError` for keyword arguments not in ``parameters``."""
        unknown = sorted(set(kw) - set(self.parameters))
        if unknown:
            raise SamplerError(f"{self.name} sampler got unknown arguments {unknown}; accepted: {sorted(self.parameters)}")

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"


def check_conditioning(rbm, conditioning, n_samples: int) -> torch.Tensor | None:
    """Validate a conditioning and broadcast it to a (n_samples, n0) float tensor on the RBM's device.

    Example:
        >>> from calolib.rbm import RBM
        >>> check_conditioning(RBM((2, 1, 1, 1)), torch.tensor([1., 0.]), 3).shape
        torch.Size([3, 2])
    """
    if conditioning is None:
        return None
    n0 = rbm.sizes[0]
    c = torch.as_tensor(conditioning)
    if c.ndim == 1:
        c = c.unsqueeze(0).expand(n_samples, -1)
    if c.ndim != 2 or c.shape[1] != n0 or c.shape[0] != n_samples:
        raise SamplerError(f"conditioning must have shape ({n0},) or ({n_samples}, {n0}), got {tuple(torch.as_tensor(conditioning).shape)}")
    c = c.to(device=rbm.device, dtype=rbm.biases[0].dtype)
    if not bool(((c == 0) | (c == 1)).all()):
        raise SamplerError("conditioning must hold 0/1 bits (use rbm.encode_condition(e_inc))")
    return c.contiguous()


# --------------------------------------------------------------------------------------------- registry
_LAZY: dict[str, str] = {
    "gibbs": "calolib.samplers.gibbs",
    "exact": "calolib.samplers.exact",
    "sa": "calolib.samplers.dimod_samplers",
    "pimc": "calolib.samplers.dimod_samplers",
    "mock-qpu": "calolib.samplers.dimod_samplers",
    "qpu": "calolib.samplers.dimod_samplers",
}
_REGISTRY: dict[str, type[Sampler]] = {}


def register_sampler(name: str, module: str | None = None):
    """Class decorator registering a :class:`Sampler` subclass under ``name``.

    With ``module`` (a module path) and no class, records only where ``name`` lives (lazy registration).
    """
    if module is not None:
        _LAZY[name] = module

    def deco(cls: type[Sampler]) -> type[Sampler]:
        if not (isinstance(cls, type) and issubclass(cls, Sampler)):
            raise TypeError(f"register_sampler({name!r}) needs a Sampler subclass")
        _REGISTRY[name] = cls
        _LAZY.setdefault(name, cls.__module__)
        return cls

    return deco


def available_samplers() -> tuple[str, ...]:
    """Names accepted by :func:`get_sampler` (their modules may still need optional packages)."""
    return tuple(sorted(set(_LAZY) | set(_REGISTRY)))


def get_sampler(name: str | Sampler, **kw) -> Sampler:
    """Instantiate a sampler by name (``"gibbs"``, ``"exact"``, ``"sa"``, ``"pimc"``, ``"mock-qpu"``, ``"qpu"``).

    Keyword arguments go to the sampler's constructor.  An instance is returned unchanged.

    Example:
        >>> get_sampler("gibbs", n_steps=10).name
        'gibbs'
    """
    if isinstance(name, Sampler):
        return name
    key = str(name).lower()
    if key not in _REGISTRY:
        if key not in _LAZY:
            raise SamplerError(f"unknown sampler {name!r}; valid names: {', '.join(available_samplers())}")
        module_name = _LAZY[key]
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            raise SamplerError(f"sampler {key!r} is unavailable ({exc}); install the Ocean SDK (dwave-samplers, dwave-system)") from exc
        if key not in _REGISTRY:
            for obj in vars(module).values():
                if isinstance(obj, type) and issubclass(obj, Sampler) and obj.__module__ == module_name and obj.name == key:
                    _REGISTRY[key] = obj
                    break
            else:
                raise SamplerError(f"module {module_name} defines no sampler named {key!r}")
    try:
        return _REGISTRY[key](**kw)
    except TypeError as exc:
        raise SamplerError(f"bad arguments for sampler {key!r}: {exc}") from exc
