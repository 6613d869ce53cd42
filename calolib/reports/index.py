"""Turning executed notebooks into HTML reports and the one-page ``index.html``.

* :func:`export_html` writes a notebook as HTML with the code hidden (nbconvert ``HTMLExporter``,
  ``exclude_input=True``): readers see the markdown, the figures and the printed tables.
* :func:`extract_figures` saves the key figures (PNG outputs of cells tagged ``key-figure`` first,
  then the first PNG outputs) as ``figures/<name>_<i>.png`` for the index thumbnails.
* :func:`write_index` renders ``index.html`` from :class:`ReportResult` records: title, status
  (with the error's last line), parameters, duration, key numbers from ``<name>.results.json`` and
  thumbnails linking to each report.  Records are kept in ``index.json`` so a later
  ``calolib reports --only NAME`` updates one card and keeps the others.
"""
from __future__ import annotations

import base64
import html
import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["ReportResult", "export_html", "extract_figures", "write_index", "load_index_records"]


def __dir__():
    return __all__


@dataclass
class ReportResult:
    """The outcome of one notebook run.

    Attributes:
        name: notebook name (file stem), e.g. ``"01_data"``.
        title: the notebook's first markdown heading.
        status: ``"ok"``, ``"failed"`` or ``"skipped"`` (a dependency failed).
        error: the last line of the error (``None`` when ok).
        parameters: the parameters injected by papermill.
        duration_s: wall-clock seconds of the execution.
        ipynb, html: output paths relative to the report folder (``None`` if not written).
        figures: key-figure PNG paths relative to the report folder.
        results: the notebook's ``results.json`` content (empty if it wrote none).
        finished: local time stamp of the end of the run.
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

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def export_html(nb, path: str | Path) -> Path:
    """Write notebook ``nb`` as an HTML page with the code cells hidden; returns the path."""
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True)
    body, _ = exporter.from_notebook_node(nb)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(body, encoding="utf-8")
    return path


def extract_figures(nb, fig_dir: str | Path, name: str, n: int = 2) -> list[Path]:
    """Save up to ``n`` PNG outputs of ``nb`` as ``fig_dir/<name>_<i>.png``.

    Preference: the first figure of each cell tagged ``key-figure``, then their other figures, then the
    figures of untagged cells, in notebook order.

    Example:
        >>> import nbformat, tempfile
        >>> png = base64.b64encode(b"\\x89PNG fake").decode()
        >>> out = nbformat.v4.new_output("display_data", data={"image/png": png})
        >>> nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("", outputs=[out])])
        >>> [p.name for p in extract_figures(nb, tempfile.mkdtemp(), "01_data")]
        ['01_data_1.png']
    """
    firsts, rest, others = [], [], []  # first PNG of each key-figure cell, their other PNGs, all the rest
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        tagged = "key-figure" in cell.get("metadata", {}).get("tags", [])
        pngs = [out["data"]["image/png"] for out in cell.get("outputs", [])
                if out.get("output_type") in ("display_data", "execute_result") and "image/png" in out.get("data", {})]
        if tagged and pngs:
            firsts.append(pngs[0])
            rest += pngs[1:]
        else:
            others += pngs
    chosen = firsts + rest + others
    fig_dir = Path(fig_dir)
    for old in fig_dir.glob(f"{name}_*.png"):
        old.unlink()
    paths = []
    for i, b64 in enumerate(chosen[:n], start=1):
        fig_dir.mkdir(parents=True, exist_ok=True)
        p = fig_dir / f"{name}_{i}.png"
        p.write_bytes(base64.b64decode(b64 if isinstance(b64, str) else "".join(b64)))
        paths.append(p)
    return paths


def load_index_records(out_dir: str | Path) -> dict[str, ReportResult]:
    """Records of earlier runs kept in ``<out_dir>/index.json`` (empty if none or unreadable)."""
    path = Path(out_dir) / "index.json"
    try:
        raw = json.loads(path.read_text())
        return {r["name"]: ReportResult(**r) for r in raw.get("reports", [])}
    except (OSError, ValueError, TypeError, KeyError):
        return {}


def write_index(results: list[ReportResult], out_dir: str | Path, *, preset: str = "", order: list[str] | None = None) -> Path:
    """Write ``index.json`` and ``index.html`` for ``results`` merged with earlier records; returns the HTML path.

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
    stamp = time.strftime("%Y-%m-%d %H:%M:%S")
    (out_dir / "index.json").write_text(
        json.dumps({"updated": stamp, "preset": preset, "reports": [to_jsonable(asdict(r)) for r in ordered]}, indent=2))
    n_ok = sum(r.ok for r in ordered)
    cards = "\n".join(_card(r) for r in ordered)
    page = _PAGE.format(stamp=html.escape(stamp), preset=html.escape(preset or "-"), n_ok=n_ok, n=len(ordered),
                        total=sum(r.duration_s for r in ordered), cards=cards)
    path = out_dir / "index.html"
    path.write_text(page, encoding="utf-8")
    return path


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    text = json.dumps(value) if not isinstance(value, str) else value
    return text if len(text) <= 60 else text[:57] + "..."


