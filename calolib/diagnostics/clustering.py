"""Latent-space clustering by incident energy (seed 003): is the RBM prior "E_inc degenerate"?

Each validation event is encoded ``n_repeats`` times with the (stochastic) encoder, the RBM energy of
every encoding is computed, and events are grouped by E_inc (quantiles of log E_inc).  Per group we give
the histogram (each event weighs 1, its encodings 1/``n_repeats`` each), mean and standard deviation of
the energies.  For a QVAE whose partition 0 is clamped to the E_inc code, the energy to use is that of the
*free* units (the code bits zeroed, ``model_callables(model, energy="free")``): with the code bits in, E(z)
carries the code's own bias and field, which depend on E_inc by construction.  The numbers:

* ``overlap_score``: mean pairwise separation power of the groups' energy histograms (0 = on top of each
  other, 1 = disjoint), against ``null_overlap_mean`` / ``null_overlap_q95``, the same score with the events'
  E_inc groups shuffled (what finite samples of one distribution give).  The prior is E_inc-degenerate in
  the seed-003 sense when the excess over the shuffled score is small (:attr:`LatentClustering.excess_overlap`);
* ``corr_log_e`` (and ``corr_log_e_full`` for a second energy, e.g. with the code bits): Pearson correlation
  of the per-event mean energy with log E_inc;
* ``distinct_codes``: distinct latent vectors among each event's encodings (1 = a deterministic encoder,
  whose per-event "distributions" are single points);
* ``classifier_accuracy``: a softmax-regression classifier (L-BFGS) predicting the E_inc group from the
  latent vector z itself (code bits left out), trained on the encodings of 70 % of the events and tested on
  the other events, against ``chance_accuracy`` (the majority-group rate of the test set).

The study takes plain callables, so it does not depend on model internals:
``encode(x (M, V), e_inc (M,)) -> z (M, N)`` 0/1 and ``rbm_energy(z (M, N)) -> (M,)``;
:func:`model_callables` builds them from a QVAE.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from calolib.errors import CalolibError
from calolib.metrics._arrays import as_numpy
from calolib.metrics.divergences import separation_power

__all__ = ["LatentClustering", "latent_clustering", "energy_groups", "group_classifier_accuracy", "model_callables",
           "free_unit_energy"]


def __dir__():
    return __all__


@dataclass(frozen=True)
class LatentClustering:
    """Result of :func:`latent_clustering` (energies are RBM energies, E_inc in MeV)."""

    energies: np.ndarray = field(repr=False)  # (B, R) RBM energy of every encoding
    e_inc: np.ndarray = field(repr=False)  # (B,) MeV
    group: np.ndarray = field(repr=False)  # (B,) E_inc group index
    group_edges: np.ndarray  # (G+1,) MeV
    event_mean: np.ndarray = field(repr=False)  # (B,)
    event_std: np.ndarray = field(repr=False)  # (B,)
    group_mean: np.ndarray  # (G,)
    group_std: np.ndarray  # (G,)
    bins: np.ndarray = field(repr=False)  # (n_bins+1,) common RBM-energy bin edges
    group_hist: np.ndarray = field(repr=False)  # (G, n_bins) events per bin (each event's encodings weigh 1/R)
    pairwise_separation: np.ndarray  # (G, G)
    overlap_score: float
    classifier_accuracy: float
    classifier_accuracy_err: float
    chance_accuracy: float
    gibbs_energies: np.ndarray | None = field(default=None, repr=False)
    gibbs_separation: float = float("nan")  # separation power of Gibbs vs all encoded energies
    null_overlap_mean: float = float("nan")  # overlap score with shuffled E_inc groups (mean)
    null_overlap_q95: float = float("nan")  # ... and its 95 % quantile
    distinct_codes: np.ndarray | None = field(default=None, repr=False)  # (B,) distinct z among the R encodings
    corr_log_e: float = float("nan")  # Pearson corr(event-mean energy, log E_inc)
    corr_log_e_full: float = float("nan")  # the same for ``full_energy`` (NaN when not given)
    full_energies: np.ndarray | None = field(default=None, repr=False)  # (B, R) from ``full_energy``

    @property
    def excess_overlap(self) -> float:
        """Overlap score above what shuffled E_inc groups give (0: indistinguishable from one distribution)."""
        return float(self.overlap_score - self.null_overlap_mean)

    @property
    def median_distinct_codes(self) -> float:
        """Median number of distinct latent vectors per event (NaN when not recorded)."""
        return float(np.median(self.distinct_codes)) if self.distinct_codes is not None else float("nan")

    def to_dict(self) -> dict:
        return {"group_edges": self.group_edges.tolist(), "group_mean": self.group_mean.tolist(),
                "group_std": self.group_std.tolist(), "overlap_score": self.overlap_score,
                "null_overlap_mean": self.null_overlap_mean, "null_overlap_q95": self.null_overlap_q95,
                "excess_overlap": self.excess_overlap, "corr_log_e": self.corr_log_e,
                "corr_log_e_full": self.corr_log_e_full, "median_distinct_codes": self.median_distinct_codes,
                "n_repeats": int(self.energies.shape[1]),
                "classifier_accuracy": self.classifier_accuracy,
                "classifier_accuracy_err": self.classifier_accuracy_err, "chance_accuracy": self.chance_accuracy,
                "gibbs_separation": self.gibbs_separation}


def energy_groups(e_inc, groups: int | np.ndarray = 5) -> tuple[np.ndarray, np.ndarray]:
    """Group index per event and the (G+1,) edges in MeV: ``groups`` quantile groups of log E_inc, or edges.

    Example:
        >>> g, edges = energy_groups([1e3, 2e3, 1e4, 1e5], 2)
        >>> g.tolist(), edges[[0, -1]].round().tolist()
        ([0, 0, 1, 1], [1000.0, 100000.0])
    """
    e = as_numpy(e_inc).ravel()
    if e.size == 0 or (e <= 0).any():
        raise CalolibError("e_inc must be positive (MeV)")
    if np.ndim(groups) == 0:
        g = int(groups)
        if g < 1:
            raise CalolibError(f"need at least one group, got {g}")
        edges = np.exp(np.quantile(np.log(e), np.linspace(0, 1, g + 1)))
    else:
        edges = np.sort(as_numpy(groups).ravel())
    idx = np.clip(np.searchsorted(edges, e, side="right") - 1, 0, len(edges) - 2)
    return idx, edges


def group_classifier_accuracy(z, labels, event_id, *, n_classes: int | None = None, l2: float = 1e-3,
                              max_iter: int = 200, seed: int = 0) -> tuple[float, float, float]:
    """Held-out accuracy of L2-regularised softmax regression predicting ``labels`` from ``z`` (M, N).

    The split is by ``event_id`` (70 % of events train, 30 % test) so repeated encodings of one event
    never sit on both sides. The convex loss (mean cross-entropy + ``l2``·‖W‖²/2) is minimised with
    L-BFGS. Returns ``(accuracy, binomial error over test events, chance accuracy)``, chance being
    the majority-class rate of the test set.

    Example:
        >>> y = np.repeat([0, 1], 50); z = np.c_[y, 1 - y] + 0.0
        >>> acc, err, chance = group_classifier_accuracy(z, y, np.arange(100))
        >>> acc, chance <= 0.7
        (1.0, True)
    """
    from scipy.optimize import minimize
    from scipy.special import log_softmax

    x, y, ev = as_numpy(z), as_numpy(labels, np.int64).ravel(), as_numpy(event_id, np.int64).ravel()
    if x.ndim != 2 or len(x) != len(y) or len(y) != len(ev):
        raise CalolibError("z must be (M, N) with one label and one event id per row")
    k = int(n_classes or y.max() + 1)
    rng = np.random.default_rng(seed)
    events = np.unique(ev)
    test_ev = rng.permutation(events)[: max(1, int(round(0.3 * len(events))))]
    test = np.isin(ev, test_ev)
    if test.all() or not test.any():
        raise CalolibError("need at least 2 events to split into train and test")
    mu, sd = x[~test].mean(0), x[~test].std(0)
    x = (x - mu) / np.where(sd > 0, sd, 1.0)
    xa = np.c_[x, np.ones(len(x))]  # bias column (not regularised)
    xtr, ytr = xa[~test], y[~test]
    onehot = np.eye(k)[ytr]
    n_f = xa.shape[1]
    reg = np.r_[np.ones(n_f - 1), 0.0][:, None]

    def loss(w):
        w = w.reshape(n_f, k)
        lp = log_softmax(xtr @ w, axis=1)
        val = -np.mean(np.sum(onehot * lp, axis=1)) + 0.5 * l2 * np.sum(reg * w**2)
        grad = xtr.T @ (np.exp(lp) - onehot) / len(xtr) + l2 * reg * w
        return val, grad.ravel()

    w = minimize(loss, np.zeros(n_f * k), jac=True, method="L-BFGS-B", options={"maxiter": max_iter}).x
    pred = (xa[test] @ w.reshape(n_f, k)).argmax(1)
    acc = float((pred == y[test]).mean())
    chance = float(np.bincount(y[test], minlength=k).max() / test.sum())
    return acc, float(np.sqrt(max(acc * (1 - acc), 1e-12) / len(test_ev))), chance


def _mean_pairwise_separation(hist: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean pairwise separation power of (G, n_bins) group histograms, and the (G, G) matrix (NaN: empty group)."""
    g = hist.shape[0]
    sep = np.zeros((g, g))
    for i in range(g):  # G² histogram comparisons (G is a handful)
        for j in range(i + 1, g):
            ok = hist[i].sum() > 0 and hist[j].sum() > 0
            sep[i, j] = sep[j, i] = separation_power(hist[i], hist[j]) if ok else np.nan
    off = sep[np.triu_indices(g, 1)]
    return (float(np.nanmean(off)) if off.size and np.isfinite(off).any() else float("nan")), sep


