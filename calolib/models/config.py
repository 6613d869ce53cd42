"""The QVAE's architecture configuration: one frozen, JSON-able dataclass.

Every architectural choice of the QVAE studies (seeds 000, 001, 003, 004) is a field of
:class:`ModelConfig`, so a sweep over architectures is a list of configs.  ``dataclasses.asdict``
gives a JSON-able dict and :meth:`ModelConfig.from_dict` rebuilds the config, rejecting unknown keys,
wrong types and out-of-range values with a one-line :class:`~calolib.errors.ConfigError`.

Choices (defaults first):

* ``encoder``: ``"fcn"`` | ``"cnn"`` (3-D convolutions on the (layer, angle, radius) grid, circular
  padding in angle) | ``"hierarchical"`` (the latent partitions produced in turn, each conditioned on
  the relaxed samples of the previous ones).  ``decoder``: ``"fcn"`` | ``"cnn"``.
* ``relaxation``: ``"spike_exp"`` | ``"mixture_exp"`` | ``"gumbel"`` (see :mod:`calolib.models.relaxations`);
  ``relax_beta`` is the sharpness beta of the exponential relaxations, ``gumbel_tau`` the Gumbel temperature.
* ``conditioning``: ``"enc_dec"`` (E_inc into encoder and decoder) | ``"enc"`` | ``"none"`` | ``"film"``
  (encoder gets E_inc as input; decoder hidden features are scaled/shifted by E_inc).
  ``einc_input``: ``"concat"`` (E_inc appended to the voxel vector) | ``"add"`` (added to every voxel).
* ``condition_rbm``: partition 0 of the RBM carries the ``condition_code`` bits of E_inc and is clamped;
  the encoder then produces partitions 1..3 only.  The default code is ``"thermometer"`` because the
  ``"gray"``/``"binary"`` codes of :mod:`calolib.codes` hold at most 62 bits (the default partition has 302).
* ``positional``: ``"none"`` | ``"v1"`` | ``"v2"`` voxel positional encodings; ``partition_encoding``:
  the seed-000 scalar S of the previous partitions added to the voxels (hierarchical encoder only).
* hits head options: ``hits_head``, ``hits_use_einc``, ``hits_preprocess_einc`` (seed-003 remedies).
* ``esum_weight`` > 0 adds the energy-sum loss term ``esum`` (see :func:`calolib.models.losses.energy_sum_loss`):
  the squared log-ratio of the expected reconstructed and the true energy fractions, per layer
  (``esum_mode="layer"``) or in total (``"total"``); ``esum_floor`` keeps empty layers finite.

Example:
    >>> from dataclasses import asdict
    >>> cfg = ModelConfig(rbm_sizes=(8, 8, 8, 8), topology="full")
    >>> ModelConfig.from_dict(asdict(cfg)) == cfg
    True
    >>> cfg.n_latent
    32
"""
from __future__ import annotations

import dataclasses
import json
import typing
from dataclasses import dataclass, field
from typing import Any

from calolib.codes import n_levels
from calolib.errors import ConfigError

__all__ = ["ModelConfig", "CHOICES"]


def __dir__():
    return __all__


#: Allowed values of the string-valued fields.
CHOICES: dict[str, tuple[str, ...]] = {
    "encoder": ("fcn", "cnn", "hierarchical"),
    "decoder": ("fcn", "cnn"),
    "hierarchical_backbone": ("fcn", "cnn"),
    "topology": ("full", "chimera", "pegasus", "zephyr"),
    "relaxation": ("spike_exp", "mixture_exp", "gumbel"),
    "conditioning": ("enc_dec", "enc", "none", "film"),
    "einc_input": ("concat", "add"),
    "condition_code": ("thermometer", "gray", "binary"),
    "positional": ("none", "v1", "v2"),
    "activation": ("silu", "relu", "leaky_relu", "gelu", "tanh"),
    "ae_reduction": ("sum", "mean"),
    "esum_mode": ("layer", "total"),
    "prior": ("rbm", "bernoulli", "gaussian"),
    "energy_model": ("none", "flow"),
}


