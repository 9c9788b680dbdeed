"""Numbers as text, HTML tables, the CSS, and how the notebooks display them.

Numbers are formatted by the ``fmt_*`` functions only, so a test can predict every number in a table from
metrics.json. Tables are HTML outputs; figures are ``image/png`` outputs (``show_figure``), the MIME type
JupyterLab's PDF / LaTeX export and nbconvert's HTML both carry.
"""

from __future__ import annotations

import html
import io
import re
from typing import Any, Iterable, Sequence

import numpy as np
from IPython.display import HTML, Image, display
from matplotlib.figure import Figure

from .. import metrics, plots
from ..report_text import FONT_FAMILY

# ----------------------------------------------------------------------------------------------------
# numbers as text (the only place numbers are formatted)


def _missing(v: float | None) -> bool:
    return v is None or not np.isfinite(v)


def fmt_pct(v: float | None, digits: int = 2) -> str:
    return "n/a" if _missing(v) else f"{100 * v:.{digits}f}%"


def fmt_num(v: float | None, digits: int = 4) -> str:
    return "n/a" if _missing(v) else f"{v:.{digits}f}"


def is_rate(metric: str) -> bool:
    """A metric shown as a percentage: the registry's ``fmt`` "pct" (accuracy, sensitivity, ...)."""
    return metric in metrics.METRICS and metrics.METRICS[metric].fmt == "pct"


def fmt_metric(metric: str, v: float | None) -> str:
    """A registered metric as its ``fmt`` says: rates as percentages (83.93%), the rest with 4 decimals (0.3490)."""
    return fmt_pct(v) if is_rate(metric) else fmt_num(v)


def fmt_spread(metric: str, sd: float | None) -> str:
    """A standard deviation in the metric's unit: percentage points for rates (1.20 pp), else 0.0123."""
    if _missing(sd):
        return "n/a"
    return f"{100 * sd:.2f} pp" if is_rate(metric) else fmt_num(sd)


def fmt_mean_sd(metric: str, mean: float | None, sd: float | None) -> str:
    """"85.00% ± 1.20 pp" over seeds; the bare value when the spread is unknown (one seed)."""
    return fmt_metric(metric, mean) if _missing(sd) else f"{fmt_metric(metric, mean)} ± {fmt_spread(metric, sd)}"


CI_DIGITS = {"pct": 1, "num": 3}  # an interval bound's decimals: its Monte Carlo error is ~0.05 pp / ~0.0005


def fmt_bound(metric: str, v: float | None) -> str:
    """An interval bound, to the precision the resampling supports: 81.3% (rates), 0.912 (the rest)."""
    return fmt_pct(v, CI_DIGITS["pct"]) if is_rate(metric) else fmt_num(v, CI_DIGITS["num"])


def fmt_threshold(t: float | None) -> str:
    """A probability threshold with the digits that tell it from 0 and 1 and from its neighbours: 0.500,
    0.99995 (never "1.000" for a threshold below 1)."""
    if _missing(t):
        return "n/a"
    gap = min(t, 1.0 - t)
    digits = 3 if gap >= 1e-3 or gap <= 0 else min(12, int(np.ceil(-np.log10(gap))) + 2)
    return f"{t:.{digits}f}"


def fmt_ci(metric: str, ci: Sequence[float] | None) -> str:
    if not ci or any(c is None for c in ci):
        return ""
    return f"[{fmt_bound(metric, ci[0])}, {fmt_bound(metric, ci[1])}]"


def fmt_p(p: float | None) -> str:
    if _missing(p):
        return "n/a"
    return "< 0.0001" if p < 1e-4 else f"{p:.4f}"


def fmt_p_is(p: float | None) -> str:
    """A p-value in a sentence: "p = 0.0123" or "p < 0.0001"."""
    text_p = fmt_p(p)
    return f"p {text_p}" if text_p.startswith("<") else f"p = {text_p}"


def fmt_signed(v: float | None, decimals: int = 4, scale: float = 1.0, suffix: str = "") -> str:
    """A signed difference, ``scale * v``; one that rounds to zero reads +0.00, never -0.00."""
    if _missing(v):
        return "n/a"
    return f"{round(scale * v, decimals) + 0.0:+.{decimals}f}{suffix}"  # + 0.0 turns -0.0 into 0.0


def fmt_pp(v: float | None) -> str:
    """A difference of two rates in percentage points, signed."""
    return fmt_signed(v, 2, 100)


