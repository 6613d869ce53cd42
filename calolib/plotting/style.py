"""The one plot style of calolib: mplhep's CMS-like look with a colour-blind-safe cycle.

Plot functions across the package call :func:`use_style` (idempotent) and follow the
signature ``plot_x(data, *, ax=None, **kw)`` returning the artists they drew.
"""
from __future__ import annotations

from pathlib import Path

import matplotlib as mpl
import matplotlib.pyplot as plt

__all__ = ["COLORS", "use_style", "label_axes", "save_figure", "get_ax"]

#: Okabe-Ito colour-blind-safe palette; first entry is the reference (data/Geant4-like) colour.
COLORS = ("#000000", "#E69F00", "#56B4E9", "#009E73", "#D55E00", "#0072B2", "#CC79A7", "#F0E442")

_STYLE = {
    "axes.prop_cycle": mpl.cycler(color=list(COLORS)),
    "figure.figsize": (7.0, 5.0),
    "figure.dpi": 100,
    "savefig.dpi": 130,
    "savefig.bbox": "tight",
    "font.size": 13,
    "axes.labelsize": 14,
    "legend.fontsize": 11,
    "legend.frameon": False,
    "xtick.direction": "in",
    "ytick.direction": "in",
    "xtick.top": True,
    "ytick.right": True,
    "xtick.minor.visible": True,
    "ytick.minor.visible": True,
    "image.cmap": "viridis",
    # mplhep's TeX Gyre Heros lacks glyphs such as ⊕, √, ′ and ⁻¹: fall back to DejaVu Sans for them.
    "font.family": ["TeX Gyre Heros", "DejaVu Sans"],
}


def use_style() -> None:
    """Apply the calolib style (mplhep's ROOT-like base plus our cycle and sizes)."""
    try:
        import mplhep as hep

        plt.style.use(hep.style.ROOT)
    except Exception:  # mplhep is a dependency; this only guards odd installs
        pass
    mpl.rcParams.update(_STYLE)


def get_ax(ax=None):
    """Return ``ax`` or the current axes; raise ``TypeError`` for something that is not an Axes."""
    if ax is None:
        return plt.gca()
    if not isinstance(ax, mpl.axes.Axes):
        raise TypeError(f"ax must be a matplotlib Axes, got {type(ax).__name__}")
    return ax


def label_axes(ax, xlabel: str, ylabel: str, *, logx: bool = False, logy: bool = False):
    """Set axis labels (with units, e.g. ``"E_inc [MeV]"``) and optional log scales."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if logx:
        ax.set_xscale("log")
    if logy:
        ax.set_yscale("log")
    return ax


def save_figure(fig, path: str | Path) -> Path:
    """Save ``fig`` (PNG/PDF by suffix), creating parent folders; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    return path
