"""Geometry bookkeeping and the spot-deposition step of the synthetic simulator.

A *ring* is one (active layer, radial bin) pair; all angular bins of a ring share the same expected number
of energy spots because the angular distribution is uniform.  :func:`deposit_spots` turns the expected
number of spots per ring into voxel energies: every spot carries a gamma-distributed visible energy and
falls in a uniformly random angular bin of its ring.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np

from calolib.geometry import get_geometry
from calolib.synthetic.materials import Detector, detector_for

__all__ = ["Layout", "layout", "deposit_spots"]

#: rings expecting at least this many spots per voxel draw one Poisson count per voxel (a speed trade-off only)
DENSE_PER_VOXEL = 0.5


@dataclass(frozen=True, eq=False)
class Layout:
    """Index arrays of a geometry for the simulator (L = active layers, rings = (layer, radial bin) pairs)."""

    det: Detector
    layers: np.ndarray  # (L,) active layer indices
    start: np.ndarray  # (L,) depth of the layer front, X0
    end: np.ndarray  # (L,) depth of the layer back, X0
    weight: np.ndarray  # (L,) relative sampling fraction
    depth_points: np.ndarray  # (P,) sorted unique layer boundaries, X0
    i_start: np.ndarray  # (L,) index of start in depth_points
    i_end: np.ndarray  # (L,) index of end in depth_points
    edge_r: np.ndarray  # (E,) radial bin edges of every active layer, mm
    edge_layer: np.ndarray  # (E,) position in `layers` of each edge
    ring_lo: np.ndarray  # (R,) index into edge_r of each ring's inner edge
    ring_hi: np.ndarray  # (R,) index into edge_r of each ring's outer edge
    ring_layer: np.ndarray  # (R,) position in `layers`
    ring_first: np.ndarray  # (R,) voxel index of the ring's angular bin 0
    ring_stride: np.ndarray  # (R,) voxel stride between angular bins (= n_r of the layer)
    ring_nalpha: np.ndarray  # (R,) angular bins of the ring
    inner_first: np.ndarray  # (L,) voxel index of the innermost ring's angular bin 0
    inner_stride: np.ndarray  # (L,)
    n_alpha: np.ndarray  # (L,)
    voxel_layer_pos: np.ndarray  # (V,) position in `layers` of every voxel
    n_voxels: int


@cache
def layout(name: str) -> Layout:
    """The cached :class:`Layout` of a geometry name.

    Example:
        >>> lay = layout("ds2")
        >>> lay.ring_first.shape, int(lay.ring_nalpha[0]), lay.n_voxels
        ((405,), 16, 6480)
    """
    g = get_geometry(name)
    det = detector_for(g)
    layers = np.array(g.active_layers)
    start, end = det.depth_start[layers], det.depth_end[layers]
    points, inverse = np.unique(np.concatenate([start, end]), return_inverse=True)
    edge_r, edge_layer, lo, hi, r_layer, r_first, r_stride, r_nalpha = ([] for _ in range(8))
    slices = g.layer_slices
    for pos, li in enumerate(layers):
        lay = g.layers[li]
        base = len(edge_r)
        edge_r += list(lay.r_edges)
        edge_layer += [pos] * (lay.n_r + 1)
        lo += list(base + np.arange(lay.n_r))
        hi += list(base + 1 + np.arange(lay.n_r))
        r_layer += [pos] * lay.n_r
        r_first += list(slices[li].start + np.arange(lay.n_r))
        r_stride += [lay.n_r] * lay.n_r
        r_nalpha += [lay.n_alpha] * lay.n_r
    arr = np.asarray
    return Layout(det, layers, start, end, det.weight[layers], points, inverse[: len(layers)], inverse[len(layers):],
                  arr(edge_r, float), arr(edge_layer), arr(lo), arr(hi), arr(r_layer), arr(r_first), arr(r_stride),
                  arr(r_nalpha), arr([slices[li].start for li in layers]), arr([g.layers[li].n_r for li in layers]),
                  arr([g.layers[li].n_alpha for li in layers]), np.searchsorted(layers, g.voxel_layer), g.n_voxels)


def _modulated_bins(u: np.ndarray, amp: np.ndarray, phase: np.ndarray, n_alpha: np.ndarray) -> np.ndarray:
    """Angular bin (of ``n_alpha`` equal bins from -pi) of the angle with CDF ``F(a) = (a + pi + amp (sin(a - phase)
    - sin(phase))) / (2 pi)`` at ``u`` (density (1 + amp cos(a - phase)) / (2 pi), |amp| < 1): a first-order guess,
    then exact steps against F at the bin edges (F increases, so this is the inverse-CDF bin; float32 arithmetic)."""
    f32 = np.float32
    two_pi, pi = f32(2 * np.pi), f32(np.pi)
    target = two_pi * u.astype(f32)
    amp, phase = amp.astype(f32), phase.astype(f32)
    s_ph = np.sin(phase)
    a0 = target - pi
    guess = a0 - amp * (np.sin(a0 - phase) - s_ph)
    width = (two_pi / n_alpha).astype(f32)
    top = n_alpha - 1
    b = np.minimum(np.maximum(((guess + pi) / width).astype(np.int64), 0), top)
    for step in (-1, 1):  # step down while F(lower edge) > u, then up while F(upper edge) <= u
        up = int(step > 0)
        e = (b + up).astype(f32) * width - pi
        f = e + pi + amp * (np.sin(e - phase) - s_ph)
        idx = np.flatnonzero(((f > target) & (b > 0)) if step < 0 else ((f <= target) & (b < top)))
        while idx.size:
            b[idx] += step
            bi = b[idx]
            e = (bi + up).astype(f32) * width[idx] - pi
            f = e + pi + amp[idx] * (np.sin(e - phase[idx]) - s_ph[idx])
            keep = ((f > target[idx]) & (bi > 0)) if step < 0 else ((f <= target[idx]) & (bi < top[idx]))
            idx = idx[keep]
    return b


def deposit_spots(lam_ring: np.ndarray, lay: Layout, e_spot: float, kappa: float, rngs: dict,
                  big: float = 30.0, mod: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """Voxel energies (m, V) float32 MeV from ``lam_ring`` (m, R) expected spots per ring.

    Each spot carries ``e_spot * Gamma(kappa) / kappa`` MeV (mean ``e_spot``) into a random angular bin of its
    ring: uniform, or with density ``1 + amplitude cos(angle - phase)`` when ``mod = (amplitude, phase)`` (each
    (m, R); a displaced shower axis).  Sparse rings (under ``DENSE_PER_VOXEL`` expected spots per voxel) draw the
    ring's Poisson count and place each spot; dense rings draw a Poisson count per voxel, equivalent in law, with
    fewer draws; voxels expecting ``big`` spots or more take one gamma draw with the compound sum's mean and
    variance.  Every random stream (keys ``poisson``, ``angle``, ``gamma``, ``poisson_dense``, ``gamma_dense``,
    ``gamma_big``) is consumed in event order, so the result for the first k events does not depend on m.

    Example:
        >>> lay = layout("ds2")
        >>> rngs = {k: np.random.default_rng(i) for i, k in enumerate(
        ...     ["poisson", "angle", "gamma", "poisson_dense", "gamma_dense", "gamma_big"])}
        >>> lam = np.zeros((2, 405)); lam[:, 0] = [4.0, 400.0]  # layer 0, central ring
        >>> out = deposit_spots(lam, lay, 0.1, 1.0, rngs)
        >>> grid = out.reshape(2, 45, 16, 9)  # (event, layer, angle, radius)
        >>> out.shape, bool(np.isclose(grid[:, 0, :, 0].sum(), out.sum())), bool(abs(out[1].sum() / 40.0 - 1) < 0.2)
        ((2, 6480), True, True)
    """
    m, n_rings = lam_ring.shape
    n_vox = lay.n_voxels
    out = np.zeros(m * n_vox, dtype=np.float32)
    dense = lam_ring >= DENSE_PER_VOXEL * lay.ring_nalpha[None, :]
    # sparse rings: count per ring, then place every spot
    k = rngs["poisson"].poisson(np.where(dense, 0.0, lam_ring)).ravel()
    spot = np.repeat(np.arange(m * n_rings), k)
    ev, ri = np.divmod(spot, n_rings)
    u = rngs["angle"].random(spot.shape[0])
    if mod is None:
        ang = (u * lay.ring_nalpha[ri]).astype(np.int64)
    else:
        ang = _modulated_bins(u, mod[0].ravel()[spot], mod[1].ravel()[spot], lay.ring_nalpha[ri])
    vox = ev * n_vox + lay.ring_first[ri] + ang * lay.ring_stride[ri]
    e = rngs["gamma"].standard_gamma(kappa, spot.shape[0]) * (e_spot / kappa)
    np.add.at(out, vox, e.astype(np.float32))
    # dense rings: one count per voxel
    d = np.flatnonzero(dense)
    if d.size:
        ev, ri = np.divmod(d, n_rings)
        n_a = lay.ring_nalpha[ri]
        rep = np.repeat(np.arange(d.size), n_a)
        ang = np.arange(rep.shape[0]) - np.repeat(np.cumsum(n_a) - n_a, n_a)
        vox = ev[rep] * n_vox + lay.ring_first[ri[rep]] + ang * lay.ring_stride[ri[rep]]
        lam = lam_ring.ravel()[d[rep]] / n_a[rep]
        if mod is not None:  # bin-averaged modulation: cos(angle - phase) times sin(h) / h, h = half bin width
            h = np.pi / n_a[rep]
            centre = -np.pi + (2 * ang + 1) * h
            lam = lam * (1 + mod[0].ravel()[d[rep]] * np.sin(h) / h * np.cos(centre - mod[1].ravel()[d[rep]]))
        is_big = lam >= big
        counts = rngs["poisson_dense"].poisson(np.where(is_big, 0.0, lam))
        e = rngs["gamma_dense"].standard_gamma(kappa * counts) * (e_spot / kappa)
        e[is_big] = rngs["gamma_big"].standard_gamma(lam[is_big] * (kappa / (kappa + 1))) * (e_spot * (1 + 1 / kappa))
        out[vox] += e.astype(np.float32)
    return out.reshape(m, n_vox)


def __dir__():
    return __all__
