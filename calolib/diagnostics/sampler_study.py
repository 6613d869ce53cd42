"""Compute-matched sampler study: one trained QVAE, its RBM prior drawn by every sampler at several sweep
counts, each judged by the showers it gives and by the prior's own fidelity, against its wall time.

For each :class:`SamplerSetting` (block Gibbs at 1 / 10 / 100 / 1,000 sweeps, simulated annealing at
several sweep counts, path-integral annealing, the mock QPU), :func:`run_sampler_study`

1. draws one latent sample per reference shower, partition 0 clamped to the code of its E_inc, and
   times the sampler alone (wall seconds per shower, batches of ``batch_size`` showers);
2. decodes them and scores the showers against the reference with :func:`shower_metrics`, the one place
   this module calls :mod:`calolib.metrics` (separation power of E_dep/E_inc and of the sparsity, FPD on
   the high-level features, AUC of a classifier on high-level features);
3. compares the samples' RBM energies with a long-chain Gibbs reference of the same codes: the separation
   power of the two energy histograms (:func:`energy_distance`); its floor is the same distance between
   two independent long-chain references;
4. on a *probe*: ``n_probe`` samples all with one conditioning (the code of the median E_inc), estimates
   β_eff (:func:`calolib.temperature.estimate_beta_eff`), reweights to β = 1 and gives the effective
   sample size and the energy distance before and after reweighting.  (Every E_inc code has its own
   partition function, so reweighting is only meaningful within one conditioning.)

The integrated autocorrelation time τ_int of the magnetisation of Gibbs chains of the probe's
conditioning, started at equilibrium (its reference states), puts the Gibbs sweep counts in units of
τ_int.  Every sampler is called once on a few showers before it is timed (imports, caches, JIT), and a
setting whose sampling takes under half a second is timed ``time_repeats`` times (the fastest is kept).

Example:
    >>> [s.label for s in sampler_settings(gibbs=(1, 10), sa=(100,), pimc=(), mock_qpu=())]
    ['gibbs-1', 'gibbs-10', 'sa-100']
"""
from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field

import numpy as np
import torch

from calolib.errors import CalolibError, ConfigError

__all__ = ["SamplerSetting", "sampler_settings", "StudyConfig", "SettingResult", "SamplerStudy", "shower_metrics",
           "energy_distance", "sample_latents", "decode_latents", "run_sampler_study"]

_SWEEP_KEY = {"gibbs": "n_steps", "sa": "num_sweeps", "pimc": "num_sweeps", "mock-qpu": "num_sweeps", "qpu": "num_sweeps"}


def __dir__():
    return __all__


@dataclass(frozen=True)
class SamplerSetting:
    """One sampler at one sweep count: ``label`` (e.g. ``"sa-100"``), sampler name, sweeps, extra options."""

    label: str
    sampler: str
    sweeps: int
    options: dict = field(default_factory=dict)

    def build(self):
        """The :class:`~calolib.samplers.Sampler` (``get_sampler(sampler, <sweeps key>=sweeps, **options)``)."""
        from calolib.samplers import get_sampler

        if self.sampler not in _SWEEP_KEY:
            raise ConfigError(f"sampler {self.sampler!r} has no sweep count; use one of {', '.join(_SWEEP_KEY)}")
        return get_sampler(self.sampler, **{_SWEEP_KEY[self.sampler]: int(self.sweeps), **self.options})


def sampler_settings(gibbs=(1, 10, 100, 1000), sa=(10, 100, 1000), pimc=(100,), mock_qpu=(200,)) -> tuple[SamplerSetting, ...]:
    """The study's settings: each sampler family at each of its sweep counts (labels ``family-sweeps``)."""
    out = []
    for name, sweeps in (("gibbs", gibbs), ("sa", sa), ("pimc", pimc), ("mock-qpu", mock_qpu)):
        for n in sweeps:
            if int(n) < 1:
                raise ConfigError(f"{name} sweeps must be >= 1, got {n}")
            out.append(SamplerSetting(f"{name}-{int(n)}", name, int(n)))
    return tuple(out)


