"""Generation throughput (showers/s) at batch sizes 1..10^4, and training throughput (samples/s).

Uses the untrained ``quick`` model (``--model CHECKPOINT`` for a trained one): throughput does not
depend on the weights.  Generation = Gibbs prior sampling (``--gibbs-steps`` sweeps, clamped condition)
+ decoding + inverse preprocessing, exactly :func:`calolib.generation.generate`.  Training = one full
optimisation step of :func:`calolib.training.train` (forward, PCD negative phase, loss, backward, AdamW)
on random preprocessed batches.  Target on 2 CPU cores: >= 1,000 ds2 showers/s at large batch.
Rates are given per wall-clock second and per CPU second of this process (the latter stays meaningful
on a machine shared with other jobs; on an idle machine wall rate ~ CPU rate x threads in use).

Run: ``calolib bench generate [--device cuda] [--max-batch 10000] [--model runs/quick/best.pt]``.
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch

__all__ = ["add_arguments", "run", "BATCH_SIZES"]

BATCH_SIZES = (1, 10, 100, 1000, 10000)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", default=None, help="checkpoint to benchmark (default: untrained quick model)")
    parser.add_argument("--max-batch", type=int, default=10000, help="largest batch size (default 10000)")
    parser.add_argument("--gibbs-steps", type=int, default=100, help="Gibbs sweeps per sample (default 100)")
    parser.add_argument("--sampler", default="gibbs", help="prior sampler (default gibbs)")
    parser.add_argument("--min-time", type=float, default=1.0, help="repeat each size for at least this long, s")
    parser.add_argument("--train-steps", type=int, default=10, help="timed training steps (default 10; 0 = skip)")
    parser.add_argument("--train-batch", type=int, default=None, help="training batch size (default: the config's)")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (default 0: torch's default)")


def _model(args, dev):
    if args.model:
        from calolib.training import load_checkpoint

        ck = load_checkpoint(args.model, device=dev)
        return ck.model, ck.transform, ck.config, args.model
    from calolib.training import get_preset
    from calolib.training.checkpoint import build_model, fit_transform

    config = get_preset("quick")
    rng = np.random.default_rng(0)
    e = np.exp(rng.uniform(np.log(1e3), np.log(1e6), 256))
    v = (rng.random((256, 6480)) < 0.2) * rng.exponential(1.0, (256, 6480)) * (0.025 * e / 1296)[:, None]
    transform = fit_transform(config.model, e, v)
    return build_model(config, transform, dev), transform, config, "untrained quick preset"


def _sync(dev):
    return torch.cuda.synchronize if dev.type == "cuda" else None


def _time_generation(model, transform, dev, batch, args) -> tuple[float, float]:
    from calolib.generation import generate, sample_energies

    e = sample_energies(batch, seed=batch)
    sync = _sync(dev)

    def once():
        generate(model, transform, e, sampler=args.sampler, n_gibbs_steps=args.gibbs_steps, batch_size=batch,
                 seed=0, device=dev)
        if sync:
            sync()

    once()  # warm-up
    n, t0, c0 = 0, time.perf_counter(), time.process_time()
    while True:
        once()
        n += 1
        dt = time.perf_counter() - t0
        if dt >= args.min_time:
            return n * batch / dt, n * batch / max(time.process_time() - c0, 1e-9)


def _time_training(model, config, dev, args) -> float:
    from calolib.training.steps import NegativePhase, stage_loss

    b = args.train_batch or config.batch_size
    g = torch.Generator().manual_seed(0)
    x = torch.randn(b, model.n_voxels, generator=g).to(dev)
    e = torch.exp(torch.empty(b).uniform_(np.log(1e3), np.log(1e6), generator=g)).to(dev)
    layer_e = (torch.rand(b, model.layer_mean.shape[0], generator=g).to(dev) * 10.0) if model.is_factorised else None
    model.train()
    neg = NegativePhase(model, config.n_neg_chains, seed=0) if model.has_rbm else None
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    sync = _sync(dev)

    def step():
        nz = neg.step(e, config.gibbs_sweeps) if neg is not None else None
        out = model(x, e, layer_e=layer_e)
        loss = stage_loss(model.loss_terms(x, e, out, nz, layer_e=layer_e), "joint", 1.0,
                          esum_weight=model.config.esum_weight)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        opt.step()
        if sync:
            sync()

    step()
    t0, c0 = time.perf_counter(), time.process_time()
    for _ in range(args.train_steps):
        step()
    model.eval()
    n = args.train_steps * b
    return n / (time.perf_counter() - t0), n / max(time.process_time() - c0, 1e-9)


def run(args) -> dict:
    from calolib.device import resolve_device

    dev = resolve_device(args.device)
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    model, transform, config, source = _model(args, dev)
    sizes = [b for b in BATCH_SIZES if b <= args.max_batch]
    per_batch, per_cpu = {}, {}
    for b in sizes:
        per_batch[str(b)], per_cpu[str(b)] = _time_generation(model, transform, dev, b, args)
    train_rate, train_cpu = _time_training(model, config, dev, args) if args.train_steps > 0 else (None, None)
    best = max(per_batch.values()) if per_batch else None
    return {
        "summary": {
            "device": str(dev),
            "model": source,
            "sampler": args.sampler,
            "gibbs_steps": args.gibbs_steps,
            "generate_showers_per_s": {k: round(v, 1) for k, v in per_batch.items()},
            "best_showers_per_s": None if best is None else round(best, 1),
            "target_showers_per_s": 1000,
            "train_samples_per_s": None if train_rate is None else round(train_rate, 1),
            # per second of this process's CPU time (all threads): robust to other load on a shared machine
            "generate_showers_per_cpu_s": {k: round(v, 1) for k, v in per_cpu.items()},
            "train_samples_per_cpu_s": None if train_cpu is None else round(train_cpu, 1),
            "torch_threads": torch.get_num_threads(),
        },
        "rbm_sizes": list(model.config.rbm_sizes),
        "n_parameters": model.n_parameters,
    }


def __dir__():
    return __all__
