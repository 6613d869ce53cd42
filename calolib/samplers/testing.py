"""Conformance helpers for samplers, in the spirit of ``dimod.testing``.

``assert_sampler_api(sampler)`` checks the interface (name, parameters, properties, sample signature);
``assert_sample_energies(samples, rbm)`` checks that a :class:`LatentSamples` is well formed and that
its energies are the RBM's energies of its states; ``assert_clamped(samples, conditioning, rbm)``
checks that partition 0 holds the conditioning bits.  Every sampler's tests call them.

Example:
    >>> from calolib.rbm import RBM
    >>> from calolib.samplers import get_sampler
    >>> rbm, s = RBM((1, 2, 1, 1)), get_sampler("gibbs", n_steps=2)
    >>> assert_sampler_api(s); assert_sample_energies(s.sample(rbm, 3, seed=0), rbm)
"""
from __future__ import annotations

import inspect
from collections.abc import Mapping

import torch

from calolib.samplers.base import LatentSamples, Sampler

__all__ = ["assert_sampler_api", "assert_sample_energies", "assert_clamped"]


def __dir__():
    return __all__


def assert_sampler_api(sampler) -> None:
    """Assert that ``sampler`` implements the :class:`~calolib.samplers.base.Sampler` interface."""
    assert isinstance(sampler, Sampler), f"{sampler!r} is not a calolib Sampler"
    assert isinstance(sampler.name, str) and sampler.name, "sampler.name must be a non-empty string"
    assert isinstance(sampler.parameters, Mapping), "sampler.parameters must be a mapping"
    assert isinstance(sampler.properties, Mapping), "sampler.properties must be a mapping"
    for attr in ("parameters", "properties"):
        prop = getattr(type(sampler), attr, None)
        assert isinstance(prop, property) and prop.fset is None, f"sampler.{attr} must be a read-only property"
    sig = inspect.signature(sampler.sample)
    names = list(sig.parameters)
    assert names[:2] == ["rbm", "n_samples"], f"sample() must start with (rbm, n_samples), got {names[:2]}"
    for kw in ("conditioning", "seed"):
        assert kw in sig.parameters, f"sample() must accept keyword {kw!r}"
        assert sig.parameters[kw].kind is inspect.Parameter.KEYWORD_ONLY, f"sample() argument {kw!r} must be keyword-only"
        assert sig.parameters[kw].default is None, f"sample() argument {kw!r} must default to None"


def assert_sample_energies(samples: LatentSamples, rbm, *, rtol: float = 1e-5, atol: float = 1e-4) -> None:
    """Assert ``samples`` is a valid :class:`LatentSamples` for ``rbm`` with ``energy == rbm.energy(z)``."""
    assert isinstance(samples, LatentSamples), f"expected LatentSamples, got {type(samples).__name__}"
    assert samples.z.shape[1] == rbm.n_units, f"samples have {samples.z.shape[1]} units, the RBM {rbm.n_units}"
    assert bool(((samples.z == 0) | (samples.z == 1)).all()), "states must be 0/1"
    with torch.no_grad():
        expected = rbm.energy(samples.z.to(rbm.device)).double().cpu()
    got = samples.energy.double().cpu()
    assert torch.allclose(got, expected, rtol=rtol, atol=atol), (
        f"sample energies differ from rbm.energy by up to {float((got - expected).abs().max()):.3g}"
    )


def assert_clamped(samples: LatentSamples, conditioning, rbm) -> None:
    """Assert that partition 0 of every sample equals ``conditioning`` ((n0,) or (S, n0))."""
    c = torch.as_tensor(conditioning, dtype=samples.z.dtype).to(samples.z.device)
    z0 = samples.z[:, : rbm.sizes[0]]
    c = c.expand_as(z0) if c.ndim == 1 else c
    assert torch.equal(z0, c), f"partition 0 is not clamped: {int((z0 != c).any(dim=1).sum())} rows differ"
