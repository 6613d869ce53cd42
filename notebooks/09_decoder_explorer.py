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
# In JupyterLab set `interactive = True` and use the sliders: the picture is one persistent figure
# whose artists are updated in place (`calolib bench widget` times a slider move), and decodings are
# cached. In a batch run (papermill) the report shows a static sweep over `sweep_energies`.

# %% tags=["parameters"]
data_path: str = "data/synthetic_ds2.h5"  # CaloChallenge HDF5 file; its last n_events can be explored
run_dir: str = "reports/runs/quick"  # the trained run (its best.pt)
n_events: int = 50  # validation events held by the explorer (also the data's depth-vs-E_inc trend)
event: int = 0  # the event shown first
sampler: str = "encoder"  # latent code from: encoder, gibbs or sa
samplers: list = ["encoder", "gibbs", "sa"]  # latent sources offered in the dropdown
sweep_energies: list = [3000.0, 30000.0, 300000.0]  # E′ values (MeV) of the static sweep and the take-aways
n_grid: int = 24  # E′ values of the MSE curve and of the shape curves
interactive: bool = False  # True: show the ipywidgets sliders (JupyterLab); False: a static sweep
device: str = "auto"  # auto, cpu or cuda
seed: int = 0  # latent draw
out_dir: str = "reports/interactive"  # where 09_decoder_explorer.results.json goes (`calolib reports` sets reports/; this keeps runs by hand off the tracked pages)

# %%
import numpy as np
import matplotlib.pyplot as plt
from IPython.display import display

from calolib.reports.notebook import setup, save_results
from calolib.reports.takeaways import show, to_results
from calolib.reports.takeaways.explorer import data_depth_slope, explorer_takeaways
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
# Each row decodes the same latent code at a different E′ on one shared colour scale (voxel energy in MeV);
# the bottom-right curve is this event's reconstruction error against E′, the dashed line its true energy.
# Below, what actually changes with E′: the decoded energy fraction E_dep/E′, the depth (longitudinal centre
# of gravity, in layers) and the radial width (energy-weighted RMS radius), with the event's own values (★)
# and, for the depth, the trend of the data's showers with their E_inc.

# %%
explorer.plot_shapes(explorer.grid, seed=seed, sampler=sampler, event=event)
plt.show()

# %%
shapes = explorer.sweep_shapes(sweep_energies, seed, sampler, event)
data = explorer.data_shapes()
slope, slope_err = data_depth_slope(explorer.showers.energies, data["depth"])
takeaways = explorer_takeaways(shapes, transform_scales=explorer.transform_scales(),
                               ratio_true=float(data["e_ratio"][event]), data_slope=slope, data_slope_err=slope_err,
                               factorised=explorer.model.is_factorised)
summary_md = show(takeaways)  # displayed as Markdown

# %%
curve = explorer.mse_curve(event, seed, sampler)
ratio = shapes["e_ratio"]
results = {
    "event": event,
    "true_e_inc": float(explorer.showers.energies[event]),
    "sweep_energies": shapes["e_prime"].tolist(),
    "decoded_e_total": shapes["e_dep"].tolist(),
    "decoded_e_ratio": ratio.tolist(),
    "decoded_depth_layers": shapes["depth"].tolist(),
    "decoded_long_width_layers": shapes["long_width"].tolist(),
    "decoded_radial_width_mm": shapes["radial_width"].tolist(),
    "event_e_ratio": float(data["e_ratio"][event]),
    "event_depth_layers": float(data["depth"][event]),
    "data_depth_slope_per_decade": slope,
    "data_depth_slope_err": slope_err,
    "transform_scales_with_e": explorer.transform_scales(),
    "mse_argmin_e": float(explorer.grid[int(np.argmin(curve))]),
    "sampler": sampler,
    "interactive": interactive,
    "headline": {
        "decoded E_dep/E′ spread over the sweep [%]": 100 * float((ratio.max() - ratio.min()) / np.median(ratio)),
        "decoded depth change [layers/decade of E′]": takeaways[1].numbers["slope"],
        "data depth trend [layers/decade of E_inc]": {"value": slope, "err": slope_err},
    },
    "takeaways": to_results(takeaways),
}
results_path = save_results(out_dir, "09_decoder_explorer", results)