@dataclass(frozen=True)
class StudyConfig:
    """Sizes of the study (defaults: the ``quick`` report on 2 CPU cores)."""

    reference_sweeps: int = 5000  # sweeps of the long-chain Gibbs references of the prior
    n_probe: int = 1000  # samples of the single-conditioning probe (beta_eff, reweighting, ESS)
    energy_bins: int = 40  # bins of the RBM-energy histograms
    tau_chains: int = 200  # Gibbs chains for the magnetisation tau_int
    tau_sweeps: int = 1000  # their sweeps (from equilibrium)
    beta_method: str = "mpl"  # calolib.temperature estimator of beta_eff
    fpd_bootstrap: int = 5  # bootstrap resamples of the FPD error
    classifier_epochs: int = 10  # maximum epochs of the high-level classifier
    batch_size: int = 1024  # showers per sampler call
    time_repeats: int = 5  # a setting whose sampling takes < 0.5 s is timed this many times (best kept)
    sample_hits: bool = True  # draw the decoder's voxel hits (as calolib.generation.generate does)
    seed: int = 0


def shower_metrics(generated, reference, *, fpd_bootstrap: int = 5, classifier_epochs: int = 10, seed: int = 0,
                   device="cpu") -> dict[str, float]:
    """Shower quality of ``generated`` against ``reference`` (:class:`~calolib.showers.Showers`, MeV).

    The single wrapper of this study around :mod:`calolib.metrics`: both samples get the geometry's voxel
    threshold, then ``sep_e_ratio`` / ``sep_sparsity`` (separation power of E_dep/E_inc and of the
    sparsity), ``fpd`` / ``fpd_err`` (Fréchet distance of the high-level feature vectors, bootstrap
    error) and ``auc_high`` / ``auc_high_err`` (classifier on high-level features; 0.5 = indistinguishable).
    """
    from calolib.features import apply_threshold, compute_features
    from calolib.metrics import ClassifierConfig, classifier_auc, fpd, high_level_inputs, histogram_pair, \
        separation_power

    thr = reference.geometry.threshold_mev
    fg, fr = compute_features(apply_threshold(generated, thr)), compute_features(apply_threshold(reference, thr))
    out = {}
    for name in ("e_ratio", "sparsity"):
        h = histogram_pair(getattr(fg, name), getattr(fr, name), bins=50, name=name, log=False)
        out[f"sep_{name}"] = separation_power(h.gen, h.ref)
    xg, xr = fg.matrix()[0], fr.matrix()[0]
    out["fpd"], out["fpd_err"] = (float(v) for v in fpd(xg, xr, n_bootstrap=fpd_bootstrap, seed=seed))
    res = classifier_auc(high_level_inputs(fg), high_level_inputs(fr), config=ClassifierConfig(epochs=classifier_epochs),
                         seed=seed, device=device)
    out["auc_high"], out["auc_high_err"] = float(res.auc), float(res.auc_err)
    return out


def energy_distance(energy, reference, *, weights=None, bins: int = 40) -> float:
    """Separation power of the histograms of RBM energies ``energy`` (weighted by ``weights``) and
    ``reference``, on ``bins`` bins spanning the reference's 0.5–99.5 % range (overflow in the edge bins).

    Example:
        >>> rng = np.random.default_rng(0)
        >>> energy_distance(rng.normal(size=5000), rng.normal(size=5000)) < 0.01
        True
        >>> energy_distance(rng.normal(3, 1, 5000), rng.normal(size=5000)) > 0.5
        True
    """
    from calolib.metrics import separation_power

    e, r = np.asarray(energy, float).ravel(), np.asarray(reference, float).ravel()
    lo, hi = np.quantile(r, [0.005, 0.995])
    if hi <= lo:
        lo, hi = lo - 0.5, hi + 0.5
    edges = np.linspace(lo, hi, int(bins) + 1)
    w = None if weights is None else np.asarray(weights, float).ravel()
    h = np.histogram(np.clip(e, lo, hi), edges, weights=w)[0]
    return separation_power(h, np.histogram(np.clip(r, lo, hi), edges)[0])


