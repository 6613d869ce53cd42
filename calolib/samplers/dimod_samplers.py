"""Annealer samplers of the RBM prior through dimod: simulated annealing, path-integral (simulated
quantum) annealing, a mock QPU and the D-Wave QPU, all behind :class:`~calolib.samplers.base.Sampler`.

``get_sampler("sa" | "pimc" | "mock-qpu" | "qpu", **defaults).sample(rbm, n, conditioning=c, seed=s)``
returns :class:`LatentSamples` with states in the RBM's unit order (0/1), ``energy = rbm.energy(z)``
(β = 1), row i conditioned on conditioning row i, and ``info`` with the scale, the nominal β, the clamp
mode and timings.  The RBM → annealer mapping (clamping, spins, ranges) is in
:mod:`calolib.samplers.dimod_bridge`.

Inverse temperatures.  SA and PIMC see the unscaled problem, so their final β *is* the RBM β (default
β_final = 1: SA then ends as a Metropolis chain at the RBM's own temperature).  The QPU and the mock QPU
see H/s (autoscaled into h_range/j_range); a device at inverse temperature β_dev (in programmable units)
samples the RBM at ``beta_nominal = β_dev / s``.  The mock QPU emulates β_dev with simulated annealing
(default 4, an Advantage-like T ≈ 0.25 in units of the J range); the real QPU's β_dev is unknown a
priori (``beta_device=None`` → 1 is assumed).  Measure the actual value with :mod:`calolib.temperature`.

Structured samplers use the RBM's ``qubit_labels`` directly: the RBM was built on the hardware graph, so
the embedding is the identity map (checked node by node and edge by edge).  A ``"full"`` RBM has no such
map: pass ``embedding="minorminer"`` (chains; samples unembedded by majority vote) or build the RBM on an
annealer topology.  Unknown keyword arguments of ``sample`` are dropped with a warning, as in dimod.

Example:
    >>> import torch
    >>> from calolib.rbm import RBM
    >>> rbm = RBM((2, 2, 2, 2), weight_std=1.0, seed=0)
    >>> s = SimulatedAnnealingSampler(num_sweeps=50).sample(rbm, 4, conditioning=torch.tensor([1., 0.]), seed=0)
    >>> s.z[:, :2].tolist(), tuple(s.z.shape)
    ([[1.0, 0.0], [1.0, 0.0], [1.0, 0.0], [1.0, 0.0]], (4, 8))
"""
from __future__ import annotations

import numpy as np

from calolib.samplers.base import register_sampler
from calolib.samplers.dimod_base import DimodSampler, SamplerArgumentWarning
from calolib.samplers.dimod_qpu import MockQPUSampler, QPUSampler, qpu_token_configured

__all__ = [
    "DimodSampler",
    "SimulatedAnnealingSampler",
    "PathIntegralSampler",
    "MockQPUSampler",
    "QPUSampler",
    "SamplerArgumentWarning",
    "qpu_token_configured",
]


def __dir__():
    return __all__


@register_sampler("sa")
class SimulatedAnnealingSampler(DimodSampler):
    """``dwave.samplers.SimulatedAnnealingSampler`` (sequential Metropolis, C++).

    Defaults: ``beta_range=(0.1, 1.0)`` (ends at the RBM's β = 1), ``num_sweeps=1000``; for optimisation
    (ground states) pass e.g. ``beta_range=(0.1, 20)``.
    """

    name = "sa"
    _CHILD_PARAMETERS = {
        "beta_range": "(β_start, β_final) in RBM energy units",
        "num_sweeps": "Metropolis sweeps per read",
        "num_sweeps_per_beta": "sweeps at each β",
        "beta_schedule_type": "'geometric', 'linear' or 'custom'",
        "beta_schedule": "explicit β's (with beta_schedule_type='custom')",
        "randomize_order": "random spin order within a sweep",
        "proposal_acceptance_criteria": "'Metropolis' or 'Gibbs'",
    }
    _DEFAULTS = {"beta_range": (0.1, 1.0), "num_sweeps": 1000}

    def _child(self, rbm):
        if "sa" not in self._children:
            from dwave.samplers import SimulatedAnnealingSampler as SA

            self._children["sa"] = SA()
        return self._children["sa"]

    def _child_kwargs(self, opts, scale):
        kw = super()._child_kwargs(opts, scale)
        if kw.get("beta_schedule_type") == "custom":
            kw.pop("beta_range", None)
            kw.pop("num_sweeps", None)
        return kw

    def _beta_device(self, opts):
        if opts.get("beta_schedule_type") == "custom" and opts.get("beta_schedule") is not None:
            return float(np.asarray(opts["beta_schedule"], float)[-1])
        return float(opts["beta_range"][-1]) if opts.get("beta_range") is not None else None


@register_sampler("pimc")
class PathIntegralSampler(DimodSampler):
    """``dwave.samplers.PathIntegralAnnealingSampler`` (simulated quantum annealing on worldlines).

    Default schedule (quantum-annealing-like, ``num_sweeps`` steps, s = 0 → 1): longitudinal field
    ``Hp = beta * s`` and transverse field ``Hd = beta * gamma * (1 − s)``, both scaled by the target
    inverse temperature ``beta`` (RBM units, default 1) as the dwave-samplers docstring asks.
    """

    name = "pimc"
    _CHILD_PARAMETERS = {
        "beta": "final inverse temperature, RBM units (default 1)",
        "gamma": "initial transverse field relative to beta (default 1)",
        "num_sweeps": "schedule steps (one sweep each)",
        "Hp_field": "explicit longitudinal schedule (overrides beta/num_sweeps)",
        "Hd_field": "explicit transverse schedule",
        "Gamma": "transverse-field scale of the path-integral sampler",
        "qubits_per_update": "1: random single-qubit order",
    }
    _DEFAULTS = {"beta": 1.0, "gamma": 1.0, "num_sweeps": 1000}

    def _child(self, rbm):
        if "pimc" not in self._children:
            from dwave.samplers import PathIntegralAnnealingSampler as PIMC

            self._children["pimc"] = PIMC()
        return self._children["pimc"]

    def _child_kwargs(self, opts, scale):
        kw = {k: opts[k] for k in ("Gamma", "qubits_per_update") if opts.get(k) is not None}
        if opts.get("Hp_field") is not None:
            hp = np.asarray(opts["Hp_field"], dtype=float)
            hd = opts.get("Hd_field")
            hd = np.zeros_like(hp) if hd is None else np.asarray(hd, dtype=float)
        else:
            s = np.linspace(0.0, 1.0, int(opts["num_sweeps"]))
            hp = float(opts["beta"]) * s
            hd = float(opts["beta"]) * float(opts["gamma"]) * (1.0 - s)
        return {**kw, "beta_schedule_type": "custom", "Hp_field": hp, "Hd_field": hd}

    def _beta_device(self, opts):
        if opts.get("Hp_field") is not None:
            return float(np.asarray(opts["Hp_field"], float)[-1])
        return float(opts["beta"])
