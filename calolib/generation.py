"""Generating showers with a trained QVAE.

For each batch of incident energies ``e_inc (B,)`` MeV::

    z     = model.sample_latents(e_inc, sampler=sampler)      # (B, N): code of E_inc + prior sample
                                                             #   (RBM: Gibbs | SA | PIMC | QPU; controls: exact)
    v     = model.decode_showers(z, e_inc)                   # (B, V) MeV, readout threshold applied;
                                                             #   factorised model: layer energies from its flow

Batches run on ``device`` (CUDA when asked), the result is a :class:`~calolib.showers.Showers` that
:func:`calolib.io.save_showers` writes as a CaloChallenge file.  :func:`generate_from_checkpoint` does the
same from a checkpoint path alone; :func:`sample_energies` draws E_inc log-uniformly (or fixed), and
:func:`shower_separation` compares generated with reference showers through the separation power of
E_total/E_inc and of the sparsity (fraction of voxels below the geometry's threshold).

Example:
    >>> import numpy as np
    >>> e = sample_energies(4, energies=(1e3, 1e6), seed=0)
    >>> bool(((e >= 1e3) & (e <= 1e6)).all()), sample_energies(2, energy=5e4).tolist()
    (True, [50000.0, 50000.0])
"""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import torch

from calolib.errors import ConfigError, PlausibilityWarning, SamplerError
from calolib.showers import Showers

__all__ = ["generate", "generate_from_checkpoint", "sample_energies", "shower_separation", "separation_power_1d"]


#: the largest incident energy the float32 networks can take, MeV
MAX_E_INC_MEV = float(np.finfo(np.float32).max)


def _check_energy_args(n: int, energies, energy, seed) -> None:
    """[reliability] argument checks of sample_energies: finite, positive, float32-representable, a valid seed."""
    from calolib.checks import check_seed

    check_seed(seed)
    for v in ([energy] if energy is not None else []) + (list(energies) if energies is not None else []):
        if not isinstance(v, (int, float, np.floating, np.integer)) or not np.isfinite(v):
            raise ConfigError(f"incident energies must be finite numbers of MeV, got {v!r}")
        if v > MAX_E_INC_MEV:
            raise ConfigError(f"incident energy {v:g} MeV is beyond the float32 range of the model ({MAX_E_INC_MEV:.3g} MeV)")


def _check_generate_args(model, e_all: np.ndarray, seed, sampler, sampler_kwargs, n_gibbs_steps) -> None:
    """[reliability] argument checks of generate: float32 range, memory of the output, sampler options,
    and a warning for incident energies outside the range the model's conditioning was trained on (M3)."""
    from calolib.checks import check_memory, check_seed, format_bytes
    from calolib.samplers.options import check_sampler_options

    check_seed(seed)
    if e_all.size and float(np.max(e_all)) > MAX_E_INC_MEV:
        raise ConfigError(f"incident energy {float(np.max(e_all)):g} MeV is beyond the float32 range of the model "
                          f"({MAX_E_INC_MEV:.3g} MeV)")
    need = e_all.size * (int(model.n_voxels) * 4 + 8)
    check_memory(need, f"{e_all.size} generated showers ({format_bytes(need)})",
                 "generate fewer per call (calolib generate streams any --n to disk)")
    if isinstance(sampler, str):
        kw = dict(sampler_kwargs or {})
        if sampler.lower() == "gibbs":
            kw.setdefault("n_steps", n_gibbs_steps)
        check_sampler_options(sampler, kw, unknown="keep")
    cfg = getattr(model, "config", None)
    lo, hi = getattr(cfg, "einc_min", None), getattr(cfg, "einc_max", None)
    if lo and hi and e_all.size:
        e_lo, e_hi = float(e_all.min()), float(e_all.max())
        if e_lo < lo * (1 - 1e-6) or e_hi > hi * (1 + 1e-6):
            n_out = int(np.sum((e_all < lo * (1 - 1e-6)) | (e_all > hi * (1 + 1e-6))))
            warnings.warn(f"{n_out} of {e_all.size} incident energies ({e_lo:.4g} .. {e_hi:.4g} MeV) lie outside the "
                          f"range the model was trained for ({lo:.4g} .. {hi:.4g} MeV); those showers are extrapolations",
                          PlausibilityWarning, stacklevel=3)

