"""Materials, sampling stacks and the per-geometry detector description of the synthetic simulator.

A sampling calorimeter is a repeated cell of a passive absorber (thickness ``d_abs`` mm) and an
active layer (``d_act`` mm).  Its effective constants follow the mixture rules used by GFlash
(Grindhammer & Peters, hep-ex/0001020), with mass fractions ``w_i = d_i rho_i / sum_j d_j rho_j``:

* ``Z_eff = sum w_i Z_i``;  ``1/X0_eff = sum w_i / X0_i`` (g/cm^2), converted to mm with the mean
  density ``rho_eff = sum d_i rho_i / sum d_i``;
* ``E_c,eff = X0_eff sum w_i E_c,i / X0_i``;  ``R_M,eff = E_s / (sum w_i E_c,i / X0_i)`` with E_s = 21.2 MeV;
* sampling frequency ``F_S = X0_eff / (d_abs + d_act)`` and the e/mip ratio ``e_hat = 1 / (1 + 0.007 (Z_abs - Z_act))``;
* the mip sampling fraction from minimum-ionisation losses, ``f_mip = dE_act / (dE_act + dE_abs)``, and the
  electron (visible energy) sampling fraction ``f_e = e_hat * f_mip``.

Material constants are the PDG "Atomic and nuclear properties" values (Z, A, density, X0 in g/cm^2,
critical energy for electrons, minimum dE/dx).  For the ds2/ds3 stack (1.4 mm W + 0.3 mm Si) this gives
X0_eff = 4.22 mm, R_M,eff = 10.9 mm, E_c,eff = 8.2 MeV, Z_eff = 72.5, F_S = 2.48, e_hat = 0.70 and
f_e = 0.0255, so one ds2 z-voxel (two cells) is 0.806 X0 and the 4.65 mm radial bins are 0.43 R_M.

ds1 (ATLAS-like barrel at |eta| ~ 0.2, Pb/LAr cells of 1.53 mm Pb + 4.2 mm LAr: X0_eff = 18.9 mm,
R_M,eff = 40 mm, f_e = 0.27), depth of each layer in X0 of that stack (~2 X0 of dead material in front):

| layer | role | depth (X0) | relative sampling |
|---|---|---|---|
| 0 | presampler (1.1 cm LAr, fully active) | 2.00 - 2.08 | 1 / f_e |
| 1 | strips | 2.30 - 6.60 | 1 |
| 2 | middle | 6.60 - 22.60 | 1 |
| 3 | back | 22.60 - 24.60 | 1 |
| 12 | Tile A (pions: hadronic) | 27.0 - 41.0 | 1/8 |
| 13 | Tile BC (pions only) | 41.0 - 80.0 | 1/8 |
| 14 | Tile D (pions only) | 80.0 - 97.0 | 1/8 |

Example:
    >>> s = SamplingStack(MATERIALS["W"], MATERIALS["Si"], 1.4, 0.3)
    >>> round(s.x0_mm, 2), round(s.rm_mm, 1), round(s.ec_mev, 1), round(s.sampling_fraction, 4)
    (4.22, 10.9, 8.2, 0.0255)
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from calolib.errors import GeometryError
from calolib.geometry import Geometry, get_geometry

__all__ = ["Material", "MATERIALS", "SamplingStack", "Detector", "detector_for", "E_S_MEV"]

#: Scale energy of multiple scattering, MeV (Moliere radius R_M = X0 E_s / E_c).
E_S_MEV = 21.2


@dataclass(frozen=True)
class Material:
    """A pure material: ``x0_g`` radiation length (g/cm^2), ``ec_mev`` critical energy (MeV),
    ``dedx_min`` minimum ionisation loss (MeV cm^2/g), ``density`` (g/cm^3)."""

    name: str
    z: float
    a: float
    density: float
    x0_g: float
    ec_mev: float
    dedx_min: float

    @property
    def x0_mm(self) -> float:
        """Radiation length in mm."""
        return 10.0 * self.x0_g / self.density


MATERIALS: dict[str, Material] = {
    m.name: m
    for m in (
        Material("W", 74, 183.84, 19.30, 6.76, 7.97, 1.145),
        Material("Si", 14, 28.0855, 2.329, 21.82, 40.19, 1.664),
        Material("Pb", 82, 207.2, 11.35, 6.37, 7.43, 1.122),
        Material("LAr", 18, 39.948, 1.396, 19.55, 32.84, 2.105),
    )
}


@dataclass(frozen=True)
class SamplingStack:
    """A repeated absorber + active cell (thicknesses in mm) and its effective shower constants."""

    absorber: Material
    active: Material
    d_abs: float
    d_act: float

    @property
    def _weights(self) -> tuple[float, float]:
        m_abs, m_act = self.d_abs * self.absorber.density, self.d_act * self.active.density
        return m_abs / (m_abs + m_act), m_act / (m_abs + m_act)

    @property
    def density(self) -> float:
        """Mean density, g/cm^3."""
        return (self.d_abs * self.absorber.density + self.d_act * self.active.density) / (self.d_abs + self.d_act)

    @property
    def z_eff(self) -> float:
        w1, w2 = self._weights
        return w1 * self.absorber.z + w2 * self.active.z

    @property
    def x0_mm(self) -> float:
        """Effective radiation length, mm."""
        w1, w2 = self._weights
        x0_g = 1.0 / (w1 / self.absorber.x0_g + w2 / self.active.x0_g)
        return 10.0 * x0_g / self.density

    @property
    def _ec_over_x0(self) -> float:
        w1, w2 = self._weights
        return w1 * self.absorber.ec_mev / self.absorber.x0_g + w2 * self.active.ec_mev / self.active.x0_g

    @property
    def ec_mev(self) -> float:
        """Effective critical energy, MeV."""
        w1, w2 = self._weights
        x0_g = 1.0 / (w1 / self.absorber.x0_g + w2 / self.active.x0_g)
        return x0_g * self._ec_over_x0

    @property
    def rm_mm(self) -> float:
        """Effective Moliere radius, mm."""
        return 10.0 * E_S_MEV / self._ec_over_x0 / self.density

    @property
    def f_s(self) -> float:
        """GFlash sampling frequency F_S = X0_eff / (d_abs + d_act)."""
        return self.x0_mm / (self.d_abs + self.d_act)

    @property
    def e_hat(self) -> float:
        """GFlash e/mip ratio estimate 1 / (1 + 0.007 (Z_abs - Z_act))."""
        return 1.0 / (1.0 + 0.007 * (self.absorber.z - self.active.z))

    @property
    def mip_fraction(self) -> float:
        """Fraction of a minimum-ionising particle's energy loss that is in the active layer."""
        e_act = self.active.dedx_min * self.active.density * self.d_act
        e_abs = self.absorber.dedx_min * self.absorber.density * self.d_abs
        return e_act / (e_act + e_abs)

    @property
    def sampling_fraction(self) -> float:
        """Visible (active-layer) fraction of an electromagnetic shower's energy, e_hat * f_mip."""
        return self.e_hat * self.mip_fraction

    @property
    def mip_visible_per_x0(self) -> float:
        """Visible energy (MeV) a minimum-ionising track leaves per X0 of depth."""
        return self.active.dedx_min * self.active.density * self.d_act / 10.0 / ((self.d_abs + self.d_act) / self.x0_mm)


