"""The quantum-assisted VAE: encoder -> binary latents with a 4-partite RBM prior -> two-headed decoder.

``config.prior`` swaps the RBM for the controls of :mod:`calolib.models.priors` (a factorised Bernoulli prior
over the same bits, or a Gaussian VAE) with everything else unchanged.  With ``config.energy_model = "flow"``
the model is factorised: a conditional flow (:mod:`calolib.models.energy`, ``model.energy_flow``) generates
the layer energies, and the VAE, conditioned on them (``layer_e (B, L)`` MeV), models the within-layer shapes
in the representation of :class:`calolib.shapes.LayerShapeTransform`.

Data path (shapes for a batch of ``B`` showers of ``V`` voxels, ``N = sum(rbm_sizes)`` latent bits)::

    x (B, V) preprocessed, e_inc (B,) MeV
      -> t = ln(E/E_min)/ln(E_max/E_min)                         (fixed map, conditioning.einc_to_unit)
      -> encoder -> logits (B, N_free) -> relaxation -> zeta, z   (N_free = N - n0 if condition_rbm)
      -> [code(E_inc) (B, n0) | zeta] = zeta_full (B, N)          (partition 0 clamped to E_inc's code)
      -> decoder(zeta_full, t) -> x_hat (B, V), hit_logits (B, V)
      -> reconstruct: x_hat where hit, the preprocessed empty value where not

``empty_value`` (V,) is the preprocessed value of an empty voxel, ``(logit(delta) - mean_i)/std_i`` per
voxel: set it with :meth:`QVAE.set_empty_value` after fitting the preprocessing (zeros by default).
The energy-sum loss term (``config.esum_weight > 0``) also needs the preprocessing's per-voxel logit
``mean``/``std`` and ``delta``: :meth:`QVAE.set_preprocessing` sets all of them from a fitted
VoxelTransform (non-persistent buffers: a checkpoint restores them from its saved transform).
``model.transform`` (a plain attribute, ``None`` until set; :func:`calolib.training.load_checkpoint`
sets it) lets :meth:`QVAE.generate` produce showers in MeV.
Generation decodes hard prior samples ``z`` (from any sampler) with :meth:`QVAE.sample_prior_decode`.

Example:
    >>> import torch
    >>> from calolib.models.config import ModelConfig
    >>> cfg = ModelConfig(rbm_sizes=(4, 4, 4, 4), topology="full", encoder_hidden=(8,), decoder_hidden=(8,))
    >>> model = QVAE(cfg)
    >>> out = model(torch.zeros(2, 6480), torch.tensor([1e3, 1e6]))
    >>> out.enc.z.shape, out.dec.x.shape, model.reconstruct(out.dec).shape
    (torch.Size([2, 16]), torch.Size([2, 6480]), torch.Size([2, 6480]))
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from calolib.errors import ConfigError
from calolib.geometry import Geometry, get_geometry
from calolib.models.conditioning import einc_to_unit
from calolib.models.config import ModelConfig
from calolib.models.decoders import Decoder
from calolib.models.encoders import build_encoder
from calolib.models.losses import bernoulli_entropy, energy_sum_loss, hits_loss, reconstruction_loss
from calolib.models.priors import BernoulliPrior, GaussianPrior, gaussian_kl_terms
from calolib.models.relaxations import relax
from calolib.rbm import RBM

__all__ = ["EncoderOutput", "DecoderOutput", "ForwardOutput", "QVAE"]

#: Logit magnitude reported for the clamped condition bits (their probability is 1 - 1e-13 or 1e-13).
CLAMPED_LOGIT = 30.0


def __dir__():
    return __all__


@dataclass(frozen=True)
class EncoderOutput:
    """Encoder results, all ``(B, N)`` over the full latent vector (clamped code first when conditioned).

    ``logits``: encoder logits (``+-CLAMPED_LOGIT`` on the ``n_clamped`` code bits); ``zeta``: relaxed
    sample (differentiable); ``z``: hard 0/1 sample from the same uniforms; ``n_clamped``: code bits.
    Gaussian latents (``prior="gaussian"``): ``logits`` holds the means ``mu`` after the code bits, ``zeta = z``
    is the reparametrised sample, and ``mu``/``logvar`` ``(B, N - n_clamped)`` the posterior parameters.
    """

    logits: torch.Tensor
    zeta: torch.Tensor
    z: torch.Tensor
    n_clamped: int = 0
    mu: torch.Tensor | None = None
    logvar: torch.Tensor | None = None

    @property
    def free_logits(self) -> torch.Tensor:
        """``(B, N - n_clamped)`` logits the encoder actually produced."""
        return self.logits[:, self.n_clamped:]


@dataclass(frozen=True)
class DecoderOutput:
    """``x``: ``(B, V)`` energy prediction in preprocessed space; ``hit_logits``: ``(B, V)`` or ``None``."""

    x: torch.Tensor
    hit_logits: torch.Tensor | None


@dataclass(frozen=True)
class ForwardOutput:
    """Encoder and decoder outputs of one pass."""

    enc: EncoderOutput
    dec: DecoderOutput


def _default_voxel_sigma(state_dict, prefix, *args, **kwargs):
    key = prefix + "voxel_sigma"
    if key not in state_dict and prefix + "empty_value" in state_dict:
        state_dict[key] = torch.zeros_like(state_dict[prefix + "empty_value"])


class QVAE(nn.Module):
    """QVAE with an RBM prior (see the module docstring).  ``config`` may be a :class:`ModelConfig` or a dict.

    Weights are initialised from ``config.seed`` without touching the global RNG.
    """

    def __init__(self, config: ModelConfig | dict[str, Any] | None = None):
        super().__init__()
        if config is None:
            config = ModelConfig()
        elif isinstance(config, dict):
            config = ModelConfig.from_dict(config)
        elif not isinstance(config, ModelConfig):
            raise ConfigError(f"QVAE needs a ModelConfig or a dict, got {type(config).__name__}")
        self.config = config
        geo = get_geometry(config.geometry)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(config.seed)
            self.encoder = build_encoder(config)
            self.decoder = Decoder(config)
        if config.prior == "rbm":
            self.rbm = RBM(config.rbm_sizes, config.topology, weight_std=config.rbm_weight_std,
                           bias_std=config.rbm_bias_std, seed=config.seed, topology_kwargs=dict(config.topology_kwargs))
        elif config.prior == "bernoulli":
            self.bernoulli_prior = BernoulliPrior(config.n_clamped, config.n_free)
        else:
            self.gaussian_prior = GaussianPrior(config.n_free)
        self.energy_flow = None
        if config.energy_model == "flow":
            from calolib.models.energy import LayerEnergyFlow

            self.energy_flow = LayerEnergyFlow(geo.n_layers, threshold_mev=config.readout_threshold_mev,
                                               einc_min=config.einc_min, einc_max=config.einc_max,
                                               transforms=config.flow_transforms, hidden=config.flow_hidden,
                                               coupling=config.flow_coupling, dequant=config.flow_dequant,
                                               seed=config.seed + 1)
        self.register_buffer("empty_value", torch.zeros(geo.n_voxels))
        # per-voxel residual std of the energy head on hit voxels (preprocessed units), measured on the
        # validation split after every epoch: the Gaussian likelihood's sigma, used for voxel noise at generation
        self.register_buffer("voxel_sigma", torch.zeros(geo.n_voxels))
        self._register_load_state_dict_pre_hook(_default_voxel_sigma)  # older checkpoints have none
        # layer-feature statistics of the factorised model (derived from the transform, so not saved)
        self.register_buffer("layer_mean", torch.zeros(geo.n_layers), persistent=False)
        self.register_buffer("layer_std", torch.ones(geo.n_layers), persistent=False)
        self.layer_offset_mev = 0.01
        # preprocessing statistics for the energy-sum term (derived from the transform, so not saved)
        self.register_buffer("prep_mean", torch.zeros(geo.n_voxels), persistent=False)
        self.register_buffer("prep_std", torch.ones(geo.n_voxels), persistent=False)
        self.register_buffer("voxel_layer", torch.tensor(np.array(geo.voxel_layer, dtype=np.int64)),
                             persistent=False)
        self.prep_delta: float | None = None  # None until set_preprocessing
        self.transform = None  # the fitted VoxelTransform, when known (for generate)

    # ------------------------------------------------------------------ properties
    @property
    def geometry(self) -> Geometry:
        """The model's :class:`~calolib.geometry.Geometry`."""
        return get_geometry(self.config.geometry)

    @property
    def n_voxels(self) -> int:
        return int(self.empty_value.shape[0])

    @property
    def n_latent(self) -> int:
        """N, the number of latent bits (= RBM units)."""
        return self.config.n_latent

    @property
    def is_factorised(self) -> bool:
        """Whether the layer energies come from the energy flow (``energy_model="flow"``) and the VAE models shapes."""
        return self.energy_flow is not None

    @property
    def has_rbm(self) -> bool:
        """Whether the prior is the RBM (``model.rbm`` exists)."""
        return self.config.prior == "rbm"

    @property
    def n_parameters(self) -> int:
        """Trainable parameters: networks + prior (the RBM's free, unmasked ones) + the energy flow."""
        mods = [self.encoder, self.decoder] + ([self.energy_flow] if self.energy_flow is not None else [])
        if not self.has_rbm:
            mods.append(self.bernoulli_prior if self.config.prior == "bernoulli" else self.gaussian_prior)
        nets = sum(p.numel() for m in mods for p in m.parameters() if p.requires_grad)
        return int(nets + (self.rbm.n_parameters if self.has_rbm else 0))

    @property
    def device(self) -> torch.device:
        return self.empty_value.device

    def set_empty_value(self, value) -> None:
        """Set the preprocessed value of an empty voxel, ``(V,)`` (numpy or torch), e.g.
        ``transform.transform(E, zeros)[0]`` of a fitted VoxelTransform."""
        v = torch.as_tensor(np.asarray(value.detach().cpu() if isinstance(value, torch.Tensor) else value),
                            dtype=torch.float32).reshape(-1)
        if v.shape[0] != self.n_voxels:
            raise ConfigError(f"empty_value has {v.shape[0]} entries, the model has {self.n_voxels} voxels")
        self.empty_value.copy_(v.to(self.empty_value.device))

    def set_preprocessing(self, transform=None, *, mean=None, std=None, delta: float | None = None) -> None:
        """Store the preprocessing statistics the energy-sum term needs: a fitted VoxelTransform, or its
        per-voxel logit ``mean``/``std`` ``(V,)`` and ``delta``.  With a transform the empty value is set
        too and ``self.transform`` is attached.

        Example:
            >>> import numpy as np
            >>> from calolib.preprocessing import VoxelTransform
            >>> m = QVAE(ModelConfig(geometry="ds1-photons", rbm_sizes=(4, 4, 4, 4), topology="full"))
            >>> t = VoxelTransform().fit(np.full(3, 1e4), np.random.default_rng(0).random((3, m.n_voxels)))
            >>> m.set_preprocessing(t); bool(np.allclose(m.prep_mean.numpy(), t.mean)), m.prep_delta == t.delta
            (True, True)
        """
        if transform is not None:
            if not getattr(transform, "fitted", False):
                raise ConfigError("set_preprocessing needs a fitted VoxelTransform; call transform.fit(...) first")
            mean, std, delta = transform.mean, transform.std, transform.delta
            zeros = np.zeros((1, transform.n_voxels))
            self.set_empty_value(transform.transform(np.array([1.0]), zeros)[0])
            self.transform = transform
        if mean is None or std is None or delta is None:
            raise ConfigError("set_preprocessing needs a fitted VoxelTransform or mean, std and delta")
        for name, value in (("prep_mean", mean), ("prep_std", std)):
            v = torch.as_tensor(np.asarray(value.detach().cpu() if isinstance(value, torch.Tensor) else value),
                                dtype=torch.float32).reshape(-1)
            if v.shape[0] != self.n_voxels:
                raise ConfigError(f"preprocessing {name[5:]} has {v.shape[0]} entries, the model has {self.n_voxels} voxels")
            getattr(self, name).copy_(v.to(self.device))
        if not 0.0 <= float(delta) < 0.5:
            raise ConfigError(f"preprocessing delta must be in [0, 0.5), got {delta}")
        self.prep_delta = float(delta)
        if self.config.energy_model == "flow":
            lm = getattr(transform, "layer_mean", None) if transform is not None else None
            if lm is None:
                raise ConfigError("energy_model='flow' needs a fitted LayerShapeTransform (calolib.shapes) as preprocessing")
            self.layer_mean.copy_(torch.as_tensor(np.asarray(lm), dtype=torch.float32))
            self.layer_std.copy_(torch.as_tensor(np.asarray(transform.layer_std), dtype=torch.float32))
            self.layer_offset_mev = float(transform.layer_offset_mev)

    # ------------------------------------------------------------------ helpers
    def _e(self, e_inc) -> torch.Tensor:
        return torch.as_tensor(e_inc, device=self.device).reshape(-1)

    def einc_unit(self, e_inc) -> torch.Tensor:
        """``t (B,)`` in [0, 1] for 1 GeV..1 TeV (the config's range) from ``e_inc`` in MeV."""
        return einc_to_unit(self._e(e_inc), self.config.einc_min, self.config.einc_max)

    def condition_code(self, e_inc) -> torch.Tensor:
        """``(B, n0)`` 0/1 code of ``e_inc`` (MeV) for RBM partition 0 (``(B, 0)`` if not conditioned)."""
        if not self.config.condition_rbm:
            return torch.zeros(self._e(e_inc).shape[0], 0, device=self.device)
        from calolib.codes import encode_energy

        c = self.config
        return encode_energy(self._e(e_inc), c.n_clamped, code=c.condition_code, e_min=c.einc_min, e_max=c.einc_max,
                             device=self.device)

    def layer_cond(self, layer_e) -> torch.Tensor | None:
        """Standardised layer features ``(B, L)`` from layer energies ``(B, L)`` MeV (factorised model), else
        ``None``; the networks of ``energy_model="flow"`` are conditioned on them."""
        if self.config.energy_model != "flow":
            return None
        if layer_e is None:
            raise ConfigError("this QVAE models shapes given the layer energies: pass layer_e (B, L) in MeV "
                              "(the data's for encoding/reconstruction, model.energy_flow.sample(e_inc) to generate)")
        L = torch.as_tensor(layer_e, device=self.device).to(torch.float32)
        if L.ndim != 2 or L.shape[1] != self.layer_mean.shape[0]:
            raise ConfigError(f"layer_e must be (B, {self.layer_mean.shape[0]}) MeV, got {tuple(L.shape)}")
        return (torch.log(L.clamp(min=0) + self.layer_offset_mev) - self.layer_mean) / self.layer_std

    def sharpness(self, beta: float | None = None) -> float:
        """The relaxation parameter: beta for the exponential relaxations, tau = 1/beta for Gumbel
        (``beta=None`` uses the config's ``relax_beta`` / ``gumbel_tau``)."""
        if self.config.relaxation == "gumbel":
            return self.config.gumbel_tau if beta is None else 1.0 / float(beta)
        return self.config.relax_beta if beta is None else float(beta)

    def _check_x(self, x: torch.Tensor) -> torch.Tensor:
        if not isinstance(x, torch.Tensor) or x.ndim != 2 or x.shape[1] != self.n_voxels:
            shape = tuple(x.shape) if hasattr(x, "shape") else type(x).__name__
            raise ConfigError(f"x must be a (B, {self.n_voxels}) preprocessed tensor, got {shape}")
        return x

    def _split(self, x, layer_e):
        """``(x (B, V), layer_e)``: an extended ``x`` from :meth:`prepare` (``(B, V + L)``, the layer energies in
        MeV appended) is split; anything else passes through."""
        if (self.config.energy_model == "flow" and isinstance(x, torch.Tensor) and x.ndim == 2
                and x.shape[1] == self.n_voxels + self.layer_mean.shape[0]):
            return x[:, :self.n_voxels], (x[:, self.n_voxels:] if layer_e is None else layer_e)
        return x, layer_e

    @torch.no_grad()
    def prepare(self, e_inc, showers, *, transform=None) -> torch.Tensor:
        """Showers ``(B, V)`` MeV -> the model's input on its device: the preprocessed ``x (B, V)``, and for the
        factorised model ``[x | layer energies (MeV)]`` ``(B, V + L)``, which :meth:`encode`, :meth:`forward`
        and :meth:`encode_many` split again, so studies can pass one array around whatever the model.
        """
        transform = self.transform if transform is None else transform
        if transform is None:
            raise ConfigError("prepare needs the fitted preprocessing: load the model with load_checkpoint")
        v = np.asarray(showers.detach().cpu() if isinstance(showers, torch.Tensor) else showers)
        e = np.asarray(e_inc.detach().cpu() if isinstance(e_inc, torch.Tensor) else e_inc, dtype=np.float64)
        x = torch.as_tensor(transform.transform(e, v), dtype=torch.float32, device=self.device)
        if self.config.energy_model == "flow":
            L = torch.as_tensor(np.asarray(transform.layer_energies(v)), dtype=torch.float32, device=self.device)
            x = torch.cat([x, L], dim=1)
        return x

    # ------------------------------------------------------------------ the model
    def encode(self, x: torch.Tensor, e_inc, *, layer_e=None, beta: float | None = None,
               generator: torch.Generator | None = None) -> EncoderOutput:
        """Encode ``x (B, V)`` with incident energies ``e_inc (B,)`` MeV (and, for the factorised model, the
        layer energies ``layer_e (B, L)`` MeV, or an extended ``x`` from :meth:`prepare`) into latents."""
        x, layer_e = self._split(x, layer_e)
        x = self._check_x(x)
        t = self.einc_unit(e_inc)
        code = self.condition_code(e_inc).to(torch.float32)
        cond = self.layer_cond(layer_e)
        s = self.sharpness(beta)
        name = self.config.relaxation
        gauss: list[tuple[torch.Tensor, torch.Tensor]] = []

        def _relax(logits):
            if self.config.binary_latents:
                return relax(name, logits, s, generator)
            mu, logvar = logits.float().chunk(2, dim=1)  # one partition (or all free units) at a time
            logvar = logvar.clamp(-12.0, 6.0)
            eps = torch.randn(mu.shape, generator=generator, device=mu.device, dtype=mu.dtype)
            gauss.append((mu, logvar))
            zg = mu + torch.exp(0.5 * logvar) * eps
            return zg, zg.detach()

        logits, zeta, z = self.encoder(x, t, _relax, code, cond)
        mu = logvar = None
        if gauss:
            mu, logvar = torch.cat([g[0] for g in gauss], 1), torch.cat([g[1] for g in gauss], 1)
            logits = mu
        if code.shape[1]:
            logits = torch.cat([(2.0 * code - 1.0) * CLAMPED_LOGIT, logits.to(torch.float32)], dim=1)
            zeta = torch.cat([code, zeta], dim=1)
            z = torch.cat([code, z], dim=1)
        return EncoderOutput(logits, zeta, z, int(code.shape[1]), mu, logvar)

    def decode(self, z: torch.Tensor, e_inc, *, layer_e=None) -> DecoderOutput:
        """Decode latents ``z (B, N)`` (relaxed, 0/1 or Gaussian) given ``e_inc (B,)`` MeV (and ``layer_e``
        ``(B, L)`` MeV for the factorised model)."""
        if z.ndim != 2 or z.shape[1] != self.n_latent:
            raise ConfigError(f"z must be (B, {self.n_latent}), got {tuple(z.shape)}")
        x_hat, hit_logits = self.decoder(z.to(torch.float32), self.einc_unit(e_inc), self.layer_cond(layer_e))
        return DecoderOutput(x_hat, hit_logits)

    def forward(self, x: torch.Tensor, e_inc, *, layer_e=None, beta: float | None = None,
                generator: torch.Generator | None = None) -> ForwardOutput:
        """Encode, then decode the relaxed sample ``zeta``."""
        x, layer_e = self._split(x, layer_e)
        enc = self.encode(x, e_inc, layer_e=layer_e, beta=beta, generator=generator)
        return ForwardOutput(enc, self.decode(enc.zeta, e_inc, layer_e=layer_e))

    def reconstruct(self, dec: DecoderOutput, *, sample_hits: bool = False,
                    generator: torch.Generator | None = None) -> torch.Tensor:
        """``(B, V)`` preprocessed output with hits applied: ``dec.x`` where a voxel is hit, ``empty_value``
        elsewhere.  Hit = ``sigmoid(hit_logits) >= 0.5``, or a Bernoulli draw when ``sample_hits``."""
        if dec.hit_logits is None:
            return dec.x
        if sample_hits:
            p = torch.sigmoid(dec.hit_logits.float())
            hit = torch.rand(p.shape, generator=generator, device=p.device) < p
        else:
            hit = dec.hit_logits >= 0
        return torch.where(hit, dec.x, self.empty_value.to(dec.x.dtype))

    def hit_targets(self, x: torch.Tensor) -> torch.Tensor:
        """True hits of preprocessed showers: ``x > empty_value + hit_tolerance``, bool ``(B, V)``."""
        return x > self.empty_value + self.config.hit_tolerance

    def loss_terms(self, x: torch.Tensor, e_inc, out: ForwardOutput, neg_z: torch.Tensor | None, *,
                   hits: torch.Tensor | None = None, layer_e=None) -> dict[str, torch.Tensor]:
        """The named loss terms ``ae, hits, ent, pos, neg`` (scalars; see :mod:`calolib.models.losses` and,
        for the prior terms, :mod:`calolib.models.priors`), plus ``esum`` when ``config.esum_weight > 0``
        (needs :meth:`set_preprocessing`) and ``flow`` (the layer-energy flow's NLL) for the factorised model.

        Args:
            x: ``(B, V)`` preprocessed target.
            e_inc: ``(B,)`` MeV (code of the Bernoulli prior; the flow's context).
            out: :meth:`forward` output for ``x``.
            neg_z: ``(C, N)`` negative-phase samples of the RBM (persistent chains), or ``None`` (``neg = 0``);
                ignored by the controls, whose ``neg`` is exact.
            hits: optional exact ``(B, V)`` hit targets (default: :meth:`hit_targets`).
            layer_e: ``(B, L)`` MeV layer energies (factorised model: the flow's training target).
        """
        c = self.config
        dec = out.dec
        zero = dec.x.new_zeros(())
        if dec.hit_logits is not None:
            target = self.hit_targets(x) if hits is None else hits.to(torch.bool)
            ae = reconstruction_loss(dec.x, x, target, c.ae_reduction)
            hl = hits_loss(dec.hit_logits, target, c.ae_reduction)
        else:
            ae = reconstruction_loss(dec.x, x, None, c.ae_reduction)
            hl = zero.float()
        terms = {"ae": ae, "hits": hl, **self.prior_terms(out.enc, e_inc, neg_z)}
        if c.esum_weight > 0:
            terms["esum"] = self.esum_term(x, dec)
        if self.energy_flow is not None:
            if layer_e is None:
                raise ConfigError("the factorised model's loss needs the layer energies layer_e (B, L) MeV")
            terms["flow"] = self.energy_flow.nll(e_inc, torch.as_tensor(layer_e, device=self.device))
        return terms

    def prior_terms(self, enc: EncoderOutput, e_inc, neg_z: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """``ent, pos, neg`` of the prior (batch means); ``ent + pos - neg`` is KL(q || p) (up to ln Z for the
        RBM, exactly for the controls): see :mod:`calolib.models.priors`."""
        prior = self.config.prior
        if prior == "gaussian":
            return gaussian_kl_terms(enc.mu, enc.logvar)
        if prior == "bernoulli":
            code = enc.z[:, :enc.n_clamped] if enc.n_clamped else None
            return self.bernoulli_prior.kl_terms(enc.free_logits, code)
        ent = -bernoulli_entropy(enc.free_logits).mean()
        pos = self.rbm.energy(enc.zeta).mean()
        neg = self.rbm.energy(neg_z.detach().to(self.device)).mean() if neg_z is not None else pos.new_zeros(())
        return {"ent": ent, "pos": pos, "neg": neg}

    def esum_term(self, x: torch.Tensor, dec: DecoderOutput) -> torch.Tensor:
        """The energy-sum term (:func:`~calolib.models.losses.energy_sum_loss`) of ``dec`` against ``x``."""
        if self.prep_delta is None:
            raise ConfigError("the esum loss term needs the preprocessing statistics; call "
                              "model.set_preprocessing(transform) with the fitted VoxelTransform")
        c = self.config
        layer = self.voxel_layer if c.esum_mode == "layer" else None
        return energy_sum_loss(dec.x, dec.hit_logits, x, self.prep_mean, self.prep_std, self.prep_delta, layer,
                               n_layers=self.geometry.n_layers, floor=c.esum_floor)

    # ------------------------------------------------------------------ generation
    def sample_prior_decode(self, z: torch.Tensor, e_inc, *, layer_e=None, clamp_condition: bool = True,
                            sample_hits: bool = False, generator: torch.Generator | None = None) -> torch.Tensor:
        """Decode prior samples ``z (B, N)`` to the ``(B, V)`` preprocessed output (hits applied).

        With ``clamp_condition`` partition 0 is overwritten by the code of ``e_inc`` (a no-op when the
        sampler already clamped it).
        """
        z = self._with_code(z, e_inc) if clamp_condition else z.to(self.device, torch.float32)
        return self.reconstruct(self.decode(z, e_inc, layer_e=layer_e), sample_hits=sample_hits, generator=generator)

    def _with_code(self, z: torch.Tensor, e_inc) -> torch.Tensor:
        z = z.to(self.device, torch.float32)
        if self.config.condition_rbm:
            z = torch.cat([self.condition_code(e_inc), z[:, self.config.n_clamped:]], dim=1)
        return z

    @torch.no_grad()
    def sample_latents(self, e_inc, *, sampler=None, seed: int = 0) -> torch.Tensor:
        """Prior samples ``(B, N)`` for incident energies ``e_inc (B,)`` MeV, the code bits of E_inc first.

        The RBM prior is sampled by ``sampler`` (a :class:`calolib.samplers.Sampler`; default block Gibbs,
        100 sweeps) with partition 0 clamped; the controls are sampled exactly (``sampler`` must be ``None``).
        """
        e = self._e(e_inc)
        b = int(e.shape[0])
        code = self.condition_code(e)
        if self.has_rbm:
            if sampler is None:
                from calolib.samplers import get_sampler

                sampler = get_sampler("gibbs", n_steps=100)
            samples = sampler.sample(self.rbm, b, conditioning=code if code.shape[1] else None, seed=int(seed))
            z = samples.z if samples.z.shape[0] == b else samples.expand()
            if z.shape[0] != b:
                from calolib.errors import SamplerError

                raise SamplerError(f"sampler {sampler.name!r} returned {z.shape[0]} samples for a batch of {b}")
            return self._with_code(z, e)
        if sampler is not None:
            raise ConfigError(f"the {self.config.prior} prior is sampled exactly; samplers (Gibbs, SA, QPU, ...) "
                              "apply to the RBM prior only")
        gen = torch.Generator(device=self.device).manual_seed(int(seed))
        if self.config.prior == "bernoulli":
            free = self.bernoulli_prior.sample(code if code.shape[1] else None, b, generator=gen)
        else:
            free = self.gaussian_prior.sample(b, device=self.device, generator=gen)
        return torch.cat([code.to(torch.float32), free.to(self.device)], dim=1)

    def _noisy(self, dec: DecoderOutput, scale: float, generator) -> DecoderOutput:
        if not scale:
            return dec
        eps = torch.randn(dec.x.shape, generator=generator, device=dec.x.device, dtype=dec.x.dtype)
        return DecoderOutput(dec.x + float(scale) * self.voxel_sigma.to(dec.x.dtype) * eps, dec.hit_logits)

    @torch.no_grad()
    def decode_showers(self, z: torch.Tensor, e_inc, *, layer_e=None, transform=None, sample_hits: bool = True,
                       generator: torch.Generator | None = None, flow_seed: int | None = None,
                       voxel_noise: float = 0.0) -> torch.Tensor:
        """Latents ``z (B, N)`` -> showers ``(B, V)`` in MeV (float32, on the model's device), readout threshold
        applied (no sub-threshold "hits" are written).

        Factorised model: the layer energies are ``layer_e`` (MeV) when given (e.g. the true ones, for a
        reconstruction), else drawn from the energy flow (``flow_seed``); the decoded shapes are spread over the
        hit voxels with exactly those layer energies (:meth:`calolib.shapes.LayerShapeTransform.inverse`).
        Otherwise the voxel transform is inverted with E_inc.  ``voxel_noise > 0`` draws every voxel's
        value from the decoder's Gaussian likelihood, ``x_hat + voxel_noise * sigma * N(0, 1)``, with the
        per-voxel residual ``sigma`` measured on the validation split (``model.voxel_sigma``); 0 decodes the mean.
        """
        transform = self.transform if transform is None else transform
        if transform is None:
            raise ConfigError("decode_showers needs the fitted preprocessing: load the model with load_checkpoint "
                              "or call model.set_preprocessing(transform)")
        e = self._e(e_inc).to(torch.float32)
        z = self._with_code(z, e)
        if self.energy_flow is not None:
            if layer_e is None:
                layer_e = self.energy_flow.sample(e, seed=flow_seed)
            layer_e = torch.as_tensor(layer_e, device=self.device).to(torch.float32)
            dec = self._noisy(self.decode(z, e, layer_e=layer_e), voxel_noise, generator)
            if dec.hit_logits is None:
                hits = None
            elif sample_hits:
                p = torch.sigmoid(dec.hit_logits.float())
                hits = torch.rand(p.shape, generator=generator, device=p.device) < p
            else:
                hits = dec.hit_logits >= 0
            return transform.inverse(layer_e, dec.x.float(), hits=hits).to(torch.float32)
        x = self.reconstruct(self._noisy(self.decode(z, e), voxel_noise, generator), sample_hits=sample_hits,
                             generator=generator)
        v = transform.inverse(e.to(torch.float64), x.float()).to(torch.float32)
        thr = self.config.readout_threshold_mev
        return torch.where(v >= thr, v, torch.zeros_like(v)) if thr > 0 else v

    def generate(self, e_inc, *, sampler="gibbs", transform=None, **kw):
        """Generate one shower per incident energy ``e_inc (N,)`` MeV -> :class:`~calolib.showers.Showers`
        (delegates to :func:`calolib.generation.generate`; ``transform`` defaults to ``self.transform``,
        which :func:`calolib.training.load_checkpoint` sets).

        Example:
            >>> import numpy as np
            >>> from calolib.preprocessing import VoxelTransform
            >>> m = QVAE(ModelConfig(rbm_sizes=(4, 4, 4, 4), topology="full", encoder_hidden=(8,), decoder_hidden=(8,)))
            >>> m.set_preprocessing(VoxelTransform().fit(np.full(2, 1e4), np.random.default_rng(0).random((2, 6480))))
            >>> m.generate(np.array([1e3, 1e5]), n_gibbs_steps=2, device="cpu").showers.shape
            (2, 6480)
        """
        from calolib.generation import generate

        transform = self.transform if transform is None else transform
        if transform is None:
            raise ConfigError("QVAE.generate needs the fitted VoxelTransform: pass transform=..., call "
                              "model.set_preprocessing(transform), or load the model with load_checkpoint")
        return generate(self, transform, e_inc, sampler=sampler, **kw)

    @torch.no_grad()
    def encode_many(self, x: torch.Tensor, e_inc, n_repeats: int, generator: torch.Generator | None = None, *,
                    beta: float | None = None, layer_e=None) -> torch.Tensor:
        """``n_repeats`` hard encodings of each shower: ``(B, n_repeats, N)`` 0/1 (latent-clustering study)."""
        x, layer_e = self._split(x, layer_e)
        x = self._check_x(x)
        e = self._e(e_inc)
        xr = x.repeat_interleave(n_repeats, dim=0)
        er = e.repeat_interleave(n_repeats, dim=0)
        lr = None if layer_e is None else torch.as_tensor(layer_e, device=self.device).repeat_interleave(n_repeats, dim=0)
        z = self.encode(xr, er, beta=beta, generator=generator, layer_e=lr).z
        return z.reshape(x.shape[0], n_repeats, -1)
