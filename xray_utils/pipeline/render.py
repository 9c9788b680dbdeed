"""The executed analysis notebook as report.html (nbconvert) and report.pdf (headless Chromium).

What reaches the page: every output and every markdown cell (the student's own notes in 03 belong in the
report), never code (hidden by the exporter, not by deleting cells), never the kernel's stderr, and never a
cell tagged ``notebook-only`` (03's instructions for working in JupyterLab).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from .. import atomic
from ..errors import XrayError

NOTEBOOK_ONLY_TAG = "notebook-only"
BROWSERS = ("/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome")
BROWSER_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage",  # containers give /dev/shm 64 MB, too little for a long page
)

# lab's template without the CDN scripts (require.js, MathJax, mermaid): the report uses none of them, and
# it must be one file that opens offline.
_REPORT_TEMPLATE = """{%- extends 'index.html.j2' -%}
{%- block html_head_js -%}{%- endblock html_head_js -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
"""


def html_exporter():
    """nbconvert's lab HTML exporter, configured for the report (code hidden, notebook-only cells removed)."""
    from jinja2 import DictLoader
    from nbconvert import HTMLExporter
    from nbconvert.preprocessors import TagRemovePreprocessor

    exporter = HTMLExporter(
        template_name="lab", extra_loaders=[DictLoader({"xray_report.html.j2": _REPORT_TEMPLATE})],
        template_file="xray_report.html.j2", exclude_input=True, exclude_input_prompt=True,
        exclude_output_prompt=True, embed_images=True,
    )
    exporter.register_preprocessor(TagRemovePreprocessor(remove_cell_tags={NOTEBOOK_ONLY_TAG}), enabled=True)
    return exporter


def render_html(executed: Path, target: Path, lang: str = "en", title: str | None = None) -> Path:
    """nbconvert the executed analysis notebook into one self-contained page (figures as base64 PNGs)."""
    import nbformat

    nb = nbformat.read(executed, as_version=4)
    for cell in nb.cells:  # warnings on stderr belong in the executed notebook, not in the report
        if cell.cell_type == "code":
            cell.outputs = [o for o in cell.outputs if not (o.output_type == "stream" and o.name == "stderr")]
    body, _ = html_exporter().from_notebook_node(nb, resources={"metadata": {"name": title or executed.stem}})
    # nbconvert accepts only ISO 639-1 codes ("zh"); the page says which Chinese it is (zh-TW)
    body, n = re.subn(r'<html lang="[^"]*">', f'<html lang="{lang}">', body, count=1)
    if n != 1:
        raise XrayError("nbconvert's HTML template has changed: no <html lang=...> found",
                        "pin nbconvert to the version in requirements.txt")
    atomic.write_text(target, body)
    return target


def find_browser() -> str | None:
    """A Chromium-family browser already installed (never downloaded)."""
    for name in BROWSERS:
        path = name if os.path.isabs(name) and os.access(name, os.X_OK) else shutil.which(name)
        if path:
            return path
    return None


def browser_command(browser: str, profile: str, *extra: str) -> list[str]:
    return [browser, *BROWSER_FLAGS, f"--user-data-dir={profile}", *extra]


def print_pdf(html: Path, target: Path, browser: str, timeout: float = 300) -> Path:
    """Print ``html`` to ``target`` with headless Chromium (the same engine people view the report in)."""
    with tempfile.TemporaryDirectory(prefix="xray-chromium-") as profile, \
            atomic.atomic_path(target, suffix=".pdf") as tmp:
        cmd = browser_command(browser, profile, f"--print-to-pdf={tmp}", "--no-pdf-header-footer",
                              html.resolve().as_uri())
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise XrayError(f"{browser} did not finish printing {html} within {timeout:.0f} s",
                            "open report.html in a browser and print it, or pass --no-pdf") from None
        if not tmp.exists() or tmp.stat().st_size == 0 or not tmp.read_bytes().startswith(b"%PDF"):
            tail = "\n".join((proc.stderr or "").strip().splitlines()[-5:])
            raise XrayError(f"{browser} did not write a PDF of {html} (exit code {proc.returncode}): {tail}",
                            "open report.html in a browser and print it, or pass --no-pdf")
    return target


def publish_pdf(html: Path, out: Path, want_pdf: bool, log) -> tuple[Path | None, str | None]:
    """report.pdf beside report.html when a browser is there: (pdf or None, a note saying why not)."""
    stale = out / "report.pdf"
    browser = find_browser() if want_pdf else None
    if browser is None and stale.exists():
        stale.unlink()  # it showed an earlier build; an outdated PDF beside the new HTML would mislead
        log(f"removed the outdated {stale}")
    if not want_pdf:
        return None, None
    if browser is None:
        return None, ("no PDF: no Chromium-family browser found (looked for " + ", ".join(BROWSERS) +
                      "); install one (Debian: apt-get install chromium) or print report.html from a browser")
    return print_pdf(html, stale, browser), None
