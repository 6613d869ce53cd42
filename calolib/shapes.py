"""Layer-normalised voxel shapes: the preprocessing of the factorised (energy flow + shape VAE) QVAE.

With ``ModelConfig.energy_model = "flow"`` the layer energies come from a flow
(:mod:`calolib.models.energy`) and the VAE learns only how each layer's energy is spread over its voxels.
:class:`LayerShapeTransform` maps a shower to that representation, per voxel ``i`` in layer ``l(i)``::

    v_i      voxel energy (MeV), zeroed below the readout threshold
    E_l      layer energy, the sum of the layer's voxels
    s_i      = v_i / E_{l(i)}            within-layer fraction (0 in an empty layer)
    x_i      = delta + (1 - 2 delta) s_i
    u'_i     = (logit(x_i) - <u_i>) / sigma_{u_i}   standardised, statistics fitted on training data

and the *layer features* the networks are conditioned on, ``f_l = (ln(E_l + c) - <.>_l) / sigma_l``
(``c = layer_offset_mev`` keeps empty layers finite).  :meth:`LayerShapeTransform.inverse` turns decoded
shapes back into MeV showers with given layer energies: the hit voxels' fractions are renormalised to sum
to 1 in every layer and scaled by ``E_l``; voxels that would fall below the threshold are dropped and the
layer renormalised again (the layer's largest voxel is always kept), so generated layer energies are exact
and no sub-threshold "hits" are written.

Example:
    >>> import numpy as np
    >>> t = LayerShapeTransform("ds2", threshold_mev=0.01)
    >>> rng = np.random.default_rng(0)
    >>> v = rng.exponential(1.0, (4, 6480)) * (rng.random((4, 6480)) < 0.3)
    >>> e = np.full(4, 1e4)
    >>> _ = t.fit(e, v)
    >>> u = t.transform(e, v)
    >>> back = t.inverse(t.layer_energies(v), u, hits=v >= 0.01)
    >>> bool(np.allclose(back, np.where(v >= 0.01, v, 0), rtol=1e-4, atol=1e-6))
    True
"""
from __future__ import annotations

from typing import Any

import numpy as np

from calolib.errors import ConfigError, ShowerFileError
from calolib.geometry import get_geometry

__all__ = ["LayerShapeTransform", "transform_from_dict"]


def __dir__():
    return __all__


def _is_torch(x: Any) -> bool:
    return type(x).__module__.startswith("torch")


