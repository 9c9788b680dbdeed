"""Are the differences real? Paired comparisons of the kinds on the same test images, patients as the unit.

Verdicts use ``p_holm``: a paired test that resamples patients (images of one patient move together),
Holm-corrected over all pairs. McNemar's exact test is shown beside it with its assumption (independent
images). The method note says what the intervals resampled, from the runs' metrics.json ``bootstrap``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .. import plots
from .findings import has_seeds, pair_sentences, verdict
from .html import bullets, fmt_p, fmt_pp, fmt_signed, heading, paragraph, show_figure, show_html, table_html

if TYPE_CHECKING:  # the model this section reads (sections.Report calls it; core imports no section)
    from .core import Report


def bootstrap_sentence(report: Report) -> str:
    """"patients resampled within class (202 patients, 1000 resamples)", in the report's language."""
    info = report.bootstrap_info()
    return report.t(f"bootstrap_{info['unit']}", units=info.get("n_units", "?"), n=info.get("n_resamples", "?"))


def unit_caveat(report: Report) -> str | None:
    """PneumoniaMNIST: why its image-level statistics are too sure (about 427 patients behind 624 images),
    and that its validation split is not by patient; None for data with patient ids."""
    mnist = any(r.config.dataset == "pneumoniamnist" for r in report.runs)
    if mnist and report.bootstrap_info().get("unit") == "image":
        return report.t("stats_mnist")
    return None


def _p_pair(raw, adjusted) -> str:
    return f"{fmt_p(raw)} / {fmt_p(adjusted)}"


def rows(report: Report, df) -> list[dict]:
    """One row per pair: accuracy difference with its interval, the paired sign-flip and McNemar p (raw and
    Holm-adjusted), the verdict, the ROC-AUC difference with its interval and its p (raw and Holm)."""
    cmp = report.comparison()
    out = []
    for p, r in zip(cmp.pairs, df.to_dict("records"), strict=True):
        auc = "n/a" if r["auc_diff"] is None or np.isnan(r["auc_diff"]) else \
            f"{fmt_signed(r['auc_diff'], 3)} [{fmt_signed(r['auc_lo'], 3)}, {fmt_signed(r['auc_hi'], 3)}]"
        out.append({"pair": f"{p.a} vs {p.b}", "diff": f"{fmt_pp(p.diff)} [{fmt_pp(p.lo)}, {fmt_pp(p.hi)}]",
                    "p_holm": _p_pair(r["p_cluster"], p.p_holm),
                    "p_mcnemar_both": _p_pair(r["p_mcnemar"], r["p_mcnemar_holm"]), "verdict": verdict(cmp, p),
                    "auc_diff": auc, "p_auc": _p_pair(r["p_auc"], r["p_auc_holm"])})
    return out


def show_statistics(report: Report) -> None:
    head = heading(report.t("h_stats"), 2, "statistics")
    if len(report.main) < 2:
        show_html(head + paragraph(report.t("one_run")))
        return
    df = report.pairwise()
    cmp = report.comparison()
    cols = [(k, report.t(f"col_{k}")) for k in ("pair", "diff", "p_holm", "p_mcnemar_both", "verdict", "auc_diff",
                                                 "p_auc")]
    info = report.bootstrap_info()
    unit = report.t(f"unit_{info['unit']}")
    notes = [report.t("stats_intro", n=report.runs[0].metrics["test"]["n"], m=len(df), unit=unit,
                      method=bootstrap_sentence(report)),
             report.t("stats_mcnemar", unit=unit)]
    caveat = unit_caveat(report)
    notes += [caveat] if caveat else []
    if has_seeds(cmp):
        notes.append(report.t("stats_seeds"))
    show_html(head + "".join(paragraph(n) for n in notes) + table_html(rows(report, df), cols, "pairwise",
                                                                       row_key=None))
    show_figure(plots.pvalue_matrix(df, lang=report.lang, unit=info["unit"]))
    show_html(bullets(pair_sentences(cmp)))
