"""The section "The homework's claims": each claim of the seed report with its evidence and a verdict
(``claims``, pure), a line for the Findings, and report.json's "claims".

``show_claims(report)`` is what notebook 03 calls (through ``Report.show_claims``); ``findings_line(report)``
joins the Findings; ``report_json(run_dirs, lang)`` is what the pipeline writes to report.json.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from .. import claims, overfitting
from ..report_text import text
from ..runs import readable_runs
from .html import fmt_num, fmt_p_is, fmt_pct, fmt_pp, fmt_spread, heading, paragraph, show_html, table_html


def _pp(v: float | None) -> str:
    return f"{fmt_pp(v)} pp"


def _sd(v: float | None) -> str:
    """A standard deviation of an accuracy, unsigned: "1.20 pp"."""
    return fmt_spread("accuracy", v)


def _loss(v: float | None) -> str:
    """A validation-loss rise: 4 decimals, 6 when it is below 0.001 (a rise of 0.00005 is not "0.0000")."""
    return fmt_num(v, 4 if v is None or not np.isfinite(v) or abs(v) >= 1e-3 or v == 0 else 6)


def _pair(lang: str, pair: dict | None) -> str:
    if pair is None:
        return "n/a"
    return text(lang, "cl_pair", a=pair["a"], b=pair["b"], diff=_pp(pair["diff"]), lo=fmt_pp(pair["lo"]),
                hi=fmt_pp(pair["hi"]), p=fmt_p_is(pair["p_holm"]))


def _graded_run(lang: str, g: dict) -> str:
    return text(lang, "cl_graded_run", run=g["run"], grade=text(lang, "grade_na" if g["grade"] == "n/a"
                                                                 else f"grade_{g['grade']}"),
                rise=_loss(g["rise"]), noise=fmt_num(g["noise"]))


def _sep(lang: str) -> str:
    return text(lang, "cl_sep")


def evidence_text(lang: str, v: claims.Verdict) -> str:
    """The evidence behind one verdict, in words (for "not tested": what would test it)."""
    e = v.evidence
    if v.verdict == "not tested":
        out = text(lang, f"cl_needs_{v.needs}")
    elif v.id == "resnet18_finetune_overfits":
        out = text(lang, "cl_ev_overfits", runs=_sep(lang).join(_graded_run(lang, g) for g in e["runs"]), k=e["k"],
                   n=e["n"])
        if not e["homework_settings"]:
            s = e["settings"]
            out += " " + text(lang, "cl_other_settings", lr=f"{s['lr']:g}", wd=f"{s['weight_decay']:g}",
                              dropout=f"{s['dropout']:g}")
    elif v.id == "squeezenet_finetune_stable":
        sds = ", ".join(_sd(s) for s in e["val_acc_sd"])
        out = text(lang, "cl_ev_stable", pair=_pair(lang, e["pair"]),
                   accuracy=text(lang, f"cl_acc_{e['accuracy']}", a=e["pair"]["a"] if e["pair"] else "",
                                 b=e["pair"]["b"] if e["pair"] else ""),
                   window=e["window"], sds=sds, limit=_sd(e["sd_limit"]),
                   grades=", ".join(text(lang, "grade_na" if g == "n/a" else f"grade_{g}") for g in e["grades"]),
                   stable=text(lang, f"cl_stable_{e['stable']}"))
        if e["seed_sd"] is not None:
            out += " " + text(lang, "cl_seed_sd", sd=_sd(e["seed_sd"]))
    elif v.id == "frozen_less_overfitting":
        out = _sep(lang).join(text(lang, "cl_ev_frozen_overfit", **r) for r in e["backbones"])
    elif v.id == "frozen_lower_accuracy":
        out = _sep(lang).join(_pair(lang, r["pair"]) for r in e["backbones"])
    elif v.id == "resnet18_finetune_best":
        out = text(lang, "cl_ev_best", accuracy=", ".join(f"{k} {fmt_pct(a)}" for k, a in e["accuracy"].items()),
                   pairs=_sep(lang).join(_pair(lang, p) for p in e["pairs"]))
    elif v.id == "squeezenet_adapts_small_data":
        out = _sep(lang).join(text(lang, "cl_ev_learning", small=r["small"], deep=r["deep"],
                                   n1=r["smallest"]["n"], a1=fmt_pct(r["smallest"]["small"]),
                                   b1=fmt_pct(r["smallest"]["deep"]), n2=r["full"]["n"],
                                   a2=fmt_pct(r["full"]["small"]), b2=fmt_pct(r["full"]["deep"]),
                                   state=text(lang, f"lc_verdict_{r['state']}"))
                              for r in e["pairs"])
    else:  # squeezenet_not_below_hw3
        out = text(lang, "cl_ev_hw3", run=e["run"], acc=fmt_pct(e["accuracy"]), lo=fmt_pct(e["lo"], 1),
                   hi=fmt_pct(e["hi"], 1), ref=fmt_pct(e["reference"]))
    return out


def verdict_label(lang: str, verdict: str) -> str:
    return text(lang, "cl_verdict_" + verdict.replace(" ", "_"))


def texts(lang: str, verdicts: Sequence[claims.Verdict]) -> dict[str, tuple[str, str]]:
    """id -> (the claim, "<verdict>: <evidence>") in ``lang``."""
    return {v.id: (text(lang, f"claim_{v.id}"), f"{verdict_label(lang, v.verdict)}: {evidence_text(lang, v)}")
            for v in verdicts}


def verdicts_of(report) -> list[claims.Verdict]:
    """The claims tested on a ``Report``'s runs (its pairwise comparisons reused)."""
    pairs = report.pairwise() if len(report.main) > 1 else None
    return claims.judge(report.all_runs, pairs)