@dataclass(frozen=True, eq=False)
class Detector:
    """A geometry mapped onto depth: layer ``i`` spans ``[depth_start[i], depth_end[i]]`` in X0 of ``stack``
    (NaN for layers without voxels) and records ``weight[i]`` times the stack's visible sampling fraction."""

    name: str
    stack: SamplingStack
    depth_start: np.ndarray  # (L,) X0
    depth_end: np.ndarray  # (L,) X0
    weight: np.ndarray  # (L,) relative sampling fraction
    particle: str  # "electron", "photon" or "pion"


_WSI = SamplingStack(MATERIALS["W"], MATERIALS["Si"], 1.4, 0.3)
_PBLAR = SamplingStack(MATERIALS["Pb"], MATERIALS["LAr"], 1.53, 4.2)

# ATLAS-like barrel (|eta| ~ 0.2) in X0 of the Pb/LAr stack: ~2 X0 of dead material in front, presampler
# (1.1 cm of pure LAr, fully active), strips 4.3 X0, middle 16 X0, back 2 X0, cryostat, then the Tile
# calorimeter (iron/scintillator, ~1/8 of the ECAL's visible fraction) layers A, BC, D.
_DS1_LAYERS = {  # layer index -> (start X0, end X0, relative weight)
    0: (2.00, 2.08, 1.0 / _PBLAR.sampling_fraction),
    1: (2.30, 6.60, 1.0),
    2: (6.60, 22.60, 1.0),
    3: (22.60, 24.60, 1.0),
    12: (27.0, 41.0, 0.125),
    13: (41.0, 80.0, 0.125),
    14: (80.0, 97.0, 0.125),
}


def detector_for(geometry: str | Geometry) -> Detector:
    """The detector behind a CaloChallenge geometry: W/Si stack with two cells per z-voxel for ds2/ds3,
    an ATLAS-like Pb/LAr + Tile depth table for ds1 photons/pions.

    Example:
        >>> d = detector_for("ds2")
        >>> d.particle, round(float(d.depth_end[0]), 3), round(float(d.depth_end[-1]), 1)
        ('electron', 0.806, 36.3)
    """
    g = get_geometry(geometry)
    n = g.n_layers
    if g.name in ("ds2", "ds3"):
        cell = (_WSI.d_abs + _WSI.d_act) / _WSI.x0_mm  # X0 per W+Si cell
        edges = 2 * cell * np.arange(n + 1)
        return Detector(g.name, _WSI, edges[:-1], edges[1:], np.ones(n), "electron")
    if g.name in ("ds1-photons", "ds1-pions"):
        start, end, weight = np.full(n, np.nan), np.full(n, np.nan), np.zeros(n)
        for layer in g.active_layers:
            if layer not in _DS1_LAYERS:
                raise GeometryError(f"no depth assigned to layer {layer} of {g.name!r}")
            start[layer], end[layer], weight[layer] = _DS1_LAYERS[layer]
        particle = "photon" if g.name == "ds1-photons" else "pion"
        return Detector(g.name, _PBLAR, start, end, weight, particle)
    raise GeometryError(f"no synthetic detector for geometry {g.name!r}")


def __dir__():
    return __all__
