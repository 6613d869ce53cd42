"""Pieces of one training step: the negative phase, the losses per stage, the centred RBM update,
validation, and the relaxation-sharpness hook.

Negative phase (PCD): ``n_neg_chains`` persistent block-Gibbs chains of the RBM prior advance
``gibbs_sweeps`` sweeps per step.  With a conditioned RBM (``model.config.condition_rbm``) chain ``i``
is clamped to the code of the batch's ``i mod B``-th incident energy, so the negative phase samples the
conditional prior averaged over the data's energies.

Centred gradient (Melchior, Fischer & Wiskott 2016, "How to center deep Boltzmann machines"): with
offsets ``mu`` (sliding means of the data-side units) the RBM is reparametrised around ``mu``; its
gradient is ``dW = <(z-mu)(z-mu)^T>_data - <...>_model`` and ``da = <z>_data - <z>_model - dW mu``.
We get ``dW`` from autograd on the shifted energies ``E(z - mu)`` (the masks are applied by the RBM) and
add the ``-dW mu`` bias correction by hand.  That is the right update only for plain SGD: an adaptive
optimiser (Adam) rescales the weight and bias components separately, so the bias correction no longer
matches the weight step actually taken and the RBM drifts away from the data (NLL grows without bound).
:func:`centred_frame` therefore lets the optimiser step in the centred parametrisation itself
(``b_p = a_p + sum_q W_pq mu_q``, gradients ``dW`` and ``<z>_data - <z>_model``), as Melchior et al. do,
and maps the biases back afterwards.

Example:
    >>> import torch
    >>> from calolib.models.losses import total_loss as _t
    >>> terms = {k: torch.tensor(v) for k, v in dict(ae=1.0, hits=2.0, ent=-3.0, pos=4.0, neg=5.0).items()}
    >>> stage_loss(terms, "ae", 1.0).item(), stage_loss(terms, "rbm", 1.0).item(), stage_loss(terms, "joint", 0.5).item()
    (3.0, -1.0, 1.0)
"""
from __future__ import annotations

import contextlib

import torch

from calolib.models.losses import TERM_NAMES, ahep, total_loss

__all__ = ["TERMS", "term_names", "NegativePhase", "stage_loss", "centred_rbm_step", "centred_frame", "evaluate",
           "beta_at", "beta_target"]

TERMS: tuple[str, ...] = TERM_NAMES


def term_names(model) -> tuple[str, ...]:
    """The loss terms logged for ``model``: :data:`TERMS`, plus ``esum`` when its ``esum_weight > 0`` and
    ``flow`` (the layer-energy flow's NLL) for the factorised model."""
    extra = (("esum",) if model.config.esum_weight > 0 else ()) + (("flow",) if model.config.energy_model == "flow" else ())
    return (*TERMS, *extra)


def stage_loss(terms: dict[str, torch.Tensor], stage: str, kl_weight: float, esum_weight: float = 0.0) -> torch.Tensor:
    """The loss optimised in a stage: ``joint`` = ae + hits + e esum + w (ent + pos - neg); ``ae`` = ae + hits
    + e esum; ``rbm`` = pos - neg (the RBM's negative log-likelihood gradient on the encodings), with
    ``e = esum_weight`` (the ``esum`` term counts only when present)."""
    if stage == "ae":
        loss = terms["ae"] + terms["hits"] + (terms["flow"] if "flow" in terms else 0.0)
        return loss + esum_weight * terms["esum"] if esum_weight and "esum" in terms else loss
    if stage == "rbm":
        return terms["pos"] - terms["neg"]
    return total_loss(terms, kl_weight, esum_weight)


class NegativePhase:
    """Persistent Gibbs chains for the negative phase (+ the centring offsets of the centred update).

    Args:
        model: the QVAE (its ``rbm`` is sampled; ``config.condition_rbm`` decides clamping).
        n_chains: number of persistent chains.
        seed: seed of the chains' generator.
    """

    def __init__(self, model, n_chains: int, *, seed: int = 0):
        from calolib.samplers import PersistentChains

        self.model = model
        self.chains = PersistentChains(model.rbm, n_chains, seed=seed)
        self.mu: torch.Tensor | None = None

    @property
    def z(self) -> torch.Tensor:
        """Current chain states ``(C, N)`` (a copy)."""
        return self.chains.z.clone()

    def conditioning(self, e_inc: torch.Tensor) -> torch.Tensor | None:
        """Codes ``(C, n0)`` of the batch energies (cycled over the chains), or None when unconditioned."""
        if not self.model.config.condition_rbm:
            return None
        idx = torch.arange(self.chains.n_chains, device=e_inc.device) % e_inc.shape[0]
        return self.model.condition_code(e_inc[idx])

    @torch.no_grad()
    def step(self, e_inc: torch.Tensor, n_sweeps: int) -> torch.Tensor:
        """Advance the chains ``n_sweeps`` sweeps (clamped to the batch's codes); returns ``(C, N)``."""
        return self.chains.run(n_sweeps, conditioning=self.conditioning(e_inc)).clone()

    def state_dict(self) -> dict:
        return {"chains": self.chains.state_dict(), "mu": None if self.mu is None else self.mu.detach().cpu()}

    def load_state_dict(self, state: dict) -> None:
        self.chains.load_state_dict(state["chains"])
        mu = state.get("mu")
        self.mu = None if mu is None else mu.to(self.model.rbm.device)


