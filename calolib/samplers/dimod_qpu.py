"""Structured (QPU-shaped) samplers: ``"mock-qpu"`` (``dwave.system.testing.MockDWaveSampler`` on the RBM's
own hardware graph, the QPU stand-in of all tests) and ``"qpu"`` (``dwave.system.DWaveSampler``, only with
a configured token).  The RBM's ``qubit_labels`` are the embedding (identity map, checked against the
solver's node and edge lists); ``embedding="minorminer"`` embeds a ``"full"`` RBM with chains.
h and J are scaled into the solver's ``h_range``/``j_range`` (see :mod:`calolib.samplers.dimod_bridge`).

Example:
    >>> from calolib.rbm import RBM
    >>> s = MockQPUSampler(num_sweeps=20).sample(RBM((2, 2, 2, 2), "zephyr", weight_std=1.0), 3, seed=0)
    >>> s.info["embedding"], s.info["beta_nominal"] == 4.0 / s.info["scale"]
    ('direct', True)
"""
from __future__ import annotations

import os

from calolib.errors import QPUUnavailableError, SamplerError
from calolib.samplers.base import register_sampler
from calolib.samplers.dimod_base import DimodSampler

__all__ = ["MockQPUSampler", "QPUSampler", "qpu_token_configured"]


def __dir__():
    return __all__


class _StructuredSampler(DimodSampler):
    """Shared by the mock QPU and the QPU: qubit mapping, graph checks, range scaling."""

    structured = True

    def _to_device(self, rbm, bqm, child, opts):
        embedding = opts.get("embedding", "direct")
        if embedding == "minorminer":
            return self._embed(rbm, bqm, child)
        if embedding != "direct":
            raise SamplerError(f"unknown embedding {embedding!r}; use 'direct' or 'minorminer'")
        labels = rbm.qubit_labels
        if labels is None:
            raise SamplerError(
                f"the RBM's topology {rbm.config.topology!r} has no qubit labels; build it with "
                "topology='zephyr'/'pegasus'/'chimera' or pass embedding='minorminer'"
            )
        mapping = {v: int(labels[v]) for v in bqm.variables}
        nodes, edges = self._graph(child)
        missing = [q for q in mapping.values() if q not in nodes]
        bad = [(mapping[u], mapping[v]) for u, v in bqm.quadratic if (min(mapping[u], mapping[v]), max(mapping[u], mapping[v])) not in edges]
        if missing or bad:
            raise SamplerError(
                f"{len(missing)} qubits and {len(bad)} couplers of the RBM are not on the {self.name} graph "
                f"({child.properties.get('topology')}); rebuild the RBM for this solver's topology"
            )
        send = bqm.relabel_variables(mapping, inplace=False)
        return send, {q: v for v, q in mapping.items()}, {"embedding": "direct"}, child

    def probe_device_beta(self, rbm, *, num_reads: int = 1000, seed: int = 0, h_range=(-1 / 6.1, 1 / 6.1),
                          **opts) -> tuple[float, float]:
        """Device inverse temperature β_dev (programmable units) and its stderr, from single-qubit problems on
        the RBM's qubits: ``dwave.system.temperatures.fast_effective_temperature`` (T → β = 1/T).

        The stderr is the asymptotic one of the maximum-likelihood fit, 1/√I with the Fisher information
        I = reads · qubits · E_h[(2h)² σ(2βh)(1 − σ(2βh))] over the uniform probe fields h ∈ h_range.
        ``opts`` are sampling options as in :meth:`sample` (e.g. ``annealing_time``, ``beta_device``).
        """
        import numpy as np
        from dwave.system.temperatures import fast_effective_temperature

        if rbm.qubit_labels is None:
            raise SamplerError("probe_device_beta needs an RBM built on an annealer topology (qubit labels)")
        child = self._child(rbm)
        kwargs = self._child_kwargs({**self.defaults, **opts}, 1.0)
        params = self._probe_params(child, kwargs, int(seed))
        t, _ = fast_effective_temperature(child, num_reads=int(num_reads), seed=int(seed), h_range=tuple(h_range),
                                          nodelist=list(rbm.qubit_labels), sampler_params={**params, "num_reads": int(num_reads)})
        beta = 1.0 / float(t)
        h = np.linspace(h_range[0], h_range[1], 1001)
        p = 1.0 / (1.0 + np.exp(-2.0 * beta * h))
        fisher = int(num_reads) * len(rbm.qubit_labels) * float(np.mean((2 * h) ** 2 * p * (1 - p)))
        return beta, float(1.0 / np.sqrt(fisher))

    def _probe_params(self, child, kwargs, seed):
        return dict(kwargs)

    def _graph(self, child):
        key = ("graph", id(child))
        if key not in self._children:
            self._children[key] = (set(child.nodelist), {(min(u, v), max(u, v)) for u, v in child.edgelist})
        return self._children[key]

    def _embed(self, rbm, bqm, child):
        from dwave.system import FixedEmbeddingComposite
        import minorminer

        key = ("embedding", id(child), tuple(sorted(bqm.variables)), len(bqm.quadratic))
        if key not in self._children:
            emb = minorminer.find_embedding(list(bqm.quadratic), child.edgelist, random_seed=0)
            if not emb:
                raise SamplerError(f"minorminer found no embedding of the {len(bqm)}-variable RBM on the {self.name} graph")
            self._children[key] = FixedEmbeddingComposite(child, emb)
        comp = self._children[key]
        chains = [len(c) for c in comp.embedding.values()]
        return bqm, {v: v for v in bqm.variables}, {"embedding": "minorminer", "max_chain_length": max(chains)}, comp

    def _call(self, target, bqm, n_reads, seed, kwargs):
        if hasattr(target, "embedding"):  # chains: the strongest ferromagnetic coupling the J range allows
            j_lo = (getattr(target.child, "properties", {}) or {}).get("j_range", (-1.0, 1.0))[0]
            return self._run(target, bqm, n_reads, seed, {**kwargs, "chain_strength": abs(float(j_lo))})
        return self._run(target, bqm, n_reads, seed, kwargs)


