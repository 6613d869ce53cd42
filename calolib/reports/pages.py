"""One HTML page per executed notebook, and its key figures for the index.

* :func:`export_html` writes a notebook as HTML with the code hidden (nbconvert ``HTMLExporter``,
  ``exclude_input=True``): readers see the markdown, the figures and the printed tables.  The page is
  titled by its report and opens with a top bar linking back to the index, the run's provenance
  (commit, data digest, preset, date) and a table of the run parameters papermill injected.
* :func:`extract_figures` saves the key figures (PNG outputs of cells tagged ``key-figure`` first,
  then the first PNG outputs) as ``figures/<name>_<i>.png`` for the index thumbnails.
* :func:`format_value` and :func:`markdown_html` are the small formatting helpers shared with the index.
"""
from __future__ import annotations

import base64
import html
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["export_html", "extract_figures", "page_header", "format_value", "markdown_html", "parameters_table"]


def __dir__():
    return __all__


def format_value(value: Any, *, limit: int | None = 120) -> str:
    """Text of one number or parameter for a table: floats to 4 significant digits, other values as JSON.

    A ``{"value": v, "err": e}`` dict reads ``v ± e``.  Texts longer than ``limit`` characters are cut
    with an ellipsis (``None``: never cut).

    Example:
        >>> format_value(0.123456), format_value([1, 0.123456]), format_value({"value": 1.234, "err": 0.05}), format_value("a")
        ('0.1235', '[1, 0.1235]', '1.234 ± 0.050', 'a')
    """
    from calolib.reports.takeaways import fmt

    if isinstance(value, Mapping) and "value" in value and set(value) <= {"value", "err", "unit"}:
        return fmt(value["value"], value.get("err"), unit=f" {value['unit']}" if value.get("unit") else "")
    if isinstance(value, float):
        text = f"{value:.4g}"
    elif isinstance(value, list) and value and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
        text = "[" + ", ".join(f"{v:.4g}" if isinstance(v, float) else str(v) for v in value) + "]"
    elif isinstance(value, str):
        text = value
    else:
        text = json.dumps(value, default=str, ensure_ascii=False)
    return text if limit is None or len(text) <= limit else text[: limit - 1] + "…"


def markdown_html(text: str) -> str:
    """Inline HTML of a short Markdown text (a take-away sentence); raw HTML in it is escaped.

    Example:
        >>> markdown_html("E′ is **7×** larger than `x<y`")
        'E′ is <strong>7×</strong> larger than <code>x&lt;y</code>'
    """
    try:
        import mistune

        out = mistune.create_markdown(escape=True)(text).strip()
        return re.sub(r"^<p>(.*)</p>$", r"\1", out, flags=re.S)
    except ImportError:  # pragma: no cover - mistune ships with nbconvert
        return html.escape(text)


def parameters_table(parameters: Mapping[str, Any], *, limit: int | None = None) -> str:
    """HTML ``<table>`` rows ``name | value`` of the run parameters (``defaults`` when empty)."""
    esc = html.escape
    rows = "".join(f"<tr><td>{esc(k)}</td><td>{esc(format_value(v, limit=limit))}</td></tr>"
                   for k, v in parameters.items())
    return rows or "<tr><td>defaults (no parameters injected)</td></tr>"


def page_header(title: str, *, name: str = "", parameters: Mapping[str, Any] | None = None,
                provenance: Mapping[str, Any] | None = None, index_href: str = "index.html") -> str:
    """The HTML block put at the top of a report page: back link, title, provenance line, run parameters.

    Example:
        >>> h = page_header("03 · Evaluation", name="03_evaluate", parameters={"n_events": 5000})
        >>> 'href="index.html"' in h and "n_events" in h and "5000" in h
        True
    """
    from calolib.reports.provenance import summary_line

    esc = html.escape
    params = dict(parameters or {})
    return f"""<div class="calolib-top">
<style>
.calolib-top {{ font-family: system-ui, sans-serif; border-bottom: 1px solid #ccc; background: #f6f8fa;
  padding: 0.6em 1.2em; margin-bottom: 1em; }}
.calolib-top a {{ color: #0b57d0; }}
.calolib-top .prov {{ color: #555; font-size: 0.85em; margin: 0.2em 0; }}
.calolib-top table {{ border-collapse: collapse; font-size: 0.85em; margin: 0.3em 0; }}
.calolib-top td {{ border-top: 1px solid #e3e3e3; padding: 0.1em 1em 0.1em 0; font-family: ui-monospace, monospace;
  vertical-align: top; }}
</style>
<p><a href="{esc(index_href)}">← all reports</a> · <b>{esc(title)}</b> <code>{esc(name)}</code></p>
<p class="prov">{esc(summary_line(provenance))}</p>
<details{' open' if len(params) <= 12 else ''}><summary>run parameters ({len(params)})</summary>
<table>{parameters_table(params)}</table></details>
</div>"""


def export_html(nb, path: str | Path, *, title: str | None = None, header: str | None = None) -> Path:
    """Write notebook ``nb`` as an HTML page with the code cells hidden; returns the path.

    ``title`` becomes the page's ``<title>`` (nbconvert's default is "Notebook"); ``header`` (HTML, e.g.
    :func:`page_header`) is placed at the top of the page body.
    """
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True)
    body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": title or ""}})
    if title:
        body = re.sub(r"<title>.*?</title>", lambda _: f"<title>{html.escape(title)}</title>", body, count=1, flags=re.S)
    if header:
        body, n = re.subn(r"(<body[^>]*>)", lambda m: m.group(1) + "\n" + header, body, count=1)
        if not n:
            body = header + body
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
