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
# # 01 · The dataset: shower images, averages and high-level features
#
# What the QVAE learns from. This report opens a CaloChallenge-format file (by default the embedded
# synthetic ds2 dataset, or any real CaloChallenge file via `data_path`) and shows
#
# * single showers and the average shower, layer by layer (radius × angle, log colour scale);
# * the mean longitudinal profile in bins of incident energy E_inc;
# * the distributions of the high-level features used by every later evaluation (CaloChallenge
#   convention: 15.15 keV voxel threshold for ds2/ds3);
# * how the deposited-energy fraction and the sparsity depend on E_inc;
# * the layer-energy correlation matrix against the Geant4 reference of CaloChallenge dataset 2 (reference,
#   this file, their difference and its Frobenius distance), and the same matrix at fixed E_inc, where the
#   shower's own fluctuations show;
# * for synthetic files, the physics model that produced them.

# %% tags=["parameters"]
data_path: str = "data/synthetic_ds2.h5"  # CaloChallenge HDF5 file (synthetic or real)
n_events: int = 10000  # events to read from the start of the file (0 means all)
seed: int = 0  # picks the example showers
out_dir: str = "reports/interactive"  # where 01_data.results.json goes (`calolib reports` sets reports/; this keeps runs by hand off the tracked pages)
pcc_events: int = 0  # showers for the layer-correlation matrices, read in batches (0 means the whole file)
fixed_e_lo_gev: float = 100.0  # lower edge of the narrow E_inc bin of the fixed-energy matrix, GeV
fixed_e_hi_gev: float = 150.0  # upper edge of that bin, GeV

# %%
import numpy as np
import matplotlib.pyplot as plt
from IPython.display import Markdown, display

from calolib.reports.notebook import setup, save_results
from calolib.reports.plots import (plot_layer_images, plot_longitudinal_profile, plot_distributions,
                                   plot_profile_vs_einc)
from calolib.io import load_showers, check_showers, format_summary
from calolib.features import compute_features

setup()
showers = load_showers(data_path, max_events=n_events or None)
geo = showers.geometry
feats = compute_features(showers, threshold_mev=geo.threshold_mev)
print(format_summary(check_showers(data_path)))
print(f"\nread {len(showers)} events, geometry {geo.name}: {geo.n_layers} layers, {geo.n_voxels} voxels")

# %% [markdown]
# ## Single showers
# Three showers at low, middle and high incident energy, in five layers from the front to the back
# of the calorimeter. Each wedge is a voxel (angular bin × radial ring); blank voxels are empty.
# Low-energy showers are expected to be sparse and irregular: a handful of energy spots per layer.

# %% tags=["key-figure"]
rng = np.random.default_rng(seed)
order = np.argsort(showers.energies)
picks = [order[int(q * (len(order) - 1))] for q in (0.05, 0.5, 0.95)]
for i in picks:
    arts = plot_layer_images(showers.showers[i], geo)
    arts[0].axes.figure.suptitle(f"event {i}: E_inc = {showers.energies[i] / 1e3:.1f} GeV", y=1.02)
    plt.show()

# %% [markdown]
# ## The average shower
# Averaged over all events: a core around the shower axis, whose width should grow with depth.

# %%
plot_layer_images(showers.showers.mean(0), geo)
plt.show()

# %% [markdown]
# ## Longitudinal profile by incident energy
# Mean energy per layer in three E_inc bins. For an electromagnetic shower the maximum should move deeper
# as E_inc grows (roughly ∝ ln E).

# %%
from calolib.reports.takeaways import show, to_results
from calolib.reports.takeaways import data as data_takeaways

edges = np.quantile(showers.energies, [0, 1 / 3, 2 / 3, 1])
bins = {f"{lo / 1e3:.0f}–{hi / 1e3:.0f} GeV": showers[(showers.energies >= lo) & (showers.energies <= hi)]
        for lo, hi in zip(edges[:-1], edges[1:])}
fig, ax = plt.subplots()
plot_longitudinal_profile(bins, geo, ax=ax)
plt.show()
layer_of_max = [int(np.argmax(geo.layer_energies(b.showers).mean(axis=0))) for b in bins.values()]
takeaways = [data_takeaways.shower_max_depth(list(bins), layer_of_max)]
_ = show(takeaways[-1:])

