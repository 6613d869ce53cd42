"""Diagnostics of QVAE models and their samples (seeds 000–004), as functions returning data.

* :func:`acf`, :func:`integrated_autocorrelation_time`, :func:`tau_int_with_error`: Markov-chain mixing;
  :func:`autocorrelation_study`, :func:`seed_004_cases` run them on Gibbs chains of RBMs (magnetisation and energy);
* :func:`prior_log_likelihood`: LL of latent codes under the (conditional) prior, ln Z bracketed by AIS and RAIS;
* :func:`frobenius_distance`, :func:`correlation_matrix`: grouped-layer energy correlations;
* :func:`resolution_fit` (σ/E = a/√E ⊕ b ⊕ c/E, E in GeV), :func:`relative_error_curve`;
* :func:`coupling_spectra`, :func:`spectra_over_checkpoints`, :func:`effective_rank`: SVD of RBM couplings;
* :func:`latent_clustering`: is the prior degenerate in E_inc?; :func:`einc_sweep`: decoder response to E′;
* :mod:`calolib.diagnostics.reweighting`: where reweighting annealer samples to β = 1 breaks down.

Plot functions live in :mod:`calolib.diagnostics.plots`. Nothing here imports the Ocean SDK.
"""
from calolib.diagnostics.autocorrelation import AutocorrelationResult, TauInt, acf, acf_two_time, ar1_series, \
    autocorrelation_study, bernoulli_noise_study, integrated_autocorrelation_time, magnetisation, seed_004_cases, \
    tau_int_with_error
from calolib.diagnostics.clustering import LatentClustering, energy_groups, group_classifier_accuracy, \
    free_unit_energy, latent_clustering, model_callables
from calolib.diagnostics.einc_sweep import EincSweep, einc_sweep
from calolib.diagnostics.likelihood import PriorLikelihood, prior_log_likelihood
from calolib.diagnostics.frobenius import correlation_matrix, frobenius_distance, group_energies, layer_groups
from calolib.diagnostics.resolution import RelativeErrorCurve, ResolutionFit, ResolutionParams, loglog_slope, \
    relative_error_curve, resolution_fit, resolution_fit_full, resolution_model
from calolib.diagnostics.svd import CouplingSpectra, SpectraHistory, coupling_spectra, effective_rank, \
    numerical_rank, singular_values, spectra_over_checkpoints

__all__ = [
    "acf",
    "acf_two_time",
    "integrated_autocorrelation_time",
    "tau_int_with_error",
    "TauInt",
    "magnetisation",
    "ar1_series",
    "AutocorrelationResult",
    "autocorrelation_study",
    "bernoulli_noise_study",
    "seed_004_cases",
    "frobenius_distance",
    "correlation_matrix",
    "group_energies",
    "layer_groups",
    "resolution_fit",
    "resolution_fit_full",
    "resolution_model",
    "ResolutionParams",
    "ResolutionFit",
    "RelativeErrorCurve",
    "relative_error_curve",
    "loglog_slope",
    "singular_values",
    "effective_rank",
    "numerical_rank",
    "CouplingSpectra",
    "coupling_spectra",
    "SpectraHistory",
    "spectra_over_checkpoints",
    "LatentClustering",
    "latent_clustering",
    "energy_groups",
    "group_classifier_accuracy",
    "model_callables",
    "free_unit_energy",
    "PriorLikelihood",
    "prior_log_likelihood",
    "EincSweep",
    "einc_sweep",
]


def __dir__():
    return __all__
