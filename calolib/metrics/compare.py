"""CaloChallenge-comparable evaluation of generated samples against one reference, beside the noise floor.

:func:`evaluate_official` scores one generated sample against a reference with the official definitions
(:mod:`calolib.metrics.official`, :mod:`~calolib.metrics.official_fpd`,
:mod:`~calolib.metrics.official_classifier`) and, labelled *calolib extra*, calolib's own metrics
(:func:`calolib.metrics.evaluate`: 50-bin separation powers, the reference-standardised FPD/KPD on 271
columns, the Frobenius distance of layer-energy correlations).

:func:`compare_samples` does that for several generated samples (e.g. the RBM-, Bernoulli- and
Gaussian-prior models) and, given a second reference sample of the same size, for reference 2 against
reference 1: the **floor**, the value each metric takes for two samples of one distribution at this size.
A model is only as good as its distance from that floor.  Errors: bootstrap over events for separation
powers, the FPD fit error, the KPD 16–84 % half-range, bootstrap over the classifier's val split for AUC/JSD.

Example:
    >>> from calolib.synthetic import simulate
    >>> ref, ref2, gen = simulate(300, seed=1), simulate(300, seed=2), simulate(300, seed=3)
    >>> cfg = OfficialEvalConfig.fast(classifier=False, extras=False, fpd_batches=2, fpd_points=3)
    >>> t = compare_samples({"model": gen}, ref, ref2, config=cfg)
    >>> t.columns, t.metrics["fpd"].label
    (['model', 'floor'], 'FPD ×1e3 (official)')
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace

import numpy as np

from calolib.errors import CalolibError
from calolib.jsonutil import to_jsonable
from calolib.metrics.evaluate import EvaluateConfig
from calolib.metrics.official_classifier import OfficialClassifierConfig

__all__ = ["OfficialEvalConfig", "MetricInfo", "METRICS", "Evaluation", "evaluate_official", "ComparisonTable",
           "compare_samples", "FLOOR"]


def __dir__():
    return __all__


FLOOR = "floor"  # column name of reference 2 vs reference


@dataclass(frozen=True)
class MetricInfo:
    """How a metric is shown: its label, whether it is the official definition, and its scale factor."""

    key: str
    label: str
    official: bool
    scale: float = 1.0  # the table shows value × scale


#: the rows of the comparison table, official definitions first, then calolib's extras
METRICS: dict[str, MetricInfo] = {m.key: m for m in (
    MetricInfo("sep_e_ratio", "sep. power E_dep/E_inc (official bins)", True),
    MetricInfo("sep_sparsity", "sep. power sparsity (official sparsity bins, total)", True),
    MetricInfo("sep_mean", "mean sep. power, official hist features", True),
    MetricInfo("sep_max", "max sep. power, official hist features", True),
    MetricInfo("fpd", "FPD ×1e3 (official)", True, 1e3),
    MetricInfo("kpd", "KPD ×1e3 (official)", True, 1e3),
    MetricInfo("auc_low", "AUC cls-low, voxels (official recipe)", True),
    MetricInfo("jsd_low", "JSD cls-low (official, /ln 2)", True),
    MetricInfo("auc_high", "AUC cls-high, features (official recipe)", True),
    MetricInfo("jsd_high", "JSD cls-high (official, /ln 2)", True),
    MetricInfo("calolib_sep_mean", "mean sep. power, 50 pooled bins (calolib extra)", False),
    MetricInfo("calolib_fpd", "FPD, standardised 271 columns (calolib extra)", False),
    MetricInfo("calolib_kpd", "KPD, cubic kernel (calolib extra)", False),
    MetricInfo("calolib_auc_low", "AUC voxels, calolib 2×64 classifier (calolib extra)", False),
    MetricInfo("calolib_auc_high", "AUC features w/o E_inc, calolib classifier (calolib extra)", False),
    MetricInfo("frobenius", "Frobenius ‖ΔC‖ of layer-group energies (calolib extra)", False),
)}


@dataclass(frozen=True)
class OfficialEvalConfig:
    """Settings of :func:`evaluate_official`; defaults are the official ones (slow on a CPU)."""

    classifier: bool = True
    classifier_config: OfficialClassifierConfig = field(default_factory=OfficialClassifierConfig)
    fpd_min_samples: int = 10_000  # official call: jetnet.fpd(..., min_samples=10000)
    fpd_max_samples: int = 50_000
    fpd_batches: int = 20
    fpd_points: int = 10
    kpd_batches: int = 10
    kpd_batch_size: int = 10_000  # official call: jetnet.kpd(..., batch_size=10000)
    n_bootstrap: int = 20  # separation-power bootstrap resamples
    extras: bool = True  # also calolib's own metrics (labelled "calolib extra")
    extras_config: EvaluateConfig = field(default_factory=lambda: EvaluateConfig(fpd_bootstrap=5, kpd_batches=5,
                                                                                  kpd_batch_size=2000))
    seed: int = 0
    device: str = "auto"

    @classmethod
    def fast(cls, *, epochs: int = 5, n_hidden: int = 256, **kw) -> "OfficialEvalConfig":
        """CPU-sized settings: official FPD/KPD definitions, a 3×``n_hidden`` classifier for ``epochs`` epochs.

        Example:
            >>> OfficialEvalConfig.fast(epochs=3).classifier_config.describe().startswith("DNN 3×256")
            True
        """
        ccfg = OfficialClassifierConfig(epochs=epochs, n_hidden=n_hidden, n_bootstrap=30)
        return cls(classifier_config=ccfg, **kw)

    def settings(self) -> dict:
        """JSON-able settings, with the classifier's one-line description."""
        d = asdict(self)
        d["classifier_description"] = self.classifier_config.describe() if self.classifier else "not run"
        return d


