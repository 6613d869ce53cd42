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
# # 08 · Annealer samples against Gibbs: effective temperature and reweighting (seed 004)
#
# A quantum annealer would sample the prior in training and generation. Its samples follow roughly
# e^{−β_eff E(z)} with an unknown β_eff ≠ 1 (device temperature, range scaling, freeze-out). On the
# small Zephyr-masked RBM of seed 004 (4 partitions of `n_per_partition` units, weights and biases
# ~ N(0, 1)) we draw samples with
#
# * block Gibbs (our reference MCMC), simulated annealing (dwave-samplers SA), path-integral Monte
#   Carlo (simulated quantum annealing) and the mock QPU (MockDWaveSampler on the Zephyr graph; a
#   real QPU when a token is configured and `"qpu"` is listed),
#
# all with partition 0 clamped to the same conditioning bits, so the exact conditional distribution
# (enumeration) is the ground truth. We estimate β_eff with four estimators (maximum
# pseudo-likelihood, fast single-unit regression, energy-moment matching, energy-ratio regression)
# and compare unweighted averages with averages importance-weighted to β = 1 (w ∝ e^{−(1−β_eff)E}):
# seed 004 found that "weighting the samples fixed the discrepancy".

# %% tags=["parameters"]
n_per_partition: int = 7  # units per partition of the Zephyr RBM (4 partitions)
weight_std: float = 1.0  # couplings and biases ~ N(0, weight_std²)
samplers: list = ["gibbs", "sa", "pimc", "mock-qpu"]  # samplers to compare (add "qpu" with a D-Wave token)
n_samples: int = 5000  # Gibbs chains
n_reads: int = 1000  # reads per annealing sampler
gibbs_steps: int = 100  # block-Gibbs sweeps per chain
device: str = "auto"  # device of the Gibbs chains and the reference computations
seed: int = 0  # RBM, conditioning and sampling seed
out_dir: str = "reports"  # where 08_annealer.results.json is written

# %%
import matplotlib.pyplot as plt
import numpy as np
import torch
from IPython.display import Markdown, display

from calolib.reports.notebook import setup, save_results
from calolib.reports.plots import plot_distributions
from calolib.device import resolve_device
from calolib.rbm import RBM
from calolib.samplers import get_sampler
from calolib.samplers.exact import exact_moments, ExactSampler
from calolib.temperature import compare_beta_estimators, importance_weights, weighted_mean, effective_sample_size

setup()
dev = resolve_device(device)
rbm = RBM((n_per_partition,) * 4, "zephyr", weight_std=weight_std, bias_std=weight_std, seed=seed).to(dev)
cond = (torch.rand(n_per_partition, generator=torch.Generator().manual_seed(seed)) < 0.5).float().to(dev)
truth = exact_moments(rbm, conditioning=cond)
print(f"RBM {list(rbm.sizes)} on {rbm.topology_masks().graph}: {rbm.topology_masks().n_edges} couplings; "
      f"partition 0 clamped to {cond.int().tolist()}; exact ⟨E⟩ = {truth['mean_energy']:.4f}")

# %%
samples = {"exact": ExactSampler().sample(rbm, n_samples, conditioning=cond, seed=seed)}
for name in samplers:
    kw = {"n_steps": gibbs_steps} if name == "gibbs" else {}
    n = n_samples if name == "gibbs" else n_reads
    samples[name] = get_sampler(name, **kw).sample(rbm, n, conditioning=cond, seed=seed)
    print(f"{name:>9}: {samples[name].n_samples} samples")

# %% [markdown]
# ## Energy distributions
# RBM energies of each sampler's states against the exact conditional distribution (black).
# Annealers that end colder than the RBM (β_eff > 1) pile up at low energy.

# %% tags=["key-figure"]
fig, ax = plt.subplots(figsize=(10, 6))
plot_distributions({k: s.energy.cpu().repeat_interleave(s.num_occurrences.cpu()).numpy()
                    for k, s in samples.items()}, ax=ax, xlabel="RBM energy E(z)", bins=30)
plt.show()

# %% [markdown]
# ## β_eff by four estimators
# Each estimator with its standard error; Gibbs and exact samples should give β_eff ≈ 1.

