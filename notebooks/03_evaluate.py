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
# # 03 · Evaluation: the RBM prior against its controls, on the CaloChallenge metrics
#
# Does the Boltzmann prior help? The RBM-prior QVAE (`run_dir`) and its prior controls with the same
# encoder, decoder and training (`{run_dir}-bernoulli`: a factorised prior over the same binary latents;
# `{run_dir}-gaussian`: a standard VAE) each generate one shower per incident energy of a held-out
# reference sample (the last `n_events` of the data file). A **second reference** of the same size (the
# `n_events` before it) gives the **floor**: the value every metric takes for two samples of one
# distribution at this sample size. A model is only as good as its distance from that floor.
#
# The metrics follow the official CaloChallenge evaluation (threshold 0.5 keV/0.033, its feature
# vector and histogram bins, jetnet-0.2.5 FPD/KPD ×1e3, the DNN classifier with isotonic calibration;
# `calolib.metrics.compare`), so the numbers can be put beside published tables at equal sample sizes;
# calolib's own variants are shown too, labelled *calolib extra*. The same table for any two files:
# `calolib evaluate GEN.h5 REF.h5 --ref2 REF2.h5`.

# %% tags=["parameters"]
data_path: str = "data/synthetic_ds2.h5"  # CaloChallenge HDF5 file; its last 2 × n_events are the references
run_dir: str = "reports/runs/quick"  # the RBM-prior run (its best.pt)
control_runs: list = []  # prior-control runs or sweep dirs; empty: "{run_dir}-bernoulli", "{run_dir}-gaussian" if present
n_events: int = 5000  # showers per sample: reference, second reference (floor) and each model
sampler: str = "gibbs"  # prior sampler for generation: gibbs, sa, pimc or mock-qpu
gibbs_steps: int = 100  # Gibbs sweeps per generated latent sample
n_bootstrap: int = 20  # bootstrap resamples for the separation-power errors
classifier_epochs: int = 10  # epochs of each classifier test (official: 50)
classifier_width: int = 256  # units in each of the 3 hidden layers (official: 2048)
device: str = "auto"  # auto, cpu or cuda
seed: int = 0  # generation and metric seed
seed_sweep: str = "reports/sweeps/priors"  # a sweep over model.prior x seeds of this run's recipe (optional)
out_dir: str = "reports/interactive"  # where 03_evaluate.results.json goes (`calolib reports` sets reports/; this keeps runs by hand off the tracked pages)

# %%
import time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from IPython.display import Markdown, display

from calolib.diagnostics import resolution_fit_full
from calolib.diagnostics.plots import plot_resolution
from calolib.generation import generate
from calolib.io import ShowerFile, load_showers
from calolib.metrics.compare import FLOOR, OfficialEvalConfig, compare_samples
from calolib.plotting import showers as cplots
from calolib.plotting.ratio import ratio_axes
from calolib.reports.notebook import save_results, setup
from calolib.reports.takeaways import show, to_results
from calolib.reports.takeaways.evaluate import across_seeds, evaluate_takeaways, table_numbers
from calolib.sweep import expand_runs, matching_sweep
from calolib.training import load_checkpoint

setup()
with ShowerFile(data_path) as f:
    n_total = len(f)
