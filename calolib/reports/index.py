"""The one-page ``index.html`` over all reports, and the records it is built from.

:func:`write_index` renders ``index.html`` from :class:`ReportResult` records:

* a provenance box (git commit and dirty flag, data-file SHA-256, calolib/torch/numpy/dwave versions,
  CPU model and cores, GPU or none, date, preset) — :mod:`calolib.reports.provenance`;
* a headline table across reports, built from each ``results.json``'s ``"headline"`` dict
  (``{label: value}`` or ``{label: {"value": v, "err": e}}``);
* one card per report: title linking to its page, status (with the error's last line), duration, the
  take-aways of ``results.json["takeaways"]``, thumbnails, the run parameters and *every* key number
  of ``results.json`` (nested dicts flattened to dotted names; long tables fold after
  :data:`N_VISIBLE` rows, nothing is dropped; the raw ``results.json`` is linked too).

Records are kept in ``index.json`` so a later ``calolib reports --only NAME`` updates one card and
keeps the others (cards run with another commit or data file than the header's say so).
The per-report pages and figures are written by :mod:`calolib.reports.pages`.
"""
from __future__ import annotations

import dataclasses
import html
import json
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from calolib.reports.pages import export_html, extract_figures, format_value, markdown_html, parameters_table

__all__ = ["ReportResult", "export_html", "extract_figures", "write_index", "load_index_records", "key_numbers",
           "headline_rows", "N_VISIBLE"]

#: Key numbers shown per card before the rest folds into a "more" section.
N_VISIBLE = 14


def __dir__():
    return __all__


@dataclass
class ReportResult:
    """The outcome of one notebook run.

    Attributes:
        name: notebook name (file stem), e.g. ``"01_data"``.
        title: the notebook's first markdown heading.
        status: ``"ok"``, ``"failed"`` or ``"skipped"`` (a dependency failed).
        error: the last line of the error, or why it was skipped (``None`` when ok).
        parameters: the parameters injected by papermill (resolved preset values and overrides).
        duration_s: wall-clock seconds of the execution.
        ipynb, html: output paths relative to the report folder (``None`` if not written).
        figures: key-figure PNG paths relative to the report folder.
        results: the notebook's ``results.json`` content (empty if it wrote none).
        finished: local time stamp of the end of the run.
        provenance: :func:`calolib.reports.provenance.collect` of the run that produced it.
    """

    name: str
    title: str = ""
    status: str = "ok"
    error: str | None = None
    parameters: dict[str, Any] = field(default_factory=dict)
    duration_s: float = 0.0
    ipynb: str | None = None
    html: str | None = None
    figures: list[str] = field(default_factory=list)
    results: dict[str, Any] = field(default_factory=dict)
    finished: str = ""
    provenance: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == "ok"


_FIELDS = {f.name for f in dataclasses.fields(ReportResult)}


def load_index_records(out_dir: str | Path) -> dict[str, ReportResult]:
    """Records of earlier runs kept in ``<out_dir>/index.json`` (empty if none or unreadable)."""
    path = Path(out_dir) / "index.json"
    try:
        raw = json.loads(path.read_text())
        return {r["name"]: ReportResult(**{k: v for k, v in r.items() if k in _FIELDS}) for r in raw.get("reports", [])}
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return {}


def key_numbers(results: Mapping[str, Any], *, skip: tuple[str, ...] = ("headline", "takeaways")) -> list[tuple[str, Any]]:
    """Every number of a ``results.json`` as ``(dotted name, value)`` rows, in file order.

    Nested dicts are flattened (``resolution_ref.a``); lists of plain values stay one row; lists holding
    dicts are flattened by index (``cases[0].tau``).  Keys in ``skip`` are shown elsewhere on the index.

    Example:
        >>> key_numbers({"fpd": 1.5, "fit": {"a": 0.1, "b": [1, 2]}, "headline": {"x": 1}, "rows": [{"t": 2}]})
        [('fpd', 1.5), ('fit.a', 0.1), ('fit.b', [1, 2]), ('rows[0].t', 2)]
    """
    rows: list[tuple[str, Any]] = []

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, Mapping) and not (set(value) <= {"value", "err", "unit"} and "value" in value):
            for k, v in value.items():
                walk(f"{prefix}.{k}" if prefix else str(k), v)
        elif isinstance(value, list) and any(isinstance(v, (Mapping, list)) for v in value):
            for i, v in enumerate(value):
                walk(f"{prefix}[{i}]", v)
        else:
            rows.append((prefix, value))

    for k, v in results.items():
        if k not in skip:
            walk(str(k), v)
    return rows


