"""CaloChallenge detector geometries, read from the official binning XML layout.

A geometry is a stack of layers; each layer is a polar grid of ``n_alpha`` equal
angular bins in (-pi, pi] times the radial bins given by ``r_edges`` (mm).  A layer
whose ``r_edges`` is just ``0`` has no voxels.  Voxels are ordered as in the
CaloChallenge files: radial bin fastest, then angular bin, then layer, so a regular
geometry such as ds2 reshapes to ``(N, layers, angles, radii) = (N, 45, 16, 9)``.

The binning files in ``calolib/data/`` were written from the challenge's published
figures (see ``shared/CALOCHALLENGE.md``).

Example:
    >>> g = get_geometry("ds2")
    >>> g.n_voxels, g.grid_shape
    (6480, (45, 16, 9))
    >>> get_geometry("ds1-photons").n_voxels
    368
"""
from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from functools import cache
from importlib import resources

import numpy as np

from calolib.errors import GeometryError

__all__ = ["Layer", "Geometry", "get_geometry", "geometry_for_n_voxels", "GEOMETRY_NAMES"]

_FILES = {
    "ds1-photons": "binning_dataset_1_photons.xml",
    "ds1-pions": "binning_dataset_1_pions.xml",
    "ds2": "binning_dataset_2.xml",
    "ds3": "binning_dataset_3.xml",
}
GEOMETRY_NAMES: tuple[str, ...] = tuple(_FILES)

#: Evaluation threshold per voxel (MeV) before any metric, CaloChallenge convention.
_THRESHOLDS_MEV = {"ds1-photons": 1.0, "ds1-pions": 1.0, "ds2": 15.15e-3, "ds3": 15.15e-3}


@dataclass(frozen=True, eq=False)
class Layer:
    """One calorimeter layer: ``n_alpha`` angular bins times ``len(r_edges)-1`` radial bins."""

    index: int
    r_edges: np.ndarray  # (n_r + 1,) mm
    n_alpha: int

    @property
    def n_r(self) -> int:
        """Number of radial bins (0 for an empty layer)."""
        return max(len(self.r_edges) - 1, 0)

    @property
    def n_voxels(self) -> int:
        return self.n_r * self.n_alpha if self.n_r else 0


@dataclass(frozen=True, eq=False)
class Geometry:
    """A CaloChallenge geometry with per-voxel coordinates.

    Attributes are numpy arrays of shape ``(n_voxels,)`` in the file's voxel order:
    ``voxel_layer`` (layer index), ``voxel_r`` (radial bin centre, mm), ``voxel_alpha``
    (angular bin centre, rad), ``voxel_x``/``voxel_y`` (mm), ``voxel_area`` (mm^2).
    """

    name: str
    particle: str
    pid: int
    layers: tuple[Layer, ...]
    voxel_layer: np.ndarray = field(repr=False)
    voxel_r: np.ndarray = field(repr=False)
    voxel_alpha: np.ndarray = field(repr=False)
    voxel_x: np.ndarray = field(repr=False)
    voxel_y: np.ndarray = field(repr=False)
    voxel_area: np.ndarray = field(repr=False)

    @property
    def n_voxels(self) -> int:
        return int(self.voxel_layer.shape[0])

    @property
    def n_layers(self) -> int:
        """Number of layers, empty ones included (24 for ds1, 45 for ds2/ds3)."""
        return len(self.layers)

    @property
    def active_layers(self) -> tuple[int, ...]:
        """Indices of layers that have voxels."""
        return tuple(l.index for l in self.layers if l.n_voxels)

    @property
    def layer_slices(self) -> tuple[slice, ...]:
        """``slice`` into the voxel axis for every layer (empty slice for empty layers)."""
        out, start = [], 0
        for l in self.layers:
            out.append(slice(start, start + l.n_voxels))
            start += l.n_voxels
        return tuple(out)

    @property
    def is_regular(self) -> bool:
        """True when every layer has the same (n_alpha, n_r) grid (ds2, ds3)."""
        shapes = {(l.n_alpha, l.n_r) for l in self.layers}
        return len(shapes) == 1 and self.layers[0].n_r > 0

    @property
    def grid_shape(self) -> tuple[int, int, int]:
        """``(layers, angles, radii)`` for regular geometries.

        Raises:
            GeometryError: for irregular geometries (ds1), which have no single grid.
        """
        if not self.is_regular:
            raise GeometryError(f"geometry {self.name!r} is irregular: its layers have different binnings")
        l0 = self.layers[0]
        return (self.n_layers, l0.n_alpha, l0.n_r)

    @property
    def threshold_mev(self) -> float:
        """CaloChallenge evaluation threshold per voxel in MeV (15.15 keV for ds2/ds3, 1 MeV for ds1)."""
        return _THRESHOLDS_MEV[self.name]

    def to_grid(self, showers: np.ndarray) -> np.ndarray:
        """Reshape ``(N, V)`` showers to ``(N, layers, angles, radii)`` (regular geometries only)."""
        showers = np.asarray(showers)
        if showers.shape[-1] != self.n_voxels:
            raise GeometryError(f"showers have {showers.shape[-1]} voxels, geometry {self.name!r} has {self.n_voxels}")
        return showers.reshape(*showers.shape[:-1], *self.grid_shape)

    def layer_energies(self, showers: np.ndarray) -> np.ndarray:
        """Energy per layer, ``(N, n_layers)`` in the units of ``showers`` (MeV)."""
        showers = np.asarray(showers)
        return np.stack([showers[..., s].sum(axis=-1) for s in self.layer_slices], axis=-1)


