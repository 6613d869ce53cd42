"""The layer-energy model: a conditional normalising flow for ``p(E_0, ..., E_{L-1} | E_inc)``.

The best CaloChallenge models separate *how much* energy each layer gets from *how it is spread* within the
layer (CaloFlow's flow I and flow II).  With ``ModelConfig.energy_model = "flow"`` the QVAE does the same:
this flow generates the L layer energies (MeV) given E_inc, and the VAE (with its RBM / Bernoulli / Gaussian
prior) generates the normalised shape of every layer, conditioned on those energies.  The energy response,
the longitudinal profile and the layer-energy correlations are then the flow's job.

Features (CaloFlow-style stick breaking, all differentiable and invertible):

* dequantisation: ``E'_l = E_l + n_l``, ``n_l ~ U(0, d thr)`` (``thr``: the readout threshold, ``d`` the
  ``dequant`` fraction, 1e-3 by default; a non-empty layer holds at least one voxel >= thr, so empty layers
  form their own narrow cluster far below the non-empty ones and the flow can reproduce how often deep layers
  are empty — with ``d = 1`` the two clusters touch and deep layers come out empty far too rarely);
* ``u_0 = ln(E'_tot / E_inc)``;  ``u_{l+1} = logit(E'_l / sum_{k >= l} E'_k)`` for ``l = 0 .. L-2``;
* standardised with statistics fitted on the training split (buffers, saved with the model).

The inverse gives ``E_l`` back; at generation layers below ``thr`` are empty and the mean dequantisation
noise is removed from the others.  The density is a masked autoregressive flow (MAF, Papamakarios et al.
2017) from `zuko <https://github.com/probabilists/zuko>`_ with the log-scaled E_inc as context, by default
in its two-pass (coupling) form, which samples in one pass per transform (the fully autoregressive form
needs L passes); zuko is imported when the flow is built, so ``import calolib.models`` does not need it.

Example:
    >>> import torch
    >>> f = LayerEnergyFlow(3, threshold_mev=0.01, transforms=1, hidden=(8,))
    >>> e = torch.tensor([1e3, 1e5]); L = torch.tensor([[100.0, 500.0, 0.0], [2e3, 6e4, 3e3]])
    >>> _ = f.fit_stats(e, L, seed=0)
    >>> u = f.features(e, L, generator=torch.Generator().manual_seed(0))
    >>> back = f.energies(e, u)
    >>> bool(torch.allclose(back[:, :2], L[:, :2].double(), rtol=1e-5)), float(back[0, 2])
    (True, 0.0)
"""
from __future__ import annotations

import math

import torch
from torch import nn

from calolib.errors import ConfigError

__all__ = ["LayerEnergyFlow"]

_ALPHA = 1e-6  # squeeze of the stick-breaking fractions before the logit


def __dir__():
    return __all__


def _logit(p: torch.Tensor) -> torch.Tensor:
    p = _ALPHA + (1.0 - 2.0 * _ALPHA) * p
    return torch.log(p) - torch.log1p(-p)


def _expit(u: torch.Tensor) -> torch.Tensor:
    return ((torch.sigmoid(u) - _ALPHA) / (1.0 - 2.0 * _ALPHA)).clamp(0.0, 1.0)