def headline_rows(records: list[ReportResult]) -> list[tuple[ReportResult, str, str]]:
    """``(record, label, formatted value)`` for every entry of every report's ``results["headline"]``.

    Example:
        >>> r = ReportResult("03_evaluate", results={"headline": {"FPD": {"value": 1.93, "err": 0.21}, "AUC": 0.93}})
        >>> [(x.name, label, text) for x, label, text in headline_rows([r])]
        [('03_evaluate', 'FPD', '1.93 ± 0.21'), ('03_evaluate', 'AUC', '0.93')]
    """
    out = []
    for r in records:
        head = r.results.get("headline") if isinstance(r.results, Mapping) else None
        if isinstance(head, Mapping):
            out += [(r, str(label), format_value(v, limit=None)) for label, v in head.items()]
    return out


def _takeaway_texts(results: Mapping[str, Any]) -> list[str]:
    items = results.get("takeaways") if isinstance(results, Mapping) else None
    if not isinstance(items, list):
        return []
    return [str(t.get("text", "")) if isinstance(t, Mapping) else str(t) for t in items if t]


def write_index(results: list[ReportResult], out_dir: str | Path, *, preset: str = "", order: list[str] | None = None,
                provenance: Mapping[str, Any] | None = None) -> Path:
    """Write ``index.json`` and ``index.html`` for ``results`` merged with earlier records; returns the HTML path.

    ``provenance`` is the current run's (default: that of the most recently finished record).

    Example:
        >>> import tempfile
        >>> d = tempfile.mkdtemp()
        >>> p = write_index([ReportResult("01_data", "The data", duration_s=1.5, results={"n": 3})], d)
        >>> "The data" in p.read_text() and "ok" in p.read_text()
        True
    """
    from calolib.jsonutil import to_jsonable

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    records = load_index_records(out_dir)
    records.update({r.name: r for r in results})
    rank = {n: i for i, n in enumerate(order or [])}
    ordered = sorted(records.values(), key=lambda r: (rank.get(r.name, len(rank)), r.name))
    if provenance is None:
        latest = max((r for r in ordered if r.provenance), key=lambda r: r.finished, default=None)
        provenance = latest.provenance if latest else {}
    stamp = time.strftime("%Y-%m-%d %H:%M:%S")
    (out_dir / "index.json").write_text(json.dumps(
        {"updated": stamp, "preset": preset, "provenance": to_jsonable(dict(provenance)),
         "reports": [to_jsonable(asdict(r)) for r in ordered]}, indent=2))
    page = _PAGE.format(stamp=html.escape(stamp), preset=html.escape(preset or "-"), n_ok=sum(r.ok for r in ordered),
                        n=len(ordered), total=sum(r.duration_s for r in ordered),
                        provenance=_provenance_box(provenance), headline=_headline_table(ordered),
                        cards="\n".join(_card(r, provenance) for r in ordered))
    path = out_dir / "index.html"
    path.write_text(page, encoding="utf-8")
    return path


