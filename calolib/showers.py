"""The in-memory shower container shared by io, synthetic, features and generation.

Example:
    >>> import numpy as np
    >>> s = Showers(np.array([1e3, 2e3]), np.zeros((2, 6480), np.float32), "ds2")
    >>> len(s), s.geometry.name, s[1:].energies.tolist()
    (2, 'ds2', [2000.0])
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from calolib.errors import ShowerFileError
from calolib.geometry import Geometry, get_geometry

__all__ = ["Showers"]


@dataclass(frozen=True)
class Showers:
    """A batch of showers in CaloChallenge convention.

    Attributes:
        energies: incident energies E_inc, shape ``(N,)``, MeV.
        showers: voxel energies, shape ``(N, V)``, MeV, in the file's voxel order.
        geometry: the :class:`~calolib.geometry.Geometry` (a name is resolved on construction).
    """

    energies: np.ndarray
    showers: np.ndarray
    geometry: Geometry

    def __post_init__(self):
        object.__setattr__(self, "geometry", get_geometry(self.geometry))
        e = np.asarray(self.energies).reshape(-1)
        s = np.asarray(self.showers)
        if s.ndim != 2:
            raise ShowerFileError(f"showers must be 2-D (N, V), got shape {s.shape}")
        if s.shape[0] != e.shape[0]:
            raise ShowerFileError(f"{e.shape[0]} incident energies but {s.shape[0]} showers")
        if s.shape[1] != self.geometry.n_voxels:
            raise ShowerFileError(
                f"showers have {s.shape[1]} voxels but geometry {self.geometry.name!r} has {self.geometry.n_voxels}"
            )
        object.__setattr__(self, "energies", e)
        object.__setattr__(self, "showers", s)

    def __len__(self) -> int:
        return int(self.energies.shape[0])

    def __getitem__(self, idx) -> "Showers":
        """Select events by slice, index array or boolean mask; always returns :class:`Showers`."""
        if isinstance(idx, (int, np.integer)):
            idx = slice(int(idx), int(idx) + 1 if int(idx) != -1 else None)
        return Showers(self.energies[idx], self.showers[idx], self.geometry)

    @property
    def n_voxels(self) -> int:
        return int(self.showers.shape[1])

    @staticmethod
    def concatenate(parts: "list[Showers]") -> "Showers":
        """Concatenate batches of the same geometry along the event axis."""
        if not parts:
            raise ShowerFileError("nothing to concatenate")
        names = {p.geometry.name for p in parts}
        if len(names) != 1:
            raise ShowerFileError(f"cannot concatenate showers of different geometries: {sorted(names)}")
        return Showers(np.concatenate([p.energies for p in parts]), np.concatenate([p.showers for p in parts]),
                       parts[0].geometry)
