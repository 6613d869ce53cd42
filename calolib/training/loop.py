"""The QVAE training loop: ``train(config, data_path, out_dir)``.

Run it::

    calolib train --data data/synthetic_ds2.h5 --out runs/quick --preset quick
    calolib train --data data/synthetic_ds2.h5 --out runs/quick --resume --epochs 20   # continue / extend
    calolib train --data data/synthetic_ds2.h5 --out runs/ts --set scheme=two_stage --set ae_epochs=5
    python -c "from calolib.training import train, get_preset; train(get_preset('quick'), 'data/synthetic_ds2.h5', 'runs/q')"
    torchrun --nproc-per-node 2 -m calolib train --data ... --out runs/ddp   # DDP: calolib.training.distributed

One optimisation step (joint scheme) on a batch ``x (B, V)`` of preprocessed voxels with energies ``e (B,)``::

    out   = model(x, e)                                  # encode -> relaxed zeta -> decode
    neg_z = chains.run(gibbs_sweeps)                     # persistent Gibbs chains of the RBM prior (PCD)
    terms = model.loss_terms(x, e, out, neg_z)           # ae, hits, ent, pos, neg
    loss  = ae + hits + kl_weight(t) * (ent + pos - neg) # KL annealing; AdamW, LR schedule, grad clipping
            (+ model.config.esum_weight * esum, the energy-sum term, when that weight is > 0)

The two-stage scheme (seed 004) first trains only the autoencoder (``ae + hits``) for ``ae_epochs``,
then only the RBM on the frozen hard encodings (``pos + neg``), optionally with the centred gradient
of Melchior et al. (2016).  After every epoch: validation under ``torch.no_grad()``/``model.eval()``
(with a fixed seed, so epochs are comparable), a row in ``history.csv``/``history.json``, an atomic
``last.pt`` and, when the validation AHEP = AE + Hits + Ent + Pos improved (seed 001), ``best.pt``
(two_stage: compared only among epochs of the same stage, so best.pt ends in the RBM stage).
Everything random is either restored from the checkpoint or derived from ``(seed, epoch, step)``,
so a resumed CPU run reproduces the uninterrupted one exactly.
"""
from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch

from calolib.errors import CalolibError, CheckpointError, ConfigError
from calolib.training.checkpoint import FORMAT, FORMAT_VERSION, build_model, read_checkpoint, rng_state
from calolib.training.config import TrainConfig, config_from_dict, config_to_dict
from calolib.training.data import TrainingData, batch_order, load_training_data
from calolib.training.distributed import setup as setup_distributed
from calolib.training.history import write_history
from calolib.training.rundir import (check_new_run, check_resumable, check_run_memory, check_same_data, commit_epoch,
                                     guarded_run_dir, repair_run_dir, restore_training_state, write_config_json)
from calolib.training.monitor import generation_check, rbm_log_likelihood
from calolib.training.schedules import schedule_values
from calolib.training.steps import (NegativePhase, beta_target, centred_frame, centred_rbm_step, evaluate,
                                    stage_loss, term_names)

__all__ = ["TrainResult", "train", "BEST_CRITERION"]

#: How best.pt is chosen (stored in every checkpoint as ``best_criterion``).
BEST_CRITERION = ("lowest validation select = AHEP (AE + Hits + Ent + Pos, seed 001) + the energy flow's NLL "
                  "(factorised model only), among the epochs of the current training stage")


@dataclass(frozen=True)
class TrainResult:
    """What :func:`train` returns.

    Attributes:
        history: one dict per epoch (row 0 is the untrained model's validation).
        best_path, last_path: ``RUN_DIR/best.pt`` and ``RUN_DIR/last.pt``.
        out_dir: the run directory.
        config: the config trained with.
        best_val: best validation AHEP.
        epochs_run: epochs trained in this call (0 when a finished run is resumed without more epochs).
        train_time_s: wall time of this call's epochs.
    """

    history: list[dict]
    best_path: Path
    last_path: Path
    out_dir: Path
    config: TrainConfig
    best_val: float
    epochs_run: int
    train_time_s: float
    stopped_early: bool = False
    extra: dict = field(default_factory=dict)


def _stage(config: TrainConfig, epoch: int) -> str:
    if config.scheme == "joint":
        return "joint"
    return "ae" if epoch < config.ae_epochs else "rbm"


def _amp(config: TrainConfig, device: torch.device):
    if config.amp and device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def _resume_state(out_dir: Path, config: TrainConfig | None) -> tuple[dict, TrainConfig]:
    last = out_dir / "last.pt"
    state = read_checkpoint(last)
    for key in ("config", "model", "optimizer", "transform", "rng", "chains", "epoch", "history"):
        if key not in state:
            raise CheckpointError(f"{last} lacks '{key}' and cannot be resumed; start a new run in another --out")
    saved = config_from_dict(state["config"])
    if config is None:
        config = saved
    elif config.model != saved.model:
        raise CheckpointError(f"{last} was trained with another model architecture; resume with its config "
                              f"(omit --config/--set model.*) or start a new run in another --out")
    return state, config


