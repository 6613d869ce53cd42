"""``calolib data validate [FILE]``: how far a file's layer-energy correlations are from Geant4's (ds2).

Reads the file in batches, zeroes voxels below the CaloChallenge threshold, and compares the 45 x 45 Pearson
matrix of the layer energies with the Geant4 reference of CaloChallenge dataset 2 (:mod:`calolib.reference`).
Prints one line with the Frobenius distance (and its bootstrap error, the sampling-noise floor of a file of this
size and where it falls among the published models), then the layers whose rows contribute most.
``--json OUT`` writes every number (the matrix too), ``--plot OUT.png`` the reference, the file's matrix and
their difference side by side; neither replaces an existing file without ``--force``.

Files of another geometry (ds1, ds3) are refused with one line: the reference exists only for ds2.
"""
from __future__ import annotations

import argparse
import json
import os
import tempfile
from pathlib import Path

import numpy as np

from calolib.errors import CalolibError, GeometryError

__all__ = ["register", "validate", "format_report", "DEFAULT_FILE"]

#: the embedded synthetic dataset (``make data``)
DEFAULT_FILE = "data/synthetic_ds2.h5"


def __dir__():
    return __all__


def register(dsub: argparse._SubParsersAction) -> None:
    """Add ``validate`` to the ``calolib data`` actions."""
    v = dsub.add_parser("validate", help="distance of a file's layer-energy correlations to Geant4's (ds2)")
    v.add_argument("path", nargs="?", default=DEFAULT_FILE, help=f"CaloChallenge ds2 .h5 file (default {DEFAULT_FILE})")
    v.add_argument("--max-events", type=int, default=None, help="use only the first N showers (default: all)")
    v.add_argument("--json", metavar="OUT", default=None, help="write every number (and the matrices) as JSON")
    v.add_argument("--plot", metavar="OUT.png", default=None,
                   help="draw the reference, the file's matrix and their difference")
    v.add_argument("--worst", type=int, default=5, help="how many of the worst rows to list (default 5)")
    v.add_argument("--force", action="store_true", help="replace an existing --json/--plot file")
    v.set_defaults(func=_cmd_validate)


def validate(path, *, max_events: int | None = None, n_worst: int = 5, n_boot: int = 20, seed: int = 0) -> dict:
    """Layer-correlation comparison of a ds2 file with Geant4 (:func:`calolib.reference.compare`, plus ``path``,
    ``geometry`` and ``published_neighbours``).

    Raises:
        ShowerFileError: a missing or unreadable file.  GeometryError: not a ds2 file.

    Example:
        >>> import tempfile, pathlib
        >>> from calolib.synthetic import simulate
        >>> from calolib.io import save_showers
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "s.h5"
        >>> s = simulate(300, seed=1); save_showers(p, s.energies, s.showers)
        >>> out = validate(p, n_boot=5)
        >>> out["n_events"], out["geometry"], 0 < out["distance"] < 20, len(out["worst_rows"])
        (300, 'ds2', True, 5)
    """
    from calolib import reference
    from calolib.io import ShowerFile

    if max_events is not None and int(max_events) < 2:
        raise CalolibError(f"--max-events must be >= 2, got {max_events}")
    with ShowerFile(path) as f:  # structure and geometry first, before reading anything
        name, n = f.geometry.name, len(f)
    if name != reference.REFERENCE_GEOMETRY:
        raise GeometryError(f"{path} holds {name} showers; the Geant4 layer-correlation reference exists only "
                            f"for ds2 (CaloChallenge dataset 2)")
    if n < 2:
        raise CalolibError(f"{path} holds {n} shower(s); layer correlations need at least 2")
    _, le, _ = reference.file_layer_energies(path, max_events=max_events)
    ref = reference.load_reference()
    out = reference.compare(le, ref, n_boot=n_boot, n_worst=n_worst, seed=seed)
    out["path"], out["geometry"] = str(path), name
    out["published_neighbours"] = _neighbours(out["distance"])
    return out


