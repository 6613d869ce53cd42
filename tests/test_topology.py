"""Topology masks: full masks, and annealer masks checked against the dwave.graphs graphs."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

from calolib.errors import ConfigError
from calolib.topology import PAIRS, four_partite_mask

dg = pytest.importorskip("dwave.graphs")


def _graph(name: str, params: dict):
    if name.startswith("zephyr"):
        return dg.zephyr_graph(params["m"], params["t"])
    if name.startswith("pegasus"):
        return dg.pegasus_graph(params["m"])
    return dg.chimera_graph(params["m"], params["m"], params["t"])


def test_full_mask_is_complete_multipartite():
    sizes = (3, 4, 5, 6)
    t = four_partite_mask(sizes, "full")
    assert t.labels is None
    assert set(t.masks) == set(PAIRS)
    assert all(t.masks[(p, q)].shape == (sizes[p], sizes[q]) and t.masks[(p, q)].all() for p, q in PAIRS)
    assert t.n_edges == sum(a * b for a, b in itertools.combinations(sizes, 2))
    deg = t.degrees()
    np.testing.assert_array_equal(deg, np.repeat([sum(sizes) - n for n in sizes], sizes))


@pytest.mark.parametrize(
    "topology,sizes",
    [("zephyr", (4, 4, 4, 4)), ("zephyr", (5, 5, 5, 5)), ("zephyr", (2, 30, 30, 30)), ("pegasus", (20, 20, 20, 20)), ("chimera", (16, 16, 16, 16))],
)
def test_annealer_mask_is_induced_subgraph_with_independent_partitions(topology, sizes):
    t = four_partite_mask(sizes, topology)
    g = _graph(t.graph, t.params)
    labels = t.labels
    assert [len(lab) for lab in labels] == list(sizes)
    flat = [n for lab in labels for n in lab]
    assert len(set(flat)) == len(flat) and set(flat) <= set(g.nodes)
    # every partition is an independent set of the hardware graph
    for lab in labels:
        assert not any(g.has_edge(u, v) for u, v in itertools.combinations(lab, 2))
    # the mask is exactly the graph restricted to the chosen qubits: subgraph and nothing dropped
    for p, q in PAIRS:
        want = np.array([[g.has_edge(u, v) for v in labels[q]] for u in labels[p]], dtype=bool)
        np.testing.assert_array_equal(t.masks[(p, q)], want)
    assert t.n_edges == g.subgraph(flat).number_of_edges()
    assert 0 < t.density < 1


def test_zephyr_4x302_matches_advantage2_scale():
    t = four_partite_mask((302,) * 4, "zephyr")
    s = t.summary()
    assert t.graph == "zephyr_graph(6, 4)"  # smallest Zephyr (t=4) with >= 302 qubits per colour
    assert 10_500 <= s["n_edges"] <= 11_400  # zephyr_graph(6, 4) itself has 11,400 edges
    assert s["degree_min"] >= 6 and s["degree_max"] <= 20  # Zephyr degree is at most 20
    assert np.isclose(s["density"], s["n_edges"] / (6 * 302**2))


def test_explicit_graph_size_and_too_small_graph():
    t = four_partite_mask((4, 4, 4, 4), "zephyr", m=2)
    assert t.params == {"m": 2, "t": 4}
    with pytest.raises(ConfigError, match="too small"):
        four_partite_mask((50, 50, 50, 50), "zephyr", m=1)


@pytest.mark.parametrize(
    "kwargs",
    [dict(sizes=(1, 2, 3), topology="full"), dict(sizes=(0, 2, 2, 2), topology="full"), dict(sizes=(2, 2, 2, 2), topology="king")],
)
def test_bad_arguments(kwargs):
    with pytest.raises(ConfigError):
        four_partite_mask(**kwargs)
