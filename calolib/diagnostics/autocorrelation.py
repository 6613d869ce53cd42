"""Autocorrelation of Markov chains and the integrated autocorrelation time (seed 004).

For an ensemble of chains f_e(t) (e = 1..E, t = 0..T−1; e.g. the magnetisation m(t) = (1/N) Σ_i s_i(t)):

    ACF(t, τ)   = ⟨(f(t+τ) − ⟨f(t+τ)⟩)(f(t) − ⟨f(t)⟩)⟩         (⟨·⟩: average over the ensemble)
    ACF_N(t, τ) = ACF(t, τ) / (⟨f(t)²⟩ − ⟨f(t)⟩²)
    C(τ)        = 1/(T − τ) Σ_{t=0}^{T−τ−1} ACF_N(t, τ),         C(0) = 1.

Times whose ensemble variance is 0 (e.g. all chains started in one state) are left out of the t average.
C(τ) is computed for all τ at once with one FFT cross-correlation over time (O(E·T log T)).

τ_int(W) = 1 + 2 Σ_{τ=1}^{W} C(τ) with Sokal's automatic window: the smallest W with W ≥ c·τ_int(W)
(c = 5 by default); its Madras–Sokal error is τ_int·√(2(2W+1)/(E·T)). For an AR(1) chain with
coefficient φ, C(τ) = φ^τ and τ_int = (1+φ)/(1−φ).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from calolib.errors import CalolibError
from calolib.metrics._arrays import as_numpy

__all__ = ["acf", "acf_two_time", "integrated_autocorrelation_time", "tau_int_with_error", "TauInt",
           "magnetisation", "AutocorrelationResult", "autocorrelation_study", "bernoulli_noise_study",
           "seed_004_cases", "ar1_series", "gibbs_observables"]


def __dir__():
    return __all__


def _series(series) -> np.ndarray:
    f = as_numpy(series)
    if f.ndim != 2:
        raise CalolibError(f"series must be (ensemble, time), got shape {f.shape}; use x[None] for one chain "
                           "(the ensemble definition then needs several chains)")
    if f.shape[0] < 2 or f.shape[1] < 2:
        raise CalolibError(f"need at least 2 chains and 2 time steps, got {f.shape}")
    if not np.isfinite(f).all():
        raise CalolibError("series contains NaN or inf")
    return f


def _centred(f: np.ndarray):
    mu = f.mean(axis=0)
    var = f.var(axis=0)
    scale = max(float(np.abs(f).max()), 1e-300)
    valid = var > (1e-12 * scale) ** 2
    g = f - mu
    h = np.where(valid, g / np.where(valid, var, 1.0), 0.0)
    return g, h, valid


def _max_lag(max_lag: int | None, n_t: int) -> int:
    """The largest lag to compute: ``n_t // 2`` by default; CalolibError outside ``0..n_t-1``."""
    lag = n_t // 2 if max_lag is None else int(max_lag)
    if not 0 <= lag < n_t:
        raise CalolibError(f"max_lag must be in 0..{n_t - 1}, got {max_lag}")
    return lag


def acf(series, max_lag: int | None = None) -> np.ndarray:
    """Time-averaged normalised ensemble autocorrelation C(τ), τ = 0..max_lag (default T//2).

    Args:
        series: (ensemble, time) array or tensor, e.g. magnetisation trajectories.
        max_lag: largest lag (≤ T−1).

    Returns:
        (max_lag+1,) float64 array with C(0) = 1.

    Example:
        >>> c = acf(ar1_series(0.5, 200, 400, seed=0), max_lag=3)
        >>> float(c[0]), bool(np.allclose(c[1:], [0.5, 0.25, 0.125], atol=0.02))
        (1.0, True)
    """
    f = _series(series)
    n_e, n_t = f.shape
    lag = _max_lag(max_lag, n_t)
    g, h, valid = _centred(f)
    if not valid.any():
        raise CalolibError("the ensemble variance is 0 at every time; the chains never differ")
    n_fft = 1 << int(np.ceil(np.log2(2 * n_t)))
    spec = (np.conj(np.fft.rfft(h, n_fft, axis=1)) * np.fft.rfft(g, n_fft, axis=1)).sum(axis=0)
    cross = np.fft.irfft(spec, n_fft)[: lag + 1]  # Σ_e Σ_t h[e,t] g[e,t+τ]
    cum = np.cumsum(valid)
    count = cum[n_t - 1 - np.arange(lag + 1)]
    with np.errstate(invalid="ignore", divide="ignore"):
        c = np.where(count > 0, cross / (n_e * np.maximum(count, 1)), np.nan)
    c[0] = 1.0
    return c


