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
# # 10 · Samplers of the prior, compute-matched: shower quality and prior fidelity against wall time
#
# One trained QVAE (report 02's run, a Zephyr-masked RBM prior). Its prior is sampled by
#
# * block Gibbs (calolib's compiled CPU kernel, or torch on CUDA) at several sweep counts,
# * simulated annealing (dwave-samplers SA, β 0.1 → 1) at several sweep counts,
# * path-integral (simulated quantum) annealing, and the mock QPU (MockDWaveSampler on the RBM's
#   own Zephyr graph, a simulated-annealing stand-in at a device temperature),
#
# one latent sample per reference shower, partition 0 clamped to the code of its E_inc. For every
# setting we measure the sampler's **wall time per shower** and
#
# * the **showers** it gives after decoding: separation power of E_dep/E_inc and of the sparsity,
#   the FPD of the high-level features, the AUC of a classifier on high-level features;
# * the **prior's own fidelity**: the separation power of its RBM-energy histogram against a
#   long-chain Gibbs reference with the same codes (floor: two independent references), and on a
#   single-conditioning *probe* the effective inverse temperature β_eff, the importance weights to
#   β = 1 and their effective sample size (ESS);
# * the integrated autocorrelation time τ_int of the magnetisation of Gibbs chains at equilibrium,
#   which puts the Gibbs sweep counts in units of τ_int.
#
# No published QVAE result compares its samplers at matched compute; this report does, on one model.

# %% tags=["parameters"]
data_path: str = "data/synthetic_ds2.h5"  # CaloChallenge HDF5 file; its last n_showers events are the reference
run_dir: str = "reports/runs/quick"  # the trained run (its best.pt); the mock QPU needs a Zephyr/Pegasus/Chimera prior
n_showers: int = 1000  # reference showers, and generated showers per sampler setting
gibbs_sweeps: list = [1, 10, 100, 1000]  # block-Gibbs sweep counts
sa_sweeps: list = [10, 100, 1000]  # simulated-annealing sweep counts (β 0.1 → 1)
pimc_sweeps: list = [100]  # path-integral annealing sweep counts
qpu_sweeps: list = [200]  # mock-QPU sweep counts (of its simulated-annealing stand-in)
reference_sweeps: int = 5000  # sweeps of the long-chain Gibbs references of the prior
n_probe: int = 1000  # samples per setting with one conditioning (β_eff, reweighting, ESS)
tau_sweeps: int = 1000  # sweeps of the equilibrium Gibbs chains for τ_int
classifier_epochs: int = 10  # maximum epochs of the high-level classifier test
n_bootstrap: int = 5  # bootstrap resamples for the FPD error
device: str = "auto"  # auto, cpu or cuda (annealers always run on CPU)
seed: int = 0  # sampling and metric seed
out_dir: str = "reports/interactive"  # where 10_samplers.results.json goes (`calolib reports` sets reports/; this keeps runs by hand off the tracked pages)

# %%
import matplotlib.pyplot as plt
import numpy as np
from IPython.display import Markdown, display

from calolib.device import resolve_device
from calolib.diagnostics.sampler_study import StudyConfig, run_sampler_study, sampler_settings
from calolib.io import ShowerFile, load_showers
from calolib.plotting.style import COLORS, label_axes
from calolib.reports.notebook import save_results, setup
from calolib.reports.plots import plot_distributions, ratio_axes
from calolib.reports.takeaways import show, to_results
from calolib.reports.takeaways import samplers as claims
from calolib.training import load_checkpoint

setup()
dev = resolve_device(device)
with ShowerFile(data_path) as f:
    n_total = len(f)
n_ref = min(n_showers, n_total)
ref = load_showers(data_path, start=n_total - n_ref, max_events=n_ref)
ckpt = load_checkpoint(run_dir, device=dev)
rbm = ckpt.model.rbm
masks = rbm.topology_masks()
print(f"reference: events {n_total - n_ref}..{n_total - 1} of {data_path}; prior: RBM {list(rbm.sizes)} "
      f"({masks.topology}, {masks.n_edges} couplings), partition 0 clamped to the E_inc code")

