"""Metrics comparing generated showers with reference showers (CaloChallenge conventions).

* histogram divergences: :func:`separation_power`, :func:`jsd`, :func:`hellinger`, :func:`kl_divergence`;
* sample distances on high-level feature vectors: :func:`fpd`, :func:`kpd` (with errors);
* the classifier test: :func:`classifier_auc` (MLP on voxels or on high-level features);
* :func:`evaluate` runs calolib's own evaluation (its variants: "calolib extras") and returns a :class:`Report`;
* the official CaloChallenge definitions: :mod:`~calolib.metrics.official` (threshold, feature vector, binned
  separation powers), :mod:`~calolib.metrics.official_fpd` (jetnet-0.2.5 FPD/KPD),
  :mod:`~calolib.metrics.official_classifier` (the DNN recipe with isotonic calibration), and
  :func:`compare_samples` (several models beside the same-distribution floor; ``calolib evaluate``).
"""
from calolib.metrics.classifier import ClassifierConfig, ClassifierResult, classifier_auc, high_level_inputs, \
    low_level_inputs, roc_auc
from calolib.metrics.divergences import HistogramPair, feature_histograms, feature_table, hellinger, histogram_pair, \
    jsd, kl_divergence, separation_power
from calolib.metrics.evaluate import EvaluateConfig, Report, apply_threshold, evaluate
from calolib.metrics.fpd import MetricValue, fpd, frechet_distance, gaussian_frechet_distance, kpd, mmd2_poly
from calolib.metrics.official import feature_vector, official_features, official_separation_powers, \
    official_threshold
from calolib.metrics.official_classifier import OfficialClassifierConfig, official_classifier
from calolib.metrics.official_fpd import official_fpd, official_kpd
from calolib.metrics.compare import ComparisonTable, OfficialEvalConfig, compare_samples, evaluate_official

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
    "official_threshold",
    "official_features",
    "feature_vector",
    "official_separation_powers",
    "official_fpd",
    "official_kpd",
    "OfficialClassifierConfig",
    "official_classifier",
    "OfficialEvalConfig",
    "evaluate_official",
    "compare_samples",
    "ComparisonTable",
]


def __dir__():
    return __all__
