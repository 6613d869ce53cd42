"""Metrics comparing generated showers with reference showers (CaloChallenge conventions).

* histogram divergences: :func:`separation_power`, :func:`jsd`, :func:`hellinger`, :func:`kl_divergence`;
* sample distances on high-level feature vectors: :func:`fpd`, :func:`kpd` (with errors);
* the classifier test: :func:`classifier_auc` (MLP on voxels or on high-level features);
* :func:`evaluate` runs everything after the voxel threshold and returns a :class:`Report`.
"""
from calolib.metrics.classifier import ClassifierConfig, ClassifierResult, classifier_auc, high_level_inputs, \
    low_level_inputs, roc_auc
from calolib.metrics.divergences import HistogramPair, feature_histograms, feature_table, hellinger, histogram_pair, \
    jsd, kl_divergence, separation_power
from calolib.metrics.evaluate import EvaluateConfig, Report, apply_threshold, evaluate
from calolib.metrics.fpd import MetricValue, fpd, frechet_distance, gaussian_frechet_distance, kpd, mmd2_poly

__all__ = [
    "separation_power",
    "jsd",
    "hellinger",
    "kl_divergence",
    "HistogramPair",
    "histogram_pair",
    "feature_histograms",
    "feature_table",
    "MetricValue",
    "fpd",
    "kpd",
    "frechet_distance",
    "gaussian_frechet_distance",
    "mmd2_poly",
    "ClassifierConfig",
    "ClassifierResult",
    "classifier_auc",
    "roc_auc",
    "low_level_inputs",
    "high_level_inputs",
    "EvaluateConfig",
    "Report",
    "apply_threshold",
    "evaluate",
]


def __dir__():
    return __all__
