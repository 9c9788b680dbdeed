"""Tasks B to D and the seeds: each run's training, the runs overlaid, and the spread across seeds.

Runs of one kind ("<backbone>-<mode>") that differ only in the seed are repeats: Task B/C shows the kind's
first seed, Task D draws the mean over seeds with the range as a band (Task E, every run's test metrics, is
``task_e``), and the seeds section gives mean ± SD with each seed's value.
"""

from __future__ import annotations

import html as _html
from typing import TYPE_CHECKING

from .. import plots
from ..evaluate import seed_summary
from .findings import SEED_METRICS
from .html import (
    Raw,
    fmt_mean_sd,
    fmt_metric,
    fmt_num,
    heading,
    paragraph,
    show_figure,
    show_html,
    show_png,
    table_html,
)
from .run_view import CONFUSION_WIDTH, run_figure_pngs

if TYPE_CHECKING:  # the model this section reads (sections.Report calls it; core imports no section)
    from .core import Report


def show_task_bc(report: Report) -> None:
    show_html(heading(report.t("h_task_bc"), 2, "task-bc") + paragraph(report.t("task_bc_intro")))
    for runs in report.kinds.values():
        run = runs[0]
        note = (paragraph(report.t("first_seed_shown", seed=run.config.seed, n=len(runs)), "xray-note")
                if len(runs) > 1 else "")
        show_html(heading(f"{run.name} ({report.mode_label(run.config.mode)})", 3) + note)
        curves, confusion = run_figure_pngs(run, report.lang)
        show_png(curves)
        show_png(confusion, width=CONFUSION_WIDTH)


def _area_label(report: Report, kind: str, metric: str, short: str) -> str:
    s = seed_summary(r.metrics["test"].get(metric) for r in report.kinds[kind])
    value = (fmt_num(s["mean"]) if s["sd"] is None
             else f"{fmt_num(s['mean'])} ± {fmt_num(s['sd'])}, {report.t('fig_n_seeds', n=s['n'])}")
    return f"{kind} ({short} {value})"


def legend_labels(report: Report) -> dict[str, tuple[str, str]]:
    """kind -> (ROC legend, PR legend): the areas of metrics.json formatted as in the tables (one seed) or as
    mean ± SD over seeds, so a legend's AUC is the table's."""
    return {kind: (_area_label(report, kind, "roc_auc", report.t("fig_auc")),
                   _area_label(report, kind, "pr_auc", report.t("fig_ap")))
            for kind in report.kinds}


def show_task_d(report: Report) -> None:
    """Every kind overlaid: training curves, then ROC and PR curves."""
    intro = "task_d_intro_seeds" if report.has_seeds else "task_d_intro"
    show_html(heading(report.t("h_task_d"), 2, "task-d") + paragraph(report.t(intro)))
    show_figure(plots.curves_spread({kind: [r.history for r in runs] for kind, runs in report.kinds.items()},
                                    lang=report.lang))
    show_figure(plots.roc_pr_spread({kind: [(r.y, r.p) for r in runs] for kind, runs in report.kinds.items()},
                                    legend_labels(report), lang=report.lang))


# ----------------------------------------------------------------------------------------------------
# seeds


def seed_values(report: Report) -> dict[str, dict[str, list[float | None]]]:
    """kind -> metric -> test value (threshold 0.5) of each seed, lowest seed first."""
    return {kind: {m: [r.metrics["test"].get(m) for r in runs] for m in SEED_METRICS}
            for kind, runs in report.kinds.items()}


def seed_rows(report: Report) -> list[dict]:
    """One row per kind: its seeds, and per metric "mean ± SD" with each seed's value below it."""
    rows = []
    for kind, per_metric in seed_values(report).items():
        row = {"kind": kind, "seeds": ", ".join(str(r.config.seed) for r in report.kinds[kind])}
        for metric, values in per_metric.items():
            s = seed_summary(values)
            each = " / ".join(fmt_metric(metric, v) for v in values)
            row[metric] = Raw(f'<span class="value">{_html.escape(fmt_mean_sd(metric, s["mean"], s["sd"]))}</span>'
                              + (f'<br><span class="ci">{_html.escape(each)}</span>' if s["n"] > 1 else ""))
        rows.append(row)
    return rows


def show_seeds(report: Report) -> None:
    parts = heading(report.t("h_seeds"), 2, "seeds")
    if not report.has_seeds:
        seeds = ", ".join(sorted({str(r.config.seed) for r in report.runs}))
        show_html(parts + paragraph(report.t("seeds_one", seeds=seeds)))
        return
    cols = [("kind", report.t("col_kind")), ("seeds", report.t("col_seeds"))]
    cols += [(m, report.t(f"metric_{m}")) for m in SEED_METRICS]
    show_html(parts + paragraph(report.t("seeds_intro"))
              + table_html(seed_rows(report), cols, "seeds", row_key="kind", metric_cells=SEED_METRICS))
    show_figure(plots.seed_points(seed_values(report), {m: report.t(f"metric_{m}") for m in SEED_METRICS}))
