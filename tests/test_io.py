"""calolib.io: CaloChallenge layout, round trips, chunked/lazy reads and validation messages."""
from __future__ import annotations

import h5py
import numpy as np
import pytest

from calolib.errors import CalolibError
from calolib.io import (ShowerFile, ShowerFileError, ShowerWriter, check_showers, format_summary, iter_showers,
                        load_showers, save_showers)
from calolib.showers import Showers


def _data(n=20, v=368, seed=0, dtype=np.float32):
    rng = np.random.default_rng(seed)
    e = 10 ** rng.uniform(3, 6, n)
    s = (rng.exponential(5.0, (n, v)) * (rng.random((n, v)) < 0.3)).astype(dtype)
    return e, s


def _raw(path, **datasets):
    """Write datasets with plain h5py, as a third party (e.g. the CaloChallenge) would."""
    with h5py.File(path, "w") as f:
        for k, v in datasets.items():
            f.create_dataset(k, data=v)
    return path


def test_shower_file_error_is_value_error():
    assert issubclass(ShowerFileError, CalolibError) and issubclass(ShowerFileError, ValueError)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_round_trip_bit_exact(tmp_path, dtype):
    e, s = _data(dtype=dtype)
    save_showers(tmp_path / "a.h5", e, s)
    got = load_showers(tmp_path / "a.h5")
    assert got.geometry.name == "ds1-photons"
    assert got.showers.dtype == dtype
    np.testing.assert_array_equal(got.showers, s)
    np.testing.assert_array_equal(got.energies, e)
    with h5py.File(tmp_path / "a.h5") as f:  # the exact CaloChallenge layout
        assert set(f.keys()) == {"incident_energies", "showers"}
        assert f["incident_energies"].shape == (20, 1) and f["showers"].shape == (20, 368)
        assert f["showers"].compression == "gzip"


def test_save_accepts_showers_object_and_ds2(tmp_path):
    e, s = _data(n=5, v=6480)
    save_showers(tmp_path / "b.h5", Showers(e, s, "ds2"))
    got = load_showers(tmp_path / "b.h5", geometry="ds2")
    assert got.geometry.grid_shape == (45, 16, 9)
    np.testing.assert_array_equal(got.showers, s)


@pytest.mark.parametrize("e_shape", ["column", "flat"])
def test_plain_h5py_file_loads(tmp_path, e_shape):
    e, s = _data(n=7, v=533)
    e_arr = e.reshape(-1, 1) if e_shape == "column" else e
    path = _raw(tmp_path / "plain.h5", incident_energies=e_arr, showers=s)
    got = load_showers(path)
    assert got.geometry.name == "ds1-pions" and len(got) == 7
    np.testing.assert_array_equal(got.energies, e)
    np.testing.assert_array_equal(got.showers, s)


def test_chunked_reads_equal_full_read(tmp_path):
    e, s = _data(n=23)
    save_showers(tmp_path / "c.h5", e, s)
    full = load_showers(tmp_path / "c.h5")
    batches = list(iter_showers(tmp_path / "c.h5", batch_size=5))
    assert [len(b) for b in batches] == [5, 5, 5, 5, 3]
    joined = Showers.concatenate(batches)
    np.testing.assert_array_equal(joined.showers, full.showers)
    np.testing.assert_array_equal(joined.energies, full.energies)
    with ShowerFile(tmp_path / "c.h5") as f:
        assert len(f) == 23 and f.n_voxels == 368
        np.testing.assert_array_equal(f.read(4, 9).showers, s[4:9])
        assert len(f.read(20, 100)) == 3  # stop is clipped to the file


def test_max_events_and_start(tmp_path):
    e, s = _data(n=12)
    save_showers(tmp_path / "d.h5", e, s)
    got = load_showers(tmp_path / "d.h5", start=3, max_events=4)
    np.testing.assert_array_equal(got.energies, e[3:7])
    np.testing.assert_array_equal(got.showers, s[3:7])
    assert len(load_showers(tmp_path / "d.h5", max_events=100)) == 12
    assert len(load_showers(tmp_path / "d.h5", max_events=0)) == 0
    assert len(load_showers(tmp_path / "d.h5", start=12)) == 0
    with pytest.raises(ShowerFileError, match="start"):
        load_showers(tmp_path / "d.h5", start=13)


