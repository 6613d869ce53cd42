"""Sampler throughput: spin updates per second of calolib's block Gibbs against its peers, two workloads.

All samplers run on the same 4-partite RBM (default 4 x 302 units on a Zephyr mask, ~11,000
couplings), in the same process, timed in interleaved rounds (one call of every sampler and workload
per round, best round kept) so that load changes hit all of them alike:

* workload ``anneal`` -- short anneals of many reads: every sampler draws ``--chains`` (1,024) samples
  of ``--sweeps`` (50) sweeps; SA anneals beta 0.1 -> 1, Gibbs runs at beta = 1.  Here SA's per-read
  set-up weighs in.
* workload ``raw`` -- raw sweep rate, each sampler at its best sustained setting: SA ``--sa-reads`` x
  ``--sa-sweeps`` (10 x 1,000: few long reads); the Gibbs samplers ``--raw-chains`` x ``--raw-sweeps``
  (1,024 x 100 on CPU: enough tiles for every core; ``--gpu-chains`` 65,536 on CUDA).

Samplers: ``calolib-gibbs`` (:func:`calolib.samplers.gibbs_sample`, default engine: compiled numba on
CPU, torch on CUDA); ``calolib-gibbs-torch`` (the torch sparse engine, CPU); ``calolib-gibbs-bf16``
(CUDA); ``plugin-blocksampler`` (dwave-pytorch-plugin's ``GraphRestrictedBoltzmannMachine`` +
``BlockSampler``, block Gibbs with our partitions as colours, same device); ``dwave-sa``
(dwave-samplers' ``SimulatedAnnealingSampler``, C++, one thread).  Spin updates = samples x sweeps x N.
Every timed call includes the sampler's own set-up (our kernel build and seeding; SA's BQM handling).

The summary gives, per workload, the rates (wall clock, and per CPU-second of all the process's threads,
the steadier number on a busy machine), the ratios of wall-clock rates against SA and the plugin
(targets on 2 CPU cores, raw workload: >= 3x SA, >= 15x the plugin), the thread counts, the load average before and after
and the package versions; ``jit`` holds the numba kernels' cold compile time and their load time from
the cache, each measured in a fresh process (skip with ``--no-jit``).  A bar chart (both workloads) is written
next to the JSON.

On a shared machine run it with ``OMP_WAIT_POLICY=PASSIVE`` (set before Python starts; the Makefile
does): with spin-waiting OpenMP threads two busy cores starve each other.

Example (tiny, a few seconds):
    calolib bench sampler --sizes 32 --chains 64 --sweeps 4 --raw-sweeps 4 --sa-sweeps 20 --repeats 1 --no-jit
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

import torch


__all__ = ["add_arguments", "run", "plot_rates", "plot_workloads", "jit_times", "versions"]

PACKAGES = ("calolib", "torch", "numpy", "numba", "llvmlite", "dwave-samplers", "dwave-pytorch-plugin", "dimod")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--sizes", type=int, default=302, help="units per partition (default 302 -> 4x302)")
    parser.add_argument("--topology", default="zephyr", help="full|chimera|pegasus|zephyr (default zephyr)")
    parser.add_argument("--chains", type=int, default=1024, help="anneal workload: samples per call (default 1024)")
    parser.add_argument("--sweeps", type=int, default=50, help="anneal workload: sweeps per sample (default 50)")
    parser.add_argument("--raw-chains", type=int, default=1024, help="raw workload: Gibbs chains on CPU (default 1024)")
    parser.add_argument("--gpu-chains", type=int, default=65536, help="raw workload: Gibbs chains on CUDA (default 65536)")
    parser.add_argument("--raw-sweeps", type=int, default=100, help="raw workload: Gibbs sweeps (default 100)")
    parser.add_argument("--sa-reads", type=int, default=10, help="raw workload: SA reads (default 10)")
    parser.add_argument("--sa-sweeps", type=int, default=1000, help="raw workload: SA sweeps per read (default 1000)")
    parser.add_argument("--workloads", default="anneal,raw", help="comma-separated subset of anneal,raw")
    parser.add_argument("--repeats", type=int, default=3, help="timed rounds; best is kept (default 3)")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads for torch and numba (default: torch's)")
    parser.add_argument("--skip", default="", help="comma-separated sampler names to skip")
    parser.add_argument("--no-jit", action="store_true", help="do not measure the numba compile time")
    parser.add_argument("--plot", default=None, help="PNG path (default: next to the JSON, sampler.png)")
    parser.add_argument("--seed", type=int, default=0)


def _gibbs(rbm, chains: int, sweeps: int, seed: int, **kw):
    from calolib.samplers import gibbs_sample
    from calolib.samplers.gibbs import resolve_backend

    facts = {"engine": resolve_backend(rbm, kw.get("backend", "auto"), kw.get("dtype"))}
    if "dtype" in kw:
        facts["dtype"] = str(kw["dtype"])
    return (lambda: gibbs_sample(rbm, chains, sweeps, seed=seed, **kw)), facts


def _plugin(rbm, chains: int, sweeps: int, seed: int, device):
    from dwave.plugins.torch.models.boltzmann_machine import GraphRestrictedBoltzmannMachine
    from dwave.plugins.torch.samplers.block_spin_sampler import BlockSampler

    h, j, _ = rbm.to_ising()
    part = {i: p for p in range(4) for i in range(rbm.offsets[p], rbm.offsets[p] + rbm.sizes[p])}
    grbm = GraphRestrictedBoltzmannMachine(list(h), list(j), linear=h, quadratic=j).to(device)
    sampler = BlockSampler(grbm, part.__getitem__, chains, schedule=[1.0] * sweeps, seed=seed).to(device)
    return sampler.sample, {}


def _sa(bqm, reads: int, sweeps: int, seed: int, n_units: int):
    """(callable, facts) for dwave-samplers' SA; facts get the best sampling-only rate (no BQM handling)."""
    from dwave.samplers import SimulatedAnnealingSampler

    sa = SimulatedAnnealingSampler()
    facts: dict = {}

    def call():
        ss = sa.sample(bqm, num_reads=reads, num_sweeps=sweeps, beta_range=(0.1, 1.0), seed=seed)
        ns = ss.info.get("timing", {}).get("sampling_ns")
        if ns:
            rate = reads * sweeps * n_units / (ns / 1e9)
            facts["sampling_only_spin_updates_per_s"] = max(rate, facts.get("sampling_only_spin_updates_per_s", 0.0))

    return call, facts


