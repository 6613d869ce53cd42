"""Sweep specifications: a base config, fixed overrides, a grid and seeds -> a list of points.

A sweep file (TOML) names the base (a training preset, or a config file relative to the sweep file), the
fixed overrides of ``[set]`` (as ``calolib train --set``), the ``[grid]`` whose product is taken, and the
training ``seeds``; every grid combination is trained once per seed::

    preset = "quick"           # a training preset or a config file
    seeds = [0, 1]
    [set]                      # fixed overrides, as with `calolib train --set`
    epochs = 1
    max_events = 2000
    [grid]                     # the product of these values, times the seeds
    "model.encoder" = ["fcn", "cnn"]
    [evaluate]                 # optional: how each point is evaluated (defaults below)
    n_events = 2000

A seed sets both ``seed`` (data order, chains, noise) and ``model.seed`` (weight initialisation), so
seed-to-seed differences include everything random in a training.  A point's id is readable and stable:
``encoder=cnn__seed=1`` (grid keys by their last component unless that is ambiguous); its *configuration*
id drops the seed (``encoder=cnn``), and the summary groups seeds by it.

Example:
    >>> spec = parse_spec({"preset": "quick", "seeds": [0, 1], "set": {"epochs": 1},
    ...                    "grid": {"model.encoder": ["fcn", "cnn"]}})
    >>> [p.id for p in spec.points()]
    ['encoder=fcn__seed=0', 'encoder=fcn__seed=1', 'encoder=cnn__seed=0', 'encoder=cnn__seed=1']
    >>> p = spec.points()[3]; p.config.model.encoder, p.config.seed, p.config.model.seed, p.config.epochs
    ('cnn', 1, 1, 1)
"""
from __future__ import annotations

import dataclasses
import itertools
import json
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from calolib.errors import ConfigError
from calolib.training.config import (PRESET_NAMES, TrainConfig, apply_overrides, config_to_dict, get_preset,
                                     load_config)

__all__ = ["EvalSettings", "SweepSpec", "Point", "parse_spec", "load_spec", "format_value"]


def __dir__():
    return __all__


SEED_KEYS: tuple[str, ...] = ("seed", "model.seed")
_TOP_KEYS = ("preset", "seeds", "set", "grid", "evaluate")


@dataclass(frozen=True)
class EvalSettings:
    """How each point is evaluated: its generated showers against the last ``n_events`` of the data file."""

    n_events: int = 2000  # reference showers (the file's last n_events) and generated showers per point
    sampler: str = "gibbs"  # prior sampler for generation (gibbs, sa, pimc, mock-qpu)
    gibbs_steps: int = 100  # Gibbs sweeps per generated latent sample
    classifier: bool = True  # classifier tests (AUC on voxels and on high-level features)
    classifier_epochs: int = 10  # maximum epochs of each classifier
    n_bootstrap: int = 5  # bootstrap resamples for the FPD error
    bins: int = 50  # histogram bins per feature

    def __post_init__(self):
        for name in ("n_events", "gibbs_steps", "classifier_epochs", "n_bootstrap", "bins"):
            if getattr(self, name) < 1:
                raise ConfigError(f"sweep [evaluate] {name} must be >= 1, got {getattr(self, name)}")


@dataclass(frozen=True)
class Point:
    """One training of a sweep.

    Attributes:
        id: directory name and stable key, e.g. ``encoder=cnn__seed=1``.
        config_id: the id without the seed (``encoder=cnn``; ``base`` for a grid-less sweep).
        seed: the training seed.
        values: ``{grid key: value}`` of this point.
        config: its full :class:`~calolib.training.TrainConfig`.
    """

    id: str
    config_id: str
    seed: int
    values: dict[str, Any]
    config: TrainConfig


@dataclass(frozen=True)
class SweepSpec:
    """A parsed sweep file (see the module docstring); :meth:`points` enumerates it."""

    base: TrainConfig
    base_name: str  # the preset name or the config file it came from
    seeds: tuple[int, ...]
    fixed: dict[str, Any] = field(default_factory=dict)  # [set], as dotted keys
    grid: dict[str, tuple] = field(default_factory=dict)  # [grid], as dotted keys, in file order
    evaluate: EvalSettings = field(default_factory=EvalSettings)

    def short_names(self) -> dict[str, str]:
        """Grid key -> the name used in point ids (last dotted component unless two keys share it)."""
        last = [k.rsplit(".", 1)[-1] for k in self.grid]
        return {k: (s if last.count(s) == 1 and s != "seed" else k) for k, s in zip(self.grid, last)}

    def points(self) -> list[Point]:
        """Every grid combination (first key slowest) times every seed; each config validated."""
        names = self.short_names()
        base = apply_overrides(self.base, self.fixed) if self.fixed else self.base
        out, seen = [], {}
        for combo in itertools.product(*self.grid.values()) if self.grid else [()]:
            values = dict(zip(self.grid, combo))
            cid = "__".join(f"{names[k]}={format_value(v)}" for k, v in values.items()) or "base"
            for seed in self.seeds:
                pid = (cid + "__" if values else "") + f"seed={seed}"
                try:
                    cfg = apply_overrides(base, {**values, **{k: seed for k in SEED_KEYS}})
                except ConfigError as exc:
                    raise ConfigError(f"sweep point {pid}: {exc}") from None
                if pid in seen:
                    raise ConfigError(f"sweep points {seen[pid]} and {values} get the same id {pid!r}; "
                                      "make the grid values distinguishable")
                seen[pid] = values
                out.append(Point(pid, cid, int(seed), values, cfg))
        return out

    def to_dict(self) -> dict:
        """JSON-able description (what ``sweep.json`` records)."""
        return {"base": self.base_name, "seeds": list(self.seeds), "set": _jsonable(self.fixed),
                "grid": {k: _jsonable(list(v)) for k, v in self.grid.items()},
                "evaluate": dataclasses.asdict(self.evaluate), "base_config": config_to_dict(self.base)}


