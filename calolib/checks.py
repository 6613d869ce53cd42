"""Small argument checks shared by the CLI and the library: seeds, finite numbers, thread counts, memory.

Each raises a :class:`~calolib.errors.ConfigError` with one line saying what is allowed, so a bad value
fails before any work starts instead of deep inside numpy or torch (``SeedSequence(-1)``,
``torch.manual_seed(2**70)``, ``torch.set_num_threads(100000)``, a 500 GB allocation).

Example:
    >>> check_seed(7), check_threads(0)
    (7, 0)
    >>> check_seed(-1)
    Traceback (most recent call last):
    ...
    calolib.errors.ConfigError: seed must be an integer in [0, 4294967295], got -1
"""
from __future__ import annotations

import math
import os

from calolib.errors import ConfigError

__all__ = ["MAX_SEED", "check_seed", "check_finite", "check_threads", "available_memory", "check_memory",
           "format_bytes"]

#: Seeds are 32-bit: every seed calolib derives from one (``seed * 1_000_003 + k``) stays in torch's 64-bit range.
MAX_SEED = 2**32 - 1


def check_seed(seed, name: str = "seed") -> int:
    """``seed`` as an int in ``[0, 2**32 - 1]``; ConfigError otherwise (bools and non-integral floats too).

    Example:
        >>> check_seed(3.0)
        3
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, float)) or (isinstance(seed, float) and not seed.is_integer()):
        raise ConfigError(f"{name} must be an integer in [0, {MAX_SEED}], got {seed!r}")
    if not 0 <= seed <= MAX_SEED:
        raise ConfigError(f"{name} must be an integer in [0, {MAX_SEED}], got {int(seed)}")
    return int(seed)


def check_finite(value, name: str, *, low: float | None = None, high: float | None = None,
                 low_open: bool = False) -> float:
    """``value`` as a finite float in ``[low, high]`` (``(low, high]`` with ``low_open``); ConfigError otherwise.

    Example:
        >>> check_finite(2, "lr", low=0, low_open=True)
        2.0
        >>> check_finite(float("nan"), "esum_weight", low=0)
        Traceback (most recent call last):
        ...
        calolib.errors.ConfigError: esum_weight must be a finite number >= 0, got nan
    """
    bound = ""
    if low is not None:
        bound = f" {'>' if low_open else '>='} {low:g}"
    if high is not None:
        bound += f"{' and' if bound else ''} <= {high:g}"
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be a finite number{bound}, got {value!r}") from None
    if (not math.isfinite(v) or (low is not None and (v <= low if low_open else v < low))
            or (high is not None and v > high)):
        raise ConfigError(f"{name} must be a finite number{bound}, got {value!r}")
    return v


def check_threads(n: int, name: str = "--threads") -> int:
    """A CPU thread count: 0 (the library's choice) up to ``os.cpu_count()``.

    Example:
        >>> check_threads(1)
        1
    """
    cpus = os.cpu_count() or 1
    if isinstance(n, bool) or not isinstance(n, int) or not 0 <= n <= cpus:
        raise ConfigError(f"{name} must be between 0 (automatic) and {cpus} (the CPUs of this machine), got {n}")
    return n


def _read_int(path: str) -> int | None:
    try:
        with open(path) as fh:
            text = fh.read().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def available_memory() -> int | None:
    """Bytes of memory a new allocation can use: ``MemAvailable`` and any cgroup limit (None if unknown)."""
    avail = None
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    avail = int(line.split()[1]) * 1024
                    break
    except (OSError, ValueError, IndexError):
        pass
    if avail is None:
        try:
            avail = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (AttributeError, ValueError, OSError):
            avail = None
    limit, used = _read_int("/sys/fs/cgroup/memory.max"), _read_int("/sys/fs/cgroup/memory.current")
    if limit is not None and used is not None:
        room = max(limit - used, 0)
        avail = room if avail is None else min(avail, room)
    return avail


def format_bytes(n: float) -> str:
    """``1.5e9`` -> ``'1.5 GB'``.

    Example:
        >>> format_bytes(2.6e15), format_bytes(3e6)
        ('2.6 PB', '3.0 MB')
    """
    for unit, f in (("PB", 1e15), ("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= f:
            return f"{n / f:.1f} {unit}"
    return f"{int(n)} B"


def check_memory(n_bytes: float, what: str, fix: str, *, available: int | None = None) -> None:
    """ConfigError when ``what`` needs more memory (``n_bytes``) than is available.

    Example:
        >>> check_memory(1e20, "1e11 ds2 showers", "use --n <= 1e6")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        calolib.errors.ConfigError: 1e11 ds2 showers need about 100000.0 PB of memory but ... are available; use --n <= 1e6
    """
    avail = available_memory() if available is None else available
    if avail is not None and n_bytes > avail:
        raise ConfigError(f"{what} need about {format_bytes(n_bytes)} of memory but {format_bytes(avail)} are available; {fix}")


def __dir__():
    return __all__