def sample_energies(n: int, *, energies: tuple[float, float] | None = None, energy: float | None = None,
                    seed: int = 0) -> np.ndarray:
    """``n`` incident energies (MeV): fixed ``energy``, else log-uniform in ``energies=(min, max)``
    (default 1 GeV .. 1 TeV, the ds2/ds3 range)."""
    if n < 1:
        raise ConfigError(f"number of showers must be >= 1, got {n}")
    _check_energy_args(n, energies, energy, seed)
    if energy is not None and energies is not None:
        raise ConfigError("give either a fixed energy or an energy range, not both")
    if energy is not None:
        if not energy > 0:
            raise ConfigError(f"incident energy must be > 0 MeV, got {energy}")
        return np.full(int(n), float(energy))
    lo, hi = energies if energies is not None else (1e3, 1e6)
    if not 0 < lo <= hi:
        raise ConfigError(f"energy range must satisfy 0 < MIN <= MAX (MeV), got {lo},{hi}")
    rng = np.random.default_rng(seed)
    return np.exp(rng.uniform(np.log(lo), np.log(hi), int(n)))


def _make_sampler(sampler, n_gibbs_steps: int, sampler_kwargs: dict | None):
    from calolib.samplers import get_sampler

    kw = dict(sampler_kwargs or {})
    if isinstance(sampler, str) and sampler.lower() == "gibbs":
        kw.setdefault("n_steps", n_gibbs_steps)
    return get_sampler(sampler, **kw)


@torch.no_grad()
def generate(model, transform, e_inc, *, sampler="gibbs", n_gibbs_steps: int = 100, batch_size: int = 1024,
             seed: int = 0, device: str | torch.device = "auto", sample_hits: bool = True,
             sampler_kwargs: dict | None = None, progress: bool = False,
             voxel_noise: float | None = None) -> Showers:
    """Generate one shower per incident energy.

    Args:
        model: a trained :class:`~calolib.models.QVAE` (moved to ``device``, put in eval mode).
        transform: its fitted :class:`~calolib.preprocessing.VoxelTransform`.
        e_inc: ``(N,)`` incident energies, MeV.
        sampler: a name for :func:`calolib.samplers.get_sampler` (``gibbs``, ``sa``, ``pimc``, ``mock-qpu``,
            ``qpu``, ``exact``) or a Sampler instance.
        n_gibbs_steps: sweeps per Gibbs chain (``gibbs`` only).
        batch_size: showers per batch.
        seed: seeds the sampler (per batch) and the hit draws.
        device: ``auto``, ``cpu`` or ``cuda``.
        sample_hits: draw each voxel's hit from the hits head's probability (else threshold at 0.5).
        voxel_noise: scale of the per-voxel Gaussian likelihood noise (see :meth:`QVAE.decode_showers`);
            ``None`` takes the model's ``config.voxel_noise``.
        sampler_kwargs: extra constructor arguments of the sampler.

    Returns:
        :class:`~calolib.showers.Showers` with ``energies = e_inc`` and ``showers (N, V)`` float32 MeV (>= 0).

    Example:
        >>> from calolib.models import QVAE, ModelConfig
        >>> from calolib.preprocessing import VoxelTransform
        >>> model = QVAE(ModelConfig(rbm_sizes=(4, 4, 4, 4), topology="full", encoder_hidden=(8,), decoder_hidden=(8,)))
        >>> t = VoxelTransform().fit(np.full(2, 1e4), np.random.default_rng(0).random((2, 6480)))
        >>> s = generate(model, t, np.array([1e3, 1e5]), n_gibbs_steps=2, device="cpu")
        >>> s.showers.shape, bool((s.showers >= 0).all()), s.energies.tolist()
        ((2, 6480), True, [1000.0, 100000.0])
    """
    from tqdm.auto import tqdm

    from calolib.device import resolve_device

    dev = resolve_device(device)
    e_all = np.asarray(e_inc.detach().cpu() if isinstance(e_inc, torch.Tensor) else e_inc, dtype=np.float64).reshape(-1)
    if e_all.size == 0:
        raise ConfigError("no incident energies given")
    if not np.all(np.isfinite(e_all) & (e_all > 0)):
        raise ConfigError("incident energies must be finite and > 0 MeV")
    if batch_size < 1:
        raise ConfigError(f"batch_size must be >= 1, got {batch_size}")
    _check_generate_args(model, e_all, seed, sampler, sampler_kwargs, n_gibbs_steps)
    model = model.to(dev).eval()
    smp = _make_sampler(sampler, n_gibbs_steps, sampler_kwargs) if getattr(model, "has_rbm", True) else None
    if smp is None and not (isinstance(sampler, str) and sampler.lower() in ("gibbs", "exact")) and sampler is not None:
        raise ConfigError(f"the {model.config.prior} prior is sampled exactly; --sampler {sampler} applies to the "
                          "RBM prior only")
    gen = torch.Generator(device=dev).manual_seed(int(seed))
    voxel_noise = float(getattr(model.config, "voxel_noise", 0.0) if voxel_noise is None else voxel_noise)
    out = np.empty((e_all.size, model.n_voxels), dtype=np.float32)
    starts = range(0, e_all.size, batch_size)
    for k, lo in enumerate(tqdm(starts, desc="generate", disable=not progress)):
        e = torch.as_tensor(e_all[lo:lo + batch_size], dtype=torch.float32, device=dev)
        z = model.sample_latents(e, sampler=smp, seed=int(seed) * 1_000_003 + k)
        v = model.decode_showers(z, e, transform=transform, sample_hits=sample_hits, generator=gen,
                                 flow_seed=int(seed) * 1_000_003 + k + 17, voxel_noise=voxel_noise)
        out[lo:lo + e.shape[0]] = v.float().cpu().numpy()
    return Showers(e_all, out, model.config.geometry)


