"""Data-parallel training across processes (``torchrun``): DistributedDataParallel for every parameter.

``torchrun --nproc-per-node N -m calolib train ...`` starts ``N`` processes with ``RANK``, ``WORLD_SIZE``
and ``LOCAL_RANK`` set; :func:`setup` turns that into a :class:`DistContext` (NCCL and one GPU per rank on
CUDA, Gloo on the CPU).  Without those variables (or with ``WORLD_SIZE=1``) the context is a single
process and every method below is a no-op, so :func:`calolib.training.train` has one code path.

What is split and what is shared:

* **the global batch**: ``batch_size`` is the global batch; rank ``r`` trains on its ``r``-th contiguous
  slice of each batch (``batch_size / N`` events), so the data order is the single-process one;
* **the negative phase**: ``n_neg_chains / N`` persistent Gibbs chains per rank, each rank with its own
  seed, so the union of the ranks' chains is the single-process chain count;
* **gradients**: the loss terms ``ae, hits, ent, pos, neg`` are computed *inside* the forward of a
  :class:`LossModule` (encoder -> relaxation -> decoder, then the RBM energies of the encodings and of the
  chains), and that module is what DistributedDataParallel wraps.  The RBM's gradient comes from
  ``pos - neg``, outside the networks' forward; putting the energies in the wrapped forward makes DDP see
  the RBM parameters as used, so their gradients are all-reduced like the networks' (and
  ``find_unused_parameters`` handles the two-stage scheme, whose stages leave one side idle).  With equal
  shards the averaged gradient equals the single-process gradient of the global batch;
* **the centred RBM update** fills ``.grad`` by hand; it runs on the all-gathered encodings and chains
  (:meth:`DistContext.gather`), so every rank computes the global update and the same centring offsets;
* **the logged training terms** are summed over ranks (:meth:`DistContext.reduce_sum`);
* **checkpoints**: rank 0 writes ``last.pt``/``best.pt``/history (:attr:`DistContext.is_main`); the file's
  ``chains`` entry holds the union of all ranks' chains (a single process resumes it or generates from it
  like any checkpoint) and a ``ddp`` entry holds each rank's chains and RNG states, so a resume with the
  same number of ranks continues every rank exactly (:meth:`DistContext.local_state`).

Example:
    >>> ctx = setup("cpu", env={})
    >>> ctx.world_size, ctx.is_main, ctx.shard(torch.arange(6)).tolist()
    (1, True, [0, 1, 2, 3, 4, 5])
"""
from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import torch
from torch import nn

from calolib.errors import ConfigError

__all__ = ["DistContext", "LossModule", "setup", "is_distributed_launch"]


def __dir__():
    return __all__


def is_distributed_launch(env: Mapping[str, str] | None = None) -> bool:
    """True when the process was started by ``torchrun`` (or another launcher) with ``WORLD_SIZE > 1``.

    Example:
        >>> is_distributed_launch({"WORLD_SIZE": "2", "RANK": "0"}), is_distributed_launch({})
        (True, False)
    """
    env = os.environ if env is None else env
    try:
        return int(env.get("WORLD_SIZE", "1")) > 1
    except ValueError:
        return False


class LossModule(nn.Module):
    """The QVAE's loss terms as one module forward: what DistributedDataParallel wraps.

    ``forward(x (B, V), e_inc (B,) MeV, neg_z (C, N), beta=..., train_networks=True)`` returns
    ``(ForwardOutput, terms)`` with ``terms`` the dict of :meth:`calolib.models.QVAE.loss_terms`.  The
    networks run under ``autocast()`` (bfloat16 on CUDA when asked), the terms in float32.  With
    ``train_networks=False`` (the RBM stage of the two-stage scheme) the networks run under ``no_grad``
    and only the RBM energies carry gradients.

    Example:
        >>> from calolib.models import QVAE, ModelConfig
        >>> m = QVAE(ModelConfig(rbm_sizes=(4, 4, 4, 4), encoder_hidden=(8,), decoder_hidden=(8,)))
        >>> out, terms = LossModule(m)(torch.zeros(2, 6480), torch.tensor([1e3, 1e5]), torch.zeros(3, 16))
        >>> sorted(terms), out.dec.x.shape
        (['ae', 'ent', 'hits', 'neg', 'pos'], torch.Size([2, 6480]))
    """

    def __init__(self, model: nn.Module, autocast: Callable[[], contextlib.AbstractContextManager] | None = None):
        super().__init__()
        self.model = model
        self._autocast = autocast or contextlib.nullcontext

    def forward(self, x: torch.Tensor, e_inc: torch.Tensor, neg_z: torch.Tensor | None, beta: float | None = None,
                train_networks: bool = True, layer_e: torch.Tensor | None = None):
        grad = contextlib.nullcontext() if train_networks else torch.no_grad()
        with grad, self._autocast():
            out = self.model(x, e_inc, layer_e=layer_e, beta=beta)
        return out, self.model.loss_terms(x, e_inc, out, neg_z, layer_e=layer_e)


