"""Invertible transforms between showers in MeV and the network's input space.

:class:`VoxelTransform` (seed-000 preprocessing), per voxel ``i`` of a shower with incident
energy ``E_inc`` (MeV)::

    eps_i = v_i / E_inc                      reduced deposited energy
    x_i   = delta + (1 - 2 delta) eps_i      squeeze into (0, 1), delta = 1e-6
    u_i   = logit(x_i) = ln(x_i / (1 - x_i))
    u'_i  = (u_i - <u_i>) / sigma_{u_i}      per-voxel standardisation, fitted on training data

and the exact inverse ``v_i = E_inc (sigmoid(u_i) - delta) / (1 - 2 delta)``, clipped at 0.
A voxel that is (nearly) constant in the training data (``sigma < min_std``, e.g. always
empty) is only centred (its sigma is set to 1) so it cannot blow up new data.  Fitting
accumulates float64 means and variances over blocks of events (Chan's parallel update),
so it needs no ``N x V`` float64 temporaries.

:class:`EnergyTransform` maps ``E_inc`` log-linearly to [0, 1] over ``[e_min, e_max]`` MeV.

Both accept numpy arrays or torch tensors (torch in -> torch out on the same device; the
arithmetic runs in float64 then casts), and serialise to JSON-able dicts.

Example:
    >>> import numpy as np
    >>> e = np.array([1e3, 1e4, 1e5]); v = np.array([[0, 5.0], [10.0, 0], [300.0, 2.0]])
    >>> t = VoxelTransform().fit(e, v)
    >>> bool(np.allclose(t.inverse(e, t.transform(e, v)), v, rtol=1e-5, atol=1e-6))
    True
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from calolib.errors import ConfigError, ShowerFileError

__all__ = ["VoxelTransform", "EnergyTransform"]

_BLOCK_VALUES = 2**19  # voxel values per block of events: bounded, cache-friendly float64 temporaries


def _is_torch(x: Any) -> bool:
    return type(x).__module__.startswith("torch")


def _energies_col(energies, n: int, xp_torch: bool, like=None):
    """Incident energies as an (N, 1) float64 column; checks they are positive and finite."""
    if xp_torch:
        import torch

        e = torch.as_tensor(energies, device=like.device).to(torch.float64).reshape(-1, 1)
        ok = bool(torch.all(torch.isfinite(e) & (e > 0)))
    else:
        e = np.asarray(energies, dtype=np.float64).reshape(-1, 1)
        ok = bool(np.all(np.isfinite(e) & (e > 0)))
    if e.shape[0] != n:
        raise ShowerFileError(f"{e.shape[0]} incident energies for {n} showers")
    if not ok:
        raise ShowerFileError("incident energies must be finite and > 0 MeV")
    return e


class VoxelTransform:
    """Per-voxel logit + standardisation of ``v / E_inc`` (see the module docstring).

    Args:
        delta: the squeeze ``delta`` (1e-6 as in the seed-000 slides).
        min_std: voxels whose fitted ``sigma_u`` is below this are only centred (sigma -> 1).

    Attributes (after :meth:`fit`): ``mean`` and ``std``, float64 arrays ``(V,)`` in logit space.
    """

    def __init__(self, delta: float = 1e-6, *, min_std: float = 1e-3):
        if not 0 < delta < 0.5:
            raise ConfigError(f"VoxelTransform delta must be in (0, 0.5), got {delta}")
        self.delta, self.min_std = float(delta), float(min_std)
        self.mean: np.ndarray | None = None
        self.std: np.ndarray | None = None
        self._cache: dict = {}

    # ------------------------------------------------------------------ fitting
    def _logit_np(self, energies: np.ndarray, showers: np.ndarray) -> np.ndarray:
        x = self.delta + (1 - 2 * self.delta) * (np.asarray(showers, dtype=np.float64) / energies)
        return np.log(x) - np.log1p(-x)

    @staticmethod
    def _as_numpy_pair(energies, showers):
        from calolib.showers import Showers

        if isinstance(energies, Showers):
            energies, showers = energies.energies, energies.showers
        if _is_torch(showers):
            showers = showers.detach().cpu().numpy()
        if _is_torch(energies):
            energies = energies.detach().cpu().numpy()
        s = np.asarray(showers)
        if s.ndim != 2 or s.shape[0] == 0:
            raise ShowerFileError(f"VoxelTransform.fit needs showers of shape (N>0, V), got {s.shape}")
        return _energies_col(energies, s.shape[0], False), s

    def fit(self, energies, showers=None) -> "VoxelTransform":
        """Fit the per-voxel mean and std of ``u`` on training data; returns ``self``.

        Args:
            energies: ``(N,)`` MeV, or a :class:`~calolib.showers.Showers` (then omit ``showers``).
            showers: ``(N, V)`` MeV (numpy or torch; torch is moved to CPU for fitting).

        Example:
            >>> t = VoxelTransform().fit(np.array([1e3, 1e3]), np.array([[0.0, 1.0], [0.0, 3.0]]))
            >>> t.std.tolist()[0], round(float(t.mean[0]), 2)  # voxel 0 always empty: sigma -> 1
            (1.0, -13.82)
        """
        return self.fit_batches([(energies, showers)])

    def fit_batches(self, batches) -> "VoxelTransform":
        """Fit on an iterable of batches, each a :class:`Showers` or an ``(energies, showers)`` pair,
        so files larger than memory can be streamed (e.g. ``calolib.io.iter_showers(path)``).
        The result equals :meth:`fit` on the concatenation (up to float64 rounding).

        Example:
            >>> e, s = np.array([1e3, 2e3, 4e3]), np.array([[1.0, 0.0], [3.0, 1.0], [0.0, 2.0]])
            >>> a = VoxelTransform().fit(e, s)
            >>> b = VoxelTransform().fit_batches([(e[:1], s[:1]), (e[1:], s[1:])])
            >>> bool(np.allclose(a.mean, b.mean) and np.allclose(a.std, b.std))
            True
        """
        from calolib.showers import Showers

        n_tot, mean, m2 = 0, None, None
        for batch in batches:
            e, s = self._as_numpy_pair(*((batch, None) if isinstance(batch, Showers) else batch))
            if mean is None:
                mean, m2 = np.zeros(s.shape[1]), np.zeros(s.shape[1])
            elif s.shape[1] != mean.shape[0]:
                raise ShowerFileError(f"batches have different voxel counts: {mean.shape[0]} and {s.shape[1]}")
            for lo, hi in self._blocks(s.shape[0], s.shape[1]):
                u = self._logit_np(e[lo:hi], s[lo:hi])
                # Chan et al. parallel update of (count, mean, sum of squared deviations)
                nb, mb = u.shape[0], u.mean(axis=0)
                m2b = ((u - mb) ** 2).sum(axis=0)
                d, tot = mb - mean, n_tot + nb
                mean = mean + d * nb / tot
                m2 = m2 + m2b + d**2 * n_tot * nb / tot
                n_tot = tot
        if mean is None:
            raise ShowerFileError("VoxelTransform.fit got no data")
        std = np.sqrt(m2 / n_tot)
        self.mean = mean
        self.std = np.where(std < self.min_std, 1.0, std)
        self._cache = {}
        return self

    @property
    def fitted(self) -> bool:
        return self.mean is not None

    @property
    def n_voxels(self) -> int:
        self._need_fit()
        return int(self.mean.shape[0])

    def _need_fit(self) -> None:
        if self.mean is None:
            raise ConfigError("VoxelTransform is not fitted; call .fit(energies, showers) first or load saved statistics")

    def _check_v(self, v: int) -> None:
        self._need_fit()
        if v != self.mean.shape[0]:
            raise ShowerFileError(f"data have {v} voxels but the VoxelTransform was fitted on {self.mean.shape[0]}")

    def _stats_torch(self, device):
        import torch

        key = str(device)
        if key not in self._cache:
            self._cache[key] = (torch.as_tensor(self.mean, dtype=torch.float64, device=device),
                                torch.as_tensor(self.std, dtype=torch.float64, device=device))
        return self._cache[key]

    # ------------------------------------------------------------------ forward / inverse
    def _blocks(self, n: int, n_voxels: int | None = None):
        step = max(1, _BLOCK_VALUES // max(n_voxels or self.mean.shape[0], 1))
        return [(lo, min(lo + step, n)) for lo in range(0, n, step)]

    def transform(self, energies, showers, *, dtype=None):
        """Showers ``(N, V)`` MeV -> standardised logits ``u'`` ``(N, V)``, float32 by default.

        numpy in -> numpy out; torch in -> torch out on the showers' device.  ``dtype`` (numpy or
        torch dtype) overrides the float32 output (float64 keeps the inverse exact to ~1e-12).

        Example:
            >>> t = VoxelTransform().fit(np.array([1e3, 2e3]), np.array([[1.0, 0.0], [3.0, 1.0]]))
            >>> u = t.transform(np.array([1e3, 2e3]), np.array([[1.0, 0.0], [3.0, 1.0]]))
            >>> u.dtype, np.round(u, 3).tolist()
            (dtype('float32'), [[-1.0, -1.0], [1.0, 1.0]])
        """
        if _is_torch(showers):
            import torch

            self._check_v(showers.shape[-1])
            e = _energies_col(energies, showers.shape[0], True, like=showers)
            mean, std = self._stats_torch(showers.device)
            out = torch.empty(showers.shape, dtype=dtype or torch.float32, device=showers.device)
            for lo, hi in self._blocks(showers.shape[0]):
                x = self.delta + (1 - 2 * self.delta) * (showers[lo:hi].to(torch.float64) / e[lo:hi])
                out[lo:hi] = (torch.logit(x) - mean) / std
            return out
        s = np.asarray(showers)
        self._check_v(s.shape[-1])
        e = _energies_col(energies, s.shape[0], False)
        out = np.empty(s.shape, dtype=dtype or np.float32)
        for lo, hi in self._blocks(s.shape[0]):  # bounded float64 temporaries
            out[lo:hi] = (self._logit_np(e[lo:hi], s[lo:hi]) - self.mean) / self.std
        return out

    def inverse(self, energies, u, *, dtype=None):
        """Standardised logits ``u'`` ``(N, V)`` -> showers ``(N, V)`` MeV, clipped at >= 0.

        Output dtype: ``dtype`` if given, else float64 for float64 input and float32 otherwise.

        Example:
            >>> t = VoxelTransform().fit(np.array([1e3, 2e3]), np.array([[1.0, 0.0], [3.0, 1.0]]))
            >>> np.round(t.inverse(np.array([1e3]), np.array([[-1.0, -5.0]])), 3).tolist()  # far below delta -> 0
            [[1.0, 0.0]]
        """
        if _is_torch(u):
            import torch

            self._check_v(u.shape[-1])
            e = _energies_col(energies, u.shape[0], True, like=u)
            mean, std = self._stats_torch(u.device)
            out_dtype = dtype or (torch.float64 if u.dtype == torch.float64 else torch.float32)
            out = torch.empty(u.shape, dtype=out_dtype, device=u.device)
            for lo, hi in self._blocks(u.shape[0]):
                x = torch.sigmoid(u[lo:hi].to(torch.float64) * std + mean)
                out[lo:hi] = torch.clamp((x - self.delta) / (1 - 2 * self.delta), min=0.0) * e[lo:hi]
            return out
        a = np.asarray(u)
        self._check_v(a.shape[-1])
        e = _energies_col(energies, a.shape[0], False)
        out = np.empty(a.shape, dtype=dtype or (np.float64 if a.dtype == np.float64 else np.float32))
        for lo, hi in self._blocks(a.shape[0]):
            z = a[lo:hi].astype(np.float64) * self.std + self.mean
            x = 0.5 * (1.0 + np.tanh(0.5 * z))  # numerically stable sigmoid
            out[lo:hi] = np.maximum((x - self.delta) / (1 - 2 * self.delta), 0.0) * e[lo:hi]
        return out

    # ------------------------------------------------------------------ persistence
    def to_dict(self) -> dict:
        """JSON-able dict (float64 statistics as lists of floats); inverse of :meth:`from_dict`.

        Example:
            >>> t = VoxelTransform().fit(np.array([1e3]), np.array([[1.0, 2.0]]))
            >>> VoxelTransform.from_dict(t.to_dict()).mean.tolist() == t.mean.tolist()
            True
        """
        self._need_fit()
        return {"type": "VoxelTransform", "delta": self.delta, "min_std": self.min_std,
                "mean": [float(m) for m in self.mean], "std": [float(s) for s in self.std]}

    @classmethod
    def from_dict(cls, d: dict) -> "VoxelTransform":
        """Rebuild a fitted transform from :meth:`to_dict` output."""
        try:
            if d.get("type", "VoxelTransform") != "VoxelTransform":
                raise ConfigError(f"not a VoxelTransform dict (type={d.get('type')!r})")
            t = cls(float(d["delta"]), min_std=float(d.get("min_std", 1e-3)))
            mean, std = np.asarray(d["mean"], dtype=np.float64), np.asarray(d["std"], dtype=np.float64)
        except (KeyError, TypeError, AttributeError) as exc:
            raise ConfigError(f"invalid VoxelTransform dict: missing or bad field {exc}") from None
        if mean.ndim != 1 or mean.shape != std.shape or not np.all(std > 0):
            raise ConfigError(f"invalid VoxelTransform dict: mean {mean.shape} and std {std.shape} must be equal-length, std > 0")
        t.mean, t.std = mean, std
        return t

    def save(self, path: str | os.PathLike) -> None:
        """Write the fitted statistics as JSON (read back with :meth:`load`).

        Example:
            >>> import tempfile, pathlib
            >>> p = pathlib.Path(tempfile.mkdtemp()) / "t.json"
            >>> VoxelTransform().fit(np.array([1e3]), np.array([[1.0, 2.0]])).save(p)
            >>> VoxelTransform.load(p).n_voxels
            2
        """
        Path(path).write_text(json.dumps(self.to_dict()))

    @classmethod
    def load(cls, path: str | os.PathLike) -> "VoxelTransform":
        """Read statistics written by :meth:`save`."""
        try:
            d = json.loads(Path(path).read_text())
        except FileNotFoundError:
            raise ConfigError(f"{path}: no such VoxelTransform file") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: not a JSON VoxelTransform file ({exc})") from None
        return cls.from_dict(d)

    def __repr__(self) -> str:
        v = self.mean.shape[0] if self.fitted else "unfitted"
        return f"VoxelTransform(delta={self.delta}, n_voxels={v})"


class EnergyTransform:
    """``t = ln(E / e_min) / ln(e_max / e_min)``: incident energy (MeV) log-scaled to [0, 1].

    Values outside ``[e_min, e_max]`` map outside [0, 1] (no clipping), so the inverse is exact.

    Example:
        >>> t = EnergyTransform(1e3, 1e6)
        >>> t.transform(np.array([1e3, 1e6, 3.1622776601683795e4])).round(6).tolist()
        [0.0, 1.0, 0.5]
    """

    def __init__(self, e_min: float = 1e3, e_max: float = 1e6):
        if not (0 < e_min < e_max):
            raise ConfigError(f"EnergyTransform needs 0 < e_min < e_max, got e_min={e_min}, e_max={e_max}")
        self.e_min, self.e_max = float(e_min), float(e_max)
        self._span = float(np.log(self.e_max / self.e_min))

    def transform(self, energies):
        """E (MeV, numpy or torch, any shape) -> t (same type; float64 numpy, input dtype for torch)."""
        if _is_torch(energies):
            import torch

            e = energies if energies.is_floating_point() else energies.to(torch.float32)
            return torch.log(e / self.e_min) / self._span
        return np.log(np.asarray(energies, dtype=np.float64) / self.e_min) / self._span

    def inverse(self, t):
        """t -> E in MeV (same type as the input).

        Example:
            >>> bool(np.isclose(EnergyTransform().inverse(np.array(0.5)), 10**4.5))
            True
        """
        if _is_torch(t):
            import torch

            tt = t if t.is_floating_point() else t.to(torch.float32)
            return self.e_min * torch.exp(tt * self._span)
        return self.e_min * np.exp(np.asarray(t, dtype=np.float64) * self._span)

    def to_dict(self) -> dict:
        return {"type": "EnergyTransform", "e_min": self.e_min, "e_max": self.e_max}

    @classmethod
    def from_dict(cls, d: dict) -> "EnergyTransform":
        try:
            return cls(float(d["e_min"]), float(d["e_max"]))
        except (KeyError, TypeError) as exc:
            raise ConfigError(f"invalid EnergyTransform dict: missing or bad field {exc}") from None

    def __repr__(self) -> str:
        return f"EnergyTransform(e_min={self.e_min}, e_max={self.e_max})"


def __dir__():
    return __all__
