"""The vectorised shower generator behind :func:`calolib.synthetic.simulate` (model in the package docstring)."""
from __future__ import annotations

from functools import cache

import numpy as np

from calolib.errors import ConfigError
from calolib.geometry import Geometry, get_geometry
from calolib.showers import Showers
from calolib.synthetic.gflash import gamma_cdf, radial_cdf, radial_gradient, radial_parameters, sample_longitudinal
from calolib.synthetic.params import SyntheticParams
from calolib.synthetic.spots import Layout, deposit_spots, layout

__all__ = ["simulate", "simulate_chunk"]

#: voxels per chunk (events per chunk = this // n_voxels): bounds memory and fixes the random streams.
_CHUNK_VOXELS = 1 << 22
#: independent random streams per chunk, each consumed in event order, so simulate(n)[:k] == simulate(k).
_STREAMS = ("energy", "longitudinal", "start", "tail", "radial", "track", "track_angle", "hadron",
            "poisson", "angle", "gamma", "poisson_dense", "gamma_dense", "gamma_big", "axis")


@cache
def _depth_chol(name: str, corr_x0: float) -> np.ndarray:
    """Cholesky factor (L, L) of the correlation exp(-|t_i - t_j| / corr_x0) between active-layer midpoints."""
    lay = layout(name)
    mid = 0.5 * (lay.start + lay.end)
    corr = np.exp(-np.abs(mid[:, None] - mid[None, :]) / corr_x0)
    return np.linalg.cholesky(corr + 1e-9 * np.eye(mid.shape[0]))


def _gflash_fractions(lay: Layout, t0, t_max, alpha, prm: SyntheticParams, rng: np.random.Generator):
    """Layer fractions (m, L) of a gamma profile starting at depth t0 (m,) X0, with the tail fluctuating on its
    own (a correlated lognormal field along depth, switched on past the maximum) at fixed total."""
    c = gamma_cdf(lay.depth_points[None, :] - t0[:, None], t_max[:, None], alpha[:, None])  # (m, P)
    frac = c[:, lay.i_end] - c[:, lay.i_start]
    if prm.tail_sigma == 0:
        return frac
    g = rng.standard_normal(frac.shape) @ _depth_chol(lay.det.name, prm.tail_corr_x0).T  # (m, L), unit variance
    tau = (0.5 * (lay.start + lay.end)[None, :] - t0[:, None]) / t_max[:, None]
    s = prm.tail_sigma * np.clip((tau - prm.tail_onset) / prm.tail_ramp, 0.0, 1.0)
    out = frac * np.exp(s * g - 0.5 * s * s)
    return out * (frac.sum(axis=1) / np.maximum(out.sum(axis=1), 1e-300))[:, None]


@cache
def _transport_matrix(name: str, back: float, fwd: float, w_back: float) -> np.ndarray:
    """(L, L) matrix ``K[i, j]``: fraction of the energy released uniformly over active layer j that soft photons
    deposit in active layer i, for exponential free paths ``back`` / ``fwd`` (X0) of the fraction ``w_back``
    emitted backwards / the rest forwards.  What leaves the layers (through the front: albedo; the back: leakage;
    or into gaps between layers) is lost, so the columns sum to at most 1.

    A uniform source on [a, b] (width w) sends ``(lam / w)(1 - exp(-w / lam))`` of its photons past its far edge;
    of those, a layer [c, d] at a gap g beyond absorbs ``exp(-g / lam)(1 - exp(-(d - c) / lam))``.

    Example:
        >>> k = _transport_matrix("ds2", 1.0, 1.0, 0.5)
        >>> k.shape, bool(np.all(k.sum(axis=0) <= 1 + 1e-12)), bool(k[0, 1] > k[0, 2] > 0)
        ((45, 45), True, True)
    """
    lay = layout(name)
    a, b = lay.start, lay.end
    w = b - a

    def leave(lam):  # fraction of a uniform source in [a_j, b_j] that passes its far edge, (L,)
        return lam / w * (1 - np.exp(-w / lam))

    gap_f = a[:, None] - b[None, :]  # target i after source j
    kf = np.where(gap_f >= 0, leave(fwd)[None, :] * np.exp(-np.maximum(gap_f, 0) / fwd)
                  * (1 - np.exp(-w[:, None] / fwd)), 0.0)
    gap_b = a[None, :] - b[:, None]  # target i before source j
    kb = np.where(gap_b >= 0, leave(back)[None, :] * np.exp(-np.maximum(gap_b, 0) / back)
                  * (1 - np.exp(-w[:, None] / back)), 0.0)
    k = (1 - w_back) * kf + w_back * kb
    idx = np.arange(a.shape[0])
    k[idx, idx] = (1 - w_back) * (1 - leave(fwd)) + w_back * (1 - leave(back))
    return k


