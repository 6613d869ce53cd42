"""The papermill report runner on tiny throwaway notebooks: success, failure isolation, index, --list, -p."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from calolib.cli import main
from calolib.commands.reports import format_listing
from calolib.errors import ConfigError
from calolib.reports import (NOTEBOOKS, PRESETS, find_notebooks, notebook_parameters, parse_override, plan,
                             resolve_parameters, run_reports)
from calolib.reports.catalog import default_notebooks_dir

OK_NB = '''# %% [markdown]
# # Square report
# Squares a number and draws a line.

# %% tags=["parameters"]
n: int = 3  # the number to square
label: str = "x"  # a label
out_dir: str = "."  # output folder

# %%
from calolib.reports.notebook import setup, save_results
setup()
import matplotlib.pyplot as plt
fig, ax = plt.subplots()
ax.plot(range(n))
plt.show()
save_results(out_dir, "{name}", {{"n": n, "square": n * n, "label": label}})
'''

FAIL_NB = '''# %% [markdown]
# # Failing report

# %% tags=["parameters"]
x: float = 1.0  # a number

# %%
y = 2 * x

# %%
raise RuntimeError(f"deliberate failure at y={y}")
'''


@pytest.fixture
def nbdir(tmp_path: Path) -> Path:
    d = tmp_path / "nbs"
    d.mkdir()
    (d / "a_fail.py").write_text(FAIL_NB)
    (d / "b_square.py").write_text(OK_NB.format(name="b_square"))
    return d


def test_failure_is_reported_and_others_still_run(nbdir, tmp_path):
    out = tmp_path / "out"
    results = run_reports("tiny", out_dir=out, notebooks_dir=nbdir, params_overrides={"n": 7, "a_fail.x": 2.5},
                          progress=False, depends={})
    by = {r.name: r for r in results}
    assert [r.name for r in results] == ["a_fail", "b_square"]
    assert by["a_fail"].status == "failed"
    assert by["a_fail"].error == "RuntimeError: deliberate failure at y=5.0"  # the override reached the kernel
    assert by["a_fail"].title == "Failing report"
    assert by["b_square"].ok and by["b_square"].error is None
    # the square was computed inside the kernel from the injected parameter
    assert json.loads((out / "b_square.results.json").read_text()) == {"n": 7, "square": 49, "label": "x"}
    assert by["b_square"].results["square"] == 49
    assert by["b_square"].parameters == {"n": 7, "out_dir": str(out)}
    # executed notebook, HTML with code hidden, one PNG thumbnail
    html = (out / "b_square.html").read_text()
    assert "Squares a number" in html and "save_results(" not in html and "image/png" in html
    assert by["b_square"].figures == ["figures/b_square_1.png"]
    assert (out / "figures" / "b_square_1.png").read_bytes()[:4] == b"\x89PNG"
    assert (out / "a_fail.ipynb").exists() and (out / "a_fail.html").exists()
    # index: both cards, statuses, the error's last line, links and thumbnails
    index = (out / "index.html").read_text()
    for text in ("Square report", "Failing report", "deliberate failure at y=5.0", 'href="b_square.html"',
                 'src="figures/b_square_1.png"', "1/2 ok", "failed"):
        assert text in index
    record = json.loads((out / "index.json").read_text())
    assert [r["status"] for r in record["reports"]] == ["failed", "ok"]


def test_dependency_failure_skips_dependents(nbdir, tmp_path):
    results = run_reports("tiny", out_dir=tmp_path / "o", notebooks_dir=nbdir, progress=False,
                          depends={"b_square": ["a_fail"]})
    assert [(r.name, r.status) for r in results] == [("a_fail", "failed"), ("b_square", "skipped")]
    assert "a_fail" in results[1].error


def test_only_parallel_jobs_and_index_keeps_earlier_cards(nbdir, tmp_path):
    out = tmp_path / "o"
    for name in ("c_square", "d_square"):
        (nbdir / f"{name}.py").write_text(OK_NB.format(name=name))
    first = run_reports("tiny", only=["b_square"], out_dir=out, notebooks_dir=nbdir, progress=False)
    assert [r.name for r in first] == ["b_square"] and not (out / "c_square.html").exists()
    second = run_reports("tiny", only=["d_square", "c_square"], out_dir=out, notebooks_dir=nbdir, progress=False,
                         jobs=2, params_overrides={"n": 5, "d_square.n": 6})
    assert [(r.name, r.results["square"]) for r in second] == [("c_square", 25), ("d_square", 36)]
    index = json.loads((out / "index.json").read_text())
    assert {r["name"]: r["results"]["square"] for r in index["reports"]} == {"b_square": 9, "c_square": 25,
                                                                             "d_square": 36}
    assert (out / "index.html").read_text().count('class="card ok"') == 3


def test_cli_exit_code_and_errors(nbdir, tmp_path, capsys):
    rc = main(["reports", "--preset", "tiny", "--notebooks", str(nbdir), "--out", str(tmp_path / "o"), "--quiet",
               "--only", "a_fail", "-p", "x", "0.5"])
    captured = capsys.readouterr()
    assert rc == 1 and "0/1 reports ok" in captured.out
    assert "a_fail: failed: RuntimeError: deliberate failure at y=1.0" in captured.err
    # bad inputs: one line on stderr, exit code 2, nothing run
    for argv, text in ((["--only", "nope"], "unknown notebook"), (["-p", "nonexistent", "1"], "no selected notebook"),
                       (["-p", "b_square.zzz", "1"], "has no parameter 'zzz'"), (["-p", "a.b.c", "1"], "bad parameter name")):
        rc = main(["reports", "--notebooks", str(nbdir), "--out", str(tmp_path / "bad"), *argv])
        err = capsys.readouterr().err
        assert rc == 2 and text in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "bad").exists()
    assert main(["reports", "--notebooks", str(tmp_path / "missing"), "--list"]) == 2


def test_list_documents_parameters(nbdir, capsys):
    assert main(["reports", "--notebooks", str(nbdir), "--list"]) == 0
    text = capsys.readouterr().out
    assert "b_square: Square report" in text
    assert 'n: int (default 3)' in text and "the number to square" in text
    assert "x: float (default 1.0)" in text and "a number" in text
    params = notebook_parameters(nbdir / "b_square.py")
    assert [(p.name, p.type, p.default) for p in params] == [("n", "int", "3"), ("label", "str", '"x"'),
                                                               ("out_dir", "str", '"."')]


@pytest.mark.parametrize("value, expected", [("3", 3), ("2.5", 2.5), ("1e-3", 1e-3), ("true", True), ("null", None),
                                             ("[1, 2]", [1, 2]), ("{a: 1}", {"a": 1}), ("runs/x", "runs/x"),
                                             ("'007'", "007")])
def test_parse_override_reads_yaml(value, expected):
    assert parse_override("name", value) == ("name", expected)


def test_parse_override_rejects_bad_input():
    with pytest.raises(ConfigError, match="YAML"):
        parse_override("n", "[1, 2")
    with pytest.raises(ConfigError, match="bad parameter name"):
        parse_override("not a name", "1")


def test_resolve_parameters_priority_and_placeholders():
    preset = {"*": {"seed": 1, "run_dir": "{out_dir}/runs/{preset}", "unused": 0}, "nb": {"seed": 2, "k": 3}}
    got = resolve_parameters("nb", ["seed", "run_dir", "k"], preset, {"k": 4}, context={"out_dir": "R", "preset": "q"})
    assert got == {"seed": 2, "run_dir": "R/runs/q", "k": 4}
    assert resolve_parameters("other", ["seed"], preset, {"nb.k": 9}) == {"seed": 1}


def test_plan_orders_dependencies_and_rejects_cycles():
    assert plan(["c", "b", "a"], {"a": ["c"], "b": []}) == ["b", "c", "a"]
    with pytest.raises(ConfigError, match="circular"):
        plan(["a", "b"], {"a": ["b"], "b": ["a"]})


def test_unknown_preset():
    with pytest.raises(ConfigError, match="unknown preset"):
        run_reports("huge", progress=False)


def test_catalogue_matches_the_notebooks():
    """Every study exists, and every preset value names a parameter the notebook declares."""
    found = find_notebooks(default_notebooks_dir())
    assert list(found) == list(NOTEBOOKS)
    for name, path in found.items():
        params = notebook_parameters(path)
        declared = {p.name for p in params}
        assert {"out_dir", "seed"} <= declared, name
        assert all(p.help for p in params), f"{name}: every parameter needs a help comment"
        assert all(p.type != "None" for p in params), f"{name}: every parameter needs a type hint"
        for preset in PRESETS.values():
            assert set(preset.get(name, {})) <= declared, (name, set(preset.get(name, {})) - declared)
        assert format_listing(default_notebooks_dir()).count(f"{name}:") == 1


def test_key_figures_are_preferred_in_the_index(tmp_path):
    """The thumbnails: first figure of each cell tagged key-figure, then the rest, at most n."""
    import base64

    import nbformat

    from calolib.reports import extract_figures

    def cell(tags, *payloads):
        outs = [nbformat.v4.new_output("display_data", data={"image/png": base64.b64encode(p).decode()})
                for p in payloads]
        return nbformat.v4.new_code_cell("", outputs=outs, metadata={"tags": tags})

    nb = nbformat.v4.new_notebook(cells=[cell([], b"plain"), cell(["key-figure"], b"key1a", b"key1b"),
                                         cell(["key-figure"], b"key2")])
    paths = extract_figures(nb, tmp_path, "nb", n=3)
    assert [p.read_bytes() for p in paths] == [b"key1a", b"key2", b"key1b"]
    assert [p.name for p in extract_figures(nb, tmp_path, "nb", n=1)] == ["nb_1.png"]
    assert not (tmp_path / "nb_2.png").exists()  # stale thumbnails of an earlier run are removed


def test_a_dying_kernel_is_a_failed_report(tmp_path):
    d = tmp_path / "nbs"
    d.mkdir()
    (d / "crash.py").write_text('# %% [markdown]\n# # Crash\n\n# %%\nimport os\nos._exit(3)\n')
    (result,) = run_reports("tiny", out_dir=tmp_path / "o", notebooks_dir=d, progress=False, timeout=60)
    assert result.status == "failed" and "Kernel" in result.error and "kernel log: _work/crash.kernel.log" in result.error
    assert (tmp_path / "o" / "_work" / "crash.kernel.log").exists()
    assert "Crash" in (tmp_path / "o" / "index.html").read_text()


# ---------------------------------------------------------------- issue 11 item 4 and issue 13 (runner defects)
SLOW_NB = '''# %% [markdown]
# # Slow report

# %% tags=["parameters"]
x: int = 1  # a number

# %%
import time
y = x + 1

# %%
time.sleep(60)
'''

DATA_NB = '''# %% [markdown]
# # Data report

# %% tags=["parameters"]
data_path: str = "data/synthetic_ds2.h5"  # the showers
out_dir: str = "."  # output folder

# %%
import os
from calolib.io import load_showers
from calolib.reports.notebook import setup, save_results
setup()
s = load_showers(data_path)
save_results(out_dir, "data_nb", {"n": len(s), "cwd": os.getcwd()})
'''


def test_timeout_names_the_cell_not_a_separator(tmp_path):
    d = tmp_path / "nbs"
    d.mkdir()
    (d / "slow.py").write_text(SLOW_NB)
    (result,) = run_reports("tiny", out_dir=tmp_path / "o", notebooks_dir=d, progress=False, timeout=3)
    assert result.status == "failed"
    assert result.error == "TimeoutError: cell 4 (time.sleep(60)) ran past the per-cell limit of 3 s; raise it with --timeout"
    assert "cell 4" in (tmp_path / "o" / "index.html").read_text()


def test_skipped_dependants_say_which_dependency_failed(nbdir, tmp_path, capsys, monkeypatch):
    from calolib.reports.runner import _last_line

    monkeypatch.setattr("calolib.reports.runner.DEPENDS", {"b_square": ("a_fail",)})
    rc = main(["reports", "--preset", "tiny", "--notebooks", str(nbdir), "--out", str(tmp_path / "o"), "--quiet"])
    err = capsys.readouterr().err
    assert rc == 1 and "b_square: skipped: a_fail failed" in err and "skipped: skipped" not in err
    record = {r["name"]: r for r in json.loads((tmp_path / "o" / "index.json").read_text())["reports"]}["b_square"]
    assert record["status"] == "skipped" and record["error"] == "a_fail failed"
    index = (tmp_path / "o" / "index.html").read_text()
    assert "skipped: a_fail failed" in index and "skipped: skipped" not in index
    assert _last_line(RuntimeError("boom\n-------------------\n")) == "RuntimeError: boom"


def test_missing_default_data_is_built_and_a_missing_user_file_is_one_error(tmp_path, monkeypatch, capsys):
    from calolib.io import save_showers
    from calolib.synthetic import simulate

    d = tmp_path / "nbs"
    d.mkdir()
    (d / "data_nb.py").write_text(DATA_NB)
    work = tmp_path / "work"
    work.mkdir()
    built = []

    def fake_make(path, *args, **kw):  # the real builder simulates 50k showers; the test needs 12
        built.append(Path(path))
        s = simulate(12, geometry="ds2", seed=1)
        save_showers(path, s.energies, s.showers)
        return Path(path)

    monkeypatch.setattr("calolib.commands.data.make", fake_make)
    monkeypatch.chdir(work)
    # a user's missing file: one line, exit 2, nothing run or built
    rc = main(["reports", "--preset", "tiny", "--notebooks", str(d), "--out", "o", "--quiet", "-p", "data_path", "mine.h5"])
    err = capsys.readouterr().err
    assert rc == 2 and "'mine.h5'" in err and "data_nb" in err and len(err.strip().splitlines()) == 1
    assert not built and not (work / "o").exists()
    # the default path on a fresh checkout: built first (as `make reports` does), then read
    rc = main(["reports", "--preset", "tiny", "--notebooks", str(d), "--out", "o", "--quiet"])
    assert rc == 0, capsys.readouterr().err
    assert built == [work / "data" / "synthetic_ds2.h5"] and built[0].is_file()
    res = json.loads((work / "o" / "data_nb.results.json").read_text())
    assert res["n"] == 12 and Path(res["cwd"]) == work  # the kernel kept the runner's working directory
    # without the CLI's permission, the runner never builds: a clear error
    (work / "data" / "synthetic_ds2.h5").unlink()
    from calolib.errors import ShowerFileError

    with pytest.raises(ShowerFileError, match="make data"):
        run_reports("tiny", out_dir="o", notebooks_dir=d, progress=False)


def test_provenance_of_a_git_checkout(tmp_path):
    import hashlib
    import subprocess

    from calolib.reports.provenance import collect, git_state, sha256_file

    repo = tmp_path / "repo"
    (repo / "reports").mkdir(parents=True)
    (repo / "a.txt").write_text("one")
    (repo / "reports" / "r.html").write_text("old")

    def git(*args):
        return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout.strip()

    git("init", "-q")
    git("-c", "user.email=t@t", "-c", "user.name=t", "add", ".")
    git("-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "x")
    state = git_state(repo, exclude=[repo / "reports"])
    assert state["commit"] == git("rev-parse", "HEAD") and state["dirty"] is False
    (repo / "reports" / "r.html").write_text("new")  # a report rewritten by the run: still clean
    assert git_state(repo, exclude=[repo / "reports"])["dirty"] is False
    (repo / "a.txt").write_text("two")  # a tracked source file changed: dirty
    assert git_state(repo, exclude=[repo / "reports"]) | {"commit": 0} == {"commit": 0, "short": state["short"],
                                                                          "branch": state["branch"], "dirty": True,
                                                                          "n_changed": 1}
    assert git_state(tmp_path / "not-a-repo") is None
    data = tmp_path / "d.h5"
    data.write_bytes(b"abc" * 1000)
    cache: dict = {}
    assert sha256_file(data, cache=cache) == hashlib.sha256(b"abc" * 1000).hexdigest()
    data.write_bytes(b"abd" * 1000)  # a changed file is hashed again (size and mtime key the cache)
    import os

    os.utime(data, ns=(1, 1))
    assert sha256_file(data, cache=cache) == hashlib.sha256(b"abd" * 1000).hexdigest()
    p = collect([data, data, tmp_path / "missing.h5"], preset="quick", gpu=False)
    assert [d["sha256"] is not None for d in p["data"]] == [True, False]  # duplicates hashed once
    assert p["versions"]["calolib"] and p["versions"]["torch"] and p["versions"]["numpy"]
    assert p["cpu"]["cores"] >= 1 and p["gpu"] is None and p["preset"] == "quick"


def _record(name, title, results, **kw):
    from calolib.reports import ReportResult

    return ReportResult(name=name, title=title, results=results, html=f"{name}.html", **kw)


def test_index_headline_takeaways_and_every_key_number(tmp_path):
    from calolib.reports import write_index
    from calolib.reports.index import N_VISIBLE, headline_rows, key_numbers

    many = {f"q{i:02d}": i + 0.5 for i in range(40)}
    nested = {"fit": {"a": 0.123456, "b": {"deep": 7}}, "cases": [{"tau": 1.5}, {"tau": 12.25}], "grid": [1, 2, 3]}
    records = [
        _record("03_evaluate", "03 · Evaluation", {
            "headline": {"FPD (×1e3)": {"value": 1.93, "err": 0.21}, "AUC high-level": 0.931},
            "takeaways": [{"key": "auc", "verdict": "apart", "text": "The classifier tells them **apart** (AUC 0.93).",
                           "numbers": {}}], **many}),
        _record("07_autocorrelation", "07 · ACF", {"headline": {"τ_int (trained prior)": 12.5}, **nested}),
        _record("08_annealer", "08 · Annealer", {}, status="failed", error="RuntimeError: x"),
    ]
    prov = {"date": "2026-01-01 00:00:00 +0000", "preset": "quick",
            "git": {"commit": "c0ffee" * 6 + "ab", "short": "c0ffeec0ff", "branch": "main", "dirty": True, "n_changed": 2},
            "data": [{"path": "data/synthetic_ds2.h5", "sha256": "ab" * 32, "size_bytes": 2_000_000}],
            "versions": {"calolib": "0.1.0", "torch": "2.13.0", "numpy": "2.4", "dwave-ocean-sdk": "9.5.0"},
            "python": "3.11", "cpu": {"model": "Test CPU", "cores": 2, "usable_cores": 2}, "gpu": None}
    page = write_index(records, tmp_path, preset="quick", order=["03_evaluate", "07_autocorrelation", "08_annealer"],
                       provenance=prov).read_text()
    # provenance box
    for text in ("c0ffee" * 6 + "ab", "dirty", "ab" * 32, "data/synthetic_ds2.h5", "torch 2.13.0", "dwave-ocean-sdk 9.5.0",
                 "Test CPU · 2 cores", "<th>GPU</th><td>none</td>", "2026-01-01 00:00:00 +0000 · quick"):
        assert text in page, text
    # headline table across reports, in report order, values formatted with their errors
    assert [(r.name, label, v) for r, label, v in headline_rows(records)] == [
        ("03_evaluate", "FPD (×1e3)", "1.93 ± 0.21"), ("03_evaluate", "AUC high-level", "0.931"),
        ("07_autocorrelation", "τ_int (trained prior)", "12.5")]
    head = page[page.index("Headline numbers"):page.index('<section class="card')]
    assert head.index("1.93 ± 0.21") < head.index("0.931") < head.index("12.5") and 'href="#03_evaluate"' in head
    # take-aways rendered (markdown) on the card
    assert "The classifier tells them <strong>apart</strong> (AUC 0.93)." in page
    # every key number is on the page: 40 scalars (N_VISIBLE shown, the rest folded), nested ones flattened
    card = page[page.index('id="03_evaluate"'):page.index('id="07_autocorrelation"')]
    assert all(f"<td>q{i:02d}</td><td>{i + 0.5:.4g}</td>" in card for i in range(40))
    assert f"{40 - N_VISIBLE} more</summary>" in card and "key numbers (40)" in card
    assert key_numbers(nested) == [("fit.a", 0.123456), ("fit.b.deep", 7), ("cases[0].tau", 1.5),
                                   ("cases[1].tau", 12.25), ("grid", [1, 2, 3])]
    for text in ("<td>fit.b.deep</td><td>7</td>", "<td>cases[1].tau</td><td>12.25</td>", "<td>grid</td><td>[1, 2, 3]</td>"):
        assert text in page, text
    assert 'href="03_evaluate.results.json"' in card and "headline" not in card.split("key numbers")[1]
    # a card whose run had another commit says so; index.json keeps the provenance for the next --only run
    other = dict(prov, git={**prov["git"], "commit": "1" * 40, "short": "1111111111"})
    write_index([_record("07_autocorrelation", "07 · ACF", {}, provenance=other)], tmp_path, provenance=prov)
    page = (tmp_path / "index.html").read_text()
    assert "run with commit 1111111111" in page and page.count('class="card') == 3
    assert json.loads((tmp_path / "index.json").read_text())["provenance"]["git"]["short"] == "c0ffeec0ff"


def test_pages_are_titled_link_back_and_show_parameters(nbdir, tmp_path):
    out = tmp_path / "o"
    run_reports("tiny", only=["b_square"], out_dir=out, notebooks_dir=nbdir, progress=False,
                params_overrides={"n": 4, "label": "seven"})
    page = (out / "b_square.html").read_text()
    assert "<title>Square report</title>" in page
    top = page[page.index('<div class="calolib-top">'):]
    assert '<a href="index.html">← all reports</a>' in top and "<b>Square report</b>" in top
    assert "<td>n</td><td>4</td>" in top and "<td>label</td><td>seven</td>" in top and f"<td>out_dir</td><td>{out}</td>" in top
    assert "preset tiny" in top and "commit " in top  # provenance line
    index = json.loads((out / "index.json").read_text())
    assert index["provenance"]["preset"] == "tiny" and index["reports"][0]["provenance"]["preset"] == "tiny"


def test_setup_moves_a_kernel_started_inside_the_project_to_its_root(tmp_path, monkeypatch):
    from calolib.reports.notebook import project_cwd
    from calolib.reports.provenance import project_root

    root = tmp_path / "proj"
    (root / "notebooks" / "sub").mkdir(parents=True)
    monkeypatch.delenv("CALOLIB_KEEP_CWD", raising=False)
    assert project_cwd(root, cwd=root / "notebooks") == root.resolve()
    assert project_cwd(root, cwd=root / "notebooks" / "sub") == root.resolve()
    assert project_cwd(root, cwd=root) is None and project_cwd(root, cwd=tmp_path) is None
    monkeypatch.setenv("CALOLIB_KEEP_CWD", "1")
    assert project_cwd(root, cwd=root / "notebooks") is None
    if project_root() is not None:  # an editable checkout (the test suite's case)
        assert (project_root() / "notebooks" / "01_data.py").is_file()


def test_a_notebook_run_by_hand_writes_into_an_ignored_folder():
    """Run in JupyterLab (not by `calolib reports`, which sets out_dir), a notebook must not rewrite the tracked
    reports/*.results.json: every notebook's default out_dir is a git-ignored folder."""
    import fnmatch

    from calolib.reports.catalog import find_notebooks, notebook_parameters
    from calolib.reports.provenance import project_root

    root = project_root()
    if root is None or not (root / ".gitignore").is_file():
        pytest.skip("needs the project checkout")
    ignored = [line.strip().rstrip("/") for line in (root / ".gitignore").read_text().splitlines()
               if line.strip() and not line.startswith("#")]
    for name, path in find_notebooks(root / "notebooks").items():
        out = {p.name: p.default for p in notebook_parameters(path)}.get("out_dir")
        assert out is not None, f"{name} declares no out_dir"
        folder = out.strip("'\"").rstrip("/")
        assert any(fnmatch.fnmatch(folder, pat) or folder.startswith(pat + "/") for pat in ignored), (name, folder)
