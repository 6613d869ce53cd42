"""The CaloChallenge classifier test: can an MLP tell generated showers from reference showers?

A binary MLP (torch) is trained on balanced samples (label 1 = reference, 0 = generated) with a
train/validation/test split (default 60/20/20), Adam, binary cross-entropy and early stopping on the
validation loss (the best epoch's weights are kept). Reported on the held-out **test** split:

* ``auc``: ROC AUC (Mann–Whitney rank statistic, ties averaged) with the Hanley–McNeil error;
  0.5 means indistinguishable, 1 perfectly separable. AUC is invariant under monotone calibration.
* ``jsd``: calibration is Platt scaling fitted on the validation split (a 1-D logistic fit of the logit);
  for balanced classes the calibrated test BCE estimates ln 2 − JSD(p_gen, p_ref), so
  ``jsd = max(ln 2 − BCE_test, 0)`` is a lower-bound estimate of the Jensen–Shannon divergence (nats).

Inputs: :func:`low_level_inputs` (voxels as log10(v/E_inc + 1e-7) plus log10 E_inc) or
:func:`high_level_inputs` (the high-level feature matrix). ``ClassifierConfig.small()`` runs in seconds
on a CPU; ``ClassifierConfig.full()`` is the challenge-size network for a GPU (``device="cuda"``).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from scipy.optimize import minimize
from scipy.stats import rankdata

from calolib.device import resolve_device
from calolib.errors import CalolibError
from calolib.metrics._arrays import as_numpy, showers_arrays

__all__ = ["ClassifierConfig", "ClassifierResult", "classifier_auc", "roc_auc", "low_level_inputs",
           "high_level_inputs"]


def __dir__():
    return __all__


@dataclass(frozen=True)
class ClassifierConfig:
    """MLP and training settings (defaults: a small CPU-friendly network)."""

    hidden: tuple[int, ...] = (64, 64)  # hidden layer widths
    epochs: int = 30  # maximum epochs
    batch_size: int = 256
    lr: float = 1e-3  # Adam learning rate
    weight_decay: float = 0.0
    dropout: float = 0.0
    patience: int = 5  # epochs without validation improvement before stopping
    split: tuple[float, float, float] = (0.6, 0.2, 0.2)  # train, validation, test fractions
    max_events: int | None = None  # per class; None uses all (balanced to the smaller sample)

    @classmethod
    def small(cls) -> "ClassifierConfig":
        """Seconds on a CPU: 2×64 hidden units, at most 30 epochs."""
        return cls()

    @classmethod
    def full(cls) -> "ClassifierConfig":
        """CaloChallenge size: 3×512 hidden units, 50 epochs, lr 2e-4, batches of 1000 (use a GPU)."""
        return cls(hidden=(512, 512, 512), epochs=50, batch_size=1000, lr=2e-4, patience=10, dropout=0.2)

    def __post_init__(self):
        if len(self.split) != 3 or min(self.split) <= 0 or not np.isclose(sum(self.split), 1.0):
            raise CalolibError(f"split must be three positive fractions summing to 1, got {self.split}")
        if self.epochs < 1 or self.batch_size < 1 or self.patience < 1:
            raise CalolibError("epochs, batch_size and patience must be >= 1")


@dataclass(frozen=True)
class ClassifierResult:
    """Test-split outcome of the classifier test (see module docstring)."""

    auc: float
    auc_err: float
    jsd: float  # nats, from the Platt-calibrated test BCE
    bce_test: float  # calibrated binary cross-entropy on the test split (nats)
    n_train: int
    n_val: int
    n_test: int
    best_epoch: int
    epochs_run: int
    history: tuple[tuple[float, float], ...]  # (train loss, validation loss) per epoch

    def to_dict(self) -> dict:
        d = {k: getattr(self, k) for k in ("auc", "auc_err", "jsd", "bce_test", "n_train", "n_val", "n_test",
                                            "best_epoch", "epochs_run")}
        return d


def roc_auc(scores, labels) -> float:
    """ROC AUC of ``scores`` for binary ``labels`` (1 = positive), with ties averaged.

    Example:
        >>> roc_auc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1])
        0.75
    """
    s, y = as_numpy(scores).ravel(), as_numpy(labels).ravel()
    n1, n0 = int((y == 1).sum()), int((y == 0).sum())
    if n1 == 0 or n0 == 0:
        raise CalolibError("AUC needs both classes among the labels")
    r = rankdata(s)
    return float((r[y == 1].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def _hanley_mcneil(auc: float, n1: int, n0: int) -> float:
    q1, q2 = auc / (2 - auc), 2 * auc**2 / (1 + auc)
    var = (auc * (1 - auc) + (n1 - 1) * (q1 - auc**2) + (n0 - 1) * (q2 - auc**2)) / (n1 * n0)
    return float(np.sqrt(max(var, 0.0)))


def low_level_inputs(showers, energies=None, *, geometry=None) -> np.ndarray:
    """Voxel inputs for the classifier, (N, V+1): log10(v/E_inc + 1e-7) per voxel, then log10(E_inc/MeV).

    Args:
        showers: :class:`~calolib.showers.Showers`, or an (N, V) array in MeV together with ``energies``.
        energies: (N,) incident energies in MeV (taken from ``showers`` when it is a Showers).

    Example:
        >>> low_level_inputs(np.zeros((2, 368)), np.array([1e3, 1e4])).shape
        (2, 369)
    """
    e, v, _ = showers_arrays(showers, geometry)
    if energies is not None:
        e = as_numpy(energies).ravel()
    if e is None or e.shape[0] != v.shape[0]:
        raise CalolibError("low_level_inputs needs one incident energy (MeV) per shower")
    if (e <= 0).any():
        raise CalolibError("incident energies must be positive (MeV)")
    u = np.log10(np.clip(v, 0, None) / e[:, None] + 1e-7)
    return np.concatenate([u, np.log10(e)[:, None]], axis=1).astype(np.float32)


def high_level_inputs(features) -> np.ndarray:
    """High-level feature matrix (N, F) for the classifier from a HighLevelFeatures (``.matrix()``) or array.

    Example:
        >>> high_level_inputs(np.ones((3, 2))).shape
        (3, 2)
    """
    if hasattr(features, "matrix"):
        x = features.matrix()[0]
    else:
        x = features
    return as_numpy(x, np.float32)


def _mlp(n_in: int, cfg: ClassifierConfig) -> torch.nn.Module:
    layers: list[torch.nn.Module] = []
    width = n_in
    for h in cfg.hidden:
        layers += [torch.nn.Linear(width, h), torch.nn.LeakyReLU(0.2)]
        if cfg.dropout > 0:
            layers.append(torch.nn.Dropout(cfg.dropout))
        width = h
    layers.append(torch.nn.Linear(width, 1))
    return torch.nn.Sequential(*layers)


def _platt(logit: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Fit p = σ(A·logit + B) by maximum likelihood (BCE) on the validation split."""

    def loss(ab):
        z = ab[0] * logit + ab[1]
        p = 1 / (1 + np.exp(-z))
        val = np.mean(np.logaddexp(0, z) - y * z)
        return val, np.array([np.mean((p - y) * logit), np.mean(p - y)])

    res = minimize(loss, np.array([1.0, 0.0]), jac=True, method="L-BFGS-B")
    return float(res.x[0]), float(res.x[1])