def _distinct_rows(z: np.ndarray, n_events: int, n_repeats: int) -> np.ndarray:
    """Distinct 0/1 rows among each event's ``n_repeats`` encodings (event-major rows), (B,) int."""
    packed = np.packbits(np.asarray(z) > 0.5, axis=1).reshape(n_events, n_repeats, -1)
    return np.array([len({r.tobytes() for r in ev}) for ev in packed])


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a, b)[0, 1]) if a.std() > 0 and b.std() > 0 else float("nan")


def free_unit_energy(rbm, z, n_clamped: int):
    """RBM energy of ``z`` (M, N) with its first ``n_clamped`` (code) bits set to 0: −a_f·z_f − ½ z_fᵀ W_ff z_f.

    Example:
        >>> import torch
        >>> from calolib.rbm import RBM
        >>> rbm = RBM((2, 2, 2, 2), weight_std=1.0, bias_std=1.0, seed=0)
        >>> z = torch.ones(1, 8); zf = z.clone(); zf[:, :2] = 0
        >>> bool(torch.isclose(free_unit_energy(rbm, z, 2), rbm.energy(zf)).all())
        True
    """
    import torch

    zz = torch.as_tensor(z).clone()
    zz[:, : int(n_clamped)] = 0
    return rbm.energy(zz)


