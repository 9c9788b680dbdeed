"""Task E: the test metrics of every run with their 95% intervals, built here and nowhere else.

The columns are the metric registry's table metrics (``metrics.table_metrics()``, in registry order, each
labelled by its ``label_key`` and formatted by its ``fmt``); the numbers are the model's
(``Report.task_e`` / ``core.table_values``: metrics.json, and a metric registered since the run was
evaluated computed from predictions.csv with its interval). A metric added with ``metrics.register`` (and
its ``metric_<name>`` texts) appears in the table, with its interval, without touching this file. The
training notebooks' one-run table (``run_table``) is the same table.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .. import evaluate, metrics
from ..report_text import text
from ..runs import Run
from . import banners
from .core import table_values
from .html import fmt_num, fmt_pct, fmt_threshold, heading, metric_cell, paragraph, show_html, table_html
from .statistics_view import bootstrap_sentence

if TYPE_CHECKING:
    from .core import Report


def metric_names() -> list[str]:
    return [m.name for m in metrics.table_metrics()]


def columns(lang: str, threshold: bool = False, flag: bool = False) -> list[tuple[str, str]]:
    """run, [threshold,] one column per table metric, [the degenerate-run warning]."""
    cols = [("run", text(lang, "col_run"))] + ([("threshold", text(lang, "col_threshold"))] if threshold else [])
    cols += [(m.name, text(lang, m.label_key)) for m in metrics.table_metrics()]
    return cols + ([("flag", text(lang, "col_degenerate"))] if flag else [])


def row(name: str, values: dict) -> dict:
    """One run's row: each table metric's value with its interval below it (``html.metric_cell``)."""
    out = {"run": name, "threshold": fmt_threshold(values.get("threshold"))}
    for metric in metric_names():
        out[metric] = metric_cell(metric, values.get(metric), values.get("ci", {}).get(metric))
    return out


def reference_row(report: Report) -> dict | None:
    """The earlier homework's reported numbers, only where its setting matches (``Report.reference_mismatches``)."""
    ref = report.reference
    if ref is None or report.reference_mismatches():
        return None
    return {"run": report.t("reference_row", name=ref.name, note=report.t("reference_note")), "_reference": True,
            "accuracy": fmt_pct(ref.accuracy), "loss": fmt_num(ref.loss)}


def reference_left_out(report: Report) -> str | None:
    """Why the reference row is not in the table (None when it is, or when there is no reference)."""
    ref, why = report.reference, report.reference_mismatches()
    if ref is None or not why:
        return None
    return report.t("reference_left_out", name=ref.name, acc=fmt_pct(ref.accuracy), loss=fmt_num(ref.loss),
                    note=report.t("reference_note"), why=report.t("list_sep").join(why))


def task_e_rows(report: Report, which: str = "test") -> list[dict]:
    """One row per run (``flag``: why a run is degenerate, ``banners``), then the reference where comparable."""
    flagged = banners.degenerate_runs(report.runs)
    rows = [{**row(name, values), "flag": banners.degenerate_marker(report.lang, name, flagged)}
            for name, values in report.task_e(which).items()]
    ref = reference_row(report) if which == "test" else None  # HW3 reported no Youden threshold
    return rows + ([ref] if ref else [])


def task_e_columns(report: Report, threshold: bool = False) -> list[tuple[str, str]]:
    """The metric columns, and a warning column when a run is degenerate (``banners.degenerate_runs``)."""
    return columns(report.lang, threshold, flag=bool(banners.degenerate_runs(report.runs)))


def task_e_table(report: Report, which: str = "test") -> str:
    """The table at threshold 0.5 ("test", id task-e-05) or at the Youden threshold ("test_youden")."""
    table_id = "task-e-05" if which == "test" else "task-e-youden"
    return table_html(task_e_rows(report, which), task_e_columns(report, threshold=which != "test"), table_id,
                      metric_cells=metric_names())


def show_task_e(report: Report) -> None:
    left_out = reference_left_out(report)
    show_html(heading(report.t("h_task_e"), 2, "task-e")
              + paragraph(report.t("task_e_intro", method=bootstrap_sentence(report)))
              + heading(report.t("h_task_e_05"), 3)
              + task_e_table(report, "test")
              + (paragraph(left_out) if left_out else "")
              + "".join(paragraph(s, "xray-degenerate")
                        for s in banners.degenerate_sentences(report.lang, banners.degenerate_runs(report.runs)))
              + heading(report.t("h_task_e_youden"), 3) + paragraph(report.t("task_e_youden_intro"))
              + "".join(paragraph(s, "xray-note") for s in youden_warnings(report))
              + task_e_table(report, "test_youden"))


def youden_warnings(report: Report) -> list[str]:
    """A warning when the validation set the Youden thresholds were chosen on holds fewer than
    ``evaluate.YOUDEN_MIN_PER_CLASS`` images of a class (from metrics.json's youden_basis, else val_predictions)."""
    for run in report.runs:
        basis = run.metrics.get("youden_basis") or evaluate.youden_basis(run.val_predictions["label"].to_numpy())
        if basis["few"]:
            return [report.t("youden_few", normal=basis["normal"], pneumonia=basis["pneumonia"],
                             limit=evaluate.YOUDEN_MIN_PER_CLASS)]
    return []


def run_table(run: Run, lang: str = "en") -> str:
    """One run's test metrics at threshold 0.5 (notebooks 01/02): the Task E table's row for that run."""
    return table_html([row(run.name, table_values(run, "test"))], columns(lang), "run-metrics",
                      metric_cells=metric_names())