def _ring_fractions(lay: Layout, r_c, r_t, p, rm_mm: float):
    """Fraction of each layer's energy in each ring and the ring's gradient term ``G(r2) - G(r1)`` (1/R_M), each
    (m, R), or (R,) for scalar radial parameters (R_M)."""
    r = lay.edge_r / rm_mm
    if np.ndim(r_c) == 0 and np.ndim(r_t) == 0 and np.ndim(p) == 0:
        c, g = radial_cdf(r, r_c, r_t, p), radial_gradient(r, r_c, r_t, p)
        return c[lay.ring_hi] - c[lay.ring_lo], g[lay.ring_hi] - g[lay.ring_lo]
    el = lay.edge_layer
    args = (r[None, :], r_c[:, el], r_t[:, el], p[:, el])
    c, g = radial_cdf(*args), radial_gradient(*args)
    return c[:, lay.ring_hi] - c[:, lay.ring_lo], g[:, lay.ring_hi] - g[:, lay.ring_lo]


def _axis_modulation(lay: Layout, t0, t_max, lam_ring, grad_ring, prm: SyntheticParams, rng):
    """(amplitude, phase) (m, R) of the angular modulation from a wandering shower axis: per layer a transverse
    displacement (R_M) whose x and y are Gaussian processes along depth (correlation exp(-|dt| / axis_corr_x0)),
    of width axis_sigma x min(depth after the start / T, 1)."""
    m, n_l = t0.shape[0], lay.start.shape[0]
    chol = _depth_chol(lay.det.name, prm.axis_corr_x0)
    g = rng.standard_normal((m, 2 * n_l))
    dx, dy = g[:, :n_l] @ chol.T, g[:, n_l:] @ chol.T
    mid = 0.5 * (lay.start + lay.end)[None, :]
    sigma = prm.axis_sigma * np.clip((mid - t0[:, None]) / t_max[:, None], 0.0, 1.0)
    d, phase = (sigma * np.hypot(dx, dy))[:, lay.ring_layer], np.arctan2(dy, dx)[:, lay.ring_layer]
    with np.errstate(invalid="ignore", divide="ignore"):
        amp = np.where(lam_ring > 0, -d * grad_ring / lam_ring, 0.0)
    return np.clip(amp, -0.95, 0.95), phase


