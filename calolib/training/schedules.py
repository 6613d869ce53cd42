"""Annealing schedules as pure functions of training time.

Time ``t`` is measured in (fractional) epochs, ``t = epoch + batch / n_batches``, so a schedule does
not depend on the batch size and a resumed run recomputes exactly the values an uninterrupted run
would have used (nanoGPT's ``get_lr(it)`` idea).  Three schedules drive a QVAE run:

* the AdamW learning rate (linear warm-up, then constant / cosine / exponential decay);
* the KL weight multiplying the prior terms ``ent + pos + neg`` (linear ramp, "KL annealing");
* the inverse temperature beta of the continuous relaxation of the binary latents
  (geometric ramp from ``beta_start`` to the model's sharpness, sharper relaxations later in training).
"""
from __future__ import annotations

import math

__all__ = ["learning_rate", "kl_weight", "relaxation_beta", "schedule_values"]


def learning_rate(t: float, *, lr: float, schedule: str = "cosine", warmup: float = 0.0, horizon: float = 1.0,
                  min_factor: float = 0.05, gamma: float = 0.9) -> float:
    """Learning rate at epoch-time ``t``.

    Args:
        t: fractional epochs since the start of training (>= 0).
        lr: peak learning rate.
        schedule: ``"constant"``, ``"cosine"`` (from ``lr`` at the end of warm-up down to ``min_factor*lr``
            at ``horizon`` epochs, flat after) or ``"exponential"`` (``lr * gamma**(t - warmup)``).
        warmup: epochs of linear warm-up from 0 to ``lr``.
        horizon: cosine horizon in epochs (counted from t = 0).

    Example:
        >>> learning_rate(0.5, lr=1.0, warmup=1.0)
        0.5
        >>> round(learning_rate(10.0, lr=1.0, schedule="cosine", horizon=10.0, min_factor=0.1), 6)
        0.1
        >>> round(learning_rate(2.0, lr=1.0, schedule="exponential", gamma=0.5), 6)
        0.25
    """
    t = max(float(t), 0.0)
    if warmup > 0 and t < warmup:
        return lr * t / warmup
    if schedule == "constant":
        return lr
    if schedule == "exponential":
        return lr * gamma ** (t - warmup)
    if schedule == "cosine":
        span = max(horizon - warmup, 1e-12)
        frac = min(max((t - warmup) / span, 0.0), 1.0)
        return lr * (min_factor + (1.0 - min_factor) * 0.5 * (1.0 + math.cos(math.pi * frac)))
    raise ValueError(f"unknown lr schedule {schedule!r}; use constant, cosine or exponential")


def kl_weight(t: float, *, start: float = 0.0, end: float = 1.0, warmup: float = 1.0) -> float:
    """Weight of the prior (KL) terms: linear ramp from ``start`` to ``end`` over ``warmup`` epochs.

    Example:
        >>> kl_weight(0.25, start=0.0, end=1.0, warmup=1.0), kl_weight(3.0, end=0.5)
        (0.25, 0.5)
    """
    if warmup <= 0:
        return float(end)
    frac = min(max(float(t) / warmup, 0.0), 1.0)
    return float(start + (end - start) * frac)


def relaxation_beta(t: float, *, start: float = 1.0, end: float = 8.0, anneal: float = 1.0) -> float:
    """Inverse temperature of the latent relaxation: geometric ramp ``start -> end`` over ``anneal`` epochs.

    Example:
        >>> relaxation_beta(0.5, start=1.0, end=4.0, anneal=1.0)
        2.0
        >>> relaxation_beta(9.0, start=1.0, end=4.0, anneal=1.0)
        4.0
    """
    if anneal <= 0:
        return float(end)
    frac = min(max(float(t) / anneal, 0.0), 1.0)
    return float(start * (end / start) ** frac)


def schedule_values(t: float, config, *, beta_target: float = 1.0) -> dict[str, float]:
    """All three schedules of a :class:`~calolib.training.config.TrainConfig` at epoch-time ``t``.

    ``beta_target`` is the relaxation sharpness reached at the end of the annealing (the model's).

    Example:
        >>> from calolib.training.config import TrainConfig
        >>> v = schedule_values(0.0, TrainConfig(lr_schedule="constant", lr=0.01), beta_target=10.0)
        >>> v["lr"], v["kl_weight"], v["beta"]
        (0.01, 0.0, 1.0)
    """
    horizon = config.lr_decay_epochs if config.lr_decay_epochs > 0 else float(max(config.epochs, 1))
    return {
        "lr": learning_rate(t, lr=config.lr, schedule=config.lr_schedule, warmup=config.lr_warmup_epochs,
                            horizon=horizon, min_factor=config.lr_min_factor, gamma=config.lr_gamma),
        "kl_weight": kl_weight(t, start=config.kl_start, end=config.kl_max, warmup=config.kl_warmup_epochs),
        "beta": relaxation_beta(t, start=config.beta_start, end=beta_target, anneal=config.beta_anneal_epochs),
    }


def __dir__():
    return __all__
