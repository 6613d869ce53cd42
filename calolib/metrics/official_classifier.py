"""The CaloChallenge classifier test with the official recipe (``evaluate.py``, modes cls-low / cls-high).

Recipe (defaults = the official ones; on 2 CPU cores use fewer ``epochs`` or a smaller ``n_hidden`` and say so):

* inputs: **cls-low** = ``[log10 E_inc, voxels / E_inc]`` after the official threshold
  (:func:`official_low_inputs`); **cls-high** = the official feature vector including log10 E_inc
  (:func:`calolib.metrics.official.feature_vector`); no input scaling;
* each class (0 = generated, 1 = reference, equal sizes) is shuffled and split 60/20/20 into
  train / test / val, then the classes are merged and shuffled;
* a DNN: Linear(d, 2048), LeakyReLU, then ``n_layer`` = 2 × (Linear(2048, 2048), LeakyReLU), Linear(2048, 1)
  — three hidden layers of 2048 — trained with BCE-with-logits, Adam (lr 2e-4), batches of 1000, for
  ``epochs`` = 50; after every epoch the accuracy on the **test** split is measured and the epoch with the
  best one kept (training stops early at accuracy 1);
* the kept network's sigmoid outputs are calibrated by isotonic regression fitted on the **test** split
  (outputs clipped to [1e-6, 1 − 1e-6], out-of-range inputs clipped; :class:`IsotonicCalibration`, a
  pool-adjacent-violators fit with scikit-learn's conventions), and on the **val** split it reports
  ``auc`` (ROC AUC of the calibrated outputs) and ``jsd`` = (ln 2 − BCE)/ln 2 of the calibrated outputs.

calolib adds: the uncalibrated AUC, bootstrap errors of AUC and JSD over the val split, the ROC curve,
and the settings used (``ClassifierResult.settings``).  Precision is float32 by default (the official
script runs in float64; ``dtype="float64"`` reproduces that).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
import torch

from calolib.device import resolve_device
from calolib.errors import CalolibError
from calolib.metrics._arrays import as_numpy
from calolib.metrics.classifier import roc_auc

__all__ = ["OfficialClassifierConfig", "OfficialClassifierResult", "IsotonicCalibration", "isotonic_fit",
           "official_low_inputs", "official_high_inputs", "official_classifier", "roc_curve"]


def __dir__():
    return __all__


@dataclass(frozen=True)
class OfficialClassifierConfig:
    """Classifier settings; defaults are the official ones (3 hidden layers of 2048, 50 epochs)."""

    n_layer: int = 2  # hidden-to-hidden layers after the input layer (official --cls_n_layer)
    n_hidden: int = 2048  # units per hidden layer
    dropout: float = 0.0
    batch_size: int = 1000
    epochs: int = 50  # official default; the epoch with the best test accuracy is kept
    lr: float = 2e-4
    split: tuple[float, float, float] = (0.6, 0.2, 0.2)  # train, test (model choice + calibration), val (result)
    max_events: int | None = None  # per class
    n_bootstrap: int = 50  # resamples of the val split for the AUC / JSD errors
    dtype: str = "float32"  # official: float64

    def __post_init__(self):
        if len(self.split) != 3 or min(self.split) <= 0 or not np.isclose(sum(self.split), 1.0):
            raise CalolibError(f"split must be three positive fractions summing to 1, got {self.split}")
        if self.epochs < 1 or self.batch_size < 1 or self.n_hidden < 1 or self.n_layer < 0:
            raise CalolibError("epochs, batch_size, n_hidden must be >= 1 and n_layer >= 0")
        if self.dtype not in ("float32", "float64"):
            raise CalolibError(f"dtype must be 'float32' or 'float64', got {self.dtype!r}")

    def describe(self) -> str:
        """One line naming the settings actually used, beside the official ones.

        Example:
            >>> OfficialClassifierConfig(epochs=5, n_hidden=256).describe()
            'DNN 3×256 LeakyReLU, ≤ 5 epochs (official: 3×2048, 50), Adam 0.0002, batch 1000, float32'
        """
        return (f"DNN {self.n_layer + 1}×{self.n_hidden} LeakyReLU, ≤ {self.epochs} epochs (official: 3×2048, 50), "
                f"Adam {self.lr:g}, batch {self.batch_size}, {self.dtype}")


@dataclass(frozen=True)
class OfficialClassifierResult:
    """Val-split outcome of the official classifier test."""

    auc: float  # of the isotonic-calibrated outputs (the official number)
    auc_err: float  # bootstrap std over the val split
    jsd: float  # (ln 2 − BCE_calibrated) / ln 2 (the official number, in [0, 1] up to noise)
    jsd_err: float
    auc_raw: float  # of the uncalibrated outputs
    best_epoch: int
    epochs_run: int
    n_train: int
    n_test: int
    n_val: int
    test_accuracy: tuple[float, ...]  # per epoch
    fpr: np.ndarray = field(repr=False, default_factory=lambda: np.zeros(0))  # ROC of the calibrated outputs
    tpr: np.ndarray = field(repr=False, default_factory=lambda: np.zeros(0))
    settings: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        d = {k: getattr(self, k) for k in ("auc", "auc_err", "jsd", "jsd_err", "auc_raw", "best_epoch", "epochs_run",
                                            "n_train", "n_test", "n_val")}
        return {**d, "test_accuracy": list(self.test_accuracy), "settings": self.settings,
                "roc": {"fpr": self.fpr.tolist(), "tpr": self.tpr.tolist()}}


def isotonic_fit(x, y, *, y_min: float | None = None, y_max: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Non-decreasing least-squares fit of ``y`` on ``x`` (pool adjacent violators), scikit-learn style.

    Equal ``x`` values are merged first (mean of their ``y``, weighted by their count), then the blocks are
    pooled, and the fitted values clipped to ``[y_min, y_max]``.  Returns the knots ``(x_k, f_k)``
    (sorted, distinct x) between which :class:`IsotonicCalibration` interpolates linearly.

    Example:
        >>> xs, fs = isotonic_fit([1, 2, 3, 4], [1.0, 3.0, 2.0, 4.0])
        >>> xs.tolist(), fs.tolist()
        ([1.0, 2.0, 3.0, 4.0], [1.0, 2.5, 2.5, 4.0])
    """
    x, y = as_numpy(x).ravel(), as_numpy(y).ravel()
    if x.shape != y.shape or x.size == 0:
        raise CalolibError(f"isotonic_fit needs x and y of one non-zero length, got {x.size} and {y.size}")
    order = np.argsort(x, kind="mergesort")
    xs, inv, cnt = np.unique(x[order], return_inverse=True, return_counts=True)
    ysum = np.bincount(inv, weights=y[order])
    # PAV on (mean, weight) blocks
    means, weights, sizes = [], [], []
    for m, w in zip(ysum / cnt, cnt.astype(np.float64)):
        means.append(m), weights.append(w), sizes.append(1)
        while len(means) > 1 and means[-2] > means[-1]:
            w2 = weights[-2] + weights[-1]
            means[-2] = (means[-2] * weights[-2] + means[-1] * weights[-1]) / w2
            weights[-2], sizes[-2] = w2, sizes[-2] + sizes[-1]
            means.pop(), weights.pop(), sizes.pop()
    f = np.repeat(means, sizes)
    if y_min is not None or y_max is not None:
        f = np.clip(f, -np.inf if y_min is None else y_min, np.inf if y_max is None else y_max)
    return xs.astype(np.float64), f.astype(np.float64)


