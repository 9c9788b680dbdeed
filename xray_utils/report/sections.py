"""The report's sections, in the report's order: ``Report`` is the model (``core.Report``) plus one
``show_*`` per section, the calls notebook 03 makes (``R = report.Report.load(...); R.show_task_e()``).

The model imports no section; each section module reads the model (``report.kinds``, ``report.task_e``,
``report.comparison()``, ``report.t``) and displays HTML and figures. This module is the one place that
knows them all.
"""

from __future__ import annotations

from . import (
    banners,
    calibration_view,
    claims_view,
    core,
    gradcam_view,
    learning_view,
    overfitting_view,
    settings_view,
    shortcut_view,
    statistics_view,
    task_a,
    task_e,
    tasks_view,
)
from .html import bullets, heading, show_html


class Report(core.Report):
    """``core.Report`` (loading, grouping, statistics) with each section's ``show_*``."""

    def show_header(self) -> None:
        settings_view.show_header(self)

    def show_settings(self) -> None:
        settings_view.show_settings(self)

    def show_task_a(self, device: str = "cpu") -> None:
        task_a.show_task_a(self, device)

    def show_task_bc(self) -> None:
        tasks_view.show_task_bc(self)

    def show_task_d(self) -> None:
        tasks_view.show_task_d(self)

    def show_task_e(self) -> None:
        task_e.show_task_e(self)

    def show_seeds(self) -> None:
        tasks_view.show_seeds(self)

    def show_overfitting(self) -> None:
        overfitting_view.show_overfitting(self)

    def show_learning_curves(self) -> None:
        learning_view.show_learning_curves(self)

    def show_statistics(self) -> None:
        statistics_view.show_statistics(self)

    def show_gradcam(self, per_kind: int = 2) -> None:
        gradcam_view.show_gradcam(self, per_kind)

    def show_errors(self, k: int = 6) -> None:
        gradcam_view.show_errors(self, k)

    def show_calibration(self, bins: int = 10) -> None:
        calibration_view.show_calibration(self, bins)

    def show_claims(self) -> None:
        claims_view.show_claims(self)

    def show_shortcut(self) -> None:
        shortcut_view.show_shortcut(self)

    def show_findings(self) -> None:
        show_html(heading(self.t("h_findings"), 2, "findings")
                  + banners.banners_html(self.lang, self.all_runs)
                  + bullets(self.findings() + [overfitting_view.summary_sentence(self.runs, self.lang),
                                               claims_view.findings_line(self)]
                            + shortcut_view.finding_sentences(self), "xray-findings"))