def _builders(args, rbm, rbm_cpu, device) -> dict:
    """{workload: {sampler: (build, samples, sweeps)}} for this device."""
    cuda = device.type == "cuda"
    bqm = None

    def sa(reads, sweeps):
        def build():
            nonlocal bqm
            bqm = rbm_cpu.to_bqm() if bqm is None else bqm
            return _sa(bqm, reads, sweeps, args.seed, rbm.n_units)
        return build, reads, sweeps

    def gibbs_set(chains, sweeps):
        out = {"calolib-gibbs": (lambda: _gibbs(rbm, chains, sweeps, args.seed), chains, sweeps)}
        if cuda:
            out["calolib-gibbs-bf16"] = (lambda: _gibbs(rbm, chains, sweeps, args.seed, dtype=torch.bfloat16), chains, sweeps)
        else:
            out["calolib-gibbs-torch"] = (lambda: _gibbs(rbm, chains, sweeps, args.seed, backend="torch"), chains, sweeps)
        out["plugin-blocksampler"] = (lambda: _plugin(rbm, chains, sweeps, args.seed, device), chains, sweeps)
        return out

    raw_chains = args.gpu_chains if cuda else args.raw_chains
    table = {
        "anneal": {**gibbs_set(args.chains, args.sweeps), "dwave-sa": sa(args.chains, args.sweeps)},
        "raw": {**gibbs_set(raw_chains, args.raw_sweeps), "dwave-sa": sa(args.sa_reads, args.sa_sweeps)},
    }
    wanted = [w.strip() for w in args.workloads.split(",") if w.strip()]
    unknown = set(wanted) - set(table)
    if unknown:
        from calolib.errors import ConfigError

        raise ConfigError(f"unknown workloads {sorted(unknown)}; use anneal and/or raw")
    return {w: table[w] for w in wanted}


DESCRIPTIONS = {
    "anneal": "short anneals of many reads: every sampler draws the same number of samples of the same sweeps",
    "raw": "raw sweep rate: each sampler at its best sustained setting (SA few long reads, Gibbs many chains)",
}


