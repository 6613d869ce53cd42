"""The decoder explorer's live widget: one persistent figure whose artists follow the controls, and the
shower-shape numbers its take-aways are built from (checked against sums written out by hand)."""
from __future__ import annotations

import io
import json

import numpy as np
import pytest

from calolib.widgets import DecoderExplorer, shower_shape

N_LAYERS, N_ALPHA, N_R = 45, 16, 9  # ds2: voxel order (layer, angle, radius)


@pytest.fixture(scope="module")
def explorer():
    import torch

    from calolib.models import ModelConfig
    from calolib.preprocessing import VoxelTransform
    from calolib.synthetic import simulate
    from calolib.training import TrainConfig
    from calolib.training.checkpoint import build_model

    torch.manual_seed(0)
    fit = simulate(48, geometry="ds2", seed=2)
    tr = VoxelTransform().fit(fit.energies, fit.showers)
    cfg = ModelConfig(geometry="ds2", encoder_hidden=(16,), decoder_hidden=(16,), rbm_sizes=(8, 8, 8, 8), topology="full")
    model = build_model(TrainConfig(model=cfg), tr, torch.device("cpu"))
    return DecoderExplorer(model, tr, simulate(5, geometry="ds2", seed=3), grid=np.geomspace(1e3, 1e6, 6),
                           samplers=("encoder", "gibbs"), gibbs_steps=5)


def _png_size(data: bytes) -> tuple[int, int]:
    from PIL import Image

    with Image.open(io.BytesIO(data)) as im:
        return im.size


def test_slider_moves_update_the_same_figure(explorer):
    ui = explorer.widget(event=2, seed=1, dpi=50)
    view, fig = ui.view, ui.view.figure
    axes_before = list(fig.axes)
    first_png, first = ui.image.value, explorer.last
    assert first.event == 2 and np.isclose(first.e_inc, ui.controls["e_inc"].value, rtol=1e-6)
    assert _png_size(first_png) == (800, 425)  # 16 x 8.5 inches at 50 dpi
    slider = ui.controls["e_inc"]
    assert type(slider).__name__ == "FloatLogSlider" and slider.continuous_update is False
    slider.value = 2e3 if first.e_inc > 1e4 else 5e5  # the observer re-decodes and redraws
    dec = explorer.last
    assert np.isclose(dec.e_inc, slider.value, rtol=1e-6) and ui.last_callback_s > 0
    assert np.array_equal(first.z, dec.z) and not np.allclose(first.shower, dec.shower)  # same code, new E'
    assert ui.view.figure is fig and list(fig.axes) == axes_before  # nothing rebuilt ...
    assert ui.image.value != first_png  # ... but a new picture
    # the artists hold the new decoding: images, decoded profile, current-E' marker, title
    grid = dec.shower.reshape(N_LAYERS, N_ALPHA, N_R)
    for mesh, layer in zip(view.meshes, view.layers):
        shown = np.ma.filled(mesh.get_array(), 0.0).reshape(N_R, N_ALPHA)
        assert np.allclose(shown, np.where(grid[layer].T > 0, grid[layer].T, 0.0))
    assert np.allclose(view.decoded_steps.get_data().values, grid.sum(axis=(1, 2)))
    assert np.allclose(view.current_marker.get_xdata(), dec.e_inc)
    assert f"{dec.total_energy:.4g} MeV" in view.title.get_text()
    assert view.norm.vmax == pytest.approx(max(dec.shower.max(), explorer.showers.showers[2].max()))
    # moving back is served by the cache: the same shower object
    slider.value = float(first.e_inc)
    assert explorer.last.shower is first.shower


def test_event_and_source_controls(explorer):
    ui = explorer.widget(event=0, dpi=40)
    ui.controls["event"].value = 3
    truth = explorer.showers.showers[3].reshape(N_LAYERS, -1).sum(1)
    assert explorer.last.event == 3
    assert np.allclose(ui.view.truth_steps.get_data().values, truth)
    assert np.allclose(ui.view.mse_line.get_ydata(), explorer.mse_curve(3, 0, "encoder"))
    assert np.allclose(ui.view.true_marker.get_xdata(), explorer.showers.energies[3])
    ui.controls["sampler"].value = "gibbs"
    assert explorer.last.sampler == "gibbs" and explorer.last.z.shape == explorer.latent(3, 0, "encoder").shape
    assert np.isfinite(ui.last_callback_s)


def test_shower_shape_by_hand():
    v = np.zeros((2, N_LAYERS, N_ALPHA, N_R))
    v[0, 3, 0, 0], v[0, 7, 5, 8] = 2.0, 6.0  # 2 MeV in layer 3 (innermost ring), 6 MeV in layer 7 (outer ring)
    v[1, 10, 2, 4] = 5.0
    from calolib.geometry import get_geometry

    r = get_geometry("ds2").voxel_r.reshape(N_LAYERS, N_ALPHA, N_R)
    s = shower_shape(v.reshape(2, -1), "ds2", e_ref=[16.0, 10.0])
    assert np.allclose(s["e_dep"], [8.0, 5.0]) and np.allclose(s["e_ratio"], [0.5, 0.5])
    depth0 = (2 * 3 + 6 * 7) / 8
    assert np.allclose(s["depth"], [depth0, 10.0])
    assert np.isclose(s["long_width"][0], np.sqrt((2 * 9 + 6 * 49) / 8 - depth0**2)) and s["long_width"][1] == 0
    assert np.isclose(s["radial_width"][0], np.sqrt((2 * r[3, 0, 0] ** 2 + 6 * r[7, 5, 8] ** 2) / 8))
    assert np.isclose(s["radial_width"][1], r[10, 2, 4])
    assert np.isnan(shower_shape(np.zeros(6480), "ds2")["depth"][0])  # an empty shower has no depth


def test_sweep_shapes_and_transform_scaling(explorer):
    shapes = explorer.sweep_shapes([3e3, 3e4, 3e5], seed=0, event=1)
    decoded = np.stack([explorer.update(e, 0, "encoder", 1).shower for e in (3e3, 3e4, 3e5)])
    assert np.allclose(shapes["e_dep"], decoded.sum(1))
    assert np.allclose(shapes["e_ratio"], decoded.sum(1) / np.array([3e3, 3e4, 3e5]), rtol=1e-6)
    assert explorer.transform_scales()  # VoxelTransform.inverse multiplies by E'


def test_bench_widget_reports_both_paths(tmp_path, capsys):
    from calolib.cli import main

    out = tmp_path / "widget.json"
    assert main(["bench", "widget", "--moves", "2", "--events", "2", "--threads", "1", "--out", str(out)]) == 0
    res = json.loads(out.read_text())
    s = res["summary"]
    assert s["slider_move_live"]["n"] == 2 and s["slider_move_rebuild_figure"]["n"] == 2
    assert len(res["times_live_s"]) == len(res["times_rebuild_s"]) == 2
    assert all(t > 0 for t in res["times_live_s"] + res["times_rebuild_s"])
    assert s["target_met"] == (s["slider_move_live"]["median_s"] <= 0.3)
    assert s["picture_px"] == [1280, 680] and "loadavg_1min_before_after" in s
    assert main(["bench", "widget", "--moves", "0", "--out", str(tmp_path / "x.json")]) == 2
    assert "--moves" in capsys.readouterr().err