@dataclass(frozen=True)
class IsotonicCalibration:
    """Isotonic calibration p ↦ f(p): linear interpolation between :func:`isotonic_fit` knots, clipped outside.

    Example:
        >>> cal = IsotonicCalibration.fit([0.1, 0.2, 0.3, 0.4], [0, 1, 0, 1], y_min=1e-6, y_max=1 - 1e-6)
        >>> cal.predict([0.0, 0.25, 0.9]).round(6).tolist()   # knots (0.1, ~0), (0.2, 0.5), (0.3, 0.5), (0.4, ~1)
        [1e-06, 0.5, 0.999999]
    """

    x: np.ndarray
    f: np.ndarray

    @classmethod
    def fit(cls, p, y, *, y_min: float | None = 1e-6, y_max: float | None = 1 - 1e-6) -> "IsotonicCalibration":
        return cls(*isotonic_fit(p, y, y_min=y_min, y_max=y_max))

    def predict(self, p) -> np.ndarray:
        return np.interp(as_numpy(p).ravel(), self.x, self.f)


def roc_curve(scores, labels, *, max_points: int = 400) -> tuple[np.ndarray, np.ndarray]:
    """ROC curve ``(fpr, tpr)`` of ``scores`` for binary ``labels`` (1 = positive), one point per distinct
    score threshold (thinned to about ``max_points``), from (0, 0) to (1, 1).

    Example:
        >>> fpr, tpr = roc_curve([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1])
        >>> fpr.tolist(), tpr.tolist()
        ([0.0, 0.0, 0.5, 0.5, 1.0], [0.0, 0.5, 0.5, 1.0, 1.0])
    """
    s, y = as_numpy(scores).ravel(), as_numpy(labels).ravel()
    order = np.argsort(-s, kind="mergesort")
    s, y = s[order], y[order]
    last = np.r_[np.flatnonzero(np.diff(s)), len(s) - 1]  # last index of each distinct score
    tps, fps = np.cumsum(y)[last], np.cumsum(1 - y)[last]
    tpr = np.r_[0.0, tps / max(tps[-1], 1)]
    fpr = np.r_[0.0, fps / max(fps[-1], 1)]
    if len(fpr) > max_points:
        keep = np.unique(np.r_[0, np.linspace(0, len(fpr) - 1, max_points).astype(int), len(fpr) - 1])
        fpr, tpr = fpr[keep], tpr[keep]
    return fpr, tpr