# %%
settings = sampler_settings(gibbs_sweeps, sa_sweeps, pimc_sweeps, qpu_sweeps)
cfg = StudyConfig(reference_sweeps=reference_sweeps, n_probe=n_probe, tau_sweeps=tau_sweeps,
                  classifier_epochs=classifier_epochs, fpd_bootstrap=n_bootstrap, seed=seed)
study = run_sampler_study(ckpt.model, ckpt.transform, ref, settings, cfg, device=dev)
rows = study.rows()
ran = [r for r in rows if not r["error"]]
for r in rows:
    if r["error"]:
        print(f"{r['label']}: not run ({r['error']})")
tau, tau_err, _ = study.tau
print(f"{len(ran)} settings ran on {study.n_showers} showers; energy floor {study.energy_floor:.4f}, "
      f"probe floor {study.probe_floor:.4f} (E_inc {study.probe_e_inc / 1e3:.1f} GeV); τ_int = {tau:.2f} ± {tau_err:.2f} sweeps")

# %% [markdown]
# ## Quality against wall time per shower
# Each point is one setting (labels: sweeps), x its sampler wall time per shower (log). Top row:
# shower quality (lower is better; AUC 0.5 = indistinguishable). Bottom row: the prior itself, the
# RBM-energy distance to the long-chain reference (grey band: up to twice the floor of two
# independent references; open markers: the annealers' own sampling time, without building and
# clamping one problem per E_inc code) and the probe's β_eff (the RBM's own temperature is β = 1).

# %% tags=["key-figure"]
panels = [("sep_e_ratio", None, "separation power E_dep/E_inc", False), ("sep_sparsity", None, "separation power sparsity", False),
          ("fpd", "fpd_err", "FPD (high-level features)", False), ("auc_high", "auc_high_err", "classifier AUC (high-level)", False),
          ("energy_distance", None, "RBM-energy separation power", True), ("probe_beta_eff", "probe_beta_eff_err", "β_eff (probe)", False)]
families = list(dict.fromkeys(r["family"] for r in ran))
colour = {f: COLORS[(1, 5, 3, 6, 4)[i % 5]] for i, f in enumerate(families)}
fig, axes = plt.subplots(2, 3, figsize=(16, 9.5))
for ax, (key, err, ylabel, logy) in zip(axes.ravel(), panels):
    for fam in families:
        pts = [r for r in ran if r["family"] == fam and np.isfinite(r.get(key, np.nan))]
        x = [r["seconds_per_shower"] for r in pts]
        y = [r[key] for r in pts]
        ax.errorbar(x, y, yerr=[r[err] for r in pts] if err else None, fmt="o-", color=colour[fam], capsize=3,
                    label=claims.FAMILY_NAMES.get(fam, fam))
        for r in pts:
            ax.annotate(str(r["sweeps"]), (r["seconds_per_shower"], r[key]), textcoords="offset points", xytext=(4, 4), fontsize=8)
    if key == "energy_distance":
        ax.axhspan(1e-4, claims.FIDELITY_FACTOR * study.energy_floor, color="0.85", zorder=0, label="≤ 2 × floor")
        for fam in families:  # open markers: the annealer's own time, without per-code problem set-up
            pts = [r for r in ran if r["family"] == fam and r["core_seconds_per_shower"] < 0.8 * r["seconds_per_shower"]]
            if pts:
                ax.plot([r["core_seconds_per_shower"] for r in pts], [r[key] for r in pts], "o:", mfc="none", color=colour[fam])
        ax.plot([], [], "o:", mfc="none", color="0.4", label="annealing alone")
        ax.set_ylim(0.5 * min(claims.FIDELITY_FACTOR * study.energy_floor, min(r[key] for r in ran)), 1.5)
    if key == "auc_high":
        ax.axhline(0.5, color="black", ls="--", lw=1)
    if key == "probe_beta_eff":
        ax.axhline(1.0, color="black", ls="--", lw=1)
    label_axes(ax, "sampler wall time per shower [s]", ylabel, logx=True, logy=logy)
