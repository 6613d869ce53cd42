"""The common adapter of the dimod samplers (:class:`DimodSampler`): conditioning groups, clamping, spin
form, range scaling and decoding (helpers in :mod:`calolib.samplers.dimod_bridge`), around one
``child.sample`` call per distinct conditioning vector.  Subclasses in
:mod:`calolib.samplers.dimod_samplers` and :mod:`calolib.samplers.dimod_qpu` provide the child sampler.

Example:
    >>> sorted(COMMON_PARAMETERS)
    ['aggregate', 'clamp', 'clamp_strength', 'progress']
"""
from __future__ import annotations

import time
import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from calolib.errors import SamplerError
from calolib.samplers.base import LatentSamples, Sampler, check_conditioning
from calolib.samplers.dimod_bridge import autoscale_factor, clamp_bqm, decode_sampleset, group_conditioning, seeds_for
from calolib.samplers.options import check_sampler_options

__all__ = ["DimodSampler", "SamplerArgumentWarning", "COMMON_PARAMETERS"]


def __dir__():
    return __all__


class SamplerArgumentWarning(UserWarning):
    """An unknown keyword argument was passed to ``sample`` and ignored."""


COMMON_PARAMETERS = {
    "clamp": "'fix' (remove the clamped variables) or 'bias' (strong linear biases)",
    "clamp_strength": "minimum energy margin of a bias clamp, RBM energy units (default 4)",
    "aggregate": "merge identical states (num_occurrences) instead of one row per sample",
    "progress": "tqdm bar over conditioning groups",
}


class DimodSampler(Sampler):
    """Common adapter; subclasses provide the dimod child and its keyword arguments.

    Constructor keyword arguments are defaults for :meth:`sample` (any name in ``parameters``).
    """

    name = "dimod"
    structured = False  # QPU-like: needs qubit labels and range scaling
    _CHILD_PARAMETERS: dict[str, str] = {}
    _DEFAULTS: dict[str, Any] = {}

    def __init__(self, **defaults) -> None:
        unknown = sorted(set(defaults) - set(self.parameters))
        if unknown:
            raise SamplerError(f"{self.name} sampler got unknown arguments {unknown}; accepted: {sorted(self.parameters)}")
        defaults = check_sampler_options(self.name, defaults, unknown="keep")  # one line, not a library traceback
        self.defaults = {"clamp": "fix", "clamp_strength": 4.0, "aggregate": False, "progress": False,
                         **self._DEFAULTS, **defaults}
        self._children: dict = {}

    @property
    def parameters(self) -> Mapping[str, Any]:
        return {**COMMON_PARAMETERS, **self._CHILD_PARAMETERS}

    @property
    def properties(self) -> Mapping[str, Any]:
        return {"name": self.name, "structured": self.structured, "defaults": dict(self.defaults)}

    # hooks --------------------------------------------------------------------------------------
    def _child(self, rbm):
        raise NotImplementedError

    def _child_kwargs(self, opts: dict, scale: float) -> dict:
        """Keyword arguments for ``child.sample`` (beyond ``num_reads`` and ``seed``)."""
        return {k: opts[k] for k in self._CHILD_PARAMETERS if k in opts and opts[k] is not None}

    def _beta_device(self, opts: dict) -> float | None:
        """The device's final inverse temperature in units of the problem it is sent."""
        return None

    def _ranges(self, child):
        props = getattr(child, "properties", {}) or {}
        if "h_range" in props and "j_range" in props:
            return tuple(props["h_range"]), tuple(props["j_range"])
        return None

    def _to_device(self, rbm, bqm, child, opts):
        """Relabel for the device; returns (bqm to send, label -> unit, extra info, sampler to call)."""
        return bqm, {v: v for v in bqm.variables}, {}, child

    def _call(self, target, bqm, n_reads: int, seed: int, kwargs: dict):
        return target.sample(bqm, num_reads=n_reads, seed=seed, **kwargs)

    # the adapter ---------------------------------------------------------------------------------
    def sample(self, rbm, n_samples: int, *, conditioning=None, seed: int | None = None, **kw) -> LatentSamples:
        unknown = sorted(set(kw) - set(self.parameters))
        if unknown:
            warnings.warn(f"{self.name} sampler ignores unknown arguments {unknown}", SamplerArgumentWarning, stacklevel=2)
        opts = {**self.defaults, **check_sampler_options(self.name, {k: v for k, v in kw.items() if k in self.parameters},
                                                         unknown="keep")}
        n_samples = int(n_samples)
        if n_samples < 1:
            raise SamplerError(f"n_samples must be >= 1, got {n_samples}")
        t0 = time.perf_counter()
        cond = check_conditioning(rbm, conditioning, n_samples)
        groups = group_conditioning(cond, n_samples)
        bqm = rbm.to_bqm()
        child = self._child(rbm)
        ranges = self._ranges(child) if self.structured else None
        clamped = np.arange(rbm.offsets[0], rbm.offsets[0] + rbm.sizes[0])
        z_all = np.zeros((n_samples, rbm.n_units), dtype=np.int8)
        scales, violations, t_sampler, extra = [], 0, 0.0, {}
        it = zip(groups, seeds_for(seed, len(groups)))
        if opts["progress"]:
            from tqdm.auto import tqdm

            it = tqdm(it, total=len(groups), desc=self.name)
        for (c, rows), s in it:
            problem = bqm if c is None else clamp_bqm(bqm, clamped, c, mode=opts["clamp"], strength=float(opts["clamp_strength"]))
            spin = problem.change_vartype("SPIN", inplace=False)
            scale = autoscale_factor(spin, *ranges) if ranges else 1.0
            if scale != 1.0:
                spin.scale(1.0 / scale)
            send, label_to_unit, extra, target = self._to_device(rbm, spin, child, opts)
            t1 = time.perf_counter()
            ss = self._call(target, send, len(rows), s, self._child_kwargs(opts, scale))
            t_sampler += time.perf_counter() - t1
            zg, units = decode_sampleset(ss, label_to_unit, len(rows), np.random.default_rng(s))
            block = np.zeros((len(rows), rbm.n_units), dtype=np.int8)
            block[:, units] = zg
            if c is not None:
                violations += int((block[:, clamped][:, np.isin(clamped, units)] != c[np.isin(clamped, units)]).sum())
                block[:, clamped] = c
            z_all[rows] = block
            scales.append(scale)
        beta_dev = self._beta_device(opts)
        scale = float(max(scales))
        beta_nominal = (beta_dev if beta_dev is not None else 1.0) / scale
        info = {
            "sampler": self.name,
            "scale": scale,
            "beta_device": beta_dev,
            "beta_nominal": beta_nominal,
            "clamp": opts["clamp"] if cond is not None else None,
            "conditioned": cond is not None,
            "n_groups": len(groups),
            "timing": {"total_s": time.perf_counter() - t0, "sampler_s": t_sampler},
            **extra,
        }
        if len(scales) > 1:
            info["scale_min"] = float(min(scales))
        if cond is not None and opts["clamp"] == "bias":
            info["clamp_violation_rate"] = violations / float(n_samples * rbm.sizes[0])
        z = torch.from_numpy(z_all).to(device=rbm.device, dtype=rbm.bias_vector().dtype)
        out = LatentSamples.from_states(rbm, z, beta=beta_nominal, info=info)
        return out.aggregate() if opts["aggregate"] else out