def acf_two_time(series, max_lag: int | None = None) -> np.ndarray:
    """ACF_N(t, τ) as a (T, max_lag+1) array; NaN where t+τ ≥ T or the variance at t is 0.

    Example:
        >>> a = acf_two_time(ar1_series(0.5, 500, 50, seed=1), max_lag=2)
        >>> a.shape, bool(np.isnan(a[-1, 1])), bool(np.allclose(np.nanmean(a, 0), acf(ar1_series(0.5, 500, 50, seed=1), 2)))
        ((50, 3), True, True)
    """
    f = _series(series)
    n_e, n_t = f.shape
    lag = _max_lag(max_lag, n_t)
    g, h, valid = _centred(f)
    out = np.full((n_t, lag + 1), np.nan)
    for tau in range(lag + 1):  # loop over lags only; each is vectorised over chains and times
        out[: n_t - tau, tau] = (h[:, : n_t - tau] * g[:, tau:]).mean(axis=0)
    out[~valid] = np.nan
    return out


class TauInt(NamedTuple):
    """Integrated autocorrelation time, its Madras–Sokal error and the window used."""

    tau: float
    err: float
    window: int


def _tau_from_c(c: np.ndarray, c_window: float, n_samples: int) -> TauInt:
    c = np.nan_to_num(c[1:], nan=0.0)
    taus = 1.0 + 2.0 * np.cumsum(c)  # τ_int(W) for W = 1..L
    w = np.arange(1, len(c) + 1)
    ok = np.nonzero(w >= c_window * taus)[0]
    i = int(ok[0]) if ok.size else len(c) - 1
    tau = float(taus[i]) if len(c) else 1.0
    win = int(w[i]) if len(c) else 0
    return TauInt(tau, float(abs(tau) * np.sqrt(2.0 * (2 * win + 1) / n_samples)), win)


def tau_int_with_error(series, *, c: float = 5.0, max_lag: int | None = None) -> TauInt:
    """τ_int with Sokal's automatic window (smallest W ≥ c·τ_int(W)) and the Madras–Sokal error.

    If no window up to ``max_lag`` satisfies the criterion, the last one is used (then τ is a lower bound:
    run longer chains).

    Example:
        >>> t = tau_int_with_error(ar1_series(0.8, 100, 2000, seed=0))
        >>> abs(t.tau - 9.0) < 3 * t.err   # (1+φ)/(1−φ)
        True
    """
    f = _series(series)
    if c <= 0:
        raise CalolibError(f"window factor c must be > 0, got {c}")
    return _tau_from_c(acf(f, max_lag), c, f.size)


def integrated_autocorrelation_time(series, *, c: float = 5.0, max_lag: int | None = None) -> float:
    """τ_int = 1 + 2 Σ_{τ=1}^{W} C(τ) with the automatic window (see :func:`tau_int_with_error`).

    Example:
        >>> rng = np.random.default_rng(0)
        >>> round(integrated_autocorrelation_time(rng.normal(size=(100, 500))))
        1
    """
    return tau_int_with_error(series, c=c, max_lag=max_lag).tau


def magnetisation(states, *, binary: bool | None = None) -> np.ndarray:
    """m = (1/N) Σ_i s_i over the last axis, with s = 2z − 1 for 0/1 states or s as given for ±1 spins.

    ``binary=None`` detects the convention for the whole array (any negative entry: ±1 spins,
    otherwise 0/1); pass ``binary`` explicitly for all-(+1) spin arrays.

    Example:
        >>> magnetisation([[1, 0, 1, 1]]).tolist(), magnetisation([[-1, -1, 1, 1]]).tolist()
        ([0.5], [0.0])
    """
    s = as_numpy(states)
    if binary is None:
        binary = not (s < 0).any()
    return (2 * s - 1).mean(axis=-1) if binary else s.mean(axis=-1)


def ar1_series(phi: float, n_chains: int, n_steps: int, seed: int = 0) -> np.ndarray:
    """Stationary AR(1) chains x_t = φ x_{t−1} + √(1−φ²) ε_t, (n_chains, n_steps); C(τ) = φ^τ.

    Example:
        >>> ar1_series(0.3, 4, 10).shape
        (4, 10)
    """
    if not -1 < phi < 1:
        raise CalolibError(f"AR(1) coefficient must be in (-1, 1), got {phi}")
    from scipy.signal import lfilter

    rng = np.random.default_rng(seed)
    eps = rng.normal(size=(n_chains, n_steps)) * np.sqrt(1 - phi**2)
    eps[:, 0] = rng.normal(size=n_chains)  # stationary start
    return lfilter([1.0], [1.0, -phi], eps, axis=1)


