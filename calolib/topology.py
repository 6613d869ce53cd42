"""Connectivity masks between the four partitions of the RBM prior.

A 4-partite RBM couples units only across partitions.  ``"full"`` couples every pair of units in
different partitions.  The annealer topologies take a real D-Wave qubit graph from ``dwave.graphs``
(``chimera_graph``, ``pegasus_graph``, ``zephyr_graph``), colour it properly with four colours (no
edge inside a colour class: ``zephyr_four_color``, ``pegasus_four_color``, and for the bipartite
Chimera graph ``chimera_two_color`` refined by the shore index parity), pick ``n_p`` qubits of colour
``p`` nearest the chip centre (ties broken by higher degree), and keep every graph edge between the
chosen qubits.  The result lists the hardware qubit labels of each partition so a latent sample maps to
qubits.  Unless ``m`` is given the smallest graph whose colour classes are big enough is used.

``dwave.graphs`` is needed only to *build* masks; it is imported lazily, and the RBM stores the masks
as buffers, so a saved model loads without it.

Example:
    >>> t = four_partite_mask((2, 2, 2, 2), "full")
    >>> t.n_edges, t.density
    (24, 1.0)
"""
from __future__ import annotations

import functools
import itertools
from dataclasses import dataclass, field

import numpy as np

from calolib.errors import ConfigError

__all__ = ["TOPOLOGIES", "PAIRS", "TopologyMasks", "four_partite_mask"]

TOPOLOGIES = ("full", "chimera", "pegasus", "zephyr")
PAIRS: tuple[tuple[int, int], ...] = tuple(itertools.combinations(range(4), 2))

_MAX_M = {"chimera": 16, "pegasus": 16, "zephyr": 20}


def __dir__():
    return __all__


@dataclass(frozen=True, eq=False)  # holds tensors/arrays: compare fields explicitly
class TopologyMasks:
    """Masks of allowed couplings between four partitions.

    Attributes:
        sizes: partition sizes (n0, n1, n2, n3).
        topology: one of :data:`TOPOLOGIES`.
        masks: ``{(p, q): bool array (n_p, n_q)}`` for p < q.
        labels: per partition, the hardware qubit labels (tuple of ints) or ``None`` for ``"full"``.
        graph: name of the source graph (e.g. ``"zephyr_graph(6, 4)"``), ``"complete-4-partite"`` for full.
        params: graph parameters (e.g. ``{"m": 6, "t": 4}``).
    """

    sizes: tuple[int, ...]
    topology: str
    masks: dict
    labels: tuple | None = None
    graph: str = "complete-4-partite"
    params: dict = field(default_factory=dict)

    @property
    def n_edges(self) -> int:
        """Number of allowed couplings."""
        return int(sum(int(m.sum()) for m in self.masks.values()))

    @property
    def density(self) -> float:
        """Allowed couplings over all inter-partition pairs (1.0 for full)."""
        possible = sum(self.sizes[p] * self.sizes[q] for p, q in PAIRS)
        return self.n_edges / possible if possible else 0.0

    def degrees(self) -> np.ndarray:
        """Number of couplings of each unit, (N,) int64 in flat unit order."""
        offsets = np.concatenate([[0], np.cumsum(self.sizes)])
        deg = np.zeros(int(offsets[-1]), dtype=np.int64)
        for (p, q), m in self.masks.items():
            deg[offsets[p] : offsets[p + 1]] += m.sum(axis=1)
            deg[offsets[q] : offsets[q + 1]] += m.sum(axis=0)
        return deg

    def summary(self) -> dict:
        """JSON-able facts: graph, sizes, n_edges, density and degree min/mean/max.

        Example:
            >>> four_partite_mask((1, 1, 1, 1), "full").summary()["degree_max"]
            3
        """
        deg = self.degrees()
        return {
            "topology": self.topology,
            "graph": self.graph,
            "params": dict(self.params),
            "sizes": list(self.sizes),
            "n_edges": self.n_edges,
            "density": self.density,
            "degree_min": int(deg.min()),
            "degree_mean": float(deg.mean()),
            "degree_max": int(deg.max()),
        }


def _check_sizes(sizes) -> tuple[int, ...]:
    try:
        sizes = tuple(int(n) for n in sizes)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"RBM sizes must be four positive integers, got {sizes!r}") from exc
    if len(sizes) != 4 or any(n < 1 for n in sizes):
        raise ConfigError(f"RBM sizes must be four positive integers (n0, n1, n2, n3), got {sizes!r}")
    return sizes


