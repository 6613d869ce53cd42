"""Reconstruction as a function of the decoder's incident energy (seed 003).

For every validation event i with encoding z_i, the decoder's conditioning energy is replaced by E′ on a
grid, x̂_i(E′) = decode(z_i, E′), and compared with the truth:

* ``mse``       (B, K): mean over voxels of (x̂_i(E′) − x_i)², in the space ``decode`` returns
  (preprocessed space for a QVAE) — or in MeV when ``to_mev`` is given and ``space="mev"``;
* ``energy``    (B, K): relative total-energy error |Σ Ê′ − Σ E| / Σ E in MeV;
* ``sparsity``  (B, K): |s(x̂) − s(x)|, s = fraction of voxels at or below ``threshold_mev`` (MeV).

The MeV quantities use ``to_mev(x̂, E) -> showers (MeV)`` (e.g. ``lambda x, e: transform.inverse(e, x)``).
The preprocessing divides voxel energies by E_inc, so the conversion back must use the event's **true**
E_inc (``invert_with="true"``, the default): only the decoder's conditioning E′ varies.  Inverting with E′
(``"decoder"``) multiplies the shower by E′ itself and makes the energy criterion a tautology (its minimum
sits at E′ ≈ E_inc whatever the decoder does).  Without ``to_mev`` the decoder output is taken to be MeV.

For each criterion the argmin E′ per event is compared with the true E_inc.  An argmin on the first or last
grid point is not a minimum (the criterion still falls beyond the grid): ``at_edge`` flags it (−1 low, +1 high)
and the summaries (``bias``, :meth:`EincSweep.summary`, :meth:`EincSweep.stats`) use interior minima only.
Everything is batched: for a chunk of grid values the encodings are tiled and decoded in one call (at most
``max_batch`` rows per call).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from calolib.errors import CalolibError
from calolib.metrics._arrays import as_numpy

__all__ = ["EincSweep", "einc_sweep", "CRITERIA"]

#: Criteria computed by :func:`einc_sweep` (keys of ``EincSweep.curves``).
CRITERIA = ("mse", "energy", "sparsity")


def __dir__():
    return __all__


@dataclass(frozen=True)
class EincSweep:
    """Curves (B, K) per criterion over the E′ grid (MeV), argmins (B,) and the bias summary."""

    e_grid: np.ndarray  # (K,) MeV
    e_true: np.ndarray = field(repr=False)  # (B,) MeV
    curves: dict[str, np.ndarray] = field(repr=False)  # criterion -> (B, K)
    argmin: dict[str, np.ndarray] = field(repr=False)  # criterion -> (B,) E′ at the minimum, MeV
    bias: dict[str, dict] = field(default_factory=dict)  # criterion -> {"e_edges", "median_ratio", "q16", "q84", "n"}
    space: str = "decoder"
    at_edge: dict[str, np.ndarray] = field(default_factory=dict, repr=False)  # criterion -> (B,) −1/0/+1
    invert_with: str = "true"

    def interior(self, criterion: str) -> np.ndarray:
        """(B,) bool: events whose argmin of ``criterion`` is a true minimum (not on the grid edge)."""
        edge = self.at_edge.get(criterion)
        return np.ones(len(self.e_true), bool) if edge is None else edge == 0

    def summary(self) -> dict[str, float]:
        """Median of argmin/true per criterion over interior minima (1 = unbiased; NaN: none interior)."""
        out = {}
        for k, v in self.argmin.items():
            ok = self.interior(k)
            out[k] = float(np.median(v[ok] / self.e_true[ok])) if ok.any() else float("nan")
        return out

    def stats(self, *, n_boot: int = 200, seed: int = 0) -> dict[str, dict]:
        """Per criterion: median ratio argmin/true over interior minima with a bootstrap 68 % interval
        (``lo``, ``hi``), ``n_interior``, and the fractions of argmins at the low / high grid edge.

        Example:
            >>> z = np.ones((3, 2)); e = np.array([10.0, 100.0, 1000.0])
            >>> sw = einc_sweep(lambda z, e: z * e[:, None], z, z * e[:, None], e, np.geomspace(10, 1000, 5))
            >>> st = sw.stats()["mse"]; st["n_interior"], st["frac_low_edge"], st["frac_high_edge"]
            (1, 0.333, 0.333)
        """
        rng = np.random.default_rng(seed)
        out = {}
        for k, v in self.argmin.items():
            ok = self.interior(k)
            r = np.log(v[ok] / self.e_true[ok])
            med = lo = hi = float("nan")
            if r.size:
                med = float(np.exp(np.median(r)))
                boot = np.median(r[rng.integers(0, r.size, (n_boot, r.size))], axis=1)
                lo, hi = (float(x) for x in np.exp(np.quantile(boot, [0.16, 0.84])))
            edge = self.at_edge.get(k, np.zeros(len(v)))
            out[k] = {"median_ratio": med, "lo": lo, "hi": hi, "n_interior": int(ok.sum()), "n_events": int(len(v)),
                      "frac_low_edge": round(float((edge < 0).mean()), 3),
                      "frac_high_edge": round(float((edge > 0).mean()), 3)}
        return out


def _bias(e_true: np.ndarray, e_star: np.ndarray, n_bins: int, interior: np.ndarray) -> dict:
    edges = np.geomspace(e_true.min(), e_true.max() * (1 + 1e-12), n_bins + 1)
    e_true, e_star = e_true[interior], e_star[interior]
    idx = np.clip(np.searchsorted(edges, e_true, side="right") - 1, 0, n_bins - 1)
    ratio = e_star / e_true
    med, q16, q84, n = (np.full(n_bins, np.nan) for _ in range(4))
    order = np.argsort(idx, kind="stable")
    splits = np.split(ratio[order], np.cumsum(np.bincount(idx, minlength=n_bins))[:-1])
    for k, r in enumerate(splits):  # a handful of E bins
        n[k] = len(r)
        if len(r):
            q16[k], med[k], q84[k] = np.quantile(r, [0.16, 0.5, 0.84])
    return {"e_edges": edges, "median_ratio": med, "q16": q16, "q84": q84, "n": n}


def einc_sweep(decode, z, x_true, e_true, e_grid, *, to_mev=None, showers_true=None, space: str = "decoder",
               threshold_mev: float = 0.0, max_batch: int = 2048, n_bias_bins: int = 5,
               invert_with: str = "true", cond=None) -> EincSweep:
    """Decode every encoding at every E′ of ``e_grid`` and measure how far x̂(z, E′) is from the truth.

    Args:
        decode: ``(z (M, N), e (M,) MeV) -> x̂ (M, V)`` (torch or numpy; called with torch tensors when
            ``z`` is a tensor).
        z: (B, N) encodings of the events; x_true: (B, V) truth in the decoder's space; e_true: (B,) MeV.
        e_grid: (K,) trial energies E′ in MeV (e.g. ``np.geomspace(1e3, 1e6, 31)``).
        to_mev: ``(x̂, e) -> (M, V) MeV`` for the energy/sparsity criteria (None: x̂ already in MeV).
        invert_with: ``"true"`` (default): ``to_mev`` gets each event's true E_inc; ``"decoder"``: the trial E′
            (the old, tautological choice for the energy criterion; kept for comparison).
        showers_true: (B, V) true showers in MeV (default ``to_mev(x_true, e_true)`` or ``x_true``).
        space: ``"decoder"`` (MSE in the decoder's space) or ``"mev"`` (MSE in MeV).
        threshold_mev: voxels at or below count as empty for the sparsity criterion.
        max_batch: rows per decode call (memory: max_batch × V float64 arrays).
        cond: optional (B, C) per-event conditioning held fixed while E′ varies (the factorised QVAE's layer
            energies, MeV); then ``decode(z, e, cond)`` and ``to_mev(x̂, e, cond)`` get it, tiled like ``z``.

    Example:
        >>> z = np.array([[1.0, 2.0], [3.0, 1.0]]); e = np.array([10.0, 100.0])
        >>> sw = einc_sweep(lambda z, e: z * e[:, None], z, z * e[:, None], e, np.geomspace(1, 1000, 7))
        >>> sw.argmin["mse"].tolist(), sw.argmin["energy"].tolist()
        ([10.0, 100.0], [10.0, 100.0])
    """
    import torch

    if space not in ("decoder", "mev"):
        raise CalolibError(f"space must be 'decoder' or 'mev', got {space!r}")
    if invert_with not in ("true", "decoder"):
        raise CalolibError(f"invert_with must be 'true' or 'decoder', got {invert_with!r}")
    grid = as_numpy(e_grid).ravel()
    et = as_numpy(e_true).ravel()
    xt = as_numpy(x_true)
    b = len(et)
    if grid.size == 0 or (grid <= 0).any():
        raise CalolibError("e_grid must be a non-empty list of positive energies (MeV)")
    if len(z) != b or len(xt) != b:
        raise CalolibError(f"z, x_true and e_true need one row per event; got {len(z)}, {len(xt)}, {b}")
    if cond is None:
        mev = (lambda a, e, c=None: as_numpy(a)) if to_mev is None else (lambda a, e, c=None: as_numpy(to_mev(a, e)))
        dec = lambda zz, ee, c=None: decode(zz, ee)  # noqa: E731
    else:
        mev = (lambda a, e, c: as_numpy(a)) if to_mev is None else (lambda a, e, c: as_numpy(to_mev(a, e, c)))
        dec = decode
    if showers_true is None:
        st = mev(x_true, e_true, cond) if to_mev is not None else xt
    else:
        st = as_numpy(showers_true)
    target = xt if space == "decoder" else st
    tot_true = st.sum(1)
    sp_true = (st <= threshold_mev).mean(1)
    is_torch = isinstance(z, torch.Tensor)
    curves = {c: np.empty((b, grid.size)) for c in CRITERIA}
    per = max(1, int(max_batch) // max(b, 1))  # grid values per decode call
    for k0 in range(0, grid.size, per):  # loop over chunks of the grid, each one batched decode
        ks = grid[k0:k0 + per]
        n_k = len(ks)
        e_rep = np.repeat(ks, b)  # (n_k * B,) grid-major
        e_inv = np.tile(et, n_k) if invert_with == "true" else e_rep  # the energy the MeV conversion uses
        if is_torch:
            zz = z.repeat(n_k, 1)
            dt = z.dtype if z.is_floating_point() else torch.float32
            ee = torch.as_tensor(e_rep, dtype=dt, device=z.device)
            ei = torch.as_tensor(e_inv, dtype=dt, device=z.device)
            cc = None if cond is None else torch.as_tensor(as_numpy(cond), dtype=dt, device=z.device).repeat(n_k, 1)
        else:
            zz, ee, ei = np.tile(as_numpy(z), (n_k, 1)), e_rep, e_inv
            cc = None if cond is None else np.tile(as_numpy(cond), (n_k, 1))
        with torch.no_grad():
            xh = dec(zz, ee, cc)
            xm = mev(xh, ei, cc)
        xh = as_numpy(xh)
        xs = xh if space == "decoder" else xm
        v = xs.shape[1]
        d = xs.reshape(n_k, b, v) - target[None]
        curves["mse"][:, k0:k0 + n_k] = (d**2).mean(2).T
        xm = xm.reshape(n_k, b, -1)
        curves["energy"][:, k0:k0 + n_k] = (np.abs(xm.sum(2) - tot_true[None]) / np.where(tot_true > 0, tot_true, 1)).T
        curves["sparsity"][:, k0:k0 + n_k] = np.abs((xm <= threshold_mev).mean(2) - sp_true[None]).T
    idx = {c: np.argmin(v, axis=1) for c, v in curves.items()}
    argmin = {c: grid[i] for c, i in idx.items()}
    at_edge = {c: np.where(i == 0, -1, np.where(i == grid.size - 1, 1, 0)).astype(np.int8) if grid.size > 2
               else np.zeros(b, np.int8) for c, i in idx.items()}
    bias = {c: _bias(et, a, n_bias_bins, at_edge[c] == 0) for c, a in argmin.items()}
    return EincSweep(e_grid=grid, e_true=et, curves=curves, argmin=argmin, bias=bias, space=space, at_edge=at_edge,
                     invert_with=invert_with)