def official_low_inputs(showers) -> np.ndarray:
    """cls-low inputs ``(N, V+1)``: log10 E_inc, then voxel energies / E_inc after the official threshold.

    Example:
        >>> from calolib.showers import Showers
        >>> x = official_low_inputs(Showers(np.array([1e3]), np.full((1, 6480), 0.01), "ds2"))
        >>> x.shape, float(x[0, 0]), float(x[0, 1:].max())
        ((1, 6481), 3.0, 0.0)
    """
    from calolib.metrics.official import official_threshold

    e = np.asarray(showers.energies, np.float64)
    v = np.asarray(showers.showers, np.float64)
    v = np.where(v < official_threshold(showers.geometry), 0.0, v)
    return np.concatenate([np.log10(e)[:, None], v / e[:, None]], axis=1)


def official_high_inputs(showers_or_features) -> np.ndarray:
    """cls-high inputs: the official feature vector (:func:`calolib.metrics.official.feature_vector`)."""
    from calolib.metrics.official import feature_vector, official_features

    f = showers_or_features
    if not hasattr(f, "e_layer"):
        f = official_features(f)
    return feature_vector(f)[0]


def _dnn(n_in: int, cfg: OfficialClassifierConfig) -> torch.nn.Module:
    layers: list[torch.nn.Module] = [torch.nn.Linear(n_in, cfg.n_hidden), torch.nn.LeakyReLU(), torch.nn.Dropout(cfg.dropout)]
    for _ in range(cfg.n_layer):
        layers += [torch.nn.Linear(cfg.n_hidden, cfg.n_hidden), torch.nn.LeakyReLU(), torch.nn.Dropout(cfg.dropout)]
    layers.append(torch.nn.Linear(cfg.n_hidden, 1))
    return torch.nn.Sequential(*layers)


def _bce(p: np.ndarray, y: np.ndarray) -> float:
    lp, lq = np.maximum(np.log(p), -100), np.maximum(np.log1p(-p), -100)  # torch.nn.BCELoss clamps at -100
    return float(-np.mean(y * lp + (1 - y) * lq))


