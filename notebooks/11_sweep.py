# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 11 · Sweeps: every configuration with error bars across training seeds
#
# A sweep (`calolib sweep SPEC.toml --data FILE.h5 --out DIR`) trains every configuration of a grid once
# per seed, generates showers from each training and evaluates them against the same reference sample
# (the last events of the data file). This report reads the sweep directory and shows, per metric,
# every seed and the mean ± standard deviation across seeds, the best configuration and the best single
# training, and whether the differences between configurations exceed what retraining with another
# seed produces. Seed 001 compared architectures (CNN/FCN × conditioning) on one training each; the
# seed-to-seed scatter below is the yardstick such comparisons need.
#
# With `spec` set, the notebook first runs (or completes) that sweep into `sweep_dir` on a local Dask
# cluster; otherwise it only reads `sweep_dir`. `calolib.sweep.run_dirs(sweep_dir)` lists the finished
# trainings for the other reports (e.g. as `runs` of 03).

# %% tags=["parameters"]
sweep_dir: str = "reports/sweeps/priors"  # sweep directory (holds sweep.json) to report on
spec: dict = {}  # a sweep spec (the keys of a sweep TOML as a dict) to run into sweep_dir first; empty: only read
data_path: str = "data/synthetic_ds2.h5"  # CaloChallenge HDF5 file the spec trains on (used with spec only)
workers: int = 0  # local Dask worker processes when running spec (0: one per core)
device: str = "auto"  # device of each point when running spec: auto, cpu or cuda
seed: int = 0  # the training seed of a spec that lists no seeds
out_dir: str = "reports/interactive"  # where 11_sweep.results.json goes (`calolib reports` sets reports/; this keeps runs by hand off the tracked pages)

# %%
import math
from pathlib import Path

import matplotlib.pyplot as plt
from IPython.display import Markdown, display

from calolib.reports.notebook import setup, save_results
from calolib.reports.takeaways import show, to_results
from calolib.reports.takeaways.sweep import (best_configuration, best_table, completion, headline, seed_spread,
                                             seed_vs_eval_error)
from calolib.sweep import METRICS, load_results, run_dirs, run_sweep
from calolib.sweep.plots import plot_metrics

setup()
res = None
if spec:
    spec = {"seeds": [seed], **spec}
    res = run_sweep(spec, data_path, sweep_dir, workers=workers or None, device=device, progress=False)
    print(f"ran {res.timing['n_run']} of {len(res.points)} points in {res.timing['wall_s']:.0f} s into {sweep_dir}")
elif (Path(sweep_dir) / "sweep.json").is_file():
    res = load_results(sweep_dir)
if res is None:
    display(Markdown(f"**No sweep in `{sweep_dir}`.** Run one, e.g. `calolib sweep sweep.toml --data {data_path} "
                     f"--out {sweep_dir}` (see the README), then re-run this report with `-p sweep_dir {sweep_dir}`."))
else:
    grid = res.spec.get("grid", {})
    print(f"{len(res.points)} points ({len(res.summary)} configurations × seeds {res.spec.get('seeds')}); "
          f"base {res.spec.get('base')}; grid {grid}; {res.n_failed} failed")

# %% [markdown]
# ## Every configuration, every seed
# Grey dots: single trainings; black: mean ± standard deviation (ddof = 1) across seeds; star: the best
# mean. Metrics that span more than a factor 10 are on log axes. With two seeds the standard deviation
# is itself uncertain by about 70 %.

# %% tags=["key-figure"]
shown = [m for m in ("sep_e_ratio", "sep_sparsity", "fpd_official", "fpd", "auc_high", "frobenius", "train_time_s")
         if res is not None and res.metric(m)]
if res is not None and shown:
    fig, artists = plot_metrics(res, shown, ncols=3)
    plt.show()

# %% [markdown]
# ## The summary table
# Mean ± std across seeds (n = finished seeds) for each configuration.

