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
# # 04 · The prior: RBM topology, energies, coupling spectra and log Z
#
# The QVAE's latent prior is a 4-partite restricted Boltzmann machine p(z) = e^{−E(z)}/Z whose
# couplings follow the qubit graph of a D-Wave annealer. This report shows
#
# * the partitions laid out on the Zephyr and Pegasus qubit graphs (the couplings a QPU could realise);
# * RBM energies of encoded validation showers against those of Gibbs samples from the prior — if the
#   prior learned the aggregate posterior, the two histograms coincide (seed 001);
# * singular-value spectra of the coupling blocks W_pq for the trained prior and across epochs (seed 004);
# * ln Z from annealed importance sampling (AIS, low on average) and reverse AIS (RAIS, high on
#   average), checked against exact enumeration on a small RBM, and the log-likelihood
#   LL = −⟨E(z)⟩ − ln Z of the validation encodings.

# %% tags=["parameters"]
data_path: str = "data/synthetic_ds2.h5"  # CaloChallenge HDF5 file; its last n_samples events are encoded
run_dir: str = "reports/runs/quick"  # the trained run (best.pt and rbm_epochs/)
n_samples: int = 2000  # validation events encoded, and Gibbs samples drawn
gibbs_steps: int = 200  # block-Gibbs sweeps per prior sample
ais_betas: int = 2000  # inverse temperatures of AIS and RAIS
ais_chains: int = 256  # AIS chains
small_sizes: list = [5, 5, 5, 5]  # partition sizes of the small RBM checked against exact ln Z
device: str = "auto"  # auto, cpu or cuda
seed: int = 0  # sampling seed
out_dir: str = "reports"  # where 04_rbm.results.json is written

# %%
import matplotlib.pyplot as plt
import numpy as np
import torch
from IPython.display import Markdown, display

from calolib.reports.notebook import setup, save_results, load_rbm_snapshots
from calolib.reports.plots import plot_topology, plot_distributions
from calolib.io import load_showers, ShowerFile
from calolib.training import load_checkpoint
from calolib.topology import four_partite_mask
from calolib.rbm import RBM
from calolib.samplers import gibbs_sample
from calolib.partition import ais, rais, exact_log_z, log_likelihood
from calolib.diagnostics import coupling_spectra, spectra_over_checkpoints, model_callables
from calolib.diagnostics.plots import plot_spectra, plot_spectra_history

setup()
ck = load_checkpoint(run_dir, device=device)
model, rbm = ck.model, ck.model.rbm
print(f"prior: sizes {list(rbm.sizes)}, topology {rbm.config.topology}, {rbm.n_parameters} free parameters "
      f"(epoch {ck.epoch} of {run_dir})")

# %% [markdown]
# ## The partitions on the annealer graphs
# Four colour classes of a proper four-colouring of the qubit graph (no coupler inside a partition),
# qubits nearest the chip centre first. Grey: the rest of the chip.

# %% tags=["key-figure"]
topologies = {}
fig, axes = plt.subplots(1, 2, figsize=(16, 8))
for ax, topo in zip(axes, ("zephyr", "pegasus")):
    topologies[topo] = masks = four_partite_mask(rbm.sizes, topo)
    plot_topology(masks, ax=ax)
plt.show()
display(Markdown("\n".join(["| topology | graph | couplings | density | degree min / mean / max |", "|---|---|---|---|---|"]
                           + [f"| {t} | {m.graph} | {m.n_edges} | {m.density:.4f} | {m.summary()['degree_min']} / "
                              f"{m.summary()['degree_mean']:.1f} / {m.summary()['degree_max']} |"
                              for t, m in topologies.items()])))

# %% [markdown]
# ## Energies of encoded data and of prior samples
# Left: RBM energy E(z) of the encoder's latent codes of validation showers (the "positive phase")
# and of block-Gibbs samples of the prior with the same conditioning bits clamped. Right: the mean
# activation of each latent unit in both.

# %%
with ShowerFile(data_path) as f:
    n_total = len(f)
val = load_showers(data_path, start=n_total - min(n_samples, n_total), max_events=n_samples)
encode, rbm_energy, _ = model_callables(model)
with torch.no_grad():
    z_data = encode(ck.transform.transform(val.energies, val.showers), val.energies).float()
    code = model.condition_code(torch.as_tensor(val.energies, dtype=torch.float32, device=model.device))
    z_prior = gibbs_sample(rbm, len(val), gibbs_steps, seed=seed, conditioning=code if code.shape[1] else None)
    e_data, e_prior = rbm.energy(z_data).cpu().numpy(), rbm.energy(z_prior).cpu().numpy()
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(16, 5.5))
plot_distributions({"encoded validation data": e_data, f"Gibbs samples ({gibbs_steps} sweeps)": e_prior}, ax=ax1,
                   xlabel="RBM energy E(z)")