def test_max_events_reads_only_the_needed_rows(tmp_path):
    """Rows past the requested range are never read: a NaN there goes unnoticed by a partial load."""
    e, s = _data(n=10)
    s[8, 0] = np.nan
    path = _raw(tmp_path / "late_nan.h5", incident_energies=e[:, None], showers=s)
    assert len(load_showers(path, max_events=8)) == 8
    with pytest.raises(ShowerFileError, match="NaN"):
        load_showers(path)


def test_list_of_files_concatenates_in_order(tmp_path):
    parts = [_data(n=n, seed=i) for i, n in enumerate((4, 3, 5))]
    paths = []
    for i, (e, s) in enumerate(parts):
        save_showers(tmp_path / f"p{i}.h5", e, s)
        paths.append(tmp_path / f"p{i}.h5")
    all_e = np.concatenate([p[0] for p in parts])
    all_s = np.concatenate([p[1] for p in parts])
    got = load_showers(paths)
    np.testing.assert_array_equal(got.energies, all_e)
    np.testing.assert_array_equal(got.showers, all_s)
    # start/max_events count over the concatenation, crossing file boundaries
    got = load_showers(paths, start=2, max_events=7)
    np.testing.assert_array_equal(got.showers, all_s[2:9])
    assert [len(b) for b in iter_showers(paths, batch_size=10)] == [4, 3, 5]


def test_list_of_files_with_different_geometries_fails(tmp_path):
    save_showers(tmp_path / "a.h5", *_data(n=2, v=368))
    save_showers(tmp_path / "b.h5", *_data(n=2, v=533))
    with pytest.raises(ShowerFileError, match="533 voxels"):
        load_showers([tmp_path / "a.h5", tmp_path / "b.h5"])


def test_writer_appends_and_is_atomic(tmp_path):
    path = tmp_path / "w.h5"
    e, s = _data(n=9)
    with ShowerWriter(path, "ds1-photons", attrs={"seed": 3}) as w:
        w.write(e[:4], s[:4])
        w.write(Showers(e[4:], s[4:], "ds1-photons"))
        assert not path.exists()  # only the temporary file exists while writing
    np.testing.assert_array_equal(load_showers(path).showers, s)
    with h5py.File(path) as f:
        assert f.attrs["seed"] == 3
    # an exception inside the block leaves neither a half file nor the old file replaced
    with pytest.raises(RuntimeError):
        with ShowerWriter(path, "ds1-photons") as w:
            w.write(e[:2], s[:2])
            raise RuntimeError("interrupted")
    assert len(load_showers(path)) == 9
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w.h5"]


def test_writer_rejects_bad_batches(tmp_path):
    with ShowerWriter(tmp_path / "x.h5", "ds2") as w:
        with pytest.raises(ShowerFileError, match="6480"):
            w.write(np.ones(2), np.zeros((2, 368)))
        with pytest.raises(ShowerFileError, match="negative"):
            w.write(np.ones(1), -np.ones((1, 6480)))
    assert len(load_showers(tmp_path / "x.h5")) == 0


# ---------------------------------------------------------------------------- validation
def test_missing_file(tmp_path):
    with pytest.raises(ShowerFileError, match="no such file") as exc:
        load_showers(tmp_path / "nope.h5")
    assert "nope.h5" in str(exc.value)


def test_not_hdf5(tmp_path):
    (tmp_path / "text.h5").write_text("this is not an HDF5 file\n" * 10)
    with pytest.raises(ShowerFileError, match="not a readable HDF5") as exc:
        load_showers(tmp_path / "text.h5")
    assert "text.h5" in str(exc.value) and "\n" not in str(exc.value)


