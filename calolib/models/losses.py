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
* ``esum`` (only when ``ModelConfig.esum_weight > 0``): the energy-sum term of :func:`energy_sum_loss`.
  The AE term is a squared error in standardised-logit space, whose inverse underestimates the mean
  energy (Jensen); ``esum`` compares energy fractions ``eps = E/E_inc`` directly.
* ``neg``: mean RBM energy of negative-phase samples (persistent chains; detached, so its gradient
  reaches only the RBM parameters).

``KL(q || p) = -H(q) + <E(zeta)>_q + ln Z`` and ``grad ln Z = -<grad E>_p``, so ``ent + pos - neg`` is a
surrogate of the KL with the right gradients.  :func:`total_loss` = ``ae + hits + w_e esum + w (ent + pos - neg)``;
:func:`ahep` = ``ae + hits + ent + pos`` (the best-model criterion of seed 001).

Example:
    >>> import torch
    >>> round(float(bernoulli_entropy(torch.zeros(1, 3)).item()), 4)  # 3 fair coins: 3 ln 2
    2.0794
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["TERM_NAMES", "bernoulli_entropy", "reconstruction_loss", "hits_loss", "total_loss", "ahep", "kl_surrogate",
           "energy_fractions", "energy_sum_loss"]

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


def energy_fractions(u: torch.Tensor, mean: torch.Tensor, std: torch.Tensor, delta: float) -> torch.Tensor:
    """Voxel energy fractions ``eps = E_voxel / E_inc`` of standardised logits ``u (B, V)``, differentiable:
    ``(sigmoid(u std + mean) - delta) / (1 - 2 delta)``, clamped at 0 (the inverse of the VoxelTransform).

    Example:
        >>> v = torch.tensor([[0.0, 2.0]])
        >>> energy_fractions(v, torch.zeros(2), torch.ones(2), 0.0).tolist()[0][0]
        0.5
    """
    x = torch.sigmoid(u.float() * std + mean)
    return torch.clamp((x - delta) / (1.0 - 2.0 * delta), min=0.0)


def energy_sum_loss(x_hat: torch.Tensor, hit_logits: torch.Tensor | None, x: torch.Tensor, mean: torch.Tensor,
                    std: torch.Tensor, delta: float, voxel_layer: torch.Tensor | None = None, *,
                    n_layers: int | None = None, floor: float = 1e-3) -> torch.Tensor:
    """Energy-sum loss: ``mean_b sum_l [ln(F_hat_bl + floor) - ln(F_bl + floor)]^2``.

    ``F_bl`` is the true energy fraction of layer ``l`` (sum of :func:`energy_fractions` of ``x``);
    ``F_hat_bl`` the *expected* reconstructed one, ``sum_i eps_hat_i sigmoid(hit_logit_i)`` (no hits
    head: ``eps_hat_i`` alone).  With ``voxel_layer=None`` there is one "layer": the total fraction.

    Args:
        x_hat, hit_logits, x: ``(B, V)`` decoder energy head, hit logits (or None), preprocessed target.
        mean, std: ``(V,)`` the VoxelTransform's logit statistics; ``delta``: its delta.
        voxel_layer: ``(V,)`` int64 layer index of each voxel (``n_layers`` layers), or None.
        floor: added to the fractions inside the logarithms (keeps empty layers finite).

    Example:
        >>> x = torch.tensor([[0.0, 0.0]]); m, s = torch.zeros(2), torch.ones(2)
        >>> energy_sum_loss(x, None, x, m, s, 0.0).item()  # perfect reconstruction
        0.0
    """
    eps_hat = energy_fractions(x_hat, mean, std, delta)
    if hit_logits is not None:
        eps_hat = eps_hat * torch.sigmoid(hit_logits.float())
    with torch.no_grad():
        eps = energy_fractions(x, mean, std, delta)
    if voxel_layer is None:
        f_hat, f = eps_hat.sum(dim=1, keepdim=True), eps.sum(dim=1, keepdim=True)
    else:
        n = int(n_layers if n_layers is not None else int(voxel_layer.max()) + 1)
        f_hat = eps_hat.new_zeros(eps_hat.shape[0], n).index_add(1, voxel_layer, eps_hat)
        f = eps.new_zeros(eps.shape[0], n).index_add(1, voxel_layer, eps)
    return ((torch.log(f_hat + floor) - torch.log(f + floor)) ** 2).sum(dim=1).mean()


def kl_surrogate(terms: dict[str, torch.Tensor]) -> torch.Tensor:
    """``ent + pos - neg``: the KL up to ``ln Z``'s value (its gradient is exact).

    Example:
        >>> t = {k: torch.tensor(v) for k, v in dict(ae=1.0, hits=2.0, ent=-3.0, pos=4.0, neg=5.0).items()}
        >>> kl_surrogate(t).item()
        -4.0
    """
    return terms["ent"] + terms["pos"] - terms["neg"]


def total_loss(terms: dict[str, torch.Tensor], kl_weight: float = 1.0, esum_weight: float = 0.0) -> torch.Tensor:
    """``ae + hits + esum_weight * esum + kl_weight * (ent + pos - neg) [+ flow]`` (the caller anneals
    ``kl_weight``; the ``esum`` term counts only when present and ``esum_weight != 0``; ``flow``, the energy
    flow's NLL, whenever present).

    Example:
        >>> t = {k: torch.tensor(v) for k, v in dict(ae=1.0, hits=2.0, ent=-3.0, pos=4.0, neg=5.0).items()}
        >>> total_loss(t, 0.5).item()
        1.0
    """
    loss = terms["ae"] + terms["hits"] + kl_weight * kl_surrogate(terms)
    if esum_weight and "esum" in terms:
        loss = loss + esum_weight * terms["esum"]
    if "flow" in terms:  # the layer-energy flow's NLL (its parameters are the flow's alone)
        loss = loss + terms["flow"]
    return loss


def ahep(terms: dict[str, torch.Tensor]) -> torch.Tensor:
    """``AE + Hits + Ent + Pos``, the validation criterion for the best model (seed 001).

    Example:
        >>> t = {k: torch.tensor(v) for k, v in dict(ae=1.0, hits=2.0, ent=-3.0, pos=4.0, neg=5.0).items()}
        >>> ahep(t).item()
        4.0
    """
    return terms["ae"] + terms["hits"] + terms["ent"] + terms["pos"]