def latent_clustering(encode, rbm_energy, x, e_inc, *, n_repeats: int = 20, groups: int | np.ndarray = 5,
                      gibbs_energies=None, n_bins: int | None = None, classifier: bool = True, seed: int = 0,
                      batch_size: int = 8192, classifier_columns: slice | None = None, full_energy=None,
                      n_permutations: int = 200) -> LatentClustering:
    """Encode each event ``n_repeats`` times, histogram the RBM energies per E_inc group, score the overlap.

    Args:
        encode: ``(x (M, V), e_inc (M,)) -> z (M, N)`` stochastic 0/1 encodings (torch or numpy).
        rbm_energy: ``z (M, N) -> (M,)`` RBM energies (for a conditioned QVAE: the free units' energy).
        x: (B, V) preprocessed events; e_inc: (B,) MeV.
        groups: number of quantile groups of log E_inc, or group edges in MeV.
        gibbs_energies: optional energies (same function) of prior (Gibbs) samples, overlaid and compared.
        n_bins: energy bins of the histograms (default: ≈ √(events per group), 5..50).
        seed: seeds torch's RNG for the encoder noise (restored afterwards), the classifier split and the
            shuffled-group null.
        classifier_columns: latent columns the E_inc-group classifier may use. For a QVAE whose RBM
            partition 0 is clamped to the E_inc code those bits would give the answer away, so the
            default (None) leaves out the first ``encode.n_clamped`` columns when the callable carries
            that attribute (as :func:`model_callables`' encoder does), else uses all columns.
        full_energy: optional second energy ``z -> (M,)`` (e.g. with the code bits) whose correlation with
            log E_inc is reported beside the main one (``corr_log_e_full``).
        n_permutations: shuffles of the E_inc groups for the null overlap score (0: none).

    Example:
        >>> rng = np.random.default_rng(0)
        >>> e = np.geomspace(1e3, 1e6, 40)
        >>> enc = lambda x, e: (rng.random((len(e), 8)) < 0.5).astype(float)
        >>> res = latent_clustering(enc, lambda z: -z.sum(1), np.zeros((40, 3)), e, n_repeats=5, groups=2)
        >>> res.energies.shape, res.excess_overlap < 0.1, int(res.distinct_codes.min()) > 1
        ((40, 5), True, True)
    """
    import torch

    e = as_numpy(e_inc).ravel()
    b = len(e)
    if len(x) != b or b < 2:
        raise CalolibError(f"need >= 2 events with one E_inc each, got {len(x)} events and {b} energies")
    if n_repeats < 1:
        raise CalolibError(f"n_repeats must be >= 1, got {n_repeats}")
    group, edges = energy_groups(e, groups)
    n_groups = len(edges) - 1
    ev_all = np.repeat(np.arange(b), n_repeats)  # event id of each encoding, event-major order
    zs, es, fs = [], [], []
    is_torch = isinstance(x, torch.Tensor)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for i in range(0, len(ev_all), batch_size):
            idx = ev_all[i:i + batch_size]
            if is_torch:
                ti = torch.as_tensor(idx, device=x.device)
                xb, eb = x[ti], torch.as_tensor(e[idx], dtype=x.dtype, device=x.device)
            else:
                xb, eb = as_numpy(x)[idx], e[idx]
            with torch.no_grad():
                z = encode(xb, eb)
                en = rbm_energy(z)
                if full_energy is not None:
                    fs.append(as_numpy(full_energy(z)).ravel())
            zs.append(as_numpy(z, np.float32))
            es.append(as_numpy(en).ravel())
    z_all, energies = np.concatenate(zs), np.concatenate(es).reshape(b, n_repeats)
    full = np.concatenate(fs).reshape(b, n_repeats) if fs else None

    gibbs = None if gibbs_energies is None else as_numpy(gibbs_energies).ravel()
    pool = energies.ravel() if gibbs is None else np.concatenate([energies.ravel(), gibbs])
    lo, hi = float(pool.min()), float(pool.max())
    if hi <= lo:
        lo, hi = lo - 0.5, hi + 0.5
    if n_bins is None:
        n_bins = int(np.clip(round(np.sqrt(b / n_groups)), 5, 50))
    bins = np.linspace(lo, hi, int(n_bins) + 1)
    per_event = np.stack([np.histogram(row, bins)[0] for row in energies]).astype(float) / n_repeats  # (B, n_bins)
    onehot = np.eye(n_groups)[group]  # (B, G)
    hist = onehot.T @ per_event
    overlap, sep = _mean_pairwise_separation(hist)
    rng = np.random.default_rng(seed)
    null = [_mean_pairwise_separation(onehot[rng.permutation(b)].T @ per_event)[0] for _ in range(int(n_permutations))]
    null = np.asarray([v for v in null if np.isfinite(v)])
    gmean = np.array([energies[group == g].mean() if (group == g).any() else np.nan for g in range(n_groups)])
    gstd = np.array([energies[group == g].std() if (group == g).any() else np.nan for g in range(n_groups)])
    acc = err = chance = float("nan")
    if classifier and n_groups > 1:
        if classifier_columns is None and int(getattr(encode, "n_clamped", 0) or 0) > 0:
            classifier_columns = slice(int(encode.n_clamped), None)
        zc = z_all if classifier_columns is None else z_all[:, classifier_columns]
        acc, err, chance = group_classifier_accuracy(zc, group[ev_all], ev_all, n_classes=n_groups, seed=seed)
    gsep = float("nan")
    if gibbs is not None and gibbs.size:
        gsep = separation_power(np.histogram(gibbs, bins)[0], per_event.sum(0))
    log_e = np.log(e)
    return LatentClustering(energies=energies, e_inc=e, group=group, group_edges=edges,
                            event_mean=energies.mean(1), event_std=energies.std(1), group_mean=gmean, group_std=gstd,
                            bins=bins, group_hist=hist, pairwise_separation=sep, overlap_score=overlap,
                            classifier_accuracy=acc, classifier_accuracy_err=err, chance_accuracy=chance,
                            gibbs_energies=gibbs, gibbs_separation=gsep,
                            null_overlap_mean=float(null.mean()) if null.size else float("nan"),
                            null_overlap_q95=float(np.quantile(null, 0.95)) if null.size else float("nan"),
                            distinct_codes=_distinct_rows(z_all, b, n_repeats),
                            corr_log_e=_corr(energies.mean(1), log_e),
                            corr_log_e_full=_corr(full.mean(1), log_e) if full is not None else float("nan"),
                            full_energies=full)


