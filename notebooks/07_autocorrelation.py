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
# How fast do block-Gibbs chains of the prior forget where they started? We follow the magnetisation
# m(t) = (1/N) Σ_i s_i(t) (spins s = 2z − 1) of an ensemble of chains and compute
#
# * the ensemble autocorrelation ACF(t, τ) = ⟨(m(t+τ) − ⟨m(t+τ)⟩)(m(t) − ⟨m(t)⟩)⟩, normalised by the
#   variance at t, and its time average C(τ);
# * the integrated autocorrelation time τ_int = 1 + 2 Σ_τ C(τ) with an automatic (Sokal) window: the
#   number of sweeps per effectively independent sample.
#
# Cases of seed 004: i.i.d. Bernoulli noise (the sanity check: C(τ > 0) ≈ 0, τ_int ≈ 1), a randomly
# initialised fully connected RBM (weights and biases ~ N(0, 0.01)), the same on the Zephyr topology
# with and without biases, and the trained prior of report 02.

# %% tags=["parameters"]
run_dir: str = "reports/runs/quick"  # the trained run whose prior is the last case ("" skips it)
n_spins: int = 302  # units per partition of the random RBMs (4 partitions)
ensemble: int = 100  # chains in the ensemble
n_steps: int = 1000  # Gibbs sweeps per chain
max_lag: int = 100  # largest lag τ drawn and summed
device: str = "auto"  # auto, cpu or cuda
seed: int = 0  # initialisation and sampling seed
out_dir: str = "reports"  # where 07_autocorrelation.results.json is written

# %%
import matplotlib.pyplot as plt
import numpy as np
from IPython.display import Markdown, display

from calolib.reports.notebook import setup, save_results
from calolib.training import load_checkpoint
from calolib.diagnostics import seed_004_cases
from calolib.diagnostics.plots import plot_acf, plot_magnetisation

setup()
trained = load_checkpoint(run_dir, device=device).model.rbm if run_dir else None
cases = seed_004_cases(trained, sizes=(n_spins,) * 4, n_chains=ensemble, n_steps=n_steps, seed=seed, device=device,
                       max_lag=min(max_lag, n_steps - 1))
print("cases:", ", ".join(cases))

# %% [markdown]
# ## Magnetisation trajectories
# A few chains of each case. Strongly correlated chains wander slowly; independent ones jitter.

# %%
fig, axes = plt.subplots(1, len(cases), figsize=(4.2 * len(cases), 4), squeeze=False)
for ax, (name, res) in zip(axes[0], cases.items()):
    plot_magnetisation(res, ax=ax)
    ax.set_title(name, fontsize=11)
fig.tight_layout()
plt.show()

# %% [markdown]
# ## C(τ) and τ_int
# Time-averaged normalised autocorrelation of the magnetisation against the lag, with τ_int in the legend.

# %% tags=["key-figure"]
fig, ax = plt.subplots(figsize=(9, 6))
plot_acf(cases, ax=ax)
plt.show()
display(Markdown("\n".join(["| case | τ_int [sweeps] | window | chains × sweeps |", "|---|---|---|---|"]
                           + [f"| {k} | {r.tau:.3f} ± {r.tau_err:.3f} | {r.window} | {r.magnetisation.shape[0]} × "
                              f"{r.magnetisation.shape[1]} |" for k, r in cases.items()])))

# %%
results = {
    "cases": list(cases),
    **{f"tau_{k.replace('-', '_')}": r.tau for k, r in cases.items()},
    **{f"tau_err_{k.replace('-', '_')}": r.tau_err for k, r in cases.items()},
    "bernoulli_c1": float(cases["bernoulli"].c[1]) if "bernoulli" in cases else None,
    "n_spins": n_spins, "ensemble": ensemble, "n_steps": n_steps,
}
results_path = save_results(out_dir, "07_autocorrelation", results)
