"""Training configuration: one frozen dataclass, presets in TOML, strict loading and overrides.

A training run is a pure function of a :class:`TrainConfig` (plus the data file), so a sweep is a
list of configs.  Configs come from a preset (``calolib/configs/<name>.toml``), optionally a user
file (TOML, YAML or JSON, possibly partial and possibly naming its own ``preset``), and ``key=value``
overrides (``model.hidden=256``).  As in nanoGPT's configurator, an unknown key or a value of the
wrong type is an error (:class:`~calolib.errors.ConfigError`) rather than silently ignored.

Example:
    >>> cfg = get_preset("quick")
    >>> cfg2 = apply_overrides(cfg, ["lr=3e-4", "epochs=2"])
    >>> cfg2.lr, cfg2.epochs, cfg2.model == cfg.model
    (0.0003, 2, True)
"""
from __future__ import annotations

import dataclasses
import json
import tomllib
import types
import typing
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from calolib.errors import ConfigError
from calolib.models import ModelConfig

__all__ = [
    "TrainConfig",
    "PRESET_NAMES",
    "get_preset",
    "load_config",
    "config_from_dict",
    "config_to_dict",
    "apply_overrides",
    "dataclass_from_dict",
]

PRESET_NAMES: tuple[str, ...] = ("quick", "full")


