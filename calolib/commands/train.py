"""``calolib train``: train a QVAE on a CaloChallenge file into a run directory.

The config is built in layers: ``--preset`` (default ``quick``), then ``--config FILE`` (TOML/YAML/JSON,
partial; may name its own preset), then each ``--set key=value`` (``model.encoder=cnn``), then
``--epochs``.  With ``--resume`` the run's own saved config is the base instead, so only ``--epochs``
(to extend a run) and ``--set`` of optimisation keys are needed.  Unknown keys, wrong types, a missing
data file or a bad checkpoint print one line and exit with code 2.

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


def build_config(args: argparse.Namespace):
    """The TrainConfig the arguments describe (see the module docstring for the layering)."""
    from calolib.errors import ConfigError
    from calolib.training.checkpoint import read_checkpoint
    from calolib.training.config import apply_overrides, config_from_dict, get_preset, load_config

    last = Path(args.out) / "last.pt"
    if args.resume and last.is_file():
        if args.config or args.preset:
            raise ConfigError("--resume continues the run with its saved config; drop --preset/--config (use --set/--epochs)")
        config = config_from_dict(read_checkpoint(last)["config"])
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

    from calolib.training import train

    if args.threads > 0:
        torch.set_num_threads(args.threads)
    config = build_config(args)
    result = train(config, args.data, args.out, resume=args.resume, device=args.device, progress=not args.quiet)
    rows = [r for r in result.history if r.get("epoch", 0) > 0]
    first = result.history[0]
    msg = f"trained {result.epochs_run} epoch(s) in {result.train_time_s:.1f} s -> {result.out_dir}"
    if rows:
        msg += (f"; val AE {first['val_ae']:.4g} (untrained) -> {rows[-1]['val_ae']:.4g}, "
                f"best val AHEP {result.best_val:.4g}")
    if os.environ.get("RANK", "0") == "0":  # under torchrun only rank 0 reports
        print(msg, file=sys.stdout)
    return 0


def __dir__():
    return __all__
