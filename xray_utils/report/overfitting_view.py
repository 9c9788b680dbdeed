"""Task D's overfitting section: the rule, a compact table and one generated sentence per run (or per group
of seeds), from ``overfitting``'s numbers. ``Report.show_overfitting`` calls ``show_overfitting``."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from .. import overfitting as of
from ..report_text import text
from .html import bullets, fmt_num, fmt_pct, fmt_signed, heading, paragraph, show_html, table_html


def fmt_change_pct(v: float | None) -> str:
    """A relative change, signed: "+21.3%"."""
    return fmt_signed(v, 1, 100, "%")


def fmt_gap_pp(v: float | None) -> str:
    return fmt_signed(v, 1, 100, " pp")


def fmt_rise_pct(v: float | None) -> str:
    """A rise relative to the minimum, unsigned (the sentence says "above"): "21.3%"."""
    return "n/a" if v is None or not np.isfinite(v) else f"{100 * v:.1f}%"


def fmt_spread(spread: of.Spread, fmt, fmt_sd=None) -> str:
    """"mean ± SD" (``fmt_sd`` for the SD, default ``fmt`` unsigned); the mean alone for one value."""
    if spread.n == 0:
        return "n/a"
    if spread.n == 1 or not np.isfinite(spread.sd):
        return fmt(spread.mean)
    return f"{fmt(spread.mean)} ± {(fmt_sd or fmt)(spread.sd).lstrip('+')}"


def _then(lang: str, first: str, second: str) -> str:
    """Two sentences in a row: a space between them in English, none in Chinese."""
    return first + ("" if lang == "zh-TW" else " ") + second


def rule_sentence(lang: str) -> str:
    """The rule, worded from the constants that implement it."""
    return text(lang, "of_rule", window=of.WINDOW, min_after=of.MIN_EPOCHS_AFTER, mild=round(100 * of.MILD_RISE),
                strong=round(100 * of.STRONG_RISE), ses=f"{of.NOISE_SES:g}", min_abs=f"{of.MIN_ABS_RISE:g}")


def grade_label(grade: str, lang: str) -> str:
    return text(lang, "grade_na" if grade == "n/a" else f"grade_{grade}")


def run_sentence(name: str, s: of.Overfit, lang: str) -> str:
    """One run's overfitting in words: what the validation loss did after its minimum, and the gap."""
    values = dict(run=name, epoch=s.min_epoch, epochs=s.epochs, value=fmt_num(s.min_val_loss), window=s.window,
                  rise=fmt_num(s.rise), rise_pct=fmt_rise_pct(s.rise_pct), mild=round(100 * of.MILD_RISE),
                  train_fall=fmt_num(-s.train_change), train_change=fmt_signed(s.train_change),
                  grade=grade_label(s.grade, lang), after=s.epochs_after, noise=fmt_num(s.noise))
    key = {"improving": "of_improving", "flat": "of_flat", "noise": "of_noise", "rising": "of_rising",
           "unstable": "of_unstable"}
    sentence = text(lang, key.get(s.status, "of_too_short"), **values)
    if s.selected is not None and s.status != "too_short":
        gap = text(lang, "of_gap", epoch=s.selected.epoch, train=fmt_pct(s.selected.train_acc),
                   val=fmt_pct(s.selected.val_acc), test=fmt_pct(s.test_acc))
        sentence = _then(lang, sentence, gap)
    return sentence


def seeds_sentence(label: str, stats: Sequence[of.Overfit], lang: str) -> str:
    """A group of seeds in one sentence: how many overfit, and the spread of the numbers."""
    g = of.summarise_seeds(stats)
    sentence = text(lang, "of_seeds", run=label, n=g.n, k=g.n_overfit, strong=g.n_strong, mild=g.n_mild,
                    epoch=fmt_spread(g.min_epoch, lambda v: f"{v:.1f}"),
                    rise_pct=fmt_spread(g.rise_pct, fmt_rise_pct, lambda v: f"{100 * v:.1f} pp"),
                    gap=fmt_spread(g.train_test_gap, fmt_gap_pp))
    if g.n_unknown:
        sentence = _then(lang, sentence, text(lang, "of_seeds_unknown", k=g.n_unknown))
    return sentence


def measured(runs: Sequence) -> dict[str, list[tuple[object, of.Overfit]]]:
    """Every run's numbers, grouped by seed (``overfitting.group_by_seed``)."""
    return {label: [(r, of.from_run(r)) for r in members] for label, members in of.group_by_seed(runs).items()}


def sentences(runs: Sequence, lang: str) -> list[str]:
    """One sentence per run, or per group of seeds."""
    out = []
    for label, members in measured(runs).items():
        if len(members) == 1:
            run, s = members[0]
            out.append(run_sentence(run.name, s, lang))
        else:
            out.append(seeds_sentence(label, [s for _, s in members], lang))
    return out


def summary_sentence(runs: Sequence, lang: str) -> str:
    """For the findings: which runs overfit by the rule."""
    stats = [(r, of.from_run(r)) for r in runs]
    over = [r.name for r, s in stats if s.overfits]
    if not over:
        return text(lang, "of_summary_none", n=len(stats))
    return text(lang, "of_summary", k=len(over), n=len(stats), runs=text(lang, "list_sep").join(over))


def columns(lang: str) -> list[tuple[str, str]]:
    return [("run", text(lang, "col_run")), ("minimum", text(lang, "col_of_min")),
            ("rise", text(lang, "col_of_rise")), ("train", text(lang, "col_of_train")),
            ("gap_selected", text(lang, "col_of_gap_selected")), ("gap_last", text(lang, "col_of_gap_last")),
            ("test", text(lang, "col_of_test")), ("grade", text(lang, "col_of_grade"))]


def _gap_cell(gap: of.Gap | None) -> str:
    return "n/a" if gap is None else f"{fmt_num(gap.loss)} / {fmt_gap_pp(gap.acc)} ({gap.epoch})"


def rows(runs: Sequence, lang: str) -> list[dict]:
    """The compact Task D table: one row per run, the seeds of a group together."""
    out = []
    for run, s in (pair for members in measured(runs).values() for pair in members):
        out.append({
            "run": run.name,
            "minimum": f"{fmt_num(s.min_val_loss)} ({s.min_epoch})" if s.min_epoch is not None else "n/a",
            "rise": f"{fmt_signed(s.rise)} ({fmt_change_pct(s.rise_pct)})",
            "train": fmt_signed(s.train_change),
            "gap_selected": _gap_cell(s.selected), "gap_last": _gap_cell(s.last),
            "test": f"{fmt_pct(s.selected.train_acc if s.selected else None)} / {fmt_pct(s.test_acc)}",
            "grade": grade_label(s.grade, lang),
        })
    return out


def overfitting_html(runs: Sequence, lang: str) -> str:
    return (heading(text(lang, "h_overfitting"), 3, "overfitting") + paragraph(rule_sentence(lang))
            + paragraph(text(lang, "of_caveat"), "xray-note")
            + table_html(rows(runs, lang), columns(lang), "overfitting")
            + bullets(sentences(runs, lang), "xray-findings"))


def show_overfitting(report) -> None:
    """Task D's overfitting section for a ``Report``: its full-data runs (``report.runs``), like the rest of
    Task D; runs on a training fraction count in the learning-curve section's frozen-extractor claim."""
    show_html(overfitting_html(report.runs, report.lang))