def fmt_int(n: int | None) -> str:
    return "n/a" if n is None else f"{int(n):,}"


def fmt_macs(n: int | None) -> str:
    """Multiply-accumulates in one unit, G (10^9), whatever the size: 1.819 G, 0.036 G."""
    return "n/a" if n is None else f"{n / 1e9:.3f} G"


def fmt_seconds(s: float | None) -> str:
    if _missing(s):
        return "n/a"
    return f"{s:.1f} s" if s < 120 else f"{s / 60:.1f} min"


def fmt_rate(images_per_s: float | None) -> str:
    return "n/a" if _missing(images_per_s) else f"{images_per_s:.1f}"


# ----------------------------------------------------------------------------------------------------
# HTML fragments


class Raw(str):
    """A table cell that is already HTML."""


def _cell(value: Any) -> str:
    return value if isinstance(value, Raw) else html.escape(str(value))


# "0.3490", "83.93%", "1,026", "8.5 M", "48 / 55", "2 (1)", "+1.20 [-0.50, +2.90]", "< 0.0001", "85.00% ± 1.20 pp"
_NUMBER = re.compile(r"^[<>]?\s*[-+]?[\d,.]+\s*(%|G|M|s|min)?(\s*(/|±)\s*[\d,.]+\s*(pp)?)*(\s*[(\[].*[)\]])?$")


def _is_number(value: Any) -> bool:
    return isinstance(value, Raw) or bool(_NUMBER.match(str(value)))


