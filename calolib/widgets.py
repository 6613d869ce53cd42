"""Interactive decoder explorer: how does a shower decoded from one latent code change with the
decoder's incident energy E′?

:class:`DecoderExplorer` holds a trained QVAE, its preprocessing and a few validation showers.  A
latent code z comes from the encoder applied to a chosen event (``sampler="encoder"``) or from the
RBM prior sampled with a sampler (``"gibbs"``, ``"sa"``, ...) with the event's E_inc code clamped;
``seed`` picks the draw.  :meth:`DecoderExplorer.update` decodes z at E′ and returns the shower in MeV.
Every decoding goes through one method, :meth:`DecoderExplorer._decode_batch` (adapt it, and only it,
when the model's decoder changes).

Latent codes are cached on ``(event, seed, sampler)`` and decoded showers on ``(event, seed, sampler,
E′)`` (``functools.lru_cache``), so moving a slider back and forth is instant.
:meth:`DecoderExplorer.widget` builds the ipywidgets UI (:mod:`calolib.widget_view`: a log-scale E′
slider, event and seed sliders, a latent-source dropdown, and one persistent figure whose artists are
updated in place and shown as a PNG — a slider move costs a decode plus one Agg draw, not a rebuilt
figure).  :meth:`DecoderExplorer.draw` draws one setting into a new figure and
:meth:`DecoderExplorer.static_sweep` a list of E′ values (what a headless papermill run shows);
:meth:`DecoderExplorer.sweep_shapes` and :func:`shower_shape` measure what changes with E′ (energy,
depth = centre of gravity in layers, longitudinal and radial widths).

Example:
    >>> import numpy as np
    >>> from calolib.models import ModelConfig
    >>> from calolib.preprocessing import VoxelTransform
    >>> from calolib.showers import Showers
    >>> from calolib.training import TrainConfig
    >>> from calolib.training.checkpoint import build_model
    >>> e = np.array([2e3, 5e4]); v = np.random.default_rng(0).exponential(size=(2, 368)) * e[:, None] / 368
    >>> cfg = ModelConfig(geometry="ds1-photons", encoder_hidden=(8,), decoder_hidden=(8,), rbm_sizes=(4, 4, 4, 4),
    ...                   topology="full")
    >>> tr = VoxelTransform().fit(e, v)
    >>> ex = DecoderExplorer(build_model(TrainConfig(model=cfg), tr), tr, Showers(e, v, "ds1-photons"))
    >>> low, high = ex.update(1e3, seed=1), ex.update(1e5, seed=1)
    >>> low.shower.shape, bool(np.array_equal(low.z, high.z)), low.total_energy != high.total_energy
    ((368,), True, True)
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from calolib.errors import CalolibError

__all__ = ["DecoderExplorer", "DecodedShower", "shower_shape"]


def __dir__():
    return __all__


@dataclass(frozen=True)
class DecodedShower:
    """One decoding: the shower ``(V,)`` MeV decoded from latent ``z`` ``(N,)`` at ``e_inc`` MeV."""

    event: int
    seed: int
    sampler: str
    e_inc: float
    z: np.ndarray
    shower: np.ndarray

    @property
    def total_energy(self) -> float:
        """Sum of the decoded voxel energies, MeV."""
        return float(self.shower.sum())


class DecoderExplorer:
    """Decode latent codes of a trained QVAE at any decoder energy E′, with caching and widgets.

    Args:
        model: a trained :class:`~calolib.models.QVAE` (put in eval mode).
        transform: its fitted :class:`~calolib.preprocessing.VoxelTransform`.
        showers: validation :class:`~calolib.showers.Showers` (the events to explore).
        samplers: choices offered for the latent code; ``"encoder"`` encodes the chosen event.
        gibbs_steps: sweeps of the Gibbs sampler.
        grid: E′ values (MeV) of the MSE curve (default 24 log-spaced from 1 GeV to 1 TeV).
        cache_size: decoded showers kept in the cache.
    """

    def __init__(self, model, transform, showers, *, samplers=("encoder", "gibbs"), gibbs_steps: int = 100,
                 grid=None, cache_size: int = 256) -> None:
        if len(showers) < 1:
            raise CalolibError("DecoderExplorer needs at least one validation shower")
        self.model = model.eval()
        self.transform = transform
        self.showers = showers
        self.samplers = tuple(samplers)
        self.gibbs_steps = int(gibbs_steps)
        self.grid = np.geomspace(1e3, 1e6, 24) if grid is None else np.asarray(grid, dtype=float)
        self._x = transform.transform(showers.energies, showers.showers)  # (B, V) preprocessed
        # the factorised model (energy flow + shape VAE): its decoder is also conditioned on the layer energies
        self._factorised = getattr(model.config, "energy_model", "none") == "flow"
        self._layer_e = (np.asarray(transform.layer_energies(showers.showers), dtype=np.float32)
                         if self._factorised else None)
        self._latent = functools.lru_cache(maxsize=cache_size)(self._latent_uncached)
        self._decode = functools.lru_cache(maxsize=cache_size)(self._decode_uncached)
        self._curve = functools.lru_cache(maxsize=cache_size)(self._curve_uncached)
        self.last: DecodedShower | None = None

    @classmethod
    def from_run(cls, run_dir: str | Path, data_path: str | Path, *, n_events: int = 50, device: str = "auto",
                 **kw) -> "DecoderExplorer":
        """Load ``run_dir``'s best checkpoint and the last ``n_events`` showers of ``data_path``."""
        from calolib.io import ShowerFile, load_showers
        from calolib.training import load_checkpoint

        ck = load_checkpoint(run_dir, device=device)
        with ShowerFile(data_path) as f:
            n_total = len(f)
        n = min(int(n_events), n_total)
        return cls(ck.model, ck.transform, load_showers(data_path, start=n_total - n, max_events=n), **kw)

    # ------------------------------------------------------------------ computations (cached)
    def _tensor(self, a):
        import torch

        return torch.as_tensor(np.asarray(a), dtype=torch.float32, device=self.model.device)

    def _check(self, event: int, sampler: str) -> int:
        event = int(event)
        if not 0 <= event < len(self.showers):
            raise CalolibError(f"event {event} out of range: the explorer holds {len(self.showers)} events")
        if sampler not in self.samplers:
            raise CalolibError(f"unknown latent source {sampler!r}; choose one of {', '.join(self.samplers)}")
        return event

    def _latent_uncached(self, event: int, seed: int, sampler: str) -> np.ndarray:
        import torch

        e = self._tensor(self.showers.energies[event : event + 1])
        with torch.no_grad():
            if sampler == "encoder":
                with torch.random.fork_rng(devices=[]):
                    torch.manual_seed(int(seed))
                    le = None if self._layer_e is None else self._tensor(self._layer_e[event : event + 1])
                    z = self.model.encode(self._tensor(self._x[event : event + 1]), e, layer_e=le).z
            elif not getattr(self.model, "has_rbm", True):  # prior controls: exact samples of their prior
                z = self.model.sample_latents(e, seed=int(seed))
            else:
                from calolib.samplers import get_sampler

                kw = {"n_steps": self.gibbs_steps} if sampler == "gibbs" else {}
                code = self.model.condition_code(e)
                z = get_sampler(sampler, **kw).sample(self.model.rbm, 1, conditioning=code if code.shape[1] else None,
                                                      seed=int(seed)).expand()[:1]
        return z.detach().float().cpu().numpy()[0]

    def latent(self, event: int, seed: int, sampler: str) -> np.ndarray:
        """The latent code ``(N,)`` 0/1 of ``event`` for (``seed``, ``sampler``) (cached)."""
        return self._latent(self._check(event, sampler), int(seed), sampler)

    def _decode_batch(self, z: np.ndarray, e: np.ndarray, layer_e=None) -> np.ndarray:
        """Decode rows of ``z`` at energies ``e`` (MeV) -> preprocessed-space outputs (B, V) (``layer_e`` (B, L)
        MeV conditions the factorised model's decoder)."""
        import torch

        with torch.no_grad():
            le = None if layer_e is None else self._tensor(layer_e)
            out = self.model.reconstruct(self.model.decode(self._tensor(z), self._tensor(e), layer_e=le))
        return out.detach().float().cpu().numpy()

    def _decode_uncached(self, event: int, seed: int, sampler: str, e_inc: float) -> np.ndarray:
        z = self.latent(event, seed, sampler)
        if self._factorised:
            # E' sets both the layer energies (drawn from the energy flow, the same flow noise for every E' of
            # this seed, so the slider moves one shower) and the shape decoder's conditioning
            import torch

            with torch.no_grad():
                v = self.model.decode_showers(self._tensor(z[None]), self._tensor([e_inc]), transform=self.transform,
                                              sample_hits=False, flow_seed=int(seed))
            return v.double().cpu().numpy()[0]
        x_hat = self._decode_batch(z[None], np.array([e_inc]))
        return np.asarray(self.transform.inverse(np.array([e_inc]), x_hat), dtype=np.float64)[0]

    def update(self, e_inc: float, seed: int = 0, sampler: str = "encoder", event: int = 0) -> DecodedShower:
        """Decode the latent code of (``event``, ``seed``, ``sampler``) at decoder energy ``e_inc`` (MeV).

        Returns the :class:`DecodedShower` (also kept as ``self.last``).
        """
        event = self._check(event, sampler)
        if not float(e_inc) > 0:
            raise CalolibError(f"decoder energy must be > 0 MeV, got {e_inc}")
        key = float(np.float32(e_inc))  # one cache entry per slider position
        shower = self._decode(event, int(seed), sampler, key)
        self.last = DecodedShower(event, int(seed), sampler, key, self.latent(event, seed, sampler), shower)
        return self.last

    def _curve_uncached(self, event: int, seed: int, sampler: str) -> np.ndarray:
        from calolib.diagnostics import einc_sweep

        z = self.latent(event, seed, sampler)[None]
        if self._factorised:  # shapes decoded with the event's own layer energies while E' varies
            sweep = einc_sweep(self._decode_batch, z, self._x[event : event + 1], self.showers.energies[event : event + 1],
                               self.grid, to_mev=lambda a, e, c: self.transform.inverse(c, a),
                               showers_true=self.showers.showers[event : event + 1],
                               cond=self._layer_e[event : event + 1])
            return sweep.curves["mse"][0]
        sweep = einc_sweep(self._decode_batch, z, self._x[event : event + 1], self.showers.energies[event : event + 1],
                           self.grid, to_mev=lambda a, e: self.transform.inverse(e, a),
                           showers_true=self.showers.showers[event : event + 1])
        return sweep.curves["mse"][0]

    def mse_curve(self, event: int, seed: int = 0, sampler: str = "encoder") -> np.ndarray:
        """MSE(x, x̂(E′)) in preprocessed space over ``self.grid`` for the event's latent code (cached)."""
        return self._curve(self._check(event, sampler), int(seed), sampler)

    # ------------------------------------------------------------------ drawing
    def draw(self, e_inc: float, seed: int = 0, sampler: str = "encoder", event: int = 0, *, fig=None):
        """Draw layer images, the longitudinal profile and the MSE curve for one setting; returns the figure."""
        import matplotlib.pyplot as plt

        from calolib.plotting.style import COLORS, label_axes, use_style
        from calolib.reports.plots import plot_layer_images, plot_longitudinal_profile

        use_style()
        dec = self.update(e_inc, seed, sampler, event)
        geo = self.showers.geometry
        fig = fig if fig is not None else plt.figure(figsize=(16, 8.5))
        grid = fig.add_gridspec(2, 1, height_ratios=(1, 1.15), hspace=0.3)
        image_axes = [fig.add_subplot(spec, projection="polar") for spec in grid[0].subgridspec(1, 5, wspace=0.15)]
        truth = self.showers.showers[event]
        plot_layer_images(dec.shower, geo, axes=image_axes, vmax=float(max(dec.shower.max(), truth.max(), 1e-6)))
        ax_prof, ax_mse = (fig.add_subplot(spec) for spec in grid[1].subgridspec(1, 2, wspace=0.3))
        plot_longitudinal_profile({"event (truth)": truth[None], f"decoded at E′ = {dec.e_inc / 1e3:.3g} GeV": dec.shower[None]},
                                  geo, ax=ax_prof)
        curve = self.mse_curve(event, seed, sampler)
        ax_mse.plot(self.grid, curve, "o-", ms=3, color=COLORS[2], label="MSE(x, x̂(E′))")
        ax_mse.axvline(self.showers.energies[event], color="black", ls="--", lw=1, label="true E_inc")
        ax_mse.axvline(dec.e_inc, color=COLORS[4], lw=2, label="current E′")
        label_axes(ax_mse, "decoder E′ [MeV]", "MSE [preprocessed]", logx=True)
        ax_mse.legend(fontsize=9)
        fig.suptitle(f"event {event} (E_inc = {self.showers.energies[event] / 1e3:.3g} GeV), latent from {sampler} "
                     f"seed {seed}: decoded E_dep = {dec.total_energy:.4g} MeV", fontsize=13)
        return fig

    def static_sweep(self, energies, seed: int = 0, sampler: str = "encoder", event: int = 0):
        """One row of layer images per E′ in ``energies`` plus the profiles and the MSE curve; returns the figure."""
        import matplotlib.pyplot as plt

        from calolib.plotting.style import COLORS, label_axes, use_style
        from calolib.reports.plots import plot_layer_images, plot_longitudinal_profile

        use_style()
        energies = [float(e) for e in energies]
        geo = self.showers.geometry
        decoded = [self.update(e, seed, sampler, event) for e in energies]
        vmax = float(max(d.shower.max() for d in decoded))
        fig = plt.figure(figsize=(16, 3.3 * len(energies) + 5))
        grid = fig.add_gridspec(len(energies) + 1, 1, height_ratios=(*(1,) * len(energies), 1.4), hspace=0.35)
        all_axes, meshes = [], []
        for r, d in enumerate(decoded):
            axes = [fig.add_subplot(spec, projection="polar") for spec in grid[r].subgridspec(1, 5, wspace=0.15)]
            meshes += plot_layer_images(d.shower, geo, axes=axes, vmax=vmax, colorbar=False)
            axes[0].text(-0.35, 0.5, f"E′ = {d.e_inc / 1e3:.3g} GeV", transform=axes[0].transAxes, rotation=90,
                         va="center", ha="center", fontsize=12)
            all_axes += axes
        fig.colorbar(meshes[-1], ax=all_axes, label="voxel energy [MeV]", shrink=0.6, pad=0.02)
        ax_prof, ax_mse = (fig.add_subplot(spec) for spec in grid[-1].subgridspec(1, 2, wspace=0.3))
        samples = {"event (truth)": self.showers.showers[event][None]}
        samples.update({f"E′ = {d.e_inc / 1e3:.3g} GeV": d.shower[None] for d in decoded})
        plot_longitudinal_profile(samples, geo, ax=ax_prof)
        ax_mse.plot(self.grid, self.mse_curve(event, seed, sampler), "o-", ms=3, color=COLORS[2], label="MSE(x, x̂(E′))")
        ax_mse.axvline(self.showers.energies[event], color="black", ls="--", lw=1, label="true E_inc")
        for d in decoded:
            ax_mse.axvline(d.e_inc, color=COLORS[4], lw=1, alpha=0.6)
        label_axes(ax_mse, "decoder E′ [MeV]", "MSE(x, x̂(E′)) [preprocessed]", logx=True)
        ax_mse.legend(fontsize=9)
        return fig

    # ------------------------------------------------------------------ shapes of a sweep
    def sweep_shapes(self, energies, seed: int = 0, sampler: str = "encoder", event: int = 0) -> dict[str, np.ndarray]:
        """:func:`shower_shape` of the shower decoded at each E′ of ``energies`` (MeV), plus ``"e_prime"``.

        The event's own shape is :func:`shower_shape` of ``self.showers.showers[event]``.
        """
        energies = np.asarray([float(e) for e in energies])
        decoded = np.stack([self.update(e, seed, sampler, event).shower for e in energies])
        return {"e_prime": np.array([float(np.float32(e)) for e in energies]),
                **shower_shape(decoded, self.showers.geometry, e_ref=energies)}

    def data_shapes(self) -> dict[str, np.ndarray]:
        """:func:`shower_shape` of the explorer's own (truth) showers, ``e_ratio`` against their E_inc."""
        return shower_shape(self.showers.showers, self.showers.geometry, e_ref=self.showers.energies)

    def transform_scales(self) -> bool:
        """Whether the inverse preprocessing multiplies a fixed decoder output by E′ (x̂ -> E′ · f(x̂)), checked
        on one event: then E_dep ∝ E′ whatever the decoder does, and only E_dep/E′ shows the decoder's part."""
        if self._factorised:  # the layer energies come from the energy flow, not from multiplying by E'
            return False
        x = self._x[:1]
        low, high = (np.asarray(self.transform.inverse(np.array([e]), x), dtype=np.float64) for e in (1e4, 1e5))
        return bool(high.sum() > 0 and np.allclose(high, 10 * low, rtol=1e-4, atol=1e-9))

    def plot_shapes(self, energies, seed: int = 0, sampler: str = "encoder", event: int = 0):
        """E_dep/E′, depth (centre of gravity, layers) and RMS radius (mm) of the decoded shower against E′,
        beside the event's truth and the data's depth trend; returns the figure."""
        import matplotlib.pyplot as plt

        from calolib.plotting.style import COLORS, label_axes, use_style
        from calolib.reports.takeaways.explorer import data_depth_slope

        use_style()
        dec = self.sweep_shapes(energies, seed, sampler, event)
        data = self.data_shapes()
        e_true = float(self.showers.energies[event])
        fig, axes = plt.subplots(1, 3, figsize=(16, 4.6), constrained_layout=True)
        e_data = np.asarray(self.showers.energies, dtype=np.float64)
        for ax, key, ylabel in zip(axes, ("e_ratio", "depth", "radial_width"),
                                   ("E_dep / E′ (data: E_dep / E_inc)", "centre of gravity [layer]", "RMS radius [mm]")):
            ax.plot(e_data, data[key], ".", ms=5, color="0.6", label="data showers (at their E_inc)")
            ax.plot(dec["e_prime"], dec[key], "o-", ms=3, color=COLORS[1], label=f"event {event} decoded at E′")
            ax.plot([e_true], [data[key][event]], "*", ms=13, color=COLORS[0], label=f"event {event} (truth)")
            label_axes(ax, "E′ (data: E_inc) [MeV]", ylabel, logx=True)
        slope, _ = data_depth_slope(e_data, data["depth"])
        if np.isfinite(slope):
            x = np.log10(e_data)
            ok = np.isfinite(data["depth"])
            line = np.geomspace(e_data.min(), e_data.max(), 20)
            axes[1].plot(line, data["depth"][ok].mean() + slope * (np.log10(line) - x[ok].mean()), "--", color=COLORS[0],
                         lw=1, label=f"data trend ({slope:+.2f} layers/decade)")
        for ax in axes:
            ax.legend(fontsize=9, loc="best")
        return fig

    def clear_cache(self) -> None:
        """Forget every cached latent code, decoding and MSE curve (e.g. before timing)."""
        for f in (self._latent, self._decode, self._curve):
            f.cache_clear()

    # ------------------------------------------------------------------ widgets
    def view(self, **kw):
        """A persistent :class:`~calolib.widget_view.ExplorerView` figure (update artists, render PNG)."""
        from calolib.widget_view import ExplorerView

        return ExplorerView(self, **kw)

    def widget(self, *, event: int = 0, seed: int = 0, sampler: str | None = None, continuous: bool = False,
               dpi: float = 80):
        """The ipywidgets UI (:class:`~calolib.widget_view.ExplorerWidget`): a log-scale E′ slider, event and
        seed sliders and a latent-source dropdown above a live picture that is updated in place.

        ``continuous=True`` re-decodes while a slider is dragged (else on release).
        """
        from calolib.widget_view import ExplorerWidget

        return ExplorerWidget(self, event=event, seed=seed, sampler=sampler, continuous=continuous, dpi=dpi)