def claims_html(lang: str, verdicts: Sequence[claims.Verdict]) -> str:
    said = texts(lang, verdicts)
    rows = [{"claim": said[v.id][0], "verdict": verdict_label(lang, v.verdict), "evidence": evidence_text(lang, v)}
            for v in verdicts]
    cols = [(k, text(lang, f"col_cl_{k}")) for k in ("claim", "verdict", "evidence")]
    notes = [text(lang, "cl_intro", alpha=fmt_num(claims.ALPHA, 2), limit=_sd(claims.STABLE_SD),
                  window=claims.WINDOW, ref=fmt_pct(claims.HW3_ACCURACY))]
    if any(v.scratch for v in verdicts):
        notes.append(text(lang, "cl_scratch"))
    return (heading(text(lang, "h_claims"), 2, "claims") + "".join(paragraph(n) for n in notes)
            + table_html(rows, cols, "claims", row_key=None))


def show_claims(report) -> None:
    show_html(claims_html(report.lang, verdicts_of(report)))


def summary(lang: str, verdicts: Sequence[claims.Verdict]) -> str:
    """One line for the Findings: how many claims got each verdict, and which were supported."""
    counts = {v: sum(x.verdict == v for x in verdicts) for v in claims.VERDICTS}
    supported = [text(lang, f"claim_short_{v.id}") for v in verdicts if v.verdict == "supported"]
    line = text(lang, "cl_summary", supported=counts["supported"], not_supported=counts["not supported"],
                inconclusive=counts["inconclusive"], not_tested=counts["not tested"], n=len(verdicts),
                which=text(lang, "list_sep").join(supported) if supported else text(lang, "cl_none"))
    if any(v.scratch for v in verdicts):
        line += " " + text(lang, "cl_scratch_short")
    return line


def findings_line(report) -> str:
    return summary(report.lang, verdicts_of(report))


def report_json(run_dirs: Iterable[str | Path], lang: str = "en") -> dict:
    """report.json's "claims" (``claims.as_dicts``: id, claim, verdict, text in ``lang``) and "overfitting"
    ({run: "none" | "mild" | "strong", or "n/a" with too few epochs}) for the run directories of a built
    report; unreadable runs are left out, as the banners do."""
    runs = readable_runs(run_dirs)
    if not runs:
        return {"claims": [], "overfitting": {}}
    verdicts = claims.judge(runs)
    return {"claims": claims.as_dicts(verdicts, texts(lang, verdicts)), "overfitting": overfitting.grades(runs)}
