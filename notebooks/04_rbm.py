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
#   LL = ⟨−E(z) − ln Z⟩ of the validation encodings.
#
# The QVAE clamps partition 0 to the E_inc code in training and generation, so its prior is the
# **conditional** model p(z | c) = e^{−E(c, z)}/Z(c): ln Z(c) is estimated per code (AIS from the
# factorised base with the code's field, RAIS from block-Gibbs chains with that code clamped — samples of
# the same conditional model) for `ll_codes` validation events, and LL uses their mean. The joint model
# (all units free, RAIS from unclamped chains) is shown beside it for comparison only.

# %% tags=["parameters"]
data_path: str = "data/synthetic_ds2.h5"  # CaloChallenge HDF5 file; its last n_samples events are encoded
run_dir: str = "reports/runs/quick"  # the trained run (best.pt and rbm_epochs/)
n_samples: int = 2000  # validation events encoded, and Gibbs samples drawn
gibbs_steps: int = 200  # block-Gibbs sweeps per prior sample
ais_betas: int = 2000  # inverse temperatures of AIS and RAIS
ais_chains: int = 16  # AIS chains (and RAIS start samples) per E_inc code
ll_codes: int = 32  # validation events whose code's ln Z(c) is estimated
rais_gibbs_steps: int = 500  # block-Gibbs sweeps of the clamped chains that start RAIS
convergence_betas: list = [10, 30, 100, 300, 1000]  # schedule lengths of the AIS/RAIS convergence figure
small_sizes: list = [5, 5, 5, 5]  # partition sizes of the small RBM checked against exact ln Z
device: str = "auto"  # auto, cpu or cuda
seed: int = 0  # sampling seed
out_dir: str = "reports/interactive"  # where 04_rbm.results.json goes (`calolib reports` sets reports/; this keeps runs by hand off the tracked pages)

# %%
import matplotlib.pyplot as plt
import numpy as np
import torch
from IPython.display import Markdown, display

from calolib.reports.notebook import setup, save_results, load_rbm_snapshots
from calolib.reports.plots import plot_topology, plot_distributions
from calolib.reports.takeaways import show, to_results
from calolib.reports.takeaways.training import best_checkpoint, best_epoch
from calolib.reports.takeaways.rbm import ais_rais_bracket, exact_check, prior_vs_data, log_likelihood_range, \
    active_units
from calolib.io import load_showers, ShowerFile
from calolib.metrics.divergences import separation_power
from calolib.training import load_checkpoint
from calolib.topology import four_partite_mask
from calolib.rbm import RBM
from calolib.samplers import gibbs_sample
from calolib.samplers.exact import exact_moments
from calolib.partition import ais, rais, exact_log_z, model_samples
from calolib.diagnostics import coupling_spectra, spectra_over_checkpoints, model_callables, prior_log_likelihood
from calolib.diagnostics.plots import plot_spectra, plot_spectra_history

setup()
ck = load_checkpoint(run_dir, device=device)
model, rbm = ck.model, ck.model.rbm
best = best_checkpoint(ck.path)
n0 = int(model.config.n_clamped)
print(f"prior: sizes {list(rbm.sizes)}, topology {rbm.config.topology}, {rbm.n_parameters} free parameters, "
      f"{n0} clamped code bits")
takeaways = [best_epoch(best)]
_ = show(takeaways, title="The checkpoint")

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
# and of block-Gibbs samples of the prior with the same conditioning bits clamped (log y: the tails).
# Right: the mean activation of each latent unit in both.

# %%
with ShowerFile(data_path) as f:
    n_total = len(f)
val = load_showers(data_path, start=n_total - min(n_samples, n_total), max_events=n_samples)
encode, rbm_energy, _ = model_callables(model)
with torch.no_grad():
    z_data = encode(model.prepare(val.energies, val.showers), val.energies).float()
    code = model.condition_code(torch.as_tensor(val.energies, dtype=torch.float32, device=model.device))
    z_prior = gibbs_sample(rbm, len(val), gibbs_steps, seed=seed, conditioning=code if code.shape[1] else None)
    e_data, e_prior = rbm.energy(z_data).cpu().numpy(), rbm.energy(z_prior).cpu().numpy()
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(16, 5.5))
plot_distributions({"encoded validation data": e_data, f"Gibbs samples ({gibbs_steps} sweeps)": e_prior}, ax=ax1,
                   xlabel="RBM energy E(z)", logy=True)
ax2.plot(z_data.mean(0).cpu().numpy(), ".", ms=3, label="encoded data")
ax2.plot(z_prior.mean(0).cpu().numpy(), ".", ms=3, label="Gibbs samples")
for off in rbm.offsets[1:]:
    ax2.axvline(off - 0.5, color="grey", lw=0.8)
