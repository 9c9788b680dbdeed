"""What the notebooks show: tables, figures and generated sentences, read from run directories.

The notebooks stay thin: each cell calls one ``show_*`` function. The package, by job:

    html        numbers as text (fmt_*), HTML tables, CSS; figures displayed as image/png outputs
    explore     notebook 00: the data (splits, patients, samples, intensities, sizes)
    run_view    notebooks 01/02: one run (settings, figures saved by an explicit call, test metrics)
    core        notebook 03's model: ``core.Report`` loads the runs, groups them into kinds, computes the
                paired tests, the Task E numbers and the ``Comparison``; it imports no section
    sections    ``Report`` = the model + one ``show_*`` per section, from the modules: settings_view
                (header, settings, disclosure), task_a, tasks_view (B-D, seeds), task_e (the one Task E
                table), statistics_view, gradcam_view, calibration_view, overfitting_view, learning_view
    findings    the generated sentences: pure functions of a ``Comparison``

Every word lives in ``report_text`` (English and Traditional Chinese).
"""

from __future__ import annotations

from .. import plots
from ..report_text import check_lang
from .explore import show_intensities, show_patients, show_samples, show_sizes, show_split_counts
from .findings import Comparison, PairTest, Reference, RunResult
from .html import (
    css,
    fmt_ci,
    fmt_int,
    fmt_macs,
    fmt_mean_sd,
    fmt_metric,
    fmt_num,
    fmt_p,
    fmt_p_is,
    fmt_pct,
    fmt_pp,
    fmt_seconds,
    fmt_spread,
    show_html,
    table_html,
)
from .run_view import save_run_figures, show_config, show_run
from .sections import Report

__all__ = [
    "Comparison", "PairTest", "Reference", "Report", "RunResult", "css", "fmt_ci", "fmt_int", "fmt_macs",
    "fmt_mean_sd", "fmt_metric", "fmt_num", "fmt_p", "fmt_p_is", "fmt_pct", "fmt_pp", "fmt_seconds", "fmt_spread",
    "save_run_figures", "setup", "show_config", "show_intensities", "show_patients", "show_run", "show_samples",
    "show_sizes", "show_split_counts", "table_html",
]


def setup(lang: str = "en") -> None:
    """First cell of every notebook: check the language, style the tables, fonts for CJK labels."""
    check_lang(lang)
    plots.use_language(lang)
    show_html(css())
