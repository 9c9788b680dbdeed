"""The printed report (report.pdf, headless Chromium) is clean: no table cell's text runs into another's, nothing
is cut at the page edge, headings stay with what follows them, the first page is not an empty cover, and the
error gallery's titles are readable. Read back with poppler's ``pdftotext -bbox`` (word boxes in points).

The report is a tiny zh-TW one on a folder of phantom images trained from random weights, so the page also
carries the random-weights banner and report.json lists it.
"""

import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from xray_utils import pipeline, plots
from xray_utils.config import RunConfig
from xray_utils.pipeline import render
from xray_utils.report_text import text

BROWSER = render.find_browser()
PDFTOTEXT = shutil.which("pdftotext")
needs_printing = pytest.mark.skipif(BROWSER is None or PDFTOTEXT is None,
                                    reason="needs Chromium and poppler's pdftotext (.ci/run installs both)")
# Full-width punctuation is set half-width by the CJK font, so its box overlaps its neighbour's by design.
CJK_PUNCTUATION = set("（）。，、；：「」『』！？【】《》〈〉")
LANG = "zh-TW"


def phantom_folder(root: Path, n_train: int = 24, n_test: int = 12) -> Path:
    """A Kaggle-layout folder of phantom JPEGs: "real data" as far as the report can tell (dataset folder)."""
    from xray_utils.data import synthetic_phantom

    for s, split in enumerate(("train", "test")):
        for label, cls in enumerate(("NORMAL", "PNEUMONIA")):
            folder = root / split / cls
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(n_train if split == "train" else n_test):
                name = f"person{i // 2}_bacteria_{i}.jpeg" if label else f"IM-{i // 2:04d}-{i % 2 + 1:04d}.jpeg"
                image = synthetic_phantom(np.random.default_rng([s, label, i]), 48, bool(label))
                Image.fromarray(image).save(folder / name)
    return root


@pytest.fixture(scope="module")
def printed(tmp_path_factory):
    """(report.pdf, report.json) of a three-run zh-TW report; the runs are trained here, the report rendered."""
    from xray_utils.training import train

    if BROWSER is None or PDFTOTEXT is None:
        pytest.skip("needs Chromium and pdftotext")
    tmp = tmp_path_factory.mktemp("pdf")
    common = dict(dataset="folder", data_dir=str(phantom_folder(tmp / "xray")), img_size=32, epochs=2,
                  weights="none", batch_size=16, lr=1e-3, num_workers=0, progress=False)
    out = tmp / "report"
    for mode in ("finetune", "frozen", "scratch"):
        cfg = RunConfig(**common, backbone="squeezenet1_1", mode=mode)
        train.fit(cfg, out / "runs" / cfg.run_name, log=lambda _m: None)
    result = pipeline.build_report(out=out, lang=LANG, render_only=True, backbones="squeezenet1_1",
                                   modes="finetune,frozen", with_scratch=True, extra=common, log=lambda _m: None)
    assert result.pdf is not None
    return result.pdf, json.loads((out / "report.json").read_text(encoding="utf-8"))


