"""A live picture for the decoder explorer: one persistent figure whose artists are updated in place.

Rebuilding a matplotlib figure on every slider move (new polar axes, a new colour bar, a tight
bounding box computed by drawing twice, then PNG encoding) took 2–4 s on 2 CPU cores while the
decoding itself takes milliseconds.  :class:`ExplorerView` builds its figure once — five polar layer
images, the longitudinal profile (event truth vs decoded), the event's MSE(x, x̂(E′)) curve with
markers for the true E_inc and the current E′ — and :meth:`ExplorerView.update` only changes data:
``QuadMesh.set_array`` and one shared colour norm for the images, ``StepPatch.set_data`` for the
profiles, ``Line2D.set_data`` for the curve and markers, ``Text.set_text`` for the title.
:meth:`ExplorerView.render` draws it once with Agg and returns PNG bytes (fast zlib level), which
:class:`ExplorerWidget` puts into an ``ipywidgets.Image``: it works in JupyterLab, Notebook 7 and
VS Code with nothing but ipywidgets (no ipympl front-end extension needed).

The figure is a bare :class:`matplotlib.figure.Figure` (not registered with pyplot), so the inline
backend never shows or accumulates it.
"""
from __future__ import annotations

import io
import time

import ipywidgets as _widgets
import numpy as np

__all__ = ["ExplorerView", "ExplorerWidget"]


def __dir__():
    return __all__


