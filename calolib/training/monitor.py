"""Optional per-epoch monitors, each behind a TrainConfig flag (off in ``quick``).

* ``log_rbm_ll``: the RBM prior's log-likelihood of the validation encodings (seed 001),
  ``LL = -<E(z)>_val - <ln Z>`` with ``ln Z`` from AIS (lower-biased, so LL upper-biased) and from reverse
  AIS (upper-biased ``ln Z``, LL lower-biased), both for the model the prior is: the conditional p(z | c)
  (ln Z(c) per E_inc code, RAIS from chains with that code clamped) when partition 0 holds the code, else
  the joint model (:func:`calolib.diagnostics.likelihood.prior_log_likelihood`).  ``ll_chains`` is split
  into 8 chains per code.
* ``gen_check_events``: generate that many showers at the validation energies and report the separation
  powers of E_total/E_inc and of the sparsity against the validation showers.

Both run under a forked RNG, so they never change the training's random stream (exact resume holds).
"""
from __future__ import annotations

import torch

__all__ = ["rbm_log_likelihood", "generation_check", "validation_showers"]


@torch.no_grad()
def _encodings(model, x, e, device, n: int, batch: int, l_val=None) -> torch.Tensor:
    zs = []
    for lo in range(0, min(n, x.shape[0]), batch):
        hi = min(lo + batch, n, x.shape[0])
        le = None if l_val is None else l_val[lo:hi].to(device)
        zs.append(model.encode(x[lo:hi].to(device), e[lo:hi].to(device), layer_e=le).z)
    return torch.cat(zs)


def rbm_log_likelihood(model, x_val, e_val, negatives, config, device, *, seed: int = 0,
                       l_val=None) -> dict[str, float]:
    """``{"rbm_log_z_ais", "rbm_ll_ais", "rbm_log_z_rais", "rbm_ll_rais"}`` on up to 2048 validation events."""
    from calolib.diagnostics.likelihood import prior_log_likelihood

    was_training = model.training
    model.eval()
    devices = [device] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        z = _encodings(model, x_val, e_val, device, 2048, config.eval_batch_size, l_val)
        est = prior_log_likelihood(model.rbm, z, conditioned=model.config.n_clamped > 0,
                                   n_codes=max(2, config.ll_chains // 8), n_chains=8, n_betas=config.ll_betas,
                                   gibbs_steps=max(100, config.ll_betas), seed=seed)
    if was_training:
        model.train()
    return {"rbm_log_z_ais": est.log_z_ais, "rbm_ll_ais": est.ll_ais, "rbm_ll_ais_err": est.ll_ais_err,
            "rbm_log_z_rais": est.log_z_rais, "rbm_ll_rais": est.ll_rais, "rbm_ll_rais_err": est.ll_rais_err,
            "rbm_log_z_ais_err": est.log_z_ais_err, "rbm_log_z_rais_err": est.log_z_rais_err}


def validation_showers(model, transform, x_val, e_val, n: int, l_val=None) -> "Showers":
    """The first ``n`` validation showers back in MeV (from their preprocessed form)."""
    from calolib.showers import Showers

    e = e_val[:n].double().numpy()
    x = x_val[:n].double()
    if l_val is not None:  # factorised model: shapes with the true layer energies, hits where non-empty
        hits = x > model.empty_value.cpu().double() + model.config.hit_tolerance
        v = transform.inverse(l_val[:n].double().numpy(), x.numpy(), hits=hits.numpy())
    else:
        v = transform.inverse(e, x.numpy())
    return Showers(e, v, model.config.geometry)


def generation_check(model, transform, x_val, e_val, n: int, device, *, seed: int = 0,
                     l_val=None) -> dict[str, float]:
    """Separation powers (``sep_e_ratio``, ``sep_sparsity``) of ``n`` generated vs validation showers."""
    from calolib.generation import generate, shower_separation

    was_training = model.training
    n = min(n, x_val.shape[0])
    e = e_val[:n].double().numpy()
    ref = validation_showers(model, transform, x_val, e_val, n, l_val)
    devices = [device] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        gen = generate(model, transform, e, seed=seed, device=device)
    model.train(was_training)
    sep = shower_separation(gen, ref)
    return {"sep_e_ratio": sep["e_ratio"], "sep_sparsity": sep["sparsity"]}


def __dir__():
    return __all__
