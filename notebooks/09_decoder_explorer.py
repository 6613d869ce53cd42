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
# # 09 · Decoder explorer: one latent code, any incident energy
#
# Pick a validation shower and a latent code for it — from the encoder, or sampled from the RBM prior
# with the event's energy code clamped (the `seed` picks the draw) — and decode it with the decoder's
# incident energy E′ set by a log-scale slider. You see five layers of the decoded shower, its
# longitudinal profile against the event's truth, and the event's MSE(x, x̂(E′)) curve with the current
# E′ marked (the seed-003 question: where does the decoder reproduce the shower best?).
#
# In JupyterLab set `interactive = True` and use the sliders (decodings are cached, so revisiting a
# setting is instant). In a batch run (papermill) the report shows a static sweep over `sweep_energies`.

# %% tags=["parameters"]
data_path: str = "data/synthetic_ds2.h5"  # CaloChallenge HDF5 file; its last n_events can be explored
run_dir: str = "reports/runs/quick"  # the trained run (its best.pt)
n_events: int = 50  # validation events held by the explorer
event: int = 0  # the event shown first
sampler: str = "encoder"  # latent code from: encoder, gibbs or sa
samplers: list = ["encoder", "gibbs", "sa"]  # latent sources offered in the dropdown
sweep_energies: list = [3000.0, 30000.0, 300000.0]  # E′ values (MeV) of the static sweep
n_grid: int = 24  # E′ values of the MSE curve
interactive: bool = False  # True: show the ipywidgets sliders (JupyterLab); False: a static sweep
device: str = "auto"  # auto, cpu or cuda
seed: int = 0  # latent draw
out_dir: str = "reports"  # where 09_decoder_explorer.results.json is written

# %%
import numpy as np
import matplotlib.pyplot as plt
from IPython.display import display

from calolib.reports.notebook import setup, save_results
from calolib.widgets import DecoderExplorer

setup()
explorer = DecoderExplorer.from_run(run_dir, data_path, n_events=n_events, device=device, samplers=samplers,
                                    grid=np.geomspace(1e3, 1e6, n_grid))
print(f"{len(explorer.showers)} events; event {event} has E_inc = {explorer.showers.energies[event]:.4g} MeV")

# %% tags=["key-figure"]
if interactive:
    display(explorer.widget(event=event, seed=seed, sampler=sampler))
else:
    explorer.static_sweep(sweep_energies, seed=seed, sampler=sampler, event=event)
    plt.show()

# %% [markdown]
# Each row decodes the same latent code at a different E′; the colour scale is shared, so a decoder that
# uses its conditioning makes the showers brighter and deeper as E′ grows. The bottom-right curve is the
# reconstruction error of this event against E′, the dashed line its true energy.

# %%
decoded = [explorer.update(e, seed, sampler, event) for e in sweep_energies]
curve = explorer.mse_curve(event, seed, sampler)
results = {
    "event": event,
    "true_e_inc": float(explorer.showers.energies[event]),
    "sweep_energies": [d.e_inc for d in decoded],
    "decoded_e_total": [d.total_energy for d in decoded],
    "mse_argmin_e": float(explorer.grid[int(np.argmin(curve))]),
    "sampler": sampler,
    "interactive": interactive,
}
results_path = save_results(out_dir, "09_decoder_explorer", results)
