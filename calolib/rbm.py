"""The 4-partite restricted Boltzmann machine used as the QVAE's latent prior.

Units ``z`` in {0, 1}^N are split into four partitions of sizes (n0, n1, n2, n3) (flat order: partition
0 first).  Only units in different partitions interact, through coupling blocks ``W_pq`` masked by a
topology (:mod:`calolib.topology`):

    E(z) = -sum_p a_p . z_p - sum_{p<q} z_p^T (W_pq * M_pq) z_q,        p(z) = exp(-E(z)) / Z.

Given the other three partitions, the units of one partition are independent with
``P(z_i = 1 | rest) = sigmoid(beta * (a_i + sum_j W_ij z_j))`` (:meth:`RBM.local_fields`), which is what
block Gibbs sampling exploits.  Partition 0 is the conditioning partition: the incident energy is encoded
into its bits (:meth:`RBM.encode_condition`, codes in :mod:`calolib.codes`) and clamped while sampling.

Masks are buffers (saved in the ``state_dict``) and are applied in every use, so gradients of masked-out
couplings are exactly zero, and the masked entries of the parameters themselves are kept at 0 (so weight
decay cannot move them).  ``dimod`` is imported only by :meth:`RBM.to_bqm`; ``dwave.graphs`` only to build
annealer masks (a model whose masks come from a ``state_dict`` needs neither).

Example:
    >>> rbm = RBM((2, 2, 2, 2), weight_std=0.5, seed=1)
    >>> z = torch.ones(1, 8)
    >>> bool(torch.isclose(rbm.energy(z), -rbm.weight_matrix().sum() / 2 - rbm.bias_vector().sum()))
    True
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
import torch
from torch import nn

from calolib.codes import encode_energy
from calolib.errors import ConfigError
from calolib.topology import PAIRS, TopologyMasks, _check_sizes, four_partite_mask

__all__ = ["RBMConfig", "RBM"]


def __dir__():
    return __all__


@dataclass(frozen=True)
class RBMConfig:
    """Everything needed to rebuild an :class:`RBM` (``asdict``-able, JSON-able)."""

    sizes: tuple = (8, 8, 8, 8)  # partition sizes (n0 = conditioning partition)
    topology: str = "full"  # full | chimera | pegasus | zephyr
    topology_kwargs: dict = field(default_factory=dict)  # e.g. {"m": 6, "t": 4} for zephyr
    weight_std: float = 0.01  # couplings ~ N(0, weight_std^2), then masked
    bias_std: float = 0.0  # biases ~ N(0, bias_std^2) (0: zero biases)
    seed: int = 0  # seed of the initialisation

    def to_dict(self) -> dict:
        """JSON-able dict (sizes as a list)."""
        d = asdict(self)
        d["sizes"] = list(self.sizes)
        return d


def _key(p: int, q: int) -> str:
    return f"{p}{q}"


class RBM(nn.Module):
    """4-partite RBM with masked couplings (see the module docstring for the energy).

    Args:
        sizes: partition sizes (n0, n1, n2, n3).
        topology: ``"full"``, ``"chimera"``, ``"pegasus"`` or ``"zephyr"``.
        weight_std: standard deviation of the initial couplings.
        bias_std: standard deviation of the initial biases (0 gives zero biases).
        seed: seed of the initialisation (a private CPU generator; global RNG untouched).
        topology_kwargs: passed to :func:`calolib.topology.four_partite_mask` (e.g. ``m``, ``t``).
        masks: prebuilt :class:`TopologyMasks` (skips building them).
    """

    def __init__(
        self,
        sizes=(8, 8, 8, 8),
        topology: str = "full",
        weight_std: float = 0.01,
        bias_std: float = 0.0,
        seed: int = 0,
        *,
        topology_kwargs: dict | None = None,
        masks: TopologyMasks | None = None,
    ) -> None:
        super().__init__()
        sizes = _check_sizes(sizes)
        if not (weight_std >= 0 and bias_std >= 0):
            raise ConfigError(f"weight_std and bias_std must be >= 0, got {weight_std}, {bias_std}")
        self._config = RBMConfig(sizes, str(topology).lower(), dict(topology_kwargs or {}), float(weight_std), float(bias_std), int(seed))
        self.sizes: tuple[int, ...] = sizes
        self.n_units: int = int(sum(sizes))
        self.offsets: tuple[int, ...] = tuple(int(o) for o in np.concatenate([[0], np.cumsum(sizes)[:-1]]))
        self.pairs: list[tuple[int, int]] = list(PAIRS)
        self._masks_pending = False
        if masks is None:
            try:
                masks = four_partite_mask(sizes, self._config.topology, **self._config.topology_kwargs)
            except ImportError:  # no dwave.graphs: masks must come from a state_dict
                self._masks_pending = True
                masks = TopologyMasks(
                    sizes, self._config.topology, {pq: np.zeros((sizes[pq[0]], sizes[pq[1]]), bool) for pq in PAIRS},
                    labels=None if self._config.topology == "full" else tuple((-1,) * n for n in sizes),
                )
        elif tuple(masks.sizes) != sizes:
            raise ConfigError(f"masks are for sizes {masks.sizes}, not {sizes}")
        self._graph = (masks.graph, dict(masks.params))
        gen = torch.Generator().manual_seed(int(seed))
        self.biases = nn.ParameterList([nn.Parameter(torch.randn(n, generator=gen) * bias_std) for n in sizes])
        self.weights = nn.ParameterDict()
        for p, q in PAIRS:
            m = torch.as_tensor(np.array(masks.masks[(p, q)], dtype=bool))
            self.register_buffer(f"mask_{_key(p, q)}", m)
            self.weights[_key(p, q)] = nn.Parameter(torch.randn(sizes[p], sizes[q], generator=gen) * weight_std * m)
        if masks.labels is not None:
            for p, lab in enumerate(masks.labels):
                self.register_buffer(f"labels_{p}", torch.as_tensor(np.asarray(lab, dtype=np.int64)))
        self.register_load_state_dict_post_hook(_after_load)

    # ----------------------------------------------------------------------------- structure
    @property
    def config(self) -> RBMConfig:
        """The :class:`RBMConfig` this RBM was built from."""
        return self._config

    @classmethod
    def from_config(cls, cfg: RBMConfig | dict, state_dict: dict | None = None) -> "RBM":
        """Rebuild from a config (or its dict); with ``state_dict`` the masks come from it (no dwave.graphs).

        Example:
            >>> a = RBM((2, 3, 2, 3), seed=4); b = RBM.from_config(a.config.to_dict(), a.state_dict())
            >>> bool(torch.equal(a.weight_matrix(), b.weight_matrix()))
            True
        """
        if isinstance(cfg, dict):
            unknown = set(cfg) - set(RBMConfig.__dataclass_fields__)
            if unknown:
                raise ConfigError(f"unknown RBM config keys {sorted(unknown)}; valid: {sorted(RBMConfig.__dataclass_fields__)}")
            cfg = RBMConfig(**{**cfg, "sizes": tuple(cfg.get("sizes", RBMConfig.sizes))})
        masks = None
        if state_dict is not None and all(f"mask_{_key(p, q)}" in state_dict for p, q in PAIRS):
            sizes = tuple(int(s) for s in cfg.sizes)
            labels = None
            if all(f"labels_{p}" in state_dict for p in range(4)):
                labels = tuple(tuple(int(v) for v in state_dict[f"labels_{p}"].tolist()) for p in range(4))
            mk = {(p, q): state_dict[f"mask_{_key(p, q)}"].cpu().numpy().astype(bool) for p, q in PAIRS}
            masks = TopologyMasks(sizes, cfg.topology, mk, labels=labels, graph="from-state-dict")
        rbm = cls(cfg.sizes, cfg.topology, cfg.weight_std, cfg.bias_std, cfg.seed, topology_kwargs=cfg.topology_kwargs, masks=masks)
        if state_dict is not None:
            rbm.load_state_dict(state_dict)
        return rbm

    def mask(self, p: int, q: int) -> torch.Tensor:
        """Boolean mask (n_p, n_q) of allowed couplings between partitions p and q."""
        if p > q:
            return self.mask(q, p).T
        self._check_masks()
        return getattr(self, f"mask_{_key(p, q)}")

    def topology_masks(self) -> TopologyMasks:
        """The masks as a :class:`TopologyMasks` (for edge counts, density, degrees).

        Example:
            >>> RBM((2, 2, 2, 2)).topology_masks().n_edges
            24
        """
        labels = None if self.qubit_labels is None else tuple(
            tuple(getattr(self, f"labels_{p}").tolist()) for p in range(4)
        )
        mk = {(p, q): self.mask(p, q).cpu().numpy() for p, q in PAIRS}
        return TopologyMasks(self.sizes, self._config.topology, mk, labels=labels, graph=self._graph[0], params=self._graph[1])

    def sparse_pattern(self, p: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Allowed couplings of partition p's units, row-major: ``(rows (nnz,), cols (nnz,))`` int64.

        ``rows`` index units within partition p, ``cols`` flat unit indices (other partitions).  Cached
        per device (the Gibbs sampler builds its sparse operators from it); refreshed on ``load_state_dict``.

        Example:
            >>> r, c = RBM((1, 1, 1, 1)).sparse_pattern(1)
            >>> r.tolist(), c.tolist()
            ([0, 0, 0], [0, 2, 3])
        """
        key = (p, str(self.device))
        cache = self.__dict__.setdefault("_pattern_cache", {})
        if key not in cache:
            blocks = [self.mask(p, q) if q != p else torch.zeros(self.sizes[p], self.sizes[p], dtype=torch.bool, device=self.device) for q in range(4)]
            rows, cols = torch.nonzero(torch.cat(blocks, dim=1), as_tuple=True)  # row-major order
            cache[key] = (rows, cols)
        return cache[key]

    @property
    def n_parameters(self) -> int:
        """Free parameters: all biases plus the allowed couplings."""
        return self.n_units + int(sum(int(self.mask(p, q).sum()) for p, q in PAIRS))

    @property
    def qubit_labels(self) -> list[int] | None:
        """Hardware qubit label of each unit (flat order) for annealer topologies, else ``None``."""
        if not hasattr(self, "labels_0"):
            return None
        return [int(v) for p in range(4) for v in getattr(self, f"labels_{p}").tolist()]

    def clamp_mask(self, partitions=(0,)) -> torch.Tensor:
        """Boolean (N,) tensor, True on the units of the given (clamped) partitions.

        Example:
            >>> RBM((1, 2, 1, 1)).clamp_mask().tolist()
            [True, False, False, False, False]
        """
        out = torch.zeros(self.n_units, dtype=torch.bool, device=self.biases[0].device)
        for p in partitions:
            out[self.offsets[p] : self.offsets[p] + self.sizes[p]] = True
        return out

    @property
    def device(self) -> torch.device:
        """Device of the parameters."""
        return self.biases[0].device

    # ----------------------------------------------------------------------------- parameters
    def bias_vector(self) -> torch.Tensor:
        """All biases a, shape (N,)."""
        return torch.cat(list(self.biases))

    def coupling(self, p: int, q: int) -> torch.Tensor:
        """Masked coupling block W_pq, shape (n_p, n_q) (``coupling(q, p)`` is its transpose)."""
        if p == q or not (0 <= p < 4 and 0 <= q < 4):
            raise ConfigError(f"no coupling block ({p}, {q}); partitions are 0..3 and p != q")
        if p > q:
            return self.coupling(q, p).T
        return self.weights[_key(p, q)] * self.mask(p, q)

    def weight_matrix(self) -> torch.Tensor:
        """Symmetric masked (N, N) coupling matrix with zero diagonal blocks."""
        w = self.biases[0].new_zeros(self.n_units, self.n_units)
        for p, q in PAIRS:
            sp, sq = self._slice(p), self._slice(q)
            c = self.coupling(p, q)
            w[sp, sq] = c
            w[sq, sp] = c.T
        return w

    @torch.no_grad()
    def project_(self) -> "RBM":
        """Set the masked-out entries of the weight parameters to 0 in place (after external edits)."""
        for p, q in PAIRS:
            self.weights[_key(p, q)].mul_(self.mask(p, q))
        return self

    # ----------------------------------------------------------------------------- energies
    def _slice(self, p: int) -> slice:
        return slice(self.offsets[p], self.offsets[p] + self.sizes[p])

    def _check_z(self, z: torch.Tensor) -> torch.Tensor:
        if not isinstance(z, torch.Tensor) or z.ndim != 2 or z.shape[1] != self.n_units:
            shape = tuple(z.shape) if hasattr(z, "shape") else type(z).__name__
            raise ConfigError(f"z must be a (B, {self.n_units}) tensor of 0/1 units, got {shape}")
        return z.to(self.biases[0].dtype)

    def split(self, z: torch.Tensor) -> list[torch.Tensor]:
        """Split (B, N) into the four partitions [(B, n0), ..., (B, n3)] (views)."""
        return list(torch.split(self._check_z(z), list(self.sizes), dim=1))

    def energy(self, z: torch.Tensor) -> torch.Tensor:
        """E(z) = -a.z - sum_{p<q} z_p W_pq z_q for z (B, N) 0/1; returns (B,).

        Example:
            >>> rbm = RBM((1, 1, 1, 1), bias_std=1.0, seed=0)
            >>> bool(torch.isclose(rbm.energy(torch.tensor([[1., 0, 0, 0]]))[0], -rbm.biases[0][0]))
            True
        """
        parts = self.split(z)
        e = -(self._check_z(z) @ self.bias_vector())
        for p, q in PAIRS:
            e = e - ((parts[p] @ self.coupling(p, q)) * parts[q]).sum(dim=1)
        return e

    def local_fields(self, z: torch.Tensor, p: int) -> torch.Tensor:
        """a_p + sum_{q != p} W_pq z_q, shape (B, n_p); P(z_p = 1 | rest) = sigmoid(beta * field)."""
        parts = self.split(z)
        f = self.biases[p].expand(parts[0].shape[0], -1)
        for q in range(4):
            if q != p:
                f = f + parts[q] @ self.coupling(q, p)
        return f

    def encode_condition(self, e_inc, *, code: str = "gray", e_min: float = 1e3, e_max: float = 1e6) -> torch.Tensor:
        """Incident energies (B,) MeV -> (B, n0) 0/1 float tensor for partition 0 (on the RBM's device).

        Example:
            >>> RBM((3, 2, 2, 2)).encode_condition(torch.tensor([1e3, 1e6])).tolist()
            [[0.0, 0.0, 0.0], [1.0, 0.0, 0.0]]
        """
        return encode_energy(e_inc, self.sizes[0], code=code, e_min=e_min, e_max=e_max, device=self.device)

    # ----------------------------------------------------------------------------- dimod bridge
    def _edges_numpy(self):
        """(rows, cols, w) of all allowed couplings in flat labels (float64), rows < cols."""
        rows, cols, data = [], [], []
        with torch.no_grad():
            for p, q in PAIRS:
                i, j = np.nonzero(self.mask(p, q).cpu().numpy())
                w = self.coupling(p, q).detach().double().cpu().numpy()[i, j]
                rows.append(i + self.offsets[p])
                cols.append(j + self.offsets[q])
                data.append(w)
        return np.concatenate(rows), np.concatenate(cols), np.concatenate(data)

    def to_bqm(self):
        """Binary quadratic model (dimod, BINARY, labels 0..N-1) with ``bqm.energies(z) == energy(z)``.

        Every allowed coupling is an interaction (even if its weight is 0), so the BQM's graph is the
        topology's graph.
        """
        import dimod  # lazy: the torch path must import without the Ocean SDK

        r, c, w = self._edges_numpy()
        a = self.bias_vector().detach().double().cpu().numpy()
        return dimod.BinaryQuadraticModel.from_numpy_vectors(-a, (r, c, -w), 0.0, dimod.BINARY)

    def to_ising(self) -> tuple[dict, dict, float]:
        """Spin form (s = 2z - 1): ``(h, J, offset)`` with E = sum h_i s_i + sum J_ij s_i s_j + offset.

        Example:
            >>> h, J, off = RBM((1, 1, 1, 1), weight_std=1.0, bias_std=1.0, seed=0).to_ising()
            >>> z = torch.tensor([[1., 0., 1., 1.]]); s = (2 * z - 1)[0].tolist()
            >>> e = sum(h[i] * s[i] for i in h) + sum(v * s[i] * s[j] for (i, j), v in J.items()) + off
            >>> bool(np.isclose(e, RBM((1, 1, 1, 1), weight_std=1.0, bias_std=1.0, seed=0).energy(z).item()))
            True
        """
        r, c, w = self._edges_numpy()
        a = self.bias_vector().detach().double().cpu().numpy()
        # -a z = -a (s+1)/2;  -w z_i z_j = -w (s_i s_j + s_i + s_j + 1)/4
        h = -a / 2.0
        np.add.at(h, r, -w / 4.0)
        np.add.at(h, c, -w / 4.0)
        offset = float(-a.sum() / 2.0 - w.sum() / 4.0)
        hd = {int(i): float(v) for i, v in enumerate(h)}
        jd = {(int(i), int(j)): float(-v / 4.0) for i, j, v in zip(r, c, w)}
        return hd, jd, offset

    # ----------------------------------------------------------------------------- misc
    def _check_masks(self) -> None:
        if self._masks_pending:
            raise ConfigError(
                f"RBM masks for topology {self._config.topology!r} need dwave-graphs to build; "
                "install it or load a state_dict that holds the masks"
            )

    def extra_repr(self) -> str:
        return f"sizes={self.sizes}, topology={self._config.topology!r}, graph={self._graph[0]!r}"


def _after_load(module: RBM, incompatible) -> None:
    """After ``load_state_dict`` the masks are known; keep masked-out weights at exactly 0."""
    module.__dict__.pop("_pattern_cache", None)
    if not any(k.rsplit(".", 1)[-1].startswith("mask_") for k in incompatible.missing_keys):
        module._masks_pending = False
        module.project_()
