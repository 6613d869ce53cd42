"""Tunables of the synthetic shower model, in one frozen dataclass (see :mod:`calolib.synthetic`)."""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, fields

import numpy as np

from calolib.errors import ConfigError

__all__ = ["SyntheticParams", "CALIBRATIONS", "MODEL_VERSION", "model_version"]

#: generation of the synthetic physics; bump it when the model changes in a way SyntheticParams does not show
#: (1: GFlash + start/track + backscatter + tail field; 2: Geant4-calibrated fluctuations and soft-photon transport)
MODEL_VERSION = 2

#: energy scales of the output (see SyntheticParams.calibration)
CALIBRATIONS = ("visible", "mip", "electron")


@dataclass(frozen=True)
class SyntheticParams:
    """Every tunable of the synthetic shower model (defaults: the ds2 W/Si detector, electrons).

    Each field is a physical quantity (unit in its comment below).  The defaults of ``sigma_scale``,
    ``start_mean_x0``, ``transport_*`` and ``tail_*`` were calibrated once against the Geant4 layer-energy
    correlations of CaloChallenge dataset 2 (``calolib.reference``; tuning seeds 1-3, see
    ``tests/test_synthetic.py::test_layer_correlations_match_geant4``); the generator itself never reads that
    matrix.  The rest are PDG / GFlash values or the stochastic term.

    Attributes:
        sampling_term: stochastic term ``a`` (at E in GeV) that the finite number of energy spots produces;
            sets the mean visible energy per spot ``e_spot = a^2 f_e (1 GeV) / (1 + 1/spot_shape)``.
        spot_shape: gamma shape of the visible energy of one spot (1 = exponential; mimics Landau
            fluctuations plus several tracks per spot).
        sigma_scale: multiplies the published GFlash widths of ``ln T`` and ``ln alpha`` (their correlation is
            kept).  GFlash fitted them to whole single-shower profiles measured from the calorimeter face, so they
            also hold the start-point, tail and sampling fluctuations that this model draws separately; the
            intrinsic part left is about 0.63 of them.
        start_mean_x0: mean (exponential) depth of the shower start for electrons, X0: the primary radiates from
            its first tenth of a radiation length; before the start it deposits minimum-ionisation energy.
            Photons start at their conversion point (mean 9/7 X0) and leave no track.
        landau_mpv: most probable / mean visible energy of the track's minimum-ionising deposits.
        landau_width: Landau (Moyal) width of the track deposits relative to the most probable value.
        transport_fraction: fraction of the energy the cascade releases at each depth that soft photons (a few
            hundred keV, Compton and photo-electric) carry away before it is absorbed; it is re-deposited
            along an exponential path backwards (weight ``transport_back_weight``, mean ``transport_back_x0``)
            or forwards (mean ``transport_fwd_x0``), in X0 - about the free path of 0.3-0.5 MeV photons in W.
            What reaches the front face escapes (the albedo), what passes the last layer leaks; the energy keeps
            the GFlash radial profile of the layer where it lands (whose tail term is that soft halo).
        tail_onset, tail_ramp, tail_sigma, tail_corr_x0: the tail fluctuates on its own: each layer's share of the
            GFlash profile is multiplied by a mean-one lognormal factor exp(s g - s^2/2), where g is a unit
            Gaussian process along depth with correlation exp(-|dt| / tail_corr_x0) (X0) and s rises linearly from
            0 at ``tau = (t - t_start) / T = tail_onset`` to ``tail_sigma`` at ``tail_onset + tail_ramp``; the
            layers are then rescaled to keep the profile's total in the calorimeter (few, soft particles carry
            the energy past the maximum, so it fluctuates layer by layer).
        radial_sigma: per-shower lognormal width of the core and tail radii.
        axis_sigma, axis_corr_x0: the shower axis wanders: per layer a transverse displacement whose x and y are
            Gaussian processes along depth (correlation exp(-|dt| / axis_corr_x0), X0) of width axis_sigma (R_M)
            times min(depth after the start / T, 1); to first order it modulates each ring's angular density by
            1 + kappa cos(angle - phase) (0 switches it off).
        had_*: crude hadron (ds1-pions) parameters: interaction length (X0), EM fraction
            ``1 - (E/GeV)^(-had_em_exponent)``, h/e, depth of maximum ``had_length_x0 (0.2 ln(E/GeV) + 0.7)``,
            gamma shape, radial core/tail radii (R_M) and core fraction.
        threshold_mev: cell threshold in MeV; ``None`` uses the geometry's (15.15 keV ds2/ds3, 1 MeV ds1).
        calibration: energy scale of the output: ``"visible"`` (energy deposited in the active
            layers, E_total/E_inc ~ f_e), ``"mip"`` (default: visible / f_mip, the CaloChallenge scale where the
            15.15 keV threshold is 0.5 keV in the silicon, E_total/E_inc ~ f_e/f_mip ~ 0.7) or ``"electron"``
            (visible / f_e, E_total/E_inc ~ 1); layers with their own sampling (ds1 presampler, Tile) are divided
            by their own fraction.  The cell threshold is applied on this scale.

    Example:
        >>> SyntheticParams(tail_sigma=0.0).tail_sigma
        0.0
    """

    sampling_term: float = 0.15  # GeV^(1/2): sigma/E = a / sqrt(E / GeV) from the spot count
    spot_shape: float = 1.0  # gamma shape of one spot's energy (dimensionless)
    sigma_scale: float = 0.63  # x published GFlash sigma(ln T), sigma(ln alpha) (dimensionless)
    start_mean_x0: float = 0.09  # X0, mean depth of the electron's shower start
    landau_mpv: float = 0.72  # most probable / mean mip deposit (dimensionless)
    landau_width: float = 0.11  # Moyal width / most probable value (dimensionless)
    transport_fraction: float = 0.25  # fraction of the released energy moved by soft photons
    transport_back_x0: float = 1.06  # X0, mean backward path of soft photons
    transport_fwd_x0: float = 1.16  # X0, mean forward path of soft photons
    transport_back_weight: float = 0.5  # fraction of soft photons going backwards (isotropic: 0.5)
    tail_onset: float = 1.0  # tau = (t - t_start) / T where the tail starts to fluctuate on its own
    tail_ramp: float = 1.0  # tau range over which its width rises to tail_sigma
    tail_sigma: float = 0.33  # lognormal width of a tail layer's share (dimensionless)
    tail_corr_x0: float = 5.0  # X0, correlation length of the tail fluctuations along depth
    radial_sigma: float = 0.08  # lognormal width of the per-shower radial scale (dimensionless)
    axis_sigma: float = 0.1  # R_M, transverse wander of the shower axis at the maximum
    axis_corr_x0: float = 4.0  # X0, correlation length of that wander along depth
    had_lambda_x0: float = 25.0  # X0, nuclear interaction length (pions)
    had_em_exponent: float = 0.18  # EM fraction 1 - (E/GeV)^(-m)
    had_h_over_e: float = 0.6  # response to the hadronic part relative to electrons
    had_length_x0: float = 12.0  # X0, depth scale of the hadronic maximum
    had_alpha: float = 2.5  # gamma shape of the hadronic profile
    had_sigma: float = 0.3  # lognormal width of the hadronic depth and shape
    had_core_rm: float = 1.0  # R_M, hadronic core radius
    had_tail_rm: float = 3.0  # R_M, hadronic tail radius
    had_core_fraction: float = 0.6  # fraction of hadronic energy in the core
    threshold_mev: float | None = None  # MeV, cell threshold (None: the geometry's)
    calibration: str = "mip"  # output energy scale: visible, mip or electron

    def __post_init__(self):
        for f in fields(self):
            v = getattr(self, f.name)
            if f.name == "calibration":
                if v not in CALIBRATIONS:
                    raise ConfigError(f"SyntheticParams.calibration must be one of {', '.join(CALIBRATIONS)}, "
                                      f"got {v!r}")
                continue
            if v is None and f.name == "threshold_mev":
                continue
            if isinstance(v, bool) or not isinstance(v, (int, float, np.floating, np.integer)) or not np.isfinite(v) \
                    or v < 0:
                raise ConfigError(f"SyntheticParams.{f.name} must be a finite number >= 0, got {v!r}")
        for name in ("sampling_term", "spot_shape", "start_mean_x0", "landau_mpv", "transport_back_x0",
                     "transport_fwd_x0", "tail_ramp", "tail_corr_x0", "axis_corr_x0", "had_lambda_x0",
                     "had_length_x0", "had_core_rm", "had_tail_rm"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"SyntheticParams.{name} must be > 0, got {getattr(self, name)!r}")
        if self.had_alpha <= 1 or self.transport_back_weight > 1 or self.had_core_fraction > 1 \
                or self.transport_fraction > 1:
            raise ConfigError("SyntheticParams needs had_alpha > 1, transport_back_weight <= 1, "
                              "had_core_fraction <= 1 and transport_fraction <= 1")

    def to_dict(self) -> dict:
        """JSON-able dict of every field (``SyntheticParams(**d)`` rebuilds it).

        Example:
            >>> SyntheticParams(**SyntheticParams().to_dict()) == SyntheticParams()
            True
        """
        return asdict(self)


def model_version(params: SyntheticParams | None = None) -> str:
    """``"<MODEL_VERSION>-<10 hex digits of the SHA-256 of the params>"``: changes with the physics or any
    parameter, so a file records which model made it (``calolib_synthetic_version`` attribute of ``data make``).

    Example:
        >>> model_version() == model_version(SyntheticParams()), model_version().startswith(f"{MODEL_VERSION}-")
        (True, True)
        >>> model_version(SyntheticParams(tail_sigma=0.0)) == model_version()
        False
    """
    prm = params if params is not None else SyntheticParams()
    blob = json.dumps(prm.to_dict(), sort_keys=True, default=str).encode()
    return f"{MODEL_VERSION}-{hashlib.sha256(blob).hexdigest()[:10]}"


def __dir__():
    return __all__