@dataclass(frozen=True)
class Evaluation:
    """One generated sample against the reference: ``metrics[key] = (value, err)`` (unscaled), plus details."""

    metrics: dict[str, tuple[float, float]]
    separation_powers: dict = field(repr=False)  # name -> SeparationPower (official bins)
    classifiers: dict = field(repr=False, default_factory=dict)  # "low"/"high" -> OfficialClassifierResult
    sep_max_feature: str = ""
    n_gen: int = 0
    n_ref: int = 0

    def to_dict(self) -> dict:
        return to_jsonable({
            "metrics": {k: {"value": v, "err": e} for k, (v, e) in self.metrics.items()},
            "sep_max_feature": self.sep_max_feature, "n_gen": self.n_gen, "n_ref": self.n_ref,
            "separation_powers": {k: {"value": s.value, "err": s.err, "official_mode": s.official_mode}
                                  for k, s in self.separation_powers.items()},
            "classifiers": {k: r.to_dict() for k, r in self.classifiers.items()},
        })


def _mean_sep(sp: dict) -> tuple[float, float, float, float, str]:
    keys = [k for k, s in sp.items() if s.official_mode and math.isfinite(s.value)]
    if not keys:
        nan = float("nan")
        return nan, nan, nan, nan, ""
    vals = np.array([sp[k].value for k in keys])
    mean, imax = float(vals.mean()), int(np.argmax(vals))
    boots = [sp[k].boot for k in keys]
    n_b = min(len(b) for b in boots)
    mean_err = max_err = float("nan")
    if n_b > 1:
        mat = np.stack([b[:n_b] for b in boots])  # (features, resamples)
        mean_err = float(np.nanstd(np.nanmean(mat, 0), ddof=1))
        max_err = float(np.nanstd(np.nanmax(mat, 0), ddof=1))
    return mean, mean_err, float(vals[imax]), max_err, keys[imax]


def evaluate_official(gen, ref, *, config: OfficialEvalConfig | None = None, ref_features=None,
                      progress: bool = False) -> Evaluation:
    """Score ``gen`` against ``ref`` (:class:`~calolib.showers.Showers`, MeV) with the official metrics
    (+ calolib's extras when ``config.extras``).  ``ref_features`` may pass precomputed
    :func:`~calolib.metrics.official.official_features` of ``ref``."""
    from calolib.metrics.evaluate import evaluate
    from calolib.metrics.official import feature_vector, official_features, official_histograms, \
        official_separation_powers
    from calolib.metrics.official_classifier import official_classifier, official_low_inputs
    from calolib.metrics.official_fpd import official_fpd, official_kpd
    from calolib.showers import Showers

    cfg = config or OfficialEvalConfig()
    if not isinstance(gen, Showers) or not isinstance(ref, Showers):
        raise CalolibError("evaluate_official needs two Showers objects (use calolib.io.load_showers for files)")
    if gen.geometry.name != ref.geometry.name:
        raise CalolibError(f"geometries differ: {gen.geometry.name} vs {ref.geometry.name}")
    fg = official_features(gen)
    fr = ref_features if ref_features is not None else official_features(ref)
    hists = official_histograms(gen, ref, features=(fg, fr))
    sp = official_separation_powers(gen, ref, n_bootstrap=cfg.n_bootstrap, seed=cfg.seed, histograms=hists)
    nan = float("nan")
    m: dict[str, tuple[float, float]] = {}
    m["sep_e_ratio"] = tuple(sp["e_ratio"]) if "e_ratio" in sp else (nan, nan)
    m["sep_sparsity"] = tuple(sp["sparsity"]) if "sparsity" in sp else (nan, nan)
    mean, mean_err, mx, mx_err, mx_name = _mean_sep(sp)
    m["sep_mean"], m["sep_max"] = (mean, mean_err), (mx, mx_err)
    xg, xr = feature_vector(fg)[0], feature_vector(fr)[0]
    m["fpd"] = tuple(official_fpd(xr, xg, min_samples=cfg.fpd_min_samples, max_samples=cfg.fpd_max_samples,
                                  num_batches=cfg.fpd_batches, num_points=cfg.fpd_points))
    m["kpd"] = tuple(official_kpd(xr, xg, num_batches=cfg.kpd_batches, batch_size=cfg.kpd_batch_size))
    classifiers = {}
    if cfg.classifier:
        for tag, (a, b) in (("low", (official_low_inputs(gen), official_low_inputs(ref))), ("high", (xg, xr))):
            r = official_classifier(a, b, config=cfg.classifier_config, seed=cfg.seed, device=cfg.device,
                                    progress=progress)
            classifiers[tag] = r
            m[f"auc_{tag}"], m[f"jsd_{tag}"] = (r.auc, r.auc_err), (r.jsd, r.jsd_err)
    if cfg.extras:
        ecfg = replace(cfg.extras_config, seed=cfg.seed, device=cfg.device)
        rep = evaluate(gen, ref, classifier=cfg.classifier, config=ecfg)
        s = rep.summary
        if cfg.classifier:  # standardised inputs, batch 256, early stopping: trains at 5,000 showers where the
            # official recipe (batch 1000 → a few Adam steps per epoch) has not started to learn
            m["calolib_auc_low"] = (s["auc_low"], s["auc_low_err"])
            m["calolib_auc_high"] = (s["auc_high"], s["auc_high_err"])
        m["calolib_sep_mean"] = (s["sep_power_mean"], nan)
        m["calolib_fpd"] = (s["fpd"], s["fpd_err"])
        m["calolib_kpd"] = (s["kpd"], s["kpd_err"])
        m["frobenius"] = (s["frobenius"], nan)
    m = {k: (float(v), float(e)) for k, (v, e) in m.items()}
    return Evaluation(metrics=m, separation_powers=sp, classifiers=classifiers, sep_max_feature=mx_name,
                      n_gen=len(gen), n_ref=len(ref))