def versions() -> dict:
    """Installed versions of the packages that matter here (None when absent)."""
    out = {}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def run(args) -> dict:
    """Run both workloads; returns the JSON-able result (``summary`` holds rates and ratios per workload)."""
    from calolib.device import resolve_device
    from calolib.rbm import RBM

    if args.threads:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    t0 = time.perf_counter()
    load_before = os.getloadavg()
    rbm_cpu = RBM((args.sizes,) * 4, args.topology, weight_std=0.1, bias_std=0.1, seed=args.seed)
    rbm = RBM((args.sizes,) * 4, args.topology, weight_std=0.1, bias_std=0.1, seed=args.seed).to(device)
    topo = rbm_cpu.topology_masks().summary()
    sync = torch.cuda.synchronize if device.type == "cuda" else None
    calls, runs = {}, {}
    for workload, samplers in _builders(args, rbm, rbm_cpu, device).items():
        for name, (build, samples, sweeps) in samplers.items():
            if name in skip:
                continue
            key = (workload, name)
            base = {"workload": workload, "name": name, "samples": samples, "sweeps": sweeps}
            try:
                fn, facts = build()
                fn()  # warm-up (compilation, caches)
                if sync:
                    sync()
                runs[key] = {**base, "seconds": float("inf"), "cpu_seconds": float("inf")}
                calls[key] = (fn, facts)
            except ImportError as exc:  # a peer that is not installed: record, don't fail
                runs[key] = {**base, "error": f"not installed: {exc}"}
    for _ in range(max(1, args.repeats)):
        for key, (fn, _facts) in calls.items():
            wall, cpu = _timed(fn, sync)
            runs[key]["seconds"] = min(runs[key]["seconds"], wall)
            runs[key]["cpu_seconds"] = min(runs[key]["cpu_seconds"], cpu)
    for key, (_fn, facts) in calls.items():
        r = runs[key]
        r["spin_updates"] = r["samples"] * r["sweeps"] * rbm.n_units
        r["spin_updates_per_s"] = r["spin_updates"] / r["seconds"]
        r["spin_updates_per_cpu_s"] = r["spin_updates"] / max(r["cpu_seconds"], 1e-9)
        r.update(facts)
    workloads = {}
    for workload in dict.fromkeys(k[0] for k in runs):
        entries = [r for (w, _), r in runs.items() if w == workload]
        rates = {r["name"]: r["spin_updates_per_s"] for r in entries if "spin_updates_per_s" in r}
        wl = {"description": DESCRIPTIONS[workload], "settings": {r["name"]: f"{r['samples']} x {r['sweeps']} sweeps" for r in entries},
              "spin_updates_per_s": rates,
              "spin_updates_per_cpu_s": {r["name"]: r["spin_updates_per_cpu_s"] for r in entries if "spin_updates_per_cpu_s" in r}}
        ours = rates.get("calolib-gibbs")
        for peer, ratio in (("dwave-sa", "speedup_vs_sa"), ("plugin-blocksampler", "speedup_vs_plugin")):
            if ours and peer in rates:
                wl[ratio] = ours / rates[peer]
        workloads[workload] = wl
    threading = {}
    if any(r.get("engine") == "numba" for r in runs.values()):
        from calolib.samplers.compiled import threading_info

        threading = threading_info()
    summary = {
        "device": str(device), "threads": torch.get_num_threads(), **threading,
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"), "cpu_count": os.cpu_count(),
        "load_average": {"before": list(load_before), "after": list(os.getloadavg())},
        "n_units": rbm.n_units, "n_couplings": topo["n_edges"], "workloads": workloads,
        "headline": {f"{w}_{k}": v[k] for w, v in workloads.items() for k in ("speedup_vs_sa", "speedup_vs_plugin") if k in v},
        "versions": versions(),
    }
    if not args.no_jit and "calolib-gibbs" not in skip and device.type == "cpu":
        summary["jit"] = jit_times()
    out = Path(args.plot) if args.plot else (Path(args.out).with_suffix(".png") if args.out else Path("reports/bench/sampler.png"))
    if workloads:
        _plot(workloads, out, f"4x{args.sizes} {args.topology} RBM ({topo['n_edges']} couplings), {device}, {torch.get_num_threads()} threads")
    return {"summary": summary, "runs": list(runs.values()), "topology": topo, "plot": str(out), "total_seconds": time.perf_counter() - t0}


def _timed(fn, sync) -> tuple[float, float]:
    """(wall seconds, process CPU seconds, all threads) of one call of ``fn``."""
    w0, c0 = time.perf_counter(), time.process_time()
    fn()
    if sync:
        sync()
    return time.perf_counter() - w0, time.process_time() - c0


_JIT_SCRIPT = """
import time, json
t0 = time.perf_counter()
from calolib.rbm import RBM
from calolib.samplers import gibbs_sample
rbm = RBM((8, 8, 8, 8), "full", weight_std=0.1)
import numba
t1 = time.perf_counter()
gibbs_sample(rbm, 16, 2, backend="numba")
t2 = time.perf_counter()
print(json.dumps({"import_s": t1 - t0, "first_call_s": t2 - t1}))
"""


