"""The learning-curve section: test ROC-AUC and accuracy against the number of training images, and
generated sentences that test the homework's two data-size claims on these runs.
``Report.show_learning_curves`` calls ``show_learning_curves``."""

from __future__ import annotations

from itertools import combinations
from typing import Sequence

import numpy as np
import pandas as pd

from .. import learning_curves as lc
from .. import overfitting as of
from .. import plots
from ..config import BACKBONES
from ..report_text import text
from .html import bullets, fmt_mean_sd, fmt_signed, heading, is_rate, paragraph, show_figure, show_html


def fmt_diff(metric: str, v: float) -> str:
    """A difference of two means: percentage points for rates, else 4 decimals, signed."""
    return fmt_signed(v, 2, 100, " pp") if is_rate(metric) else fmt_signed(v, 4)


def _capital(sentence: str) -> str:
    return sentence[:1].upper() + sentence[1:]


def _row(summary: pd.DataFrame, kind: str, metric: str, fraction: float) -> dict:
    rows = summary[(summary["kind"] == kind) & (summary["metric"] == metric) & (summary["fraction"] == fraction)]
    return rows.iloc[0].to_dict()


def _value(summary: pd.DataFrame, kind: str, metric: str, fraction: float) -> str:
    r = _row(summary, kind, metric, fraction)
    return fmt_mean_sd(metric, r["mean"], r["sd"])


def _order(kinds: Sequence[str]) -> list[str]:
    """Kinds in the order of config.BACKBONES (unknown backbones last, by name)."""
    def key(kind: str):
        backbone = kind.rpartition("-")[0]
        return (BACKBONES.index(backbone) if backbone in BACKBONES else len(BACKBONES), kind)
    return sorted(kinds, key=key)


def comparison_sentences(cmp: lc.Comparison, summary: pd.DataFrame, lang: str) -> list[str]:
    """Who leads with the fewest and with the most training images, and whether the lines cross."""
    metric = text(lang, f"metric_{cmp.metric}")

    def at(key: str, size: lc.AtSize) -> str:
        leader = cmp.leader(size)
        verdict = text(lang, "lc_ahead", run=leader) if leader else text(lang, "lc_no_diff")
        return _capital(text(lang, key, metric=metric, n=f"{size.n_train:,}", a=cmp.a, b=cmp.b, verdict=verdict,
                             va=_value(summary, cmp.a, cmp.metric, size.fraction),
                             vb=_value(summary, cmp.b, cmp.metric, size.fraction)))

    if len(cmp.sizes) == 1:
        return [at("lc_at_full", cmp.full)]
    out = [at("lc_at_smallest", cmp.smallest), at("lc_at_full", cmp.full)]
    crossing = cmp.crossing()
    if cmp.crosses:
        first = next(s for s in cmp.sizes if s.state != "tie")
        second = next(s for s in cmp.sizes if s.state not in ("tie", first.state))
        out.append(text(lang, "lc_cross_real", metric=metric, first=cmp.leader(first), second=cmp.leader(second),
                        n1=f"{first.n_train:,}", n2=f"{second.n_train:,}"))
    elif crossing:
        out.append(text(lang, "lc_cross_nominal", metric=metric, n1=f"{crossing[0].n_train:,}",
                        n2=f"{crossing[1].n_train:,}"))
    else:
        out.append(text(lang, "lc_no_cross", metric=metric, a=cmp.a, b=cmp.b))
    return out


def backbone_claim_sentence(cmp: lc.Comparison, lang: str, mode: str) -> str:
    """The homework's claim (the small network adapts better with little data, the deep one wins with more),
    on ``cmp`` = (small, deep); needs two training-set sizes."""
    verdict = lc.claim_verdict(cmp)
    return text(lang, "lc_claim_backbone", small=cmp.a, deep=cmp.b, mode=text(lang, f"mode_{mode}"),
                metric=text(lang, f"metric_{cmp.metric}"), verdict=text(lang, f"lc_verdict_{verdict}"),
                d_small=fmt_diff(cmp.metric, -cmp.smallest.diff), d_full=fmt_diff(cmp.metric, -cmp.full.diff),
                n_small=f"{cmp.smallest.n_train:,}", n_full=f"{cmp.full.n_train:,}")


