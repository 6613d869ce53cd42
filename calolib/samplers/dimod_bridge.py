"""The adapter between the RBM and dimod annealers: clamping, spin form, range scaling, decoding.

* **Problem.** ``rbm.to_bqm()`` is a BINARY BQM on labels 0..N−1 whose energies equal ``rbm.energy``.
* **Clamping partition 0** (one problem per distinct conditioning vector c):
  ``"fix"`` removes the clamped variables with ``bqm.fix_variables`` (their couplings fold into the
  linear biases of their neighbours, so the annealer samples exactly p(z_free | z_0 = c));
  ``"bias"`` keeps them and adds a linear bias that makes c win by at least ``strength`` energy units
  against every state of the neighbours (the way a QPU clamps with h-biases); the annealer can still
  flip such a unit, which is counted (``clamp_violation_rate``) and overwritten by c.
* **Spin form.** Annealers are Ising machines: s = 2z − 1.  ``change_vartype`` keeps the offset, so
  spin energies equal binary ones.
* **Ranges.** A QPU accepts h ∈ h_range, J ∈ j_range.  :func:`autoscale_factor` gives the divisor
  s = max over terms of bias/bound (the sign-matching bound), as DWaveSampler's ``auto_scale`` does; the
  annealer then sees H/s, so a device sampling ∝ exp(−β_dev H/s) samples the RBM at β = β_dev/s.

Example:
    >>> import dimod
    >>> bqm = dimod.BinaryQuadraticModel({0: 1.0}, {(0, 1): -3.0}, 0.0, "SPIN")
    >>> autoscale_factor(bqm, (-4.0, 4.0), (-1.0, 1.0))
    3.0
"""
from __future__ import annotations

import numpy as np
import torch

from calolib.errors import SamplerError

__all__ = ["clamp_bqm", "autoscale_factor", "group_conditioning", "decode_sampleset", "seeds_for"]


def __dir__():
    return __all__