def _card(r: ReportResult) -> str:
    esc = html.escape
    title = esc(r.title or r.name)
    link = f'<a href="{esc(r.html)}">{title}</a>' if r.html else title
    error = f'<pre class="err">{esc(r.error)}</pre>' if r.error else ""
    params = "".join(f"<tr><td>{esc(k)}</td><td>{esc(_fmt(v))}</td></tr>" for k, v in r.parameters.items())
    scalars = [(k, v) for k, v in r.results.items() if isinstance(v, (int, float, str, bool)) or v is None][:14]
    numbers = "".join(f"<tr><td>{esc(k)}</td><td>{esc(_fmt(v))}</td></tr>" for k, v in scalars)
    thumbs = "".join(
        f'<a href="{esc(r.html or f)}"><img src="{esc(f)}" alt="{esc(r.name)} figure"></a>' for f in r.figures)
    links = " · ".join(f'<a href="{esc(p)}">{lbl}</a>' for lbl, p in (("HTML", r.html), ("notebook", r.ipynb)) if p)
    return f"""<section class="card {esc(r.status)}">
  <h2>{link} <span class="badge {esc(r.status)}">{esc(r.status)}</span></h2>
  <p class="meta"><code>{esc(r.name)}</code> · {r.duration_s:.1f} s · {esc(r.finished)} · {links}</p>
  {error}
  <div class="thumbs">{thumbs}</div>
  <div class="tables">
    <table><caption>parameters</caption>{params or '<tr><td>defaults</td></tr>'}</table>
    <table><caption>key numbers</caption>{numbers or '<tr><td>none recorded</td></tr>'}</table>
  </div>
</section>"""


_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>calolib reports</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1300px; color: #222; }}
h1 {{ margin-bottom: 0.2em; }}
.card {{ border: 1px solid #ccc; border-left: 6px solid #2a9d4a; border-radius: 6px; padding: 0.8em 1.2em; margin: 1em 0; }}
.card.failed {{ border-left-color: #c62828; }} .card.skipped {{ border-left-color: #999; }}
.card h2 {{ margin: 0.2em 0; font-size: 1.3em; }}
.badge {{ font-size: 0.7em; padding: 0.15em 0.6em; border-radius: 1em; color: #fff; background: #2a9d4a; vertical-align: middle; }}
.badge.failed {{ background: #c62828; }} .badge.skipped {{ background: #999; }}
.meta {{ color: #555; margin: 0.2em 0 0.6em; }}
.err {{ background: #fdecea; color: #8a1c1c; padding: 0.5em; white-space: pre-wrap; }}
.thumbs {{ display: flex; gap: 0.8em; flex-wrap: wrap; align-items: flex-start; margin-bottom: 0.5em; }}
.thumbs a {{ flex: 0 1 49%; }}
.thumbs img {{ max-width: 100%; max-height: 300px; border: 1px solid #ddd; }}
.tables {{ display: flex; gap: 2em; flex-wrap: wrap; }}
table {{ border-collapse: collapse; font-size: 0.85em; }}
caption {{ text-align: left; font-weight: bold; padding-bottom: 0.2em; }}
td {{ border-top: 1px solid #eee; padding: 0.15em 0.8em 0.15em 0; font-family: ui-monospace, monospace; }}
</style></head>
<body>
<h1>calolib reports</h1>
<p class="meta">updated {stamp} · preset <b>{preset}</b> · {n_ok}/{n} ok · {total:.0f} s of notebook time</p>
{cards}
</body></html>
"""
