"""Tunables of the synthetic shower model, in one frozen dataclass (see :mod:`calolib.synthetic`)."""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields

import numpy as np

from calolib.errors import ConfigError

__all__ = ["SyntheticParams", "CALIBRATIONS"]

#: energy scales of the output (see SyntheticParams.calibration)
CALIBRATIONS = ("visible", "mip", "electron")


@dataclass(frozen=True)
class SyntheticParams:
    """Every tunable of the synthetic shower model (defaults: the ds2 W/Si detector, electrons).

    Attributes:
        sampling_term: stochastic term ``a`` (at E in GeV) that the finite number of energy spots produces;
            sets the mean visible energy per spot ``e_spot = a^2 f_e (1 GeV) / (1 + 1/spot_shape)``.
        spot_shape: gamma shape of the visible energy of one spot (1 = exponential; mimics Landau
            fluctuations plus several tracks per spot).
        sigma_scale: multiplies the published GFlash widths of ``ln T`` and ``ln alpha``.
        start_mean_x0: mean (exponential) depth of the shower start for electrons, X0; the primary track
            deposits minimum-ionisation energy before it.  Photons start at their conversion point
            (mean 9/7 X0) and leave no track.
        landau_mpv: most probable / mean visible energy of the track's minimum-ionising deposits.
        landau_width: Landau (Moyal) width of the track deposits relative to the most probable value.
        backscatter_fraction: mean fraction of E_inc carried by soft photons / backscattered particles around
            the shower start (lognormal per shower, width ``backscatter_sigma``).
        backscatter_back_x0, backscatter_fwd_x0: exponential lengths (X0) of that component before / after
            the start; ``backscatter_back_weight`` of it goes backwards (the part reaching t < 0 escapes).
        backscatter_radius: its radial scale, Moliere radii (profile 2 r R^2 / (r^2 + R^2)^2).
        tail_onset, tail_ramp, tail_sigma, tail_corr_x0: the tail fluctuates on its own: each layer's share of the
            GFlash profile is multiplied by a mean-one lognormal factor exp(s g - s^2/2), where g is a unit
            Gaussian process along depth with correlation exp(-|dt| / tail_corr_x0) and s rises linearly from 0
            at ``tau = (t - t_start) / T = tail_onset`` to ``tail_sigma`` at ``tail_onset + tail_ramp``; the
            layers are then rescaled to keep the profile's total in the calorimeter.
        radial_sigma: per-shower lognormal width of the core and tail radii.
        axis_sigma, axis_corr_x0: the shower axis wanders: per layer a transverse displacement whose x and y are
            Gaussian processes along depth (correlation exp(-|dt| / axis_corr_x0)) of width axis_sigma (R_M) times
            min(depth after the start / T, 1); to first order it modulates each ring's angular density by
            1 + kappa cos(angle - phase) (0 switches it off).
        had_*: crude hadron (ds1-pions) parameters: interaction length (X0), EM fraction
            ``1 - (E/GeV)^(-had_em_exponent)``, h/e, depth of maximum ``had_length_x0 (0.2 ln(E/GeV) + 0.7)``,
            gamma shape, radial core/tail radii (R_M) and core fraction.
        threshold_mev: cell threshold in MeV; ``None`` uses the geometry's (15.15 keV ds2/ds3, 1 MeV ds1).
        calibration: energy scale of the output: ``"visible"`` (energy deposited in the active
            layers, E_total/E_inc ~ f_e), ``"mip"`` (default: visible / f_mip, the CaloChallenge scale where the
            15.15 keV threshold is 0.5 keV in the silicon, E_total/E_inc ~ f_e/f_mip ~ 0.7) or ``"electron"`` (visible / f_e, E_total/E_inc ~ 1); layers with
            their own sampling (ds1 presampler, Tile) are divided by their own fraction.  The cell threshold is
            applied on this scale.

    Example:
        >>> SyntheticParams(tail_sigma=0.0).tail_sigma
        0.0
    """

    sampling_term: float = 0.15
    spot_shape: float = 1.0
    sigma_scale: float = 1.0
    start_mean_x0: float = 0.3
    landau_mpv: float = 0.72
    landau_width: float = 0.11
    backscatter_fraction: float = 0.001
    backscatter_sigma: float = 0.5
    backscatter_back_x0: float = 0.6
    backscatter_fwd_x0: float = 1.5
    backscatter_back_weight: float = 0.2
    backscatter_radius: float = 1.0
    tail_onset: float = 1.0
    tail_ramp: float = 1.0
    tail_sigma: float = 0.3
    tail_corr_x0: float = 2.0
    radial_sigma: float = 0.08
    axis_sigma: float = 0.1
    axis_corr_x0: float = 4.0
    had_lambda_x0: float = 25.0
    had_em_exponent: float = 0.18
    had_h_over_e: float = 0.6
    had_length_x0: float = 12.0
    had_alpha: float = 2.5
    had_sigma: float = 0.3
    had_core_rm: float = 1.0
    had_tail_rm: float = 3.0
    had_core_fraction: float = 0.6
    threshold_mev: float | None = None
    calibration: str = "mip"

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
        for name in ("sampling_term", "spot_shape", "start_mean_x0", "landau_mpv", "backscatter_back_x0",
                     "backscatter_fwd_x0", "backscatter_radius", "tail_ramp", "tail_corr_x0", "axis_corr_x0",
                     "had_lambda_x0", "had_length_x0", "had_core_rm", "had_tail_rm"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"SyntheticParams.{name} must be > 0, got {getattr(self, name)!r}")
        if self.had_alpha <= 1 or self.backscatter_back_weight > 1 or self.had_core_fraction > 1 \
                or self.backscatter_fraction >= 1:
            raise ConfigError("SyntheticParams needs had_alpha > 1, backscatter_back_weight <= 1, "
                              "had_core_fraction <= 1 and backscatter_fraction < 1")

    def to_dict(self) -> dict:
        """JSON-able dict of every field (``SyntheticParams(**d)`` rebuilds it).

        Example:
            >>> SyntheticParams(**SyntheticParams().to_dict()) == SyntheticParams()
            True
        """
        return asdict(self)


def __dir__():
    return __all__
