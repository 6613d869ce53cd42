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
# # 07 · Autocorrelation of block-Gibbs chains (seed 004)
#
# How fast do block-Gibbs chains of the prior forget where they started? We follow two observables of an
# ensemble of chains — the magnetisation m(t) = (1/N) Σ_i s_i(t) (spins s = 2z − 1) and the RBM energy
# E(z(t)) — and compute
#
# * the ensemble autocorrelation ACF(t, τ) = ⟨(f(t+τ) − ⟨f(t+τ)⟩)(f(t) − ⟨f(t)⟩)⟩, normalised by the
#   variance at t, and its time average C(τ);
# * the integrated autocorrelation time τ_int = 1 + 2 Σ_τ C(τ) with Sokal's automatic window (the smallest
#   W ≥ 5 τ_int(W)) and its Madras–Sokal error: the number of sweeps per effectively independent sample.
#
# Cases of seed 004: i.i.d. Bernoulli noise (the sanity check: C(τ > 0) ≈ 0, τ_int ≈ 1), randomly
# initialised RBMs with weights and biases ~ N(0, 0.01) (fully connected, Zephyr, Zephyr without biases),
# and the trained prior of report 02 with one E_inc code clamped. Couplings of N(0, 0.01) barely interact,
# so those chains are expected to decorrelate within a sweep; to show a correlated chain we add the Zephyr
# RBM of seed 004's small-RBM study (weights and biases ~ N(0, 1)) at β = 1 and at a colder β, and that
# cold case thinned to one record every Δt sweeps (the seed's Δt = 1000). The sizes are in sweeps, not
# seconds, so a faster sampler runs the same study in less time.

# %% tags=["parameters"]
run_dir: str = "reports/runs/quick"  # the trained run whose prior is a case ("" skips it)
n_spins: int = 302  # units per partition of the random RBMs (4 partitions)
ensemble: int = 100  # chains in the ensemble
n_steps: int = 1000  # Gibbs sweeps per chain (records, one per sweep)
burn_in: int = 100  # sweeps before the first record
strong_std: float = 1.0  # std of the weights and biases of the strongly coupled Zephyr RBM (0 skips it)
cold_beta: float = 3.0  # inverse temperature of its cold case (0 skips it)
thin_every: int = 1000  # sweeps between records of the thinned cold case (0 skips it)
thin_records: int = 30  # records of the thinned case
thin_chains: int = 20  # chains of the thinned case
trained_e_inc: float = 31622.8  # MeV; E_inc whose code is clamped in the trained prior's chains
traj_sweeps: int = 300  # sweeps drawn in the trajectory panels
device: str = "auto"  # auto, cpu or cuda
seed: int = 0  # initialisation and sampling seed
out_dir: str = "reports/interactive"  # where 07_autocorrelation.results.json goes (`calolib reports` sets reports/; this keeps runs by hand off the tracked pages)

# %%
import time

import matplotlib.pyplot as plt
import numpy as np
import torch
from IPython.display import Markdown, display

from calolib.reports.notebook import setup, save_results
from calolib.reports.takeaways import show, to_results
from calolib.reports.takeaways.training import best_checkpoint, best_epoch
from calolib.reports.takeaways.autocorrelation import mixing, thinning, energy_vs_magnetisation, bias_effect, slowest
from calolib.training import load_checkpoint
from calolib.diagnostics import seed_004_cases
from calolib.diagnostics.plots import plot_acf, plot_magnetisation

setup()
takeaways, trained, cond, best = [], None, None, None
if run_dir:
    ck = load_checkpoint(run_dir, device=device)
    trained, best = ck.model.rbm, best_checkpoint(ck.path)
    code = ck.model.condition_code(torch.tensor([trained_e_inc], dtype=torch.float32, device=ck.model.device))
    cond = code[0] if code.shape[1] else None
    takeaways.append(best_epoch(best))
t0 = time.perf_counter()
cases = seed_004_cases(trained, sizes=(n_spins,) * 4, n_chains=ensemble, n_steps=n_steps, seed=seed, device=device,
                       max_lag=n_steps // 2, energy=True, burn_in=burn_in, strong_std=strong_std, cold_beta=cold_beta,
                       thin_every=thin_every, thin_records=thin_records, thin_chains=thin_chains,
                       trained_conditioning=cond)
elapsed = time.perf_counter() - t0
sweeps = sum(r.magnetisation.shape[0] * (r.info.get("burn_in", 0) + r.magnetisation.shape[1] * r.info.get("every", 1))
             for k, r in cases.items() if k != "bernoulli")
print(f"cases: {', '.join(cases)}; {sweeps:.3g} chain-sweeps in {elapsed:.0f} s")
dense = {k: r for k, r in cases.items() if r.info.get("every", 1) == 1}
thinned = {k: r for k, r in cases.items() if r.info.get("every", 1) > 1}
label = {k: r.info.get("label", k) for k, r in cases.items()}
if takeaways:
    _ = show(takeaways, title="The checkpoint")

# %% [markdown]
# ## Trajectories
# The magnetisation of every case against time: the grey band holds 16–84 % of the chains at each sweep,
# the black line is their median, two single chains are drawn on top. Correlated chains wander slowly;
# independent ones jitter around the band. The first `traj_sweeps` sweeps are shown.

