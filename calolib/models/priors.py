"""The latent priors of the QVAE and its two controls, behind one interface.

The question the suite asks is "does the Boltzmann prior help?".  Its fair test changes only the prior and
keeps the encoder, decoder, data, training loop, checkpoints, generation and reports identical:

* ``"rbm"`` (the QVAE): binary latents with the 4-partite RBM prior ``p(z) = e^{-E(z)}/Z`` of
  :class:`calolib.rbm.RBM`; partition 0 is clamped to the code of E_inc (``condition_rbm``).
* ``"bernoulli"``: the *same* binary latents with a factorised prior conditioned on E_inc the same way:
  ``p(z_i = 1 | c) = sigmoid(a_i + sum_j c_j V_ji)`` for the code bits ``c``.  It is exactly an RBM whose
  couplings among the free partitions are removed (only partition 0 -> free couplings remain), so comparing it
  with ``"rbm"`` asks whether the RBM's couplings matter.
* ``"gaussian"``: a standard VAE: continuous latents of the same width, ``q(z|x) = N(mu, sigma^2)``,
  prior ``N(0, 1)``; the clamped code bits are still prepended to the decoder input.

Each prior reports the same three loss terms, so the training loop, history and AHEP are shared
(``KL(q||p) = ent + pos - neg``, exactly for the controls, up to ``ln Z`` for the RBM):

=============  ===========================  ===============================  =====================
prior          ``ent``                      ``pos``                          ``neg``
=============  ===========================  ===============================  =====================
rbm            ``-H(q)`` (Bernoulli)        ``<E(zeta)>_q`` (relaxed)         ``<E(z)>_model`` (PCD)
bernoulli      ``-H(q)`` (Bernoulli)        ``-sum_i q_i a_i(c)``            ``-ln Z(c) = -sum softplus(a_i)``
gaussian       ``-H(q)`` (Gaussian)         ``<-ln N(z; 0, 1)>_q`` (closed)   ``0``
=============  ===========================  ===============================  =====================

Example:
    >>> import torch
    >>> p = BernoulliPrior(n_code=2, n_free=3)
    >>> logits = torch.zeros(4, 3); code = torch.ones(4, 2)
    >>> t = p.kl_terms(logits, code)
    >>> round(float((t["ent"] + t["pos"] - t["neg"]).item()), 6)  # q = p = 1/2: KL = 0
    0.0
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from calolib.errors import ConfigError
from calolib.models.losses import bernoulli_entropy

__all__ = ["PRIORS", "BernoulliPrior", "GaussianPrior", "gaussian_kl_terms", "active_units"]

#: The prior choices of :class:`~calolib.models.config.ModelConfig` (``model.prior``).
PRIORS: tuple[str, ...] = ("rbm", "bernoulli", "gaussian")

_LOG_2PI = math.log(2.0 * math.pi)


def __dir__():
    return __all__


class BernoulliPrior(nn.Module):
    """Factorised Bernoulli prior over ``n_free`` bits, conditioned on ``n_code`` clamped code bits.

    ``a(c) = bias + c @ coupling`` are the logits of ``p(z_i = 1 | c)``.  Parameters start at zero
    (every bit a fair coin), like a freshly initialised RBM with small weights.

    Args:
        n_code: code bits of E_inc (0 when the prior is not conditioned).
        n_free: free latent bits.
    """

    def __init__(self, n_code: int, n_free: int):
        super().__init__()
        if n_free < 1 or n_code < 0:
            raise ConfigError(f"BernoulliPrior needs n_free >= 1 and n_code >= 0, got {n_free}, {n_code}")
        self.n_code, self.n_free = int(n_code), int(n_free)
        self.bias = nn.Parameter(torch.zeros(n_free))
        self.coupling = nn.Parameter(torch.zeros(n_code, n_free))

    def logits(self, code: torch.Tensor | None) -> torch.Tensor:
        """Prior logits ``(B, n_free)`` given the code ``(B, n_code)`` (``None`` or ``(B, 0)``: the bias)."""
        if code is None or code.shape[1] == 0:
            return self.bias.unsqueeze(0)
        return self.bias + code.to(self.bias.dtype) @ self.coupling

    def kl_terms(self, logits: torch.Tensor, code: torch.Tensor | None) -> dict[str, torch.Tensor]:
        """``ent, pos, neg`` (batch means) for encoder logits ``(B, n_free)``; ``ent + pos - neg`` is the
        exact ``KL(q(z|x) || p(z|c))`` of the factorised distributions."""
        a = self.logits(code).expand_as(logits)
        q = torch.sigmoid(logits.float())
        ent = -bernoulli_entropy(logits).mean()
        pos = -(q * a).sum(dim=1).mean()
        neg = -F.softplus(a).sum(dim=1).mean()
        return {"ent": ent, "pos": pos, "neg": neg}

    @torch.no_grad()
    def sample(self, code: torch.Tensor | None, n: int | None = None, *,
               generator: torch.Generator | None = None) -> torch.Tensor:
        """Exact samples ``(B, n_free)`` 0/1 float, one per code row (or ``n`` from the bias alone)."""
        a = self.logits(code)
        if a.shape[0] == 1 and n is not None:
            a = a.expand(n, -1)
        u = torch.rand(a.shape, generator=generator, device=a.device)
        return (u < torch.sigmoid(a)).to(torch.float32)

    def log_prob(self, z: torch.Tensor, code: torch.Tensor | None) -> torch.Tensor:
        """Exact ``ln p(z | c)`` per row, ``(B,)``.

        Example:
            >>> p = BernoulliPrior(0, 2)
            >>> round(float(p.log_prob(torch.tensor([[1.0, 0.0]]), None).detach()), 4)  # two fair coins
            -1.3863
        """
        a = self.logits(code).expand_as(z)
        return (z * a - F.softplus(a)).sum(dim=1)


def gaussian_kl_terms(mu: torch.Tensor, logvar: torch.Tensor) -> dict[str, torch.Tensor]:
    """``ent = -H(q)``, ``pos = <-ln N(z; 0, 1)>_q`` (closed form), ``neg = 0`` for ``q = N(mu, e^logvar)``,
    each a batch mean; ``ent + pos = 0.5 sum (mu^2 + sigma^2 - 1 - ln sigma^2)``, the analytic KL.

    Example:
        >>> t = gaussian_kl_terms(torch.zeros(2, 3), torch.zeros(2, 3))
        >>> round(float(t["ent"] + t["pos"] - t["neg"]), 6)
        0.0
    """
    mu, logvar = mu.float(), logvar.float()
    ent = -(0.5 * (logvar + 1.0 + _LOG_2PI)).sum(dim=1).mean()
    pos = (0.5 * (mu ** 2 + logvar.exp() + _LOG_2PI)).sum(dim=1).mean()
    return {"ent": ent, "pos": pos, "neg": mu.new_zeros(())}


class GaussianPrior(nn.Module):
    """``N(0, 1)`` prior over ``n_free`` continuous latents (no parameters)."""

    def __init__(self, n_free: int):
        super().__init__()
        if n_free < 1:
            raise ConfigError(f"GaussianPrior needs n_free >= 1, got {n_free}")
        self.n_free = int(n_free)

    def kl_terms(self, mu: torch.Tensor, logvar: torch.Tensor) -> dict[str, torch.Tensor]:
        """See :func:`gaussian_kl_terms`."""
        return gaussian_kl_terms(mu, logvar)

    @torch.no_grad()
    def sample(self, n: int, *, device=None, generator: torch.Generator | None = None) -> torch.Tensor:
        """``(n, n_free)`` standard normal samples."""
        return torch.randn(int(n), self.n_free, generator=generator, device=device)


@torch.no_grad()
def active_units(values: torch.Tensor, *, binary: bool, low: float = 0.01, high: float = 0.99,
                 min_variance: float = 0.01) -> dict[str, object]:
    """Which latent units the encoder actually uses, over a set of validation encodings.

    Binary latents (``values``: ``(N, n)`` hard encodings or posterior means in [0, 1]): a unit is *active*
    when its mean over the events lies in ``(low, high)`` (it is neither always off nor always on).  Continuous
    latents (``values``: ``(N, n)`` posterior means ``mu``): active when ``Var_x[mu] > min_variance`` (Burda
    et al. 2016).  Also returned: the per-unit entropy of the marginal in nats (binary: of Bernoulli(mean);
    continuous: ``0.5 ln(2 pi e Var)``, clipped below at the variance floor).

    Returns:
        ``{"n_active", "n_units", "fraction", "active" (bool list), "entropy" (list), "mean_entropy"}``.

    Example:
        >>> z = torch.tensor([[0., 1., 1.], [1., 1., 0.], [0., 1., 1.], [1., 1., 0.]])
        >>> a = active_units(z, binary=True); a["n_active"], a["active"]
        (2, [True, False, True])
    """
    v = values.detach().float()
    if v.ndim != 2 or v.shape[0] < 1:
        raise ConfigError(f"active_units needs (N, n) encodings, got {tuple(v.shape)}")
    if binary:
        m = v.mean(dim=0)
        act = (m > low) & (m < high)
        p = m.double().clamp(1e-12, 1 - 1e-12)
        ent = (-(p * p.log() + (1 - p) * (1 - p).log())).float()
    else:
        var = v.var(dim=0, unbiased=False) if v.shape[0] > 1 else torch.zeros(v.shape[1])
        act = var > min_variance
        ent = 0.5 * torch.log(2 * math.pi * math.e * var.clamp(min=1e-6))
    n_act = int(act.sum())
    return {"n_active": n_act, "n_units": int(v.shape[1]), "fraction": n_act / max(int(v.shape[1]), 1),
            "active": act.tolist(), "entropy": ent.tolist(), "mean_entropy": float(ent.mean())}