def centred_rbm_step(rbm, z_data: torch.Tensor, z_model: torch.Tensor, negatives: NegativePhase,
                     rate: float) -> torch.Tensor:
    """Fill the RBM parameters' ``.grad`` with the centred gradient; returns the (uncentred) loss
    ``<E(z_data)> - <E(z_model)>`` for logging.  Step an adaptive optimiser inside
    ``centred_frame(rbm, negatives.mu)`` (see :func:`centred_frame`).

    Args:
        rbm: the RBM.
        z_data: ``(B, N)`` hard encodings; ``z_model``: ``(C, N)`` negative samples.
        negatives: holds the offsets ``mu`` (updated here by a sliding average with ``rate``).
    """
    z_data, z_model = z_data.detach().float(), z_model.detach().float()
    mean_d = z_data.mean(dim=0)
    if negatives.mu is None:
        negatives.mu = mean_d.clone()
    else:
        negatives.mu = (1.0 - rate) * negatives.mu + rate * mean_d
    mu = negatives.mu
    surrogate = rbm.energy(z_data - mu).mean() - rbm.energy(z_model - mu).mean()
    surrogate.backward()
    with torch.no_grad():
        mus = rbm.split(mu.unsqueeze(0))
        corr = [torch.zeros_like(b) for b in rbm.biases]
        for p, q in rbm.pairs:
            w = rbm.weights[f"{p}{q}"]
            if w.grad is None:
                continue
            g = w.grad * rbm.mask(p, q)  # dLoss/dW_pq (already masked by the RBM)
            corr[p] += g @ mus[q][0]
            corr[q] += g.T @ mus[p][0]
        for p, b in enumerate(rbm.biases):
            if b.grad is not None:
                b.grad -= corr[p]
        loss = rbm.energy(z_data).mean() - rbm.energy(z_model).mean()
    return loss


def _mu_fields(rbm, mu: torch.Tensor, weights: dict | None = None) -> list[torch.Tensor]:
    """``sum_q W_pq mu_q`` per partition ``p`` (``weights``: matrices replacing ``rbm.weights``, e.g. grads)."""
    mus = [m[0] for m in rbm.split(mu.unsqueeze(0))]
    out = [torch.zeros_like(b) for b in rbm.biases]
    for p, q in rbm.pairs:
        w = rbm.weights[f"{p}{q}"] if weights is None else weights.get(f"{p}{q}")
        if w is None:
            continue
        w = w * rbm.mask(p, q)
        out[p] += w @ mus[q]
        out[q] += w.T @ mus[p]
    return out


@contextlib.contextmanager
def centred_frame(rbm, mu: torch.Tensor):
    """Hold the RBM in its centred parametrisation while the optimiser steps (after :func:`centred_rbm_step`).

    On entry the biases become the centred ones ``b_p = a_p + sum_q W_pq mu_q`` and their ``.grad`` (the
    centred gradient of ``a``, as filled by :func:`centred_rbm_step`) becomes the gradient of ``b``,
    ``-(<z>_data - <z>_model)``; the weights and their gradients are the same in both frames.  On exit
    ``a_p = b_p - sum_q W_pq mu_q`` with the updated weights.  With SGD this equals stepping ``a`` along the
    centred gradient; with Adam (per-coordinate step sizes) it keeps the bias and weight steps consistent.

    Example:
        >>> from calolib.rbm import RBM
        >>> rbm = RBM((1, 2, 2, 2), weight_std=0.5, bias_std=0.5, seed=0)
        >>> a0 = rbm.bias_vector().detach().clone()
        >>> with centred_frame(rbm, torch.full((7,), 0.5)):
        ...     moved = not torch.allclose(rbm.bias_vector(), a0)
        >>> moved, bool(torch.allclose(rbm.bias_vector(), a0, atol=1e-6))
        (True, True)
    """
    mu = mu.detach().to(rbm.device, rbm.biases[0].dtype)
    with torch.no_grad():
        for b, f in zip(rbm.biases, _mu_fields(rbm, mu)):
            b += f
        grads = {k: w.grad for k, w in rbm.weights.items() if w.grad is not None}
        for b, f in zip(rbm.biases, _mu_fields(rbm, mu, grads)):
            if b.grad is not None:
                b.grad += f
    try:
        yield rbm
    finally:
        with torch.no_grad():
            for b, f in zip(rbm.biases, _mu_fields(rbm, mu)):
                b -= f


