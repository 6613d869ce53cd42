"""calolib's own evaluation of generated against reference showers (its numbers are *calolib extras*).

This is not the official CaloChallenge definition: it bins every feature on 50 pooled bins, standardises
its own 271-column feature matrix for FPD/KPD and trains a small classifier.  For numbers comparable with
the CaloChallenge tables use :func:`calolib.metrics.compare.evaluate_official` /
:func:`~calolib.metrics.compare.compare_samples` (or ``calolib evaluate``), which report these extras beside
the official metrics, labelled as such.

Order of operations (CaloChallenge conventions):

1. the per-voxel threshold (``geometry.threshold_mev``: 15.15 keV for ds2/ds3, 1 MeV for ds1) zeroes
   small deposits in both samples (``threshold=False`` skips it);
2. high-level features (:func:`calolib.features.compute_features`); every feature is histogrammed on
   common bins and scored with separation power, JSD, Hellinger and KL(gen‖ref);
3. FPD and KPD on the feature matrix ``HighLevelFeatures.matrix()`` (reference-standardised);
4. the classifier test on low-level voxels and on high-level features (``classifier=False`` skips it);
5. the Frobenius distance of grouped-layer energy correlations and the energy-response resolution
   fit (σ/E of E_total/E_inc) of each sample.

The result is a :class:`Report` with a per-feature table and a dict of headline numbers,
``.to_json(path)`` and ``.to_markdown()``.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from calolib.errors import CalolibError
from calolib.features import apply_threshold
from calolib.jsonutil import to_jsonable
from calolib.metrics.classifier import ClassifierConfig, classifier_auc, high_level_inputs, low_level_inputs
from calolib.metrics.divergences import HistogramPair, feature_histograms
from calolib.metrics.fpd import fpd, kpd

__all__ = ["EvaluateConfig", "Report", "evaluate", "apply_threshold"]


def __dir__():
    return __all__


@dataclass(frozen=True)
class EvaluateConfig:
    """Settings of :func:`evaluate` (defaults are CPU-friendly)."""

    bins: int = 50  # histogram bins per feature
    fpd_bootstrap: int = 10
    kpd_batches: int = 10
    kpd_batch_size: int = 5000
    classifier: ClassifierConfig = field(default_factory=ClassifierConfig)
    classifier_max_events: int | None = None  # per class, for the classifier test only
    frobenius_groups: int | None = None  # None: 5 groups (ds2/ds3) or one per active layer (ds1)
    resolution_bins: int = 10
    seed: int = 0
    device: str = "auto"


@dataclass(frozen=True)
class Report:
    """Evaluation result: per-feature scores (``rows``) and headline numbers (``summary``)."""

    rows: list[dict]  # one dict per feature: name, separation_power, jsd, hellinger, kl
    summary: dict  # n_gen, n_ref, threshold_mev, fpd, fpd_err, kpd, kpd_err, auc_low, ..., frobenius, resolution
    histograms: dict[str, HistogramPair] = field(repr=False, default_factory=dict)

    def to_dict(self) -> dict:
        """JSON-able dict (NaN -> null)."""
        return to_jsonable({"summary": self.summary, "features": self.rows})

    def to_json(self, path) -> Path:
        """Write :meth:`to_dict` as JSON, creating folders; returns the path."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_dict(), indent=2))
        return path

    def to_markdown(self, *, top: int | None = 15) -> str:
        """Markdown tables: headline numbers, then the ``top`` features by separation power (all if None).

        Example:
            >>> print(Report([{"name": "e_ratio", "separation_power": 0.01, "jsd": 0.002, "hellinger": 0.05,
            ...               "kl": 0.004}], {"fpd": 0.1}).to_markdown().splitlines()[2])
            | fpd | 0.1 |
        """

        def fmt(x):
            if isinstance(x, float):
                return "nan" if math.isnan(x) else f"{x:.4g}"
            return str(x)

        lines = ["| metric | value |", "|---|---|"]
        for k, v in self.summary.items():
            if isinstance(v, dict):
                v = ", ".join(f"{kk}={fmt(vv)}" for kk, vv in v.items())
            lines.append(f"| {k} | {fmt(v)} |")
        rows = sorted(self.rows, key=lambda r: -np.nan_to_num(r["separation_power"], nan=-1))
        if top is not None:
            rows = rows[:top]
        if rows:
            lines += ["", "| feature | separation power | JSD | Hellinger | KL |", "|---|---|---|---|---|"]
            lines += [f"| {r['name']} | {fmt(r['separation_power'])} | {fmt(r['jsd'])} | {fmt(r['hellinger'])} | "
                      f"{fmt(r['kl'])} |" for r in rows]
        return "\n".join(lines)


