"""``calolib data make|check``: build the embedded synthetic dataset, or validate a shower file.

``data make`` simulates ``--n`` showers with :func:`calolib.synthetic.simulate` in chunks of
``--chunk`` events (chunk ``k`` uses an independent seed spawned from ``--seed`` by
``numpy.random.SeedSequence``, so the file is reproducible), appending each chunk through
:class:`calolib.io.ShowerWriter`; the file only appears at ``--out`` once complete.

``data check`` validates a file chunk by chunk and prints its summary, or one error line
(exit code 2); values that are valid but implausible (a file in GeV) print ``calolib: warning:`` lines.
``data validate`` (:mod:`calolib.commands.data_validate`) compares a ds2 file's layer-energy
correlations with Geant4's.

An existing ``--out`` is never replaced without ``--force``.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from calolib.errors import ShowerFileError

__all__ = ["register", "make", "chunk_seeds", "count", "outdated_synthetic"]


def count(text: str) -> int:
    """An event count from the command line: ``"5000"``, ``"5e4"`` or ``"50_000"`` (argparse type).

    Example:
        >>> count("5e4"), count("1_000")
        (50000, 1000)
    """
    try:
        value = float(text.replace("_", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if not value.is_integer() or value < 0:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 0, got {text!r}")
    return int(value)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("data", help="build the synthetic dataset or check a shower file")
    dsub = p.add_subparsers(dest="data_command", metavar="ACTION", required=True)

    m = dsub.add_parser("make", help="simulate synthetic showers into a CaloChallenge-format .h5 file")
    m.add_argument("--n", type=count, default=50_000, help="number of showers (default 50000; 5e4 works too)")
    m.add_argument("--geometry", default="ds2", help="ds1-photons, ds1-pions, ds2 or ds3 (default ds2)")
    m.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    m.add_argument("--e-min", type=float, default=1e3, help="lowest incident energy, MeV (default 1e3)")
    m.add_argument("--e-max", type=float, default=1e6, help="highest incident energy, MeV (default 1e6)")
    m.add_argument("--chunk", type=count, default=5000, help="showers simulated per chunk (default 5000)")
    m.add_argument("--out", required=True, help="output .h5 path (an existing file needs --force)")
    m.add_argument("--force", action="store_true", help="replace an existing --out")
    m.add_argument("--if-missing", action="store_true",
                   help="do nothing if --out already exists and is a valid file of this geometry "
                        "(a file of another synthetic model version is rebuilt)")
    m.add_argument("--no-progress", action="store_true", help="no progress bar")
    m.set_defaults(func=_cmd_make)

    c = dsub.add_parser("check", help="validate a shower file and print its summary")
    c.add_argument("path", help="CaloChallenge-format .h5 file")
    c.add_argument("--geometry", default=None, help="expected geometry (default: inferred from the voxel count)")
    c.add_argument("--json", action="store_true", help="print the summary as JSON")
    c.set_defaults(func=_cmd_check)

    from calolib.commands import data_validate  # `calolib data validate`: layer correlations vs Geant4

    data_validate.register(dsub)


def chunk_seeds(seed: int, n_chunks: int) -> list[int]:
    """Independent 32-bit seeds for ``n_chunks`` chunks, derived from ``seed``.

    Example:
        >>> chunk_seeds(0, 3) == chunk_seeds(0, 3), len(set(chunk_seeds(0, 3)))
        (True, 3)
    """
    return [int(c.generate_state(1)[0]) for c in np.random.SeedSequence(int(seed)).spawn(int(n_chunks))]


def make(out: str | Path, n: int = 50_000, *, geometry: str = "ds2", seed: int = 0, e_min: float = 1e3,
         e_max: float = 1e6, chunk: int = 5000, progress: bool = True, overwrite: bool = True) -> Path:
    """Simulate ``n`` synthetic showers into ``out`` (atomically, in chunks); returns the path.

    ``overwrite=False`` refuses an existing ``out`` (:class:`~calolib.errors.OutputError`).

    Example:
        >>> import tempfile, pathlib
        >>> from calolib.io import load_showers
        >>> p = make(pathlib.Path(tempfile.mkdtemp()) / "m.h5", 4, geometry="ds1-photons", chunk=3, progress=False)
        >>> len(load_showers(p))
        4
    """
    from tqdm.auto import tqdm

    from calolib import __version__
    from calolib.checks import check_seed
    from calolib.geometry import get_geometry
    from calolib.io import ShowerWriter
    from calolib.synthetic import model_version, simulate

    if n < 1 or chunk < 1:
        raise ShowerFileError(f"--n and --chunk must be >= 1 (got n={n}, chunk={chunk})")
    check_seed(seed, "--seed")
    if not (0 < e_min <= e_max) or not all(np.isfinite([e_min, e_max])):
        raise ShowerFileError(f"need 0 < --e-min <= --e-max < inf (got {e_min}, {e_max}) MeV")
    g = get_geometry(geometry)
    sizes = [min(chunk, n - lo) for lo in range(0, n, chunk)]
    seeds = chunk_seeds(seed, len(sizes))
    attrs = {"generator": "calolib.synthetic", "calolib_version": __version__, "seed": int(seed),
             "e_min_mev": float(e_min), "e_max_mev": float(e_max), "geometry": g.name,
             "calolib_synthetic_version": model_version()}
    out = Path(out)
    with ShowerWriter(out, g, attrs=attrs, overwrite=overwrite) as w, tqdm(total=n, unit="shower", disable=not progress,
                                                      desc=f"simulating {out.name}") as bar:
        for size, s in zip(sizes, seeds):
            w.write(simulate(size, geometry=g.name, seed=s, e_min=e_min, e_max=e_max))
            bar.update(size)
    return out


def _cmd_make(args) -> int:
    from calolib.checks import check_seed
    from calolib.errors import OutputError
    from calolib.geometry import get_geometry
    from calolib.io import ShowerFile
    from calolib.io.files import check_output_file

    out = Path(args.out)
    check_seed(args.seed, "--seed")
    want = get_geometry(args.geometry).name
    if args.if_missing and (out.exists() or out.is_symlink()):
        try:
            with ShowerFile(out) as f:  # quick check: structure, plus the first and last rows readable
                n, gname = len(f), f.geometry.name
                f.read(0, 1), f.read(max(n - 1, 0), n)
        except ShowerFileError as exc:
            if not args.force:
                raise OutputError(f"{out} exists but is not a valid shower file ({exc}); "
                                  "pass --force to rebuild it, or choose another --out") from None
            print(f"calolib: rebuilding {out}: {exc}", file=sys.stderr)
        else:
            if gname != want:
                raise ShowerFileError(f"{out} exists with geometry {gname}, not {want}; "
                                      "remove it or choose another --out")
            stale = outdated_synthetic(out)
            if stale is None:
                print(f"{out} exists ({n} showers, {gname}); nothing to do")
                return 0
            print(f"{out} {stale}; rebuilding it")
            args.force = True  # replacing an outdated synthetic file is what --if-missing asks for
    check_output_file(out, force=args.force, what="shower file")  # before simulating anything
    make(out, args.n, geometry=args.geometry, seed=args.seed, e_min=args.e_min, e_max=args.e_max,
         chunk=args.chunk, progress=not args.no_progress, overwrite=args.force)
    _print_summary(out)
    return 0


def outdated_synthetic(path) -> str | None:
    """Why a file that ``data make`` wrote is outdated (another synthetic model version), or ``None`` when it is
    current or not a calolib synthetic file (those are never rebuilt).

    Example:
        >>> import tempfile, pathlib
        >>> p = make(pathlib.Path(tempfile.mkdtemp()) / "m.h5", 2, geometry="ds1-photons", progress=False)
        >>> outdated_synthetic(p) is None
        True
    """
    import h5py

    from calolib.synthetic import model_version

    with h5py.File(path, "r") as f:
        gen, ver = f.attrs.get("generator"), f.attrs.get("calolib_synthetic_version")
    gen, ver = (v.decode() if isinstance(v, bytes) else v for v in (gen, ver))
    if gen != "calolib.synthetic" or ver == model_version():
        return None
    return f"was made by another synthetic model ({ver or 'unversioned, version 1'}; this calolib's is {model_version()})"


def _print_summary(path) -> None:
    from calolib.io import check_showers, format_summary

    summary = check_showers(path)
    print(format_summary(summary))
    _print_warnings(summary)


def _print_warnings(summary: dict) -> None:
    for text in summary.get("warnings", []):
        print(f"calolib: warning: {summary['path']}: {text}", file=sys.stderr)


def _cmd_check(args) -> int:
    import json

    from calolib.io import check_showers, format_summary

    from calolib.jsonutil import to_jsonable

    summary = check_showers(args.path, geometry=args.geometry)
    print(json.dumps(to_jsonable(summary), indent=2, allow_nan=False) if args.json else format_summary(summary))
    _print_warnings(summary)
    return 0


def __dir__():
    return __all__