def jit_times() -> dict:
    """Seconds of the first compiled-Gibbs call in a fresh process with an empty numba cache (``cold``)
    and again with that cache filled (``cached``), each apart from the imports."""
    import json

    out = {}
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache}
        for label in ("cold", "cached"):
            res = subprocess.run([sys.executable, "-c", _JIT_SCRIPT], env=env, capture_output=True, text=True, timeout=600)
            if res.returncode != 0:
                return {"error": res.stderr.strip().splitlines()[-1] if res.stderr.strip() else "failed"}
            t = json.loads(res.stdout.strip().splitlines()[-1])
            out[f"{label}_first_call_s"] = t["first_call_s"]
            out[f"{label}_import_s"] = t["import_s"]
    return out


def _plot(workloads: dict, out: Path, title: str) -> None:
    import matplotlib.pyplot as plt

    from calolib.plotting.style import save_figure, use_style

    use_style()
    n = len({name for wl in workloads.values() for name in wl["spin_updates_per_s"]})
    fig, ax = plt.subplots(figsize=(8.5, 1.6 + 0.75 * n))
    plot_workloads(workloads, ax=ax)
    ax.set_title(title, fontsize=10)
    save_figure(fig, out)
    plt.close(fig)


def plot_workloads(workloads: dict, *, ax=None):
    """Grouped horizontal bars: per sampler one bar per workload (log x), each labelled with its rate and
    its samples x sweeps; the legend gives calolib's ratios against SA and the plugin per workload.

    Example:
        >>> import matplotlib.pyplot as plt
        >>> wl = {"raw": {"spin_updates_per_s": {"a": 1e7, "b": 5e7}, "settings": {"a": "1 x 1", "b": "1 x 1"}}}
        >>> len(plot_workloads(wl, ax=plt.figure().gca()))
        2
    """
    from calolib.plotting.style import COLORS, get_ax, label_axes, use_style

    use_style()
    ax = get_ax(ax)
    names = list(dict.fromkeys(name for wl in workloads.values() for name in wl["spin_updates_per_s"]))
    height = 0.8 / max(1, len(workloads))
    bars, values = [], []
    for k, (workload, wl) in enumerate(workloads.items()):
        ratios = [f"{wl[key]:.1f}x {peer}" for key, peer in (("speedup_vs_sa", "SA"), ("speedup_vs_plugin", "plugin")) if key in wl]
        label = workload + (f" (calolib-gibbs {', '.join(ratios)})" if ratios else "")
        rates = wl["spin_updates_per_s"]
        ys = [i + (k - (len(workloads) - 1) / 2) * height for i, n in enumerate(names) if n in rates]
        xs = [rates[n] for n in names if n in rates]
        bars.extend(ax.barh(ys, xs, height=height * 0.92, color=COLORS[(5, 1, 3, 6)[k % 4]], label=label))
        for y, n in zip(ys, (n for n in names if n in rates)):
            ax.text(rates[n] * 1.08, y, f"{rates[n]:.2g}  ({wl.get('settings', {}).get(n, '')})", va="center", fontsize=8)
        values.extend(xs)
    ax.set_yticks(range(len(names)), names)
    ax.set_ylim(len(names) - 0.5, -1.5)  # first sampler on top, a free row at the top for the legend
    label_axes(ax, "spin updates / s", "", logx=True)
    ax.set_xlim(min(values) / 3, max(values) * 60)
    ax.minorticks_off()
    ax.tick_params(axis="y", which="both", right=False, left=False)
    handles, labels = ax.get_legend_handles_labels()
    ax.legend(handles, labels, loc="upper left", fontsize=8, frameon=False, ncol=1)
    return bars


def plot_rates(rates: dict, *, ax=None, title: str | None = None, labels: dict | None = None):
    """Horizontal bar chart of spin updates per second (log x axis); returns the bar container.

    ``labels`` adds a note per bar (e.g. the samples x sweeps of each sampler).

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
        note = f"{rates[n]:.2g}" + (f"  ({labels[n]})" if labels and n in labels else "")
        ax.text(bar.get_width() * 1.05, bar.get_y() + bar.get_height() / 2, note, va="center", fontsize=9)
    label_axes(ax, "spin updates / s", "", logx=True)
    ax.set_xlim(min(rates.values()) / 3, max(rates.values()) * 8)
    ax.minorticks_off()
    ax.tick_params(axis="y", which="both", right=False, left=False)
    if title:
        ax.set_title(title, fontsize=10)
    return bars
