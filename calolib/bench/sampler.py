"""Sampler throughput: spin updates per second of calolib's block Gibbs against its peers.

All samplers run on the same 4-partite RBM (default 4 x 302 units on a Zephyr mask, ~11,000
couplings) with the same number of chains, in the same process:

* ``calolib-gibbs``: :func:`calolib.samplers.gibbs_sample` (backend chosen automatically; sparse on CPU);
* ``calolib-gibbs-dense``: the same with a plain dense masked matmul per partition;
* ``calolib-gibbs-bf16``: bf16 matmuls (CUDA only);
* ``plugin-blocksampler``: dwave-pytorch-plugin's ``GraphRestrictedBoltzmannMachine`` + ``BlockSampler``
  (block Gibbs, 4-colouring = our partitions), same device;
* ``dwave-sa``: dwave-samplers' ``SimulatedAnnealingSampler`` (C++, sequential Metropolis, CPU).

Spin updates = chains x sweeps x N.  Each rate is the best of ``--repeats`` timed calls after a warm-up,
timed in interleaved rounds so that load changes hit every sampler alike.
The ratios against the plugin and SA are the headline numbers (targets: >= 10x plugin, >= 2x SA on CPU).
A bar chart is written next to the JSON.

On a shared machine run it with ``OMP_WAIT_POLICY=PASSIVE`` (set before Python starts): with the default
spin-waiting OpenMP threads, two torch threads on two busy cores were 40x slower than one thread
(measured 6e6 vs 2.5e8 spin updates/s).  ``--threads 1`` gives the equal-resources comparison with
single-threaded SA.

Example (tiny, a few seconds):
    calolib bench sampler --sizes 32 --chains 64 --sweeps 4 --repeats 1
"""
from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import torch

from calolib.bench import time_call

