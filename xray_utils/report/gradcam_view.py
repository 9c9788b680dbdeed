"""Where the networks look (Grad-CAM on the same test images for every kind) and their most confident mistakes."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from .. import explain, plots
from ..config import CLASS_NAMES
from ..runs import Run
from .html import heading, paragraph, show_figure, show_html

if TYPE_CHECKING:  # the model this section reads (sections.Report calls it; core imports no section)
    from .core import Report


def cases(report: Report, per_kind: int = 2) -> list[str]:
    """Test image ids covering TP, FN, FP and TN, chosen once from all kinds' predictions."""
    return explain.select_cases({r.name: r.predictions for r in report.main}, per_kind=per_kind)


def show_gradcam(report: Report, per_kind: int = 2) -> None:
    tables = {r.name: r.predictions for r in report.main}
    ids = cases(report, per_kind)
    present = set(explain.case_kinds(tables, ids))
    kinds = report.t("list_sep").join(report.t(f"kind_{k}") for k in explain.KINDS if k in present)
    show_html(heading(report.t("h_gradcam"), 2, "gradcam")
              + paragraph(report.t("gradcam_intro", n=len(ids), kinds=kinds)))
    for run in report.main:  # one grid per run, the images in the same order in each
        images, cams, probs = explain.compute_cams(run.path, ids)
        labels = run.predictions.set_index("id").loc[ids, "label"].to_numpy()
        titles = [f"{report.t('kind_' + explain.outcome(int(y), float(p)) + '_short')} p={p:.2f}\n"
                  f"{report.t('true_label', label=CLASS_NAMES[int(y)])}" for y, p in zip(labels, probs, strict=True)]
        show_figure(plots.image_grid(list(images), titles, ncols=min(4, len(ids)), overlays=list(cams),
                                     suptitle=run.name, lang=report.lang, title_size=11))


def confident_mistakes(run: Run, k: int) -> pd.DataFrame:
    """The ``k`` wrong test predictions (at 0.5) farthest from their true label's probability."""
    df = run.predictions.copy()
    wrong = df[df["prediction"] != df["label"]].copy()
    wrong["confidence"] = (wrong["p_pneumonia"] - wrong["label"]).abs()
    return wrong.sort_values(["confidence", "id"], ascending=[False, True]).head(k)


def show_errors(report: Report, k: int = 6) -> None:
    show_html(heading(report.t("h_errors"), 2, "errors") + paragraph(report.t("errors_intro", k=k)))
    for run in report.main:
        wrong = confident_mistakes(run, k)
        show_html(heading(run.name, 3))
        if wrong.empty:
            show_html(paragraph(report.t("no_mistakes", run=run.name)))
            continue
        images = explain.test_images(run.config, list(wrong["id"]))
        titles = [f"{report.t('true_label', label=CLASS_NAMES[int(y)])}\n{report.t('p_label', p=f'{p:.2f}')}"
                  for y, p in zip(wrong["label"], wrong["p_pneumonia"], strict=True)]
        show_figure(plots.image_grid(list(images), titles, ncols=min(k, 3), lang=report.lang, title_size=11))
