"""calolib.geometry against an independent parse of the binning XML and the CaloChallenge facts."""
from __future__ import annotations

import xml.etree.ElementTree as ET
from importlib import resources

import numpy as np
import pytest

from calolib.errors import CalolibError, GeometryError
from calolib.geometry import GEOMETRY_NAMES, geometry_for_n_voxels, get_geometry

XML = {
    "ds1-photons": "binning_dataset_1_photons.xml",
    "ds1-pions": "binning_dataset_1_pions.xml",
    "ds2": "binning_dataset_2.xml",
    "ds3": "binning_dataset_3.xml",
}
# voxel totals published with the challenge (shared/CALOCHALLENGE.md)
EXPECTED_VOXELS = {"ds1-photons": 368, "ds1-pions": 533, "ds2": 6480, "ds3": 40500}


def _xml_layers(name):
    """(id, edges list, n_alpha) per layer from the packaged XML, parsed independently."""
    root = ET.fromstring(resources.files("calolib").joinpath("data", XML[name]).read_text())
    out = []
    for el in root.iter("Layer"):
        edges = [float(x) for x in el.attrib["r_edges"].split(",")]
        out.append((int(el.attrib["id"]), edges, int(el.attrib.get("n_bin_alpha", 1))))
    return sorted(out)


@pytest.mark.parametrize("name", GEOMETRY_NAMES)
def test_voxel_counts_match_xml_and_published_totals(name):
    g = get_geometry(name)
    from_xml = sum((len(e) - 1) * a for _, e, a in _xml_layers(name))
    assert g.n_voxels == from_xml == EXPECTED_VOXELS[name]
    assert geometry_for_n_voxels(EXPECTED_VOXELS[name]) is g


@pytest.mark.parametrize("name", GEOMETRY_NAMES)
def test_layers_match_xml(name):
    g = get_geometry(name)
    layers = _xml_layers(name)
    assert g.n_layers == len(layers)
    for layer, (lid, edges, n_alpha) in zip(g.layers, layers):
        assert layer.index == lid
        np.testing.assert_array_equal(layer.r_edges, edges)
        assert layer.n_alpha == n_alpha
        assert layer.n_voxels == (len(edges) - 1) * n_alpha
    # layer slices tile the voxel axis in order
    stops = [s.stop for s in g.layer_slices]
    assert stops[-1] == g.n_voxels and all(np.diff([0] + stops) >= 0)


def test_ds1_active_layers_and_specific_edges():
    ph, pi = get_geometry("ds1-photons"), get_geometry("ds1-pions")
    assert ph.active_layers == (0, 1, 2, 3, 12) and ph.n_layers == 24
    assert pi.active_layers == (0, 1, 2, 3, 12, 13, 14)
    np.testing.assert_array_equal(ph.layers[12].r_edges, [0, 100, 200, 400, 1000, 2000])
    assert not ph.is_regular
    with pytest.raises(GeometryError, match="irregular"):
        ph.grid_shape


def test_ds2_ds3_grid_and_edges():
    g2, g3 = get_geometry("ds2"), get_geometry("ds3")
    assert g2.grid_shape == (45, 16, 9) and g3.grid_shape == (45, 50, 18)
    np.testing.assert_allclose(g2.layers[0].r_edges, 4.65 * np.arange(10))
    np.testing.assert_allclose(g3.layers[44].r_edges, 2.325 * np.arange(19))
    assert g2.threshold_mev == pytest.approx(0.01515) and get_geometry("ds1-pions").threshold_mev == 1.0


def test_voxel_order_radial_fastest_then_angle_then_layer():
    g = get_geometry("ds2")
    L, A, R = g.grid_shape
    idx = np.arange(g.n_voxels)
    layer, rem = np.divmod(idx, A * R)
    alpha_bin, r_bin = np.divmod(rem, R)
    np.testing.assert_array_equal(g.voxel_layer, layer)
    r_centres = 4.65 * (np.arange(R) + 0.5)
    np.testing.assert_allclose(g.voxel_r, r_centres[r_bin])
    a_centres = -np.pi + 2 * np.pi / A * (np.arange(A) + 0.5)
    np.testing.assert_allclose(g.voxel_alpha, a_centres[alpha_bin])


def test_coordinates_and_areas():
    g = get_geometry("ds1-photons")
    np.testing.assert_allclose(g.voxel_x, g.voxel_r * np.cos(g.voxel_alpha))
    np.testing.assert_allclose(g.voxel_y, g.voxel_r * np.sin(g.voxel_alpha))
    # total area of each active layer is the disc of its outer radius
    for l in g.active_layers:
        sl = g.layer_slices[l]
        assert g.voxel_area[sl].sum() == pytest.approx(np.pi * g.layers[l].r_edges[-1] ** 2)
    # single-angular-bin layers sit at alpha = 0
    assert np.all(g.voxel_alpha[g.layer_slices[0]] == 0)


def test_grid_reshape_and_layer_energies():
    g = get_geometry("ds2")
    rng = np.random.default_rng(0)
    s = rng.random((3, g.n_voxels))
    grid = g.to_grid(s)
    assert grid.shape == (3, 45, 16, 9)
    # element (n, l, a, r) is voxel l*144 + a*9 + r
    assert grid[2, 7, 5, 3] == s[2, 7 * 144 + 5 * 9 + 3]
    np.testing.assert_allclose(g.layer_energies(s), grid.sum(axis=(2, 3)))
    with pytest.raises(GeometryError):
        g.to_grid(s[:, :-1])


def test_aliases_give_the_same_object():
    assert get_geometry("DS2") is get_geometry("ds2") is get_geometry(get_geometry("ds2"))
    assert get_geometry("ds1") is get_geometry("ds1-photons") is get_geometry("ds1_photons")


def test_unknown_geometry_lists_valid_names():
    with pytest.raises(GeometryError, match="ds2") as exc:
        get_geometry("ds7")
    assert isinstance(exc.value, CalolibError) and isinstance(exc.value, ValueError)
    with pytest.raises(GeometryError, match="6480"):
        geometry_for_n_voxels(100)