def _neighbours(d: float) -> dict:
    """The published models just better and just worse than distance ``d``."""
    from calolib.reference import PUBLISHED_DISTANCES

    ranked = sorted(PUBLISHED_DISTANCES.items(), key=lambda kv: kv[1])
    better = [kv for kv in ranked if kv[1] <= d]
    worse = [kv for kv in ranked if kv[1] > d]
    return {"better": list(better[-1]) if better else None, "worse": list(worse[0]) if worse else None,
            "n_better": len(better), "n_models": len(ranked)}


def format_report(out: dict) -> str:
    """Two lines: the distance (with its error, the noise floor and the published neighbours), then the worst rows.

    Example:
        >>> print(format_report({"path": "f.h5", "n_events": 20000, "distance": 1.5, "distance_err": 0.02,
        ...     "noise_floor": 0.1, "worst_rows": [[0, 0.6], [2, 0.5]],
        ...     "published_neighbours": {"better": ["CaloScore", 1.44], "worse": ["CaloDiffusion", 1.6],
        ...                              "n_better": 4, "n_models": 17}}))
        f.h5: 20000 ds2 showers, ||PCC - PCC_G4||_F = 1.50 ± 0.02 (noise floor 0.10 at this size); between CaloScore (1.44) and CaloDiffusion (1.60) of the published models
        worst rows ||row_i|| (layer: value): 0: 0.60, 2: 0.50
    """
    nb = out["published_neighbours"]
    if nb["better"] and nb["worse"]:
        where = f"between {nb['better'][0]} ({nb['better'][1]:.2f}) and {nb['worse'][0]} ({nb['worse'][1]:.2f})"
    elif nb["worse"]:
        where = f"closer than every one, the best being {nb['worse'][0]} ({nb['worse'][1]:.2f})"
    else:
        where = f"farther than every one, the worst being {nb['better'][0]} ({nb['better'][1]:.2f})"
    err = out.get("distance_err", float("nan"))
    err_s = f" ± {err:.2f}" if np.isfinite(err) else ""
    line = (f"{out['path']}: {out['n_events']} ds2 showers, ||PCC - PCC_G4||_F = {out['distance']:.2f}{err_s} "
            f"(noise floor {out['noise_floor']:.2f} at this size); {where} of the published models")
    rows = ", ".join(f"{i}: {v:.2f}" for i, v in out["worst_rows"])
    return f"{line}\nworst rows ||row_i|| (layer: value): {rows}"


def _check_out(path: str | None, src: Path, force: bool) -> Path | None:
    """An output path that may be written: never the input, an existing file only with ``force``."""
    if path is None:
        return None
    p = Path(path)
    if p.exists() and src.exists() and p.resolve() == src.resolve():
        raise CalolibError(f"{p} is the input file; choose another output path")
    if p.is_dir():
        raise CalolibError(f"{p} is a directory; give a file path")
    if p.exists() and not force:
        raise CalolibError(f"{p} exists; remove it, choose another path or pass --force")
    return p


def _write_atomic(path: Path, write) -> None:
    """Write through a temporary file in the same folder, then rename (no half-written output)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=path.suffix or ".tmp")
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _cmd_validate(args) -> int:
    from calolib.jsonutil import to_jsonable

    src = Path(args.path)
    json_out, plot_out = _check_out(args.json, src, args.force), _check_out(args.plot, src, args.force)
    if args.worst < 1:
        raise CalolibError(f"--worst must be >= 1, got {args.worst}")
    out = validate(src, max_events=args.max_events, n_worst=args.worst)
    print(format_report(out))
    if json_out is not None:
        _write_atomic(json_out, lambda p: Path(p).write_text(json.dumps(to_jsonable(out), indent=2)))
        print(f"wrote {json_out}")
    if plot_out is not None:
        import matplotlib

        matplotlib.use("agg")
        import matplotlib.pyplot as plt

        from calolib.reference import plot_comparison

        ims = plot_comparison(np.array(out["pcc"]), label=src.name, distance=out["distance"])
        fig = ims[0].axes.figure
        _write_atomic(plot_out, lambda p: fig.savefig(p, format=plot_out.suffix.lstrip(".") or "png"))
        plt.close(fig)
        print(f"wrote {plot_out}")
    return 0
