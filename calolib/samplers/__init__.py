"""Samplers of the RBM prior behind one interface.

``get_sampler(name, **kw).sample(rbm, n, conditioning=None, seed=None) -> LatentSamples`` for
``"gibbs"`` (block Gibbs: a compiled numba kernel on CPU, torch on CUDA; :mod:`calolib.samplers.compiled`),
``"exact"`` (enumeration, <= 24 units) and the dimod
samplers ``"sa"``, ``"pimc"``, ``"mock-qpu"``, ``"qpu"`` (module ``calolib.samplers.dimod_samplers``,
imported on first use, so this package imports without the Ocean SDK).

Example:
    >>> from calolib.rbm import RBM
    >>> gibbs_sample(RBM((1, 1, 1, 1)), 2, 1).shape
    torch.Size([2, 4])
"""
from __future__ import annotations

from calolib.samplers.base import (
    LatentSamples,
    Sampler,
    available_samplers,
    check_conditioning,
    get_sampler,
    register_sampler,
)
from calolib.samplers.exact import ExactSampler, enumerate_states, exact_log_probs, exact_moments
from calolib.samplers.gibbs import GibbsSampler, PersistentChains, gibbs_sample, gibbs_trajectory

__all__ = [
    "LatentSamples",
    "Sampler",
    "available_samplers",
    "check_conditioning",
    "get_sampler",
    "register_sampler",
    "gibbs_sample",
    "gibbs_trajectory",
    "PersistentChains",
    "GibbsSampler",
    "ExactSampler",
    "enumerate_states",
    "exact_log_probs",
    "exact_moments",
]


def __dir__():
    return __all__