def sample_latents(model, e_inc, sampler, *, batch_size: int = 1024, seed: int = 0) -> tuple[torch.Tensor, float, float]:
    """One prior sample per incident energy (MeV), partition 0 clamped to its code, in batches as
    :func:`calolib.generation.generate` draws them.

    Returns ``(z (n, N) float 0/1 CPU, wall seconds of the sampler calls, core seconds)``; the core
    seconds are the annealer's own sampling time for the dimod samplers (``info["timing"]["sampler_s"]``:
    without building, clamping and decoding each conditioning's problem), the wall time otherwise.
    """
    e_all = torch.as_tensor(np.asarray(e_inc, dtype=np.float64), dtype=torch.float32)
    out, seconds, core = [], 0.0, 0.0
    for k, lo in enumerate(range(0, len(e_all), int(batch_size))):
        e = e_all[lo:lo + int(batch_size)].to(model.device)
        code = model.condition_code(e) if model.config.condition_rbm else None
        t0 = time.perf_counter()
        s = sampler.sample(model.rbm, len(e), conditioning=code, seed=int(seed) * 1_000_003 + k)
        wall = time.perf_counter() - t0
        seconds += wall
        core += float(s.info.get("timing", {}).get("sampler_s", wall))
        z = s.z if len(s) == len(e) else s.expand()
        out.append(z.float().cpu())
    return torch.cat(out), seconds, core


@torch.no_grad()
def decode_latents(model, transform, z: torch.Tensor, e_inc, *, seed: int = 0, sample_hits: bool = True,
                   batch_size: int = 1024):
    """Decode prior samples ``z`` (n, N) at incident energies ``e_inc`` (n,) MeV into :class:`Showers`
    (:meth:`calolib.models.QVAE.decode_showers`: the same decoding as generation, readout threshold, the
    factorised model's layer energies from its flow with a fixed seed, so every sampler sees the same ones)."""
    from calolib.showers import Showers

    e_all = np.asarray(e_inc, dtype=np.float64)
    gen = torch.Generator(device=model.device).manual_seed(int(seed))
    out = np.empty((len(e_all), model.n_voxels), dtype=np.float32)
    for lo in range(0, len(e_all), int(batch_size)):
        e = torch.as_tensor(e_all[lo:lo + int(batch_size)], dtype=torch.float32, device=model.device)
        v = model.decode_showers(z[lo:lo + len(e)].to(model.device), e, transform=transform, sample_hits=sample_hits,
                                 generator=gen, flow_seed=int(seed) * 7_919 + lo,
                                 voxel_noise=float(getattr(model.config, "voxel_noise", 0.0)))
        out[lo:lo + len(e)] = v.float().cpu().numpy()
    return Showers(e_all, out, model.config.geometry)


@dataclass(frozen=True, eq=False)
class SettingResult:
    """Outcome of one :class:`SamplerSetting` (``error`` set, and numbers NaN, when it could not run)."""

    setting: SamplerSetting
    seconds_per_shower: float = math.nan  # sampler wall time per shower (s)
    core_seconds_per_shower: float = math.nan  # of which the annealer itself (dimod samplers; = wall for Gibbs)
    metrics: dict = field(default_factory=dict)  # shower_metrics(...)
    energy_distance: float = math.nan  # RBM-energy separation power against the long-chain reference
    mean_energy: float = math.nan
    probe: dict = field(default_factory=dict)  # beta_eff, beta_eff_err, ess_fraction, energy_distance(_reweighted)
    energy: np.ndarray = field(default_factory=lambda: np.empty(0), repr=False)  # RBM energies of the samples
    stage_seconds: dict = field(default_factory=dict)  # wall seconds of sampling, decoding, metrics, probe
    error: str | None = None

    def row(self) -> dict:
        """Flat JSON-able dict: label, family, sweeps, times per shower, metrics, fidelity, probe numbers."""
        s = self.setting
        return {"label": s.label, "family": s.sampler, "sweeps": s.sweeps, "seconds_per_shower": self.seconds_per_shower,
                "core_seconds_per_shower": self.core_seconds_per_shower, **self.metrics,
                "energy_distance": self.energy_distance, "mean_energy": self.mean_energy,
                **{f"probe_{k}": v for k, v in self.probe.items()}, "stage_seconds": dict(self.stage_seconds), "error": self.error}