def simulate_chunk(e: np.ndarray, lay: Layout, prm: SyntheticParams, rngs: dict) -> np.ndarray:
    """Visible energies (m, V) float32 MeV, before threshold, for incident energies ``e`` (m,) MeV.

    ``rngs`` maps every name in ``_STREAMS`` to a numpy Generator.
    """
    det, stack = lay.det, lay.det.stack
    m = e.shape[0]
    f_vis = stack.sampling_fraction
    comps = []  # (visible energy (m,), layer fractions (m, L), ring fractions (m, R) or (R,))
    track_end = np.zeros(m)
    if det.particle == "pion":  # crude hadron: track to the interaction point, then EM + hadronic components
        t0 = rngs["start"].exponential(prm.had_lambda_x0, m)
        track_end = t0
        e_gev = e / 1e3
        f_em = np.clip(1.0 - e_gev ** (-prm.had_em_exponent), 0.05, 0.95)
        z = rngs["hadron"].standard_normal((m, 2)).T
        t_h = prm.had_length_x0 * (0.2 * np.log(np.maximum(e_gev, 1.0)) + 0.7) * np.exp(prm.had_sigma * z[0])
        a_h = np.maximum(prm.had_alpha * np.exp(prm.had_sigma * z[1]), 1.1)
        c = gamma_cdf(lay.depth_points[None, :] - t0[:, None], t_h[:, None], a_h[:, None])
        comps.append((e * (1 - f_em) * prm.had_h_over_e, c[:, lay.i_end] - c[:, lay.i_start],
                      _ring_fractions(lay, prm.had_core_rm, prm.had_tail_rm, prm.had_core_fraction, stack.rm_mm)))
        e_em = e * f_em
    else:
        photon = det.particle == "photon"
        t0 = rngs["start"].exponential(9.0 / 7.0 if photon else prm.start_mean_x0, m)
        if not photon:
            track_end = t0
        e_em = e
    # electromagnetic (GFlash) part; T is measured from the shower start, so the mean start is taken off
    t_max, alpha = sample_longitudinal(e_em, stack, rngs["longitudinal"], sigma_scale=prm.sigma_scale)
    t_max = np.maximum(t_max - prm.start_mean_x0, 0.5)
    frac = _gflash_fractions(lay, t0, t_max, alpha, prm, rngs["tail"])
    if prm.transport_fraction > 0:  # soft photons carry part of every layer's energy to other layers (or out)
        k = _transport_matrix(lay.det.name, prm.transport_back_x0, prm.transport_fwd_x0, prm.transport_back_weight)
        frac = (1 - prm.transport_fraction) * frac + prm.transport_fraction * (frac @ k.T)
    tau_mid = np.maximum(0.5 * (lay.start + lay.end)[None, :] - t0[:, None], 0.0) / t_max[:, None]
    r_c, r_t, p = radial_parameters(np.maximum(e_em / 1e3, 1e-3)[:, None], tau_mid, stack)
    rad = np.exp(prm.radial_sigma * rngs["radial"].standard_normal(m))[:, None]
    comps.append((e_em, frac, _ring_fractions(lay, r_c * rad, r_t * rad, p, stack.rm_mm)))
    # expected spots per ring -> voxel energies
    e_spot = prm.sampling_term**2 * f_vis * 1e3 / (1.0 + 1.0 / prm.spot_shape)  # MeV visible per spot
    lam_ring = np.zeros((m, lay.ring_layer.shape[0]))
    grad_ring = np.zeros_like(lam_ring)
    for vis, fr, (ring, grad) in comps:
        w = (vis * (f_vis / e_spot))[:, None] * (fr * lay.weight[None, :])[:, lay.ring_layer]
        lam_ring += w * ring
        grad_ring += w * grad
    mod = None
    if prm.axis_sigma > 0:
        mod = _axis_modulation(lay, t0, t_max, lam_ring, grad_ring, prm, rngs["axis"])
    out = deposit_spots(lam_ring, lay, e_spot, prm.spot_shape, rngs, mod=mod)
    # the primary's minimum-ionising track before the shower start: innermost ring, random angular bin
    if det.particle != "photon":
        overlap = np.clip(np.minimum(lay.end[None, :], track_end[:, None]) - lay.start[None, :], 0.0, None)  # X0
        moyal = -np.log(np.maximum(rngs["track"].standard_normal(overlap.shape) ** 2, 1e-12))
        mpv = prm.landau_mpv * stack.mip_visible_per_x0 * overlap * lay.weight[None, :]
        dep = mpv * np.maximum(1.0 + prm.landau_width * moyal, 0.0)
        a_bin = (rngs["track_angle"].random(overlap.shape) * lay.n_alpha[None, :]).astype(np.int64)
        cols = lay.inner_first[None, :] + a_bin * lay.inner_stride[None, :]
        hit = dep > 0
        rows = np.broadcast_to(np.arange(m)[:, None], cols.shape)
        out[rows[hit], cols[hit]] += dep[hit].astype(np.float32)
    return out


def _run_chunk(job: tuple) -> tuple[np.ndarray, np.ndarray]:
    """One chunk of :func:`simulate`: ``(energies (m,) MeV, showers (m, V) float32)``, thresholded and calibrated.
    Its random streams depend only on (seed, chunk index), so any worker gives the same result."""
    name, prm, seed, c, lo, hi, e_min, e_max, energies = job
    lay = layout(name)
    rngs = {s: np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(c, k))) for k, s in enumerate(_STREAMS)}
    e = e_min * (e_max / e_min) ** rngs["energy"].random(hi - lo) if energies is None else energies
    block = simulate_chunk(e, lay, prm, rngs)
    stack = lay.det.stack
    f = {"visible": None, "mip": stack.mip_fraction, "electron": stack.sampling_fraction}[prm.calibration]
    if f is not None:  # calibrate each layer by its own sampling fraction
        block *= (1.0 / (f * lay.weight[lay.voxel_layer_pos])).astype(np.float32)
    threshold = get_geometry(name).threshold_mev if prm.threshold_mev is None else prm.threshold_mev
    block *= block >= np.float32(threshold)
    return e, block


