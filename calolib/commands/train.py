"""``calolib train``: train a QVAE on a CaloChallenge file into a run directory.

The config is built in layers: ``--preset`` (default ``quick``), then ``--config FILE`` (TOML/YAML/JSON,
partial; may name its own preset), then each ``--set key=value`` (``model.encoder=cnn``), then
``--epochs``.  With ``--resume`` the run's own saved config is the base instead, so only ``--epochs``
(to extend a run) and ``--set`` of optimisation keys are needed; re-running the original command with
``--resume`` added is accepted when its ``--preset``/``--config`` agree with the saved config (only a
conflict is refused).  Unknown keys, wrong types, a missing data file, a bad checkpoint, a run directory
in use by another training print one line and exit with code 2.  A resume first repairs ``best.pt`` and
the history from ``last.pt`` (after a kill between the epoch's writes), even with nothing left to train.

Examples::

    calolib train --data data/synthetic_ds2.h5 --out runs/quick
    calolib train --data data/synthetic_ds2.h5 --out runs/quick --resume --epochs 12
    calolib train --data data/synthetic_ds2.h5 --out runs/cnn --set model.encoder=cnn --set lr=3e-4
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

__all__ = ["register", "build_config"]


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train a QVAE (checkpoints, history and config in RUN_DIR)",
                       description=__doc__.split("\n\n")[0])
    p.add_argument("--data", required=True, help="CaloChallenge .h5 file to train on (last val_fraction validates)")
    p.add_argument("--out", required=True, help="run directory (last.pt, best.pt, history.csv, config.json)")
    p.add_argument("--preset", default=None, choices=("quick", "full"), help="base config (default quick)")
    p.add_argument("--config", default=None, help="config file (.toml, .yaml or .json) laid over the preset")
    p.add_argument("--epochs", type=int, default=None, help="number of epochs (with --resume: total to reach)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config key, e.g. --set lr=3e-4 --set model.encoder=cnn (repeatable)")
    p.add_argument("--resume", action="store_true", help="continue the run in --out from its last.pt")
    p.add_argument("--device", default="auto", help="cpu, cuda or auto (default auto)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument("--threads", type=int, default=0,
                   help="torch CPU threads (default 0: torch's choice; 1 is fastest on a machine shared with other jobs)")
    p.set_defaults(func=_cmd_train)


def _differences(saved, asked, ignore=("epochs",)) -> list[str]:
    from calolib.training.config import config_to_dict

    def flat(d, prefix=""):
        out = {}
        for k, v in d.items():
            out.update(flat(v, f"{prefix}{k}.") if isinstance(v, dict) and k != "topology_kwargs" else {prefix + k: v})
        return out

    a, b = flat(config_to_dict(saved)), flat(config_to_dict(asked))
    return [f"{k} (saved {a.get(k)!r}, now {b.get(k)!r})" for k in sorted(set(a) | set(b))
            if k not in ignore and a.get(k) != b.get(k)]


def build_config(args: argparse.Namespace):
    """The TrainConfig the arguments describe (see the module docstring for the layering)."""
    from calolib.errors import ConfigError
    from calolib.training.checkpoint import read_checkpoint
    from calolib.training.config import apply_overrides, config_from_dict, get_preset, load_config

    last = Path(args.out) / "last.pt"
    if args.resume and last.is_file():
        config = config_from_dict(read_checkpoint(last)["config"])
        if args.config or args.preset:  # the original command with --resume added: fine if it agrees
            asked = get_preset(args.preset or "quick")
            if args.config:
                asked = load_config(args.config, base=asked)
            diff = _differences(apply_overrides(config, args.overrides or {}), apply_overrides(asked, args.overrides or {}))
            if diff:
                more = f" and {len(diff) - 3} more" if len(diff) > 3 else ""
                raise ConfigError(f"--resume continues the run with its saved config, but --preset/--config differ in "
                                  f"{'; '.join(diff[:3])}{more}; drop --preset/--config (use --set/--epochs)")
    else:
        config = get_preset(args.preset or "quick")
        if args.config:
            config = load_config(args.config, base=config)
    if args.overrides:
        config = apply_overrides(config, args.overrides)
    if args.epochs is not None:
        config = apply_overrides(config, {"epochs": args.epochs})
    return config


def _cmd_train(args: argparse.Namespace) -> int:
    import torch

    from calolib.checks import check_threads
    from calolib.training import train
    from calolib.training.checkpoint import check_topology

    if check_threads(args.threads) > 0:
        torch.set_num_threads(args.threads)
    config = build_config(args)
    check_topology(config.model)  # bad topology_kwargs: one line before any data is read
    result = train(config, args.data, args.out, resume=args.resume, device=args.device, progress=not args.quiet)
    rows = [r for r in result.history if r.get("epoch", 0) > 0]
    first = result.history[0]
    msg = f"trained {result.epochs_run} epoch(s) in {result.train_time_s:.1f} s -> {result.out_dir}"
    if rows:
        msg += (f"; val AE {first['val_ae']:.4g} (untrained) -> {rows[-1]['val_ae']:.4g}, "
                f"best val AHEP {result.best_val:.4g}")
    if args.resume and result.epochs_run == 0 and args.epochs is not None and args.epochs < int(result.history[-1]["epoch"]):
        msg += f" (the run already has {int(result.history[-1]['epoch'])} epochs; config.json unchanged)"
    if os.environ.get("RANK", "0") == "0":  # under torchrun only rank 0 reports
        print(msg, file=sys.stdout)
    return 0


def __dir__():
    return __all__