@dataclass(frozen=True, eq=False)
class SamplerStudy:
    """All settings' results plus the references (energies, floors), τ_int and the probe's conditioning."""

    results: tuple[SettingResult, ...]
    reference_energy: np.ndarray = field(repr=False)
    energy_floor: float  # energy distance between two independent long-chain references
    probe_reference_energy: np.ndarray = field(repr=False)
    probe_floor: float
    probe_e_inc: float  # MeV, whose code conditions the probe
    tau: tuple  # (tau, err, window) of the equilibrium magnetisation, sweeps
    n_showers: int
    config: StudyConfig

    def rows(self) -> list[dict]:
        """One :meth:`SettingResult.row` per setting, in order."""
        return [r.row() for r in self.results]

    def to_dict(self) -> dict:
        """JSON-able summary (no arrays)."""
        from calolib.jsonutil import to_jsonable

        return to_jsonable({"rows": self.rows(), "energy_floor": self.energy_floor, "probe_floor": self.probe_floor,
                            "probe_e_inc_mev": self.probe_e_inc, "tau_int": list(self.tau), "n_showers": self.n_showers,
                            "config": asdict(self.config)})


def _probe(model, sampler, code, ref_energy, cfg: StudyConfig) -> dict:
    from calolib.temperature import effective_sample_size, estimate_beta_eff, importance_weights

    s = sampler.sample(model.rbm, cfg.n_probe, conditioning=code, seed=cfg.seed + 17)
    est = estimate_beta_eff(model.rbm, s, cfg.beta_method, seed=cfg.seed)
    energy = s.energy.double().cpu().numpy().repeat(s.num_occurrences.cpu().numpy())
    out = {"beta_eff": est.beta, "beta_eff_err": est.stderr, "beta_nominal": s.info.get("beta_nominal", s.beta),
           "energy_distance": energy_distance(energy, ref_energy, bins=cfg.energy_bins)}
    if math.isfinite(est.beta):
        w = importance_weights(model.rbm, s, est.beta)
        out["ess_fraction"] = effective_sample_size(w) / s.n_samples
        out["energy_distance_reweighted"] = energy_distance(s.energy.double().cpu().numpy(), ref_energy,
                                                            weights=w.cpu().numpy(), bins=cfg.energy_bins)
    else:
        out["ess_fraction"], out["energy_distance_reweighted"] = math.nan, math.nan
    return out


