"""One data-parallel gradient step per training stage, for tests/test_distributed.py.

Run under ``torchrun --nproc-per-node 2 tests/ddp_grad_worker.py OUT_DIR``: every rank builds the same tiny
QVAE and the same global batch, takes its shard, computes the stage's loss through
``DistContext.loss_forward`` (DistributedDataParallel) and writes its gradients (after DDP's all-reduce)
and the gradients of its shard alone (no synchronisation) to ``OUT_DIR/rank<r>.pt``.  The relaxation noise
is a fixed function of the event index (:func:`event_noise`), so a single process on the whole batch
draws exactly the uniforms the ranks drew for their events.
"""
from __future__ import annotations

import sys
from pathlib import Path

import torch

B, C = 8, 8  # global batch and global negative chains
KL_WEIGHT = 0.7
CASES = ("joint", "rbm", "centred", "ae")


def build_problem(seed: int = 0):
    """``(config, model, x (B, V), e (B,) MeV, neg_z (C, N))``; identical in every process."""
    from calolib.models import QVAE
    from calolib.training.testing import tiny_config

    config = tiny_config(batch_size=B, n_neg_chains=C, model={"esum_weight": 10.0, "relax_beta": 8.0})
    model = QVAE(config.model)
    g = torch.Generator().manual_seed(seed + 1)
    x = torch.randn(B, model.n_voxels, generator=g)
    e = torch.exp(torch.empty(B).uniform_(6.9, 13.8, generator=g))
    neg_z = (torch.rand(C, model.n_latent, generator=g) < 0.3).float()
    with torch.no_grad():  # make the RBM's own gradient non-trivial
        for p in model.rbm.parameters():
            p.add_(0.05 * torch.randn(p.shape, generator=g))
    mean = torch.zeros(model.n_voxels)
    model.set_preprocessing(mean=mean, std=torch.ones(model.n_voxels), delta=1e-6)
    model.set_empty_value(torch.full((model.n_voxels,), -2.0))
    return config, model, x, e, neg_z


class event_noise:
    """Patch for ``calolib.models.relaxations.uniform_like``: the ``k``-th call returns rows ``rows`` of a
    fixed ``(B, n)`` array of uniforms seeded by ``k``, so each event gets the same noise in any shard."""

    def __init__(self, rows: slice):
        self.rows, self.calls = rows, 0

    def __call__(self, logits, generator=None):
        g = torch.Generator().manual_seed(1000 + self.calls)
        self.calls += 1
        full = torch.rand(B, logits.shape[1], generator=g, dtype=torch.float32).clamp(1e-6, 1 - 1e-6)
        rho = full[self.rows]
        assert rho.shape == logits.shape, (rho.shape, logits.shape)
        return rho.to(logits.device)

    def __enter__(self):
        import calolib.models.relaxations as relaxations

        self._orig, relaxations.uniform_like = relaxations.uniform_like, self
        return self

    def __exit__(self, *exc):
        import calolib.models.relaxations as relaxations

        relaxations.uniform_like = self._orig


def grads(model) -> dict[str, torch.Tensor | None]:
    return {k: None if p.grad is None else p.grad.detach().clone() for k, p in model.named_parameters()}


def step(case: str, ctx, rows: slice, *, sync: bool) -> dict:
    """Gradients of one step of ``case`` on events ``rows`` (``sync``: through DDP / the gathered batch)."""
    from calolib.training.distributed import LossModule
    from calolib.training.steps import NegativePhase, centred_rbm_step, stage_loss

    config, model, x, e, neg_z = build_problem()
    n = (rows.stop - rows.start) * C // B
    neg = neg_z[rows.start * C // B: rows.start * C // B + n]
    xs, es = x[rows], e[rows]
    forward = ctx.loss_forward(model, find_unused=case != "joint") if sync else LossModule(model)
    with event_noise(rows) as noise:
        if case == "centred":
            with torch.no_grad():
                out = model(xs, es)
            negatives = NegativePhase(model, 4, seed=0)
            z_data, z_model = ctx.gather(out.enc.z, neg) if sync else (out.enc.z, neg)
            centred_rbm_step(model.rbm, z_data, z_model, negatives, 0.5)
        else:  # two iterations: DDP must also accept the second one (e.g. no "unfinished reduction")
            for _ in range(2):
                model.zero_grad(set_to_none=True)
                noise.calls = 0
                _, terms = forward(xs, es, neg, beta=None, train_networks=case != "rbm")
                stage_loss(terms, case, KL_WEIGHT, model.config.esum_weight).backward()
    return grads(model)


def main(out_dir: str) -> None:
    from calolib.training.distributed import setup

    torch.set_num_threads(1)
    ctx = setup("cpu")
    b = B // ctx.world_size
    rows = slice(ctx.rank * b, (ctx.rank + 1) * b)
    result = {"rank": ctx.rank, "world_size": ctx.world_size, "backend": ctx.backend}
    for case in CASES:
        result[case] = {"synced": step(case, ctx, rows, sync=True), "local": step(case, ctx, rows, sync=False)}
    torch.save(result, Path(out_dir) / f"rank{ctx.rank}.pt")
    ctx.close()


if __name__ == "__main__":
    main(sys.argv[1])