def model_callables(model, *, energy: str = "full"):
    """``(encode, rbm_energy, decode)`` callables of a QVAE for the latent studies.

    ``encode(x, e) -> model.encode(x, e).z`` (hard 0/1; ``encode.n_clamped`` = number of leading bits
    clamped to the E_inc code, read by :func:`latent_clustering`), ``rbm_energy(z) -> model.rbm.energy(z)``
    (``energy="free"``: the free units' energy, code bits zeroed — :func:`free_unit_energy`),
    ``decode(z, e, layer_e=None) -> model.reconstruct(model.decode(z, e, layer_e=layer_e))`` (preprocessed space;
    ``layer_e`` (MeV) conditions the factorised model's decoder). Inputs are moved to the model's device;
    energies ``e`` are MeV; ``x`` is the model's input (:meth:`calolib.models.QVAE.prepare`); gradients are off.

    Example:
        >>> class M:  # any object with the QVAE methods works
        ...     pass
        >>> len(model_callables(M()))
        3
    """
    import torch

    if energy not in ("full", "free"):
        raise CalolibError(f"energy must be 'full' or 'free', got {energy!r}")

    def _dev():
        try:
            return next(model.parameters()).device
        except (AttributeError, StopIteration):
            return torch.device("cpu")

    def _t(a):
        return torch.as_tensor(a, dtype=torch.float32, device=_dev())

    cfg = getattr(model, "config", None)
    n_clamped = int(getattr(cfg, "n_clamped", 0) or 0)

    @torch.no_grad()
    def encode(x, e):
        return model.encode(_t(x), _t(e)).z

    @torch.no_grad()
    def rbm_energy(z):
        if energy == "free":
            return free_unit_energy(model.rbm, _t(z), n_clamped)
        return model.rbm.energy(_t(z))

    @torch.no_grad()
    def decode(z, e, layer_e=None):
        if layer_e is None:
            return model.reconstruct(model.decode(_t(z), _t(e)))
        return model.reconstruct(model.decode(_t(z), _t(e), layer_e=_t(layer_e)))

    encode.n_clamped = n_clamped
    return encode, rbm_energy, decode