def table_html(rows: list[dict], columns: Sequence[tuple[str, str]], table_id: str,
               row_key: str | None = "run", metric_cells: Iterable[str] = ()) -> str:
    """An HTML table; cells of ``metric_cells`` columns carry data-run / data-metric attributes.

    Columns holding only numbers are right-aligned, text columns left-aligned. Rows with ``_reference``
    (a result reported elsewhere) are set in italics and do not decide a column's alignment.
    """
    metric_cells = set(metric_cells)
    measured = [r for r in rows if not r.get("_reference")]
    numeric = {key for key, _ in columns
               if all(_is_number(r[key]) for r in measured if str(r.get(key, "")) not in ("", "n/a"))}
    num = ' class="num"'
    head = "".join(f"<th{num if key in numeric else ''}>{html.escape(label)}</th>" for key, label in columns)
    body = []
    for row in rows:
        tds = []
        for key, _ in columns:
            attrs = num if key in numeric else ""
            if key in metric_cells and row_key:
                attrs += f' data-run="{html.escape(str(row[row_key]))}" data-metric="{key}"'
            tds.append(f"<td{attrs}>{_cell(row.get(key, ''))}</td>")
        cls = ' class="reference"' if row.get("_reference") else ""
        body.append(f"<tr{cls}>{''.join(tds)}</tr>")
    return (f'<table class="xray-table" id="{table_id}"><thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(body)}</tbody></table>")


def metric_cell(metric: str, value: float | None, ci: Sequence[float] | None) -> Raw:
    """The value with its 95% interval below it, smaller."""
    ci_text = fmt_ci(metric, ci)
    ci_html = f'<br><span class="ci">{html.escape(ci_text)}</span>' if ci_text else ""
    return Raw(f'<span class="value">{html.escape(fmt_metric(metric, value))}</span>{ci_html}')


def heading(title: str, level: int = 2, anchor: str | None = None) -> str:
    id_attr = f' id="{anchor}"' if anchor else ""
    return f"<h{level}{id_attr}>{html.escape(title)}</h{level}>"


def paragraph(sentence: str, css_class: str | None = None) -> str:
    cls = f' class="{css_class}"' if css_class else ""
    return f"<p{cls}>{html.escape(sentence)}</p>"


def bullets(sentences: Iterable[str], css_class: str | None = None) -> str:
    cls = f' class="{css_class}"' if css_class else ""
    return f"<ul{cls}>" + "".join(f"<li>{html.escape(s)}</li>" for s in sentences) + "</ul>"


def keep_together(fragment: str) -> str:
    """HTML kept on one printed page (a heading with its intro and a short table): ``break-inside: avoid``."""
    return f'<div class="xray-keep">{fragment}</div>'


def banner(sentence: str) -> str:
    return f'<div class="xray-banner">{html.escape(sentence)}</div>'


def css() -> str:
    return f"""<style>
body, .jp-RenderedHTMLCommon, .jp-Notebook {{ font-family: {FONT_FAMILY}; }}
.xray-banner {{ background: #b71c1c; color: #fff; font-weight: bold; padding: 0.8em 1em; margin: 0.5em 0;
  border-radius: 4px; font-size: 1.1em; }}
.xray-table {{ border-collapse: collapse; margin: 0.5em 0 1em 0; font-size: 0.85em; }}
/* prefixed with JupyterLab's output class to outrank its right-aligned table cells */
.jp-RenderedHTMLCommon .xray-table th, .jp-RenderedHTMLCommon .xray-table td, .xray-table th, .xray-table td {{
  border: 1px solid #ccc; padding: 3px 7px; text-align: left; vertical-align: top; }}
.xray-table th {{ background: #f0f0f0; }}
.jp-RenderedHTMLCommon .xray-table .num, .xray-table .num {{ text-align: right; white-space: nowrap; }}
.jp-RenderedHTMLCommon .xray-table th.num, .xray-table th.num {{ white-space: normal; }}
.xray-table .ci {{ color: #666; font-size: 0.85em; white-space: nowrap; }}
.xray-table tr.reference td {{ font-style: italic; color: #555; }}
img {{ max-width: 100%; height: auto; }}
.xray-note {{ color: #555; font-size: 0.9em; }}
ul.xray-findings li {{ margin: 0.3em 0; }}
h1, h2, h3, :is(h1, h2, h3) + p, :is(h1, h2, h3) + p + p {{ break-after: avoid; }}
/* JupyterLab's tables are table-layout: fixed (equal columns whatever they hold): long texts then run 15
   lines in a narrow column and numbers spill into their neighbours. Ours size columns by their content. */
.jp-RenderedHTMLCommon table.xray-table, table.xray-table {{ table-layout: auto; }}
.jp-RenderedHTMLCommon .xray-table td, .xray-table td {{ overflow-wrap: break-word; }}
/* Printed (report.pdf): a page has no horizontal scrollbar, so wide tables (settings, Task A, Task E with
   intervals, the pairwise tests) shrink and wrap inside the page instead of being cut at its right edge;
   a heading stays on the page of what follows it; a long output may start on the page its heading is on. */
@media print {{
  .jp-OutputArea-output, .jp-RenderedHTMLCommon, .jp-RenderedHTML {{ overflow: visible !important; }}
  /* block, not flex: Chromium honours break-after: avoid between blocks, not between flex items */
  .jp-OutputArea-child, .jp-Cell-outputWrapper, .jp-OutputArea-output {{ display: block; break-inside: auto; }}
  .jp-OutputArea-prompt, .jp-OutputPrompt {{ display: none; }}
  .jp-OutputArea-child:has(img), .xray-banner, .xray-keep, .xray-table tr, p, li {{ break-inside: avoid; }}
  /* an output that ends in a heading (and its intro) stays with the next output, a figure or a table */
  .jp-OutputArea-child:has(> .jp-OutputArea-output > :is(h1, h2, h3):last-child),
  .jp-OutputArea-child:has(> .jp-OutputArea-output > :is(h1, h2, h3) + p:last-child),
  .jp-Cell:has(.jp-RenderedMarkdown > :is(h1, h2, h3):last-child) {{ break-after: avoid; }}
  .xray-table {{ font-size: 0.62em; width: 100%; }}
  .xray-table thead {{ display: table-header-group; }}
  /* a wide table's cells wrap at spaces ("+0.24 [+0.07, +0.42]"), a number itself never breaks */
  .jp-RenderedHTMLCommon .xray-table .num, .xray-table .num, .xray-table .ci {{ white-space: normal; }}
  .jp-RenderedHTMLCommon .xray-table th, .jp-RenderedHTMLCommon .xray-table td {{ padding: 2px 4px; }}
  img {{ break-inside: avoid; }}
}}
</style>"""


# ----------------------------------------------------------------------------------------------------
# output


def png_bytes(fig: Figure) -> bytes:
    """A figure from ``plots`` as PNG bytes (plots' figures are not registered with pyplot: nothing to close)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=plots.DPI, bbox_inches="tight")
    return buf.getvalue()


def show_html(fragment: str) -> None:
    display(HTML(fragment))


def show_png(png: bytes, width: int | None = None) -> None:
    """An image/png output: JupyterLab's exports and nbconvert's HTML both embed it. ``width`` (CSS pixels)
    shows a small figure small, instead of stretched as wide as the wide ones beside it."""
    display(Image(data=png, format="png", width=width))


def show_figure(fig: Figure) -> None:
    show_png(png_bytes(fig))