def shower_shape(showers, geometry, *, e_ref=None) -> dict[str, np.ndarray]:
    """Energy, depth and widths of showers ``(N, V)`` MeV (or ``(V,)``), each ``(N,)``.

    * ``e_dep``: total energy (MeV); ``e_ratio``: ``e_dep / e_ref`` when ``e_ref`` (MeV, ``(N,)``) is given;
    * ``depth``: longitudinal centre of gravity, the energy-weighted mean layer index (layers);
    * ``long_width``: energy-weighted RMS of the layer index about it (layers);
    * ``radial_width``: energy-weighted RMS radius of the voxel centres over the whole shower (mm).

    Empty showers give NaN shapes.

    Example:
        >>> v = np.zeros(6480); v[0] = 1.0; v[144 * 2] = 3.0            # layer 0 and layer 2, innermost ring
        >>> s = shower_shape(v, "ds2", e_ref=[8.0])
        >>> float(s["e_dep"][0]), float(s["e_ratio"][0]), float(s["depth"][0]), round(float(s["long_width"][0]), 3)
        (4.0, 0.5, 1.5, 0.866)
    """
    from calolib.geometry import get_geometry

    geo = get_geometry(geometry)
    v = np.atleast_2d(np.asarray(getattr(showers, "showers", showers), dtype=np.float64))
    e_layer = geo.layer_energies(v)  # (N, L)
    e_dep = v.sum(axis=1)
    idx = np.arange(geo.n_layers, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        depth = (e_layer * idx).sum(1) / e_dep
        long_width = np.sqrt(np.maximum((e_layer * idx**2).sum(1) / e_dep - depth**2, 0.0))
        radial_width = np.sqrt((v * np.asarray(geo.voxel_r, dtype=np.float64) ** 2).sum(1) / e_dep)
    out = {"e_dep": e_dep, "depth": depth, "long_width": long_width, "radial_width": radial_width}
    if e_ref is not None:
        out["e_ratio"] = e_dep / np.asarray(e_ref, dtype=np.float64).reshape(-1)
    return out