@guarded_run_dir  # [reliability] one training per run dir (lock), stale temp files removed, no empty dir on failure
def train(config: TrainConfig | None, data_path: str | Path, out_dir: str | Path, *, resume: bool = False,
          device: str | torch.device = "auto", progress: bool = True,
          callbacks: Sequence[Callable[[int, dict], object]] | None = None) -> TrainResult:
    """Train a QVAE on a CaloChallenge file; checkpoints and history go to ``out_dir``.

    Args:
        config: the :class:`TrainConfig` (``None`` with ``resume=True``: the run's saved config).
        data_path: CaloChallenge HDF5 file (the last ``val_fraction`` of its events validate).
        out_dir: run directory; receives ``last.pt``, ``best.pt``, ``history.csv``/``.json``, ``config.json``.
        resume: continue the run in ``out_dir`` from ``last.pt`` (optimiser, RNGs, chains, history restored)
            up to ``config.epochs``; a finished run is extended when ``epochs`` grew.  Without a ``last.pt``
            a new run starts.  The model architecture must match the checkpoint's.
        device: ``"auto"``, ``"cpu"`` or ``"cuda"``.
        progress: tqdm bars and a line per epoch.
        callbacks: called as ``cb(epoch, row)`` after each epoch is saved; a truthy return stops training.

    Returns:
        :class:`TrainResult`.
    """
    from tqdm.auto import tqdm

    from calolib import __version__
    from calolib.device import resolve_device
    from calolib.shapes import transform_from_dict

    dev = resolve_device(device)
    ddp = setup_distributed(dev)  # [ddp] a rank under torchrun (its own device), else a no-op single process
    dev, progress = ddp.device, progress and ddp.is_main
    out_dir = Path(out_dir)
    last_path, best_path = out_dir / "last.pt", out_dir / "best.pt"
    state = None
    if resume and last_path.is_file():
        state, config = _resume_state(out_dir, config)
        check_resumable(last_path, state)  # [reliability] counters consistent, no NaN/inf in any tensor
    elif config is None:
        raise ConfigError("train() needs a config unless it resumes a run that has a last.pt")
    elif last_path.exists() and not resume:
        raise ConfigError(f"{out_dir} already holds a run (last.pt); pass --resume to continue it or choose another --out")
    else:
        check_new_run(out_dir)  # [reliability] never replace a best.pt/history that has no last.pt
    ddp.check_config(config)  # [ddp] global batch and chains split evenly over the ranks
    check_run_memory(config, dev)  # [reliability] chains that cannot fit: one line, not an allocation traceback
    out_dir.mkdir(parents=True, exist_ok=True)

    transform = transform_from_dict(state["transform"]) if state else None
    mcfg = config.model
    data: TrainingData = load_training_data(data_path, val_fraction=config.val_fraction, max_events=config.max_events,
                                            transform=transform, geometry=mcfg.geometry,
                                            layer_shapes=mcfg.energy_model == "flow",
                                            threshold_mev=mcfg.readout_threshold_mev)
    transform = data.transform
    if state:
        check_same_data(last_path, state, data, data_path)  # [reliability] resume only on the run's own data
    if not state:
        torch.manual_seed(config.seed)
    model = build_model(config, transform, dev)
    if not state and model.energy_flow is not None:
        model.energy_flow.fit_stats(data.e_train, data.l_train, seed=config.seed)
    # the energy flow has its own parameter group (learning rate flow_lr) and its own gradient clipping
    flow_params = list(model.energy_flow.parameters()) if model.energy_flow is not None else []
    flow_ids = {id(p) for p in flow_params}
    params = [p for p in model.parameters() if id(p) not in flow_ids]
    groups = [{"params": params}] + ([{"params": flow_params, "weight_decay": 0.0}] if flow_params else [])
    opt = torch.optim.AdamW(groups, lr=config.lr, weight_decay=config.weight_decay)
    flow_lr_factor = (config.flow_lr / config.lr) if config.flow_lr > 0 else 1.0
    n_chains, chain_seed = ddp.local_chains(config)  # [ddp] n_neg_chains / N chains per rank, own seed
    negatives = NegativePhase(model, n_chains, seed=chain_seed) if model.has_rbm else None  # controls: none
    if state:  # [reliability] shapes/types checked, one line if they do not fit; then best.pt/history repaired
        # [ddp] each rank resumes its own chains and RNG streams (ddp.local_state is `state` for one process)
        epoch, step, history, best_val = restore_training_state(last_path, ddp.local_state(state, negatives), model,
                                                                opt, negatives)
        if ddp.is_main:  # [ddp] rank 0 writes
            repair_run_dir(out_dir, state)
    else:
        epoch, step, history, best_val = 0, 0, [], math.inf
        ddp.seed_rank(config.seed)  # [ddp] ranks > 0 draw their own relaxation noise
    if ddp.is_main:  # [ddp] rank 0 writes
        write_config_json(out_dir, config, state)  # [reliability] not rewritten by a resume with nothing to train (M9)
    # [ddp] the loss terms as one module forward (DistributedDataParallel over every parameter, RBM included)
    forward_terms = ddp.loss_forward(model, lambda: _amp(config, dev), find_unused=config.scheme != "joint"
                                     or getattr(model.config, "prior", "rbm") != "rbm")

    def val_row() -> dict:
        return {f"val_{k}": v for k, v in
                evaluate(model, data.x_val, data.e_val, negatives, config, dev, layer_e=data.l_val).items()}

    if not history:  # row 0: the untrained model, the yardstick for "it learns"
        row0 = {"epoch": 0, "stage": _stage(config, 0), "step": 0, **val_row()}
        history.append(row0)
        if ddp.is_main:  # [ddp]
            write_history(out_dir, history)

    if dev.type == "cuda":  # whole splits on the GPU when they fit (ds2: 100k events = 2.6 GB)
        try:
            data.x_train, data.e_train = data.x_train.to(dev), data.e_train.to(dev)
            if data.l_train is not None:
                data.l_train = data.l_train.to(dev)
        except torch.OutOfMemoryError:
            torch.cuda.empty_cache()
    n_train = data.x_train.shape[0]
    names, esum_weight = term_names(model), model.config.esum_weight
    start_epoch, t_start, stopped = epoch, time.perf_counter(), False
    epoch_bar = tqdm(range(epoch, config.epochs), desc="epochs", disable=not progress, initial=epoch,
                     total=config.epochs, leave=True)
    for epoch in epoch_bar:
        t0 = time.perf_counter()
        stage = _stage(config, epoch)
        model.train()
        order = batch_order(n_train, config.batch_size, seed=config.seed, epoch=epoch)
        acc = torch.zeros(len(names) + 2, device=dev)  # sum over events of (*names, loss, grad_norm)
        n_seen = 0
        bar = tqdm(order, desc=f"epoch {epoch + 1}", disable=not progress, leave=False)
        for i, idx in enumerate(bar):
            t = epoch + i / len(order)
            sv = schedule_values(t, config, beta_target=beta_target(model))
            lr = sv["lr"] if stage != "rbm" or config.rbm_lr == 0 else sv["lr"] * config.rbm_lr / config.lr
            opt.param_groups[0]["lr"] = lr
            if flow_params:
                opt.param_groups[1]["lr"] = sv["lr"] * flow_lr_factor
            beta = sv["beta"]
            idx = ddp.shard(idx).to(data.x_train.device)  # [ddp] this rank's slice of the global batch
            x = data.x_train[idx].to(dev, non_blocking=True)  # (B, V)
            e = data.e_train[idx].to(dev, non_blocking=True)  # (B,) MeV
            le = data.l_train[idx].to(dev, non_blocking=True) if data.l_train is not None else None  # (B, L) MeV
            opt.zero_grad(set_to_none=True)
            if stage == "rbm" and config.centred:
                with torch.no_grad(), _amp(config, dev):
                    out = model(x, e, layer_e=le, beta=beta)
                neg_z = negatives.step(e, config.gibbs_sweeps)
                terms = model.loss_terms(x, e, out, neg_z, layer_e=le)
                # [ddp] the centred update on the encodings and chains of all ranks (identical on every rank)
                loss = centred_rbm_step(model.rbm, *ddp.gather(out.enc.z, neg_z), negatives, config.centring_rate)
            else:
                neg_z = (None if negatives is None else
                         negatives.step(e, config.gibbs_sweeps) if stage != "ae" else negatives.z)
                # networks (bfloat16 on CUDA with amp) then the loss terms in float32; the rbm stage keeps
                # the networks frozen.  [ddp] forward_terms is the DDP-wrapped LossModule under torchrun.
                out, terms = forward_terms(x, e, neg_z, beta=beta, train_networks=stage != "rbm", layer_e=le)
                loss = stage_loss(terms, stage, sv["kl_weight"], esum_weight)
                loss.backward()
            if not torch.isfinite(loss.detach()):
                kept = "last.pt holds the last good epoch" if last_path.exists() else "no epoch was saved"
                raise CalolibError(f"training diverged at epoch {epoch + 1} step {step} (loss={loss.item()}); "
                                   f"check the data (calolib data check), lower lr or set grad_clip; {kept}")
            # centred RBM update: the optimiser steps in the centred parametrisation (see centred_frame)
            centred = stage == "rbm" and config.centred
            with centred_frame(model.rbm, negatives.mu) if centred else contextlib.nullcontext():
                gn = torch.nn.utils.clip_grad_norm_(params, config.grad_clip if config.grad_clip > 0 else math.inf)
                if flow_params:
                    torch.nn.utils.clip_grad_norm_(flow_params, config.grad_clip if config.grad_clip > 0 else math.inf)
                opt.step()
            step += 1
            b = x.shape[0]
            n_seen += b
            # accumulate on the device: no host sync per step on CUDA
            acc += torch.stack([*(terms[k].detach().float() for k in names), loss.detach().float(),
                                gn.detach().float().to(dev)]) * b
            if progress and i % 10 == 0:
                bar.set_postfix(loss=f"{float(loss):.4g}", ae=f"{float(terms['ae']):.4g}")
        acc, n_seen = ddp.reduce_sum(acc, n_seen)  # [ddp] logged terms over all ranks
        train_time = time.perf_counter() - t0
        sv = schedule_values(epoch + 1, config, beta_target=beta_target(model))
        row = {"epoch": epoch + 1, "stage": stage, "step": step, "lr": lr, "kl_weight": sv["kl_weight"],
               "beta": beta,
               **{f"train_{k}": float(v) / max(n_seen, 1) for k, v in zip((*names, "loss", "grad_norm"), acc.tolist())}}
        row["train_ahep"] = sum(row[f"train_{k}"] for k in ("ae", "hits", "ent", "pos"))
        row.update(val_row())
        if config.log_rbm_ll and model.has_rbm:
            row.update(rbm_log_likelihood(model, data.x_val, data.e_val, negatives, config, dev, seed=config.seed + epoch,
                                          l_val=data.l_val))
        if config.gen_check_events:
            row.update(generation_check(model, transform, data.x_val, data.e_val, config.gen_check_events, dev,
                                        seed=config.seed + epoch, l_val=data.l_val))
        row["time_s"] = train_time
        row["samples_per_s"] = n_seen / max(train_time, 1e-9)
        history.append(row)
        # best.pt: the lowest validation AHEP among the trained epochs of the current stage, so in two_stage
        # runs the first RBM-stage epoch always replaces an AE-stage best (AHEP is not comparable across the
        # switch: Pos changes with the RBM and ln Z is left out); joint runs have a single stage.
        stage_vals = [r.get("val_select", r["val_ahep"]) for r in history[1:-1] if r.get("stage") == stage]
        improved = row["val_select"] < min(stage_vals, default=math.inf)
        if improved:
            best_val = row["val_select"]
        ckpt = {"format": FORMAT, "format_version": FORMAT_VERSION, "version": __version__,
                "config": config_to_dict(config), "model": model.state_dict(), "optimizer": opt.state_dict(),
                "scheduler": {"kind": "pure-function-of-epoch", "t": float(epoch + 1)},
                "rng": rng_state(), "chains": negatives.state_dict() if negatives is not None else {},
                "transform": transform.to_dict(), "best_criterion": BEST_CRITERION,
                "epoch": epoch + 1, "step": step, "best_val": best_val, "history": history,
                "data": {"path": str(data_path), "n_train": n_train, "n_val": int(data.x_val.shape[0])}}
        ckpt.update(ddp.checkpoint_state(negatives))  # [ddp] all ranks' chains and RNG states (collective)
        if ddp.is_main:  # [ddp] rank 0 writes
            commit_epoch(out_dir, ckpt, improved, data=data)  # [reliability] last.pt (commit point), best.pt, history
        if progress:
            epoch_bar.write(f"epoch {epoch + 1}/{config.epochs} [{stage}] train loss {row['train_loss']:.4g} "
                            f"val ae {row['val_ae']:.4g} hits {row['val_hits']:.4g} ahep {row['val_ahep']:.4g} "
                            f"({train_time:.1f} s{', best' if improved else ''})")
        stop = bool(callbacks) and ddp.is_main and any(bool(cb(epoch + 1, row)) for cb in callbacks)
        if ddp.broadcast_flag(stop):  # [ddp] callbacks run on rank 0; its decision holds for all
            stopped = True
            break
    epoch_bar.close()
    ddp.close()  # [ddp]
    epochs_done = int(history[-1]["epoch"])
    return TrainResult(history=history, best_path=best_path, last_path=last_path, out_dir=out_dir, config=config,
                       best_val=best_val, epochs_run=epochs_done - start_epoch,
                       train_time_s=time.perf_counter() - t_start, stopped_early=stopped)



def __dir__():
    return __all__
