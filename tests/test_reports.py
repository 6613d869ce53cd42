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
