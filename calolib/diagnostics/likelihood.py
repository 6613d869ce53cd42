"""Log-likelihood of latent codes under the RBM prior, with ln Z bracketed by AIS (low) and RAIS (high).

LL = ⟨−E(z_i) − ln Z⟩ over a set of latent states (seed 001).  For a QVAE whose RBM partition 0 is clamped
to the E_inc code (``conditioned=True``) the prior is the *conditional* model p(z | c) = e^{−E(c, z)}/Z(c):
that is what training fits (its negative phase clamps the code) and what generation samples.  Its LL is
⟨−E(c_i, z_i) − ln Z(c_i)⟩, so ln Z is needed per code.  Estimating it for every state is too costly, so
ln Z(c) is estimated for ``n_codes`` states drawn at random (without replacement) and
⟨ln Z(c_i)⟩ is their mean; its error adds the estimators' own errors and the spread of ln Z(c) across
codes (with the finite-population correction).  AIS and RAIS use the same codes, so they are compared on
the estimators' errors alone: AIS ≤ ln Z ≤ RAIS holds on average for exact RAIS start samples, and here
RAIS starts from ``gibbs_steps`` sweeps of chains with each code clamped — samples of the same
conditional model.  ``conditioned=False`` treats the RBM as one joint model of all units (RAIS from
unclamped chains).

Example:
    >>> import torch
    >>> from calolib.rbm import RBM
    >>> from calolib.partition import exact_log_z
    >>> rbm = RBM((2, 3, 3, 3), weight_std=0.5, bias_std=0.5, seed=0)
    >>> z = (torch.rand(50, 11, generator=torch.Generator().manual_seed(0)) < 0.5).float()
    >>> est = prior_log_likelihood(rbm, z, conditioned=True, n_codes=8, n_chains=32, n_betas=200, gibbs_steps=50)
    >>> est.n_codes, est.ais_rais_verdict in ("lower", "consistent", "higher")
    (8, True)
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np
import torch

from calolib.errors import ConfigError

__all__ = ["PriorLikelihood", "prior_log_likelihood"]


def __dir__():
    return __all__


@dataclass(frozen=True)
class PriorLikelihood:
    """ln Z (AIS, RAIS) and LL (nats per state) of latent states under the prior, with their errors.

    ``log_z_*`` is ⟨ln Z(c_i)⟩ over the states (conditional) or ln Z (joint); ``*_err`` of ln Z is the
    estimator's own error (what the AIS–RAIS comparison uses); ``ll_*_err`` also holds the code-sampling error.
    """

    conditioned: bool
    n_states: int
    n_codes: int
    n_chains: int
    n_betas: int
    gibbs_steps: int
    mean_energy: float
    log_z_ais: float
    log_z_ais_err: float
    log_z_rais: float
    log_z_rais_err: float
    ll_ais: float
    ll_ais_err: float
    ll_rais: float
    ll_rais_err: float
    code_spread: float = 0.0  # sd of ln Z(c) across the sampled codes (AIS)
    per_code_ais: np.ndarray = field(default=None, repr=False)
    per_code_rais: np.ndarray = field(default=None, repr=False)

    @property
    def ais_rais_verdict(self) -> str:
        """``"lower"`` (AIS below RAIS: they bracket ln Z), ``"consistent"`` (agree within 2σ) or ``"higher"``."""
        from calolib.reports.takeaways import compare

        return compare(self.log_z_ais, self.log_z_rais, err_a=self.log_z_ais_err, err_b=self.log_z_rais_err)

    def to_dict(self) -> dict:
        """JSON-able dict (per-code arrays as lists)."""
        d = asdict(self)
        for k in ("per_code_ais", "per_code_rais"):
            d[k] = None if d[k] is None else np.asarray(d[k]).tolist()
        d["ais_rais_verdict"] = self.ais_rais_verdict
        return d


def prior_log_likelihood(rbm, z, *, conditioned: bool, n_codes: int = 32, n_chains: int = 16, n_betas: int = 1000,
                         gibbs_steps: int = 500, seed: int = 0, schedule="adaptive", device=None) -> PriorLikelihood:
    """LL of latent states ``z`` (S, N) 0/1 under ``rbm``, ln Z from AIS and RAIS (see the module docstring).

    Args:
        rbm: the :class:`calolib.rbm.RBM` prior.
        z: (S, N) latent states (e.g. validation encodings; partition 0 holds their codes when conditioned).
        conditioned: estimate the conditional model's ln Z(c) per code (True) or the joint model's ln Z.
        n_codes: states whose code's ln Z(c) is estimated (conditional; all when S ≤ n_codes).
        n_chains: AIS chains and RAIS start samples per code (joint: ``n_codes · n_chains`` in all).
        n_betas: inverse temperatures of AIS and RAIS.
        gibbs_steps: block-Gibbs sweeps of the chains that give the RAIS start samples.
        seed: seed of the code choice, the chains and the annealing.
        schedule, device: as in :func:`calolib.partition.ais`.

    Raises:
        ConfigError: empty ``z`` or a state width that is not the RBM's.
    """
    from calolib.partition import ais, log_likelihood, model_samples, rais

    zz = torch.as_tensor(z).to(device=rbm.bias_vector().device, dtype=rbm.bias_vector().dtype)
    if zz.ndim != 2 or zz.shape[0] < 1 or zz.shape[1] != rbm.n_units:
        raise ConfigError(f"latent states must be (S, {rbm.n_units}); got {tuple(zz.shape)}")
    s = zz.shape[0]
    with torch.no_grad():
        mean_e = float(rbm.energy(zz).double().mean())
    kw = dict(schedule=schedule, device=device)
    if not conditioned:
        k = int(n_codes) * int(n_chains)
        lz_a, ea = ais(rbm, k, n_betas, seed=seed, **kw)
        lz_r, er = rais(rbm, model_samples(rbm, k, gibbs_steps, seed=seed + 1), n_betas, seed=seed, **kw)
        return PriorLikelihood(False, s, 1, k, int(n_betas), int(gibbs_steps), mean_e, lz_a, ea, lz_r, er,
                               -mean_e - lz_a, ea, -mean_e - lz_r, er)
    n0 = int(rbm.sizes[0])
    if n0 == 0:
        raise ConfigError("conditioned=True needs an RBM whose partition 0 holds the condition code")
    m = min(int(n_codes), s)
    pick = torch.randperm(s, generator=torch.Generator().manual_seed(int(seed)))[:m].sort().values
    codes = zz[pick.to(zz.device), :n0]
    lz_a, ea = ais(rbm, n_chains, n_betas, seed=seed, conditioning=codes, **kw)
    starts = model_samples(rbm, n_chains, gibbs_steps, seed=seed + 1, conditioning=codes)
    lz_r, er = rais(rbm, starts, n_betas, seed=seed, conditioning=codes, **kw)
    fpc = math.sqrt(max(0.0, 1.0 - m / s) / m) if m > 1 else 0.0  # finite-population correction / √m
    spread = float(np.std(lz_a, ddof=1)) if m > 1 else 0.0
    est = lambda err: float(np.sqrt(np.sum(err**2)) / m)  # noqa: E731 - mean of independent per-code estimates
    ll_err = lambda err: math.hypot(est(err), spread * fpc)  # noqa: E731
    mean_a, mean_r = float(np.mean(lz_a)), float(np.mean(lz_r))
    return PriorLikelihood(True, s, m, int(n_chains), int(n_betas), int(gibbs_steps), mean_e,
                           mean_a, est(ea), mean_r, est(er),
                           log_likelihood(rbm, zz, mean_a), ll_err(ea), log_likelihood(rbm, zz, mean_r), ll_err(er),
                           spread, np.asarray(lz_a), np.asarray(lz_r))