def generate_from_checkpoint(path: str | Path, n: int, *, energies: tuple[float, float] | None = None,
                             energy: float | None = None, sampler="gibbs", seed: int = 0,
                             device: str | torch.device = "auto", **kwargs) -> Showers:
    """Load ``path`` (``RUN_DIR/best.pt``) and generate ``n`` showers at fixed ``energy`` or log-uniform
    ``energies=(min, max)`` MeV; other keyword arguments go to :func:`generate`."""
    from calolib.training.checkpoint import load_checkpoint

    ckpt = load_checkpoint(path, device=device)
    e_inc = sample_energies(n, energies=energies, energy=energy, seed=seed)
    return generate(ckpt.model, ckpt.transform, e_inc, sampler=sampler, seed=seed, device=device, **kwargs)


def separation_power_1d(a: np.ndarray, b: np.ndarray, *, bins: int = 50) -> float:
    """Separation power ``1/2 sum (h_a - h_b)^2 / (h_a + h_b)`` of two samples on common bins.

    Bins span the 0.1-99.9 % range of the pooled samples; values outside land in the edge bins.
    0 for identical distributions, 1 for disjoint ones.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> separation_power_1d(rng.normal(size=1000), rng.normal(size=1000)) < 0.05
        True
        >>> round(separation_power_1d(np.zeros(100), np.ones(100)), 3)
        1.0
    """
    a, b = np.asarray(a, float).ravel(), np.asarray(b, float).ravel()
    lo, hi = np.quantile(np.concatenate([a, b]), [0.001, 0.999])
    if hi <= lo:
        lo, hi = lo - 0.5, hi + 0.5
    edges = np.linspace(lo, hi, bins + 1)
    ha = np.histogram(np.clip(a, lo, hi), edges)[0] / a.size
    hb = np.histogram(np.clip(b, lo, hi), edges)[0] / b.size
    s = ha + hb
    m = s > 0
    return float(0.5 * np.sum((ha[m] - hb[m]) ** 2 / s[m]))


def shower_separation(generated: Showers, reference: Showers, *, bins: int = 50) -> dict[str, float]:
    """Separation powers of E_total/E_inc and sparsity (fraction of voxels below threshold).

    Voxels below the geometry's ``threshold_mev`` count as empty (CaloChallenge convention).

    Example:
        >>> s = Showers(np.full(3, 1e3), np.random.default_rng(0).random((3, 368)), "ds1-photons")
        >>> shower_separation(s, s)["e_ratio"]
        0.0
    """
    thr = reference.geometry.threshold_mev
    out = {}
    feats = []
    for s in (generated, reference):
        v = np.where(s.showers >= thr, s.showers, 0.0)
        feats.append({"e_ratio": v.sum(axis=1) / s.energies, "sparsity": (v == 0).mean(axis=1)})
    for k in ("e_ratio", "sparsity"):
        out[k] = separation_power_1d(feats[0][k], feats[1][k], bins=bins)
    out["e_ratio_mean_gen"], out["e_ratio_mean_ref"] = float(feats[0]["e_ratio"].mean()), float(feats[1]["e_ratio"].mean())
    out["sparsity_mean_gen"], out["sparsity_mean_ref"] = float(feats[0]["sparsity"].mean()), float(feats[1]["sparsity"].mean())
    return out


def __dir__():
    return __all__
