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
# * the layer-energy correlation matrix;
# * for synthetic files, the physics model that produced them.

# %% tags=["parameters"]
data_path: str = "data/synthetic_ds2.h5"  # CaloChallenge HDF5 file (synthetic or real)
n_events: int = 10000  # events to read from the start of the file (0 means all)
seed: int = 0  # picks the example showers
out_dir: str = "reports"  # where 01_data.results.json is written

# %%
import numpy as np
import matplotlib.pyplot as plt
from IPython.display import Markdown, display

from calolib.reports.notebook import setup, save_results
from calolib.reports.plots import (plot_layer_images, plot_longitudinal_profile, plot_distributions,
                                   plot_profile_vs_einc)
from calolib.io import load_showers, check_showers, format_summary
from calolib.features import compute_features
from calolib.diagnostics import correlation_matrix, layer_groups

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
# Low-energy showers are sparse and irregular: a handful of energy spots per layer.

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
# Averaged over all events, the shower is a smooth core around the axis whose width grows with depth.

# %%
plot_layer_images(showers.showers.mean(0), geo)
plt.show()

# %% [markdown]
# ## Longitudinal profile by incident energy
# Mean energy per layer in three E_inc bins: the maximum moves deeper as E_inc grows (roughly ∝ ln E).

# %%
edges = np.quantile(showers.energies, [0, 1 / 3, 2 / 3, 1])
bins = {f"{lo / 1e3:.0f}–{hi / 1e3:.0f} GeV": showers[(showers.energies >= lo) & (showers.energies <= hi)]
        for lo, hi in zip(edges[:-1], edges[1:])}
fig, ax = plt.subplots()
plot_longitudinal_profile(bins, geo, ax=ax)
plt.show()

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
# Mean (line) and spread (band) in bins of E_inc. The deposited fraction is set by the sampling
# fraction and is roughly flat; its spread shrinks like 1/√E (stochastic term). Sparsity falls with
# energy: more secondary particles fill more voxels.

# %% tags=["key-figure"]
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(14, 5))
plot_profile_vs_einc(feats.e_inc, {"E_dep / E_inc": feats.e_ratio}, ax=ax1, ylabel="E_dep / E_inc")
plot_profile_vs_einc(feats.e_inc, {"sparsity": feats.sparsity}, ax=ax2, ylabel="sparsity")
fig.tight_layout()
plt.show()

# %% [markdown]
# ## Layer-energy correlations
# Pearson correlation of the energies of groups of consecutive layers. Neighbouring groups are
# positively correlated; front and back anti-correlate (a shower that starts late deposits less early).

# %%
groups = layer_groups(geo)
corr = correlation_matrix(showers, geo, groups=groups)
fig, ax = plt.subplots(figsize=(6.5, 5.5))
im = ax.imshow(corr, cmap="RdBu_r", vmin=-1, vmax=1, origin="lower")
fig.colorbar(im, ax=ax, label="correlation")
ax.set_xlabel("layer group")
ax.set_ylabel("layer group")
plt.show()

# %% [markdown]
# ## The synthetic model
# When the file is the embedded synthetic dataset, this is how it was made (from `calolib.synthetic`):

# %%
import calolib.synthetic

display(Markdown(calolib.synthetic.__doc__ or "(no description)"))

# %%
lo_e, hi_e = np.quantile(feats.e_inc, [0.2, 0.8])
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
    "n_layer_groups": len(groups),
}
results_path = save_results(out_dir, "01_data", results)