@dataclass(frozen=True)
class ModelConfig:
    """Architecture of a :class:`~calolib.models.QVAE` (energies in MeV)."""

    geometry: str = "ds2"                       # CaloChallenge geometry name (fixes V, the voxel count)
    encoder: str = "fcn"                        # fcn | cnn | hierarchical
    decoder: str = "fcn"                        # fcn | cnn
    encoder_hidden: tuple[int, ...] = (512, 256)  # FCN encoder (and FCN backbone) hidden widths
    decoder_hidden: tuple[int, ...] = (256, 512)  # FCN decoder hidden widths (each head)
    cnn_channels: tuple[int, ...] = (16, 32)    # CNN channels per stage (decoder uses them reversed)
    cnn_hidden: int = 256                       # width of the dense layer after/before the convolutions
    hierarchical_backbone: str = "fcn"          # feature network of the hierarchical encoder
    hierarchical_hidden: int = 128              # hidden width of each per-partition head
    activation: str = "silu"
    dropout: float = 0.0
    prior: str = "rbm"                          # rbm | bernoulli | gaussian (controls: calolib.models.priors)
    rbm_sizes: tuple[int, ...] = (302, 302, 302, 302)  # RBM partitions; partition 0 = condition when condition_rbm
    topology: str = "zephyr"                    # RBM coupling topology
    topology_kwargs: dict[str, Any] = field(default_factory=dict)  # extra keyword arguments for RBM(...)
    rbm_weight_std: float = 0.01
    rbm_bias_std: float = 0.0
    relaxation: str = "spike_exp"               # spike_exp | mixture_exp | gumbel
    relax_beta: float = 10.0                    # beta of the exponential relaxations (larger = sharper)
    gumbel_tau: float = 0.5                     # temperature of the Gumbel-sigmoid relaxation
    conditioning: str = "enc_dec"               # enc_dec | enc | none | film
    einc_input: str = "concat"                  # concat | add: how E_inc enters the encoder input
    einc_min: float = 1e3                       # MeV, E_inc mapped by t = ln(E/einc_min)/ln(einc_max/einc_min)
    einc_max: float = 1e6                       # MeV
    condition_rbm: bool = True                  # clamp RBM partition 0 to the code of E_inc
    condition_code: str = "thermometer"         # thermometer | gray | binary (gray/binary: at most 62 bits)
    positional: str = "none"                    # none | v1 | v2 voxel positional encoding
    positional_freqs: int = 4                   # frequencies per coordinate in the positional features
    positional_dim: int = 4                     # v2: learned projection width (CNN channels; FCN uses 1)
    partition_encoding: bool = False            # seed-000 scalar S of earlier partitions added to the voxels
    hits_head: bool = True                      # decoder predicts which voxels are hit
    hits_use_einc: bool = True                  # False: the hits head does not see E_inc (seed-003 remedy)
    hits_preprocess_einc: bool = False          # True: a small MLP maps E_inc before the hits head
    hits_einc_hidden: int = 16                  # width of that MLP
    ae_reduction: str = "sum"                   # AE loss: sum over voxels (ELBO scale) or mean, then batch mean
    hit_tolerance: float = 1e-6                 # x > empty_value + tol counts as a hit (preprocessed units)
    esum_weight: float = 0.0                    # weight of the energy-sum loss term "esum" (0: off)
    esum_mode: str = "layer"                    # esum over per-layer energy fractions or the total one
    esum_floor: float = 1e-3                    # added to the energy fractions inside the logarithms
    energy_model: str = "none"                  # none | flow: layer energies from a conditional flow, VAE for shapes
    flow_transforms: int = 5                    # flow: autoregressive transforms of the layer-energy MAF
    flow_hidden: tuple[int, ...] = (128, 128)   # flow: hidden widths of each MADE
    flow_coupling: bool = True                  # flow: two-pass coupling transforms (fast sampling) or fully autoregressive
    flow_dequant: float = 1e-3                  # flow: dequantisation noise width as a fraction of the threshold
    threshold_mev: float = -1.0                 # readout threshold (MeV) of inputs and generated showers; <0: geometry's
    voxel_noise: float = 0.0                    # generation: voxel values drawn from N(x_hat, (noise * sigma_i)^2); 0 = mean
    seed: int = 0                               # weight initialisation seed

    def __post_init__(self):
        hints = typing.get_type_hints(type(self))
        for f in dataclasses.fields(self):
            object.__setattr__(self, f.name, _coerce(f.name, getattr(self, f.name), hints[f.name]))
        _validate(self)

    @property
    def n_latent(self) -> int:
        """Total number of latent bits N = sum(rbm_sizes)."""
        return int(sum(self.rbm_sizes))

    @property
    def n_free(self) -> int:
        """Latent units the encoder produces (all but the clamped code bits)."""
        return self.n_latent - self.n_clamped

    @property
    def binary_latents(self) -> bool:
        """Whether the latents are 0/1 bits (RBM and Bernoulli priors) rather than continuous (Gaussian)."""
        return self.prior != "gaussian"

    @property
    def readout_threshold_mev(self) -> float:
        """The readout threshold in MeV: ``threshold_mev``, or the geometry's CaloChallenge one when negative."""
        if self.threshold_mev >= 0:
            return float(self.threshold_mev)
        from calolib.geometry import get_geometry

        return float(get_geometry(self.geometry).threshold_mev)

    @property
    def n_clamped(self) -> int:
        """Number of leading latent bits clamped to the E_inc code (``rbm_sizes[0]`` or 0)."""
        return int(self.rbm_sizes[0]) if self.condition_rbm else 0

    @property
    def encoder_sees_einc(self) -> bool:
        """Whether E_inc is an encoder input."""
        return self.conditioning != "none"

    @property
    def decoder_sees_einc(self) -> bool:
        """Whether the decoder's energy head is conditioned on E_inc (concat or FiLM)."""
        return self.conditioning in ("enc_dec", "film")

    def to_dict(self) -> dict[str, Any]:
        """JSON-able dict (tuples become lists under JSON; :meth:`from_dict` accepts both)."""
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        """The config as a JSON string."""
        return json.dumps(self.to_dict(), sort_keys=True)

    def replace(self, **changes: Any) -> "ModelConfig":
        """A copy with some fields changed (validated like :meth:`from_dict`).

        Example:
            >>> ModelConfig().replace(encoder="cnn").encoder
            'cnn'
        """
        return ModelConfig.from_dict({**self.to_dict(), **changes})

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "ModelConfig":
        """Build a config from a dict, rejecting unknown keys and wrong types.

        Lists are accepted for tuple fields and ints for float fields (JSON round trips).

        Raises:
            ConfigError: unknown key, wrong type or invalid value.

        Example:
            >>> ModelConfig.from_dict({"encoder": "cnn", "rbm_sizes": [4, 4, 4, 4]}).rbm_sizes
            (4, 4, 4, 4)
            >>> ModelConfig.from_dict({"encoderr": "cnn"})  # doctest: +ELLIPSIS
            Traceback (most recent call last):
            ...
            calolib.errors.ConfigError: unknown ModelConfig key 'encoderr'; valid keys: geometry, encoder, ...
        """
        if not isinstance(d, dict):
            raise ConfigError(f"ModelConfig.from_dict needs a dict, got {type(d).__name__}")
        names = [f.name for f in dataclasses.fields(cls)]
        unknown = [k for k in d if k not in names]
        if unknown:
            raise ConfigError(f"unknown ModelConfig key {unknown[0]!r}; valid keys: {', '.join(names)}")
        return cls(**d)