@dataclass(frozen=True)
class TrainConfig:
    """Everything a training run depends on (model architecture + optimisation).

    Epoch-valued fields are floats in units of epochs; schedules are evaluated at fractional
    epochs ``t = epoch + batch/n_batches`` (see :mod:`calolib.training.schedules`).
    """

    model: ModelConfig = field(default_factory=ModelConfig)
    # -- data
    max_events: int = 0  # read at most this many events from the file (0 = all)
    val_fraction: float = 0.1  # the LAST fraction of the events is validation (deterministic split)
    # -- optimisation
    epochs: int = 10
    batch_size: int = 128
    lr: float = 1e-3  # AdamW peak learning rate
    weight_decay: float = 1e-4
    grad_clip: float = 1.0  # max global gradient norm (0 = no clipping)
    lr_schedule: Literal["constant", "cosine", "exponential"] = "cosine"
    lr_warmup_epochs: float = 0.0  # linear warm-up from 0
    lr_decay_epochs: float = 0.0  # cosine horizon in epochs (0 = `epochs`); fix it to extend runs exactly
    lr_min_factor: float = 0.05  # cosine floor as a fraction of lr
    lr_gamma: float = 0.9  # exponential decay factor per epoch
    # -- KL (prior) weight annealing: weight of ent + pos + neg, ramps start -> max over warm-up
    kl_start: float = 0.0
    kl_max: float = 1.0
    kl_warmup_epochs: float = 1.0
    # -- relaxation sharpness annealing: geometric ramp from beta_start to the model's own sharpness
    #    (model.relax_beta; 1/gumbel_tau for gumbel) over beta_anneal_epochs (0 = no annealing)
    beta_start: float = 1.0
    beta_anneal_epochs: float = 1.0
    # -- RBM prior: persistent contrastive divergence
    n_neg_chains: int = 256  # persistent Gibbs chains for the negative phase
    gibbs_sweeps: int = 1  # block-Gibbs sweeps per optimisation step
    # -- schemes (seed 004)
    scheme: Literal["joint", "two_stage"] = "joint"
    ae_epochs: int = 0  # two_stage: autoencoder-only epochs before the RBM is trained on frozen encodings
    centred: bool = False  # two_stage: centred-gradient RBM update (Melchior et al. 2016)
    centring_rate: float = 0.01  # sliding-average rate of the centring offsets
    rbm_lr: float = 0.0  # learning rate of the RBM stage of two_stage (0 = lr)
    # -- factorised model (model.energy_model = "flow"): the layer-energy flow trains alongside, own LR group
    flow_lr: float = 0.0  # peak learning rate of the energy flow (0 = lr); same schedule shape
    # -- monitoring
    log_rbm_ll: bool = False  # RBM log-likelihood of validation encodings per epoch (AIS; slow)
    ll_chains: int = 64
    ll_betas: int = 200
    gen_check_events: int = 0  # generate this many showers per epoch for e_ratio/sparsity separation powers (0 = off)
    # -- runtime
    seed: int = 0
    amp: bool = False  # bfloat16 autocast, CUDA only (ignored on CPU)
    num_workers: int = 0  # reserved for streaming loaders; in-memory batches need none
    eval_batch_size: int = 1024

    def __post_init__(self):
        def need(ok: bool, msg: str):
            if not ok:
                raise ConfigError(f"bad training config: {msg}")

        import math

        from calolib.checks import MAX_SEED

        for f in dataclasses.fields(self):  # nan/inf in any number would silently disable or poison a term
            v = getattr(self, f.name)
            if isinstance(v, float):
                need(math.isfinite(v), f"{f.name} must be a finite number, got {v}")
        need(isinstance(self.seed, int) and 0 <= self.seed <= MAX_SEED,
             f"seed must be an integer in [0, {MAX_SEED}], got {self.seed}")
        need(self.kl_start >= 0 and self.kl_max >= 0,
             f"kl_start and kl_max must be >= 0 (KL weights), got {self.kl_start}, {self.kl_max}")
        need(self.gen_check_events >= 0, f"gen_check_events must be >= 0 (0 = off), got {self.gen_check_events}")
        need(self.ll_chains >= 1, f"ll_chains must be >= 1, got {self.ll_chains}")
        need(self.ll_betas >= 2, f"ll_betas must be >= 2, got {self.ll_betas}")
        need(self.epochs >= 0, f"epochs must be >= 0, got {self.epochs}")
        need(self.batch_size >= 1, f"batch_size must be >= 1, got {self.batch_size}")
        need(self.eval_batch_size >= 1, f"eval_batch_size must be >= 1, got {self.eval_batch_size}")
        need(self.lr > 0, f"lr must be > 0, got {self.lr}")
        need(self.weight_decay >= 0, f"weight_decay must be >= 0, got {self.weight_decay}")
        need(self.grad_clip >= 0, f"grad_clip must be >= 0 (0 = off), got {self.grad_clip}")
        need(0.0 < self.val_fraction < 1.0, f"val_fraction must be in (0, 1), got {self.val_fraction}")
        need(self.max_events >= 0, f"max_events must be >= 0 (0 = all), got {self.max_events}")
        need(self.lr_schedule in ("constant", "cosine", "exponential"),
             f"lr_schedule must be constant, cosine or exponential, got {self.lr_schedule!r}")
        need(self.scheme in ("joint", "two_stage"), f"scheme must be joint or two_stage, got {self.scheme!r}")
        need(self.n_neg_chains >= 1, f"n_neg_chains must be >= 1, got {self.n_neg_chains}")
        need(self.gibbs_sweeps >= 1, f"gibbs_sweeps must be >= 1, got {self.gibbs_sweeps}")
        need(self.beta_start > 0, f"beta_start must be > 0, got {self.beta_start}")
        need(0.0 < self.lr_gamma <= 1.0, f"lr_gamma must be in (0, 1], got {self.lr_gamma}")
        need(0.0 <= self.lr_min_factor <= 1.0, f"lr_min_factor must be in [0, 1], got {self.lr_min_factor}")
        need(0.0 < self.centring_rate <= 1.0, f"centring_rate must be in (0, 1], got {self.centring_rate}")
        need(self.ae_epochs >= 0, f"ae_epochs must be >= 0, got {self.ae_epochs}")
        need(self.rbm_lr >= 0, f"rbm_lr must be >= 0 (0 = lr), got {self.rbm_lr}")
        need(self.flow_lr >= 0, f"flow_lr must be >= 0 (0 = lr), got {self.flow_lr}")
        prior = getattr(self.model, "prior", "rbm")
        need(not (self.scheme == "two_stage" and prior == "gaussian"),
             "scheme two_stage trains the prior on frozen encodings; the gaussian prior has no parameters (use joint)")
        need(not (self.centred and prior != "rbm"), "centred updates apply to the RBM prior only (model.prior = rbm)")
        need(self.num_workers >= 0, f"num_workers must be >= 0, got {self.num_workers}")
        for name in ("lr_warmup_epochs", "lr_decay_epochs", "kl_warmup_epochs", "beta_anneal_epochs"):
            need(getattr(self, name) >= 0, f"{name} must be >= 0")


