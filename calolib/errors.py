"""Package exceptions.  Every user-facing error is a ``ValueError`` subclass whose message is one line
that names the problem and, where possible, how to fix it.  The CLI prints such errors on stderr and
exits with code 2 (no traceback).  Warnings (:class:`CalolibWarning`) flag input that is valid but
looks wrong; the CLI prints each as one ``calolib: warning:`` line.
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
    "OutputError",
    "RunDirError",
    "CalolibWarning",
    "PlausibilityWarning",
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


class OutputError(CalolibError):
    """An output that would replace an existing file or an input, or that cannot be written
    (unwritable directory, full disk)."""


class RunDirError(OutputError):
    """A training run directory that is in use by another training, or holds files a new run would replace."""


class CalolibWarning(UserWarning):
    """Base class of calolib's warnings (the CLI prints them as one ``calolib: warning:`` line)."""


class PlausibilityWarning(CalolibWarning):
    """Input that is valid but looks wrong: showers depositing more than the incident energy (a file in
    GeV instead of MeV), incident energies outside the range a model was trained on."""