__all__ = ["add_arguments", "run", "plot_rates"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--sizes", type=int, default=302, help="units per partition (default 302 -> 4x302)")
    parser.add_argument("--topology", default="zephyr", help="full|chimera|pegasus|zephyr (default zephyr)")
    parser.add_argument("--chains", type=int, default=1024, help="parallel chains / SA reads (default 1024)")
    parser.add_argument("--sweeps", type=int, default=50, help="sweeps per timed call (default 50)")
    parser.add_argument("--repeats", type=int, default=3, help="timed calls per sampler; best is kept (default 3)")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    parser.add_argument("--skip", default="", help="comma-separated sampler names to skip")
    parser.add_argument("--plot", default=None, help="PNG path (default: next to the JSON, sampler.png)")
    parser.add_argument("--seed", type=int, default=0)


def _entry(name: str, seconds: float, chains: int, sweeps: int, n_units: int, **extra) -> dict:
    updates = chains * sweeps * n_units
    return {"name": name, "seconds": seconds, "spin_updates": updates, "spin_updates_per_s": updates / seconds, **extra}


def _ours(rbm, args, **kw):
    """(callable, facts) for calolib's block Gibbs."""
    from calolib.samplers import gibbs_sample
    from calolib.samplers.gibbs import BlockGibbsKernel

    kern = BlockGibbsKernel(rbm, **kw)
    return (lambda: gibbs_sample(rbm, args.chains, args.sweeps, seed=args.seed, **kw)), {"backend": kern.backend, "dtype": str(kern.dtype)}


def _plugin(rbm, args, device):
    """(callable, facts) for dwave-pytorch-plugin's GRBM + BlockSampler (Gibbs, our 4 partitions as colours)."""
    from dwave.plugins.torch.models.boltzmann_machine import GraphRestrictedBoltzmannMachine
    from dwave.plugins.torch.samplers.block_spin_sampler import BlockSampler

    h, j, _ = rbm.to_ising()
    part = {i: p for p in range(4) for i in range(rbm.offsets[p], rbm.offsets[p] + rbm.sizes[p])}
    grbm = GraphRestrictedBoltzmannMachine(list(h), list(j), linear=h, quadratic=j).to(device)
    sampler = BlockSampler(grbm, part.__getitem__, args.chains, schedule=[1.0] * args.sweeps, seed=args.seed).to(device)
    return sampler.sample, {}


def _sa(rbm, args):
    """(callable, facts) for dwave-samplers' simulated annealing; facts get the sampling-only time."""
    from dwave.samplers import SimulatedAnnealingSampler

    bqm = rbm.to_bqm()
    sa = SimulatedAnnealingSampler()
    facts: dict = {}

    def call():
        ss = sa.sample(bqm, num_reads=args.chains, num_sweeps=args.sweeps, beta_range=(0.1, 1.0), seed=args.seed)
        ns = ss.info.get("timing", {}).get("sampling_ns")
        if ns:
            rate = args.chains * args.sweeps * rbm.n_units / (ns / 1e9)
            facts["sampling_only_spin_updates_per_s"] = max(rate, facts.get("sampling_only_spin_updates_per_s", 0.0))

    return call, facts


def run(args) -> dict:
    """Run the comparison; returns the JSON-able result (``summary`` holds rates and ratios).

    The samplers are timed in interleaved rounds (one call each per round, best round kept), so a
    change of machine load during the run affects all of them alike.
    """
    from calolib.device import resolve_device
    from calolib.rbm import RBM

    if args.threads:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    t0 = time.perf_counter()
    rbm = RBM((args.sizes,) * 4, args.topology, weight_std=0.1, bias_std=0.1, seed=args.seed).to(device)
    rbm_cpu = RBM((args.sizes,) * 4, args.topology, weight_std=0.1, bias_std=0.1, seed=args.seed)
    topo = rbm_cpu.topology_masks().summary()
    builders = {
        "calolib-gibbs": lambda: _ours(rbm, args),
        "calolib-gibbs-dense": lambda: _ours(rbm, args, backend="dense"),
        "plugin-blocksampler": lambda: _plugin(rbm, args, device),
        "dwave-sa": lambda: _sa(rbm_cpu, args),
    }
    if device.type == "cuda":
        builders = {"calolib-gibbs-bf16": lambda: _ours(rbm, args, dtype=torch.bfloat16), **builders}
    sync = torch.cuda.synchronize if device.type == "cuda" else None
    runs, calls = {}, {}
    for name, build in builders.items():
        if name in skip:
            continue
        try:
            fn, facts = build()
            calls[name] = (fn, facts)
            runs[name] = {"name": name, "seconds": time_call(fn, repeats=1, warmup=1, sync=sync)}
        except ImportError as exc:  # a peer that is not installed: record, don't fail
            runs[name] = {"name": name, "error": f"not installed: {exc}"}
    for _ in range(max(0, args.repeats - 1)):
        for name, (fn, _facts) in calls.items():
            runs[name]["seconds"] = min(runs[name]["seconds"], time_call(fn, repeats=1, warmup=0, sync=sync))
    for name, (_fn, facts) in calls.items():
        runs[name] = _entry(name, runs[name]["seconds"], args.chains, args.sweeps, rbm.n_units, **facts)
    runs = list(runs.values())
    rates = {r["name"]: r["spin_updates_per_s"] for r in runs if "spin_updates_per_s" in r}
    ours = rates.get("calolib-gibbs")
    summary = {"device": str(device), "threads": torch.get_num_threads(), "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
               "chains": args.chains, "sweeps": args.sweeps,
               "n_units": rbm.n_units, "n_couplings": topo["n_edges"], "spin_updates_per_s": rates}
    for peer, key in (("plugin-blocksampler", "speedup_vs_plugin"), ("dwave-sa", "speedup_vs_sa")):
        if ours and peer in rates:
            summary[key] = ours / rates[peer]
    out = Path(args.plot) if args.plot else (Path(args.out).with_suffix(".png") if args.out else Path("reports/bench/sampler.png"))
    if rates:
        import matplotlib.pyplot as plt

        from calolib.plotting.style import save_figure, use_style

        use_style()
        fig, ax = plt.subplots(figsize=(7.5, 4.5))
        plot_rates(rates, ax=ax, title=f"4x{args.sizes} {args.topology} RBM ({topo['n_edges']} couplings), {args.chains} chains, {device}")
        save_figure(fig, out)
        plt.close(fig)
    return {"summary": summary, "runs": runs, "topology": topo, "plot": str(out), "total_seconds": time.perf_counter() - t0}


def plot_rates(rates: dict, *, ax=None, title: str | None = None):
    """Horizontal bar chart of spin updates per second (log x axis); returns the bar container.

    Example:
        >>> import matplotlib.pyplot as plt
        >>> bars = plot_rates({"a": 1e7, "b": 5e7}, ax=plt.figure().gca())
        >>> len(bars)
        2
    """
    from calolib.plotting.style import COLORS, get_ax, label_axes, use_style

    use_style()
    ax = get_ax(ax)
    names = list(rates)
    colours = [COLORS[1] if n.startswith("calolib") else COLORS[5] for n in names]
    bars = ax.barh(names, [rates[n] for n in names], color=colours)
    for bar, n in zip(bars, names):
        ax.text(bar.get_width() * 1.05, bar.get_y() + bar.get_height() / 2, f"{rates[n]:.2g}", va="center", fontsize=10)
    label_axes(ax, "spin updates / s", "", logx=True)
    ax.set_xlim(min(rates.values()) / 3, max(rates.values()) * 8)
    ax.minorticks_off()
    ax.tick_params(axis="y", which="both", right=False, left=False)
    if title:
        ax.set_title(title, fontsize=10)
    return bars