def classifier_auc(x_gen, x_ref, *, config: ClassifierConfig | None = None, seed: int = 0, device="auto",
                   progress: bool = False) -> ClassifierResult:
    """Train an MLP to separate generated (label 0) from reference (label 1) inputs; return test AUC.

    Args:
        x_gen, x_ref: (N, F) and (M, F) input matrices (see :func:`low_level_inputs`,
            :func:`high_level_inputs`); the larger sample is subsampled to balance the classes.
        config: network/training settings (:class:`ClassifierConfig`; ``.small()`` default, ``.full()`` GPU).
        seed: seeds the split, the initialisation and the batch order.
        device: ``"auto"``, ``"cpu"`` or ``"cuda"``.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> r = classifier_auc(rng.normal(size=(300, 2)), rng.normal(3, 1, size=(300, 2)),
        ...                    config=ClassifierConfig(epochs=5))
        >>> r.auc > 0.95
        True
    """
    cfg = config or ClassifierConfig()
    a, b = as_numpy(x_gen, np.float32), as_numpy(x_ref, np.float32)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise CalolibError(f"classifier inputs must be (N, F) with the same F, got {a.shape} and {b.shape}")
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise CalolibError("classifier inputs contain NaN or inf")
    rng = np.random.default_rng(seed)
    n = min(len(a), len(b), cfg.max_events or len(a))
    if n < 20:
        raise CalolibError(f"classifier test needs at least 20 events per class, got {n}")
    a, b = a[rng.permutation(len(a))[:n]], b[rng.permutation(len(b))[:n]]
    x = np.concatenate([a, b])
    y = np.concatenate([np.zeros(n, np.float32), np.ones(n, np.float32)])
    order = rng.permutation(2 * n)
    x, y = x[order], y[order]
    n_tr, n_va = int(cfg.split[0] * 2 * n), int(cfg.split[1] * 2 * n)
    parts = {"train": slice(0, n_tr), "val": slice(n_tr, n_tr + n_va), "test": slice(n_tr + n_va, None)}
    mu, sd = x[parts["train"]].mean(0), x[parts["train"]].std(0)
    x = (x - mu) / np.where(sd > 0, sd, 1.0)

    dev = resolve_device(device)
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    model = _mlp(x.shape[1], cfg).to(dev)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    lossf = torch.nn.BCEWithLogitsLoss()
    t = {k: (torch.as_tensor(x[s], device=dev), torch.as_tensor(y[s], device=dev)) for k, s in parts.items()}

    def logits(split: str) -> torch.Tensor:
        model.eval()
        with torch.no_grad():
            xs = t[split][0]
            return torch.cat([model(xs[i:i + 8192]).squeeze(-1) for i in range(0, len(xs), 8192)])

    best, best_state, best_epoch, bad, history = np.inf, None, 0, 0, []
    epochs = range(cfg.epochs)
    if progress:
        from tqdm.auto import tqdm

        epochs = tqdm(epochs, desc="classifier")
    for epoch in epochs:
        model.train()
        xs, ys = t["train"]
        perm = torch.randperm(len(xs), generator=gen).to(dev)
        tot = 0.0
        for i in range(0, len(xs), cfg.batch_size):
            idx = perm[i:i + cfg.batch_size]
            loss = lossf(model(xs[idx]).squeeze(-1), ys[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            tot += loss.detach().item() * len(idx)
        val = float(lossf(logits("val"), t["val"][1]))
        history.append((tot / len(xs), val))
        if val < best - 1e-6:
            best, best_epoch, bad = val, epoch + 1, 0
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        else:
            bad += 1
            if bad >= cfg.patience:
                break
    model.load_state_dict(best_state)
    lv, lt = logits("val").cpu().numpy().astype(np.float64), logits("test").cpu().numpy().astype(np.float64)
    yv, yt = y[parts["val"]].astype(np.float64), y[parts["test"]].astype(np.float64)
    A, B = _platt(lv, yv)
    z = A * lt + B
    bce = float(np.mean(np.logaddexp(0, z) - yt * z))
    auc = roc_auc(lt, yt)
    n1, n0 = int(yt.sum()), int((1 - yt).sum())
    return ClassifierResult(auc=auc, auc_err=_hanley_mcneil(auc, n1, n0), jsd=float(max(np.log(2) - bce, 0.0)),
                            bce_test=bce, n_train=n_tr, n_val=n_va, n_test=len(yt), best_epoch=best_epoch,
                            epochs_run=len(history), history=tuple(history))
