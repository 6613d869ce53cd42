"""The notebook catalogue: which studies exist, their order, presets and parameters.

Every study is a Jupytext percent-format ``notebooks/NN_name.py`` whose cell tagged ``parameters``
declares type-hinted parameters with a comment each (``n_events: int = 2000  # showers to load``);
papermill's Python translator parses that cell, so ``calolib reports --list`` documents the
parameters exactly like ``papermill --help-notebook`` does.

A *preset* maps notebook names to parameter values.  The key ``"*"`` holds shared values that are
passed to every notebook declaring that parameter.  String values may use the placeholders
``{out_dir}`` and ``{preset}`` (e.g. ``run_dir = "{out_dir}/runs/{preset}"``).  Priority, lowest
first: the notebook's own defaults, the preset's shared values, the preset's per-notebook values,
then ``-p`` overrides (``NAME`` for every notebook that declares it, ``NOTEBOOK.NAME`` for one).
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from calolib.errors import ConfigError

__all__ = [
    "NOTEBOOKS",
    "DEPENDS",
    "PRESETS",
    "NotebookParameter",
    "default_notebooks_dir",
    "find_notebooks",
    "read_notebook",
    "notebook_title",
    "notebook_parameters",
    "parse_override",
    "parse_overrides",
    "resolve_parameters",
]


def __dir__():
    return __all__

#: The studies, in the order they run (and appear in the index).
NOTEBOOKS: tuple[str, ...] = (
    "01_data",
    "02_train",
    "02_controls",
    "03_evaluate",
    "04_rbm",
    "05_latent_clustering",
    "06_einc_sweep",
    "07_autocorrelation",
    "08_annealer",
    "09_decoder_explorer",
    "10_samplers",
    "11_sweep",
)

#: notebook -> notebooks that must finish first (they read 02_train's checkpoint).
DEPENDS: dict[str, tuple[str, ...]] = {
    "02_controls": ("02_train",),
    "03_evaluate": ("02_train", "02_controls"),
    "04_rbm": ("02_train",),
    "05_latent_clustering": ("02_train",),
    "06_einc_sweep": ("02_train",),
    "07_autocorrelation": ("02_train",),
    "09_decoder_explorer": ("02_train",),
    "10_samplers": ("02_train",),
}

_SHARED = {"data_path": "data/synthetic_ds2.h5", "run_dir": "{out_dir}/runs/{preset}", "device": "auto", "seed": 0}

#: 11_sweep "tiny": a 2 configurations x 2 seeds sweep small enough for the tests (4 points, seconds each)
_TINY_SWEEP = {"preset": "quick", "seeds": [0, 1],
               "set": {"epochs": 1, "max_events": 200, "batch_size": 32, "n_neg_chains": 32,
                       "model.encoder_hidden": [16], "model.decoder_hidden": [16], "model.cnn_channels": [2],
                       "model.cnn_hidden": 16, "model.rbm_sizes": [8, 8, 8, 8]},
               "grid": {"model.encoder": ["fcn", "cnn"]},
               "evaluate": {"n_events": 100, "gibbs_steps": 10, "classifier_epochs": 2, "n_bootstrap": 2, "bins": 20}}

#: preset -> {notebook or "*": {parameter: value}}.  "tiny" is for the tests (seconds per notebook),
#: "quick" for ``make reports`` on 2 CPU cores (≈ 12 min in all), "full" for real runs on a GPU.
PRESETS: dict[str, dict[str, dict[str, Any]]] = {
    "tiny": {
        "*": {**_SHARED, "device": "cpu"},
        "01_data": {"n_events": 400},
        "02_controls": {"preset": "quick"},
        "02_train": {"preset": "quick", "epochs": 2, "max_events": 400,
                     "overrides": ["model.encoder_hidden=[64]", "model.decoder_hidden=[64]", "n_neg_chains=32",
                                   "log_rbm_ll=true", "ll_chains=16", "ll_betas=50", "gen_check_events=40"]},
        "02_controls": {"preset": "quick", "epochs": 2, "max_events": 400,
                        "overrides": ["model.encoder_hidden=[64]", "model.decoder_hidden=[64]"]},
        "03_evaluate": {"n_events": 300, "n_bootstrap": 2, "classifier_epochs": 2, "gibbs_steps": 20,
                        "seed_sweep": "{out_dir}/sweeps/priors"},
        "04_rbm": {"n_samples": 200, "gibbs_steps": 20, "ais_betas": 100, "ais_chains": 8, "ll_codes": 4,
                   "rais_gibbs_steps": 50, "convergence_betas": [10, 30]},
        "05_latent_clustering": {"n_events": 24, "n_groups": 3, "n_repeats": 8},
        "06_einc_sweep": {"n_events": 24, "n_grid": 8},
        "07_autocorrelation": {"n_spins": 8, "ensemble": 20, "n_steps": 200, "burn_in": 10, "thin_every": 20,
                               "thin_records": 20, "thin_chains": 8, "traj_sweeps": 100},
        "08_annealer": {"n_per_partition": 3, "n_samples": 200, "n_reads": 50, "scan_betas": [1.0, 2.0, 4.0],
                        "n_boot": 10},
        "09_decoder_explorer": {"n_grid": 5},
        "10_samplers": {"n_showers": 60, "gibbs_sweeps": [1, 10], "sa_sweeps": [10], "pimc_sweeps": [10], "qpu_sweeps": [20],
                        "reference_sweeps": 50, "n_probe": 60, "tau_sweeps": 50, "classifier_epochs": 1,
                        "n_bootstrap": 2},
        "11_sweep": {"sweep_dir": "{out_dir}/sweeps/tiny", "spec": _TINY_SWEEP, "workers": 2},
    },
    "quick": {
        "*": _SHARED,
        "01_data": {"n_events": 10000},
        "02_train": {"preset": "quick",
                     "overrides": ["log_rbm_ll=true", "ll_chains=64", "ll_betas=200", "gen_check_events=300"]},
        "03_evaluate": {"n_events": 5000, "n_bootstrap": 5, "classifier_epochs": 10, "seed_sweep": "{out_dir}/sweeps/priors"},
        "04_rbm": {"n_samples": 2000, "gibbs_steps": 200, "ais_betas": 2000, "ais_chains": 16, "ll_codes": 32,
                   "rais_gibbs_steps": 500, "convergence_betas": [10, 30, 100, 300, 1000]},
        "05_latent_clustering": {"n_events": 200, "n_groups": 6, "n_repeats": 50},
        "06_einc_sweep": {"n_events": 500, "n_grid": 30},
        "07_autocorrelation": {"n_spins": 302, "ensemble": 100, "n_steps": 1000},
        "08_annealer": {"n_per_partition": 7, "n_samples": 5000, "n_reads": 1000},
        "09_decoder_explorer": {"n_grid": 24},
        "10_samplers": {"n_showers": 500, "n_probe": 500},
        # reads a sweep made with `calolib sweep` (examples/sweeps/priors.toml: the three priors x 2 seeds)
        "11_sweep": {"sweep_dir": "{out_dir}/sweeps/priors"},
    },
    "full": {
        "*": _SHARED,
        "01_data": {"n_events": 50000},
        "02_controls": {"preset": "full"},
        "02_train": {"preset": "full",
                     "overrides": ["log_rbm_ll=true", "ll_chains=256", "ll_betas=2000", "gen_check_events=5000"]},
        "03_evaluate": {"n_events": 50000, "n_bootstrap": 20, "classifier_epochs": 50,
                        "seed_sweep": "{out_dir}/sweeps/priors-full"},
        "04_rbm": {"n_samples": 20000, "gibbs_steps": 1000, "ais_betas": 10000, "ais_chains": 64, "ll_codes": 128,
                   "rais_gibbs_steps": 2000, "convergence_betas": [10, 30, 100, 300, 1000, 3000]},
        "05_latent_clustering": {"n_events": 1000, "n_groups": 8, "n_repeats": 200},
        "06_einc_sweep": {"n_events": 5000, "n_grid": 60},
        "07_autocorrelation": {"n_spins": 302, "ensemble": 100, "n_steps": 1000},
        "08_annealer": {"n_per_partition": 7, "n_samples": 20000, "n_reads": 5000},
        "09_decoder_explorer": {"n_grid": 48},
        "10_samplers": {"n_showers": 5000, "gibbs_sweeps": [1, 10, 100, 1000, 10000], "sa_sweeps": [10, 100, 1000, 10000],
                        "pimc_sweeps": [100, 1000], "qpu_sweeps": [200, 1000], "reference_sweeps": 20000, "n_probe": 5000,
                        "tau_sweeps": 5000, "classifier_epochs": 50},
        "11_sweep": {"sweep_dir": "{out_dir}/sweeps/{preset}"},
    },
}


@dataclass(frozen=True)
class NotebookParameter:
    """One parameter of a notebook's ``parameters`` cell (as papermill infers it)."""

    name: str
    type: str  # the annotation, e.g. "int"; "None" when unknown
    default: str  # the default's source text
    help: str  # the comment after the assignment


