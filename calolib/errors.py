"""Package exceptions.  Every user-facing error is a ``ValueError`` subclass whose message is one line
that names the problem and, where possible, how to fix it.  The CLI prints such errors on stderr and
exits with code 2 (no traceback).
"""
from __future__ import annotations

__all__ = [
    "CalolibError",
    "GeometryError",
    "ShowerFileError",
    "ConfigError",
    "CheckpointError",
    "SamplerError",
    "QPUUnavailableError",
]


class CalolibError(ValueError):
    """Base class of calolib's user-facing errors (bad input, bad configuration)."""


class GeometryError(CalolibError):
    """Unknown geometry or data that matches no geometry."""


class ShowerFileError(CalolibError):
    """A shower file that is missing, unreadable or not in the CaloChallenge layout."""


class ConfigError(CalolibError):
    """An unknown configuration key, a wrong type or an out-of-range value."""


class CheckpointError(CalolibError):
    """A missing, truncated or incompatible checkpoint."""


class SamplerError(CalolibError):
    """An unknown sampler or invalid sampler arguments."""


class QPUUnavailableError(SamplerError):
    """A real D-Wave QPU was requested but no token/solver is configured."""
