"""A study notebook run the way JupyterLab runs it: the kernel starts in ``notebooks/``, and the notebook's
project-relative paths (data file, run directory, output folder) still resolve against the project root."""
from __future__ import annotations

import json
import shutil
import uuid

import numpy as np
import pytest

from calolib.reports.provenance import project_root

pytestmark = [pytest.mark.notebook,
              pytest.mark.skipif(project_root() is None, reason="needs the project checkout (notebooks/ next to calolib)")]


@pytest.fixture(scope="module")
def workspace():
    """A scratch folder inside the project (reports/_work/ is git-ignored) with a tiny data file and run."""
    from calolib.io import save_showers
    from calolib.reports import PRESETS
    from calolib.synthetic import simulate
    from calolib.training import apply_overrides, get_preset, train

    root = project_root()
    rel = f"reports/_work/pytest-cwd-{uuid.uuid4().hex[:8]}"
    work = root / rel
    work.mkdir(parents=True)
    try:
        s = simulate(160, geometry="ds2", seed=5)
        save_showers(work / "tiny.h5", s.energies, s.showers)
        p = PRESETS["tiny"]["02_train"]
        config = apply_overrides(get_preset(p["preset"]), {"epochs": 1, "max_events": 120})
        config = apply_overrides(config, [o for o in p["overrides"] if not o.startswith(("log_rbm_ll", "ll_"))])
        train(config, work / "tiny.h5", work / "run", device="cpu", progress=False)
        yield root, rel
    finally:
        shutil.rmtree(work, ignore_errors=True)


def test_notebook_finds_data_and_run_from_the_notebooks_folder(workspace, monkeypatch):
    import papermill as pm

    from calolib.reports.catalog import read_notebook

    root, rel = workspace
    monkeypatch.delenv("CALOLIB_KEEP_CWD", raising=False)  # what a JupyterLab kernel sees
    nb = read_notebook(root / "notebooks" / "09_decoder_explorer.py")
    params = {"data_path": f"{rel}/tiny.h5", "run_dir": f"{rel}/run", "out_dir": f"{rel}/out", "n_events": 20,
              "n_grid": 5, "device": "cpu", "samplers": ["encoder"]}
    assert not (root / "notebooks" / params["data_path"]).exists()  # relative to notebooks/ the paths lead nowhere
    executed = pm.execute_notebook(nb, str(root / rel / "executed.ipynb"), parameters=params, kernel_name="python3",
                                   progress_bar=False, cwd=str(root / "notebooks"), execution_timeout=600)
    out = root / rel / "out" / "09_decoder_explorer.results.json"
    assert out.is_file() and not (root / "notebooks" / rel).exists()  # written under the project root
    res = json.loads(out.read_text())
    assert res["sweep_energies"] == [3000.0, 30000.0, 300000.0]
    assert np.allclose(res["decoded_e_ratio"], np.array(res["decoded_e_total"]) / np.array(res["sweep_energies"]))
    printed = "".join(o.get("text", "") for c in executed.cells for o in c.get("outputs", []))
    assert f"-> project root {root}" in printed and "20 events" in printed