def _provenance_box(p: Mapping[str, Any]) -> str:
    esc = html.escape
    if not p:
        return '<section class="prov"><h2>Provenance</h2><p>not recorded</p></section>'
    rows = []
    g = p.get("git")
    if g:
        state = '<span class="bad">dirty</span> ({} tracked file(s) differ from the commit)'.format(g.get("n_changed", "?")) \
            if g.get("dirty") else "clean"
        rows.append(("git commit", f"<code>{esc(g['commit'])}</code> ({esc(g.get('branch') or '?')}) · {state}"))
    else:
        rows.append(("git commit", "not a git checkout"))
    for d in p.get("data") or []:
        digest = f"<code>{esc(d['sha256'])}</code> · {d['size_bytes'] / 1e6:.1f} MB" if d.get("sha256") else \
            '<span class="bad">missing</span>'
        rows.append((f"data {esc(d['path'])}", f"SHA-256 {digest}"))
    v = p.get("versions") or {}
    rows.append(("software", esc(" · ".join(f"{k} {val}" for k, val in v.items() if val) + f" · python {p.get('python', '?')}")))
    cpu = p.get("cpu") or {}
    rows.append(("CPU", esc(f"{cpu.get('model', '?')} · {cpu.get('cores', '?')} cores ({cpu.get('usable_cores', '?')} usable)")))
    rows.append(("GPU", esc(p.get("gpu") or "none")))
    rows.append(("date · preset", esc(f"{p.get('date', '?')} · {p.get('preset') or '-'}")))
    body = "".join(f"<tr><th>{k}</th><td>{val}</td></tr>" for k, val in rows)
    return f'<section class="prov"><h2>Provenance</h2><table>{body}</table></section>'


def _headline_table(records: list[ReportResult]) -> str:
    esc = html.escape
    rows = headline_rows(records)
    if not rows:
        return '<section class="headline"><h2>Headline numbers</h2><p>no report recorded a headline</p></section>'
    lines, last = [], None
    for r, label, text in rows:
        n = sum(1 for x, _, _ in rows if x is r)
        first = r is not last
        cell = f'<td rowspan="{n}" class="rep"><a href="#{esc(r.name)}">{esc(r.title or r.name)}</a></td>' if first else ""
        lines.append(f'<tr class="{"first" if first else ""}">{cell}<td>{esc(label)}</td><td class="num">{esc(text)}</td></tr>')
        last = r
    return ('<section class="headline"><h2>Headline numbers</h2><table><tr><th>report</th><th>quantity</th>'
            f'<th>value</th></tr>{"".join(lines)}</table></section>')


def _numbers_table(results: Mapping[str, Any]) -> str:
    esc = html.escape
    rows = key_numbers(results)
    if not rows:
        return "<table><caption>key numbers</caption><tr><td>none recorded</td></tr></table>"
    cells = [f"<tr><td>{esc(k)}</td><td>{esc(format_value(v, limit=160))}</td></tr>" for k, v in rows]
    shown = "".join(cells[:N_VISIBLE])
    more = ""
    if len(cells) > N_VISIBLE:
        more = (f'<tr><td colspan="2"><details><summary>{len(cells) - N_VISIBLE} more</summary><table>'
                f'{"".join(cells[N_VISIBLE:])}</table></details></td></tr>')
    return f"<table><caption>key numbers ({len(rows)})</caption>{shown}{more}</table>"


def _card(r: ReportResult, provenance: Mapping[str, Any]) -> str:
    esc = html.escape
    title = esc(r.title or r.name)
    link = f'<a href="{esc(r.html)}">{title}</a>' if r.html else title
    error = ""
    if r.error:
        error = f'<pre class="err">{esc(("skipped: " if r.status == "skipped" else "") + r.error)}</pre>'
    takeaways = _takeaway_texts(r.results)
    says = ("<div class=\"says\"><b>What this run shows</b><ul>" + "".join(f"<li>{markdown_html(t)}</li>" for t in takeaways)
            + "</ul></div>") if takeaways else ""
    thumbs = "".join(
        f'<a href="{esc(r.html or f)}"><img src="{esc(f)}" alt="{esc(r.name)} figure"></a>' for f in r.figures)
    results_file = f"{r.name}.results.json" if r.results else None
    links = " · ".join(f'<a href="{esc(p)}">{lbl}</a>' for lbl, p in
                       (("HTML", r.html), ("notebook", r.ipynb), ("results.json", results_file)) if p)
    note = ""
    mine, head = r.provenance or {}, provenance or {}
    if mine and head:
        diffs = []
        if (mine.get("git") or {}).get("commit") != (head.get("git") or {}).get("commit"):
            diffs.append(f"commit {(mine.get('git') or {}).get('short', '?')}")
        if [d.get("sha256") for d in mine.get("data") or []] != [d.get("sha256") for d in head.get("data") or []] \
                and mine.get("data"):
            diffs.append("another data file")
        if diffs:
            note = f' · <span class="bad">run with {esc(", ".join(diffs))} ({esc(mine.get("date", ""))})</span>'
    return f"""<section class="card {esc(r.status)}" id="{esc(r.name)}">
  <h2>{link} <span class="badge {esc(r.status)}">{esc(r.status)}</span></h2>
  <p class="meta"><code>{esc(r.name)}</code> · {r.duration_s:.1f} s · {esc(r.finished)} · {links}{note}</p>
  {error}
  {says}
  <div class="thumbs">{thumbs}</div>
  <div class="tables">
    <table><caption>run parameters</caption>{parameters_table(r.parameters, limit=160)}</table>
    {_numbers_table(r.results)}
  </div>
</section>"""