def gibbs_observables(rbm, n_chains: int, n_steps: int, beta: float = 1.0, seed: int = 0, *, every: int = 1,
                      burn_in: int = 0, conditioning=None) -> dict[str, np.ndarray]:
    """Magnetisation m(t) and energy E(z(t)) of ``n_chains`` block-Gibbs chains, recorded every ``every`` sweeps.

    Chains start from uniform random bits and run ``burn_in`` sweeps before the first record; then
    ``n_steps`` records are taken, ``every`` sweeps apart (so ``burn_in + n_steps·every`` sweeps in all;
    ``every`` > 1 is the seed-004 "Δt" thinning).  The energy is the RBM energy E(z) = −a·z − ½ zᵀWz at the
    chains' inverse temperature 1 (not β·E).  States are never stored.

    Returns:
        ``{"magnetisation": (n_chains, n_steps), "energy": (n_chains, n_steps)}`` float64 arrays.

    Example:
        >>> from calolib.rbm import RBM
        >>> obs = gibbs_observables(RBM((2, 2, 2, 2), weight_std=0.5), 3, 4, every=2)
        >>> obs["magnetisation"].shape, obs["energy"].shape
        ((3, 4), (3, 4))
    """
    import warnings

    import torch

    from calolib.samplers.gibbs import BlockGibbsKernel
    from calolib.samplers.base import check_conditioning

    if int(n_chains) < 2 or int(n_steps) < 1 or int(every) < 1 or int(burn_in) < 0:
        raise CalolibError(f"need n_chains >= 2, n_steps >= 1, every >= 1, burn_in >= 0; got {n_chains}, {n_steps}, "
                           f"{every}, {burn_in}")
    kernel = BlockGibbsKernel(rbm, beta)
    gen = torch.Generator(device=kernel.device).manual_seed(int(seed) % (2**63))
    zt = kernel.init_state(int(n_chains), gen)
    cond = check_conditioning(rbm, conditioning, int(n_chains))
    if cond is not None:
        zt[kernel.slices[0]] = cond.T.to(zt.dtype)
    n = rbm.n_units
    with torch.no_grad():
        w = rbm.weight_matrix().detach().float()
        a = rbm.bias_vector().detach().float()
    if n > 64 and float((w != 0).float().mean()) < 0.1:
        with warnings.catch_warnings():  # "sparse CSR support is in beta": only CSR @ dense is used
            warnings.simplefilter("ignore", UserWarning)
            w = w.to_sparse_csr()
    m_out = np.empty((int(n_chains), int(n_steps)))
    e_out = np.empty((int(n_chains), int(n_steps)))
    if burn_in:
        kernel.run(zt, int(burn_in), gen, clamp0=cond is not None)
    for t in range(int(n_steps)):
        kernel.run(zt, int(every), gen, clamp0=cond is not None)
        z = zt[:n].float()  # (N, B)
        m_out[:, t] = (2.0 * z.mean(0) - 1.0).cpu().numpy()
        e_out[:, t] = (-(a @ z) - 0.5 * (z * (w @ z)).sum(0)).double().cpu().numpy()
    return {"magnetisation": m_out, "energy": e_out}


@dataclass(frozen=True)
class AutocorrelationResult:
    """One ACF study: trajectories, C(τ) and τ_int of the magnetisation (and of the energy when recorded).

    Times and lags are in records; ``every`` sweeps lie between records (``info["every"]``), so τ_int in
    sweeps is ``tau · every`` for thinned chains.
    """

    name: str
    magnetisation: np.ndarray = field(repr=False)  # (n_chains, T)
    c: np.ndarray = field(repr=False)  # (L+1,)
    tau: float
    tau_err: float
    window: int
    info: dict = field(default_factory=dict)
    energy: np.ndarray | None = field(default=None, repr=False)  # (n_chains, T) RBM energies
    c_energy: np.ndarray | None = field(default=None, repr=False)  # (L+1,)
    tau_energy: float = float("nan")
    tau_energy_err: float = float("nan")
    window_energy: int = 0

    @property
    def lags(self) -> np.ndarray:
        return np.arange(self.c.shape[0])

    @property
    def converged(self) -> bool:
        """True when Sokal's window criterion was met within the computed lags (else τ_int is a lower bound)."""
        ok = self.window < len(self.c) - 1
        if self.c_energy is not None:
            ok = ok and self.window_energy < len(self.c_energy) - 1
        return bool(ok)

    def summary(self) -> dict:
        """τ_int of both observables with errors and windows, the ensemble and the thinning, as a JSON-able dict."""
        return {"tau": self.tau, "tau_err": self.tau_err, "window": self.window, "tau_energy": self.tau_energy,
                "tau_energy_err": self.tau_energy_err, "window_energy": self.window_energy,
                "converged": self.converged, "n_chains": int(self.magnetisation.shape[0]),
                "n_records": int(self.magnetisation.shape[1]), "every": int(self.info.get("every", 1)),
                "beta": self.info.get("beta")}


