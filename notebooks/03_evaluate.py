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
# # 03 · Evaluation: generated against reference showers
#
# The trained QVAE generates one shower for every incident energy of a held-out reference sample
# (the last `n_events` of the data file), sampling its RBM prior with `sampler`. Both samples get the
# CaloChallenge voxel threshold, then:
#
# * total energy and sparsity, overall and conditional on E_inc (seed 001: "conditionalized
#   histograms");
# * the separation power of every high-level feature, layer by layer;
# * the metrics table: separation power / JSD / Hellinger / KL, FPD and KPD on the feature vector,
#   classifier AUCs on voxels and on features, the Frobenius distance of layer-energy correlations;
# * the energy resolution σ/E = a/√E ⊕ b ⊕ c/E of generated and reference showers, and the
#   autoencoder's relative reconstruction error |E − Ê|/E against 1/E (seed 001);
# * a time benchmark of generation.
#
# Pass several runs in `runs` to compare models (e.g. the architectures of seed 001 or the
# conditioning variants of seed 003) in one table.

# %% tags=["parameters"]
data_path: str = "data/synthetic_ds2.h5"  # CaloChallenge HDF5 file; its last n_events are the reference
run_dir: str = "reports/runs/quick"  # the trained run (its best.pt)
runs: list = []  # more run directories or checkpoints to compare with run_dir
n_events: int = 5000  # reference showers (and generated showers per model)
sampler: str = "gibbs"  # prior sampler for generation: gibbs, sa, pimc or mock-qpu
gibbs_steps: int = 100  # Gibbs sweeps per generated latent sample
n_bootstrap: int = 5  # bootstrap resamples for the FPD error
classifier_epochs: int = 10  # maximum epochs of each classifier test
device: str = "auto"  # auto, cpu or cuda
seed: int = 0  # generation and metric seed
out_dir: str = "reports"  # where 03_evaluate.results.json is written

# %%
import time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from IPython.display import Markdown, display

from calolib.reports.notebook import setup, save_results
from calolib.reports.plots import plot_distributions, plot_profile_vs_einc, ratio_axes
from calolib.io import load_showers, ShowerFile
from calolib.features import compute_features, apply_threshold
from calolib.training import load_checkpoint
from calolib.generation import generate
from calolib.metrics import evaluate, EvaluateConfig, ClassifierConfig
from calolib.diagnostics import correlation_matrix, layer_groups, relative_error_curve, resolution_fit_full, \
    model_callables
from calolib.diagnostics.plots import plot_correlation_matrices, plot_resolution, plot_relative_error

setup()
with ShowerFile(data_path) as f:
    n_total = len(f)
n_ref = min(n_events, n_total)
ref = load_showers(data_path, start=n_total - n_ref, max_events=n_ref)
geo = ref.geometry
sources = {Path(p).name if Path(p).is_dir() else Path(p).stem: p for p in [run_dir, *runs]}
print(f"reference: events {n_total - n_ref}..{n_total - 1} of {data_path} ({geo.name}); models: {list(sources)}")

# %%
gen, timing, ckpts = {}, {}, {}
for label, src in sources.items():
    ckpts[label] = ck = load_checkpoint(src, device=device)
    t0 = time.perf_counter()
    gen[label] = generate(ck.model, ck.transform, ref.energies, sampler=sampler, n_gibbs_steps=gibbs_steps,
                          seed=seed, device=device)
    timing[label] = time.perf_counter() - t0
    print(f"{label}: generated {len(gen[label])} showers in {timing[label]:.1f} s")
main = next(iter(sources))
thr = geo.threshold_mev
f_ref = compute_features(ref, threshold_mev=thr)
f_gen = {k: compute_features(g, threshold_mev=thr) for k, g in gen.items()}

# %% [markdown]
# ## Total energy and sparsity
# Normalised distributions of E_dep/E_inc and of the sparsity (fraction of voxels below 15.15 keV),
# reference in black with statistical errors; the ratio panel shows model / reference.

# %% tags=["key-figure"]
fig = plt.figure(figsize=(15, 6))
sub = fig.add_gridspec(1, 2, wspace=0.25)
for spec, (name, label) in zip(sub, (("e_ratio", "E_dep / E_inc"), ("sparsity", "sparsity"))):
    ax, rax = ratio_axes(fig.add_subfigure(spec))
    samples = {"reference": getattr(f_ref, name), **{k: getattr(v, name) for k, v in f_gen.items()}}
    plot_distributions(samples, ax=ax, rax=rax, xlabel=label)
plt.show()

# %% [markdown]
# ## Conditional on E_inc
# Mean and spread of the same two quantities in bins of incident energy. A model that ignores its
# conditioning shows flat curves where the reference has a trend.

# %%
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(15, 5))
e_by = {"reference": f_ref.e_inc, **{k: v.e_inc for k, v in f_gen.items()}}
plot_profile_vs_einc(e_by, {"reference": f_ref.e_ratio, **{k: v.e_ratio for k, v in f_gen.items()}}, ax=ax1,
                     ylabel="E_dep / E_inc")
plot_profile_vs_einc(e_by, {"reference": f_ref.sparsity, **{k: v.sparsity for k, v in f_gen.items()}}, ax=ax2,
                     ylabel="sparsity")
fig.tight_layout()
plt.show()

# %% [markdown]
# ## Every high-level feature
# The full evaluation (threshold, features on common bins, FPD/KPD with bootstrap errors, classifier
# tests, Frobenius distance, resolution fits). Below: separation power of each per-layer feature
# against the layer (0 = indistinguishable, 1 = disjoint).

