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
# # 05 · Latent-space clustering by incident energy (seed 003)
#
# Does the latent space separate showers by their incident energy, or is the RBM prior "E_inc
# degenerate"? For each validation event we draw `n_repeats` encodings from the stochastic encoder,
# compute their RBM energies, and histogram them per E_inc group (dark = low E_inc, light = high),
# together with the RBM energies of Gibbs samples of the prior. Two numbers make the overlap
# concrete: the mean pairwise separation power of the groups' histograms (0 = on top of each other,
# 1 = disjoint) and the accuracy of a classifier predicting the E_inc group from z against chance.
#
# If the histograms overlap and the Gibbs samples cover them all, sampling the prior is about equally
# likely to produce a code "belonging" to any E_inc — which the conditioning must then fix.
# Pass several runs in `runs` to compare conditioning variants.

# %% tags=["parameters"]
data_path: str = "data/synthetic_ds2.h5"  # CaloChallenge HDF5 file; its last n_events are used
run_dir: str = "reports/runs/quick"  # the trained run (its best.pt)
runs: list = []  # more run directories or checkpoints to compare with run_dir
n_events: int = 200  # validation events
n_groups: int = 6  # E_inc groups (quantiles of log E_inc)
n_repeats: int = 50  # encodings per event
gibbs_steps: int = 200  # block-Gibbs sweeps per prior sample for the overlay
device: str = "auto"  # auto, cpu or cuda
seed: int = 0  # encoder-noise, sampling and classifier seed
out_dir: str = "reports"  # where 05_latent_clustering.results.json is written

# %%
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch
from IPython.display import Markdown, display

from calolib.reports.notebook import setup, save_results
from calolib.io import load_showers, ShowerFile
from calolib.training import load_checkpoint
from calolib.samplers import gibbs_sample
from calolib.diagnostics import latent_clustering, model_callables
from calolib.diagnostics.plots import plot_latent_clustering

setup()
with ShowerFile(data_path) as f:
    n_total = len(f)
val = load_showers(data_path, start=n_total - min(n_events, n_total), max_events=n_events)
sources = {Path(p).name if Path(p).is_dir() else Path(p).stem: p for p in [run_dir, *runs]}
print(f"{len(val)} validation events, E_inc {val.energies.min():.3g}–{val.energies.max():.3g} MeV; models {list(sources)}")

# %%
studies = {}
for label, src in sources.items():
    ck = load_checkpoint(src, device=device)
    model = ck.model
    encode, rbm_energy, _ = model_callables(model)
    x = torch.as_tensor(ck.transform.transform(val.energies, val.showers), device=model.device)
    with torch.no_grad():
        code = model.condition_code(torch.as_tensor(val.energies, dtype=torch.float32, device=model.device))
        z_prior = gibbs_sample(model.rbm, len(val) * 4, gibbs_steps, seed=seed,
                               conditioning=code.repeat(4, 1) if code.shape[1] else None)
        gibbs_e = model.rbm.energy(z_prior)
    studies[label] = latent_clustering(encode, rbm_energy, x, val.energies, n_repeats=n_repeats, groups=n_groups,
                                       gibbs_energies=gibbs_e, seed=seed)

# %% [markdown]
# ## RBM energies of the encodings, per E_inc group
# Normalised histograms; the dashed line shows Gibbs samples of the prior (conditioned on the same
# incident energies). The title gives the overlap score and the E_inc-group classifier accuracy.

# %% tags=["key-figure"]
fig, axes = plt.subplots(1, len(studies), figsize=(9 * len(studies), 6), squeeze=False)
for ax, (label, res) in zip(axes[0], studies.items()):
    plot_latent_clustering(res, ax=ax)
    ax.text(0.02, 0.97, label, transform=ax.transAxes, va="top", fontsize=12)
plt.show()

# %% [markdown]
# ## Mean and spread per group
# Mean RBM energy per E_inc group with the standard deviation as error bar, per event means as dots.

# %%
fig, ax = plt.subplots(figsize=(9, 5.5))
for i, (label, res) in enumerate(studies.items()):
    centres = np.sqrt(res.group_edges[:-1] * res.group_edges[1:])
    ax.errorbar(centres, res.group_mean, yerr=res.group_std, fmt="o-", capsize=4, label=f"{label}: group mean ± std")
    ax.plot(res.e_inc, res.event_mean, ".", ms=3, alpha=0.4, color=ax.lines[-1].get_color())
ax.set_xscale("log")
ax.set_xlabel("E_inc [MeV]")
ax.set_ylabel("RBM energy E(z)")
ax.legend()
plt.show()
rows = [f"| {k} | {r.overlap_score:.3f} | {r.classifier_accuracy:.3f} ± {r.classifier_accuracy_err:.3f} | "
        f"{r.chance_accuracy:.3f} | {r.gibbs_separation:.3f} |" for k, r in studies.items()]
display(Markdown("\n".join(["| model | overlap (mean sep. power) | E_inc-group accuracy | chance | Gibbs vs encoded sep. power |",
                            "|---|---|---|---|---|", *rows])))

# %%
main = studies[next(iter(studies))]
results = {
    "n_events": len(val), "n_groups": len(main.group_mean), "n_repeats": n_repeats,
    "overlap_score": main.overlap_score,
    "classifier_accuracy": main.classifier_accuracy, "classifier_accuracy_err": main.classifier_accuracy_err,
    "chance_accuracy": main.chance_accuracy,
    "gibbs_separation": main.gibbs_separation,
    "group_mean": main.group_mean, "group_std": main.group_std,
    "per_model": {k: r.to_dict() for k, r in studies.items()},
}
results_path = save_results(out_dir, "05_latent_clustering", results)