def overfit_counts(runs: Sequence) -> dict[str, tuple[int, int]]:
    """Per kind: (runs that overfit by the rule, runs), over all its fractions and seeds."""
    counts: dict[str, list[int]] = {}
    for run in runs:
        k, n = counts.setdefault(run.config.run_kind, [0, 0])
        counts[run.config.run_kind] = [k + of.from_run(run).overfits, n + 1]
    return {kind: (k, n) for kind, (k, n) in counts.items()}


def frozen_claim_sentence(summary: pd.DataFrame, frozen: str, tuned: str, counts: dict, lang: str) -> str | None:
    cmp = lc.compare(summary, frozen, tuned, "accuracy")
    if cmp is None:
        return None
    v = lc.frozen_verdict(cmp, counts.get(frozen, (0, 0)), counts.get(tuned, (0, 0)))
    (k_f, n_f), (k_t, n_t) = counts.get(frozen, (0, 0)), counts.get(tuned, (0, 0))
    return text(lang, "lc_claim_frozen", backbone=frozen.rpartition("-")[0], n=f"{cmp.full.n_train:,}",
                acc_frozen=_value(summary, frozen, "accuracy", cmp.full.fraction),
                acc_tuned=_value(summary, tuned, "accuracy", cmp.full.fraction),
                accuracy=text(lang, f"lc_acc_{v['accuracy']}"), k_frozen=k_f, n_frozen=n_f, k_tuned=k_t,
                n_tuned=n_t, verdict=text(lang, f"lc_verdict_{v['verdict']}"))


def claim_sentences(summary: pd.DataFrame, counts: dict, lang: str) -> list[str]:
    """The homework's two claims, tested: backbones across sizes (two sizes needed), frozen vs fine-tuned."""
    out = []
    for small, deep in lc.claim_pairs(summary):
        for metric in lc.METRICS:
            cmp = lc.compare(summary, small, deep, metric)
            if cmp is not None and len(cmp.sizes) > 1:
                out.append(backbone_claim_sentence(cmp, lang, small.rpartition("-")[2]))
    for frozen, tuned in lc.frozen_pairs(summary):
        sentence = frozen_claim_sentence(summary, frozen, tuned, counts, lang)
        if sentence:
            out.append(sentence)
    return out


def sentences(summary: pd.DataFrame, counts: dict, lang: str) -> list[str]:
    """Every pair of kinds in one mode: leads and crossing per metric; then the claims."""
    out = []
    kinds = summary.drop_duplicates("kind")
    claim = set(lc.claim_pairs(summary))
    for mode in dict.fromkeys(kinds["mode"]):
        for a, b in combinations(_order(kinds.loc[kinds["mode"] == mode, "kind"]), 2):
            a, b = (b, a) if (b, a) in claim else (a, b)  # the claim's order: small network first
            for metric in lc.METRICS:
                cmp = lc.compare(summary, a, b, metric)
                if cmp is not None:
                    out.extend(comparison_sentences(cmp, summary, lang))
    return out + claim_sentences(summary, counts, lang)


def findings(runs: Sequence, lang: str) -> list[str]:
    """The claims alone, for the report's findings."""
    summary = lc.summarise(lc.points_from_runs(runs))
    return claim_sentences(summary, overfit_counts(runs), lang) if len(summary) else []


def fraction_list(fractions: Sequence[float], lang: str) -> str:
    return text(lang, "list_sep").join(f"{100 * f:g}%" for f in fractions)


def learning_parts(runs: Sequence, lang: str) -> list:
    """The section as HTML fragments and a figure, in order (the figure only with two or more sizes)."""
    points = lc.points_from_runs(runs)
    parts: list = [heading(text(lang, "h_learning"), 2, "learning-curves")]
    sizes = lc.fractions(points)
    if len(sizes) < 2:
        n = int(np.median([p.n_train for p in points])) if points else 0
        return parts + [paragraph(text(lang, "lc_one_size", n=f"{n:,}"))]
    summary = lc.summarise(points)
    labels = {m: text(lang, f"metric_{m}") for m in lc.METRICS}
    parts.append(paragraph(text(lang, "lc_intro", fractions=fraction_list(sizes, lang))))
    parts.append(plots.learning_curves(summary, lc.METRICS, labels, xlabel=text(lang, "lc_axis")))
    parts.append(bullets(sentences(summary, overfit_counts(runs), lang), "xray-findings"))
    return parts


def show_learning_curves(report) -> None:
    """The learning-curve section for a ``Report``: every run it loaded, whatever its training fraction."""
    for part in learning_parts(getattr(report, "all_runs", report.runs), report.lang):
        if isinstance(part, str):
            show_html(part)
        else:
            show_figure(part)