# %% [markdown]
# ## High-level features
# Distributions of the features that the evaluation report (03) compares between generated and
# reference showers: incident and deposited energy, their ratio, sparsity (fraction of empty voxels),
# and the centre and width of the energy in a middle layer.

# %%
mid = geo.active_layers[len(geo.active_layers) // 2]
panels = [
    ("E_inc [MeV]", feats.e_inc, True),
    ("E_dep [MeV]", feats.e_total, True),
    ("E_dep / E_inc", feats.e_ratio, False),
    ("sparsity (fraction of empty voxels)", feats.sparsity, False),
    (f"centre of energy r, layer {mid} [mm]", feats.ec_r[:, mid], False),
    (f"width r, layer {mid} [mm]", feats.width_r[:, mid], False),
]
fig, axes = plt.subplots(2, 3, figsize=(16, 9))
for ax, (label, values, logx) in zip(axes.ravel(), panels):
    plot_distributions({"data": values}, ax=ax, xlabel=label, logx=logx)
fig.tight_layout()
plt.show()

# %% [markdown]
# ## Energy fraction and sparsity against E_inc
# Mean (line) and spread (band) in bins of E_inc. In a sampling calorimeter the deposited fraction is set
# by the sampling fraction and should be flat, with a spread shrinking like 1/√E (stochastic term); the
# sparsity should fall with energy as more secondaries fill more voxels.

# %% tags=["key-figure"]
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(14, 5))
plot_profile_vs_einc(feats.e_inc, {"E_dep / E_inc": feats.e_ratio}, ax=ax1, ylabel="E_dep / E_inc")
plot_profile_vs_einc(feats.e_inc, {"sparsity": feats.sparsity}, ax=ax2, ylabel="sparsity")
fig.tight_layout()
plt.show()
lo_e, hi_e = np.quantile(feats.e_inc, [0.2, 0.8])
third_lo, third_hi = np.quantile(feats.e_inc, [1 / 3, 2 / 3])
r_lo, r_hi = feats.e_ratio[feats.e_inc <= third_lo], feats.e_ratio[feats.e_inc >= third_hi]
takeaways += [data_takeaways.response_vs_einc(r_lo.mean(), r_lo.std() / np.sqrt(max(len(r_lo), 1)),
                                              r_hi.mean(), r_hi.std() / np.sqrt(max(len(r_hi), 1))),
              data_takeaways.sparsity_vs_einc(feats.sparsity[feats.e_inc <= lo_e].mean(),
                                              feats.sparsity[feats.e_inc >= hi_e].mean())]
_ = show(takeaways[-2:])

# %% [markdown]
# ## Layer-energy correlations against Geant4
# The CaloChallenge compares the 45 × 45 Pearson correlation matrix of the layer energies (voxels below the
# 15.15 keV threshold zeroed, E_inc log-uniform 1 GeV – 1 TeV) with Geant4's, by the Frobenius norm of the
# difference; the published ds2 models sit between 1.0 (CaloDREAM) and 7.4 (CaloPointFlow). Left: Geant4,
# middle: this file, right: the difference (this file − Geant4).

# %% tags=["key-figure"]
from calolib import reference

e_all, le_all, _ = reference.file_layer_energies(data_path, max_events=pcc_events or None)
pcc = reference.layer_pcc(le_all)
pcc_takeaways = []
cmp = None
if geo.name == reference.REFERENCE_GEOMETRY:
    cmp = reference.compare(le_all)
    reference.plot_comparison(pcc, label="this file", distance=cmp["distance"])
    plt.show()
    pcc_takeaways += [data_takeaways.reference_distance(cmp["distance"], cmp["distance_err"], cmp["noise_floor"],
                                                        cmp["published"], n_events=cmp["n_events"]),
                      data_takeaways.worst_rows(cmp["rows"])]
    fig, ax = plt.subplots(figsize=(12, 4))
    ax.bar(np.arange(len(cmp["rows"])), cmp["rows"], color="C0", label="this file − Geant4")
    ax.stairs(cmp["rows_noise"], np.arange(len(cmp["rows"]) + 1) - 0.5, color="C1", linewidth=2,
              label=f"sampling noise of {cmp['n_events']} showers (bootstrap)")
    ax.legend()
    ax.set_xlabel("layer")
    ax.set_ylabel("‖row‖ of PCC − PCC_G4")
    ax.set_title(f"row contributions (their squares sum to ‖Δ‖²_F = {cmp['distance'] ** 2:.2f})", fontsize="medium")
    plt.show()