def _coerce(key: str, value: Any, hint: Any) -> Any:
    """Check ``value`` against the field type ``hint``; convert list->tuple and int->float."""
    origin = typing.get_origin(hint)
    if hint is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"ModelConfig.{key} must be true/false, got {value!r}")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"ModelConfig.{key} must be an integer, got {value!r}")
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"ModelConfig.{key} must be a number, got {value!r}")
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            raise ConfigError(f"ModelConfig.{key} must be a string, got {value!r}")
        return value
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"ModelConfig.{key} must be a list of integers, got {value!r}")
        return tuple(_coerce(key, v, int) for v in value)
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"ModelConfig.{key} must be a mapping, got {value!r}")
        return dict(value)
    return value


def _validate(cfg: ModelConfig) -> None:
    import math

    for f in dataclasses.fields(cfg):  # nan compares False with every bound: an esum_weight=nan was silently "off"
        v = getattr(cfg, f.name)
        if isinstance(v, float) and not math.isfinite(v):
            raise ConfigError(f"ModelConfig.{f.name} must be a finite number, got {v}")
    if not 0 <= cfg.seed <= 2**32 - 1:
        raise ConfigError(f"ModelConfig.seed must be an integer in [0, {2**32 - 1}], got {cfg.seed}")
    for key, allowed in CHOICES.items():
        value = getattr(cfg, key)
        if value not in allowed:
            raise ConfigError(f"ModelConfig.{key}={value!r} is not valid; choose one of {', '.join(allowed)}")
    for key in ("encoder_hidden", "decoder_hidden", "cnn_channels", "flow_hidden"):
        sizes = getattr(cfg, key)
        if len(sizes) == 0 or any(int(s) < 1 for s in sizes):
            raise ConfigError(f"ModelConfig.{key}={sizes!r} must be a non-empty list of positive integers")
    if len(cfg.rbm_sizes) != 4 or any(int(s) < 1 for s in cfg.rbm_sizes):
        raise ConfigError(f"ModelConfig.rbm_sizes={cfg.rbm_sizes!r} must be four positive integers")
    for key in ("cnn_hidden", "hierarchical_hidden", "positional_freqs", "positional_dim", "hits_einc_hidden",
                "flow_transforms"):
        if getattr(cfg, key) < 1:
            raise ConfigError(f"ModelConfig.{key} must be >= 1, got {getattr(cfg, key)}")
    for key in ("relax_beta", "gumbel_tau", "rbm_weight_std"):
        if not getattr(cfg, key) > 0:
            raise ConfigError(f"ModelConfig.{key} must be > 0, got {getattr(cfg, key)}")
    if cfg.rbm_bias_std < 0 or cfg.hit_tolerance < 0:
        raise ConfigError("ModelConfig.rbm_bias_std and hit_tolerance must be >= 0")
    if cfg.energy_model == "flow" and cfg.esum_weight > 0:
        raise ConfigError("esum_weight must be 0 with energy_model='flow' (the flow sets the layer energies exactly)")
    if cfg.esum_weight < 0 or cfg.esum_weight != cfg.esum_weight:
        raise ConfigError(f"ModelConfig.esum_weight must be >= 0, got {cfg.esum_weight}")
    if not cfg.esum_floor > 0:
        raise ConfigError(f"ModelConfig.esum_floor must be > 0, got {cfg.esum_floor}")
    if not 0.0 < cfg.flow_dequant <= 1.0:
        raise ConfigError(f"ModelConfig.flow_dequant must be in (0, 1], got {cfg.flow_dequant}")
    if not 0.0 <= cfg.voxel_noise <= 10.0:
        raise ConfigError(f"ModelConfig.voxel_noise must be in [0, 10], got {cfg.voxel_noise}")
    if not 0.0 <= cfg.dropout < 1.0:
        raise ConfigError(f"ModelConfig.dropout must be in [0, 1), got {cfg.dropout}")
    if not (0 < cfg.einc_min < cfg.einc_max):
        raise ConfigError(f"need 0 < einc_min < einc_max (MeV), got {cfg.einc_min}, {cfg.einc_max}")
    if cfg.partition_encoding and cfg.encoder != "hierarchical":
        raise ConfigError("partition_encoding needs encoder='hierarchical' (it encodes earlier partitions)")
    if cfg.condition_rbm:
        try:
            n_levels(cfg.condition_code, cfg.rbm_sizes[0])
        except ConfigError as exc:
            raise ConfigError(f"condition partition of {cfg.rbm_sizes[0]} bits: {exc}; "
                              "use condition_code='thermometer' or a smaller rbm_sizes[0]") from None
    if not isinstance(cfg.topology_kwargs, dict):
        raise ConfigError("ModelConfig.topology_kwargs must be a mapping")