@register_sampler("mock-qpu")
class MockQPUSampler(_StructuredSampler):
    """``dwave.system.testing.MockDWaveSampler`` on the RBM's own Zephyr/Pegasus/Chimera graph: the QPU
    stand-in of the tests.  Its substitute sampler is simulated annealing ending at ``beta_device``
    (problem units, default 4) after ``num_sweeps`` sweeps (default 200), so samples are thermal-ish at
    β_RBM ≈ beta_device / scale rather than the mock's default local minima.
    """

    name = "mock-qpu"
    _CHILD_PARAMETERS = {
        "beta_device": "device inverse temperature in programmable units (default 4)",
        "num_sweeps": "SA sweeps of the substitute sampler (default 200)",
        "embedding": "'direct' (qubit labels) or 'minorminer' (topology='full')",
    }
    _DEFAULTS = {"beta_device": 4.0, "num_sweeps": 200, "embedding": "direct"}

    def _child(self, rbm):
        topo = rbm.config.topology
        if topo == "full":
            topo, shape = "zephyr", [4, 4]  # only reached with embedding="minorminer"
        else:
            shape = _graph_shape(rbm)
        key = (topo, tuple(shape))
        if key not in self._children:
            from dwave.samplers import SimulatedAnnealingSampler as SA
            from dwave.system.testing import MockDWaveSampler

            self._children[key] = MockDWaveSampler(topology_type=topo, topology_shape=list(shape), substitute_sampler=SA(),
                                                   substitute_kwargs={}, exact_solver_cutoff=0,
                                                   parameter_warnings=False)
        return self._children[key]

    def _child_kwargs(self, opts, scale):
        return {"beta_range": (0.1 * float(opts["beta_device"]), float(opts["beta_device"])), "num_sweeps": int(opts["num_sweeps"])}

    def _probe_params(self, child, kwargs, seed):
        child.substitute_kwargs = {**kwargs, "seed": seed}
        return {}

    def _run(self, target, bqm, n_reads, seed, kwargs):
        mock = target.child if hasattr(target, "embedding") else target
        extra = {"chain_strength": kwargs.pop("chain_strength")} if "chain_strength" in kwargs else {}
        mock.substitute_kwargs = {**kwargs, "seed": seed}  # the mock forwards only DWaveSampler kwargs
        return target.sample(bqm, num_reads=n_reads, answer_mode="histogram", **extra)

    def _beta_device(self, opts):
        return float(opts["beta_device"])


def qpu_token_configured() -> bool:
    """True when a D-Wave API token is set (``DWAVE_API_TOKEN`` or a dwave-cloud-client config file)."""
    if os.environ.get("DWAVE_API_TOKEN"):
        return True
    try:
        from dwave.cloud.config import load_config

        return bool(load_config().get("token"))
    except Exception:  # noqa: BLE001 - an unreadable config means no usable token
        return False


