"""``calolib generate``: sample showers from a trained QVAE into a CaloChallenge file.

Everything that can be checked is checked before the model is loaded: the output (an existing ``--out``
needs ``--force``; the checkpoint itself is never a valid ``--out``; the directory must be writable),
the energies (finite, > 0), the sampler options, the seed and the thread count.  Showers are then
generated and written in chunks of at most ~256 MB, so any ``--n`` runs in bounded memory; with more
than one chunk, chunk ``k`` uses the seed ``chunk_seeds(--seed, n_chunks)[k]`` (one chunk: ``--seed``
itself, as :func:`calolib.generation.generate_from_checkpoint`).  Incident energies outside the range the
model was trained on print a warning.

Examples::

    calolib generate --model runs/quick/best.pt --n 10000 --out gen.h5
    calolib generate --model runs/quick/best.pt --n 1000 --energy 65536 --sampler sa --out gen_64GeV.h5
"""
from __future__ import annotations

import argparse
import time
import warnings

from calolib.commands.data import count

__all__ = ["register", "parse_energies", "parse_sampler_options"]

_CHUNK_BYTES = 256 * 2**20  # float32 showers generated (and held) per chunk


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("generate", help="generate showers from a trained QVAE checkpoint",
                       description=__doc__.split("\n\n")[0])
    p.add_argument("--model", required=True, help="checkpoint, e.g. RUN_DIR/best.pt (or RUN_DIR)")
    p.add_argument("--n", type=count, required=True, help="number of showers (1e5 works too)")
    p.add_argument("--out", required=True, help="output .h5 file (CaloChallenge layout; an existing file needs --force)")
    p.add_argument("--force", action="store_true", help="replace an existing --out (never the --model file)")
    e = p.add_mutually_exclusive_group()
    e.add_argument("--energies", default=None, metavar="MIN,MAX",
                   help="log-uniform incident energies in [MIN, MAX] MeV (default 1e3,1e6)")
    e.add_argument("--energy", type=float, default=None, metavar="E", help="fixed incident energy, MeV")
    p.add_argument("--sampler", default="gibbs", help="gibbs, sa, pimc, mock-qpu, qpu or exact (default gibbs)")
    p.add_argument("--sampler-option", action="append", default=[], metavar="KEY=VALUE",
                   help="extra sampler option (repeatable; VALUE read as YAML), e.g. embedding=minorminer "
                        "for mock-qpu/qpu on a 'full' RBM, num_sweeps=2000 for sa")
    p.add_argument("--gibbs-steps", type=int, default=100, help="Gibbs sweeps per sample (default 100)")
    p.add_argument("--batch-size", type=int, default=1024, help="showers per batch (default 1024)")
    p.add_argument("--hits", choices=("sample", "threshold"), default="sample",
                   help="draw voxel hits from the hits head (sample, default) or threshold at 0.5")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--device", default="auto", help="cpu, cuda or auto (default auto)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--threads", type=int, default=0,
                   help="torch CPU threads (default 0: torch's choice; 1 is fastest on a machine shared with other jobs)")
    p.set_defaults(func=_cmd_generate)


def parse_energies(text: str) -> tuple[float, float]:
    """``"MIN,MAX"`` (MeV) -> ``(min, max)``; ConfigError on anything else.

    Example:
        >>> parse_energies("1e3,1e6")
        (1000.0, 1000000.0)
    """
    from calolib.errors import ConfigError

    import math

    parts = text.split(",")
    try:
        lo, hi = (float(p) for p in parts)
    except ValueError:
        raise ConfigError(f"--energies must be MIN,MAX in MeV (e.g. 1e3,1e6), got {text!r}") from None
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise ConfigError(f"--energies needs finite MIN and MAX in MeV, got {text!r}")
    if not 0 < lo <= hi:
        raise ConfigError(f"--energies needs 0 < MIN <= MAX, got {text!r}")
    return lo, hi


def parse_sampler_options(items: list[str]) -> dict:
    """``["k=v", ...]`` -> ``{k: yaml(v)}``; ConfigError on an item without ``=``.

    Example:
        >>> parse_sampler_options(["embedding=minorminer", "num_sweeps=2000"])
        {'embedding': 'minorminer', 'num_sweeps': 2000}
    """
    import yaml

    from calolib.errors import ConfigError

    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--sampler-option must be KEY=VALUE, got {item!r}")
        try:
            out[key.strip()] = yaml.safe_load(value)
        except yaml.YAMLError as exc:
            reason = " ".join(str(getattr(exc, "problem", None) or exc).split())
            raise ConfigError(f"--sampler-option {key.strip()}: value {value!r} is not valid YAML ({reason}); "
                              "quote strings, write lists as [a, b]") from None
    return out