# %%
cfg = EvaluateConfig(fpd_bootstrap=n_bootstrap, classifier=ClassifierConfig(epochs=classifier_epochs),
                     kpd_batch_size=min(5000, max(n_ref // 2, 2)), seed=seed, device=device)
reports = {k: evaluate(g, ref, config=cfg) for k, g in gen.items()}
rep = reports[main]
fig, axes = plt.subplots(1, 2, figsize=(16, 5))
sp = {r["name"]: r["separation_power"] for r in rep.rows}
for i, stem in enumerate(("e_layer", "ec_r", "width_r", "sparsity_layer")):
    layers = [l for l in range(geo.n_layers) if f"{stem}_{l}" in sp]
    axes[0].plot(layers, [sp[f"{stem}_{l}"] for l in layers], "o-", ms=3, label=stem)
axes[0].set_xlabel("layer")
axes[0].set_ylabel("separation power")
axes[0].legend()
scalars = [k for k in ("e_total", "e_ratio", "sparsity", "e_inc") if k in sp]
axes[1].bar(scalars, [sp[k] for k in scalars], color="#0072B2")
axes[1].set_ylabel("separation power")
fig.tight_layout()
plt.show()

# %% [markdown]
# ## The metrics table
# Headline numbers, then the 15 features the model reproduces worst.

# %%
display(Markdown(rep.to_markdown(top=15)))
if len(reports) > 1:
    keys = ("sep_power_mean", "fpd", "kpd", "auc_low", "auc_high", "frobenius")
    table = ["| model | " + " | ".join(keys) + " |", "|---" * (len(keys) + 1) + "|"]
    table += [f"| {k} | " + " | ".join(f"{r.summary.get(c, float('nan')):.4g}" for c in keys) + " |"
              for k, r in reports.items()]
    display(Markdown("\n".join(table)))

# %% [markdown]
# ## Layer-energy correlations (Frobenius distance, seed 004)
# Correlation matrices of grouped-layer energies for the model and the reference, and their difference;
# ‖C_model − C_ref‖_F summarises the mismatch in one number.

# %%
groups = layer_groups(geo)
plot_correlation_matrices(correlation_matrix(apply_threshold(gen[main], thr), geo, groups=groups),
                          correlation_matrix(apply_threshold(ref, thr), geo, groups=groups),
                          labels=(main, "reference"))
plt.show()

# %% [markdown]
# ## Energy resolution and reconstruction error (seed 001)
# Left: σ/E of E_dep/E_inc per E_inc bin with the fit a/√E ⊕ b ⊕ c/E (E in GeV) for reference and
# generated showers. Right: the autoencoder's relative error rel = |E − Ê|/E of the reconstructed
# total energy against 1/E on log-log axes; slope 1 means a constant error δ, slope ½ an error ∝ √E,
# slope 0 an error proportional to E.

# %%
ck = ckpts[main]
encode, _, decode = model_callables(ck.model)
x = ck.transform.transform(ref.energies, ref.showers)
recon = ck.transform.inverse(ref.energies, decode(encode(x, ref.energies), ref.energies).detach().cpu().numpy())
e_true = apply_threshold(ref, thr).showers.sum(1)
e_reco = apply_threshold(recon, thr).sum(1)
fits = {"reference": resolution_fit_full(ref.energies, e_true, min_per_bin=10),
        main: resolution_fit_full(gen[main].energies, apply_threshold(gen[main], thr).showers.sum(1), min_per_bin=10)}
curve = relative_error_curve(e_true, e_reco)
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(16, 5.5))
plot_resolution(fits, ax=ax1)
plot_relative_error({"autoencoder": curve}, ax=ax2)
fig.tight_layout()
plt.show()

# %% [markdown]
# ## Time benchmark
# Wall-clock generation time on this machine (all steps: prior sampling, decoding, inverse
# preprocessing) next to the numbers quoted for ds2 in seed 000 (time for 100 showers).

# %%
rows = [f"| {k} (this run, {sampler}) | {len(gen[k])} | {timing[k]:.2f} | {100 * timing[k] / len(gen[k]):.3f} |"
        for k in gen]
display(Markdown("\n".join(["| model | showers | time [s] | time per 100 showers [s] |", "|---|---|---|---|", *rows,
                            "| CaloScore (seed 000, ds2) | | | 5.8 |", "| WGAN-GP (seed 000, ds2) | | | 1.33 |",
                            "| Geant4 (seed 000, ds2) | | | O(10⁴) |"])))

# %%
s = rep.summary
results = {
    "n_ref": len(ref),
    "n_gen": len(gen[main]),
    "models": list(sources),
    "sampler": sampler,
    "sep_power_e_ratio": sp.get("e_ratio"),
    "sep_power_sparsity": sp.get("sparsity"),
    "sep_power_mean": s["sep_power_mean"],
    "fpd": s["fpd"], "fpd_err": s["fpd_err"], "kpd": s["kpd"], "kpd_err": s["kpd_err"],
    "auc_low": s.get("auc_low"), "auc_high": s.get("auc_high"),
    "frobenius": s["frobenius"],
    "resolution_ref": fits["reference"].to_dict(), "resolution_gen": fits[main].to_dict(),
    "reco_rel_error_slope": curve.slope,
    "showers_per_s": len(gen[main]) / timing[main],
    "per_model": {k: r.summary for k, r in reports.items()},
}
results_path = save_results(out_dir, "03_evaluate", results)
