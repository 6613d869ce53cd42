"""calolib.reference (layer-energy correlations against Geant4) and `calolib data validate`.

Expectations are independent of the implementation: np.corrcoef, the exact correlation of a Gaussian factor
model, the algebra of the Frobenius norm, and the CaloChallenge threshold rule ``v < thr -> 0``.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from calolib import reference
from calolib.cli import main
from calolib.errors import CalolibError, GeometryError
from calolib.io import save_showers
from calolib.synthetic import simulate

SHARED = Path("/work/shared/reference/g4_ds2_layer_pcc.npy")


# --------------------------------------------------------------------------------------------- the reference
def test_reference_is_a_correlation_matrix():
    ref = reference.load_reference()
    assert ref.shape == (45, 45) and ref.dtype == np.float64
    np.testing.assert_allclose(ref, ref.T, atol=1e-12)
    np.testing.assert_allclose(np.diag(ref), 1.0)
    assert np.all(np.linalg.eigvalsh(ref) > -1e-8)  # positive semi-definite
    # Geant4 facts quoted in issue 12: row 10 vs layer 3 = 0.86, row 30 vs 3 = 0.59, row 44 vs 3 = 0.52
    assert ref[10, 3] == pytest.approx(0.86, abs=0.005) and ref[30, 3] == pytest.approx(0.59, abs=0.005)
    assert ref[44, 3] == pytest.approx(0.52, abs=0.005) and ref[44, 42] == pytest.approx(0.71, abs=0.005)


@pytest.mark.skipif(not SHARED.exists(), reason="the shared reference folder is not on this machine")
def test_packaged_reference_equals_the_shared_one():
    np.testing.assert_array_equal(reference.load_reference(), np.load(SHARED))


@pytest.mark.parametrize("name", ["ds3", "ds1-photons"])
def test_reference_only_for_ds2(name):
    with pytest.raises(GeometryError, match="only for ds2"):
        reference.load_reference(name)


# --------------------------------------------------------------------------------------------- the arithmetic
def test_layer_pcc_equals_corrcoef_and_handles_constant_layers():
    rng = np.random.default_rng(0)
    le = rng.gamma(2.0, size=(500, 6)) @ rng.random((6, 6))
    np.testing.assert_allclose(reference.layer_pcc(le), np.corrcoef(le.T), atol=1e-12)
    le[:, 2] = 0.0  # an always-empty layer: no defined correlation
    c = reference.layer_pcc(le)
    assert c[2, 2] == 1.0 and np.all(c[2, [0, 1, 3, 4, 5]] == 0.0)
    with pytest.raises(CalolibError):
        reference.layer_pcc(le[:1])


def test_layer_energies_apply_the_threshold_before_summing():
    x = np.zeros((3, 6480), dtype=np.float32)
    x[:, 0] = [0.0151, 0.01515, 0.02]  # layer 0: below, at, above the 15.15 keV threshold
    x[:, 144:150] = 0.01  # layer 1: six voxels that only pass together -> zeroed one by one
    le = reference.layer_energies(x, "ds2")
    np.testing.assert_allclose(le[:, 0], [0.0, 0.01515, 0.02], rtol=1e-6)
    assert np.all(le[:, 1] == 0.0)
    assert reference.layer_energies(x, "ds2", threshold_mev=0.0)[0, 1] == pytest.approx(0.06, rel=1e-6)


def test_distance_and_rows_obey_the_frobenius_algebra():
    rng = np.random.default_rng(1)
    a, b = rng.random((45, 45)), rng.random((45, 45))
    d = reference.frobenius_distance(a, b)
    rows = reference.row_contributions(a, b)
    assert d == pytest.approx(np.sqrt(((a - b) ** 2).sum()))
    assert np.sum(rows**2) == pytest.approx(d**2)
    assert reference.frobenius_distance(a, a) == 0.0
    with pytest.raises(CalolibError):
        reference.frobenius_distance(a, b[:3, :3])


def test_compare_on_a_factor_model_with_known_correlations():
    """x_i = l_i z + sqrt(1 - l_i^2) e_i has corr(x_i, x_j) = l_i l_j exactly: the distance is noise only,
    and a wrong reference row shows up as the worst row."""
    rng = np.random.default_rng(2)
    load = np.linspace(0.5, 0.95, 45)
    truth = np.outer(load, load)
    np.fill_diagonal(truth, 1.0)
    n = 8000
    x = rng.standard_normal((n, 1)) * load + rng.standard_normal((n, 45)) * np.sqrt(1 - load**2)
    out = reference.compare(x, truth, n_boot=10)
    # E ||C_hat - C||_F^2 = sum_ij (1 - rho_ij^2)^2 / n for Gaussian data
    expect = np.sqrt(((1 - truth**2) ** 2).sum() / n)
    assert out["distance"] == pytest.approx(expect, rel=0.15)
    assert out["noise_floor"] == pytest.approx(expect, rel=0.3)
    wrong = truth.copy()
    wrong[7, :] = wrong[:, 7] = 0.0
    wrong[7, 7] = 1.0
    out = reference.compare(x, wrong, n_boot=2)
    assert out["worst_rows"][0][0] == 7 and out["distance"] > 10 * expect


def test_fixed_energy_bin_shows_the_fluctuation_the_spectrum_hides():
    rng = np.random.default_rng(3)
    e = np.exp(rng.uniform(np.log(1e3), np.log(1e6), 20000))
    shift = rng.standard_normal(e.size)  # depth of the shower: moves energy from layer 0 to layer 1
    le = np.stack([e * (1 + 0.2 * shift), e * (1 - 0.2 * shift)], axis=1)
    assert reference.layer_pcc(le)[0, 1] > 0.5
    c, n = reference.fixed_energy_pcc(e, le, 1e5, 1.2e5)
    assert n == int(((e >= 1e5) & (e < 1.2e5)).sum()) and c[0, 1] < -0.8
    c, n = reference.fixed_energy_pcc(e, le, 2e6, 3e6)
    assert n == 0 and np.all(np.isnan(c))


def test_plot_comparison_draws_reference_sample_and_difference():
    import matplotlib

    matplotlib.use("agg")
    import matplotlib.pyplot as plt

    ref = reference.load_reference()
    sample = 0.8 * ref + 0.2 * np.eye(45)
    ims = reference.plot_comparison(sample, label="toy")
    np.testing.assert_allclose(ims[0].get_array(), ref)
    np.testing.assert_allclose(ims[1].get_array(), sample)
    np.testing.assert_allclose(ims[2].get_array(), sample - ref)
    assert ims[2].get_clim()[0] == -ims[2].get_clim()[1]  # symmetric colour scale for the difference
    assert "toy" in ims[1].axes.get_title()
    plt.close("all")


def test_generator_never_reads_the_reference():
    """The synthetic model is physics: no module of calolib.synthetic imports calolib.reference or names a data
    file (its docstrings may mention where it was calibrated)."""
    import ast

    src = Path(reference.__file__).parent / "synthetic"
    for f in src.glob("*.py"):
        tree = ast.parse(f.read_text())
        docs = {id(n.body[0].value) for n in ast.walk(tree) if isinstance(n, (ast.Module, ast.FunctionDef, ast.ClassDef))
                and n.body and isinstance(n.body[0], ast.Expr) and isinstance(n.body[0].value, ast.Constant)}
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                assert not (node.module or "").startswith("calolib.reference"), f.name
                assert not (node.module == "calolib" and any(a.name == "reference" for a in node.names)), f.name
            if isinstance(node, ast.Import):
                assert not any(a.name.startswith("calolib.reference") for a in node.names), f.name
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs:
                assert ".npy" not in node.value and "g4_ds2" not in node.value, f.name


# --------------------------------------------------------------------------------------------- CLI
@pytest.fixture(scope="module")
def ds2_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("validate") / "syn.h5"
    s = simulate(600, "ds2", seed=21)
    save_showers(path, s.energies, s.showers)
    return path, s


def _run(capsys, *argv):
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def test_validate_good_file_prints_distance_writes_json_and_plot(ds2_file, tmp_path, capsys):
    path, s = ds2_file
    expect = reference.frobenius_distance(reference.layer_pcc(reference.layer_energies(s)), reference.load_reference())
    js, png = tmp_path / "v.json", tmp_path / "v.png"
    rc, out, err = _run(capsys, "data", "validate", str(path), "--json", str(js), "--plot", str(png))
    assert rc == 0 and err == ""
    first = out.splitlines()[0]
    assert f"= {expect:.2f}" in first and "600 ds2 showers" in first and "published models" in first
    assert out.splitlines()[1].startswith("worst rows")
    res = json.loads(js.read_text())
    assert res["distance"] == pytest.approx(expect) and res["n_events"] == 600
    assert len(res["rows"]) == 45 and np.sum(np.square(res["rows"])) == pytest.approx(expect**2)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # an existing output is not replaced without --force
    before = js.read_text()
    rc, out, err = _run(capsys, "data", "validate", str(path), "--json", str(js))
    assert rc == 2 and "--force" in err and len(err.strip().splitlines()) == 1 and js.read_text() == before
    rc, _, _ = _run(capsys, "data", "validate", str(path), "--json", str(js), "--force", "--max-events", "300")
    assert rc == 0 and json.loads(js.read_text())["n_events"] == 300
    # the input itself is never an output
    rc, _, err = _run(capsys, "data", "validate", str(path), "--json", str(path), "--force")
    assert rc == 2 and "input" in err and path.stat().st_size > 0


@pytest.mark.parametrize("name", ["ds3", "ds1-photons"])
def test_validate_non_ds2_file_says_reference_is_ds2_only(tmp_path, capsys, name):
    from calolib.geometry import get_geometry

    path = tmp_path / f"{name}.h5"
    save_showers(path, np.full(4, 1e4), np.ones((4, get_geometry(name).n_voxels), dtype=np.float32))
    rc, out, err = _run(capsys, "data", "validate", str(path))
    assert rc == 2 and out == ""
    assert "only for ds2" in err and name in err and len(err.strip().splitlines()) == 1


def test_validate_missing_and_non_hdf5_files(tmp_path, capsys):
    rc, _, err = _run(capsys, "data", "validate", str(tmp_path / "nope.h5"))
    assert rc == 2 and "no such file" in err and len(err.strip().splitlines()) == 1
    bad = tmp_path / "bad.h5"
    bad.write_text("not an hdf5 file\n")
    rc, _, err = _run(capsys, "data", "validate", str(bad))
    assert rc == 2 and "HDF5" in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_validate_defaults_to_the_embedded_file(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no data/ here
    rc, _, err = _run(capsys, "data", "validate")
    assert rc == 2 and "data/synthetic_ds2.h5" in err and "calolib data make" in err