_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>calolib reports</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1300px; color: #222; padding: 0 1em; }}
h1 {{ margin-bottom: 0.2em; }}
section.prov, section.headline {{ border: 1px solid #ccc; border-radius: 6px; padding: 0.6em 1.2em; margin: 1em 0; }}
section.prov h2, section.headline h2 {{ font-size: 1.1em; margin: 0.2em 0 0.4em; }}
section.prov th {{ text-align: left; padding-right: 1.2em; font-weight: 600; white-space: nowrap; vertical-align: top; }}
section.prov td {{ font-family: system-ui, sans-serif; }}
section.headline td.rep {{ font-family: system-ui, sans-serif; vertical-align: top; padding-right: 1.5em; }}
section.headline tr.first td {{ border-top: 1px solid #bbb; }}
section.headline td.num {{ text-align: right; }}
section.headline th {{ text-align: left; padding-right: 1.5em; border-bottom: 1px solid #999; }}
.bad {{ color: #b3261e; font-weight: 600; }}
.card {{ border: 1px solid #ccc; border-left: 6px solid #2a9d4a; border-radius: 6px; padding: 0.8em 1.2em; margin: 1em 0; }}
.card.failed {{ border-left-color: #c62828; }} .card.skipped {{ border-left-color: #999; }}
.card h2 {{ margin: 0.2em 0; font-size: 1.3em; }}
.badge {{ font-size: 0.7em; padding: 0.15em 0.6em; border-radius: 1em; color: #fff; background: #2a9d4a; vertical-align: middle; }}
.badge.failed {{ background: #c62828; }} .badge.skipped {{ background: #999; }}
.meta {{ color: #555; margin: 0.2em 0 0.6em; }}
.err {{ background: #fdecea; color: #8a1c1c; padding: 0.5em; white-space: pre-wrap; }}
.says {{ background: #f1f6fd; border-radius: 4px; padding: 0.4em 0.9em; margin: 0.4em 0 0.7em; }}
.says ul {{ margin: 0.3em 0; padding-left: 1.3em; }}
.thumbs {{ display: flex; gap: 0.8em; flex-wrap: wrap; align-items: flex-start; margin-bottom: 0.5em; }}
.thumbs a {{ flex: 0 1 49%; }}
.thumbs img {{ max-width: 100%; max-height: 300px; border: 1px solid #ddd; }}
.tables {{ display: flex; gap: 2em; flex-wrap: wrap; align-items: flex-start; }}
table {{ border-collapse: collapse; font-size: 0.85em; }}
caption {{ text-align: left; font-weight: bold; padding-bottom: 0.2em; }}
td {{ border-top: 1px solid #eee; padding: 0.15em 0.8em 0.15em 0; font-family: ui-monospace, monospace; vertical-align: top; }}
.tables td {{ max-width: 42em; overflow-wrap: anywhere; }}
details summary {{ cursor: pointer; color: #0b57d0; }}
</style></head>
<body>
<h1>calolib reports</h1>
<p class="meta">updated {stamp} · preset <b>{preset}</b> · {n_ok}/{n} ok · {total:.0f} s of notebook time</p>
{provenance}
{headline}
{cards}
</body></html>
"""