def evaluate(generated, reference, *, threshold: bool = True, classifier: bool = True,
             config: EvaluateConfig | None = None, progress: bool = False) -> Report:
    """Compare ``generated`` with ``reference`` showers (both :class:`~calolib.showers.Showers`, MeV).

    Args:
        generated, reference: shower samples of the same geometry.
        threshold: apply the geometry's evaluation threshold to both samples first.
        classifier: run the two classifier tests (the slowest part).
        config: :class:`EvaluateConfig` (bins, bootstrap sizes, classifier size, seed, device).

    Returns:
        :class:`Report`; ``summary`` keys: ``n_gen``, ``n_ref``, ``threshold_mev``, ``sep_power_mean``,
        ``sep_power_max``, ``sep_power_max_feature``, ``fpd``, ``fpd_err``, ``kpd``, ``kpd_err``,
        ``auc_low``/``auc_low_err``/``jsd_low``, ``auc_high``/``auc_high_err``/``jsd_high`` (classifier),
        ``frobenius``, ``resolution_gen``/``resolution_ref`` (a, b, c with errors, χ², and ``response`` =
        mean E_total/E_inc, which the relative-width fit divides out).

    Example:
        >>> from calolib.showers import Showers
        >>> rng = np.random.default_rng(0)
        >>> e = 10 ** rng.uniform(3, 6, 400)
        >>> s = Showers(e, rng.exponential(size=(400, 368)) * e[:, None] / 368, "ds1-photons")
        >>> r = evaluate(s[:200], s[200:], classifier=False, config=EvaluateConfig(bins=10, kpd_batch_size=100))
        >>> r.summary["sep_power_mean"] < 0.1
        True
    """
    from calolib.diagnostics.frobenius import frobenius_distance
    from calolib.diagnostics.resolution import resolution_fit_full
    from calolib.features import compute_features
    from calolib.showers import Showers

    cfg = config or EvaluateConfig()
    if not isinstance(generated, Showers) or not isinstance(reference, Showers):
        raise CalolibError("evaluate needs two Showers objects (use calolib.io.load_showers to read files)")
    if generated.geometry.name != reference.geometry.name:
        raise CalolibError(f"geometries differ: {generated.geometry.name} vs {reference.geometry.name}")
    thr = generated.geometry.threshold_mev if threshold else None
    gen = apply_threshold(generated, thr) if threshold else generated
    ref = apply_threshold(reference, thr) if threshold else reference

    fg, fr = compute_features(gen), compute_features(ref)
    hists = feature_histograms(fg, fr, bins=cfg.bins)
    rows = [{"name": k, **h.scores()} for k, h in hists.items()]
    sp = np.array([r["separation_power"] for r in rows], dtype=float)
    summary: dict = {"n_gen": len(gen), "n_ref": len(ref), "threshold_mev": thr,
                     "sep_power_mean": float(np.nanmean(sp)) if sp.size else float("nan"),
                     "sep_power_max": float(np.nanmax(sp)) if sp.size else float("nan"),
                     "sep_power_max_feature": rows[int(np.nanargmax(sp))]["name"] if sp.size else ""}

    xg, xr = fg.matrix()[0], fr.matrix()[0]
    v, e = fpd(xg, xr, n_bootstrap=cfg.fpd_bootstrap, seed=cfg.seed)
    summary.update(fpd=v, fpd_err=e)
    v, e = kpd(xg, xr, n_batches=cfg.kpd_batches, batch_size=cfg.kpd_batch_size, seed=cfg.seed)
    summary.update(kpd=v, kpd_err=e)

    if classifier:
        ccfg = cfg.classifier
        if cfg.classifier_max_events is not None:
            from dataclasses import replace

            ccfg = replace(ccfg, max_events=cfg.classifier_max_events)
        for tag, (a, b) in {"low": (low_level_inputs(gen), low_level_inputs(ref)),
                            "high": (high_level_inputs(fg), high_level_inputs(fr))}.items():
            res = classifier_auc(a, b, config=ccfg, seed=cfg.seed, device=cfg.device, progress=progress)
            summary.update({f"auc_{tag}": res.auc, f"auc_{tag}_err": res.auc_err, f"jsd_{tag}": res.jsd})

    summary["frobenius"] = frobenius_distance(gen, ref, groups=cfg.frobenius_groups)
    for tag, s in (("gen", gen), ("ref", ref)):
        e_tot = s.showers.sum(axis=1, dtype=np.float64)
        response = float(np.mean(e_tot / s.energies))  # mean E_total/E_inc (the resolution fit divides it out)
        try:
            fit = resolution_fit_full(s.energies, e_tot, n_bins=cfg.resolution_bins, min_per_bin=10)
            summary[f"resolution_{tag}"] = {**fit.to_dict(), "response": response}
        except CalolibError:
            summary[f"resolution_{tag}"] = {"a": float("nan"), "b": float("nan"), "c": float("nan"),
                                            "response": response}
    return Report(rows=rows, summary=summary, histograms=hists)
