"""Training the QVAE: config, schedules, the loop, checkpoints and loss history.

Public API::

    from calolib.training import TrainConfig, get_preset, load_config, apply_overrides, train, load_checkpoint
    result = train(get_preset("quick"), "data/synthetic_ds2.h5", "runs/quick")
    ckpt = load_checkpoint("runs/quick/best.pt")   # ckpt.model (eval), ckpt.transform, ckpt.config, ckpt.history

A run directory holds ``last.pt`` (every epoch), ``best.pt`` (best validation AHEP), ``history.csv`` and
``history.json`` (one row per epoch, every loss term) and ``config.json``.
"""
from calolib.training.checkpoint import Checkpoint, load_checkpoint, read_checkpoint, save_checkpoint
from calolib.training.config import (PRESET_NAMES, TrainConfig, apply_overrides, config_from_dict, config_to_dict,
                                     get_preset, load_config)
from calolib.training.history import read_history, write_history
from calolib.training.loop import TrainResult, train
from calolib.training.schedules import kl_weight, learning_rate, relaxation_beta

__all__ = [
    "TrainConfig",
    "PRESET_NAMES",
    "get_preset",
    "load_config",
    "apply_overrides",
    "config_from_dict",
    "config_to_dict",
    "train",
    "TrainResult",
    "Checkpoint",
    "load_checkpoint",
    "read_checkpoint",
    "save_checkpoint",
    "read_history",
    "write_history",
    "learning_rate",
    "kl_weight",
    "relaxation_beta",
]


def __dir__():
    return __all__
