"""The one place where a sweep point's showers are scored: :func:`point_metrics`.

Every point's generated showers are compared with the same reference sample through the current
:mod:`calolib.metrics` (:func:`calolib.metrics.evaluate`: voxel threshold, high-level features, separation
powers, FPD/KPD, classifier AUCs, Frobenius distance).  The sweep stores the flat dict this returns, the
report reads the names in :data:`METRICS`; swapping the metric definitions (e.g. for the official
CaloChallenge ones) means changing this module only.

Example:
    >>> import numpy as np
    >>> from calolib.showers import Showers
    >>> from calolib.sweep.spec import EvalSettings
    >>> rng = np.random.default_rng(0)
    >>> e = 10 ** rng.uniform(3, 6, 400)
    >>> s = Showers(e, rng.exponential(size=(400, 368)) * e[:, None] / 368, "ds1-photons")
    >>> m = point_metrics(s[:200], s[200:], EvalSettings(classifier=False, bins=10, n_bootstrap=2), seed=0)
    >>> 0 <= m["sep_e_ratio"] < 0.2 and m["fpd"] >= 0
    True
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["MetricInfo", "METRICS", "point_metrics"]


def __dir__():
    return __all__


@dataclass(frozen=True)
class MetricInfo:
    """How a metric is labelled and judged in the report (``better``: ``"lower"`` or ``"higher"``)."""

    label: str
    better: str = "lower"
    log: bool = False  # plot on a log axis
    err: str | None = None  # name of the metric's own error (e.g. bootstrap), if any


#: the metrics every point records (name -> how to show it); more keys may be present.
METRICS: dict[str, MetricInfo] = {
    "sep_e_ratio": MetricInfo("separation power E_dep/E_inc", log=True),
    "sep_sparsity": MetricInfo("separation power sparsity", log=True),
    "sep_mean": MetricInfo("mean separation power (all features)", log=True),
    "fpd_official": MetricInfo("FPD x1e3 (official definition)", log=True, err="fpd_official_err"),
    "fpd": MetricInfo("FPD (calolib extra: 271 standardised features)", log=True, err="fpd_err"),
    "kpd": MetricInfo("KPD (high-level features)", log=True, err="kpd_err"),
    "auc_high": MetricInfo("classifier AUC (high-level)", err="auc_high_err"),
    "auc_low": MetricInfo("classifier AUC (voxels)", err="auc_low_err"),
    "frobenius": MetricInfo("Frobenius distance (layer correlations)", log=True),
    "val_ahep": MetricInfo("best validation AHEP"),
    "train_time_s": MetricInfo("training time [s]", log=True),
}


def _f(x) -> float:
    return float("nan") if x is None else float(x)


def point_metrics(generated, reference, settings, *, seed: int = 0, device: str = "auto") -> dict[str, float]:
    """Score ``generated`` against ``reference`` showers (:class:`~calolib.showers.Showers`, MeV).

    Args:
        generated, reference: shower samples of the same geometry.
        settings: the sweep's :class:`~calolib.sweep.spec.EvalSettings` (bins, bootstrap, classifier).
        seed: seed of the bootstraps and classifiers (the point's seed).
        device: where the classifiers train.

    Returns:
        ``sep_e_ratio``, ``sep_sparsity``, ``sep_mean``, ``sep_max``, ``fpd``, ``fpd_err`` (calolib's),
        ``fpd_official``, ``fpd_official_err`` (×1e3), ``kpd``, ``kpd_err``, ``frobenius`` and, with
        ``settings.classifier``, ``auc_low``/``auc_low_err``/``auc_high``/``auc_high_err``
        (NaN when a number cannot be computed).
    """
    from calolib.metrics import ClassifierConfig, EvaluateConfig, evaluate

    n = min(len(generated), len(reference))
    cfg = EvaluateConfig(bins=settings.bins, fpd_bootstrap=settings.n_bootstrap,
                         kpd_batch_size=min(5000, max(n // 2, 2)),
                         classifier=ClassifierConfig(epochs=settings.classifier_epochs), seed=seed, device=device)
    report = evaluate(generated, reference, classifier=settings.classifier, config=cfg)
    sp = {r["name"]: r["separation_power"] for r in report.rows}
    s = report.summary
    out = {"sep_e_ratio": _f(sp.get("e_ratio")), "sep_sparsity": _f(sp.get("sparsity")),
           "sep_mean": _f(s.get("sep_power_mean")), "sep_max": _f(s.get("sep_power_max")),
           "fpd": _f(s.get("fpd")), "fpd_err": _f(s.get("fpd_err")), "kpd": _f(s.get("kpd")),
           "kpd_err": _f(s.get("kpd_err")), "frobenius": _f(s.get("frobenius"))}
    if settings.classifier:
        for k in ("auc_low", "auc_low_err", "auc_high", "auc_high_err"):
            out[k] = _f(s.get(k))
    # the official CaloChallenge FPD (jetnet 0.2.5 on the cls-high feature vector, x1e3), beside calolib's own;
    # as in report 03, batches are drawn with replacement, so its same-distribution floor grows as 1/n_events
    try:
        from calolib.metrics import feature_vector, official_features, official_fpd

        xr, xg = (feature_vector(official_features(x))[0] for x in (reference, generated))
        value, error = official_fpd(xr, xg, seed=seed)  # the official call: resampled batches of 10k..50k
        out["fpd_official"], out["fpd_official_err"] = 1e3 * float(value), 1e3 * float(error)
    except (ValueError, RuntimeError, np.linalg.LinAlgError):  # degenerate tiny samples: reported as NaN
        out["fpd_official"] = out["fpd_official_err"] = float("nan")
    return {k: (v if math.isfinite(v) else float("nan")) for k, v in out.items()}
