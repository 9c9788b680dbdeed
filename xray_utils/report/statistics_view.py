"""Are the differences real? Paired comparisons of the kinds on the same test images, patients as the unit.

Verdicts use ``p_holm``: a paired test that resamples patients (images of one patient move together),
Holm-corrected over all pairs. McNemar's exact test is shown beside it with its assumption (independent
images). The method note says what the intervals resampled, from the runs' metrics.json ``bootstrap``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from .. import evaluate, plots
from .findings import PairTest, has_seeds, pair_sentences, verdict
from .html import bullets, fmt_p, fmt_pp, heading, paragraph, show_figure, show_html, table_html

if TYPE_CHECKING:  # the Report imports this module
    from .core import Report


def bootstrap_info(report: Report) -> dict:
    """metrics.json's ``bootstrap`` of the report's runs; runs written before it resampled images, 1000 times."""
    info = report.runs[0].metrics.get("bootstrap")
    if info:
        return info
    return {"unit": "image", "n_resamples": 1000, "n_units": int(report.runs[0].metrics["test"]["n"])}


def bootstrap_sentence(report: Report) -> str:
    """"patients resampled within class (202 patients, 1000 resamples)", in the report's language."""
    info = bootstrap_info(report)
    return report.t(f"bootstrap_{info['unit']}", units=info.get("n_units", "?"), n=info.get("n_resamples", "?"))


def pairwise(report: Report) -> pd.DataFrame:
    """Every pair of the kinds' representative runs (lowest seed), patients resampled."""
    return evaluate.pairwise_comparisons({r.name: (r.y, r.p, 0.5) for r in report.main}, groups=report.patients)


def pair_tests(df: pd.DataFrame) -> tuple[PairTest, ...]:
    return tuple(PairTest(a=r.a, b=r.b, diff=float(r.diff), lo=float(r.diff_lo), hi=float(r.diff_hi),
                          p_holm=float(r.p_holm)) for r in df.itertuples(index=False))


def show_statistics(report: Report) -> None:
    head = heading(report.t("h_stats"), 2, "statistics")
    if len(report.main) < 2:
        show_html(head + paragraph(report.t("one_run")))
        return
    df = report.pairwise()
    cmp = report.comparison()
    rows = [{"pair": f"{p.a} vs {p.b}", "diff": f"{fmt_pp(p.diff)} [{fmt_pp(p.lo)}, {fmt_pp(p.hi)}]",
             "p_holm": fmt_p(p.p_holm), "p_mcnemar": fmt_p(mcnemar), "verdict": verdict(cmp, p)}
            for p, mcnemar in zip(cmp.pairs, df["p_mcnemar"], strict=True)]
    cols = [(k, report.t(f"col_{k}")) for k in ("pair", "diff", "p_holm", "p_mcnemar", "verdict")]
    info = bootstrap_info(report)
    notes = [report.t("stats_intro", n=report.runs[0].metrics["test"]["n"], m=len(df),
                      unit=report.t(f"unit_{info['unit']}"), method=bootstrap_sentence(report)),
             report.t("stats_mcnemar")]
    if has_seeds(cmp):
        notes.append(report.t("stats_seeds"))
    show_html(head + "".join(paragraph(n) for n in notes) + table_html(rows, cols, "pairwise", row_key=None))
    show_figure(plots.pvalue_matrix(df, lang=report.lang))
    show_html(bullets(pair_sentences(cmp)))