ax2.set_xlabel("latent unit (partitions separated by lines)")
ax2.set_ylabel(r"mean activation $\langle z_i \rangle$")
ax2.legend()
fig.tight_layout()
plt.show()
bins = np.histogram_bin_edges(np.concatenate([e_data, e_prior]), 40)
sep_prior = separation_power(np.histogram(e_data, bins)[0], np.histogram(e_prior, bins)[0])
marg = z_data.mean(0).cpu().numpy()
takeaways += [prior_vs_data(e_data, e_prior, sep_power=sep_prior), active_units(marg, n_clamped=n0)]
_ = show(takeaways[-2:])

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
# First on a small random RBM where ln Z can be enumerated exactly — the joint model and the
# conditional one for a few random codes — then on the trained prior. The figure shows how both
# estimates approach each other as the schedule grows: AIS from below, RAIS from above (on average).
# LL = ⟨−E(z_data) − ln Z⟩ is the log-likelihood of the validation encodings (nats per event).

# %%
small = RBM(tuple(small_sizes), weight_std=0.5, bias_std=0.5, seed=seed)
codes_small = (torch.rand(8, small.sizes[0], generator=torch.Generator().manual_seed(seed)) < 0.5).float()
small_exact = exact_log_z(small)
small_exact_c = exact_log_z(small, conditioning=codes_small)
small_ais = ais(small, ais_chains * 16, ais_betas, seed=seed)
small_rais = rais(small, model_samples(small, ais_chains * 16, 200, seed=seed), ais_betas, seed=seed)
sc_ais = ais(small, ais_chains, ais_betas, seed=seed, conditioning=codes_small)
sc_rais = rais(small, model_samples(small, ais_chains, 200, seed=seed, conditioning=codes_small), ais_betas, seed=seed,
               conditioning=codes_small)
mean_err = lambda e: float(np.sqrt(np.sum(np.square(e))) / len(e))  # noqa: E731
small_c = (float(small_exact_c.mean()), float(sc_ais[0].mean()), mean_err(sc_ais[1]), float(sc_rais[0].mean()),
           mean_err(sc_rais[1]))
conditioned = n0 > 0
est = prior_log_likelihood(rbm, z_data, conditioned=conditioned, n_codes=ll_codes, n_chains=ais_chains,
                           n_betas=ais_betas, gibbs_steps=rais_gibbs_steps, seed=seed)
joint = prior_log_likelihood(rbm, z_data, conditioned=False, n_codes=ll_codes, n_chains=ais_chains, n_betas=ais_betas,
                             gibbs_steps=rais_gibbs_steps, seed=seed) if conditioned else est
# convergence with the schedule length (same codes and seeds)
conv = {"small": [], "trained": []}
for nb in convergence_betas:
    a = ais(small, ais_chains, int(nb), seed=seed, conditioning=codes_small)
    r = rais(small, model_samples(small, ais_chains, 200, seed=seed, conditioning=codes_small), int(nb), seed=seed,
             conditioning=codes_small)
    conv["small"].append((float(a[0].mean()), mean_err(a[1]), float(r[0].mean()), mean_err(r[1])))
    e = prior_log_likelihood(rbm, z_data, conditioned=conditioned, n_codes=ll_codes, n_chains=ais_chains,
                             n_betas=int(nb), gibbs_steps=rais_gibbs_steps, seed=seed)
    conv["trained"].append((e.log_z_ais, e.log_z_ais_err, e.log_z_rais, e.log_z_rais_err))

# %% tags=["key-figure"]
fig, axes = plt.subplots(1, 2, figsize=(16, 5.5))
for ax, key, title, ref in ((axes[0], "small", f"small RBM {list(small_sizes)}, {len(codes_small)} codes", small_c[0]),
                            (axes[1], "trained", f"trained prior {list(rbm.sizes)}, {est.n_codes} codes", None)):
    c = np.array(conv[key])
    nb = np.asarray(convergence_betas, float)
    ax.errorbar(nb, c[:, 0], yerr=c[:, 1], fmt="o-", capsize=3, label="AIS (low on average)")
    ax.errorbar(nb * 1.05, c[:, 2], yerr=c[:, 3], fmt="s-", capsize=3, label="RAIS (high on average)")
    if ref is not None:
        ax.axhline(ref, color="black", ls="--", lw=1, label="exact (enumeration)")
    ax.set_xscale("log")
    ax.set_xlabel("inverse temperatures in the schedule")
    ax.set_ylabel("⟨ln Z(c)⟩ over the codes" if conditioned else "ln Z")
    ax.set_title(title, fontsize=12)
    ax.legend()