# ---------------------------------------------------------------- dict <-> dataclass, strictly typed
def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def _coerce(value: Any, tp: Any, key: str) -> Any:
    """Check ``value`` against the annotation ``tp`` (coercing int->float, list->tuple)."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if tp is Any or tp is object:
        return value
    if dataclasses.is_dataclass(tp):
        if isinstance(value, tp):
            return value
        if not isinstance(value, dict):
            raise ConfigError(f"config key {key!r} must be a table of {tp.__name__} fields, got {value!r}")
        return dataclass_from_dict(tp, value, prefix=key + ".")
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        for a in args:
            if a is type(None):
                continue
            try:
                return _coerce(value, a, key)
            except ConfigError:
                pass
        raise ConfigError(f"config key {key!r} must be {_type_name(tp)}, got {value!r}")
    if origin is Literal:
        if value not in args:
            raise ConfigError(f"config key {key!r} must be one of {list(args)}, got {value!r}")
        return value
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"config key {key!r} must be true/false, got {value!r}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer():
                return int(value)
            raise ConfigError(f"config key {key!r} must be an integer, got {value!r}")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"config key {key!r} must be a number, got {value!r}")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(f"config key {key!r} must be a string, got {value!r}")
        return value
    if origin in (tuple, list) or tp in (tuple, list):
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"config key {key!r} must be a list, got {value!r}")
        if origin is tuple and args and not (len(args) == 2 and args[1] is Ellipsis):
            if len(args) != len(value):
                raise ConfigError(f"config key {key!r} must have {len(args)} entries, got {len(value)}")
            items = [_coerce(v, a, f"{key}[{i}]") for i, (v, a) in enumerate(zip(args, value))]
        else:
            elem = args[0] if args else Any
            items = [_coerce(v, elem, f"{key}[{i}]") for i, v in enumerate(value)]
        return tuple(items) if (origin is tuple or tp is tuple) else items
    if origin is dict or tp is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"config key {key!r} must be a table, got {value!r}")
        return dict(value)
    if isinstance(tp, type) and not isinstance(value, tp):
        raise ConfigError(f"config key {key!r} must be {_type_name(tp)}, got {value!r}")
    return value


def dataclass_from_dict(cls: type, data: dict, *, prefix: str = "") -> Any:
    """Build the dataclass ``cls`` from ``data``; unknown keys and wrong types raise ConfigError.

    Missing keys take the dataclass defaults; nested dataclass fields take nested dicts.

    Example:
        >>> dataclass_from_dict(TrainConfig, {"epochs": 3, "lr": 1}).lr
        1.0
        >>> dataclass_from_dict(TrainConfig, {"epoch": 3})
        Traceback (most recent call last):
        ...
        calolib.errors.ConfigError: unknown config key 'epoch' (did you mean 'epochs'?)
    """
    if not isinstance(data, dict):
        raise ConfigError(f"config section {prefix.rstrip('.') or 'top level'!r} must be a table, got {data!r}")
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls) if f.init]
    kwargs = {}
    for key, value in data.items():
        if key not in names:
            import difflib

            close = difflib.get_close_matches(key, names, n=1)
            hint = f" (did you mean '{prefix}{close[0]}'?)" if close else f"; valid keys: {', '.join(names)}"
            raise ConfigError(f"unknown config key '{prefix}{key}'{hint}")
        kwargs[key] = _coerce(value, hints[key], prefix + key)
    try:
        return cls(**kwargs)
    except ConfigError:
        raise
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"invalid {cls.__name__} ({prefix.rstrip('.') or 'top level'}): {exc}") from exc


def config_to_dict(config: TrainConfig) -> dict:
    """JSON-able nested dict of a config (tuples become lists).

    Example:
        >>> config_to_dict(get_preset("quick"))["scheme"]
        'joint'
    """
    return json.loads(json.dumps(asdict(config)))


def config_from_dict(data: dict, *, base: TrainConfig | None = None) -> TrainConfig:
    """A :class:`TrainConfig` from a (possibly partial) nested dict laid over ``base``.

    A top-level ``preset = "quick"|"full"`` key picks the base.

    Example:
        >>> config_from_dict({"preset": "quick", "model": {}}).epochs == get_preset("quick").epochs
        True
    """
    data = dict(data)
    preset = data.pop("preset", None)
    if preset is not None:
        base = get_preset(preset)
    merged = _deep_merge(config_to_dict(base) if base is not None else {}, data)
    return dataclass_from_dict(TrainConfig, merged)


def _deep_merge(a: dict, b: dict) -> dict:
    out = dict(a)
    for k, v in b.items():
        out[k] = _deep_merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def _read_mapping(path: Path) -> dict:
    suffix = path.suffix.lower()
    from calolib.io.files import check_input_file

    try:
        check_input_file(path, "config file", error=ConfigError)  # a FIFO would block, a directory is no file
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"config file {path} is not UTF-8 text (byte {exc.start}: {exc.reason}); "
                          "save it as UTF-8 TOML, YAML or JSON") from None
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
    try:
        if suffix == ".toml":
            data = tomllib.loads(text)
        elif suffix in (".yaml", ".yml"):
            import yaml

            data = yaml.safe_load(text) or {}
        elif suffix == ".json":
            data = json.loads(text)
        else:
            raise ConfigError(f"config file {path} must end in .toml, .yaml, .yml or .json")
    except ConfigError:
        raise
    except Exception as exc:  # tomllib/yaml/json syntax errors
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ConfigError(f"cannot parse config file {path}: {msg}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must hold a table of keys, got {type(data).__name__}")
    return data


def get_preset(name: str) -> TrainConfig:
    """The named preset, read from the package's ``configs/<name>.toml``.

    ``quick`` trains on the embedded ds2 dataset in minutes on 2 CPU cores; ``full`` is GPU scale.

    Example:
        >>> get_preset("full").epochs > get_preset("quick").epochs
        True
    """
    if name not in PRESET_NAMES:
        raise ConfigError(f"unknown preset {name!r}; valid presets: {', '.join(PRESET_NAMES)}")
    text = resources.files("calolib").joinpath("configs", f"{name}.toml").read_text()
    data = tomllib.loads(text)
    data.pop("preset", None)
    return config_from_dict(data, base=TrainConfig())


def load_config(path: str | Path, *, base: TrainConfig | None = None) -> TrainConfig:
    """Read a TOML/YAML/JSON config file; its keys override ``base`` (default: its ``preset`` key, else defaults).

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "c.toml"
        >>> _ = p.write_text('preset = "quick"\\nepochs = 2\\n')
        >>> load_config(p).epochs
        2
    """
    data = _read_mapping(Path(path))
    if base is None and "preset" not in data:
        base = TrainConfig()
    return config_from_dict(data, base=base)


def _parse_value(text: str) -> Any:
    """A TOML value (``3e-4``, ``true``, ``[1, 2]``, ``"s"``), else a YAML scalar, else the raw string."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        pass
    import yaml

    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        return text
    return text if value is None else value


def apply_overrides(config: TrainConfig, overrides: typing.Iterable[str] | dict) -> TrainConfig:
    """Apply ``key=value`` overrides (dotted keys into ``model``); values parse as YAML scalars/lists.

    Example:
        >>> apply_overrides(TrainConfig(), {"scheme": "two_stage", "ae_epochs": 1}).scheme
        'two_stage'
    """
    if isinstance(overrides, dict):
        items = list(overrides.items())
    else:
        items = []
        for item in overrides:
            if "=" not in item:
                raise ConfigError(f"override {item!r} must look like key=value (e.g. lr=3e-4 or model.hidden=128)")
            k, v = item.split("=", 1)
            items.append((k.strip(), _parse_value(v.strip())))
    patch: dict = {}
    for key, value in items:
        parts = key.split(".")
        node = patch
        for p in parts[:-1]:
            node = node.setdefault(p, {})
            if not isinstance(node, dict):
                raise ConfigError(f"override key {key!r} conflicts with another override")
        node[parts[-1]] = value
    return config_from_dict(patch, base=config)


def __dir__():
    return __all__