def _result(name: str, m, max_lag, c_window: float, info: dict, energy=None) -> AutocorrelationResult:
    m = _series(m)
    c = acf(m, max_lag)
    t = _tau_from_c(c, c_window, m.size)
    if energy is None:
        return AutocorrelationResult(name, m, c, t.tau, t.err, t.window, info)
    e = _series(energy)
    ce = acf(e, max_lag)
    te = _tau_from_c(ce, c_window, e.size)
    return AutocorrelationResult(name, m, c, t.tau, t.err, t.window, info, e, ce, te.tau, te.err, te.window)


def autocorrelation_study(rbm, n_chains: int = 100, n_steps: int = 1000, beta: float = 1.0, seed: int = 0, *,
                          max_lag: int | None = None, every: int = 1, c: float = 5.0, name: str = "rbm",
                          trajectory=None, energy: bool = False, burn_in: int = 0,
                          conditioning=None) -> AutocorrelationResult:
    """Magnetisation (and, with ``energy``, RBM-energy) trajectories of block-Gibbs chains and their C(τ), τ_int.

    Args:
        rbm: the RBM (on the device the chains should run on).
        n_steps: records per chain, ``every`` sweeps apart (after ``burn_in`` sweeps).
        trajectory: callable ``(rbm, n_chains, n_steps, beta, seed) -> (n_chains, T)`` magnetisations;
            default :func:`calolib.samplers.gibbs_trajectory` (states are never stored).  With ``energy``,
            ``burn_in`` or ``conditioning`` the chains come from :func:`gibbs_observables` instead.
        conditioning: code(s) clamped on partition 0 (use one code for all chains: different codes give
            each chain its own mean, which the ensemble ACF sees as correlation that never decays).

    Example:
        >>> from calolib.rbm import RBM
        >>> r = autocorrelation_study(RBM((4, 4, 4, 4), seed=0), n_chains=50, n_steps=100, energy=True)
        >>> r.magnetisation.shape, float(r.c[0]), float(r.c_energy[0])
        ((50, 100), 1.0, 1.0)
    """
    info = {"n_chains": n_chains, "n_steps": n_steps, "beta": beta, "seed": seed, "every": every, "burn_in": burn_in}
    if energy or burn_in or conditioning is not None:
        obs = gibbs_observables(rbm, n_chains, n_steps, beta, seed, every=every, burn_in=burn_in,
                                conditioning=conditioning)
        return _result(name, obs["magnetisation"], max_lag, c, info, obs["energy"] if energy else None)
    if trajectory is None:
        from calolib.samplers import gibbs_trajectory

        m = gibbs_trajectory(rbm, n_chains, n_steps * every, beta, seed, every=every)
    else:
        m = trajectory(rbm, n_chains, n_steps, beta, seed)
    return _result(name, m, max_lag, c, info)


def bernoulli_noise_study(n_chains: int = 1000, n_steps: int = 500, n_spins: int = 100, p: float = 0.5,
                          seed: int = 0, *, max_lag: int | None = None) -> AutocorrelationResult:
    """Sanity case: magnetisation of independent Bernoulli(p) spins at every step (C(τ>0) ≈ 0, τ_int ≈ 1).

    Example:
        >>> r = bernoulli_noise_study(200, 100, seed=0)
        >>> bool(abs(r.tau - 1) < 0.2)
        True
    """
    rng = np.random.default_rng(seed)
    m = 2.0 * rng.binomial(n_spins, p, size=(n_chains, n_steps)) / n_spins - 1.0
    return _result("bernoulli", m, max_lag, 5.0, {"n_spins": n_spins, "p": p, "seed": seed})