# %%
def _pm(stat):
    if not math.isfinite(stat.get("mean", math.nan)):
        return "n/a"
    return f"{stat['mean']:.4g}" + (f" ± {stat['std']:.2g}" if math.isfinite(stat.get("std", math.nan)) else "")


table_metrics = [m for m in METRICS if res is not None and any(m in s for s in res.summary)]
if res is not None:
    head = "| configuration | n | " + " | ".join(METRICS[m].label for m in table_metrics) + " |"
    lines = [head, "|---" * (len(table_metrics) + 2) + "|"]
    lines += [f"| {s['config_id']} | {s['n_done']} | " + " | ".join(_pm(s[m]) if m in s else "" for m in table_metrics)
              + " |" for s in res.summary]
    display(Markdown("\n".join(lines)))

# %% [markdown]
# ## The best configuration and the best single training per metric
# The best configuration is judged by its mean; the best single training (one seed) is shown beside it —
# when they differ, the single best run was a lucky seed.

# %%
best = best_table(res.summary, {m: METRICS[m] for m in table_metrics}) if res is not None else []
best_points = {}
if res is not None:
    for m in table_metrics:
        done = [p for p in res.points if p["status"] == "done" and math.isfinite(p["metrics"].get(m, math.nan))]
        if done:
            pick = min if METRICS[m].better == "lower" else max
            p = pick(done, key=lambda p: p["metrics"][m])
            best_points[m] = {"id": p["id"], "value": p["metrics"][m]}
    lines = ["| metric | best configuration (mean ± std, n) | runner-up | best single training |", "|---|---|---|---|"]
    lines += [f"| {b['label']} | {b['config_id']}: {_pm(b)} (n={b['n']}) | {b['runner_up'] or '–'} | "
              f"{best_points[b['metric']]['id']}: {best_points[b['metric']]['value']:.4g} |" for b in best]
    display(Markdown("\n".join(lines)))

# %% [markdown]
# ## What the sweep shows

# %%
takeaways = []
if res is not None:
    takeaways.append(completion(res.points))
    for m in ("fpd_official", "fpd", "auc_high", "sep_e_ratio"):
        if any(m in s for s in res.summary):
            takeaways.append(best_configuration(res.summary, m, METRICS[m].label, better=METRICS[m].better))
    for m in ("fpd_official", "fpd", "auc_high"):
        if any(m in s for s in res.summary):
            takeaways.append(seed_spread(res.summary, m, METRICS[m].label))
            takeaways.append(seed_vs_eval_error(res.summary, m, METRICS[m].err, METRICS[m].label))
    _ = show(takeaways, title="What this sweep shows")

# %% [markdown]
# ## The trainings, for the other reports
# The finished points are ordinary run directories: pass them to 03 (`-p 03_evaluate.runs [...]`), 05 or
# 06, or load one with `calolib.training.load_checkpoint`.

# %%
dirs = [str(d) for d in run_dirs(sweep_dir)] if res is not None else []
print("\n".join(dirs) if dirs else "no finished trainings")

# %%
spread = {t.key: t.numbers for t in takeaways if t.key.startswith(("seed_spread", "seed_vs_eval"))}
results = {
    "sweep_dir": sweep_dir,
    "status": "ok" if res is not None else "no sweep",
    "n_points": len(res.points) if res is not None else 0,
    "n_failed": res.n_failed if res is not None else 0,
    "configurations": [s["config_id"] for s in res.summary] if res is not None else [],
    "seeds": res.spec.get("seeds") if res is not None else [],
    "summary": res.summary if res is not None else [],
    "best": best,
    "best_points": best_points,
    "seed_spread": spread,
    "run_dirs": dirs,
    "timing": res.timing if res is not None else {},
    "headline": headline(res.summary, METRICS) if res is not None else {},
    "takeaways": to_results(takeaways),
}
results_path = save_results(out_dir, "11_sweep", results)