def simulate(n: int, geometry: str | Geometry = "ds2", seed: int = 0, *, energies: np.ndarray | None = None,
             e_min: float = 1e3, e_max: float = 1e6, params: SyntheticParams | None = None,
             workers: int = 1) -> Showers:
    """Simulate ``n`` showers in a CaloChallenge geometry with the parametrised model (package docstring).

    Args:
        n: number of showers.
        geometry: ``"ds2"`` (default), ``"ds3"``, ``"ds1-photons"``, ``"ds1-pions"`` or a Geometry.
        seed: seed of the random streams; the result is a deterministic function of ``(geometry, seed,
            energies, params)``, and the first ``k`` showers do not depend on ``n``.
        energies: incident energies (n,) MeV; default log-uniform in ``[e_min, e_max]`` MeV.
        e_min, e_max: energy range in MeV when ``energies`` is not given (default 1 GeV to 1 TeV).
        params: model tunables, :class:`SyntheticParams`.
        workers: processes to spread the chunks over (same result for any value; 1 = in this process).

    Returns:
        :class:`~calolib.showers.Showers` with ``energies`` (n,) float64 MeV and ``showers`` (n, V) float32 MeV
        (visible energy in the active layers; deposits below the cell threshold are zero).

    Raises:
        ConfigError: for a bad ``n``, energies, energy range or params.

    Example:
        >>> s = simulate(8, seed=0)
        >>> s.showers.shape, s.showers.dtype.name, bool((s.showers >= 0).all())
        ((8, 6480), 'float32', True)
        >>> bool(np.all((s.energies >= 1e3) & (s.energies <= 1e6)))
        True
    """
    prm = params if params is not None else SyntheticParams()
    if not isinstance(prm, SyntheticParams):
        raise ConfigError(f"params must be a SyntheticParams, got {type(prm).__name__}")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ConfigError(f"n must be an integer >= 0, got {n!r}")
    n = int(n)
    g = get_geometry(geometry)
    if energies is not None:
        energies = np.asarray(energies, dtype=np.float64).reshape(-1)
        if energies.shape[0] != n:
            raise ConfigError(f"energies has {energies.shape[0]} entries but n={n}; pass one energy (MeV) per shower")
        if not np.all(np.isfinite(energies)) or np.any(energies <= 0):
            raise ConfigError("energies must be finite and > 0 (MeV)")
    elif not (np.isfinite(e_min) and np.isfinite(e_max) and 0 < e_min <= e_max):
        raise ConfigError(f"need 0 < e_min <= e_max (MeV), got e_min={e_min}, e_max={e_max}")
    if isinstance(workers, bool) or not isinstance(workers, (int, np.integer)) or workers < 1:
        raise ConfigError(f"workers must be an integer >= 1, got {workers!r}")
    chunk = max(1, _CHUNK_VOXELS // g.n_voxels)
    jobs = [(g.name, prm, int(seed), c, lo, min(lo + chunk, n), e_min, e_max,
             None if energies is None else energies[lo:lo + chunk]) for c, lo in enumerate(range(0, n, chunk))]
    showers = np.empty((n, g.n_voxels), dtype=np.float32)
    e_all = np.empty(n)
    if workers > 1 and len(jobs) > 1:
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(min(workers, len(jobs)), mp_context=mp.get_context("spawn")) as ex:
            results = ex.map(_run_chunk, jobs)
            for job, (e, block) in zip(jobs, results):
                showers[job[4]:job[5]], e_all[job[4]:job[5]] = block, e
    else:
        for job in jobs:
            e_all[job[4]:job[5]], showers[job[4]:job[5]] = _run_chunk(job)
    return Showers(e_all, showers, g)


def __dir__():
    return __all__
