"""Choosing the torch device.  Nothing in calolib hard-codes the CPU: every function that
allocates tensors takes ``device=`` and resolves it here.

Example:
    >>> str(resolve_device("cpu"))
    'cpu'
"""
from __future__ import annotations

import torch

from calolib.errors import ConfigError

__all__ = ["resolve_device", "cuda_available"]


def cuda_available() -> bool:
    """True when torch sees a CUDA device."""
    return torch.cuda.is_available()


def resolve_device(device: str | torch.device | None = "auto") -> torch.device:
    """Turn ``"auto"`` / ``None`` / ``"cpu"`` / ``"cuda"`` / ``"cuda:1"`` into a :class:`torch.device`.

    ``"auto"`` (and ``None``) picks CUDA when present, else the CPU.

    Raises:
        ConfigError: when CUDA is asked for but not available, or the name is unknown.
    """
    if isinstance(device, torch.device):
        dev = device
    elif device is None or str(device).lower() == "auto":
        return torch.device("cuda" if cuda_available() else "cpu")
    else:
        try:
            dev = torch.device(str(device).lower())
        except RuntimeError as exc:
            raise ConfigError(f"unknown device {device!r}; use auto, cpu or cuda") from exc
    if dev.type == "cuda" and not cuda_available():
        raise ConfigError(f"device {device!r} requested but torch sees no CUDA GPU; use --device cpu")
    return dev