fig.tight_layout()
plt.show()
model_name = "conditional p(z ∣ c)" if conditioned else "joint"
display(Markdown("\n".join([
    "| RBM | model | exact ln Z | AIS ln Z | RAIS ln Z | LL (AIS) | LL (RAIS) |", "|---|---|---|---|---|---|---|",
    f"| small {list(small_sizes)} | joint | {small_exact:.4f} | {small_ais[0]:.4f} ± {small_ais[1]:.4f} | "
    f"{small_rais[0]:.4f} ± {small_rais[1]:.4f} | | |",
    f"| small {list(small_sizes)} | conditional, ⟨·⟩ over {len(codes_small)} codes | {small_c[0]:.4f} | "
    f"{small_c[1]:.4f} ± {small_c[2]:.4f} | {small_c[3]:.4f} ± {small_c[4]:.4f} | | |",
    f"| trained prior {list(rbm.sizes)} | {model_name}, ⟨·⟩ over {est.n_codes} codes | — | "
    f"{est.log_z_ais:.3f} ± {est.log_z_ais_err:.3f} | {est.log_z_rais:.3f} ± {est.log_z_rais_err:.3f} | "
    f"{est.ll_ais:.3f} ± {est.ll_ais_err:.3f} | {est.ll_rais:.3f} ± {est.ll_rais_err:.3f} |"]
    + ([f"| trained prior {list(rbm.sizes)} | joint (all units free; not the prior used) | — | "
        f"{joint.log_z_ais:.3f} ± {joint.log_z_ais_err:.3f} | {joint.log_z_rais:.3f} ± {joint.log_z_rais_err:.3f} | "
        f"{joint.ll_ais:.3f} | {joint.ll_rais:.3f} |"] if conditioned else []))))

# %% [markdown]
# ## What this run shows
# Each sentence is chosen and filled by code from the numbers above.

# %%
takeaways += [
    exact_check(small_c[0], *small_c[1:]),
    ais_rais_bracket(est.log_z_ais, est.log_z_ais_err, est.log_z_rais, est.log_z_rais_err,
                     quantity="⟨ln Z(c)⟩ of the trained prior" if conditioned else "ln Z of the trained prior"),
    log_likelihood_range(est.ll_ais, est.ll_rais, max(est.ll_ais_err, est.ll_rais_err), n_states=est.n_states,
                         model="the conditional prior p(z | E_inc)" if conditioned else "the prior"),
]
_ = show(takeaways)

# %%
results = {
    "rbm_sizes": list(rbm.sizes),
    "n_parameters": int(rbm.n_parameters),
    "topologies": {t: m.summary() for t, m in topologies.items()},
    "best": best,
    "mean_energy_data": float(e_data.mean()),
    "mean_energy_prior": float(e_prior.mean()),
    "sep_power_prior_vs_data": float(sep_prior),
    "active_free_units": int(((marg[n0:] > 0.01) & (marg[n0:] < 0.99)).sum()), "n_free_units": int(len(marg) - n0),
    "effective_rank_full": float(spectra.effective_ranks["full"]),
    "n_snapshots": len(snapshots),
    "small_exact_log_z": small_exact,
    "small_ais_log_z": small_ais[0], "small_ais_err": small_ais[1],
    "small_rais_log_z": small_rais[0], "small_rais_err": small_rais[1],
    "small_conditional": dict(zip(("exact", "ais", "ais_err", "rais", "rais_err"), small_c)),
    "likelihood_model": model_name,
    "ais_log_z": est.log_z_ais, "ais_err": est.log_z_ais_err, "rais_log_z": est.log_z_rais, "rais_err": est.log_z_rais_err,
    "ll_ais": est.ll_ais, "ll_rais": est.ll_rais, "ll_err": max(est.ll_ais_err, est.ll_rais_err),
    "likelihood": est.to_dict(), "joint": joint.to_dict(),
    "convergence": {"n_betas": list(convergence_betas), **conv},
    "headline": {"LL prior, AIS [nats/event]": {"value": est.ll_ais, "err": est.ll_ais_err},
                 "ln Z AIS": {"value": est.log_z_ais, "err": est.log_z_ais_err},
                 "ln Z RAIS": {"value": est.log_z_rais, "err": est.log_z_rais_err},
                 "active free units": f"{int(((marg[n0:] > 0.01) & (marg[n0:] < 0.99)).sum())}/{int(len(marg) - n0)}"},
    "takeaways": to_results(takeaways),
}
results_path = save_results(out_dir, "04_rbm", results)