@register_sampler("qpu")
class QPUSampler(_StructuredSampler):
    """``dwave.system.DWaveSampler``: the real annealer.  Needs a token; without one the constructor raises
    :class:`~calolib.errors.QPUUnavailableError` (never a silent fallback to a classical sampler).

    Constructor: ``solver=`` / ``profile=`` / ``token=`` go to DWaveSampler; other keyword arguments are
    defaults for :meth:`sample` (``annealing_time`` µs, ``num_spin_reversal_transforms``, ``beta_device``, ...).
    """

    name = "qpu"
    _CHILD_PARAMETERS = {
        "beta_device": "assumed device β in programmable units (None: unknown, 1 is used)",
        "embedding": "'direct' (qubit labels) or 'minorminer'",
        "annealing_time": "µs",
        "anneal_schedule": "[(t, s), ...]",
        "num_spin_reversal_transforms": "spin-reversal (gauge) transforms",
        "readout_thermalization": "µs",
        "programming_thermalization": "µs",
        "label": "problem label",
    }
    _DEFAULTS = {"beta_device": None, "embedding": "direct"}

    def __init__(self, *, solver=None, profile=None, token=None, **defaults) -> None:
        super().__init__(**defaults)
        if not (token or qpu_token_configured()):
            raise QPUUnavailableError(
                "no D-Wave API token configured: set DWAVE_API_TOKEN or run `dwave setup` (dwave-cloud-client config); "
                "for tests and development use sampler 'mock-qpu'"
            )
        self._client = {k: v for k, v in {"solver": solver, "profile": profile, "token": token}.items() if v is not None}

    def _child(self, rbm):
        if "qpu" not in self._children:
            try:
                from dwave.system import DWaveSampler

                self._children["qpu"] = DWaveSampler(**self._client)
            except Exception as exc:  # noqa: BLE001 - network/solver errors become one clear line
                msg = (str(exc).splitlines() or [""])[0]
                raise QPUUnavailableError(f"cannot reach a D-Wave QPU solver ({type(exc).__name__}: {msg}); check the token, solver and network") from exc
        return self._children["qpu"]

    def _child_kwargs(self, opts, scale):
        keys = set(self._CHILD_PARAMETERS) - {"beta_device", "embedding"}
        return {k: opts[k] for k in keys if opts.get(k) is not None}

    def _run(self, target, bqm, n_reads, seed, kwargs):
        return target.sample(bqm, num_reads=n_reads, auto_scale=False, answer_mode="histogram", **kwargs)

    def _beta_device(self, opts):
        return None if opts.get("beta_device") is None else float(opts["beta_device"])


def _graph_shape(rbm) -> list[int]:
    """The dwave.graphs shape of the RBM's hardware graph, for MockDWaveSampler.

    Taken from the masks' parameters; for masks loaded from a state_dict (no parameters), the smallest
    graph that holds every qubit *and every coupling* of the RBM (linear labels depend on m, so the node
    check alone is not enough)."""
    params = dict(rbm.topology_masks().params or {}) or dict(rbm.config.topology_kwargs or {})
    topo = rbm.config.topology
    t = int(params.get("t", 4))
    if "m" not in params:
        import dwave.graphs as dg
        import numpy as np

        labels = np.asarray(rbm.qubit_labels)
        mask = np.zeros((rbm.n_units, rbm.n_units), dtype=bool)
        for p, q in rbm.pairs:
            sp, sq = slice(rbm.offsets[p], rbm.offsets[p] + rbm.sizes[p]), slice(rbm.offsets[q], rbm.offsets[q] + rbm.sizes[q])
            mask[sp, sq] = rbm.mask(p, q).cpu().numpy()
        i, j = np.nonzero(mask)
        edges = {(min(a, b), max(a, b)) for a, b in zip(labels[i].tolist(), labels[j].tolist())}
        build = {"zephyr": lambda m: dg.zephyr_graph(m, t), "pegasus": dg.pegasus_graph,
                 "chimera": lambda m: dg.chimera_graph(m, m, t)}[topo]
        for m in range(2 if topo == "pegasus" else 1, 33):
            g = build(m)
            if all(g.has_node(int(v)) for v in labels) and all(g.has_edge(a, b) for a, b in edges):
                params["m"] = m
                break
        else:
            raise SamplerError(f"no {topo} graph up to m=32 holds this RBM's qubits and couplings; rebuild the RBM")
    m = int(params["m"])
    return {"zephyr": [m, t], "pegasus": [max(m, 2)], "chimera": [m, m, t]}[topo]
