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
# # 02 · Training the QVAE: loss terms, schedules and the checkpoint
#
# Trains a quantum-assisted VAE (encoder → binary latents with a 4-partite RBM prior → decoder) on
# the dataset of report 01 with a training preset (`quick` for a laptop, `full` for a GPU), and shows
# how every term of the loss evolves:
#
# * **AE**: reconstruction error in preprocessed (logit, standardised) voxel space;
# * **Hits**: binary cross-entropy of the hit/no-hit head that makes the output sparse;
# * **Ent**: entropy of the encoder's Bernoulli posterior;
# * **Pos** / **Neg**: positive (encoded data) and negative (persistent Gibbs chains) phases of the
#   RBM prior — Pos − Neg estimates the prior's negative log-likelihood up to ln Z.
#
# The best epoch is chosen on the validation AHEP = AE + Hits + Ent + Pos (within the final training
# stage); which epoch that was, and its value, is read back from `best.pt` below. The run directory
# (`run_dir`) holding `best.pt`, `last.pt`, `history.csv` and per-epoch RBM snapshots is what the
# reports 03–07 and 09 read.

# %% tags=["parameters"]
data_path: str = "data/synthetic_ds2.h5"  # CaloChallenge HDF5 training file
run_dir: str = "reports/runs/quick"  # run directory written here (checkpoints, history)
preset: str = "quick"  # training preset: quick or full
epochs: int = 0  # epochs to train (0 keeps the preset's)
max_events: int = 0  # events read from the file (0 keeps the preset's)
overrides: list = []  # extra TrainConfig overrides as "key: value" strings, e.g. ["lr: 3e-4"]
resume: bool = False  # continue the run already in run_dir instead of starting over
device: str = "auto"  # auto, cpu or cuda
seed: int = 0  # training seed
out_dir: str = "reports/interactive"  # where 02_train.results.json goes (`calolib reports` sets reports/; this keeps runs by hand off the tracked pages)

# %%
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from calolib.reports.notebook import setup, save_results, rbm_snapshot_callback, clear_run_dir, training_config
from calolib.reports.plots import plot_loss_history
from calolib.reports.takeaways import show, to_results
from calolib.reports.takeaways.training import best_checkpoint, best_epoch, latent_activity, loss_drop, ll_trend
from calolib.reports.takeaways.rbm import ais_rais_bracket
from calolib.training import train, config_to_dict
from calolib.training.steps import TERMS

setup()
config = training_config(preset, seed=seed, epochs=epochs, max_events=max_events, overrides=overrides)
run = Path(run_dir)
if not resume:
    clear_run_dir(run)  # a fresh run: this report regenerates its checkpoint (only training files are removed)
print(f"training preset {preset!r}: {config.epochs} epochs, model {config.model.encoder}/{config.model.decoder}, "
      f"RBM {config.model.rbm_sizes} ({config.model.topology}) -> {run}")

# %%
result = train(config, data_path, run, resume=resume, device=device, progress=False,
               callbacks=[rbm_snapshot_callback(run)])
history = result.history
print(f"trained {result.epochs_run} epochs in {result.train_time_s:.0f} s; best validation AHEP {result.best_val:.4g}")
print(f"checkpoint: {result.best_path}")
best = best_checkpoint(run)
takeaways = [best_epoch(best)]
_ = show(takeaways[:1], title="The checkpoint the other reports use")

# %% [markdown]
# ## Every loss term against epoch
# Solid lines: training averages over the epoch; dashed: validation (epoch 0 is the untrained model,
# the yardstick for "it learns"). AE and Hits should fall steadily; Ent, Pos and Neg trade off as
# the KL weight ramps up and the prior learns the encodings. Terms that stay positive and fall by more
# than a factor 3 are drawn on a log axis; the dotted line marks the epoch saved as `best.pt`.

# %% tags=["key-figure"]
terms = [t for t in TERMS if any(f"val_{t}" in r for r in history)]
fig, axes = plt.subplots(2, 3, figsize=(17, 9))
for ax, term in zip(axes.ravel(), [*terms, "ahep"]):
    plot_loss_history(history, [f"train_{term}", f"val_{term}"], ax=ax, ylabel=f"{term} per event", logy="auto",
                      mark_epoch=best["best_epoch"])
    ax.set_title(term.upper() if term != "ahep" else "AHEP = AE + Hits + Ent + Pos", fontsize=12)
for ax in axes.ravel()[len(terms) + 1:]:
    ax.axis("off")
fig.tight_layout()
plt.show()

# %% [markdown]
# ## Schedules
# Learning rate, KL weight (weight of Ent + Pos − Neg) and relaxation sharpness β per epoch.

# %%
fig, axes = plt.subplots(1, 3, figsize=(17, 4.5))
for ax, key in zip(axes, ("lr", "kl_weight", "beta")):
    plot_loss_history(history, [key], ax=ax, ylabel=key, logy="auto")
fig.tight_layout()
plt.show()