class LayerEnergyFlow(nn.Module):
    """Conditional MAF over the ``n_layers`` layer energies given E_inc (see the module docstring).

    Args:
        n_layers: L, the number of calorimeter layers.
        threshold_mev: readout threshold (MeV) used for dequantisation and for empty layers.
        einc_min, einc_max: MeV range mapped to the context ``2 t - 1``, ``t = ln(E/einc_min)/ln(einc_max/einc_min)``.
        transforms: number of autoregressive transforms; hidden: hidden widths of each MADE.
        coupling: two-pass (coupling) transforms, fast to sample; ``False``: fully autoregressive.
        dequant: width of the dequantisation noise as a fraction of the threshold.
        seed: initialisation seed (the global RNG is untouched).
    """

    def __init__(self, n_layers: int, *, threshold_mev: float, einc_min: float = 1e3, einc_max: float = 1e6,
                 transforms: int = 5, hidden: tuple[int, ...] = (128, 128), coupling: bool = True,
                 dequant: float = 1e-3, seed: int = 0):
        super().__init__()
        if n_layers < 2:
            raise ConfigError(f"the layer-energy flow needs at least 2 layers, got {n_layers}")
        if not threshold_mev > 0:
            raise ConfigError(f"the layer-energy flow needs a readout threshold > 0 MeV, got {threshold_mev}")
        try:
            import zuko
        except ImportError:  # pragma: no cover - zuko is a dependency
            raise ConfigError("energy_model='flow' needs the zuko package: pip install zuko") from None
        if not 0 < dequant <= 1:
            raise ConfigError(f"the layer-energy flow's dequant must be in (0, 1], got {dequant}")
        self.n_layers, self.thr, self.dequant = int(n_layers), float(threshold_mev), float(dequant)
        self.einc_min, self.einc_max = float(einc_min), float(einc_max)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(seed))
            self.flow = zuko.flows.MAF(self.n_layers, 1, transforms=int(transforms), hidden_features=list(hidden),
                                       passes=2 if coupling else None)
        self.register_buffer("feat_mean", torch.zeros(self.n_layers))
        self.register_buffer("feat_std", torch.ones(self.n_layers))
        # support of the training features (standardised): samples are clipped to it, so the flow's affine
        # tails cannot produce a layer holding half of E_inc where the data never put more than a few per cent
        self.register_buffer("feat_lo", torch.full((self.n_layers,), -1e3))
        self.register_buffer("feat_hi", torch.full((self.n_layers,), 1e3))
        self.register_buffer("fitted", torch.zeros((), dtype=torch.bool))

    # ------------------------------------------------------------------ features
    def context(self, e_inc: torch.Tensor) -> torch.Tensor:
        """``(B, 1)`` context ``2 t - 1`` of E_inc (MeV), ``t`` the log-scaled position in the range."""
        e = torch.as_tensor(e_inc, device=self.feat_mean.device).reshape(-1, 1).to(torch.float32)
        t = torch.log(e / self.einc_min) / math.log(self.einc_max / self.einc_min)
        return 2.0 * t - 1.0

    def _raw(self, e_inc: torch.Tensor, layer_e: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        e = torch.as_tensor(e_inc, device=self.feat_mean.device).reshape(-1, 1).to(torch.float64)
        L = torch.as_tensor(layer_e, device=self.feat_mean.device).to(torch.float64)
        if L.ndim != 2 or L.shape[1] != self.n_layers or L.shape[0] != e.shape[0]:
            raise ConfigError(f"layer energies must be ({e.shape[0]}, {self.n_layers}) MeV, got {tuple(L.shape)}")
        noise = torch.rand(L.shape, generator=generator, device=L.device, dtype=torch.float64) * (self.dequant * self.thr)
        Ln = L.clamp(min=0.0) + noise
        rem = Ln.flip(1).cumsum(1).flip(1)  # sum_{k >= l}
        u0 = torch.log(rem[:, :1] / e)
        return torch.cat([u0, _logit(Ln[:, :-1] / rem[:, :-1])], dim=1)

    def features(self, e_inc, layer_e, *, generator: torch.Generator | None = None) -> torch.Tensor:
        """Standardised flow features ``(B, L)`` float32 of layer energies ``(B, L)`` MeV (dequantised)."""
        raw = self._raw(e_inc, layer_e, generator)
        return ((raw - self.feat_mean.double()) / self.feat_std.double()).to(torch.float32)

    def energies(self, e_inc, u: torch.Tensor) -> torch.Tensor:
        """Layer energies ``(B, L)`` MeV from standardised features ``u (B, L)``: the inverse of
        :meth:`features` without the noise (``u`` clipped to the training features' range; layers below the
        threshold are empty; the others lose the mean dequantisation noise and stay at least ``thr``)."""
        e = torch.as_tensor(e_inc, device=u.device).reshape(-1, 1).to(torch.float64)
        u = torch.minimum(torch.maximum(u.to(torch.float64), self.feat_lo.double()), self.feat_hi.double())
        raw = u * self.feat_std.double() + self.feat_mean.double()
        rem = torch.exp(raw[:, :1].clamp(max=5.0)) * e  # (B, 1) energy left for layers l..L-1
        frac = _expit(raw[:, 1:])
        out = []
        for l in range(self.n_layers - 1):
            el = rem[:, 0] * frac[:, l]
            out.append(el)
            rem = rem - el[:, None]
        out.append(rem[:, 0])
        L = torch.stack(out, dim=1)
        return torch.where(L >= self.thr, (L - 0.5 * self.dequant * self.thr).clamp(min=self.thr), torch.zeros_like(L))

    @torch.no_grad()
    def fit_stats(self, e_inc, layer_e, *, seed: int = 0) -> "LayerEnergyFlow":
        """Fit the feature standardisation on training data (``(N,)`` MeV, ``(N, L)`` MeV); returns ``self``."""
        gen = torch.Generator(device=self.feat_mean.device).manual_seed(int(seed))
        raw = self._raw(e_inc, layer_e, gen)
        if raw.shape[0] < 2:
            raise ConfigError("the layer-energy flow needs at least 2 training events")
        self.feat_mean.copy_(raw.mean(0).to(self.feat_mean.dtype))
        self.feat_std.copy_(raw.std(0).clamp(min=1e-3).to(self.feat_std.dtype))
        u = (raw - raw.mean(0)) / raw.std(0).clamp(min=1e-3)
        self.feat_lo.copy_(u.min(0).values.to(self.feat_lo.dtype))
        self.feat_hi.copy_(u.max(0).values.to(self.feat_hi.dtype))
        self.fitted.fill_(True)
        return self

    # ------------------------------------------------------------------ density and sampling
    def nll(self, e_inc, layer_e, *, generator: torch.Generator | None = None) -> torch.Tensor:
        """Mean negative log-density (nats per event, in feature space) of a batch: the training loss."""
        u = self.features(e_inc, layer_e, generator=generator)
        return -self.flow(self.context(e_inc)).log_prob(u).mean()

    @torch.no_grad()
    def sample(self, e_inc, *, seed: int | None = None) -> torch.Tensor:
        """Layer energies ``(B, L)`` MeV for incident energies ``e_inc (B,)`` MeV.

        zuko draws from the global torch RNG; with ``seed`` it is forked and seeded so the call is
        reproducible and leaves the global stream untouched.
        """
        c = self.context(e_inc)
        dev = c.device
        if seed is None:
            u = self.flow(c).sample()
        else:
            with torch.random.fork_rng(devices=[dev] if dev.type == "cuda" else []):
                torch.manual_seed(int(seed))
                u = self.flow(c).sample()
        return self.energies(e_inc, u).to(torch.float32)