def pdf_pages(pdf: Path) -> list[tuple[float, float, list[tuple[float, float, float, float, str]]]]:
    """(width, height, words) per page; a word is (x0, y0, x1, y1, text) in points, y downwards."""
    page = subprocess.run([PDFTOTEXT, "-bbox", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    word = r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>'
    pages = re.findall(r'<page width="([\d.]+)" height="([\d.]+)">(.*?)</page>', page, re.S)
    return [(float(w), float(h), [(float(a), float(b), float(c), float(d), t)
                                  for a, b, c, d, t in re.findall(word, body)]) for w, h, body in pages]


def lines(words) -> list[tuple[float, str]]:
    """The page's text lines, top to bottom: (bottom, text without spaces); a word joins the line above when
    their middles are closer than 15% of their heights together (Latin and CJK boxes differ in height)."""
    rows: list[list] = []
    for w in sorted(words, key=lambda w: ((w[1] + w[3]) / 2, w[0])):
        middle, height = (w[1] + w[3]) / 2, w[3] - w[1]
        if rows and abs(rows[-1][0] - middle) <= 0.15 * (rows[-1][2] + height):
            rows[-1][1].append(w)
        else:
            rows.append([middle, [w], height])
    return [(max(w[3] for w in ws), "".join(w[4] for w in sorted(ws))) for _, ws, _ in rows]


def _band(y0: float, y1: float) -> tuple[float, float]:
    """The middle 30% of a word box's height: a CJK font's box is over twice its line pitch, so whole boxes of
    consecutive lines overlap although their ink does not."""
    centre, half = (y0 + y1) / 2, 0.15 * (y1 - y0)
    return centre - half, centre + half


def overlapping(words, slack: float = 1.0) -> list[tuple[str, str]]:
    """Pairs of words whose ink overlaps (more than ``slack`` points across, on the same line band)."""
    found = []
    ordered = sorted(words)
    for i, a in enumerate(ordered):
        for b in ordered[i + 1:]:
            if b[0] >= a[2] - slack:
                break  # sorted by left edge: no later word starts before a ends
            if a[4][-1:] in CJK_PUNCTUATION or b[4][:1] in CJK_PUNCTUATION:
                continue
            (a0, a1), (b0, b1) = _band(a[1], a[3]), _band(b[1], b[3])
            if min(a[2], b[2]) - max(a[0], b[0]) > slack and min(a1, b1) > max(a0, b0):
                found.append((a[4], b[4]))
    return found


def test_the_overlap_check_finds_text_running_into_its_neighbour():
    cell = (100.0, 200.0, 160.0, 210.0, "squeezenet1_1")
    assert overlapping([cell, (150.0, 200.0, 190.0, 210.0, "723,522")]) == [("squeezenet1_1", "723,522")]
    assert overlapping([cell, (161.0, 200.0, 190.0, 210.0, "723,522")]) == []  # side by side
    assert overlapping([cell, (150.0, 212.0, 190.0, 222.0, "723,522")]) == []  # the next line
    assert overlapping([(100.0, 200.0, 160.0, 230.0, "分類頭）"), (158.0, 200.0, 170.0, 230.0, "。")]) == []


@pytest.mark.slow
@needs_printing
def test_no_two_words_overlap_and_nothing_is_cut_at_the_page_edge(printed):
    pages = pdf_pages(printed[0])
    assert len(pages) >= 5
    for k, (width, _height, words) in enumerate(pages, 1):
        assert not overlapping(words), f"page {k}: {overlapping(words)[:5]}"
        outside = [w[4] for w in words if w[0] < 1 or w[2] > width - 1]
        assert not outside, f"page {k}: text beyond the page edge: {outside[:5]}"


@pytest.mark.slow
@needs_printing
def test_the_first_page_is_not_an_empty_cover_and_carries_the_banner(printed):
    pdf, meta = printed
    width, height, words = pdf_pages(pdf)[0]
    assert max(w[3] for w in words) > 0.6 * height  # the page is filled past 60% of its height
    first = "".join(w[4] for w in words)
    assert text(LANG, "h_settings") in first  # the settings start on page 1, after the header
    banner = text(LANG, "random_weights_banner", runs="").split("：")[0]
    assert banner.replace(" ", "") in first.replace(" ", "")
    assert meta["banners"][0] == "random_weights" and set(meta["banners"]) <= {"random_weights", "degenerate_runs"}


@pytest.mark.slow
@needs_printing
def test_every_heading_has_content_below_it_on_its_page(printed):
    """A heading is orphaned when less than three lines' worth (45 pt) of its section (text or figure: measured on the
    rendered page, so figures count) follows it on its page."""
    pdf = printed[0]
    pages = pdf_pages(pdf)
    keys = ("h_settings", "h_task_a", "h_task_bc", "h_task_d", "h_task_e", "h_stats", "h_gradcam", "h_errors",
            "h_calibration", "h_findings")
    for key in keys:
        heading = text(LANG, key).replace(" ", "")
        found = [(k, bottom) for k, (_, _, words) in enumerate(pages) for bottom, line in lines(words)
                 if line == heading]
        assert found, f"{key} ({heading}) not found"
        for k, bottom in found:
            below = ink_bottom(pdf, k + 1, pages[k][1]) - bottom
            assert below >= 45, f"{key} on page {k + 1}: only {below:.0f} pt of content below it"


def ink_bottom(pdf: Path, page: int, width_pt: float, dpi: int = 36) -> float:
    """How far down the page (in points) anything is drawn: text, tables or figures."""
    import io

    png = subprocess.run([shutil.which("pdftoppm") or "pdftoppm", "-png", "-gray", "-r", str(dpi), "-f", str(page),
                          "-l", str(page), str(pdf)], capture_output=True, check=True).stdout
    ink = np.asarray(Image.open(io.BytesIO(png)).convert("L")) < 200
    rows = np.flatnonzero(ink.any(axis=1))
    return (rows[-1] + 1) * 72 / dpi if rows.size else 0.0


def test_error_gallery_titles_print_at_8_pt_or_more(monkeypatch):
    """The gallery's figure is drawn at plots.DPI and shown at most a page wide (719 CSS px = 7.5 in on
    Letter with Chromium's margins): its titles' printed size is their size times that scale."""
    from xray_utils.report import gradcam_view

    figures = []
    monkeypatch.setattr(gradcam_view, "show_html", lambda _html: None)
    monkeypatch.setattr(gradcam_view, "show_figure", figures.append)
    monkeypatch.setattr(gradcam_view.explain, "test_images", lambda cfg, ids: np.zeros((len(ids), 32, 32)))

    class Stub:
        lang, main = LANG, []

        def t(self, key, **values):
            return text(LANG, key, **values)

    import pandas as pd

    from xray_utils.runs import Run

    wrong = pd.DataFrame({"id": [f"t{i}" for i in range(6)], "patient": "p", "label": 0, "p_pneumonia": 0.9,
                          "prediction": 1})
    stub = Stub()
    stub.main = [Run(Path("/x"), "r", RunConfig(), {}, pd.DataFrame(), wrong, wrong)]
    gradcam_view.show_errors(stub, k=6)
    (fig,) = figures
    page_px = 7.5 * 96
    scale = min(1.0, page_px / (fig.get_size_inches()[0] * plots.DPI))
    for ax in fig.axes:
        printed_pt = ax.title.get_fontsize() * plots.DPI / 96 * scale
        assert printed_pt >= 8, printed_pt
