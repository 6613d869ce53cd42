"""Tiny configurations and datasets for tests, doctests and notebooks' smoke runs.

:func:`tiny_config` is a QVAE small enough to train an epoch on 64 ds2 events in about a second
(hidden width 16, an 8x8x8x8 fully connected RBM); :func:`write_tiny_dataset` writes a small
CaloChallenge file with sparse, energy-proportional showers (plain numpy, no simulator needed).

Example:
    >>> import tempfile, pathlib
    >>> p = write_tiny_dataset(pathlib.Path(tempfile.mkdtemp()) / "t.h5", n=8)
    >>> from calolib.io import load_showers
    >>> s = load_showers(p); len(s), s.geometry.name, bool((s.showers >= 0).all())
    (8, 'ds2', True)
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from calolib.training.config import TrainConfig, apply_overrides

__all__ = ["tiny_config", "write_tiny_dataset"]


def tiny_config(**overrides) -> TrainConfig:
    """A seconds-scale :class:`TrainConfig` (ds2, FCN 16/16, RBM 8x8x8x8 full, batch 16, constant LR).

    Keyword arguments override fields (``model`` takes a dict of ModelConfig fields).

    Example:
        >>> tiny_config(epochs=2).epochs, tiny_config(model={"encoder": "cnn"}).model.encoder
        (2, 'cnn')
    """
    base = {
        "epochs": 2, "batch_size": 16, "n_neg_chains": 16, "lr_schedule": "constant", "lr": 1e-3,
        "kl_warmup_epochs": 1.0, "beta_anneal_epochs": 1.0, "eval_batch_size": 64,
        "model": {"geometry": "ds2", "encoder_hidden": [16], "decoder_hidden": [16], "rbm_sizes": [8, 8, 8, 8],
                  "topology": "full", "cnn_channels": [2], "cnn_hidden": 16, "hierarchical_hidden": 16},
    }
    model = {**base.pop("model"), **dict(overrides.pop("model", {}))}
    return apply_overrides(TrainConfig(), {**base, **overrides, "model": model})


def write_tiny_dataset(path: str | Path, n: int = 64, *, geometry: str = "ds2", seed: int = 0) -> Path:
    """Write ``n`` toy showers: E_inc log-uniform in 1 GeV..1 TeV, ~15 % hit voxels, deposits ~2.5 % of E_inc.

    The hit probability falls with the radial bin and the deposits follow E_inc, so a model has
    structure to learn.  Returns the path.
    """
    from calolib.geometry import get_geometry
    from calolib.io import save_showers

    geo = get_geometry(geometry)
    rng = np.random.default_rng(seed)
    e = np.exp(rng.uniform(np.log(1e3), np.log(1e6), n))
    r = np.asarray(geo.voxel_r, dtype=float)
    p_hit = 0.35 * np.exp(-r / max(r.max(), 1e-9) * 3.0)
    hit = rng.random((n, geo.n_voxels)) < p_hit
    dep = rng.exponential(1.0, (n, geo.n_voxels)) * hit
    dep *= (0.025 * e / np.maximum(dep.sum(axis=1), 1e-9))[:, None]
    save_showers(path, e, dep.astype(np.float32))
    return Path(path)


def __dir__():
    return __all__