def _parse(name: str, text: str) -> Geometry:
    root = ET.fromstring(text)
    particle = root.find("Particle")
    if particle is None:
        raise GeometryError(f"binning file for {name!r} has no <Particle> element")
    layers = []
    for el in particle.findall("Layer"):
        edges = np.array([float(v) for v in el.get("r_edges", "0").split(",")])
        layers.append(Layer(index=int(el.get("id")), r_edges=edges, n_alpha=int(el.get("n_bin_alpha", "1"))))
    layers.sort(key=lambda l: l.index)
    cols: dict[str, list[np.ndarray]] = {k: [] for k in ("layer", "r", "alpha", "area")}
    for l in layers:
        if not l.n_voxels:
            continue
        r_c = 0.5 * (l.r_edges[:-1] + l.r_edges[1:])
        a_edges = np.linspace(-np.pi, np.pi, l.n_alpha + 1)
        a_c = 0.5 * (a_edges[:-1] + a_edges[1:])
        ring = np.pi * (l.r_edges[1:] ** 2 - l.r_edges[:-1] ** 2) / l.n_alpha
        aa, rr = np.meshgrid(a_c, r_c, indexing="ij")  # radial index fastest
        cols["layer"].append(np.full(l.n_voxels, l.index))
        cols["r"].append(rr.ravel())
        cols["alpha"].append(aa.ravel())
        cols["area"].append(np.tile(ring, l.n_alpha))
    r, alpha = np.concatenate(cols["r"]), np.concatenate(cols["alpha"])
    for arr in (r, alpha):
        arr.setflags(write=False)
    x, y = r * np.cos(alpha), r * np.sin(alpha)
    x.setflags(write=False)
    y.setflags(write=False)
    vl = np.concatenate(cols["layer"])
    vl.setflags(write=False)
    area = np.concatenate(cols["area"])
    area.setflags(write=False)
    return Geometry(name=name, particle=particle.get("name", ""), pid=int(particle.get("pid", "0")),
                    layers=tuple(layers), voxel_layer=vl, voxel_r=r, voxel_alpha=alpha,
                    voxel_x=x, voxel_y=y, voxel_area=area)


def get_geometry(name: str | Geometry) -> Geometry:
    """Return the named CaloChallenge geometry (``ds1-photons``, ``ds1-pions``, ``ds2``, ``ds3``).

    A :class:`Geometry` passes through unchanged.

    Raises:
        GeometryError: for an unknown name; the message lists the valid ones.

    Example:
        >>> get_geometry("ds3").grid_shape
        (45, 50, 18)
    """
    if isinstance(name, Geometry):
        return name
    return _load(str(name))


def _load(name: str) -> Geometry:
    key = name.lower().replace("_", "-")
    key = {"ds1": "ds1-photons", "dataset1-photons": "ds1-photons", "dataset2": "ds2", "dataset3": "ds3"}.get(key, key)
    if key not in _FILES:
        raise GeometryError(f"unknown geometry {name!r}; choose one of {', '.join(GEOMETRY_NAMES)}")
    return _load_canonical(key)


@cache
def _load_canonical(key: str) -> Geometry:
    """One Geometry object per canonical name, so aliases return the identical object."""
    text = resources.files("calolib").joinpath("data", _FILES[key]).read_text()
    return _parse(key, text)


def geometry_for_n_voxels(n_voxels: int) -> Geometry:
    """Infer the geometry from the number of voxels per shower (368, 533, 6480 or 40500).

    Example:
        >>> geometry_for_n_voxels(6480).name
        'ds2'
    """
    for name in GEOMETRY_NAMES:
        g = get_geometry(name)
        if g.n_voxels == int(n_voxels):
            return g
    known = ", ".join(f"{get_geometry(n).n_voxels} ({n})" for n in GEOMETRY_NAMES)
    raise GeometryError(f"{n_voxels} voxels per shower match no CaloChallenge geometry; known: {known}")
