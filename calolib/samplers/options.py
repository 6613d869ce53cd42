"""Validation of sampler options before any sampler library sees them.

``calolib generate --sampler-option num_sweeps=-5`` used to end in a traceback from dwave-samplers or
from the Gibbs kernel; :func:`check_sampler_options` checks every option of every sampler against a
small spec (type, range, choices) and raises :class:`~calolib.errors.SamplerError` with one line naming
the option, what it got and what is allowed.  The CLI calls it before loading the model; the dimod
samplers call it on their defaults and on each ``sample`` call, and :func:`calolib.generation.generate`
calls it for string sampler names.

Example:
    >>> check_sampler_options("sa", {"num_sweeps": 2000.0, "beta_range": [0.1, 5]})
    {'num_sweeps': 2000, 'beta_range': (0.1, 5.0)}
    >>> check_sampler_options("sa", {"num_sweeps": -5})
    Traceback (most recent call last):
    ...
    calolib.errors.SamplerError: sampler option num_sweeps=-5 for 'sa' must be an integer >= 1
"""
from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from calolib.errors import SamplerError

__all__ = ["check_sampler_options", "SAMPLER_OPTIONS"]


def __dir__():
    return __all__


class _Bad(Exception):
    """An option value that does not fit its spec (message: what is allowed)."""


def _int(low: int) -> Callable[[Any], int]:
    def check(v):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not float(v).is_integer() or v < low:
            raise _Bad(f"must be an integer >= {low}")
        return int(v)
    return check


def _num(low: float = 0.0, *, open_low: bool = True, none: bool = False) -> Callable[[Any], float | None]:
    def check(v):
        if v is None and none:
            return None
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or (v <= low if open_low else v < low):
            raise _Bad(f"must be a finite number {'>' if open_low else '>='} {low:g}" + (" (or null)" if none else ""))
        return float(v)
    return check


def _choice(*allowed) -> Callable[[Any], Any]:
    def check(v):
        if v not in allowed:
            names = [repr(a) for a in allowed]
            raise _Bad(f"must be {', '.join(names[:-1])} or {names[-1]}")
        return v
    return check


def _bool(v):
    if not isinstance(v, bool):
        raise _Bad("must be true or false")
    return v


def _str(v):
    if not isinstance(v, str):
        raise _Bad("must be a string")
    return v


def _beta_range(v):
    try:
        if not isinstance(v, (list, tuple)) or len(v) != 2:
            raise _Bad("")
        return tuple(_num(0.0)(x) for x in v)
    except _Bad:
        raise _Bad("must be a pair [beta_start, beta_final] of finite numbers > 0") from None


def _array(nonneg: bool) -> Callable[[Any], np.ndarray]:
    def check(v):
        try:
            a = np.asarray(v, dtype=float)
        except (TypeError, ValueError):
            raise _Bad("must be a list of numbers") from None
        if a.ndim != 1 or a.size == 0 or not np.all(np.isfinite(a)) or (nonneg and np.any(a < 0)):
            raise _Bad("must be a non-empty list of finite numbers" + (" >= 0" if nonneg else ""))
        return a
    return check


def _schedule(v):
    if not isinstance(v, (list, tuple)) or not v:
        raise _Bad("must be a list of [t, s] pairs")
    out = []
    for pair in v:
        if not isinstance(pair, (list, tuple)) or len(pair) != 2:
            raise _Bad("must be a list of [t, s] pairs")
        t, s = _num(0.0, open_low=False)(pair[0]), _num(0.0, open_low=False)(pair[1])
        if s > 1:
            raise _Bad("must have anneal fractions s in [0, 1]")
        out.append((t, s))
    return out


_COMMON = {"clamp": _choice("fix", "bias"), "clamp_strength": _num(0.0), "aggregate": _bool, "progress": _bool}

#: sampler name -> option -> check (returns the normalised value or raises)
SAMPLER_OPTIONS: dict[str, dict[str, Callable[[Any], Any]]] = {
    "gibbs": {"n_steps": _int(1), "beta": _num(0.0), "backend": _str, "dtype": lambda v: v, "init": lambda v: v,
              "progress": _bool},
    "exact": {"beta": _num(0.0, open_low=False)},
    "sa": {**_COMMON, "beta_range": _beta_range, "num_sweeps": _int(1), "num_sweeps_per_beta": _int(1),
           "beta_schedule_type": _choice("geometric", "linear", "custom"), "beta_schedule": _array(nonneg=True),
           "randomize_order": _bool, "proposal_acceptance_criteria": _choice("Metropolis", "Gibbs")},
    "pimc": {**_COMMON, "beta": _num(0.0), "gamma": _num(0.0, open_low=False), "num_sweeps": _int(1),
             "Hp_field": _array(nonneg=True), "Hd_field": _array(nonneg=True), "Gamma": _num(0.0),
             "qubits_per_update": _int(1)},
    "mock-qpu": {**_COMMON, "beta_device": _num(0.0), "num_sweeps": _int(1), "embedding": _choice("direct", "minorminer")},
    "qpu": {**_COMMON, "beta_device": _num(0.0, none=True), "embedding": _choice("direct", "minorminer"),
            "annealing_time": _num(0.0), "anneal_schedule": _schedule, "num_spin_reversal_transforms": _int(0),
            "readout_thermalization": _num(0.0, open_low=False), "programming_thermalization": _num(0.0, open_low=False),
            "label": _str, "solver": lambda v: v, "profile": _str, "token": _str},
}


def _show(v) -> str:
    text = repr(v) if isinstance(v, str) else str(v)
    return text if len(text) <= 40 else text[:37] + "..."


def check_sampler_options(name: str, options: Mapping[str, Any] | None, *, unknown: str = "error") -> dict:
    """Check ``options`` of sampler ``name``; the normalised dict (integral floats -> int, pairs -> tuple).

    Args:
        name: a sampler name (case-insensitive); names without a spec (registered by users) pass unchanged.
        options: keyword arguments for the sampler.
        unknown: ``"error"`` (SamplerError listing the accepted options) or ``"keep"`` (pass them through).

    Raises:
        SamplerError: one line naming the option, its value and what is allowed.
    """
    opts = dict(options or {})
    spec = SAMPLER_OPTIONS.get(str(name).lower())
    if spec is None:
        return opts
    out = {}
    for key, value in opts.items():
        if key not in spec:
            if unknown == "keep":
                out[key] = value
                continue
            raise SamplerError(f"{name} sampler has no option {key!r}; accepted: {', '.join(sorted(spec))}")
        try:
            out[key] = spec[key](value)
        except _Bad as exc:
            raise SamplerError(f"sampler option {key}={_show(value)} for {name!r} {exc}") from None
    if "Hd_field" in out and "Hp_field" in out and len(out["Hd_field"]) != len(out["Hp_field"]):
        raise SamplerError(f"sampler options Hp_field and Hd_field for {name!r} must have the same length "
                           f"(got {len(out['Hp_field'])} and {len(out['Hd_field'])})")
    if "Hd_field" in out and "Hp_field" not in out:
        raise SamplerError(f"sampler option Hd_field for {name!r} needs Hp_field too")
    return out
