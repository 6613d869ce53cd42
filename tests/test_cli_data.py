"""`calolib data make|check`: exit codes, one-line errors, chunked atomic writes."""
from __future__ import annotations

import json
import subprocess
import sys
import types

import h5py
import numpy as np
import pytest

from calolib.cli import main
from calolib.commands.data import chunk_seeds
from calolib.io import load_showers, save_showers
from calolib.showers import Showers


@pytest.fixture
def fake_simulate(monkeypatch):
    """Stand-in for calolib.synthetic.simulate that records its calls (sizes, seeds, energy range)."""
    calls = []

    def simulate(n, geometry="ds2", seed=0, *, energies=None, e_min=1e3, e_max=1e6, fail_at=None):
        calls.append({"n": n, "geometry": geometry, "seed": seed, "e_min": e_min, "e_max": e_max})
        if fake.fail_at is not None and len(calls) == fake.fail_at:
            raise KeyboardInterrupt
        rng = np.random.default_rng(seed)
        from calolib.geometry import get_geometry

        g = get_geometry(geometry)
        e = np.exp(rng.uniform(np.log(e_min), np.log(e_max), n))
        s = (rng.exponential(1.0, (n, g.n_voxels)) * (rng.random((n, g.n_voxels)) < 0.2)).astype(np.float32)
        return Showers(e, s, g)

    fake = types.ModuleType("calolib.synthetic")
    fake.simulate, fake.calls, fake.fail_at = simulate, calls, None
    fake.model_version = lambda: "test-0"
    monkeypatch.setitem(sys.modules, "calolib.synthetic", fake)
    return fake


def _run(capsys, *argv):
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def test_make_writes_chunks_with_derived_seeds(tmp_path, capsys, fake_simulate):
    out = tmp_path / "d" / "syn.h5"
    rc, stdout, _ = _run(capsys, "data", "make", "--n", "7", "--chunk", "3", "--geometry", "ds1-photons",
                         "--seed", "5", "--e-min", "2000", "--e-max", "8000", "--out", str(out), "--no-progress")
    assert rc == 0
    assert [c["n"] for c in fake_simulate.calls] == [3, 3, 1]
    assert [c["seed"] for c in fake_simulate.calls] == chunk_seeds(5, 3)
    assert len(set(chunk_seeds(5, 3))) == 3 and chunk_seeds(5, 3) != chunk_seeds(6, 3)
    assert all(c["e_min"] == 2000 and c["e_max"] == 8000 for c in fake_simulate.calls)
    s = load_showers(out)
    assert len(s) == 7 and s.geometry.name == "ds1-photons"
    assert np.all((s.energies >= 2000) & (s.energies <= 8000))
    # the file holds the chunks in order: chunk 2 equals a direct simulate with its seed
    direct = fake_simulate.simulate(3, "ds1-photons", chunk_seeds(5, 3)[1], e_min=2000, e_max=8000)
    np.testing.assert_array_equal(s.showers[3:6], direct.showers)
    assert "7" in stdout and "ds1-photons" in stdout  # the summary is printed
    with h5py.File(out) as f:
        assert f.attrs["seed"] == 5 and set(f.keys()) == {"incident_energies", "showers"}
    assert sorted(p.name for p in out.parent.iterdir()) == ["syn.h5"]


def test_make_if_missing(tmp_path, capsys, fake_simulate):
    out = tmp_path / "syn.h5"
    save_showers(out, np.full(4, 1e3), np.zeros((4, 368)))
    rc, stdout, _ = _run(capsys, "data", "make", "--n", "5", "--geometry", "ds1-photons", "--out", str(out),
                         "--if-missing", "--no-progress")
    assert rc == 0 and fake_simulate.calls == [] and "nothing to do" in stdout
    assert len(load_showers(out)) == 4
    # a file that is not a valid shower file is not replaced without --force (it may be someone's data)
    out.write_bytes(b"garbage" * 100)
    rc, _, err = _run(capsys, "data", "make", "--n", "5", "--geometry", "ds1-photons", "--out", str(out),
                      "--if-missing", "--no-progress")
    assert rc == 2 and "--force" in err and out.read_bytes() == b"garbage" * 100
    rc, _, err = _run(capsys, "data", "make", "--n", "5", "--geometry", "ds1-photons", "--out", str(out),
                      "--if-missing", "--force", "--no-progress")
    assert rc == 0 and "rebuilding" in err and len(load_showers(out)) == 5
    # a valid file of another geometry is an error, not silently replaced
    rc, _, err = _run(capsys, "data", "make", "--n", "5", "--geometry", "ds2", "--out", str(out),
                      "--if-missing", "--no-progress")
    assert rc == 2 and "ds1-photons" in err and len(err.strip().splitlines()) == 1
    # without --if-missing an existing file is refused, and replaced only with --force
    rc, _, err = _run(capsys, "data", "make", "--n", "2", "--geometry", "ds1-photons", "--out", str(out),
                      "--no-progress")
    assert rc == 2 and "already exists" in err and len(load_showers(out)) == 5
    rc, _, _ = _run(capsys, "data", "make", "--n", "2", "--geometry", "ds1-photons", "--out", str(out),
                    "--no-progress", "--force")
    assert rc == 0 and len(load_showers(out)) == 2