def beta_target(model) -> float:
    """The relaxation sharpness the model uses after annealing (``relax_beta``; ``1/gumbel_tau`` for gumbel)."""
    cfg = model.config
    return 1.0 / cfg.gumbel_tau if cfg.relaxation == "gumbel" else float(cfg.relax_beta)


def beta_at(model, config, t: float) -> float:
    """Relaxation sharpness at epoch-time ``t``: geometric ramp ``beta_start -> beta_target(model)``
    over ``beta_anneal_epochs`` (passed to ``model(x, e, beta=...)``)."""
    from calolib.training.schedules import relaxation_beta

    return relaxation_beta(t, start=config.beta_start, end=beta_target(model), anneal=config.beta_anneal_epochs)


@torch.no_grad()
def evaluate(model, x: torch.Tensor, e: torch.Tensor, negatives: NegativePhase | None, config, device,
             layer_e: torch.Tensor | None = None) -> dict[str, float]:
    """Mean loss terms and AHEP over a split, under ``no_grad``/``eval()`` with a fixed seed, at the
    model's final relaxation sharpness (as used after training), so epochs are comparable.

    Also the latent usage of the split's encodings (see :func:`calolib.models.priors.active_units`):
    ``active_units`` / ``active_fraction`` (binary latents: units whose mean over the events lies in
    (0.01, 0.99); Gaussian: ``Var_x[mu] > 0.01``), ``informative_units`` (binary: ``Var_x[q] > 0.01``, i.e. the
    posterior probability really changes from event to event), and ``unit_entropy`` (mean per-unit entropy of
    the marginal, nats).  The global RNG is forked, so validation never changes the training's random stream.
    It also sets ``model.voxel_sigma``, the per-voxel residual std of the energy head on the split's hit
    voxels (the Gaussian likelihood's sigma that generation can sample from, ``voxel_noise``).
    """
    from calolib.models.priors import active_units

    was_training = model.training
    model.eval()
    devices = [device] if device.type == "cuda" else []
    names = term_names(model)
    sums = {k: 0.0 for k in (*names, "ahep", "loss")}
    neg_z = negatives.z if negatives is not None else None
    stats = []
    ss = torch.zeros(model.n_voxels, device=device, dtype=torch.float64)  # sum of squared residuals on hits
    cnt = torch.zeros(model.n_voxels, device=device, dtype=torch.float64)
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(config.seed + 99_991)
        n = x.shape[0]
        for lo in range(0, n, config.eval_batch_size):
            xb = x[lo:lo + config.eval_batch_size].to(device)
            eb = e[lo:lo + config.eval_batch_size].to(device)
            lb = None if layer_e is None else layer_e[lo:lo + config.eval_batch_size].to(device)
            out = model(xb, eb, layer_e=lb)
            terms = model.loss_terms(xb, eb, out, neg_z, layer_e=lb)
            b = xb.shape[0]
            for k in names:
                sums[k] += float(terms[k]) * b
            sums["ahep"] += float(ahep(terms)) * b
            sums["loss"] += float(total_loss(terms, 1.0, model.config.esum_weight)) * b
            hit = model.hit_targets(xb) if out.dec.hit_logits is not None else torch.ones_like(xb, dtype=torch.bool)
            ss += (((out.dec.x.float() - xb.float()) ** 2) * hit).sum(0).double()
            cnt += hit.sum(0).double()
            enc = out.enc
            stats.append((torch.sigmoid(enc.free_logits.float()) if model.config.binary_latents else enc.mu).cpu())
    if was_training:
        model.train()
    model.voxel_sigma.copy_(torch.sqrt(ss / cnt.clamp(min=1.0)).to(model.voxel_sigma.dtype))
    res = {k: v / n for k, v in sums.items()}
    q = torch.cat(stats)
    au = active_units(q, binary=model.config.binary_latents)
    res["active_units"], res["active_fraction"], res["unit_entropy"] = au["n_active"], au["fraction"], au["mean_entropy"]
    res["informative_units"] = (int((q.var(dim=0, unbiased=False) > 0.01).sum()) if model.config.binary_latents
                                else au["n_active"])
    res["select"] = res["ahep"] + res.get("flow", 0.0)
    return res


def __dir__():
    return __all__
