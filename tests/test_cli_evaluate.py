"""`calolib evaluate`: the official-definition table for two files, the floor, JSON output, bad input."""
from __future__ import annotations

import json

import numpy as np
import pytest

from calolib.cli import main
from calolib.io import save_showers
from calolib.synthetic import simulate


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("ev")
    out = {}
    for name, seed in (("gen", 1), ("ref", 2), ("ref2", 3)):
        s = simulate(120, seed=seed)
        v = s.showers * (0.8 if name == "gen" else 1.0)  # a 20 % low response: E_dep/E_inc is off
        save_showers(d / f"{name}.h5", s.energies, v)
        out[name] = d / f"{name}.h5"
    save_showers(d / "ds1.h5", np.full(60, 1e4), np.ones((60, 368)))
    return out


def test_table_json_and_no_overwrite(files, tmp_path, capsys):
    js = tmp_path / "eval.json"
    args = [str(files["gen"]), str(files["ref"]), "--ref2", str(files["ref2"]), "--no-classifier", "--no-extras",
            "--bootstrap", "3", "--json", str(js)]
    assert main(["evaluate", *args]) == 0
    out = capsys.readouterr().out
    assert "official CaloChallenge definitions" in out and "FPD ×1e3 (official)" in out and "floor" in out
    assert "classifier: not run" in out
    d = json.loads(js.read_text())
    assert d["columns"] == ["gen", "floor"]
    sep = d["metrics"]["sep_e_ratio"]
    assert sep["gen"]["value"] > 3 * sep["floor"]["value"]  # the response shift shows against the floor
    assert d["metrics"]["fpd"]["gen"]["value"] == pytest.approx(1e3 * d["evaluations"]["gen"]["metrics"]["fpd"]["value"])
    before = js.read_text()
    assert main(["evaluate", *args]) == 2  # exists: refuse without --force
    assert js.read_text() == before
    assert "--force" in capsys.readouterr().err
    assert main(["evaluate", *args, "--force"]) == 0


@pytest.mark.parametrize("bad,msg", [(["missing.h5", "REF"], "does not exist"), (["GEN", "DS1"], "is ds1-photons"),
                                     (["GEN", "REF", "--max-events", "10"], "--max-events must be >= 50")])
def test_bad_input_is_one_line_exit_2(files, capsys, bad, msg):
    sub = {"GEN": str(files["gen"]), "REF": str(files["ref"]), "DS1": str(files.get("ds1", ""))}
    args = [sub.get(a, a) for a in bad]
    if "DS1" in bad:
        args[1] = str(files["gen"].parent / "ds1.h5")
        args[0], args[1] = args[1], str(files["ref"])
    assert main(["evaluate", *args, "--no-classifier", "--no-extras"]) == 2
    err = capsys.readouterr().err.strip()
    assert msg in err and len(err.splitlines()) == 1 and "Traceback" not in err