def _jsonable(x: Any) -> Any:
    return json.loads(json.dumps(x))


def format_value(value: Any) -> str:
    """A grid value as it appears in a point id (file-name safe).

    Example:
        >>> format_value("cnn"), format_value([64, 64]), format_value(0.001), format_value(True), format_value("a b/c")
        ('cnn', '64-64', '0.001', 'true', 'a_b_c')
    """
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, (list, tuple)):
        text = "-".join(format_value(v) for v in value) or "none"
    elif isinstance(value, float):
        text = repr(value)
    else:
        text = str(value)
    return re.sub(r"[^A-Za-z0-9._+-]", "_", text)


def _flatten(table: dict, prefix: str = "") -> dict[str, Any]:
    """Nested tables -> dotted keys (``{"model": {"encoder": x}}`` -> ``{"model.encoder": x}``).

    Example:
        >>> _flatten({"model": {"encoder": "cnn", "rbm_sizes": [4, 4]}, "lr": 1e-3})
        {'model.encoder': 'cnn', 'model.rbm_sizes': [4, 4], 'lr': 0.001}
    """
    out: dict[str, Any] = {}
    for k, v in table.items():
        if isinstance(v, dict) and v:
            out.update(_flatten(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def parse_spec(data: dict, *, base_dir: str | Path | None = None, source: str = "sweep spec") -> SweepSpec:
    """A :class:`SweepSpec` from the dict of a sweep file (``base_dir``: where relative config paths start).

    Raises:
        ConfigError: unknown keys, no seeds, an empty grid axis, a seed in ``[set]``/``[grid]``, or a point
            whose config is invalid (one line naming it).
    """
    if not isinstance(data, dict):
        raise ConfigError(f"{source} must be a table of keys, got {type(data).__name__}")
    unknown = [k for k in data if k not in _TOP_KEYS]
    if unknown:
        raise ConfigError(f"{source}: unknown key {unknown[0]!r}; valid keys: {', '.join(_TOP_KEYS)}")
    name = data.get("preset", "quick")
    if not isinstance(name, str):
        raise ConfigError(f"{source}: preset must be a preset name ({', '.join(PRESET_NAMES)}) or a config file path")
    if name in PRESET_NAMES:
        base = get_preset(name)
    else:
        path = Path(name) if base_dir is None or Path(name).is_absolute() else Path(base_dir) / name
        if not path.is_file():
            raise ConfigError(f"{source}: preset {name!r} is neither a preset ({', '.join(PRESET_NAMES)}) "
                              f"nor a config file ({path} not found)")
        base = load_config(path)
        name = str(path)
    seeds = data.get("seeds", [0])
    if isinstance(seeds, int) and not isinstance(seeds, bool):
        seeds = [seeds]
    if (not isinstance(seeds, list) or not seeds
            or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in seeds)):
        raise ConfigError(f"{source}: seeds must be a non-empty list of integers >= 0, e.g. seeds = [0, 1]")
    if len(set(seeds)) != len(seeds):
        raise ConfigError(f"{source}: seeds {seeds} repeat a seed")
    fixed = _flatten(_table(data, "set", source))
    grid_raw = _flatten(_table(data, "grid", source))
    grid: dict[str, tuple] = {}
    for k, v in grid_raw.items():
        if not isinstance(v, list) or not v:
            raise ConfigError(f"{source}: grid key {k!r} needs a non-empty list of values, e.g. {k!r} = [a, b]")
        grid[k] = tuple(v)
    for k in (*fixed, *grid):
        if k in SEED_KEYS:
            raise ConfigError(f"{source}: {k!r} is set by `seeds`; remove it from [set]/[grid]")
    both = set(fixed) & set(grid)
    if both:
        raise ConfigError(f"{source}: {sorted(both)[0]!r} is both in [set] and in [grid]; keep one")
    ev = _dataclass(EvalSettings, _table(data, "evaluate", source), f"{source} [evaluate]")
    spec = SweepSpec(base=base, base_name=name, seeds=tuple(int(s) for s in seeds), fixed=fixed, grid=grid,
                     evaluate=ev)
    spec.points()  # validate every point's config now, before anything runs
    return spec


def _table(data: dict, key: str, source: str) -> dict:
    t = data.get(key, {})
    if not isinstance(t, dict):
        raise ConfigError(f"{source}: [{key}] must be a table")
    return t


def _dataclass(cls, table: dict, source: str):
    from calolib.training.config import dataclass_from_dict

    try:
        return dataclass_from_dict(cls, table)
    except ConfigError as exc:
        raise ConfigError(f"{source}: {exc}") from None


def load_spec(path: str | Path) -> SweepSpec:
    """Read a sweep TOML file (a ``preset`` that is a file path is relative to the sweep file).

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "s.toml"
        >>> _ = p.write_text('seeds = [0, 1]\\n[grid]\\n"model.encoder" = ["fcn", "cnn"]\\n')
        >>> len(load_spec(p).points())
        4
    """
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise ConfigError(f"sweep file not found: {path}") from None
    except OSError as exc:
        raise ConfigError(f"cannot read sweep file {path}: {exc.strerror}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"cannot parse sweep file {path}: {str(exc).splitlines()[0]}") from None
    return parse_spec(data, base_dir=path.parent, source=f"sweep file {path}")