def _cmd_generate(args: argparse.Namespace) -> int:
    import numpy as np

    from calolib.checks import check_seed, check_threads
    from calolib.commands.data import chunk_seeds
    from calolib.errors import ConfigError, PlausibilityWarning
    from calolib.generation import MAX_E_INC_MEV, generate, sample_energies
    from calolib.io import ShowerWriter
    from calolib.io.files import check_output_file, ensure_space
    from calolib.samplers import get_sampler
    from calolib.samplers.options import check_sampler_options
    from calolib.training.checkpoint import _resolve, load_checkpoint

    # ---- everything that can be checked before the model is loaded
    if check_threads(args.threads) > 0:
        import torch

        torch.set_num_threads(args.threads)
    if args.n < 1:
        raise ConfigError(f"--n must be >= 1, got {args.n}")
    if args.batch_size < 1 or args.gibbs_steps < 1:
        raise ConfigError(f"--batch-size and --gibbs-steps must be >= 1, got {args.batch_size}, {args.gibbs_steps}")
    check_seed(args.seed, "--seed")
    energies = parse_energies(args.energies) if args.energies else None
    if args.energy is not None and not (np.isfinite(args.energy) and 0 < args.energy <= MAX_E_INC_MEV):
        raise ConfigError(f"--energy must be a finite energy > 0 MeV (at most {MAX_E_INC_MEV:.3g}), got {args.energy}")
    options = parse_sampler_options(args.sampler_option)
    if args.sampler.lower() == "gibbs":
        options.setdefault("n_steps", args.gibbs_steps)
    options = check_sampler_options(args.sampler, options)
    model_file = _resolve(args.model)
    out = check_output_file(args.out, force=args.force, inputs=[args.model, model_file], what="shower file")
    ensure_space(out, args.n * 8, what=f"{out} ({args.n} showers)")  # the float64 E_inc alone do not compress

    # ---- load, then generate and write chunk by chunk
    ckpt = load_checkpoint(args.model, device=args.device)
    _warn_outside_training(ckpt, energies, args.energy)
    sampler = get_sampler(args.sampler, **options)
    rows = max(args.batch_size, _CHUNK_BYTES // (4 * int(ckpt.model.n_voxels)) // args.batch_size * args.batch_size)
    sizes = [min(rows, args.n - lo) for lo in range(0, args.n, rows)]
    seeds = [args.seed] if len(sizes) == 1 else chunk_seeds(args.seed, len(sizes))
    t0, written = time.perf_counter(), 0
    with ShowerWriter(out, ckpt.model.config.geometry, overwrite=args.force,
                      attrs={"generator": "calolib generate", "model": str(model_file), "sampler": args.sampler,
                             "seed": int(args.seed)}) as w, warnings.catch_warnings():
        warnings.simplefilter("ignore", PlausibilityWarning)  # said once above, not once per chunk
        for size, seed in zip(sizes, seeds):
            e_inc = sample_energies(size, energies=energies, energy=args.energy, seed=seed)
            showers = generate(ckpt.model, ckpt.transform, e_inc, sampler=sampler, n_gibbs_steps=args.gibbs_steps,
                               batch_size=args.batch_size, seed=seed, device=args.device,
                               sample_hits=args.hits == "sample", progress=not args.quiet)
            w.write(showers)
            written += len(showers)
    dt = time.perf_counter() - t0
    print(f"wrote {written} {ckpt.model.config.geometry} showers to {out} "
          f"({written / max(dt, 1e-9):.0f} showers/s, sampler {args.sampler})")
    return 0


def _warn_outside_training(ckpt, energies, energy) -> None:
    """One warning when the requested E_inc leave the range the model was trained on (M3)."""
    from calolib.errors import PlausibilityWarning

    data = (ckpt.state.get("data") or {}) if isinstance(ckpt.state, dict) else {}
    lo, hi = ckpt.model.config.einc_min, ckpt.model.config.einc_max  # the conditioning's range ...
    if data.get("e_inc_range"):  # ... or the training data's, whichever is wider
        lo, hi = min(lo, data["e_inc_range"][0]), max(hi, data["e_inc_range"][1])
    want = (energy, energy) if energy is not None else (energies or (1e3, 1e6))
    if want[0] < lo * (1 - 1e-6) or want[1] > hi * (1 + 1e-6):
        asked = f"{want[0]:.4g} MeV" if want[0] == want[1] else f"{want[0]:.4g} .. {want[1]:.4g} MeV"
        warnings.warn(f"incident energies {asked} leave the range the model was trained on ({lo:.4g} .. {hi:.4g} MeV); "
                      "showers there are extrapolations", PlausibilityWarning, stacklevel=2)


def __dir__():
    return __all__
