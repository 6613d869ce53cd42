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
# # 02b · Prior controls: the same model with a Bernoulli and a Gaussian prior
#
# Does the Boltzmann prior help? The fair test changes *only* the prior: the encoder, decoder, energy
# flow, data, schedule, seed and checkpoints are those of report 02, and
#
# * **Bernoulli**: the same binary latents with a factorised prior conditioned on E_inc the same way (an RBM
#   without couplings among the free partitions) — do the RBM's couplings matter?
# * **Gaussian**: a standard VAE with continuous latents of the same width and an analytic KL — does a
#   discrete, annealer-shaped prior help at all?
#
# The controls are written next to the RBM run (`<run_dir>-bernoulli`, `<run_dir>-gaussian`); report 03
# generates from all three and compares them on the same metrics. Here: their training curves beside the RBM
# model's, and how many latent units each uses.

# %% tags=["parameters"]
data_path: str = "data/synthetic_ds2.h5"  # CaloChallenge HDF5 training file
run_dir: str = "reports/runs/quick"  # the RBM model's run (report 02); controls go to <run_dir>-<prior>
preset: str = "quick"  # training preset: quick or full (the same as report 02's)
epochs: int = 0  # epochs to train (0 keeps the preset's)
max_events: int = 0  # events read from the file (0 keeps the preset's)
overrides: list = []  # extra TrainConfig overrides, as in report 02
priors: list = ["bernoulli", "gaussian"]  # the control priors to train
device: str = "auto"  # auto, cpu or cuda
seed: int = 0  # training seed (the same as report 02's)
out_dir: str = "reports/interactive"  # where 02_controls.results.json goes (`calolib reports` sets reports/; this keeps runs by hand off the tracked pages)

# %%
from pathlib import Path

import matplotlib.pyplot as plt

from calolib.reports.notebook import clear_run_dir, save_results, setup, training_config
from IPython.display import Markdown, display

from calolib.plotting.style import COLORS
from calolib.reports.plots import plot_loss_history
from calolib.reports.takeaways import show, to_results
from calolib.reports.takeaways.controls import latent_usage, reconstruction_ranking
from calolib.training import apply_overrides, read_history, train

setup()
base = training_config(preset, seed=seed, epochs=epochs, max_events=max_events, overrides=overrides)
histories, times = {}, {}
rbm_run = Path(run_dir)
if (rbm_run / "history.json").is_file():
    histories["rbm"] = read_history(rbm_run)
for prior in priors:
    cfg = apply_overrides(base, [f"model.prior={prior}"])
    run = Path(f"{run_dir}-{prior}")
    clear_run_dir(run)
    res = train(cfg, data_path, run, device=device, progress=False)
    histories[prior], times[prior] = res.history, res.train_time_s
    print(f"{prior}: {res.epochs_run} epochs in {res.train_time_s:.0f} s -> {run}")

# %% [markdown]
# ## Training curves of the three priors
# Validation terms per event against epoch (epoch 0 is the untrained model). The reconstruction terms mean the
# same for every prior; the KL terms do not (the RBM's Ent + Pos − Neg leaves out ln Z), so they are not shown.

# %% tags=["key-figure"]
fig, axes = plt.subplots(1, 3, figsize=(17, 4.8))
for i, (prior, hist) in enumerate(histories.items()):
    for ax, key, label in zip(axes, ("val_ae", "val_hits", "val_active_fraction"),
                              ("AE per event", "Hits per event", "active free units (fraction)")):
        if any(key in r for r in hist):
            plot_loss_history(hist, [key], ax=ax, ylabel=label)
            ax.lines[-1].set_label(prior)
            ax.lines[-1].set_color(COLORS[i % len(COLORS)])
for ax in axes:
    ax.legend()
axes[0].set_yscale("log"); axes[1].set_yscale("log")
axes[2].axhline(0.7, color="grey", ls=":", lw=1)
fig.tight_layout()
plt.show()

# %%
last = {p: h[-1] for p, h in histories.items()}
rows = {p: {k: float(r[k]) for k in ("val_ae", "val_hits", "val_active_fraction") if k in r} for p, r in last.items()}
rows = {p: r for p, r in rows.items() if len(r) == 3}
takeaways = []
if len(rows) >= 2:
    takeaways = [reconstruction_ranking(rows), latent_usage(rows)]
    _ = show(takeaways)
table = ["| prior | val AE per event | val Hits per event | active free units | training time |", "|---|---|---|---|---|"]
for p, r in last.items():
    t = f"{times[p]:.0f} s" if p in times else "(report 02)"
    table.append(f"| {p} | {r['val_ae']:.1f} | {r['val_hits']:.1f} | {r.get('val_active_units', 'n/a')} "
                 f"({100 * r.get('val_active_fraction', float('nan')):.0f} %) | {t} |")
display(Markdown("\n".join(table)))

# %%
results = {
    "run_dirs": {p: (run_dir if p == "rbm" else f"{run_dir}-{p}") for p in histories},
    "final": rows,
    "train_time_s": times,
    "headline": {f"active free units ({p})": f"{100 * r['val_active_fraction']:.0f} %" for p, r in rows.items()},
    "takeaways": to_results(takeaways),
}
_ = save_results(out_dir, "02_controls", results)
