"""Fréchet and kernel physics distances (FPD, KPD) between two samples of feature vectors.

* **FPD** (Fréchet distance of Gaussian fits): ‖μ₁−μ₂‖² + Tr(Σ₁ + Σ₂ − 2 (Σ₁Σ₂)^{½}).
  Tr (Σ₁Σ₂)^{½} = Σ √λ_i with λ the eigenvalues of the *symmetric* PSD matrix Lᵀ Σ₂ L (Σ₁ = L Lᵀ,
  Cholesky; Σ₁^{½} Σ₂ Σ₁^{½} when Σ₁ is singular), negative round-off eigenvalues clipped to 0:
  numerically stable and never complex. The error is the standard deviation over bootstrap resamples.
* **KPD**: unbiased estimator of the squared maximum mean discrepancy with the cubic polynomial kernel
  k(x, y) = (xᵀy/d + 1)³, computed on ``n_batches`` random batches of ``batch_size`` events per sample
  (without replacement); value = median over batches, error = half the inter-quartile range. Its
  expectation is exactly 0 for two samples of one distribution (it can be slightly negative).

By default both samples are standardised with the *reference* mean and standard deviation per feature,
so features in MeV and in mm weigh alike.

These are **calolib's own variants** (a calolib extra): the official CaloChallenge numbers use jetnet 0.2.5's
definitions — features divided by max |reference|, FPD extrapolated to infinite N, a degree-4 kernel,
errors as half the 16–84 % range, on the official feature vector — which are in
:mod:`calolib.metrics.official_fpd`.  Values of the two are not comparable.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from calolib.errors import CalolibError
from calolib.metrics._arrays import as_numpy

__all__ = ["MetricValue", "frechet_distance", "gaussian_frechet_distance", "fpd", "mmd2_poly", "kpd", "standardise"]


def __dir__():
    return __all__


@dataclass(frozen=True)
class MetricValue:
    """A metric with its uncertainty: ``value ± error`` (unpacks as a 2-tuple)."""

    value: float
    error: float

    def __iter__(self):
        return iter((self.value, self.error))


def _check_pair(x, y) -> tuple[np.ndarray, np.ndarray]:
    a, b = as_numpy(x), as_numpy(y)
    if a.ndim == 1:
        a = a[:, None]
    if b.ndim == 1:
        b = b[:, None]
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise CalolibError(f"feature matrices must be (N, F) with the same F, got {a.shape} and {b.shape}")
    if a.shape[0] < 2 or b.shape[0] < 2:
        raise CalolibError("need at least 2 events in each sample")
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise CalolibError("feature matrices contain NaN or inf")
    return a, b


def standardise(x, ref) -> tuple[np.ndarray, np.ndarray]:
    """Scale both (N, F) matrices by the reference's per-feature mean and std (constant features: std 1).

    Example:
        >>> a, r = standardise([[1.0], [3.0]], [[0.0], [2.0]])
        >>> a.ravel().tolist(), r.ravel().tolist()
        ([0.0, 2.0], [-1.0, 1.0])
    """
    a, b = _check_pair(x, ref)
    mu, sd = b.mean(0), b.std(0)
    sd = np.where(sd > 0, sd, 1.0)
    return (a - mu) / sd, (b - mu) / sd


def _sqrt_psd(m: np.ndarray) -> np.ndarray:
    w, v = np.linalg.eigh(0.5 * (m + m.T))
    return (v * np.sqrt(np.clip(w, 0, None))) @ v.T


def gaussian_frechet_distance(mu1, cov1, mu2, cov2) -> float:
    """Fréchet (2-Wasserstein²) distance between N(μ₁, Σ₁) and N(μ₂, Σ₂).

    Example:
        >>> float(round(gaussian_frechet_distance([0, 0], np.eye(2), [3, 4], 4 * np.eye(2)), 6))  # 25 + 2·(2−1)²
        27.0
    """
    mu1, mu2 = as_numpy(mu1).ravel(), as_numpy(mu2).ravel()
    c1, c2 = np.atleast_2d(as_numpy(cov1)), np.atleast_2d(as_numpy(cov2))
    try:  # Σ₁ = L Lᵀ: Σ₁Σ₂ is similar to the symmetric PSD Lᵀ Σ₂ L (one Cholesky + one eigvalsh)
        low = np.linalg.cholesky(c1)
        prod = low.T @ c2 @ low
    except np.linalg.LinAlgError:  # singular Σ₁ (constant features): symmetric square root instead
        s1 = _sqrt_psd(c1)
        prod = s1 @ c2 @ s1
    tr_sqrt = float(np.sqrt(np.clip(np.linalg.eigvalsh(0.5 * (prod + prod.T)), 0, None)).sum())
    d = float(np.sum((mu1 - mu2) ** 2) + np.trace(c1) + np.trace(c2) - 2.0 * tr_sqrt)
    return max(d, 0.0)


def frechet_distance(x, y) -> float:
    """Fréchet distance between Gaussian fits of two (N, F) samples (no standardisation).

    Example:
        >>> rng = np.random.default_rng(0)
        >>> x = rng.normal(size=(20000, 2))
        >>> bool(abs(frechet_distance(x, x + [1.0, 0.0]) - 1.0) < 1e-9)
        True
    """
    a, b = _check_pair(x, y)
    return gaussian_frechet_distance(a.mean(0), np.cov(a, rowvar=False), b.mean(0), np.cov(b, rowvar=False))


def fpd(x_gen, x_ref, *, n_bootstrap: int = 20, standardise_features: bool = True, seed: int = 0) -> MetricValue:
    """Fréchet physics distance of generated vs reference feature matrices (N, F), with a bootstrap error.

    ``value`` is computed on the full samples; ``error`` is the standard deviation of the distance over
    ``n_bootstrap`` resamples (with replacement) of both samples. Features are standardised with the
    reference statistics first unless ``standardise_features=False``.

    Example:
        >>> rng = np.random.default_rng(1)
        >>> v, e = fpd(rng.normal(size=(4000, 3)), rng.normal(size=(4000, 3)), n_bootstrap=5)
        >>> v < 0.01, e >= 0
        (True, True)
    """
    a, b = standardise(x_gen, x_ref) if standardise_features else _check_pair(x_gen, x_ref)
    value = frechet_distance(a, b)
    if n_bootstrap <= 1:
        return MetricValue(value, float("nan"))
    rng = np.random.default_rng(seed)
    boot = [frechet_distance(a[rng.integers(0, len(a), len(a))], b[rng.integers(0, len(b), len(b))])
            for _ in range(n_bootstrap)]
    return MetricValue(value, float(np.std(boot, ddof=1)))


def mmd2_poly(x, y, *, degree: int = 3, coef0: float = 1.0) -> float:
    """Unbiased MMD² with kernel k(a, b) = (aᵀb/d + coef0)^degree between (m, F) and (n, F) samples.

    Example:
        >>> x = np.array([[0.0], [1.0]]); y = np.array([[2.0], [3.0]])
        >>> mmd2_poly(x, y)  # k_xx(0,1) = 1, k_yy(2,3) = 7³, k_xy mean = (1+1+27+64)/4
        297.5
    """
    a, b = _check_pair(x, y)
    d = a.shape[1]
    m, n = len(a), len(b)
    kxx = (a @ a.T / d + coef0) ** degree
    kyy = (b @ b.T / d + coef0) ** degree
    kxy = (a @ b.T / d + coef0) ** degree
    sxx = (kxx.sum() - np.trace(kxx)) / (m * (m - 1))
    syy = (kyy.sum() - np.trace(kyy)) / (n * (n - 1))
    return float(sxx + syy - 2.0 * kxy.mean())


def kpd(x_gen, x_ref, *, n_batches: int = 10, batch_size: int = 5000, standardise_features: bool = True,
        seed: int = 0) -> MetricValue:
    """Kernel physics distance: median and half-IQR of unbiased cubic-kernel MMD² over random batches.

    Each batch draws ``min(batch_size, N)`` events without replacement from each sample.

    Example:
        >>> rng = np.random.default_rng(2)
        >>> v, e = kpd(rng.normal(size=(2000, 3)), rng.normal(size=(2000, 3)), batch_size=500)
        >>> abs(v) < 5 * e + 1e-3
        True
    """
    a, b = standardise(x_gen, x_ref) if standardise_features else _check_pair(x_gen, x_ref)
    if n_batches < 1 or batch_size < 2:
        raise CalolibError(f"need n_batches >= 1 and batch_size >= 2, got {n_batches}, {batch_size}")
    rng = np.random.default_rng(seed)
    na, nb = min(batch_size, len(a)), min(batch_size, len(b))
    vals = np.array([mmd2_poly(a[rng.choice(len(a), na, replace=False)], b[rng.choice(len(b), nb, replace=False)])
                     for _ in range(n_batches)])
    q1, med, q3 = np.quantile(vals, [0.25, 0.5, 0.75])
    return MetricValue(float(med), float(0.5 * (q3 - q1)))