# %% [markdown]
# ## Latent usage against epoch
# Left: free latent units that are *active* on the validation encodings (binary latents: mean activation
# between 1 % and 99 %; Gaussian latents: variance of the posterior mean above 0.01) and, for binary latents,
# *informative* ones (the posterior probability itself varies from event to event, variance above 0.01).
# Right: mean per-unit entropy of the marginal (nats; ln 2 = 0.69 is a fair coin). A collapsed latent space
# shows few active units and low entropy.

# %%
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(15, 4.5))
au_keys = [k for k in ("val_active_units", "val_informative_units") if any(k in r for r in history)]
if au_keys:
    plot_loss_history(history, au_keys, ax=ax1, ylabel="free latent units", mark_epoch=best["best_epoch"])
    plot_loss_history(history, ["val_unit_entropy"], ax=ax2, ylabel="entropy per unit [nats]",
                      mark_epoch=best["best_epoch"])
fig.tight_layout()
plt.show()
takeaways.append(latent_activity(history))

# %% [markdown]
# ## RBM log-likelihood and generation quality against epoch
# Left: LL = ⟨−E(z) − ln Z⟩ of the validation encodings under the prior (seed 001). For a prior whose
# partition 0 is clamped to the E_inc code that is the conditional model p(z | E_inc), with ln Z(c) per
# code from AIS (lower-biased, so this LL is high) and from reverse AIS started at chains of that same
# conditional model (upper-biased ln Z, LL low); error bars include the sampling of codes. Right:
# separation power of E_dep/E_inc and of the sparsity between showers generated after each epoch and
# the validation showers (0 = indistinguishable). Both are recorded when the training config sets
# `log_rbm_ll` and `gen_check_events`.

# %%
ll_keys = [k for k in ("rbm_ll_ais", "rbm_ll_rais") if any(k in r for r in history)]
sep_keys = [k for k in ("sep_e_ratio", "sep_sparsity") if any(k in r for r in history)]
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(15, 5))
if ll_keys:
    plot_loss_history(history, ll_keys, ax=ax1, ylabel="prior log-likelihood [nats per event]",
                      errors={k: f"{k}_err" for k in ll_keys}, mark_epoch=best["best_epoch"])
else:
    ax1.text(0.5, 0.5, "not recorded (log_rbm_ll: false)", ha="center", transform=ax1.transAxes)
if sep_keys:
    plot_loss_history(history, sep_keys, ax=ax2, ylabel="separation power", logy="auto", mark_epoch=best["best_epoch"])
else:
    ax2.text(0.5, 0.5, "not recorded (gen_check_events: 0)", ha="center", transform=ax2.transAxes)
fig.tight_layout()
plt.show()

# %% [markdown]
# ## What this run shows
# Each sentence below is chosen and filled by code from this run's numbers.

# %%
first, last = history[0], history[-1]
takeaways.append(loss_drop(float(first["val_ae"]), float(last["val_ae"]), term="AE"))
if ll_keys:
    takeaways.append(ll_trend(history))
    if last.get("rbm_log_z_ais") is not None and last.get("rbm_log_z_ais_err") is not None:
        takeaways.append(ais_rais_bracket(float(last["rbm_log_z_ais"]), float(last["rbm_log_z_ais_err"]),
                                          float(last["rbm_log_z_rais"]), float(last["rbm_log_z_rais_err"]),
                                          quantity="⟨ln Z⟩ of the final epoch's prior"))
_ = show(takeaways)

# %%
ll = last.get("rbm_ll_ais")
results = {
    "run_dir": str(run),
    "best_path": str(result.best_path),
    "epochs": int(last["epoch"]),
    "train_time_s": float(result.train_time_s),
    "best_val_ahep": float(result.best_val),
    "val_ae_untrained": float(first["val_ae"]),
    "val_ae_final": float(last["val_ae"]),
    "val_hits_final": float(last.get("val_hits", float("nan"))),
    "samples_per_s": float(last.get("samples_per_s", float("nan"))),
    "n_rbm_snapshots": len(list((run / "rbm_epochs").glob("epoch_*.pt"))),
    "ll_ais_final": last.get("rbm_ll_ais"),
    "ll_rais_final": last.get("rbm_ll_rais"),
    "sep_e_ratio_final": last.get("sep_e_ratio"),
    "sep_sparsity_final": last.get("sep_sparsity"),
    "config": config_to_dict(config),
    "best": best,
    "active_free_units": last.get("val_active_units"), "active_fraction": last.get("val_active_fraction"),
    "headline": {"best.pt epoch": best["best_epoch"], "training time [s]": round(float(result.train_time_s), 1),
                 "active free units": (f"{last['val_active_units']}/{round(last['val_active_units'] / last['val_active_fraction'])}"
                                       if last.get("val_active_fraction") else "n/a"),
                 **({"LL prior, AIS [nats/event]": {"value": float(ll), "err": float(last.get("rbm_ll_ais_err") or 0)}}
                    if ll is not None else {})},
    "takeaways": to_results(takeaways),
}
results_path = save_results(out_dir, "02_train", results)