ax2.plot(z_data.mean(0).cpu().numpy(), ".", ms=3, label="encoded data")
ax2.plot(z_prior.mean(0).cpu().numpy(), ".", ms=3, label="Gibbs samples")
for off in rbm.offsets[1:]:
    ax2.axvline(off - 0.5, color="grey", lw=0.8)
ax2.set_xlabel("latent unit (partitions separated by lines)")
ax2.set_ylabel(r"mean activation $\langle z_i \rangle$")
ax2.legend()
fig.tight_layout()
plt.show()

# %% [markdown]
# ## Singular values of the couplings
# Left: spectra of every coupling block W_pq of the trained prior (sorted singular values). Right:
# the spectrum of the full coupling matrix across the training epochs (one line per epoch snapshot);
# a few growing singular values mean the prior learned a few strong collective modes.

# %%
spectra = coupling_spectra(rbm)
snapshots = load_rbm_snapshots(run_dir)
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(16, 5.5))
plot_spectra(spectra, ax=ax1)
history = None
if snapshots:
    history = spectra_over_checkpoints([r for _, r in snapshots], epochs=[e for e, _ in snapshots])
    plot_spectra_history(history, pair="full", ax=ax2)
else:
    ax2.text(0.5, 0.5, "no per-epoch RBM snapshots in run_dir", ha="center", transform=ax2.transAxes)
fig.tight_layout()
plt.show()

# %% [markdown]
# ## ln Z: exact, AIS and reverse AIS
# First on a small random RBM where ln Z can be enumerated exactly, then on the trained prior, where
# AIS starts from the factorised bias-only distribution and RAIS from the Gibbs samples above. The
# truth lies between them (within their errors); LL = −⟨E(z_data)⟩ − ln Z is the log-likelihood of the
# validation encodings under the prior (nats per sample).

# %%
small = RBM(tuple(small_sizes), weight_std=0.5, bias_std=0.5, seed=seed)
small_exact = exact_log_z(small)
small_ais = ais(small, ais_chains, ais_betas, seed=seed)
small_rais = rais(small, gibbs_sample(small, ais_chains, 200, seed=seed), ais_betas, seed=seed)
lz_ais = ais(rbm, ais_chains, ais_betas, seed=seed)
lz_rais = rais(rbm, z_prior[:ais_chains], ais_betas, seed=seed)
ll_ais, ll_rais = log_likelihood(rbm, z_data, lz_ais[0]), log_likelihood(rbm, z_data, lz_rais[0])
display(Markdown("\n".join([
    "| RBM | exact ln Z | AIS ln Z | RAIS ln Z | LL (AIS) | LL (RAIS) |", "|---|---|---|---|---|---|",
    f"| small {list(small_sizes)} | {small_exact:.4f} | {small_ais[0]:.4f} ± {small_ais[1]:.4f} | "
    f"{small_rais[0]:.4f} ± {small_rais[1]:.4f} | | |",
    f"| trained prior {list(rbm.sizes)} | — | {lz_ais[0]:.3f} ± {lz_ais[1]:.3f} | {lz_rais[0]:.3f} ± {lz_rais[1]:.3f} | "
    f"{ll_ais:.3f} | {ll_rais:.3f} |"])))

# %%
results = {
    "rbm_sizes": list(rbm.sizes),
    "n_parameters": int(rbm.n_parameters),
    "topologies": {t: m.summary() for t, m in topologies.items()},
    "mean_energy_data": float(e_data.mean()),
    "mean_energy_prior": float(e_prior.mean()),
    "effective_rank_full": float(spectra.effective_ranks["full"]),
    "n_snapshots": len(snapshots),
    "small_exact_log_z": small_exact,
    "small_ais_log_z": small_ais[0], "small_ais_err": small_ais[1],
    "small_rais_log_z": small_rais[0], "small_rais_err": small_rais[1],
    "ais_log_z": lz_ais[0], "ais_err": lz_ais[1], "rais_log_z": lz_rais[0], "rais_err": lz_rais[1],
    "ll_ais": ll_ais, "ll_rais": ll_rais,
}
results_path = save_results(out_dir, "04_rbm", results)