class LayerShapeTransform:
    """Within-layer voxel fractions in standardised logit space, plus standardised layer features.

    Args:
        geometry: geometry name (fixes the voxel -> layer map).
        delta: squeeze before the logit.
        min_std: voxels with a fitted ``sigma_u`` below this are only centred.
        threshold_mev: readout threshold; voxels below it are treated as empty (0 = keep all).
        layer_offset_mev: ``c`` in the layer features ``ln(E_l + c)``.
    """

    def __init__(self, geometry: str = "ds2", *, delta: float = 1e-6, min_std: float = 1e-3,
                 threshold_mev: float = 0.0, layer_offset_mev: float = 0.01):
        if not 0 < delta < 0.5:
            raise ConfigError(f"LayerShapeTransform delta must be in (0, 0.5), got {delta}")
        if threshold_mev < 0 or not layer_offset_mev > 0:
            raise ConfigError("LayerShapeTransform needs threshold_mev >= 0 and layer_offset_mev > 0")
        self.geometry = get_geometry(geometry)
        self.delta, self.min_std = float(delta), float(min_std)
        self.threshold_mev, self.layer_offset_mev = float(threshold_mev), float(layer_offset_mev)
        self.voxel_layer = np.array(self.geometry.voxel_layer, dtype=np.int64)  # a writable copy
        self.n_layers = int(self.geometry.n_layers)
        self.mean: np.ndarray | None = None
        self.std: np.ndarray | None = None
        self.layer_mean: np.ndarray | None = None
        self.layer_std: np.ndarray | None = None
        self._cache: dict = {}

    # ------------------------------------------------------------------ basics
    @property
    def fitted(self) -> bool:
        return self.mean is not None

    @property
    def n_voxels(self) -> int:
        return int(self.voxel_layer.shape[0])

    def _need_fit(self) -> None:
        if self.mean is None:
            raise ConfigError("LayerShapeTransform is not fitted; call .fit(energies, showers) first")

    def _check(self, showers) -> None:
        if showers.ndim != 2 or showers.shape[1] != self.n_voxels:
            raise ShowerFileError(f"showers must be (N, {self.n_voxels}) for {self.geometry.name}, got {tuple(showers.shape)}")

    def _thresholded(self, v):
        if self.threshold_mev <= 0:
            return v
        if _is_torch(v):
            import torch

            return torch.where(v >= self.threshold_mev, v, torch.zeros_like(v))
        return np.where(v >= self.threshold_mev, v, 0.0)

    def layer_energies(self, showers):
        """``(N, L)`` layer energies (MeV) of ``(N, V)`` showers after the threshold (numpy or torch)."""
        self._check(showers)
        v = self._thresholded(showers)
        if _is_torch(v):
            import torch

            idx = torch.as_tensor(self.voxel_layer, device=v.device)
            return v.new_zeros(v.shape[0], self.n_layers).index_add(1, idx, v)
        v = np.asarray(v, dtype=np.float64)
        out = np.zeros((v.shape[0], self.n_layers))
        for l, s in enumerate(self.geometry.layer_slices):
            out[:, l] = v[:, s].sum(axis=1)
        return out

    def _logits_np(self, showers) -> np.ndarray:
        v = np.asarray(self._thresholded(np.asarray(showers, dtype=np.float64)))
        L = self.layer_energies(v)
        per_voxel = L[:, self.voxel_layer]
        s = np.divide(v, per_voxel, out=np.zeros_like(v), where=per_voxel > 0)
        x = self.delta + (1 - 2 * self.delta) * s
        return np.log(x) - np.log1p(-x)

    # ------------------------------------------------------------------ fitting
    def fit(self, energies, showers) -> "LayerShapeTransform":
        """Fit the per-voxel logit statistics and the layer-feature statistics; returns ``self``."""
        return self.fit_batches([(energies, showers)])

    def fit_batches(self, batches) -> "LayerShapeTransform":
        """Fit on an iterable of ``(energies, showers)`` pairs (or :class:`~calolib.showers.Showers`)."""
        from calolib.showers import Showers

        n, s1, s2, f1, f2 = 0, 0.0, 0.0, 0.0, 0.0
        for b in batches:
            _, v = (b.energies, b.showers) if isinstance(b, Showers) else b
            v = np.asarray(v.detach().cpu() if _is_torch(v) else v, dtype=np.float64)
            self._check(v)
            for lo in range(0, v.shape[0], 2048):
                blk = v[lo:lo + 2048]
                u = self._logits_np(blk)
                f = np.log(self.layer_energies(blk) + self.layer_offset_mev)
                n += blk.shape[0]
                s1, s2 = s1 + u.sum(0), s2 + (u ** 2).sum(0)
                f1, f2 = f1 + f.sum(0), f2 + (f ** 2).sum(0)
        if n == 0:
            raise ShowerFileError("LayerShapeTransform.fit got no data")
        mean = s1 / n
        std = np.sqrt(np.maximum(s2 / n - mean ** 2, 0.0))
        self.mean, self.std = mean, np.where(std < self.min_std, 1.0, std)
        lm = f1 / n
        ls = np.sqrt(np.maximum(f2 / n - lm ** 2, 0.0))
        self.layer_mean, self.layer_std = lm, np.where(ls < 1e-3, 1.0, ls)
        self._cache = {}
        return self

    # ------------------------------------------------------------------ forward
    def transform(self, energies, showers, *, dtype=None):
        """Showers ``(N, V)`` MeV -> standardised within-layer logits ``(N, V)`` (float32 by default).

        ``energies`` (E_inc, MeV) is accepted for the common transform signature and only checked for shape.
        """
        self._need_fit()
        if _is_torch(showers):
            import torch

            out = self.transform(np.asarray(energies.detach().cpu() if _is_torch(energies) else energies),
                                 showers.detach().cpu().numpy(), dtype=np.float64)
            return torch.as_tensor(out, dtype=dtype or torch.float32, device=showers.device)
        v = np.asarray(showers)
        self._check(v)
        if np.asarray(energies).reshape(-1).shape[0] != v.shape[0]:
            raise ShowerFileError(f"{np.asarray(energies).size} incident energies for {v.shape[0]} showers")
        out = np.empty(v.shape, dtype=dtype or np.float32)
        for lo in range(0, v.shape[0], 2048):
            out[lo:lo + 2048] = (self._logits_np(v[lo:lo + 2048]) - self.mean) / self.std
        return out

    def layer_features(self, layer_e):
        """Standardised ``(ln(E_l + c) - mean_l) / std_l``, ``(N, L)``, from layer energies ``(N, L)`` MeV."""
        self._need_fit()
        if _is_torch(layer_e):
            import torch

            m = torch.as_tensor(self.layer_mean, dtype=torch.float32, device=layer_e.device)
            s = torch.as_tensor(self.layer_std, dtype=torch.float32, device=layer_e.device)
            return (torch.log(layer_e.float().clamp(min=0) + self.layer_offset_mev) - m) / s
        L = np.asarray(layer_e, dtype=np.float64)
        return ((np.log(np.maximum(L, 0) + self.layer_offset_mev) - self.layer_mean) / self.layer_std).astype(np.float32)

    # ------------------------------------------------------------------ inverse
    def inverse(self, layer_e, u, *, hits=None):
        """Decoded shapes -> showers ``(N, V)`` MeV with exactly the given layer energies ``(N, L)``.

        Args:
            layer_e: ``(N, L)`` MeV (e.g. from the layer-energy flow, or the true ones for reconstructions).
            u: ``(N, V)`` standardised logits (the decoder's energy head).
            hits: optional ``(N, V)`` bool: voxels allowed to carry energy (e.g. the hits head's draw); ``None``
                lets every voxel carry its decoded fraction.

        The fractions of the allowed voxels are renormalised per layer; a non-empty layer without an allowed
        voxel puts its energy into its voxel of largest decoded fraction.  Then voxels below the threshold are
        dropped (the layer's largest voxel stays) and the layer renormalised once more.
        """
        import torch

        self._need_fit()
        to_np = not _is_torch(u)
        ut = torch.as_tensor(np.asarray(u) if to_np else u)
        dev = ut.device
        L = torch.as_tensor(np.asarray(layer_e) if not _is_torch(layer_e) else layer_e, device=dev).to(torch.float64)
        if ut.ndim != 2 or ut.shape[1] != self.n_voxels or L.shape != (ut.shape[0], self.n_layers):
            raise ConfigError(f"inverse needs u (N, {self.n_voxels}) and layer energies (N, {self.n_layers}), "
                              f"got {tuple(ut.shape)} and {tuple(L.shape)}")
        key = str(dev)
        if key not in self._cache:
            self._cache[key] = (torch.as_tensor(self.mean, dtype=torch.float64, device=dev),
                                torch.as_tensor(self.std, dtype=torch.float64, device=dev),
                                torch.as_tensor(self.voxel_layer, device=dev))
        mean, std, idx = self._cache[key]
        x = torch.sigmoid(ut.to(torch.float64) * std + mean)
        frac = ((x - self.delta) / (1 - 2 * self.delta)).clamp(min=1e-12)
        allowed = torch.ones_like(frac, dtype=torch.bool) if hits is None else torch.as_tensor(
            np.asarray(hits) if not _is_torch(hits) else hits, device=dev).to(torch.bool)
        out = _distribute(frac, allowed, L, idx, self.n_layers)
        if self.threshold_mev > 0:
            carry = out > 0
            out = _distribute(frac, carry & (out >= self.threshold_mev), L, idx, self.n_layers, candidates=carry)
            out = torch.where(out >= self.threshold_mev, out, torch.zeros_like(out))
        return out.cpu().numpy() if to_np else out

    # ------------------------------------------------------------------ persistence
    def to_dict(self) -> dict:
        """JSON-able dict; inverse of :meth:`from_dict`."""
        self._need_fit()
        return {"type": "LayerShapeTransform", "geometry": self.geometry.name, "delta": self.delta,
                "min_std": self.min_std, "threshold_mev": self.threshold_mev,
                "layer_offset_mev": self.layer_offset_mev, "mean": self.mean.tolist(), "std": self.std.tolist(),
                "layer_mean": self.layer_mean.tolist(), "layer_std": self.layer_std.tolist()}

    @classmethod
    def from_dict(cls, d: dict) -> "LayerShapeTransform":
        """Rebuild a fitted transform from :meth:`to_dict` output."""
        try:
            t = cls(d["geometry"], delta=float(d["delta"]), min_std=float(d["min_std"]),
                    threshold_mev=float(d["threshold_mev"]), layer_offset_mev=float(d["layer_offset_mev"]))
            t.mean, t.std = np.asarray(d["mean"], float), np.asarray(d["std"], float)
            t.layer_mean, t.layer_std = np.asarray(d["layer_mean"], float), np.asarray(d["layer_std"], float)
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(f"invalid LayerShapeTransform dict: missing or bad field {exc}") from None
        if t.mean.shape != (t.n_voxels,) or t.std.shape != t.mean.shape or t.layer_mean.shape != (t.n_layers,):
            raise ConfigError("invalid LayerShapeTransform dict: statistics do not match the geometry")
        return t

    def __repr__(self) -> str:
        return (f"LayerShapeTransform({self.geometry.name!r}, threshold_mev={self.threshold_mev}, "
                f"{'fitted' if self.fitted else 'unfitted'})")