def default_notebooks_dir() -> Path:
    """The repository's ``notebooks/`` folder (next to the ``calolib`` package), else ``./notebooks``."""
    here = Path(__file__).resolve().parents[2] / "notebooks"
    return here if here.is_dir() else Path.cwd() / "notebooks"


def find_notebooks(notebooks_dir: str | Path | None = None) -> dict[str, Path]:
    """Map notebook name (file stem) -> path for every ``*.py`` notebook, catalogue order first.

    Example:
        >>> import tempfile
        >>> d = Path(tempfile.mkdtemp()); _ = (d / "b.py").write_text("# %%"); _ = (d / "a.py").write_text("# %%")
        >>> list(find_notebooks(d))
        ['a', 'b']
    """
    folder = Path(notebooks_dir) if notebooks_dir is not None else default_notebooks_dir()
    if not folder.is_dir():
        raise ConfigError(f"notebook folder {str(folder)!r} does not exist; pass --notebooks DIR")
    paths = {p.stem: p for p in folder.glob("*.py") if not p.name.startswith("_")}
    order = {name: i for i, name in enumerate(NOTEBOOKS)}
    return {k: paths[k] for k in sorted(paths, key=lambda k: (order.get(k, len(order)), k))}


def read_notebook(path: str | Path):
    """Read a Jupytext ``.py`` (or ``.ipynb``) notebook into an nbformat node with a python3 kernelspec."""
    import jupytext

    nb = jupytext.read(str(path))
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata.setdefault("language_info", {"name": "python"})
    return nb


