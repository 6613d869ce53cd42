"""Synthetic electromagnetic showers in any CaloChallenge geometry: the suite's embedded default dataset.

Real CaloChallenge files cannot be downloaded offline, so `simulate` draws showers from a
parametrised physics model in the spirit of GFlash (Grindhammer & Peters, hep-ex/0001020).  Everything
is vectorised numpy over showers (no Python loop over events); ``simulate(n, "ds2", seed)`` is
deterministic, and the first k showers do not depend on n.

**Detector** (`calolib.synthetic.materials`).
ds2/ds3: 90 cells of 1.4 mm W + 0.3 mm Si, two cells per z-voxel.  From PDG material constants and the
GFlash mixture rules: X0_eff = 4.22 mm (0.806 X0 per z-voxel, 36.3 X0 in 45 layers), R_M,eff = 10.9 mm
(the 4.65 mm radial bins are 0.43 R_M), E_c,eff = 8.2 MeV, Z_eff = 72.5, sampling frequency F_S = 2.48,
e/mip = 0.70, mip sampling fraction f_mip = 0.036 and electron (visible) sampling fraction f_e = 0.0255.
ds1: an ATLAS-like Pb/LAr barrel (1.53 mm Pb + 4.2 mm LAr) with a documented depth table (dead material,
presampler, strips, middle, back, Tile A/BC/D), photons for ds1-photons and a crude hadron model for
ds1-pions (track to an exponential interaction point, then EM + hadronic components, h/e = 0.6).

**Per shower** (`calolib.synthetic.model`, `calolib.synthetic.gflash`):

1. *Start*: electrons start showering at depth t0 ~ Exp(0.09 X0) (the primary radiates from its first tenth of
   a radiation length); before it the primary is a minimum-ionising track leaving Landau (Moyal) distributed
   deposits in the central ring.  Photons convert at t0 ~ Exp(9/7 X0) and leave no track.
2. *Longitudinal*: a gamma profile from t0 with (ln T, ln alpha) drawn from the published GFlash
   sampling-calorimeter parametrisation in y = E/E_c: the means and the correlation
   rho = 0.784 - 0.023 ln y of their fluctuations (depth of maximum 3.6 X0 at 1 GeV, 10.5 X0 at 1 TeV), with
   0.63 times the published widths: GFlash fitted those to whole single-shower profiles from the calorimeter
   face, so they also hold the start, tail and sampling fluctuations drawn separately here.
3. *Tail*: past the maximum the profile fluctuates on its own: each layer's share is multiplied by a
   mean-one lognormal factor driven by a Gaussian process along depth (correlation length 5 X0), whose
   width rises from 0 at t = T to 0.33 at t = 2T; the layers are rescaled to keep the total.
4. *Soft-photon transport and albedo*: a quarter of the energy the cascade releases at each depth is carried
   by soft photons (a few hundred keV) before it is absorbed, half backwards and half forwards along
   exponential paths of 1.06 / 1.16 X0 (their free path in W); what reaches the front face escapes (albedo:
   0.7 % of E at 1 GeV, 0.06 % at 100 GeV, as the energy is released deeper), what passes layer 44 leaks.  It
   ties the first layers (which get the albedo of layers 1-4) to the developing shower.
5. *Radial*: per layer, the GFlash core + tail profile f(r) = p f_C + (1-p) f_T,
   f_i = 2 r R_i^2 / (r^2 + R_i^2)^2, with R_C, R_T, p functions of tau = t/T, E and Z plus the sampling
   corrections, radii scaled by a per-shower lognormal (width 0.08).  The angle is uniform about the
   shower axis, which wanders: per layer a transverse displacement (x and y Gaussian processes along depth,
   correlation length 4 X0, width 0.1 R_M reached at the maximum) modulates each ring's angular density
   by 1 + kappa cos(angle - phase), kappa from the exact first-order shift of the radial profile.
6. *Spots*: the visible energy E f_e in each (layer, radial bin) ring is carried by a Poisson number of
   spots of mean visible energy e_spot = a^2 f_e (1 GeV) / (1 + 1/kappa), gamma(kappa = 1) distributed, each
   in a random angular bin (89 spots per GeV), so the stochastic term is a = 15 %/sqrt(E/GeV) and showers
   are sparse at low energy (compound Poisson: the sum of k spots per voxel).
7. *Readout*: energies are the silicon deposits divided by the MIP sampling fraction, in MeV (the CaloChallenge
   convention behind its 15.15 keV = 0.5 keV / 0.033 threshold; `calibration="visible"` keeps raw silicon energy,
   `"electron"` divides by the electron sampling fraction so E_total/E_inc ~ 1); deposits below the cell threshold (15.15 keV ds2/ds3, 1 MeV ds1) are zeroed.

**What comes out** (ds2, defaults; checked in tests/test_synthetic.py): E_total/E_inc = 0.69-0.70 (f_e/f_mip =
0.0255/0.0365 times ~99 % containment, less the albedo), flat within 2 % from 1 GeV to 1 TeV; sigma/E =
15.0 %/sqrt(E) (+) 0.24 % (+) ~3 %/E (E in GeV); the layer of maximum mean energy moves from 4 (1 GeV) to 13
(1 TeV), the centre of gravity from 5.4 to 12.3 X0, linear in ln E; sparsity (fraction of empty voxels) 0.99 at
1 GeV, 0.94 at 10 GeV, 0.79 at 100 GeV, 0.44 at 1 TeV; at fixed energy (100 GeV) neighbouring layers at the
maximum correlate at 0.6-0.7 and early against late layers at about -0.3 to -0.7 (a deeper shower puts less
energy early and more late), while over the log-uniform spectrum all layer energies correlate positively
through E_inc.  Against the Geant4 layer-energy correlations of CaloChallenge ds2 (``calolib data validate``,
20,000 showers) the Frobenius distance is 1.5-1.6 (the previous model: 6.0; published ML models 1.0-7.4);
~78 % of the energy is in the central radial bin (0.43 R_M) and > 97 % within 2 R_M.  Throughput: see
``calolib bench synthetic`` (~3,000 ds2 showers per CPU-second on one core; `workers=2` spreads chunks over
processes, same result).
All tunables live in `SyntheticParams`.

Example:
    >>> import numpy as np
    >>> s = simulate(4, "ds2", seed=1, energies=[1e3, 1e4, 1e5, 1e6])
    >>> s.showers.shape, bool(np.all(np.abs(s.showers.sum(axis=1) / s.energies - 0.7) < 0.2))
    ((4, 6480), True)
"""
from calolib.synthetic.materials import MATERIALS, Detector, Material, SamplingStack, detector_for
from calolib.synthetic.model import simulate
from calolib.synthetic.params import CALIBRATIONS, MODEL_VERSION, SyntheticParams, model_version

__all__ = ["simulate", "SyntheticParams", "CALIBRATIONS", "model_version", "MODEL_VERSION", "detector_for",
           "Detector", "SamplingStack", "Material", "MATERIALS"]


def __dir__():
    return __all__
