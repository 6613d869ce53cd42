"""Decoder-explorer slider latency: seconds from an E′ slider move to the new picture.

``calolib bench widget [--model RUN_DIR] [--data FILE.h5] [--moves 25]`` builds the explorer's widget
(:class:`calolib.widget_view.ExplorerWidget`) and moves its E′ slider through ``--moves`` values
never decoded before; each move runs the real observer (decode + in-place artist update + one Agg
draw + PNG into the ``ipywidgets.Image``).  In the same run, the old path is timed on the same values:
rebuild the figure with :meth:`DecoderExplorer.draw` and render it the way the inline backend
displays it (IPython's ``print_figure``, PNG with a tight bounding box), then close it.  The decoding
cache is cleared before every timed move of either path.  Reported: median / 90 % / max seconds per
move of both paths and their ratio, the CPU seconds per move (robust to other jobs on a shared machine),
the decode-only time, an event change (which also recomputes the event's MSE curve), and the machine load.  Target: new median ≤ 0.3 s on 2 CPU cores.

Without ``--model`` the untrained ``quick``-preset QVAE is used (latency does not depend on the weights)
with synthetic ds2 showers.
"""
from __future__ import annotations

import argparse
import io
import os
import statistics
import time

import numpy as np

__all__ = ["add_arguments", "run", "TARGET_S"]

#: Slider-to-picture target (seconds, median) on 2 CPU cores.
TARGET_S = 0.3


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", default=None, help="run directory or checkpoint (default: untrained quick model)")
    parser.add_argument("--data", default=None, help="showers file for the explorer (default: synthetic ds2)")
    parser.add_argument("--moves", type=int, default=25, help="timed slider moves per path (default 25)")
    parser.add_argument("--events", type=int, default=10, help="showers held by the explorer (default 10)")
    parser.add_argument("--dpi", type=float, default=80, help="pixels per inch of the live picture (default 80)")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (default 0: torch's default)")
    parser.add_argument("--seed", type=int, default=0)


def _explorer(args, dev):
    import torch

    from calolib.widgets import DecoderExplorer

    if args.model:
        from calolib.io import load_showers
        from calolib.synthetic import simulate
        from calolib.training import load_checkpoint

        ck = load_checkpoint(args.model, device=dev)
        geo = ck.model.config.geometry
        showers = load_showers(args.data, max_events=args.events) if args.data else \
            simulate(args.events, geometry=geo, seed=args.seed)
        return DecoderExplorer(ck.model, ck.transform, showers), str(args.model)
    from calolib.synthetic import simulate
    from calolib.training import get_preset
    from calolib.training.checkpoint import build_model, fit_transform

    config = get_preset("quick")
    fit = simulate(256, geometry=config.model.geometry, seed=args.seed + 1)
    transform = fit_transform(config.model, fit.energies, fit.showers)
    torch.manual_seed(args.seed)
    model = build_model(config, transform, dev)
    showers = simulate(args.events, geometry=config.model.geometry, seed=args.seed)
    return DecoderExplorer(model, transform, showers), "untrained quick preset"


def _stats(times: list[float]) -> dict:
    a = np.asarray(times)
    return {"median_s": round(float(np.median(a)), 4), "p90_s": round(float(np.quantile(a, 0.9)), 4),
            "max_s": round(float(a.max()), 4), "n": int(a.size)}


def _old_callback(explorer, e, seed, sampler, event) -> None:
    """What the rebuild-the-figure slider did: a new figure, displayed by the inline backend, closed."""
    import matplotlib.pyplot as plt

    fig = explorer.draw(e, seed, sampler, event)
    try:
        from IPython.core.pylabtools import print_figure

        print_figure(fig, "png", bbox_inches="tight")  # exactly the inline backend's display call
    except ImportError:  # pragma: no cover - IPython ships with ipykernel
        fig.canvas.print_figure(io.BytesIO(), format="png", bbox_inches="tight", dpi=fig.dpi)
    plt.close(fig)


def run(args) -> dict:
    import matplotlib

    matplotlib.use("agg")
    import torch

    from calolib.device import resolve_device

    if args.moves < 1 or args.events < 2:
        from calolib.errors import ConfigError

        raise ConfigError("--moves must be >= 1 and --events >= 2")
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    dev = resolve_device(args.device)
    load_before = os.getloadavg()
    explorer, source = _explorer(args, dev)
    ui = explorer.widget(event=0, seed=0, dpi=args.dpi)  # first picture: builds the figure, the event's MSE curve
    slider = ui.controls["e_inc"]
    rng = np.random.default_rng(args.seed)
    steps = np.round(np.linspace(slider.min, slider.max, 4 * args.moves + 1) / slider.step) * slider.step
    values = [float(10 ** x) for x in rng.permutation(np.unique(steps))[: args.moves]]
    sampler = ui.controls["sampler"].value
    new, old, decode = [], [], []
    cpu = {"new": [], "old": []}  # process CPU seconds per move: meaningful on a machine shared with other jobs
    _old_callback(explorer, values[-1] * 1.01, 0, sampler, 0)  # warm-up of the old path (fonts, caches)
    for i, e in enumerate(values):
        for path in (("new", "old") if i % 2 == 0 else ("old", "new")):
            explorer._decode.cache_clear()
            t0, c0 = time.perf_counter(), time.process_time()
            if path == "new":
                slider.value = e  # runs the real observer: decode, update artists, render, Image.value
                new.append(time.perf_counter() - t0)
                cpu["new"].append(time.process_time() - c0)
                if not np.isclose(explorer.last.e_inc, e, rtol=1e-6):
                    raise RuntimeError("the slider move did not reach the decoder")
            else:
                _old_callback(explorer, e, 0, sampler, 0)
                old.append(time.perf_counter() - t0)
                cpu["old"].append(time.process_time() - c0)
        explorer._decode.cache_clear()
        t0 = time.perf_counter()
        explorer.update(e * 1.0001, 0, sampler, 0)
        decode.append(time.perf_counter() - t0)
    events = []
    for ev in range(1, min(len(explorer.showers), 4)):
        t0 = time.perf_counter()
        ui.controls["event"].value = ev  # new latent code, new MSE curve, new truth profile
        events.append(time.perf_counter() - t0)
    s_new, s_old = _stats(new), _stats(old)
    return {
        "summary": {
            "model": source,
            "device": str(dev),
            "slider_move_live": s_new,
            "slider_move_rebuild_figure": s_old,
            "speedup_median": round(s_old["median_s"] / max(s_new["median_s"], 1e-9), 1),
            # CPU time of this process per move (all its threads): the same numbers on a quiet machine
            "cpu_s_per_move_live_median": round(statistics.median(cpu["new"]), 4),
            "cpu_s_per_move_rebuild_median": round(statistics.median(cpu["old"]), 4),
            "decode_only_median_s": round(statistics.median(decode), 4),
            "event_change_median_s": round(statistics.median(events), 4) if events else None,
            "target_median_s": TARGET_S,
            "target_met": s_new["median_s"] <= TARGET_S,
            "picture_px": list(ui.view.figure.canvas.get_width_height()),
            "png_kB": round(len(ui.image.value) / 1e3, 1),
            "torch_threads": torch.get_num_threads(),
            "loadavg_1min_before_after": [round(load_before[0], 2), round(os.getloadavg()[0], 2)],
        },
        "times_live_s": [round(t, 4) for t in new],
        "times_rebuild_s": [round(t, 4) for t in old],
    }


def __dir__():
    return __all__