@dataclass
class DistContext:
    """Where this process sits in a data-parallel job (``world_size == 1``: a plain single process).

    Attributes:
        rank, world_size, local_rank: from ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``.
        backend: ``"nccl"``, ``"gloo"`` or ``""`` (single process).
        device: this rank's device (``cuda:LOCAL_RANK`` on GPUs).
        owns_group: the process group was created here (and :meth:`close` destroys it).
    """

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    backend: str = ""
    device: torch.device = torch.device("cpu")
    owns_group: bool = False

    @property
    def active(self) -> bool:
        """More than one rank."""
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """Rank 0: the one that writes files and prints."""
        return self.rank == 0

    # ------------------------------------------------------------------ config and seeds
    def check_config(self, config) -> None:
        """ConfigError unless ``batch_size`` and ``n_neg_chains`` split evenly over the ranks."""
        n = self.world_size
        if config.batch_size % n:
            raise ConfigError(f"batch_size={config.batch_size} (the global batch) must be a multiple of the "
                              f"{n} ranks; set --set batch_size={max(n, config.batch_size // n * n)}")
        if config.n_neg_chains % n:
            raise ConfigError(f"n_neg_chains={config.n_neg_chains} must be a multiple of the {n} ranks; "
                              f"set --set n_neg_chains={max(n, config.n_neg_chains // n * n)}")

    def local_chains(self, config) -> tuple[int, int]:
        """``(n_chains, seed)`` of this rank's persistent chains: ``n_neg_chains / N`` chains, seed
        ``config.seed`` on rank 0 and a distinct one on every other rank.

        Example:
            >>> from calolib.training import TrainConfig
            >>> DistContext(rank=1, world_size=2).local_chains(TrainConfig(n_neg_chains=8, seed=3))
            (4, 1000006)
        """
        return config.n_neg_chains // self.world_size, int(config.seed) + 1_000_003 * self.rank

    def seed_rank(self, seed: int) -> None:
        """Give ranks > 0 their own global torch stream (relaxation noise); rank 0 keeps the single-process one."""
        if self.rank > 0:
            torch.manual_seed(int(seed) + 7_919 * self.rank)

    # ------------------------------------------------------------------ the step
    def loss_forward(self, model: nn.Module, autocast: Callable[[], contextlib.AbstractContextManager] | None = None,
                     *, find_unused: bool = True):
        """The callable that computes ``(out, terms)`` in training: a :class:`LossModule`, wrapped in
        DistributedDataParallel when there are several ranks (call after loading any checkpoint state).

        ``find_unused``: some steps leave parameters without a gradient (the two-stage scheme's stages);
        DDP then traverses the graph each step to find them.  ``False`` saves that traversal when every
        parameter is trained at every step (the joint scheme).  The buffers (preprocessing constants) are
        the same on every rank and are not re-broadcast at each forward.
        """
        module = LossModule(model, autocast)
        if not self.active:
            return module
        ids = [self.device.index] if self.device.type == "cuda" else None
        return nn.parallel.DistributedDataParallel(module, device_ids=ids, output_device=ids[0] if ids else None,
                                                   forward_sync_buffers=False, find_unused_parameters=find_unused)

    def shard(self, idx: torch.Tensor) -> torch.Tensor:
        """This rank's contiguous slice of a global batch of indices ``(B,)`` (``B / N`` each; a ragged
        remainder, possible only for a batch smaller than ``batch_size``, is dropped)."""
        if not self.active:
            return idx
        b = idx.shape[0] // self.world_size
        if b == 0:
            raise ConfigError(f"a batch of {idx.shape[0]} events cannot be split over {self.world_size} ranks; "
                              "use more events or fewer ranks")
        return idx[self.rank * b:(self.rank + 1) * b]

    def gather(self, *tensors: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Concatenate each tensor over the ranks along dim 0 (rank order; equal shapes per rank)."""
        if not self.active:
            return tensors
        import torch.distributed as dist

        out = []
        for t in tensors:
            t = t.detach().contiguous()
            parts = [torch.empty_like(t) for _ in range(self.world_size)]
            dist.all_gather(parts, t)
            out.append(torch.cat(parts, dim=0))
        return tuple(out)

    def reduce_sum(self, acc: torch.Tensor, n: int) -> tuple[torch.Tensor, int]:
        """Sum the epoch accumulators ``acc`` (a tensor) and the event count ``n`` over the ranks."""
        if not self.active:
            return acc, n
        import torch.distributed as dist

        packed = torch.cat([acc.detach().float().reshape(-1), torch.tensor([float(n)], device=acc.device)])
        dist.all_reduce(packed)
        return packed[:-1].reshape(acc.shape).to(acc.dtype), int(round(float(packed[-1])))

    def broadcast_flag(self, flag: bool) -> bool:
        """Rank 0's ``flag`` on every rank (e.g. a callback's request to stop)."""
        if not self.active:
            return bool(flag)
        import torch.distributed as dist

        t = torch.tensor([1.0 if flag else 0.0], device=self.device)
        dist.broadcast(t, src=0)
        return bool(t.item())

    # ------------------------------------------------------------------ checkpoint state
    def checkpoint_state(self, negatives) -> dict:
        """Entries that replace/extend a checkpoint's on rank 0 (collective: every rank must call it).

        Returns ``{"chains": union of the ranks' chains, "ddp": {"world_size", "chains": [...], "rng": [...]}}``
        on rank 0, ``{}`` elsewhere and for a single process.
        """
        if not self.active:
            return {}
        import torch.distributed as dist

        from calolib.training.checkpoint import rng_state

        mine = {"chains": negatives.state_dict() if negatives is not None else {}, "rng": rng_state()}
        gathered = [None] * self.world_size
        dist.all_gather_object(gathered, mine)
        if not self.is_main:
            return {}
        per_rank = [g["chains"] for g in gathered]
        if negatives is None:  # prior controls: no chains, only the RNG states
            return {"ddp": {"world_size": self.world_size, "chains": per_rank, "rng": [g["rng"] for g in gathered]}}
        union = dict(per_rank[0])
        union["chains"] = dict(per_rank[0]["chains"])
        union["chains"]["z"] = torch.cat([s["chains"]["z"] for s in per_rank], dim=0)
        return {"chains": union, "ddp": {"world_size": self.world_size, "chains": per_rank,
                                         "rng": [g["rng"] for g in gathered]}}

    def local_state(self, state: dict, negatives) -> dict:
        """The checkpoint ``state`` as this rank resumes it (pass it to the usual restore; ``state`` itself for
        a single process, which resumes the union of the chains).

        Same number of ranks as the writer: this rank's own chains and RNG states (exact resume).  Otherwise
        the union of the chains (``state["chains"]``) is cut into this job's shares (``negatives`` says how
        many chains a rank has); rank 0 keeps the saved RNG state, the other ranks get fresh streams seeded
        from ``(seed, epoch)`` and keep their own chain generators.
        """
        if not self.active:
            return state
        saved = state.get("ddp")
        if saved and saved.get("world_size") == self.world_size:
            return {**state, "chains": saved["chains"][self.rank], "rng": saved["rng"][self.rank]}
        if negatives is None:
            return state
        union = state["chains"]
        z_all = union["chains"]["z"]
        n = negatives.chains.n_chains
        if z_all.shape[0] < n * self.world_size:
            raise ConfigError(f"the checkpoint holds {z_all.shape[0]} chains, fewer than {n} x {self.world_size} "
                              "ranks; resume with the same n_neg_chains")
        chains = {**union["chains"], "z": z_all[self.rank * n:(self.rank + 1) * n]}
        rng = state["rng"]
        if self.rank > 0:  # this rank's own chain generator and a fresh global stream
            from calolib.training.checkpoint import rng_state

            chains.update({k: v for k, v in negatives.chains.state_dict().items() if k != "z"})
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(int(state.get("config", {}).get("seed", 0)) + 31 * int(state.get("epoch", 0))
                                  + 7_919 * self.rank)
                rng = {**rng_state(), **{k: v for k, v in state["rng"].items() if k == "cuda"}}
        return {**state, "chains": {**union, "chains": chains}, "rng": rng}

    def close(self) -> None:
        """Destroy the process group if :func:`setup` created it."""
        if self.owns_group:
            import torch.distributed as dist

            if dist.is_initialized():
                dist.barrier()  # no rank tears its connections down while another still talks to it
                dist.destroy_process_group()
            self.owns_group = False


def setup(device: str | torch.device = "auto", *, env: Mapping[str, str] | None = None) -> DistContext:
    """The :class:`DistContext` of this process: a data-parallel rank under ``torchrun``, else a single process.

    Under a launcher (``WORLD_SIZE > 1``) the process group is initialised here (unless it already is):
    NCCL with ``cuda:LOCAL_RANK`` when ``device`` resolves to CUDA, Gloo on the CPU.

    Args:
        device: ``"auto"``, ``"cpu"`` or ``"cuda"`` (as for :func:`calolib.training.train`).
        env: the environment to read (default ``os.environ``).
    """
    from calolib.device import resolve_device

    env = os.environ if env is None else env
    dev = resolve_device(device)
    if not is_distributed_launch(env):
        return DistContext(device=dev)
    import torch.distributed as dist

    rank = int(env.get("RANK", "0"))
    local = int(env.get("LOCAL_RANK", str(rank)))
    if dev.type == "cuda":
        if torch.cuda.device_count() <= local:
            raise ConfigError(f"rank {rank} needs GPU {local} but torch sees {torch.cuda.device_count()}; "
                              "start fewer processes per node (--nproc-per-node) or train with --device cpu")
        dev = torch.device("cuda", local)
        torch.cuda.set_device(dev)
        backend = "nccl"
    else:
        backend = "gloo"
    owns = False
    if not dist.is_initialized():
        dist.init_process_group(backend=backend)
        owns = True
    return DistContext(rank=dist.get_rank(), world_size=dist.get_world_size(), local_rank=local,
                       backend=dist.get_backend(), device=dev, owns_group=owns)
