"""Files written by `calolib data make` record the synthetic model that made them, and `--if-missing` rebuilds a
file of an older model (and nothing else)."""
from __future__ import annotations

import h5py
import numpy as np

from calolib.cli import main
from calolib.commands.data import make, outdated_synthetic
from calolib.io import load_showers, save_showers
from calolib.synthetic import SyntheticParams, model_version


def _make_args(out, *extra):
    return ["data", "make", "--n", "6", "--chunk", "4", "--geometry", "ds1-photons", "--out", str(out),
            "--no-progress", "--if-missing", *extra]


def test_version_follows_the_parameters():
    assert model_version() == model_version(SyntheticParams())
    assert model_version(SyntheticParams(transport_fraction=0.1)) != model_version()


def test_make_stores_the_model_version(tmp_path):
    p = make(tmp_path / "a.h5", 3, geometry="ds1-photons", progress=False)
    with h5py.File(p, "r") as f:
        assert f.attrs["calolib_synthetic_version"] == model_version()
        assert f.attrs["generator"] == "calolib.synthetic"
    assert outdated_synthetic(p) is None


def test_if_missing_rebuilds_an_outdated_synthetic_file(tmp_path, capsys):
    out = tmp_path / "syn.h5"
    assert main(_make_args(out)) == 0
    capsys.readouterr()
    assert main(_make_args(out)) == 0
    assert "nothing to do" in capsys.readouterr().out
    before = load_showers(out).showers.copy()
    with h5py.File(out, "r+") as f:  # pretend an earlier model wrote it
        f.attrs["calolib_synthetic_version"] = "1-0123456789"
        f["showers"][0, :] = 0.0
    assert "another synthetic model" in outdated_synthetic(out)
    assert main(_make_args(out)) == 0
    stdout = capsys.readouterr().out
    assert "another synthetic model (1-0123456789" in stdout and "rebuilding" in stdout
    with h5py.File(out, "r") as f:
        assert f.attrs["calolib_synthetic_version"] == model_version()
    np.testing.assert_array_equal(load_showers(out).showers, before)  # the same seed: the same showers again


def test_unversioned_synthetic_file_counts_as_outdated(tmp_path):
    out = make(tmp_path / "old.h5", 2, geometry="ds1-photons", progress=False)
    with h5py.File(out, "r+") as f:
        del f.attrs["calolib_synthetic_version"]  # files of calolib <= this change carry no version
    assert "unversioned" in outdated_synthetic(out)


def test_if_missing_never_rebuilds_a_file_it_did_not_make(tmp_path, capsys):
    out = tmp_path / "real.h5"
    e, s = np.full(5, 2e3), np.ones((5, 368), dtype=np.float32)  # e.g. a real CaloChallenge file
    save_showers(out, e, s)
    assert outdated_synthetic(out) is None
    assert main(_make_args(out)) == 0
    assert "nothing to do" in capsys.readouterr().out
    np.testing.assert_array_equal(load_showers(out).showers, s)
