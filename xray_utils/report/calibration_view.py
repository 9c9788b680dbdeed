"""Calibration: do the predicted probabilities mean what they say? (Brier score, ECE, reliability diagram)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .. import evaluate, plots
from .findings import calibration_sentence
from .html import fmt_num, heading, paragraph, show_figure, show_html, table_html

if TYPE_CHECKING:  # the model this section reads (sections.Report calls it; core imports no section)
    from .core import Report


def calibration_rows(report: Report, bins: int = 10) -> list[dict]:
    rows = []
    for run in report.main:
        c = evaluate.calibration(run.y, run.p, n_bins=bins)
        rows.append({"run": run.name, "brier": float(c["brier"]), "ece": float(c["ece"])})
    return rows


def show_calibration(report: Report, bins: int = 10) -> None:
    rows = calibration_rows(report, bins)
    shown = [{"run": r["run"], "brier": fmt_num(r["brier"]), "ece": fmt_num(r["ece"])} for r in rows]
    cols = [("run", report.t("col_run")), ("brier", report.t("col_brier")), ("ece", report.t("col_ece"))]
    show_html(heading(report.t("h_calibration"), 2, "calibration")
              + paragraph(report.t("calibration_intro", bins=bins)) + table_html(shown, cols, "calibration"))
    show_figure(plots.reliability({r.name: (r.y, r.p) for r in report.main}, n_bins=bins, lang=report.lang))
    show_html(paragraph(calibration_sentence(report.lang, rows)))
