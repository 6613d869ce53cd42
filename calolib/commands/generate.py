"""``calolib generate``: sample showers from a trained QVAE into a CaloChallenge file.

Examples::

    calolib generate --model runs/quick/best.pt --n 10000 --out gen.h5
    calolib generate --model runs/quick/best.pt --n 1000 --energy 65536 --sampler sa --out gen_64GeV.h5
"""
from __future__ import annotations

import argparse
import time

__all__ = ["register", "parse_energies"]


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("generate", help="generate showers from a trained QVAE checkpoint",
                       description=__doc__.split("\n\n")[0])
    p.add_argument("--model", required=True, help="checkpoint, e.g. RUN_DIR/best.pt (or RUN_DIR)")
    p.add_argument("--n", type=int, required=True, help="number of showers")
    p.add_argument("--out", required=True, help="output .h5 file (CaloChallenge layout)")
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

    parts = text.split(",")
    try:
        lo, hi = (float(p) for p in parts)
    except ValueError:
        raise ConfigError(f"--energies must be MIN,MAX in MeV (e.g. 1e3,1e6), got {text!r}") from None
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
        out[key.strip()] = yaml.safe_load(value)
    return out


def _cmd_generate(args: argparse.Namespace) -> int:
    from calolib.errors import ConfigError
    from calolib.generation import generate, sample_energies
    from calolib.io import save_showers
    from calolib.training.checkpoint import load_checkpoint

    if args.threads > 0:
        import torch

        torch.set_num_threads(args.threads)
    if args.n < 1:
        raise ConfigError(f"--n must be >= 1, got {args.n}")
    energies = parse_energies(args.energies) if args.energies else None
    ckpt = load_checkpoint(args.model, device=args.device)
    e_inc = sample_energies(args.n, energies=energies, energy=args.energy, seed=args.seed)
    t0 = time.perf_counter()
    showers = generate(ckpt.model, ckpt.transform, e_inc, sampler=args.sampler, n_gibbs_steps=args.gibbs_steps,
                       batch_size=args.batch_size, seed=args.seed, device=args.device,
                       sample_hits=args.hits == "sample", progress=not args.quiet,
                       sampler_kwargs=parse_sampler_options(args.sampler_option))
    dt = time.perf_counter() - t0
    save_showers(args.out, showers)
    print(f"wrote {len(showers)} {showers.geometry.name} showers to {args.out} "
          f"({len(showers) / max(dt, 1e-9):.0f} showers/s, sampler {args.sampler})")
    return 0


def __dir__():
    return __all__
