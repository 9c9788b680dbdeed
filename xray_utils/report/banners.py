"""The report's warnings that must not be missed: synthetic data, random weights on real data, degenerate runs.

Each is decided here once, from the runs, and shown as a banner at the top of the report and above the
Findings (``banners_html``); report.json lists the ones shown (``shown``). A degenerate run is one that
predicts a single class at threshold 0.5 (sensitivity or specificity 0) or ranks below chance (ROC-AUC
under 0.5 with its whole 95% interval under 0.5); Task E marks it and the Findings name it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable, Mapping, Sequence

from ..report_text import text
from ..runs import Run, readable_runs, task_e_runs
from .html import banner

BANNERS = ("synthetic", "random_weights", "degenerate_runs")  # report.json's "banners", in this order
TRANSFER_MODES = ("finetune", "frozen")  # the modes whose meaning depends on pretrained weights


def is_synthetic(runs: Sequence[Run]) -> bool:
    return any(r.config.dataset == "synthetic" for r in runs)


def initial_weights(run: Run) -> str:
    """"imagenet", "none" or a path: what the run started from (metrics.json records it; else the config)."""
    return str(run.metrics.get("weights", run.config.resolved_weights))


def random_weight_runs(runs: Sequence[Run]) -> list[Run]:
    """Fine-tune or frozen runs on real data that started from random weights: they measure no transfer."""
    return [r for r in runs if r.config.dataset != "synthetic" and r.config.mode in TRANSFER_MODES
            and initial_weights(r) == "none"]


def degenerate_reasons(test: Mapping, ci: Mapping | None = None) -> list[str]:
    """Why a run's test metrics (threshold 0.5) are degenerate: "single_class" (it calls every image one
    class: sensitivity or specificity 0) and/or "below_chance" (ROC-AUC < 0.5 and its interval's upper bound
    < 0.5). Empty for a run that discriminates."""
    ci = ci if ci is not None else (test.get("ci") or {})
    reasons = []
    sens, spec = test.get("sensitivity"), test.get("specificity")
    if (sens is not None and sens == 0) or (spec is not None and spec == 0):
        reasons.append("single_class")
    auc, auc_ci = test.get("roc_auc"), ci.get("roc_auc")
    if auc is not None and auc < 0.5 and auc_ci and auc_ci[1] is not None and auc_ci[1] < 0.5:
        reasons.append("below_chance")
    return reasons


def degenerate_runs(runs: Sequence[Run]) -> dict[str, list[str]]:
    """run name -> its reasons, for the runs of Task E (the grid's largest training share) that are degenerate."""
    out = {}
    for r in task_e_runs(runs):
        reasons = degenerate_reasons(r.metrics["test"])
        if reasons:
            out[r.name] = reasons
    return out


def shown(runs: Sequence[Run]) -> list[str]:
    """The banners the report shows for ``runs`` (report.json's "banners")."""
    flags = {"synthetic": is_synthetic(runs), "random_weights": bool(random_weight_runs(runs)),
             "degenerate_runs": bool(degenerate_runs(runs))}
    return [name for name in BANNERS if flags[name]]


def shown_for(run_dirs: Iterable[str | Path]) -> list[str]:
    """``shown`` for the run directories of a built report (what the pipeline writes to report.json); a
    directory that cannot be read is left out (the report itself says why)."""
    runs = readable_runs(run_dirs)
    return shown(runs) if runs else []


def reason_text(lang: str, reasons: Sequence[str]) -> str:
    return text(lang, "list_sep").join(text(lang, f"degenerate_{r}") for r in reasons)


def degenerate_sentences(lang: str, flagged: Mapping[str, Sequence[str]]) -> list[str]:
    """One sentence per degenerate run, for Task E and the Findings."""
    return [text(lang, "degenerate_run", run=name, why=reason_text(lang, reasons)) for name, reasons in flagged.items()]


def banner_sentences(lang: str, runs: Sequence[Run]) -> list[str]:
    """The banners' sentences in ``lang``, in the order of ``BANNERS``."""
    out = []
    for name in shown(runs):
        if name == "synthetic":
            out.append(text(lang, "synthetic_banner"))
        elif name == "random_weights":
            names = [r.name for r in random_weight_runs(runs)]
            out.append(text(lang, "random_weights_banner", runs=text(lang, "list_sep").join(names)))
        else:
            out.append(text(lang, "degenerate_banner", runs=text(lang, "list_sep").join(degenerate_runs(runs))))
    return out


def banners_html(lang: str, runs: Sequence[Run]) -> str:
    """Every banner as HTML: shown at the top of the report and again above the Findings."""
    return "".join(banner(s) for s in banner_sentences(lang, runs))


def degenerate_marker(lang: str, run_name: str, flagged: Mapping[str, Sequence[str]]) -> str:
    """Task E's warning cell: why the run is degenerate at threshold 0.5, in short ("⚠ single class"); empty
    for a run that discriminates."""
    if run_name not in flagged:
        return ""
    return "⚠ " + text(lang, "list_sep").join(text(lang, f"degenerate_short_{r}") for r in flagged[run_name])