def notebook_title(nb, default: str = "") -> str:
    """The text of the first markdown heading of a notebook (``default`` when there is none).

    Example:
        >>> import nbformat
        >>> nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# The data\\ntext")])
        >>> notebook_title(nb)
        'The data'
    """
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        for line in cell.source.splitlines():
            if line.lstrip().startswith("#"):
                return line.lstrip().lstrip("#").strip()
    return default


def notebook_parameters(nb_or_path) -> list[NotebookParameter]:
    """Parameters of the cell tagged ``parameters`` (empty list when there is none).

    Example:
        >>> import nbformat
        >>> cell = nbformat.v4.new_code_cell("n: int = 3  # events\\nname: str = 'a'", metadata={"tags": ["parameters"]})
        >>> [(p.name, p.type, p.default, p.help) for p in notebook_parameters(nbformat.v4.new_notebook(cells=[cell]))]
        [('n', 'int', '3', 'events'), ('name', 'str', "'a'", '')]
    """
    from papermill.translators import PythonTranslator

    nb = read_notebook(nb_or_path) if isinstance(nb_or_path, (str, Path)) else nb_or_path
    for cell in nb.cells:
        if cell.cell_type == "code" and "parameters" in cell.get("metadata", {}).get("tags", []):
            return [NotebookParameter(p.name, p.inferred_type_name, p.default, p.help)
                    for p in PythonTranslator.inspect(cell)]
    return []


def parse_override(name: str, value: str) -> tuple[str, Any]:
    """Parse one ``-p NAME VALUE`` pair; VALUE is read as YAML (``3`` -> int, ``[1, 2]`` -> list, ``yes`` -> True).

    Example:
        >>> parse_override("n_events", "3"), parse_override("03_evaluate.runs", "[a, b]"), parse_override("x", "1e3")
        (('n_events', 3), ('03_evaluate.runs', ['a', 'b']), ('x', 1000.0))
    """
    import yaml

    if not name or not all(part.isidentifier() or part[:1].isdigit() for part in name.split(".")) or name.count(".") > 1:
        raise ConfigError(f"bad parameter name {name!r}: use NAME or NOTEBOOK.NAME")
    try:
        parsed = yaml.safe_load(value)
    except yaml.YAMLError as exc:
        raise ConfigError(f"cannot parse the value of -p {name} {value!r} as YAML: {str(exc).splitlines()[0]}") from None
    if isinstance(parsed, str) and _looks_like_float(value):
        parsed = float(parsed)  # YAML 1.1 reads "1e3" as a string; papermill users mean a number
    return name, parsed


def _looks_like_float(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return text.strip().lower() not in {"nan", "inf", "-inf", "infinity", "-infinity"}


def parse_overrides(pairs: Iterable[Sequence[str]] | None) -> dict[str, Any]:
    """Parse a list of ``(NAME, VALUE)`` pairs (argparse ``-p`` with ``nargs=2, action="append"``)."""
    return dict(parse_override(n, v) for n, v in (pairs or []))


def resolve_parameters(
    name: str,
    declared: Iterable[str],
    preset: Mapping[str, Mapping[str, Any]],
    overrides: Mapping[str, Any] | None = None,
    *,
    context: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Parameters to inject into notebook ``name`` (only those it declares).

    ``context`` fills ``{out_dir}``/``{preset}`` placeholders in string values.

    Example:
        >>> resolve_parameters("02_train", ["seed", "epochs"], {"*": {"seed": 1, "x": 2}, "02_train": {"epochs": 3}},
        ...                    {"02_train.epochs": 5, "seed": 7})
        {'seed': 7, 'epochs': 5}
    """
    declared = set(declared)
    values: dict[str, Any] = {}
    for key, value in preset.get("*", {}).items():
        if key in declared:
            values[key] = value
    values.update({k: v for k, v in preset.get(name, {}).items() if k in declared})
    for key, value in (overrides or {}).items():
        target, _, param = key.rpartition(".")
        if target and target != name:
            continue
        if param in declared:
            values[param] = value
        elif target:
            raise ConfigError(f"notebook {name!r} has no parameter {param!r}; see `calolib reports --list`")
    if context:
        values = {k: (v.format(**context) if isinstance(v, str) else v) for k, v in values.items()}
    return values