def seed_004_cases(trained_rbm=None, *, sizes=(302, 302, 302, 302), n_chains: int = 100, n_steps: int = 1000,
                   seed: int = 0, device="auto", max_lag: int | None = None, bernoulli: bool = True,
                   every: int = 1, weight_std: float = 0.01, bias_std: float = 0.01, strong_std: float = 0.0,
                   cold_beta: float = 0.0, thin_every: int = 0, thin_records: int = 30, thin_chains: int = 20,
                   trained_conditioning=None, energy: bool = False,
                   burn_in: int = 0) -> dict[str, AutocorrelationResult]:
    """The seed-004 ACF cases at 4 partitions of ``sizes``: ensemble ``n_chains``, ``n_steps`` records.

    Cases (keys; ``info["label"]`` says what each is): ``"random-full"`` (full connectivity, weights and biases
    ~ N(0, ``weight_std``²) — the seed's N(0, 0.01)), ``"zephyr"`` (Zephyr-masked, same initialisation),
    ``"zephyr-no-bias"`` (biases 0), ``"trained"`` (when a trained RBM is passed; ``trained_conditioning``
    clamps its partition 0), ``"bernoulli"`` (i.i.d. noise, 1000×500 as in the seed).  With ``strong_std`` > 0
    a Zephyr RBM with weights and biases ~ N(0, strong_std²) (seed 004's small-RBM initialisation) is added at
    β = 1 (``"zephyr-strong"``) and, with ``cold_beta`` > 0, at that β (``"zephyr-strong-cold"``); with
    ``thin_every`` > 0 the cold case is also run thinned, one record every ``thin_every`` sweeps
    (``thin_records`` records of ``thin_chains`` chains: the seed's Δt = 1000 case, ``"zephyr-strong-cold-thinned"``).

    Example:
        >>> cases = seed_004_cases(sizes=(4, 4, 4, 4), n_chains=20, n_steps=30, bernoulli=False, device="cpu")
        >>> sorted(cases), cases["zephyr"].info["label"]
        (['random-full', 'zephyr', 'zephyr-no-bias'], 'Zephyr, N(0, 0.01²)')
    """
    from calolib.device import resolve_device
    from calolib.rbm import RBM

    dev = resolve_device(device)
    out: dict[str, AutocorrelationResult] = {}
    kw = dict(max_lag=max_lag, energy=energy, burn_in=burn_in)
    n = f"N(0, {weight_std:g}²)"
    models = {"random-full": (RBM(sizes, "full", weight_std, bias_std, seed), 1.0, f"full, {n}"),
              "zephyr": (RBM(sizes, "zephyr", weight_std, bias_std, seed), 1.0, f"Zephyr, {n}"),
              "zephyr-no-bias": (RBM(sizes, "zephyr", weight_std, 0.0, seed), 1.0, f"Zephyr, {n}, biases 0")}
    strong = RBM(sizes, "zephyr", strong_std, strong_std, seed) if strong_std > 0 else None
    ns = f"Zephyr, N(0, {strong_std:g}²)"
    if strong is not None:
        models["zephyr-strong"] = (strong, 1.0, ns)
        if cold_beta > 0:
            models["zephyr-strong-cold"] = (strong, float(cold_beta), f"{ns}, β = {cold_beta:g}")
    for name, (rbm, beta, label) in models.items():
        r = autocorrelation_study(rbm.to(dev), n_chains, n_steps, beta, seed, every=every, name=name, **kw)
        out[name] = _labelled(r, label)
    if strong is not None and cold_beta > 0 and thin_every > 0:
        r = autocorrelation_study(strong.to(dev), thin_chains, thin_records, float(cold_beta), seed,
                                  every=int(thin_every), name="zephyr-strong-cold-thinned", energy=energy)
        out[r.name] = _labelled(r, f"{ns}, β = {cold_beta:g}, Δt = {int(thin_every)}")
    if trained_rbm is not None:
        r = autocorrelation_study(trained_rbm.to(dev), n_chains, n_steps, 1.0, seed, every=every, name="trained",
                                  conditioning=trained_conditioning, **kw)
        out["trained"] = _labelled(r, "trained prior" + (", code clamped" if trained_conditioning is not None else ""))
    if bernoulli:
        out["bernoulli"] = _labelled(bernoulli_noise_study(1000, 500, sum(sizes), 0.5, seed,
                                                          max_lag=None if max_lag is None else min(max_lag, 499)),
                                     "i.i.d. Bernoulli noise")
    return out


def _labelled(r: AutocorrelationResult, label: str) -> AutocorrelationResult:
    r.info["label"] = label
    return r