def four_partite_mask(sizes, topology: str = "full", *, m: int | None = None, t: int = 4) -> TopologyMasks:
    """Build the coupling masks of a 4-partite RBM.

    Args:
        sizes: partition sizes (n0, n1, n2, n3).
        topology: ``"full"``, ``"chimera"``, ``"pegasus"`` or ``"zephyr"``.
        m: graph size parameter (chimera_graph(m), pegasus_graph(m), zephyr_graph(m, t)); default: the
            smallest that fits.
        t: Zephyr tile parameter (default 4, as on Advantage2) and Chimera shore size.

    Returns:
        :class:`TopologyMasks` (cached; the arrays are read-only).

    Example:
        >>> z = four_partite_mask((4, 4, 4, 4), "zephyr")
        >>> z.graph, z.n_edges, [len(lab) for lab in z.labels]
        ('zephyr_graph(1, 4)', 72, [4, 4, 4, 4])
    """
    sizes = _check_sizes(sizes)
    topology = str(topology).lower()
    if topology not in TOPOLOGIES:
        raise ConfigError(f"unknown topology {topology!r}; use one of {', '.join(TOPOLOGIES)}")
    if m is not None and (int(m) < 1 or int(m) > 64):
        raise ConfigError(f"graph size m={m} out of range; use 1..64 (or leave it out to pick the smallest)")
    if topology == "zephyr" and (int(t) < 2 or int(t) % 2):
        raise ConfigError(f"Zephyr tile parameter t={t} must be an even integer >= 2")
    return _cached_mask(sizes, topology, None if m is None else int(m), int(t))


@functools.lru_cache(maxsize=32)
def _cached_mask(sizes: tuple[int, ...], topology: str, m: int | None, t: int) -> TopologyMasks:
    if topology == "full":
        masks = {(p, q): np.ones((sizes[p], sizes[q]), dtype=bool) for p, q in PAIRS}
        for a in masks.values():
            a.setflags(write=False)
        return TopologyMasks(sizes=sizes, topology="full", masks=masks)
    candidates = [m] if m is not None else range(1, _MAX_M[topology] + 1)
    for mm in candidates:
        graph, name, params, colour, pos = _annealer_graph(topology, mm, t)
        classes = [[n for n in graph.nodes if colour[n] == c] for c in range(4)]
        if all(len(classes[p]) >= sizes[p] for p in range(4)):
            return _select(sizes, topology, graph, name, params, classes, pos)
    have = [len(c) for c in classes]
    raise ConfigError(
        f"{name} has colour classes of sizes {have}, too small for partitions {list(sizes)}; "
        f"use smaller partitions or {'a larger m' if m is not None else 'the full topology'}"
    )


def _annealer_graph(topology: str, m: int, t: int):
    """(graph, name, params, colour dict, positions dict) of one D-Wave graph with int labels."""
    import dwave.graphs as dg  # lazy: only needed to build masks

    if topology == "zephyr":
        g = dg.zephyr_graph(m, t)
        colour = {n: dg.zephyr_four_color(d["zephyr_index"]) for n, d in g.nodes(data=True)}
        pos = dg.zephyr_layout(g)
        return g, f"zephyr_graph({m}, {t})", {"m": m, "t": t}, colour, pos
    if topology == "pegasus":
        m = max(m, 2)  # pegasus_graph needs m >= 2
        g = dg.pegasus_graph(m)
        colour = {n: dg.pegasus_four_color(d["pegasus_index"]) for n, d in g.nodes(data=True)}
        pos = dg.pegasus_layout(g)
        return g, f"pegasus_graph({m})", {"m": m}, colour, pos
    g = dg.chimera_graph(m, m, t)
    # Chimera is bipartite; refining the 2-colouring by the parity of the in-cell index k keeps it proper.
    colour = {n: 2 * dg.chimera_two_color(d["chimera_index"]) + d["chimera_index"][3] % 2 for n, d in g.nodes(data=True)}
    pos = dg.chimera_layout(g)
    return g, f"chimera_graph({m}, {m}, {t})", {"m": m, "t": t}, colour, pos


def _select(sizes, topology, graph, name, params, classes, pos) -> TopologyMasks:
    nodes = list(graph.nodes)
    xy = np.array([pos[n] for n in nodes], dtype=np.float64)
    centre = xy.mean(axis=0)
    dist = dict(zip(nodes, np.round(np.hypot(*(xy - centre).T), 9)))
    chosen = []
    for p in range(4):
        ranked = sorted(classes[p], key=lambda n: (dist[n], -graph.degree(n), n))
        chosen.append(tuple(int(n) for n in sorted(ranked[: sizes[p]])))
    index = [{n: i for i, n in enumerate(c)} for c in chosen]
    part = {n: p for p, c in enumerate(chosen) for n in c}
    masks = {(p, q): np.zeros((sizes[p], sizes[q]), dtype=bool) for p, q in PAIRS}
    for u, v in graph.edges:
        pu, pv = part.get(u), part.get(v)
        if pu is None or pv is None:
            continue
        if pu == pv:  # cannot happen for a proper colouring; guard against a library change
            raise RuntimeError(f"{name}: colouring is not proper at edge ({u}, {v})")
        if pu > pv:
            u, v, pu, pv = v, u, pv, pu
        masks[(pu, pv)][index[pu][u], index[pv][v]] = True
    for a in masks.values():
        a.setflags(write=False)
    return TopologyMasks(sizes=sizes, topology=topology, masks=masks, labels=tuple(chosen), graph=name, params=params)