def test_interrupted_make_leaves_no_file(tmp_path, capsys, fake_simulate):
    out = tmp_path / "syn.h5"
    fake_simulate.fail_at = 2
    rc, _, err = _run(capsys, "data", "make", "--n", "9", "--chunk", "3", "--geometry", "ds1-photons",
                      "--out", str(out), "--no-progress")
    assert rc == 130 and "interrupted" in err
    assert list(tmp_path.iterdir()) == []


def test_make_bad_arguments(tmp_path, capsys, fake_simulate):
    (tmp_path / "adir").mkdir()
    rc, _, err = _run(capsys, "data", "make", "--n", "2", "--out", str(tmp_path / "adir"), "--no-progress")
    assert rc == 2 and "is a directory" in err and len(err.strip().splitlines()) == 1
    rc, _, err = _run(capsys, "data", "make", "--n", "0", "--out", str(tmp_path / "x.h5"))
    assert rc == 2 and "--n" in err
    rc, _, err = _run(capsys, "data", "make", "--geometry", "ds9", "--out", str(tmp_path / "x.h5"))
    assert rc == 2 and "unknown geometry" in err


def test_check_good_file(tmp_path, capsys):
    rng = np.random.default_rng(0)
    e = np.array([1e3, 1e4, 1e5])
    s = rng.random((3, 6480)).astype(np.float32)
    save_showers(tmp_path / "ok.h5", e, s)
    rc, stdout, err = _run(capsys, "data", "check", str(tmp_path / "ok.h5"))
    assert rc == 0 and err == ""
    assert "ds2" in stdout and "events:        3" in stdout and "1000 - 1e+05 MeV" in stdout
    rc, stdout, _ = _run(capsys, "data", "check", "--json", str(tmp_path / "ok.h5"))
    d = json.loads(stdout)
    assert rc == 0 and d["n_events"] == 3 and d["e_inc_max_mev"] == 1e5
    assert d["mean_e_ratio"] == pytest.approx(np.mean(s.sum(axis=1, dtype=np.float64) / e), rel=1e-6)


def _bad_files(tmp_path):
    (tmp_path / "text.h5").write_text("not hdf5")
    e = np.full(4, 1e3)
    s = np.zeros((4, 368))
    s[2, 1] = np.nan
    with h5py.File(tmp_path / "nan.h5", "w") as f:
        f["incident_energies"], f["showers"] = e[:, None], s
    with h5py.File(tmp_path / "nokey.h5", "w") as f:
        f["incident_energies"] = e[:, None]
    return {"missing.h5": "no such file", "text.h5": "not a readable HDF5", "nan.h5": "NaN",
            "nokey.h5": "missing dataset"}


def test_check_bad_files_exit_2_one_line(tmp_path, capsys):
    for name, problem in _bad_files(tmp_path).items():
        rc, stdout, err = _run(capsys, "data", "check", str(tmp_path / name))
        assert rc == 2, name
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("calolib: error:") and problem in lines[0], (name, err)
        assert name in lines[0] and "Traceback" not in err


def test_check_in_a_real_process(tmp_path):
    """The console entry point: exit code 2, one stderr line, no traceback."""
    _bad_files(tmp_path)
    proc = subprocess.run([sys.executable, "-m", "calolib", "data", "check", str(tmp_path / "nan.h5")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1 and "NaN" in proc.stderr and "Traceback" not in proc.stderr


def test_make_with_the_real_simulator(tmp_path, capsys):
    pytest.importorskip("calolib.synthetic")
    out = tmp_path / "real.h5"
    rc, stdout, _ = _run(capsys, "data", "make", "--n", "12", "--chunk", "5", "--seed", "1", "--out", str(out),
                         "--no-progress")
    assert rc == 0
    s = load_showers(out)
    assert len(s) == 12 and s.geometry.name == "ds2"
    assert np.all((s.energies >= 1e3) & (s.energies <= 1e6))
    assert np.all(s.showers >= 0) and np.all(s.showers.sum(axis=1) > 0)
    assert np.all(s.showers.sum(axis=1) <= s.energies * 1.05)  # no shower deposits more than it carries