axes[0, 0].legend(fontsize=9)
axes[1, 1].legend(fontsize=9, loc="center right")
fig.tight_layout()
plt.show()

# %% [markdown]
# ## RBM-energy distributions
# The samples' RBM energies E(z) against the long-chain Gibbs reference (black), for the shortest and
# longest setting of each sampler; the ratio panel shows sampler / reference. A sampler that stops
# short of equilibrium shows up as a shifted histogram: to higher energy for Gibbs from a random start,
# to lower energy for an annealer that ends colder than β = 1.

# %%
show_labels = []
for fam in families:
    fam_rows = [r for r in ran if r["family"] == fam]
    show_labels += list(dict.fromkeys([fam_rows[0]["label"], fam_rows[-1]["label"]]))
energies = {"long-chain Gibbs": study.reference_energy,
            **{r.setting.label: r.energy for r in study.results if r.setting.label in show_labels}}
fig = plt.figure(figsize=(11, 7))
ax, rax = ratio_axes(fig)
plot_distributions(energies, ax=ax, rax=rax, xlabel="RBM energy E(z)", bins=40)
plt.show()

# %% [markdown]
# ## β_eff and reweighting on the probe
# All probe samples share one conditioning (the code of the median E_inc), so importance weights
# w ∝ exp(−(1 − β_eff) E) to β = 1 are meaningful. The table gives β_eff (maximum pseudo-likelihood),
# the ESS of the weights as a fraction of the samples, and the RBM-energy distance to the probe's
# long-chain reference before and after reweighting.

# %%
lines = ["| setting | time / shower | β_eff | ESS | energy distance | reweighted |", "|---|---|---|---|---|---|"]
for r in ran:
    lines.append(f"| {r['label']} | {claims.per_shower(r['seconds_per_shower'])} | {r['probe_beta_eff']:.3f} ± {r['probe_beta_eff_err']:.3f} "
                 f"| {100 * r['probe_ess_fraction']:.0f} % | {r['probe_energy_distance']:.4f} | {r['probe_energy_distance_reweighted']:.4f} |")
lines.append(f"| two references (floor) | | 1 | | {study.probe_floor:.4f} | |")
display(Markdown("\n".join(lines)))

# %% [markdown]
# ## All numbers
# Wall time per shower of the sampler alone (decoding excluded; for the annealers also the part spent
# annealing), shower metrics and prior fidelity.

# %%
lines = ["| setting | sweeps | time / shower | of which annealing | sep E_dep/E_inc | sep sparsity | FPD | AUC high | energy distance | sweeps / τ_int |",
         "|---|---|---|---|---|---|---|---|---|---|"]
for r in ran:
    per_tau = f"{r['sweeps'] / tau:.3g}" if r["family"] == "gibbs" and tau > 0 else "—"
    core = claims.per_shower(r["core_seconds_per_shower"]) if r["family"] != "gibbs" else "—"
    lines.append(f"| {r['label']} | {r['sweeps']} | {claims.per_shower(r['seconds_per_shower'])} | {core} | {r['sep_e_ratio']:.3f} | {r['sep_sparsity']:.3f} "
                 f"| {r['fpd']:.3g} ± {r['fpd_err']:.2g} | {r['auc_high']:.3f} ± {r['auc_high_err']:.3f} | {r['energy_distance']:.4f} | {per_tau} |")
lines.append(f"| two long-chain references | {reference_sweeps} | | | | | | | {study.energy_floor:.4f} | {reference_sweeps / tau:.3g} |")
display(Markdown("\n".join(lines)))

# %%
takeaways = claims.all_takeaways(rows, study.energy_floor, study.probe_floor, tau, tau_err)
_ = show(takeaways)
results = {
    **study.to_dict(),
    "prior_sizes": list(rbm.sizes), "prior_topology": masks.topology, "n_couplings": masks.n_edges,
    "headline": claims.headline(rows, study.energy_floor, tau, tau_err),
    "takeaways": to_results(takeaways),
}
_ = save_results(out_dir, "10_samplers", results)