def test_truncated_file(tmp_path):
    e, s = _data(n=200, v=6480)
    save_showers(tmp_path / "full.h5", e, s)
    data = (tmp_path / "full.h5").read_bytes()
    (tmp_path / "trunc.h5").write_bytes(data[: len(data) // 2])
    with pytest.raises(ShowerFileError, match="truncated") as exc:
        load_showers(tmp_path / "trunc.h5")
    assert "trunc.h5" in str(exc.value) and "\n" not in str(exc.value)


def test_missing_key_names_it_and_lists_present(tmp_path):
    path = _raw(tmp_path / "k.h5", incident_energies=np.ones((2, 1)), voxels=np.zeros((2, 368)))
    with pytest.raises(ShowerFileError, match="'showers'") as exc:
        load_showers(path)
    assert "voxels" in str(exc.value)


@pytest.mark.parametrize("e_arr, s_arr, match", [
    (np.ones((3, 2)), np.zeros((3, 368)), "incident_energies' has shape"),
    (np.ones((3, 1)), np.zeros((3, 368, 1)), "expected 2-D"),
    (np.ones((3, 1)), np.zeros((3, 100)), "100 voxels per shower match no"),
    (np.ones((4, 1)), np.zeros((3, 368)), "mismatched N: 4 incident energies but 3 showers"),
])
def test_bad_shapes(tmp_path, e_arr, s_arr, match):
    path = _raw(tmp_path / "shape.h5", incident_energies=e_arr, showers=s_arr)
    with pytest.raises(ShowerFileError, match=match):
        load_showers(path)


def test_given_geometry_mismatch(tmp_path):
    save_showers(tmp_path / "g.h5", *_data(n=2))
    with pytest.raises(ShowerFileError, match="'ds2' has 6480"):
        load_showers(tmp_path / "g.h5", geometry="ds2")


@pytest.mark.parametrize("corrupt, match", [
    (lambda e, s: s.__setitem__((slice(2, 5), 3), np.nan), "3 showers contain NaN/inf"),
    (lambda e, s: s.__setitem__((6, 0), np.inf), "1 shower contains NaN/inf"),
    (lambda e, s: s.__setitem__((slice(1, 3), 0), -1.0), "2 showers contain negative"),
    (lambda e, s: e.__setitem__(4, 0.0), "1 incident energy is <= 0"),
    (lambda e, s: e.__setitem__(slice(0, 2), -5.0), "2 incident energies are <= 0"),
    (lambda e, s: e.__setitem__(1, np.nan), "1 incident energy is NaN"),
])
def test_bad_values(tmp_path, corrupt, match):
    e, s = _data(n=10)
    corrupt(e, s)
    path = _raw(tmp_path / "v.h5", incident_energies=e[:, None], showers=s)
    with pytest.raises(ShowerFileError, match=match) as exc:
        load_showers(path)
    assert "v.h5" in str(exc.value) and "\n" not in str(exc.value)
    with pytest.raises(ShowerFileError, match=match):
        check_showers(path, batch_size=3)  # chunked validation finds it too


def test_check_counts_bad_rows_across_chunks(tmp_path):
    """check_showers validates chunk by chunk and names the first bad row of the file."""
    e, s = _data(n=10)
    s[[7, 9, 3], 5] = -2.0  # rows in chunks 1 and 2 of batch_size 4
    path = _raw(tmp_path / "neg.h5", incident_energies=e[:, None], showers=s)
    with pytest.raises(ShowerFileError, match="3 showers contain negative .*first at row 3"):
        check_showers(path, batch_size=4)


def test_check_summary_values(tmp_path):
    e, s = _data(n=30)
    save_showers(tmp_path / "ok.h5", e, s)
    d = check_showers(tmp_path / "ok.h5", batch_size=7)
    assert d["n_events"] == 30 and d["geometry"] == "ds1-photons" and d["n_voxels"] == 368
    assert d["e_inc_min_mev"] == pytest.approx(e.min()) and d["e_inc_max_mev"] == pytest.approx(e.max())
    assert d["mean_sparsity"] == pytest.approx(np.mean((s < 1.0).mean(axis=1)))  # ds1 threshold 1 MeV
    assert d["mean_e_ratio"] == pytest.approx(np.mean(s.sum(axis=1, dtype=np.float64) / e), rel=1e-6)
    assert d["file_size_bytes"] == (tmp_path / "ok.h5").stat().st_size
    text = format_summary(d)
    assert "ds1-photons" in text and "30" in text and "MeV" in text


def test_read_rows_any_order(tmp_path):
    e, s = _data(n=15)
    s[11, 2] = -1.0
    path = _raw(tmp_path / "r.h5", incident_energies=e[:, None], showers=s)
    with ShowerFile(path) as f:
        got = f.read_rows([9, 2, 9, -1, 0])
        np.testing.assert_array_equal(got.showers, s[[9, 2, 9, 14, 0]])
        np.testing.assert_array_equal(got.energies, e[[9, 2, 9, 14, 0]])
        with pytest.raises(ShowerFileError, match="first at row 11"):  # the file's row number
            f.read_rows([3, 11])
        with pytest.raises(ShowerFileError, match="row indices"):
            f.read_rows([15])