def run_sampler_study(model, transform, reference, settings=None, config: StudyConfig | None = None, *,
                      device="cpu", progress: bool = False) -> SamplerStudy:
    """Run the study on ``reference`` showers (:class:`~calolib.showers.Showers`; their E_inc are the
    conditionings); ``settings`` default to :func:`sampler_settings`.  A setting that cannot run here
    (e.g. the mock QPU for an RBM without qubit labels) is kept with its ``error``."""
    from calolib.diagnostics.autocorrelation import tau_int_with_error
    from calolib.errors import SamplerError
    from calolib.samplers import gibbs_sample, gibbs_trajectory

    cfg = config or StudyConfig()
    settings = tuple(settings) if settings is not None else sampler_settings()
    if not settings:
        raise ConfigError("the sampler study needs at least one setting")
    n = len(reference)
    if n < 20:
        raise CalolibError(f"the sampler study needs at least 20 reference showers, got {n}")
    model = model.to(device).eval()
    rbm, e_inc = model.rbm, np.asarray(reference.energies, dtype=np.float64)
    with torch.no_grad():
        codes = model.condition_code(torch.as_tensor(e_inc, dtype=torch.float32, device=model.device))
        cond = codes if model.config.condition_rbm else None
        refs = [gibbs_sample(rbm, n, cfg.reference_sweeps, seed=cfg.seed + 1000 + k, conditioning=cond) for k in (0, 1)]
        ref_e = [rbm.energy(z.to(rbm.device)).double().cpu().numpy() for z in refs]
        e_probe = float(np.median(e_inc))
        code = model.condition_code(torch.tensor([e_probe], device=model.device))[0] if cond is not None else None
        probe_refs = [gibbs_sample(rbm, cfg.n_probe, cfg.reference_sweeps, seed=cfg.seed + 2000 + k, conditioning=code)
                      for k in (0, 1)]
        probe_e = [rbm.energy(z.to(rbm.device)).double().cpu().numpy() for z in probe_refs]
        # tau_int on chains of one conditioning (with one code per chain the ensemble-centred ACF would
        # keep the spread of the conditional means and never decay), started at equilibrium
        k = min(cfg.tau_chains, cfg.n_probe)
        m = gibbs_trajectory(rbm, k, cfg.tau_sweeps, seed=cfg.seed + 3000, init=probe_refs[0][:k], conditioning=code)
    tau = tuple(tau_int_with_error(m.cpu().numpy()))
    results = []
    bar = settings
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(settings, desc="sampler study")
    for st in bar:
        try:
            sampler = st.build()
            w = min(n, 256 if st.sampler == "gibbs" else 4)  # warm-up (Gibbs: several tiles, so its thread pool starts)
            sampler.sample(rbm, w, conditioning=None if cond is None else cond[:w], seed=cfg.seed)
            t = [time.perf_counter()]
            z, seconds, core = sample_latents(model, e_inc, sampler, batch_size=cfg.batch_size, seed=cfg.seed)
            for _ in range(cfg.time_repeats - 1):  # quick settings: best of a few timings (same seed, same z)
                if seconds > 0.5:
                    break
                _, again, again_core = sample_latents(model, e_inc, sampler, batch_size=cfg.batch_size, seed=cfg.seed)
                if again < seconds:
                    seconds, core = again, again_core
            with torch.no_grad():
                energy = rbm.energy(z.to(rbm.device)).double().cpu().numpy()
            t.append(time.perf_counter())
            showers = decode_latents(model, transform, z, e_inc, seed=cfg.seed, sample_hits=cfg.sample_hits,
                                     batch_size=cfg.batch_size)
            t.append(time.perf_counter())
            metrics = shower_metrics(showers, reference, fpd_bootstrap=cfg.fpd_bootstrap,
                                     classifier_epochs=cfg.classifier_epochs, seed=cfg.seed, device=device)
            t.append(time.perf_counter())
            probe = _probe(model, sampler, code, probe_e[0], cfg)
            t.append(time.perf_counter())
        except (SamplerError, ImportError) as exc:
            results.append(SettingResult(st, error=str(exc).splitlines()[0]))
            continue
        stages = dict(zip(("sample", "decode", "metrics", "probe"), np.diff(t).tolist()))
        results.append(SettingResult(st, seconds / n, core / n, metrics, energy_distance(energy, ref_e[0], bins=cfg.energy_bins),
                                     float(energy.mean()), probe, energy, stages))
    return SamplerStudy(tuple(results), ref_e[0], energy_distance(ref_e[1], ref_e[0], bins=cfg.energy_bins),
                        probe_e[0], energy_distance(probe_e[1], probe_e[0], bins=cfg.energy_bins), e_probe, tau, n, cfg)