class ExplorerView:
    """The persistent figure of a :class:`~calolib.widgets.DecoderExplorer`.

    Args:
        explorer: the :class:`~calolib.widgets.DecoderExplorer` supplying decodings.
        layers: layer indices of the five images (default: five active layers spread over the depth).
        figsize: inches; dpi: pixels per inch of the rendered PNG.

    Example:
        >>> import numpy as np
        >>> from calolib.models import ModelConfig
        >>> from calolib.preprocessing import VoxelTransform
        >>> from calolib.showers import Showers
        >>> from calolib.training import TrainConfig
        >>> from calolib.training.checkpoint import build_model
        >>> from calolib.widgets import DecoderExplorer
        >>> e = np.array([2e3, 5e4]); v = np.random.default_rng(0).exponential(size=(2, 368)) * e[:, None] / 368
        >>> cfg = ModelConfig(geometry="ds1-photons", encoder_hidden=(8,), decoder_hidden=(8,), rbm_sizes=(4, 4, 4, 4),
        ...                   topology="full")
        >>> tr = VoxelTransform().fit(e, v)
        >>> view = ExplorerView(DecoderExplorer(build_model(TrainConfig(model=cfg), tr), tr, Showers(e, v, "ds1-photons"),
        ...                                     grid=np.geomspace(1e3, 1e6, 4)))
        >>> dec = view.update(3e4)
        >>> png = view.render()
        >>> png[:4] == b"\\x89PNG", view.figure.axes[0].name
        (True, 'polar')
    """

    def __init__(self, explorer, *, layers=None, figsize=(16.0, 8.5), dpi: float = 80) -> None:
        import matplotlib as mpl

        from calolib.plotting.style import use_style

        use_style()
        # the calolib style, with the decorations that cost most per draw and say least in a live view
        # dropped: minor ticks and mirrored ticks (two thirds of the tick artists)
        lean = {"xtick.minor.visible": False, "ytick.minor.visible": False, "xtick.top": False, "ytick.right": False}
        with mpl.rc_context(lean):
            self._build(explorer, layers, figsize, dpi)

    def _build(self, explorer, layers, figsize, dpi) -> None:
        from matplotlib.colors import LogNorm
        from matplotlib.figure import Figure

        from calolib.plotting.style import COLORS, label_axes

        self.explorer = explorer
        geo = explorer.showers.geometry
        self.geometry = geo
        active = list(geo.active_layers)
        if layers is None:
            layers = [active[int(i)] for i in np.unique(np.linspace(0, len(active) - 1, min(5, len(active))).round())]
        self.layers = list(layers)
        self.figure = fig = Figure(figsize=figsize, dpi=dpi)
        grid = fig.add_gridspec(2, 1, height_ratios=(1, 1.15), hspace=0.3, top=0.9, bottom=0.08, left=0.06, right=0.93)
        top = grid[0].subgridspec(1, len(self.layers) + 1, wspace=0.15, width_ratios=(*(1,) * len(self.layers), 0.06))
        self.norm = LogNorm(vmin=1e-3, vmax=1.0)
        self.meshes, self._slices = [], geo.layer_slices
        for k, li in enumerate(self.layers):
            ax = fig.add_subplot(top[k], projection="polar")
            layer = geo.layers[li]
            theta = np.linspace(-np.pi, np.pi, layer.n_alpha + 1)
            r = np.asarray(layer.r_edges, dtype=float)
            empty = np.ma.masked_all((layer.n_r, layer.n_alpha))
            self.meshes.append(ax.pcolormesh(theta, r, empty, norm=self.norm, cmap="viridis", shading="flat"))
            ax.set_title(f"layer {li}", fontsize=11)
            ax.set_xticks([])
            ax.set_yticks([])
            ax.grid(False)
        fig.colorbar(self.meshes[-1], cax=fig.add_subplot(top[-1]), label="voxel energy [MeV]")
        self.ax_prof, self.ax_mse = (fig.add_subplot(spec) for spec in grid[1].subgridspec(1, 2, wspace=0.25))
        edges = np.arange(geo.n_layers + 1) - 0.5
        zeros = np.ones(geo.n_layers)  # placeholders (positive: log axis) until the first update
        self.truth_steps = self.ax_prof.stairs(zeros, edges, color=COLORS[0], lw=1.8, label="event (truth)")
        self.decoded_steps = self.ax_prof.stairs(zeros, edges, color=COLORS[1], lw=1.8, label="decoded at E′")
        label_axes(self.ax_prof, "layer", "layer energy [MeV]", logy=True)
        self.ax_prof.set_xlim(edges[0], edges[-1])
        self.prof_legend = self.ax_prof.legend(loc="upper right", fontsize=10)
        grid_e = explorer.grid
        (self.mse_line,) = self.ax_mse.plot(grid_e, np.ones_like(grid_e), "o-", ms=3, color=COLORS[2],
                                            label="MSE(x, x̂(E′))")
        self.true_marker = self.ax_mse.axvline(grid_e[0], color="black", ls="--", lw=1, label="true E_inc")
        self.current_marker = self.ax_mse.axvline(grid_e[0], color=COLORS[4], lw=2, label="current E′")
        label_axes(self.ax_mse, "decoder E′ [MeV]", "MSE [preprocessed]", logx=True, logy=True)
        self.ax_mse.set_xlim(grid_e.min() / 1.3, grid_e.max() * 1.3)
        self.ax_mse.legend(fontsize=9, loc="upper right")
        self.title = fig.suptitle("", fontsize=13)
        self._curve_key = None
        self._event = None

    def update(self, e_inc: float, seed: int = 0, sampler: str = "encoder", event: int = 0):
        """Decode (cached) and move the artists to the new setting; returns the :class:`DecodedShower`."""
        ex = self.explorer
        dec = ex.update(e_inc, seed, sampler, event)
        truth = ex.showers.showers[dec.event]
        hi = float(max(dec.shower.max(), truth.max(), 1e-6))
        self.norm.vmin, self.norm.vmax = max(self.geometry.threshold_mev, hi * 1e-5), hi  # one norm for all images
        for mesh, li in zip(self.meshes, self.layers):
            layer = self.geometry.layers[li]
            img = dec.shower[self._slices[li]].reshape(layer.n_alpha, layer.n_r).T  # (n_r, n_alpha)
            mesh.set_array(np.ma.masked_less_equal(img, 0).ravel())
        e_true_layers = self.geometry.layer_energies(truth[None])[0]
        e_dec_layers = self.geometry.layer_energies(dec.shower[None])[0]
        if self._event != dec.event:
            self.truth_steps.set_data(values=e_true_layers)
            self._event = dec.event
        self.decoded_steps.set_data(values=e_dec_layers)
        self.prof_legend.get_texts()[1].set_text(f"decoded at E′ = {dec.e_inc / 1e3:.3g} GeV")
        both = np.concatenate([e_true_layers, e_dec_layers])
        pos = both[both > 0]
        if pos.size:
            self.ax_prof.set_ylim(max(pos.min(), pos.max() * 1e-6) / 2, pos.max() * 2)
        key = (dec.event, dec.seed, dec.sampler)
        if key != self._curve_key:
            curve = ex.mse_curve(dec.event, dec.seed, dec.sampler)
            self.mse_line.set_ydata(curve)
            ok = curve[np.isfinite(curve) & (curve > 0)]
            if ok.size:
                self.ax_mse.set_ylim(ok.min() / 1.5, ok.max() * 1.5)
            e_true = float(ex.showers.energies[dec.event])
            self.true_marker.set_xdata([e_true, e_true])
            self._curve_key = key
        self.current_marker.set_xdata([dec.e_inc, dec.e_inc])
        self.title.set_text(f"event {dec.event} (E_inc = {ex.showers.energies[dec.event] / 1e3:.3g} GeV), latent from "
                            f"{dec.sampler} seed {dec.seed}: decoded E_dep = {dec.total_energy:.4g} MeV at "
                            f"E′ = {dec.e_inc / 1e3:.3g} GeV")
        return dec

    def render(self) -> bytes:
        """Draw the figure once (Agg) and return it as PNG bytes."""
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        canvas = self.figure.canvas if isinstance(self.figure.canvas, FigureCanvasAgg) else FigureCanvasAgg(self.figure)
        buf = io.BytesIO()
        canvas.print_png(buf, pil_kwargs={"compress_level": 1})
        return buf.getvalue()