# %%
show_cases = [k for k in cases if k != "bernoulli"]
ncol = min(4, len(show_cases))
nrow = -(-len(show_cases) // ncol)
fig, axes = plt.subplots(nrow, ncol, figsize=(5 * ncol, 3.8 * nrow), squeeze=False)
for i, (ax, name) in enumerate(zip(axes.ravel(), show_cases)):
    r = cases[name]
    plot_magnetisation(r, ax=ax, n_chains=2, band=True, max_t=traj_sweeps if r.info.get("every", 1) == 1 else None,
                       legend=i == 0)
    ax.set_title(label[name], fontsize=10)
for ax in axes.ravel()[len(show_cases):]:
    ax.axis("off")
fig.tight_layout()
plt.show()

# %% [markdown]
# ## C(τ) and τ_int
# Left: the magnetisation, right: the energy, each on a log axis, each case drawn up to 5 τ_int or until
# C(τ) sinks below twice its statistical noise level (dotted). Exponential decay is a straight line here.
# Below: the thinned case on a linear axis (lags in records of Δt sweeps), with the ±2σ noise band of
# independent records: independent records scatter inside it.

# %% tags=["key-figure"]
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(17, 6))
named = {label[k]: r for k, r in dense.items()}
plot_acf(named, ax=ax1, logy=True, lag_factor=5.0, observable="m")
plot_acf({k: r for k, r in named.items() if r.c_energy is not None}, ax=ax2, logy=True, lag_factor=5.0, observable="E")
ax1.set_title("magnetisation", fontsize=12)
ax2.set_title("RBM energy E(z)", fontsize=12)
fig.tight_layout()
plt.show()
if thinned:
    fig, ax = plt.subplots(figsize=(9, 5))
    for k, r in thinned.items():
        plot_acf({f"{label[k]}: m": r}, ax=ax, observable="m")
        for line in plot_acf({f"{label[k]}: E(z)": r}, ax=ax, observable="E"):
            line.set_color("C1")
        lag = np.arange(1, len(r.c))
        noise = 2 / np.sqrt(r.magnetisation.shape[0] * (r.magnetisation.shape[1] - lag))
        ax.fill_between(lag, -noise, noise, color="grey", alpha=0.2, lw=0, label="±2σ for independent records")
    ax.set_xlabel(f"lag [records of Δt = {next(iter(thinned.values())).info['every']} sweeps]")
    ax.legend(fontsize=9)
    plt.show()

# %%
rows = []
for k, r in cases.items():
    s = r.summary()
    e = f"{s['tau_energy']:.3g} ± {s['tau_energy_err']:.2g} ({s['window_energy']})" if np.isfinite(s["tau_energy"]) else "—"
    rows.append(f"| {label[k]} | {s['beta'] if s['beta'] is not None else '—'} | {s['tau']:.3g} ± {s['tau_err']:.2g} "
                f"({s['window']}) | {e} | {s['n_chains']} × {s['n_records']} | {s['every']} | "
                f"{'yes' if s['converged'] else 'no: lower bound'} |")
display(Markdown("\n".join(["| case | β | τ_int of m (window) [records] | τ_int of E (window) [records] | chains × records "
                            "| Δt [sweeps] | window closed |", "|---|---|---|---|---|---|---|", *rows])))

# %% [markdown]
# ## What this run shows
# Each sentence is chosen and filled by code from the numbers above; seed 004's remark is quoted beside
# this run's own comparison.

# %%
summ = {k: r.summary() for k, r in cases.items()}
for k in ("trained", "zephyr-strong", "zephyr-strong-cold", "zephyr", "bernoulli"):
    if k in summ:
        takeaways.append(mixing(label[k], summ[k]))
if "zephyr-strong-cold" in summ:
    takeaways.append(energy_vs_magnetisation(label["zephyr-strong-cold"], summ["zephyr-strong-cold"]))
if "zephyr-strong-cold-thinned" in summ:
    takeaways.append(thinning(label["zephyr-strong-cold"], summ["zephyr-strong-cold"], summ["zephyr-strong-cold-thinned"]))
if "zephyr" in summ and "zephyr-no-bias" in summ:
    takeaways.append(bias_effect(summ["zephyr"], summ["zephyr-no-bias"]))
takeaways.append(slowest({label[k]: v for k, v in summ.items() if k != "bernoulli"}))
_ = show(takeaways)

# %%
key = lambda k: k.replace("-", "_")  # noqa: E731
results = {
    "cases": list(cases), "labels": label,
    **{f"tau_{key(k)}": r.tau for k, r in cases.items()},
    **{f"tau_err_{key(k)}": r.tau_err for k, r in cases.items()},
    **{f"tau_energy_{key(k)}": r.tau_energy for k, r in cases.items()},
    "summaries": summ,
    "bernoulli_c1": float(cases["bernoulli"].c[1]) if "bernoulli" in cases else None,
    "n_spins": n_spins, "ensemble": ensemble, "n_steps": n_steps, "chain_sweeps": sweeps, "elapsed_s": elapsed,
    "best": best,
    "headline": {**({"τ_int trained prior, m [sweeps]": {"value": cases["trained"].tau, "err": cases["trained"].tau_err},
                     "τ_int trained prior, E [sweeps]": {"value": cases["trained"].tau_energy,
                                                         "err": cases["trained"].tau_energy_err}}
                    if "trained" in cases else {}),
                 **({f"τ_int {label['zephyr-strong-cold']}, m [sweeps]": {"value": cases["zephyr-strong-cold"].tau,
                                                                           "err": cases["zephyr-strong-cold"].tau_err}}
                    if "zephyr-strong-cold" in cases else {})},
    "takeaways": to_results(takeaways),
}
results_path = save_results(out_dir, "07_autocorrelation", results)