# %% tags=["key-figure"]
betas = {k: {e.method: e for e in compare_beta_estimators(rbm, s, seed=seed)} for k, s in samples.items()}
methods = list(next(iter(betas.values())))
fig, ax = plt.subplots(figsize=(10, 5.5))
for j, m in enumerate(methods):
    x = np.arange(len(betas)) + (j - (len(methods) - 1) / 2) * 0.18
    ax.errorbar(x, [betas[k][m].beta for k in betas], yerr=[betas[k][m].stderr for k in betas], fmt="o", capsize=3,
                label=m)
ax.axhline(1.0, color="black", ls="--", lw=1)
ax.set_xticks(range(len(betas)), list(betas))
ax.set_ylabel("β_eff (relative to the RBM)")
ax.legend(title="estimator")
plt.show()
display(Markdown("\n".join(["| sampler | " + " | ".join(methods) + " |", "|---" * (len(methods) + 1) + "|"]
                           + [f"| {k} | " + " | ".join(f"{b[m].beta:.3f} ± {b[m].stderr:.3f}" for m in methods) + " |"
                              for k, b in betas.items()])))

# %% [markdown]
# ## Unweighted against reweighted averages
# Marginals ⟨z_i⟩ of the free units and the mean energy, estimated from each sampler's states as they
# come (unweighted) and importance-weighted to β = 1 with the MPL β_eff, against the exact values.
# The table gives the RMS error of the marginals and the effective sample size of the weights.

# %%
free = slice(n_per_partition, None)
rows, err = [], {}
fig, axes = plt.subplots(1, 2, figsize=(15, 6))
for k, s in samples.items():
    z = s.z.double()
    plain = weighted_mean(z, s.num_occurrences.double())
    w = importance_weights(rbm, s, betas[k]["mpl"].beta)
    weighted = weighted_mean(z, w)
    e_plain = float(weighted_mean(s.energy, s.num_occurrences.double()))
    e_weighted = float(weighted_mean(s.energy, w))
    rms = lambda m: float(np.sqrt(np.mean((m.cpu().numpy()[free] - truth["marginals"][free]) ** 2)))
    err[k] = (rms(plain), rms(weighted), e_plain, e_weighted, effective_sample_size(w))
    axes[0].plot(truth["marginals"][free], plain.cpu().numpy()[free], "o", ms=4, label=k)
    axes[1].plot(truth["marginals"][free], weighted.cpu().numpy()[free], "o", ms=4, label=k)
for ax, title in zip(axes, ("unweighted", "reweighted to β = 1")):
    ax.plot([0, 1], [0, 1], "k--", lw=1)
    ax.set_xlabel("exact marginal ⟨z_i⟩")
    ax.set_ylabel("sampled marginal")
    ax.set_title(title, fontsize=12)
    ax.legend(fontsize=9)
fig.tight_layout()
plt.show()
display(Markdown("\n".join(["| sampler | RMS error unweighted | RMS error reweighted | ⟨E⟩ unweighted | ⟨E⟩ reweighted | ESS |",
                            "|---|---|---|---|---|---|", f"| exact value | 0 | 0 | {truth['mean_energy']:.4f} | {truth['mean_energy']:.4f} | |"]
                           + [f"| {k} | {a:.4f} | {b:.4f} | {c:.4f} | {d:.4f} | {e:.0f} |" for k, (a, b, c, d, e) in err.items()])))

# %%
results = {
    "n_units": rbm.n_units, "n_couplings": rbm.topology_masks().n_edges, "exact_mean_energy": truth["mean_energy"],
    **{f"beta_{m}_{k.replace('-', '_')}": b[m].beta for k, b in betas.items() for m in methods},
    **{f"beta_err_{m}_{k.replace('-', '_')}": b[m].stderr for k, b in betas.items() for m in methods},
    **{f"rms_unweighted_{k.replace('-', '_')}": v[0] for k, v in err.items()},
    **{f"rms_weighted_{k.replace('-', '_')}": v[1] for k, v in err.items()},
    "samplers": list(samples),
}
results_path = save_results(out_dir, "08_annealer", results)