@dataclass(frozen=True)
class ComparisonTable:
    """Metrics of several samples (columns; the last one is :data:`FLOOR` when a second reference was given)."""

    evaluations: dict[str, Evaluation]
    settings: dict = field(default_factory=dict)

    @property
    def columns(self) -> list[str]:
        return list(self.evaluations)

    @property
    def models(self) -> list[str]:
        return [c for c in self.evaluations if c != FLOOR]

    @property
    def metrics(self) -> dict[str, MetricInfo]:
        """The metrics every column has, in :data:`METRICS` order."""
        have = set.intersection(*(set(e.metrics) for e in self.evaluations.values())) if self.evaluations else set()
        return {k: info for k, info in METRICS.items() if k in have}

    def value(self, column: str, key: str) -> tuple[float, float]:
        """``(value, err)`` of metric ``key`` for ``column``, in the table's scale (e.g. FPD ×1e3)."""
        v, e = self.evaluations[column].metrics[key]
        s = METRICS[key].scale
        return v * s, e * s

    def to_markdown(self) -> str:
        """The table: one row per metric, one column per sample (value ± error), official rows first."""
        from calolib.reports.takeaways import fmt

        cols = self.columns
        head = ["| metric | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]
        rows = []
        for key, info in self.metrics.items():
            cells = []
            for c in cols:
                v, e = self.value(c, key)
                cells.append(fmt(v, e if math.isfinite(e) and e > 0 else None))
            rows.append(f"| {info.label} | " + " | ".join(cells) + " |")
        return "\n".join(head + rows)

    def to_dict(self) -> dict:
        return to_jsonable({
            "columns": self.columns, "floor": FLOOR in self.evaluations,
            "metrics": {k: {"label": i.label, "official": i.official, "scale": i.scale,
                            **{c: dict(zip(("value", "err"), self.value(c, k))) for c in self.columns}}
                        for k, i in self.metrics.items()},
            "evaluations": {c: e.to_dict() for c, e in self.evaluations.items()},
            "settings": self.settings,
        })


def compare_samples(generated: Mapping[str, object], reference, reference2=None, *,
                    config: OfficialEvalConfig | None = None, progress: bool = False) -> ComparisonTable:
    """Evaluate every ``generated[name]`` against ``reference`` and, if given, ``reference2`` against it (the floor).

    Args:
        generated: ``{name: Showers}``; use samples of the same size as ``reference2`` for a fair floor.
        reference, reference2: :class:`~calolib.showers.Showers` of one distribution (e.g. two held-out parts
            of the data file).
        config: :class:`OfficialEvalConfig` (``.fast()`` for a CPU).
    """
    from calolib.metrics.official import official_features

    if not generated:
        raise CalolibError("compare_samples needs at least one generated sample")
    if FLOOR in generated:
        raise CalolibError(f"{FLOOR!r} is reserved for the second reference; rename that sample")
    cfg = config or OfficialEvalConfig()
    fr = official_features(reference)
    evals = {name: evaluate_official(g, reference, config=cfg, ref_features=fr, progress=progress)
             for name, g in generated.items()}
    if reference2 is not None:
        evals[FLOOR] = evaluate_official(reference2, reference, config=cfg, ref_features=fr, progress=progress)
    return ComparisonTable(evaluations=evals, settings=cfg.settings())
