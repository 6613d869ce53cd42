"""JupyterLab as ``make lab`` starts it: the project root served with the repo's Jupyter settings.

A real server runs on 127.0.0.1 over a copy of the notebooks and ``jupytext.toml``; through the REST API
every ``.py`` opens as a notebook (Jupytext's contents manager), saving it back writes the paired
``.ipynb`` and leaves the ``.py`` byte for byte unchanged (no Jupytext version churn in the header), and
the shipped settings make "Jupytext Notebook" the default viewer of Python files (a double-click opens
a notebook)."""
from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from calolib.reports.provenance import project_root

pytestmark = [pytest.mark.notebook, pytest.mark.slow,
              pytest.mark.skipif(project_root() is None, reason="needs the project checkout")]

TOKEN = "calolib-test"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def lab(tmp_path):
    root = project_root()
    proj = tmp_path / "proj"
    (proj / "notebooks").mkdir(parents=True)
    for p in (root / "notebooks").glob("*.py"):
        shutil.copy(p, proj / "notebooks" / p.name)
    shutil.copy(root / "jupytext.toml", proj / "jupytext.toml")
    port = _free_port()
    env = {**os.environ, "JUPYTER_CONFIG_PATH": str(root / "jupyter"), "JUPYTER_RUNTIME_DIR": str(tmp_path / "rt")}
    env.pop("MPLBACKEND", None)
    args = [sys.executable, "-m", "jupyterlab", f"--ServerApp.root_dir={proj}", "--no-browser", f"--port={port}",
            "--ServerApp.ip=127.0.0.1", f"--IdentityProvider.token={TOKEN}", "--ServerApp.port_retries=0"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        args.append("--allow-root")
    log = open(tmp_path / "lab.log", "w")
    proc = subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 180
        while True:
            try:
                urllib.request.urlopen(f"{base}/api/status?token={TOKEN}", timeout=5)
                break
            except (urllib.error.URLError, ConnectionError, OSError):
                if proc.poll() is not None or time.time() > deadline:
                    pytest.fail("jupyter lab did not start: " + (tmp_path / "lab.log").read_text()[-2000:])
                time.sleep(0.5)
        yield base, proj
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def _call(base, method, path, body=None):
    req = urllib.request.Request(base + path, method=method, data=None if body is None else json.dumps(body).encode(),
                                 headers={"Authorization": f"token {TOKEN}", "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as r:
        return json.loads(r.read() or b"null")


def test_py_notebooks_open_as_notebooks_pair_and_leave_no_diff(lab):
    base, proj = lab
    names = sorted(p.name for p in (proj / "notebooks").glob("*.py"))
    assert len(names) >= 9
    for name in names:
        path = proj / "notebooks" / name
        before = path.read_bytes()
        model = _call(base, "GET", f"/api/contents/notebooks/{name}?content=1")
        assert model["type"] == "notebook", name  # Jupytext's contents manager, config found at the root
        assert any("parameters" in c["metadata"].get("tags", []) for c in model["content"]["cells"])
        _call(base, "PUT", f"/api/contents/notebooks/{name}", {"type": "notebook", "format": "json",
                                                                "content": model["content"]})
        assert path.read_bytes() == before, f"saving {name} rewrote it"
        assert path.with_suffix(".ipynb").is_file(), f"{name} was not paired with an .ipynb"
    # the paired .ipynb opens with the .py's text (the .py is the source of truth)
    name = names[0]
    text = (proj / "notebooks" / name).read_text().replace("# %% [markdown]\n# # ", "# %% [markdown]\n# # EDITED ", 1)
    (proj / "notebooks" / name).write_text(text)
    paired = _call(base, "GET", f"/api/contents/notebooks/{name[:-3]}.ipynb?content=1")
    assert any("EDITED" in c["source"] for c in paired["content"]["cells"])


def test_double_click_opens_python_files_as_notebooks(lab):
    base, _ = lab
    settings = _call(base, "GET", "/lab/api/settings/@jupyterlab/docmanager-extension:plugin")
    assert settings["schema"]["properties"]["defaultViewers"]["default"].get("python") == "Jupytext Notebook"