def official_classifier(x_gen, x_ref, *, config: OfficialClassifierConfig | None = None, seed: int = 0,
                        device="auto", progress: bool = False) -> OfficialClassifierResult:
    """Train the official DNN to separate generated (0) from reference (1) inputs; return the val-split result.

    Args:
        x_gen, x_ref: (N, F) inputs (:func:`official_low_inputs` or :func:`official_high_inputs`); the
            larger sample is subsampled to the size of the smaller.
        config: :class:`OfficialClassifierConfig` (official defaults; fewer epochs / units on a CPU).
        seed: seeds the shuffles, the initialisation and the batch order.
        device: ``"auto"``, ``"cpu"`` or ``"cuda"``.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> r = official_classifier(rng.normal(size=(400, 2)), rng.normal(3, 1, size=(400, 2)),
        ...                         config=OfficialClassifierConfig(n_hidden=16, epochs=20, batch_size=50))
        >>> r.auc > 0.95, r.jsd > 0.5, r.n_val
        (True, True, 160)
    """
    cfg = config or OfficialClassifierConfig()
    a, b = as_numpy(x_gen), as_numpy(x_ref)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise CalolibError(f"classifier inputs must be (N, F) with the same F, got {a.shape} and {b.shape}")
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise CalolibError("classifier inputs contain NaN or inf")
    rng = np.random.default_rng(seed)
    n = min(len(a), len(b), cfg.max_events or len(a))
    n_split = (n * np.asarray(cfg.split)).astype(int)
    if n_split.min() < 10:
        raise CalolibError(f"classifier test needs >= 10 events per class in each split, got {n} events per class")
    parts = {}
    for label, arr in ((0.0, a), (1.0, b)):
        arr = arr[rng.permutation(len(arr))[:n]]
        tr, te, va = np.split(arr, n_split.cumsum()[:-1])  # the remainder of the rounding goes to val
        for name, chunk in (("train", tr), ("test", te), ("val", va)):
            parts.setdefault(name, []).append((chunk, np.full(len(chunk), label)))
    dt = torch.float64 if cfg.dtype == "float64" else torch.float32
    dev = resolve_device(device)
    data = {}
    for name, chunks in parts.items():
        x = np.concatenate([c for c, _ in chunks])
        y = np.concatenate([l for _, l in chunks])
        order = rng.permutation(len(x))
        data[name] = (torch.as_tensor(x[order], dtype=dt, device=dev), torch.as_tensor(y[order], dtype=dt, device=dev))

    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    model = _dnn(a.shape[1], cfg).to(device=dev, dtype=dt)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    lossf = torch.nn.BCEWithLogitsLoss()

    def probs(name: str) -> np.ndarray:
        model.eval()
        with torch.no_grad():
            xs = data[name][0]
            out = torch.cat([model(xs[i:i + 8192]).reshape(-1) for i in range(0, len(xs), 8192)])
        return torch.sigmoid(out).cpu().numpy().astype(np.float64)

    best_acc, best_state, best_epoch, accs = -np.inf, None, 0, []
    epochs = range(cfg.epochs)
    if progress:
        from tqdm.auto import tqdm

        epochs = tqdm(epochs, desc="classifier")
    y_test = data["test"][1].cpu().numpy()
    for epoch in epochs:
        model.train()
        xs, ys = data["train"]
        perm = torch.randperm(len(xs), generator=gen).to(dev)
        for i in range(0, len(xs), cfg.batch_size):
            idx = perm[i:i + cfg.batch_size]
            loss = lossf(model(xs[idx]).reshape(-1), ys[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        acc = float(np.mean(np.round(probs("test")) == y_test))
        accs.append(acc)
        if acc > best_acc:
            best_acc, best_epoch = acc, epoch + 1
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        if acc == 1.0:
            break
    model.load_state_dict(best_state)
    cal = IsotonicCalibration.fit(probs("test"), y_test)
    p_val_raw = probs("val")
    y_val = data["val"][1].cpu().numpy().astype(np.float64)
    p_val = cal.predict(p_val_raw)
    auc, jsd = roc_auc(p_val, y_val), (np.log(2) - _bce(p_val, y_val)) / np.log(2)
    boot_auc, boot_jsd = [], []
    for _ in range(cfg.n_bootstrap):
        i = rng.integers(0, len(y_val), len(y_val))
        if 0 < y_val[i].sum() < len(i):
            boot_auc.append(roc_auc(p_val[i], y_val[i]))
            boot_jsd.append((np.log(2) - _bce(p_val[i], y_val[i])) / np.log(2))
    err = (lambda v: float(np.std(v, ddof=1)) if len(v) > 1 else float("nan"))
    fpr, tpr = roc_curve(p_val, y_val)
    return OfficialClassifierResult(auc=float(auc), auc_err=err(boot_auc), jsd=float(jsd), jsd_err=err(boot_jsd),
                                    auc_raw=roc_auc(p_val_raw, y_val), best_epoch=best_epoch, epochs_run=len(accs),
                                    n_train=len(data["train"][0]), n_test=len(y_test), n_val=len(y_val),
                                    test_accuracy=tuple(accs), fpr=fpr, tpr=tpr,
                                    settings={**asdict(cfg), "description": cfg.describe(), "device": str(dev)})
