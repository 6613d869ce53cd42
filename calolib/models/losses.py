"""The QVAE loss, term by term (each term is a scalar tensor, averaged over the batch).

* ``ae``: squared error between the energy head ``x_hat`` and the preprocessed input ``x``.  With a hits
  head it is taken on the *truly hit* voxels only (the empty ones are the hits head's job: at
  reconstruction they are overwritten by the empty value, so their energy prediction is irrelevant);
  without a hits head on all voxels.  Summed over voxels (``ae_reduction="sum"``, the Gaussian
  log-likelihood scale that balances the KL summed over latent bits) or averaged (``"mean"``).
* ``hits``: binary cross entropy of ``hit_logits`` against the true hits ``x > empty_value + tol``,
  summed/averaged over voxels like ``ae`` (0 without a hits head).
* ``ent``: ``-H(q(z|x))``, the negative entropy of the factorised Bernoulli posterior,
  ``H = sum_i [softplus(l_i) - l_i sigmoid(l_i)]`` over the encoder's (free) bits.
* ``pos``: mean RBM energy of the relaxed encoded samples ``zeta`` (partition 0 = the clamped E_inc code).
* ``neg``: mean RBM energy of negative-phase samples (persistent chains; detached, so its gradient
  reaches only the RBM parameters).

``KL(q || p) = -H(q) + <E(zeta)>_q + ln Z`` and ``grad ln Z = -<grad E>_p``, so ``ent + pos - neg`` is a
surrogate of the KL with the right gradients.  :func:`total_loss` = ``ae + hits + w (ent + pos - neg)``;
:func:`ahep` = ``ae + hits + ent + pos`` (the best-model criterion of seed 001).

Example:
    >>> import torch
    >>> round(float(bernoulli_entropy(torch.zeros(1, 3)).item()), 4)  # 3 fair coins: 3 ln 2
    2.0794
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["TERM_NAMES", "bernoulli_entropy", "reconstruction_loss", "hits_loss", "total_loss", "ahep", "kl_surrogate"]

#: The names of the loss terms, in logging order.
TERM_NAMES: tuple[str, ...] = ("ae", "hits", "ent", "pos", "neg")


def __dir__():
    return __all__


def bernoulli_entropy(logits: torch.Tensor) -> torch.Tensor:
    """Entropy (nats) of independent Bernoulli(sigmoid(l)) bits, summed over the last axis: ``(B, n) -> (B,)``.

    Example:
        >>> round(float(bernoulli_entropy(torch.tensor([[100.0, -100.0]]))), 6)
        0.0
    """
    logits = logits.float() if logits.dtype not in (torch.float32, torch.float64) else logits
    return (F.softplus(logits) - logits * torch.sigmoid(logits)).sum(dim=-1)


def _reduce(per_voxel: torch.Tensor, reduction: str) -> torch.Tensor:
    per_event = per_voxel.sum(dim=1) if reduction == "sum" else per_voxel.mean(dim=1)
    return per_event.mean()


def reconstruction_loss(x_hat: torch.Tensor, x: torch.Tensor, hits: torch.Tensor | None = None,
                        reduction: str = "sum") -> torch.Tensor:
    """Squared error ``(x_hat - x)^2`` over voxels (only where ``hits`` when given), mean over the batch.

    Example:
        >>> reconstruction_loss(torch.ones(2, 3), torch.zeros(2, 3), torch.tensor([[1, 0, 0], [1, 1, 0]])).item()
        1.5
    """
    sq = (x_hat.float() - x.float()) ** 2
    if hits is not None:
        sq = sq * hits.to(sq.dtype)
    return _reduce(sq, reduction)


def hits_loss(hit_logits: torch.Tensor, hits: torch.Tensor, reduction: str = "sum") -> torch.Tensor:
    """Binary cross entropy (with logits) of the hit prediction, ``(B, V)`` -> scalar.

    Example:
        >>> round(hits_loss(torch.zeros(1, 2), torch.tensor([[1.0, 0.0]])).item(), 4)  # 2 ln 2
        1.3863
    """
    bce = F.binary_cross_entropy_with_logits(hit_logits.float(), hits.float(), reduction="none")
    return _reduce(bce, reduction)


def kl_surrogate(terms: dict[str, torch.Tensor]) -> torch.Tensor:
    """``ent + pos - neg``: the KL up to ``ln Z``'s value (its gradient is exact).

    Example:
        >>> t = {k: torch.tensor(v) for k, v in dict(ae=1.0, hits=2.0, ent=-3.0, pos=4.0, neg=5.0).items()}
        >>> kl_surrogate(t).item()
        -4.0
    """
    return terms["ent"] + terms["pos"] - terms["neg"]


def total_loss(terms: dict[str, torch.Tensor], kl_weight: float = 1.0) -> torch.Tensor:
    """``ae + hits + kl_weight * (ent + pos - neg)`` (the caller anneals ``kl_weight``).

    Example:
        >>> t = {k: torch.tensor(v) for k, v in dict(ae=1.0, hits=2.0, ent=-3.0, pos=4.0, neg=5.0).items()}
        >>> total_loss(t, 0.5).item()
        1.0
    """
    return terms["ae"] + terms["hits"] + kl_weight * kl_surrogate(terms)


def ahep(terms: dict[str, torch.Tensor]) -> torch.Tensor:
    """``AE + Hits + Ent + Pos``, the validation criterion for the best model (seed 001).

    Example:
        >>> t = {k: torch.tensor(v) for k, v in dict(ae=1.0, hits=2.0, ent=-3.0, pos=4.0, neg=5.0).items()}
        >>> ahep(t).item()
        4.0
    """
    return terms["ae"] + terms["hits"] + terms["ent"] + terms["pos"]