n = min(n_events, n_total // 2)
ref = load_showers(data_path, start=n_total - n, max_events=n)
ref2 = load_showers(data_path, start=n_total - 2 * n, max_events=n)
geo = ref.geometry

candidates = [run_dir, *(control_runs or [f"{run_dir}-bernoulli", f"{run_dir}-gaussian"])]
present = [c for c in candidates if Path(c).exists()]
notes = [f"- `{src}` not found: that prior control is **skipped** (train it with "
         f"`calolib train ... --set model.prior=...`)." for src in candidates if src not in present]
ckpts = {}
for src in expand_runs(present):  # a sweep directory: its finished points
    ck = load_checkpoint(src, device=device)
    label = str(getattr(ck.model.config, "prior", "rbm"))
    label = label if label not in ckpts else f"{label} ({Path(src).name})"
    ckpts[label] = ck
cfg_train = ckpts[next(iter(ckpts))].config
n_train = int((cfg_train.get("max_events", 0) if isinstance(cfg_train, dict) else getattr(cfg_train, "max_events", 0))
              or n_total)
if n_total - 2 * n < n_train:
    notes.append(f"- the references (events {n_total - 2 * n}–{n_total - 1}) overlap the {n_train} training events: "
                 "the floor and the comparison are optimistic (use a larger data file).")
display(Markdown(f"Reference: events {n_total - n}–{n_total - 1}, second reference: {n_total - 2 * n}–"
                 f"{n_total - n - 1} of `{data_path}` ({geo.name}, {n} showers each). Models: "
                 + ", ".join(f"**{k}**" for k in ckpts) + ("\n\n" + "\n".join(notes) if notes else "")))

# %%
gen, timing = {}, {}
for label, ck in ckpts.items():
    t0 = time.perf_counter()
    gen[label] = generate(ck.model, ck.transform, ref.energies, sampler=sampler, n_gibbs_steps=gibbs_steps,
                          seed=seed, device=device)
    timing[label] = time.perf_counter() - t0
    print(f"{label}: {len(gen[label])} showers in {timing[label]:.1f} s")
main = next(iter(gen))
samples = {"reference": ref, **gen}

# %% [markdown]
# ## The comparison table
# Every model against the reference, and the floor (reference 2 against reference). Errors: bootstrap over
# events for separation powers, the FPD extrapolation's fit error, KPD's half 16–84 % range, bootstrap over
# the classifier's validation split for AUC and JSD. Lower is better everywhere (AUC 0.5 and the floor are the
# ideal). The official FPD resamples batches of 10k–50k events *with replacement*, so at 5,000 showers it is
# close to the Fréchet distance of the two finite samples: compare it only with the floor at the same size.
# The official classifier recipe (batches of 1000, Adam 2e-4, unscaled inputs) makes only a few optimiser
# steps per epoch at 5,000 showers: near 0.5 its AUC can mean "not trained yet" rather than "indistinguishable".
# calolib's own small classifier (standardised inputs, early stopping) trains at this size; both are shown.

# %%
cfg = OfficialEvalConfig.fast(epochs=classifier_epochs, n_hidden=classifier_width, n_bootstrap=n_bootstrap,
                              seed=seed, device=device)
t0 = time.perf_counter()
table = compare_samples(gen, ref, ref2, config=cfg)
t_eval = time.perf_counter() - t0
display(Markdown(table.to_markdown()))
display(Markdown(f"Classifier: {cfg.classifier_config.describe()}; FPD/KPD: jetnet-0.2.5 definitions with the "
                 f"official call's settings; evaluation of {len(table.columns)} samples took {t_eval:.0f} s."))
nums, labels = table_numbers(table)
short = {"sep_e_ratio": "sep. power E_dep/E_inc", "sep_sparsity": "sep. power sparsity", "sep_mean": "mean sep. power",
         "fpd": "FPD", "kpd": "KPD", "auc_low": "AUC (voxels, official recipe)",
         "auc_high": "AUC (features, official recipe)", "calolib_auc_low": "AUC (voxels, calolib classifier)",
         "calolib_auc_high": "AUC (features, calolib classifier)"}
takeaways = evaluate_takeaways(nums, rbm="rbm", labels=short)
_ = show(takeaways)

# %% [markdown]
# ## Across seeds
# The table holds one training per prior. When `seed_sweep` holds a sweep of this same recipe over the prior and
# several seeds (`calolib sweep examples/sweeps/priors.toml ... --out reports/sweeps/priors`, report 11), the
# ranking is judged again against the seed-to-seed scatter (official FPD; calolib's classifier AUCs).

# %%
sweep_res, why_not = matching_sweep(seed_sweep, run_dir, data_path)
seed_takeaways = across_seeds(sweep_res.summary if sweep_res is not None else None, why_not, table=takeaways)
_ = show(seed_takeaways, title="Across seeds")

# %% [markdown]
# ## Mean shower profiles
# Mean energy per layer (longitudinal) and per radial ring, all models, with model/reference ratios
# (off-scale ratios are arrows).

# %% tags=["key-figure"]
cplots.plot_mean_profiles(samples)
plt.show()

# %% [markdown]
# ## Energy response in bins of E_inc, and the voxel spectrum
# E_dep/E_inc in six log-spaced E_inc bins (a model that ignores its conditioning looks the same in every
# bin), and the spectrum of voxel energies above threshold (log-log; the official binning).

# %%
cplots.plot_response_in_einc_bins(samples, n_bins=6)
plt.show()
fig = plt.figure(figsize=(7, 6))
ax, rax = ratio_axes(fig)
cplots.plot_voxel_spectrum(samples, ax=ax, rax=rax)
plt.show()

# %% [markdown]
# ## Layer energies and the worst-modelled features
# E_layer on the official log bins for every fifth layer, then the six official features with the largest
# separation power for the RBM model, all models drawn.

# %%
cplots.plot_layer_energy_grid({"reference": ref, main: gen[main]})
plt.show()
cplots.plot_worst_features(table.evaluations[main].separation_powers, samples, n=6, model=main)
plt.show()

# %% [markdown]
# ## Shower images
# One generated shower, the average generated and reference showers, and their per-voxel ratio (RBM model).

# %%
cplots.plot_image_comparison({"reference": ref, main: gen[main]})
plt.show()

# %% [markdown]
# ## Classifier ROC curves
# The calibrated classifier outputs on the validation split; the diagonal is "indistinguishable".

# %%
curves = {f"{k} cls-{tag}": r for k, ev in table.evaluations.items() for tag, r in ev.classifiers.items()
          if k != FLOOR}
if curves:
    fig, ax = plt.subplots(figsize=(7, 6))
    cplots.plot_roc_curves(curves, ax=ax)
    plt.show()

# %% [markdown]
# ## Energy resolution
# σ/E of E_dep/E_inc per E_inc bin with the fit a/√E ⊕ b ⊕ c/E (E in GeV), one fit per sample: the numbers in
# the table, the legend and `results.json` are the same.

# %%
fits = {k: resolution_fit_full(s.energies, cplots.thresholded({k: s})[k].sum(1), min_per_bin=10)
        for k, s in samples.items()}
rows = ["| sample | a [√GeV] | b | c [GeV] | χ²/ndf |", "|---|---|---|---|---|"]
for k, f in fits.items():
    a, b, c = f.params
    ea, eb, ec = f.errors
    rows.append(f"| {k} | {a:.3g} ± {ea:.2g} | {b:.3g} ± {eb:.2g} | {c:.3g} ± {ec:.2g} | {f.chi2:.1f}/{f.ndf} |")
display(Markdown("\n".join(rows)))
fig, ax = plt.subplots(figsize=(8, 5.5))
plot_resolution({f"{k} (χ²/ndf {f.chi2:.1f}/{f.ndf})": f for k, f in fits.items()}, ax=ax)
plt.show()

# %% [markdown]
# ## Time
# Wall-clock generation time on this machine (prior sampling, decoding, inverse preprocessing), next to the
# numbers quoted for ds2 in seed 000 (time for 100 showers, their hardware).

# %%
rows = [f"| {k} (this run, {sampler}) | {len(gen[k])} | {timing[k]:.2f} | {100 * timing[k] / len(gen[k]):.3f} |"
        for k in gen]
display(Markdown("\n".join(["| model | showers | time [s] | time per 100 showers [s] |", "|---|---|---|---|", *rows,
                            "| CaloScore (seed 000, ds2) | | | 5.8 |", "| WGAN-GP (seed 000, ds2) | | | 1.33 |",
                            "| Geant4 (seed 000, ds2) | | | O(10⁴) |"])))

# %%
m = table.evaluations[main].metrics
fl = table.evaluations[FLOOR].metrics


def _vm(key, scale=1.0, src=m):
    v, e = src.get(key, (float("nan"), float("nan")))
    return {"value": v * scale, "err": e * scale}


results = {
    "n_ref": len(ref), "n_gen": len(gen[main]), "models": list(gen), "sampler": sampler,
    "skipped": notes,
    "sep_power_e_ratio": m["sep_e_ratio"][0], "sep_power_sparsity": m["sep_sparsity"][0],
    "sep_power_mean": m["sep_mean"][0],
    "fpd": m["fpd"][0] * 1e3, "fpd_err": m["fpd"][1] * 1e3, "kpd": m["kpd"][0] * 1e3, "kpd_err": m["kpd"][1] * 1e3,
    "auc_low": m.get("auc_low", (None,))[0], "auc_high": m.get("auc_high", (None,))[0],
    "frobenius": m.get("frobenius", (float("nan"),))[0],
    "resolution": {k: f.to_dict() for k, f in fits.items()},
    "resolution_ref": fits["reference"].to_dict(), "resolution_gen": fits[main].to_dict(),
    "showers_per_s": len(gen[main]) / timing[main], "generation_s": timing, "evaluation_s": t_eval,
    "classifier": cfg.classifier_config.describe(),
    "comparison": table.to_dict(),
    "headline": {"FPD (official, ×1e3)": _vm("fpd", 1e3), "FPD floor (official, ×1e3)": _vm("fpd", 1e3, fl),
                 "AUC cls-low (official recipe)": _vm("auc_low"), "AUC cls-high (official recipe)": _vm("auc_high"),
                 "AUC voxels (calolib classifier)": _vm("calolib_auc_low"),
                 "sep. power E_dep/E_inc (official bins)": _vm("sep_e_ratio"),
                 "sep. power sparsity (official bins)": _vm("sep_sparsity")},
    "takeaways": to_results(takeaways + seed_takeaways),
}
results_path = save_results(out_dir, "03_evaluate", results)