def group_conditioning(cond: torch.Tensor | None, n_samples: int) -> list[tuple[np.ndarray | None, np.ndarray]]:
    """Rows grouped by distinct conditioning vector: ``[(c (n0,) int8 or None, row indices)]``.

    Example:
        >>> g = group_conditioning(torch.tensor([[1., 0], [0, 1], [1, 0]]), 3)
        >>> [(c.tolist(), rows.tolist()) for c, rows in g]
        [([0, 1], [1]), ([1, 0], [0, 2])]
    """
    if cond is None:
        return [(None, np.arange(n_samples))]
    c = cond.detach().cpu().numpy().astype(np.int8)
    uniq, inverse = np.unique(c, axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    order = np.argsort(inverse, kind="stable")
    bounds = np.cumsum(np.bincount(inverse, minlength=len(uniq)))[:-1]
    return [(u, rows) for u, rows in zip(uniq, np.split(order, bounds))]


def clamp_bqm(bqm, units: np.ndarray, values: np.ndarray, *, mode: str = "fix", strength: float = 4.0):
    """A copy of the BINARY ``bqm`` with ``units`` clamped to 0/1 ``values`` (see the module docstring).

    Example:
        >>> import dimod
        >>> bqm = dimod.BinaryQuadraticModel({0: -1.0, 1: 0.5}, {(0, 1): -2.0}, 0.0, "BINARY")
        >>> float(clamp_bqm(bqm, np.array([0]), np.array([1])).linear[1])   # 0.5 - 2.0: folded in
        -1.5
        >>> float(clamp_bqm(bqm, np.array([0]), np.array([0]), mode="bias", strength=1.0).linear[0])  # 1 - (-2)
        3.0
    """
    import dimod  # lazy

    if bqm.vartype is not dimod.BINARY:
        raise SamplerError("clamp_bqm expects a BINARY bqm (rbm.to_bqm())")
    out = bqm.copy()
    if len(units) == 0:
        return out
    if mode == "fix":
        if bqm.variables == range(bqm.num_variables):  # rbm.to_bqm(): vectorised, ~100x faster than fix_variables
            return _fix_numpy(bqm, np.asarray(units, dtype=np.int64), np.asarray(values, dtype=np.int8))
        out.fix_variables({(u.item() if isinstance(u, np.generic) else u): int(v) for u, v in zip(units, values)})
        return out
    if mode != "bias":
        raise SamplerError(f"unknown clamp mode {mode!r}; use 'fix' or 'bias'")
    if not strength > 0:
        raise SamplerError(f"clamp_strength must be > 0 energy units, got {strength}")
    for u, v in zip(units, values):
        u = int(u)
        q = np.fromiter(out.adj[u].values(), dtype=np.float64, count=len(out.adj[u]))
        # flipping z_u 0 -> 1 costs lin + sum_j Q_uj z_j, which lies in lin + [sum Q<0, sum Q>0]
        if int(v) == 1:
            out.set_linear(u, -strength - float(np.clip(q, 0, None).sum()))
        else:
            out.set_linear(u, strength - float(np.clip(q, None, 0).sum()))
    return out


def _fix_numpy(bqm, units: np.ndarray, values: np.ndarray):
    """``bqm.fix_variables`` for a BINARY bqm labelled 0..N-1, on numpy vectors: the free variables keep their
    labels, a coupling to a unit clamped to 1 folds into the free side's bias, and the clamped terms go to the
    offset (so energies of the free part equal the full energies at z_units = values)."""
    import dimod  # lazy

    n = bqm.num_variables
    lin, (r, c, q), offset = bqm.to_numpy_vectors(variable_order=range(n))
    r, c = r.astype(np.int64), c.astype(np.int64)
    val = np.full(n, -1, dtype=np.int8)
    val[units] = values
    free_r, free_c = val[r] < 0, val[c] < 0
    new_lin = lin.astype(np.float64)
    on_r, on_c = free_r & (val[c] == 1), free_c & (val[r] == 1)
    np.add.at(new_lin, r[on_r], q[on_r])
    np.add.at(new_lin, c[on_c], q[on_c])
    both_on = (val[r] == 1) & (val[c] == 1)
    offset = float(offset) + float(lin[units] @ values.astype(np.float64)) + float(q[both_on].sum())
    free = np.flatnonzero(val < 0)
    index = np.full(n, -1, dtype=np.int64)
    index[free] = np.arange(free.size)
    keep = free_r & free_c
    return dimod.BinaryQuadraticModel.from_numpy_vectors(new_lin[free], (index[r[keep]], index[c[keep]], q[keep]),
                                                         offset, dimod.BINARY, variable_order=free.tolist())


def autoscale_factor(bqm_spin, h_range, j_range) -> float:
    """Divisor s that maps the SPIN bqm's h and J into ``h_range`` and ``j_range`` (largest ratio; 1 if empty).

    Values inside the ranges give s < 1 (the problem is scaled *up* to use the full range).
    """
    h, (_, _, j), _ = bqm_spin.to_numpy_vectors()

    def ratio(x, lo, hi):
        if x.size == 0:
            return 0.0
        return float(max(np.max(np.where(x > 0, x / hi, 0.0)), np.max(np.where(x < 0, x / lo, 0.0))))

    s = max(ratio(np.asarray(h, float), *h_range), ratio(np.asarray(j, float), *j_range))
    return s if s > 0 else 1.0


def decode_sampleset(ss, label_to_unit: dict, n_reads: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Expand a dimod SampleSet to (n_reads, n_var) 0/1 int8 rows in a random order.

    Returns ``(z, units)`` with ``units[k]`` the RBM unit of column k.  ``num_occurrences`` (dimod's
    aggregation) is expanded; rows are shuffled so a prefix is not sorted by energy.
    """
    import dimod  # lazy

    rec = ss.record
    counts = np.asarray(rec.num_occurrences, dtype=np.int64)
    if int(counts.sum()) != n_reads:
        raise SamplerError(f"the annealer returned {int(counts.sum())} reads, {n_reads} were requested")
    x = np.asarray(rec.sample)
    if ss.vartype is dimod.SPIN:
        x = (x > 0).astype(np.int8)
    units = np.array([label_to_unit[v] for v in ss.variables], dtype=np.int64)
    z = np.repeat(x.astype(np.int8), counts, axis=0)
    return z[rng.permutation(n_reads)], units


def seeds_for(seed: int | None, n: int) -> list[int]:
    """``n`` independent 31-bit seeds from one seed (``None``: drawn from torch's global RNG).

    Example:
        >>> seeds_for(0, 2) == seeds_for(0, 2), len(set(seeds_for(0, 5)))
        (True, 5)
    """
    if seed is None:
        seed = int(torch.randint(0, 2**62, (1,)).item())
    return [int(s) & 0x7FFFFFFF for s in np.random.SeedSequence(int(seed)).generate_state(n, dtype=np.uint32)]