else:
    display(Markdown(f"A Geant4 layer-correlation reference exists only for ds2; this file is {geo.name}, so only "
                     "its own matrix is shown."))
    fig, ax = plt.subplots(figsize=(6.5, 5.5))
    im = ax.imshow(pcc, cmap="viridis", vmax=1, origin="lower", interpolation="nearest")
    fig.colorbar(im, ax=ax, label="Pearson correlation")
    ax.set_xlabel("active layer")
    ax.set_ylabel("active layer")
    plt.show()
pcc_takeaways.append(data_takeaways.spectrum_correlations(pcc))
takeaways += pcc_takeaways
_ = show(pcc_takeaways)

# %% [markdown]
# ## Correlations at fixed E_inc
# Over the whole spectrum every layer grows with E_inc, and that common growth fills the matrix with positive
# numbers. In one narrow E_inc bin only the shower's own fluctuations remain: where it starts, how deep its
# maximum lies, how its tail fluctuates. Same colour scale, −1 to 1.

# %% tags=["key-figure"]
lo_mev, hi_mev = fixed_e_lo_gev * 1e3, fixed_e_hi_gev * 1e3
pcc_fixed, n_fixed = reference.fixed_energy_pcc(e_all, le_all, lo_mev, hi_mev)
in_bin = (e_all >= lo_mev) & (e_all < hi_mev)
bin_label = f"{fixed_e_lo_gev:g}–{fixed_e_hi_gev:g} GeV"
fig, axes = plt.subplots(1, 2, figsize=(14, 5.6), layout="constrained")
for ax, mat, title in ((axes[0], pcc, f"whole spectrum ({len(e_all)} showers)"),
                       (axes[1], pcc_fixed, f"E_inc in {bin_label} ({n_fixed} showers)")):
    im = ax.imshow(mat, cmap="RdBu_r", vmin=-1, vmax=1, origin="lower", interpolation="nearest")
    ax.set_title(title, fontsize="medium")
    ax.set_xlabel("active layer")
    ax.set_ylabel("active layer")
fig.colorbar(im, ax=axes, label="Pearson correlation of layer energies", shrink=0.9)
plt.show()
fixed_takeaway = data_takeaways.fixed_energy_correlations(
    pcc_fixed, n_fixed, bin_label, mean_profile=le_all[in_bin].mean(axis=0) if n_fixed else None)
takeaways.append(fixed_takeaway)
_ = show([fixed_takeaway])

# %% [markdown]
# ## The synthetic model
# When the file is the embedded synthetic dataset, this is how it was made (from `calolib.synthetic`):

# %%
import calolib.synthetic

display(Markdown(calolib.synthetic.__doc__ or "(no description)"))

# %%
results = {
    "n_events": len(showers),
    "geometry": geo.name,
    "n_voxels": geo.n_voxels,
    "e_inc_min_mev": float(feats.e_inc.min()),
    "e_inc_max_mev": float(feats.e_inc.max()),
    "mean_e_ratio": float(feats.e_ratio.mean()),
    "mean_sparsity": float(feats.sparsity.mean()),
    "sparsity_low_e": float(feats.sparsity[feats.e_inc <= lo_e].mean()),
    "sparsity_high_e": float(feats.sparsity[feats.e_inc >= hi_e].mean()),
    "pcc_n_events": int(len(e_all)),
    "spectrum_min_corr": float(np.min(pcc + 2 * np.eye(len(pcc)))),
    "fixed_e_bin_gev": [fixed_e_lo_gev, fixed_e_hi_gev],
    "fixed_e_n": n_fixed,
    "fixed_e_min_corr": float(np.nanmin(pcc_fixed + 2 * np.eye(len(pcc_fixed)))) if n_fixed >= 2 else None,
    "takeaways": to_results(takeaways),
}
if cmp is not None:
    results.update({"layer_pcc_distance": cmp["distance"], "layer_pcc_distance_err": cmp["distance_err"],
                    "layer_pcc_noise_floor": cmp["noise_floor"], "layer_pcc_worst_rows": cmp["worst_rows"],
                    "layer_pcc_rows": cmp["rows"]})
    results["headline"] = {"layer PCC distance to Geant4 (‖Δ‖_F)": {"value": cmp["distance"],
                                                                   "err": cmp["distance_err"]}}
else:
    results["headline"] = {}
results_path = save_results(out_dir, "01_data", results)
