"""Plot style and shared plotting helpers (matplotlib + mplhep, HEP conventions)."""
from calolib.plotting.style import COLORS, use_style, label_axes, save_figure

__all__ = ["COLORS", "use_style", "label_axes", "save_figure"]