class ExplorerWidget(_widgets.VBox):
    """The explorer's UI: E′ (log slider), event, latent seed and source above a live picture.

    Every control change calls :meth:`refresh`, which updates the :class:`ExplorerView` in place and
    puts the new PNG into an ``ipywidgets.Image``; :attr:`last_callback_s` holds how long that took
    (decode + update + render), the number ``calolib bench widget`` reports.

    Attributes:
        controls: ``{"e_inc", "seed", "sampler", "event"}`` -> the control widgets.
        image: the ``ipywidgets.Image`` showing the picture.
        view: the :class:`ExplorerView`.
    """

    def __init__(self, explorer, *, event: int = 0, seed: int = 0, sampler: str | None = None,
                 continuous: bool = False, dpi: float = 80) -> None:
        w = _widgets
        e0 = float(explorer.showers.energies[event])
        lo, hi = np.log10(explorer.grid.min()), np.log10(explorer.grid.max())
        self.controls = {
            "e_inc": w.FloatLogSlider(value=float(np.clip(e0, 10 ** lo, 10 ** hi)), base=10, min=lo, max=hi,
                                      step=0.02, continuous_update=continuous, description="E′ [MeV]",
                                      readout_format=".3g"),
            "seed": w.IntSlider(value=seed, min=0, max=99, continuous_update=continuous, description="latent seed"),
            "sampler": w.Dropdown(options=list(explorer.samplers), value=sampler or explorer.samplers[0],
                                  description="latent from"),
            "event": w.IntSlider(value=event, min=0, max=len(explorer.showers) - 1, continuous_update=continuous,
                                 description="event"),
        }
        self.view = ExplorerView(explorer, dpi=dpi)
        self.image = w.Image(format="png", layout=w.Layout(width="100%"))
        self.status = w.HTML()
        self.last_callback_s = float("nan")
        super().__init__([w.HBox([self.controls["e_inc"], self.controls["event"]]),
                          w.HBox([self.controls["sampler"], self.controls["seed"], self.status]), self.image])
        for c in self.controls.values():
            c.observe(self.refresh, names="value")
        self.refresh()

    def refresh(self, _change=None) -> None:
        """Re-decode for the controls' values and show the new picture (the slider callback)."""
        t0 = time.perf_counter()
        c = self.controls
        try:
            self.view.update(c["e_inc"].value, c["seed"].value, c["sampler"].value, c["event"].value)
        except ValueError as exc:  # a calolib error (e.g. a sampler that cannot run): one line, keep the UI
            self.status.value = f"<span style='color:#b3261e'>{exc}</span>"
            return
        self.image.value = self.view.render()
        self.last_callback_s = time.perf_counter() - t0
        self.status.value = f"<small>{self.last_callback_s * 1e3:.0f} ms</small>"