def _distribute(frac, allowed, layer_e, idx, n_layers, candidates=None):
    """Spread ``layer_e (N, L)`` over the allowed voxels in proportion to ``frac (N, V)`` (float64); a layer
    with energy but no allowed voxel gives it all to its largest-fraction voxel among ``candidates``."""
    import torch

    w = torch.where(allowed, frac, torch.zeros_like(frac))
    s = w.new_zeros(w.shape[0], n_layers).index_add(1, idx, w)
    # layers with energy but no allowed voxel: their voxel of largest fraction takes it all
    lonely = (s <= 0) & (layer_e > 0)
    if bool(lonely.any()):
        cand = frac if candidates is None else torch.where(candidates, frac, torch.full_like(frac, -1.0))
        big = torch.full_like(s, -1.0).scatter_reduce(1, idx.expand_as(frac), cand, reduce="amax")
        top = (cand >= big[:, idx]) & (cand > 0) & lonely[:, idx]
        w = torch.where(top, frac, w)
        s = w.new_zeros(w.shape[0], n_layers).index_add(1, idx, w)
    ratio = torch.where(s > 0, layer_e / s.clamp(min=1e-300), torch.zeros_like(s))
    return w * ratio[:, idx]


def transform_from_dict(d: dict):
    """Rebuild the transform saved in a checkpoint (:class:`~calolib.preprocessing.VoxelTransform` or
    :class:`LayerShapeTransform`, chosen by ``d["type"]``)."""
    from calolib.preprocessing import VoxelTransform

    if isinstance(d, dict) and d.get("type") == "LayerShapeTransform":
        return LayerShapeTransform.from_dict(d)
    return VoxelTransform.from_dict(d)
