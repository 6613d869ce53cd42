"""``calolib evaluate``: CaloChallenge-comparable metrics of a generated file against a reference file.

The official evaluation's definitions (threshold 0.5 keV/0.033, its feature vector and histogram bins,
jetnet-0.2.5 FPD/KPD ×1e3, the DNN classifier with isotonic calibration) plus calolib's own extras,
labelled as such.  With ``--ref2`` (a second reference sample, ideally of the generated file's size) every
metric also gets its same-distribution floor.

Examples::

    calolib evaluate gen.h5 dataset_2_2.h5 --ref2 dataset_2_1.h5 --json eval.json
    calolib evaluate gen.h5 ref.h5 --no-classifier --max-events 20000
    calolib evaluate gen.h5 ref.h5 --classifier-epochs 50 --classifier-width 2048 --device cuda   # official size
"""
from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

__all__ = ["register", "run_evaluate", "format_table"]


def __dir__():
    return __all__


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("evaluate", help="CaloChallenge-comparable metrics of GEN.h5 against REF.h5",
                       description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter,
                       epilog="\n\n".join(__doc__.split("\n\n")[1:]))
    p.add_argument("gen", metavar="GEN.h5", help="generated showers (CaloChallenge layout)")
    p.add_argument("ref", metavar="REF.h5", help="reference showers (same geometry)")
    p.add_argument("--ref2", metavar="REF2.h5", default=None,
                   help="second reference sample: every metric gets its same-distribution floor")
    p.add_argument("--json", metavar="OUT", default=None, help="write every number (and the settings) as JSON")
    p.add_argument("--force", action="store_true", help="overwrite an existing --json file")
    p.add_argument("--no-classifier", action="store_true", help="skip the two classifier tests (the slow part)")
    p.add_argument("--no-extras", action="store_true", help="skip calolib's own extra metrics")
    p.add_argument("--max-events", type=int, default=None, metavar="N", help="use the first N events of each file")
    p.add_argument("--classifier-epochs", type=int, default=50, metavar="N",
                   help="classifier epochs (official: 50; the epoch with the best test accuracy is kept)")
    p.add_argument("--classifier-width", type=int, default=2048, metavar="W",
                   help="units per hidden layer of the 3-layer classifier (official: 2048)")
    p.add_argument("--bootstrap", type=int, default=20, metavar="B", help="bootstrap resamples for separation powers")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--device", default="auto", help="cpu, cuda or auto (default auto)")
    p.add_argument("--top", type=int, default=10, metavar="K", help="print the K worst-modelled features (default 10)")
    p.set_defaults(func=_cmd_evaluate)


def _load(path: str, max_events: int | None, what: str):
    from calolib.errors import ShowerFileError
    from calolib.io import load_showers

    if not Path(path).is_file():
        raise ShowerFileError(f"{what} file {path!r} does not exist")
    s = load_showers(path, max_events=max_events)
    if len(s) < 50:
        raise ShowerFileError(f"{what} file {path!r} has {len(s)} events; the metrics need at least 50")
    return s


def run_evaluate(gen_path: str, ref_path: str, ref2_path: str | None = None, *, max_events: int | None = None,
                 config=None):
    """Load the files and return the :class:`~calolib.metrics.compare.ComparisonTable` (column = GEN's stem)."""
    from calolib.errors import ConfigError
    from calolib.metrics.compare import compare_samples

    if max_events is not None and max_events < 50:
        raise ConfigError(f"--max-events must be >= 50, got {max_events}")
    gen, ref = _load(gen_path, max_events, "generated"), _load(ref_path, max_events, "reference")
    ref2 = _load(ref2_path, max_events, "second reference") if ref2_path else None
    for other, name in ((gen, gen_path), (ref2, ref2_path)):
        if other is not None and other.geometry.name != ref.geometry.name:
            raise ConfigError(f"{name} is {other.geometry.name} but {ref_path} is {ref.geometry.name}")
    label = Path(gen_path).stem or "generated"
    return compare_samples({label if label != "floor" else "generated": gen}, ref, ref2, config=config)


def format_table(table, *, top: int = 10) -> str:
    """Plain-text table: metric, generated (± err), floor, generated/floor; then the worst features."""
    from calolib.metrics.compare import FLOOR
    from calolib.metrics.official import official_name
    from calolib.reports.takeaways import fmt

    gen = table.models[0]
    has_floor = FLOOR in table.columns
    rows = [("metric", gen, "floor (ref2 vs ref)" if has_floor else "", "gen/floor" if has_floor else "")]
    section = None
    for key, info in table.metrics.items():
        if info.official != section:
            section = info.official
            rows.append(("— official CaloChallenge definitions —" if info.official else "— calolib extras —", "", "", ""))
        v, e = table.value(gen, key)
        cells = [info.label, fmt(v, e if math.isfinite(e) and e > 0 else None), "", ""]
        if has_floor:
            fv, fe = table.value(FLOOR, key)
            cells[2] = fmt(fv, fe if math.isfinite(fe) and fe > 0 else None)
            cells[3] = fmt(v / fv) if math.isfinite(fv) and fv > 0 else "n/a"
        rows.append(tuple(cells))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    ev = table.evaluations[gen]
    worst = sorted((s for s in ev.separation_powers.values() if s.official_mode and math.isfinite(s.value)),
                   key=lambda s: -s.value)[:top]
    if worst:
        lines += ["", f"worst-modelled features (official bins, separation power; floor in brackets):"]
        for s in worst:
            fl = table.evaluations[FLOOR].separation_powers.get(s.name) if has_floor else None
            extra = f"  [{fmt(fl.value)}]" if fl is not None else ""
            lines.append(f"  {official_name(s.name):<24} {fmt(s.value, s.err if s.err > 0 else None)}{extra}")
    lines += ["", f"classifier: {table.settings.get('classifier_description', 'not run')}",
              f"events: generated {ev.n_gen}, reference {ev.n_ref}"
              + (f", reference 2 {table.evaluations[FLOOR].n_gen}" if has_floor else "")]
    return "\n".join(lines)


def _cmd_evaluate(args) -> int:
    import json

    from calolib.errors import ConfigError
    from calolib.metrics.compare import OfficialEvalConfig
    from calolib.metrics.official_classifier import OfficialClassifierConfig

    if args.json and Path(args.json).exists() and not args.force:
        raise ConfigError(f"{args.json} exists; pass --force to overwrite it or choose another --json path")
    if args.classifier_epochs < 1 or args.classifier_width < 1 or args.bootstrap < 0:
        raise ConfigError("--classifier-epochs and --classifier-width must be >= 1, --bootstrap >= 0")
    cfg = OfficialEvalConfig(classifier=not args.no_classifier, extras=not args.no_extras,
                             classifier_config=OfficialClassifierConfig(epochs=args.classifier_epochs,
                                                                        n_hidden=args.classifier_width),
                             n_bootstrap=args.bootstrap, seed=args.seed, device=args.device)
    t0 = time.perf_counter()
    table = run_evaluate(args.gen, args.ref, args.ref2, max_events=args.max_events, config=cfg)
    print(format_table(table, top=args.top))
    print(f"time: {time.perf_counter() - t0:.1f} s")
    if args.json:
        out = Path(args.json)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps({"gen": args.gen, "ref": args.ref, "ref2": args.ref2, **table.to_dict()}, indent=1))
        print(f"wrote {out}")
    return 0
