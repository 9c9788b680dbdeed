"""The report's generated sentences, as pure functions of a ``Comparison`` (no run directory is read here).

``Report.comparison()`` collects every number a sentence may quote; these functions turn it into sentences
in the report's language. The rules a reader relies on:

- A lead is called a win only when it exceeds the uncertainty: the 95% intervals (one run per kind) or,
  when a kind was trained with several seeds, the spread across seeds (a lead no larger than the largest
  standard deviation of the two kinds is "not a win", whatever a test on one seed's images says).
- Pairwise verdicts come from the Holm-corrected paired p-value the comparison carries (``p_holm``).
- The earlier homework's model (HW3) is only compared on the homework's own test setting
  (``reference_mismatches``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Sequence, TypeVar

from ..evaluate import ALPHA, seed_summary
from ..report_text import text
from ..runs import group_by_kind
from . import banners
from .html import fmt_bound, fmt_mean_sd, fmt_metric, fmt_num, fmt_p_is, fmt_pct, fmt_pp, fmt_spread

T = TypeVar("T")
FINDING_METRICS = ("accuracy", "sensitivity", "specificity", "f1", "roc_auc")
SEED_METRICS = ("accuracy", "loss", "sensitivity", "specificity", "roc_auc")  # mean ± SD across seeds

# The homework's setting (Kaggle chest_xray test folder, 224 px), where its reported numbers were measured.
HW3_DATASET, HW3_IMG_SIZE, HW3_TEST_COUNTS = "folder", 224, (234, 390)  # test: NORMAL, PNEUMONIA


@dataclass(frozen=True)
class Reference:
    """A result reported elsewhere (the earlier homework's model), shown beside the runs, never recomputed."""

    name: str
    accuracy: float
    loss: float


@dataclass(frozen=True)
class RunResult:
    """One run's test-set numbers at threshold 0.5."""

    name: str
    kind: str  # "<backbone>-<mode>": runs of one kind differ only in the seed
    backbone: str
    mode: str
    seed: int
    test: Mapping[str, float | None]
    ci: Mapping[str, Sequence[float] | None] = field(default_factory=dict)
    youden_sensitivity: float | None = None  # sensitivity at the validation-chosen Youden threshold
    random_weights: bool = False  # a fine-tune/frozen run on real data that started from random weights


@dataclass(frozen=True)
class PairTest:
    """Runs a and b on the same test images: accuracy a - b with its paired 95% interval, and the
    Holm-corrected paired p-value the verdict uses."""

    a: str
    b: str
    diff: float
    lo: float
    hi: float
    p_holm: float


@dataclass(frozen=True)
class Comparison:
    lang: str
    runs: tuple[RunResult, ...]
    pairs: tuple[PairTest, ...] = ()  # between the kinds' representative runs (lowest seed)
    reference: Reference | None = None  # only when it is comparable (see reference_mismatches)
    alpha: float = ALPHA

    def t(self, key: str, **values) -> str:
        return text(self.lang, key, **values)


@dataclass(frozen=True)
class Kind:
    """The runs of one kind, lowest seed first; its value on a metric is the mean over seeds."""

    kind: str
    runs: tuple[RunResult, ...]

    @property
    def representative(self) -> RunResult:
        return self.runs[0]

    @property
    def name(self) -> str:
        """The run's own name for one seed (as in the tables), the kind's for several."""
        return self.kind if len(self.runs) > 1 else self.runs[0].name

    def summary(self, metric: str) -> dict:
        return seed_summary(r.test.get(metric) for r in self.runs)

    def value(self, metric: str) -> float | None:
        return self.summary(metric)["mean"]

    def sd(self, metric: str) -> float | None:
        return self.summary(metric)["sd"]

    def shown(self, metric: str) -> str:
        s = self.summary(metric)
        return fmt_mean_sd(metric, s["mean"], s["sd"])


def kinds(cmp: Comparison) -> list[Kind]:
    """The kinds in order of first appearance, each with its runs sorted by seed."""
    grouped = group_by_kind(cmp.runs, lambda r: r.kind, lambda r: r.seed)
    return [Kind(k, tuple(members)) for k, members in grouped.items()]


def has_seeds(cmp: Comparison) -> bool:
    return any(len(k.runs) > 1 for k in kinds(cmp))


def _kind_of(cmp: Comparison, run_name: str) -> Kind:
    return next(k for k in kinds(cmp) if any(r.name == run_name for r in k.runs))


def seed_spread(a: Kind, b: Kind, metric: str) -> float | None:
    """The larger standard deviation across seeds of the two kinds (None when neither has two seeds)."""
    sds = [s for s in (a.sd(metric), b.sd(metric)) if s is not None]
    return max(sds) if sds else None


def within_spread(a: Kind, b: Kind, metric: str = "accuracy") -> bool:
    """True when the difference of the two kinds' means is no larger than the spread across seeds."""
    spread = seed_spread(a, b, metric)
    va, vb = a.value(metric), b.value(metric)
    return spread is not None and va is not None and vb is not None and abs(va - vb) <= spread


# ----------------------------------------------------------------------------------------------------
# pairs


def find_pair(cmp: Comparison, a: str, b: str) -> tuple[PairTest, int] | None:
    """The pair of runs ``a`` and ``b`` and the sign that makes its difference a minus b."""
    for pair in cmp.pairs:
        if (pair.a, pair.b) == (a, b):
            return pair, 1
        if (pair.a, pair.b) == (b, a):
            return pair, -1
    return None


def verdict(cmp: Comparison, pair: PairTest) -> str:
    if pair.p_holm >= cmp.alpha:
        return cmp.t("not_significant")
    if within_spread(_kind_of(cmp, pair.a), _kind_of(cmp, pair.b)):
        return cmp.t("significant_within_seeds")
    return cmp.t("significant")


def paired_sentence(cmp: Comparison, a: str, b: str) -> str | None:
    found = find_pair(cmp, a, b)
    if found is None:
        return None
    pair, sign = found
    lo, hi = sorted((sign * pair.lo, sign * pair.hi))
    return cmp.t("lead_paired", run=a, second=b, diff=fmt_pp(sign * pair.diff), lo=fmt_pp(lo), hi=fmt_pp(hi),
                 p=fmt_p_is(pair.p_holm), verdict=verdict(cmp, pair))


def pair_sentences(cmp: Comparison) -> list[str]:
    accuracy = {r.name: r.test.get("accuracy") for r in cmp.runs}
    return [cmp.t("pair_sentence", a=p.a, b=p.b, acc_a=fmt_pct(accuracy.get(p.a)), acc_b=fmt_pct(accuracy.get(p.b)),
                  diff=fmt_pp(p.diff), lo=fmt_pp(p.lo), hi=fmt_pp(p.hi), p=fmt_p_is(p.p_holm),
                  verdict=verdict(cmp, p))
            for p in cmp.pairs]


def pair_summary(cmp: Comparison) -> list[str]:
    significant = [p for p in cmp.pairs if p.p_holm < cmp.alpha]
    out = [cmp.t("pair_summary", k=len(significant), m=len(cmp.pairs))]
    if has_seeds(cmp) and significant:
        wins = [p for p in significant if not within_spread(_kind_of(cmp, p.a), _kind_of(cmp, p.b))]
        out.append(cmp.t("pair_summary_seeds", w=len(wins), k=len(significant)))
    return out


# ----------------------------------------------------------------------------------------------------
# who leads, and by how much


def _lead(cmp: Comparison, best: Kind, second: Kind, metric: str, lower_is_better: bool) -> str:
    """The runner-up sentence: the lead judged against the intervals (each kind's lowest seed's 95% test-set
    interval) and, with several seeds, also against the spread across seeds: a lead is a win only when it
    exceeds both."""
    spread = seed_spread(best, second, metric)
    lo, hi = best.representative.ci.get(metric) or (None, None)
    lo2, hi2 = second.representative.ci.get(metric) or (None, None)
    known = None not in (lo, hi, lo2, hi2)
    separated = known and ((hi < lo2) if lower_is_better else (lo > hi2))
    if spread is not None:  # beyond the seeds' spread is not enough: the test set's own uncertainty too
        lead = abs(best.value(metric) - second.value(metric))
        key = ("lead_within_seeds" if lead <= spread else "lead_beyond_seeds" if separated
               else "lead_beyond_seeds_within_test")
        return cmp.t(key, run=second.name, value=second.shown(metric), lead=fmt_spread(metric, lead),
                     sd=fmt_spread(metric, spread), lo=fmt_bound(metric, lo2), hi=fmt_bound(metric, hi2))
    return cmp.t("lead_exceeds" if separated else "lead_within", run=second.name, value=second.shown(metric),
                 lo=fmt_bound(metric, lo2), hi=fmt_bound(metric, hi2))


def best_sentence(cmp: Comparison, metric: str, lower_is_better: bool = False) -> str:
    """Who is best on ``metric`` (test, 0.5), and whether its lead exceeds the uncertainty."""
    ranked = [k for k in kinds(cmp) if k.value(metric) is not None]
    if not ranked:
        return cmp.t("metric_undefined", metric=cmp.t(f"metric_{metric}"))
    ranked.sort(key=lambda k: (k.value(metric) if lower_is_better else -k.value(metric), k.name))
    best, label = ranked[0], cmp.t(f"metric_{metric}")
    best_text = fmt_metric(metric, best.value(metric))  # a tie is a tie in the shown digits
    tied = [k.name for k in ranked if fmt_metric(metric, k.value(metric)) == best_text]
    if len(tied) > 1:
        return cmp.t("tie", runs=cmp.t("list_sep").join(tied), metric=label, value=best_text)
    key = "best_lowest_loss" if lower_is_better else "best_metric"
    if len(best.runs) > 1:
        out = [cmp.t(key + "_seeds", metric=label, run=best.name, value=best.shown(metric), n=len(best.runs))]
    else:
        lo, hi = best.representative.ci.get(metric) or (None, None)
        out = [cmp.t(key, metric=label, run=best.name, value=best.shown(metric), lo=fmt_bound(metric, lo),
                     hi=fmt_bound(metric, hi))]
    if len(ranked) > 1:
        second = ranked[1]
        out.append(_lead(cmp, best, second, metric, lower_is_better))
        if metric == "accuracy":  # the paired test on the same images is sharper than two separate intervals
            paired = paired_sentence(cmp, best.representative.name, second.representative.name)
            out += [paired] if paired else []
    return " ".join(out)


def mode_sentences(cmp: Comparison) -> list[str]:
    """Per backbone, each pair of modes (fine-tune vs frozen, ...) with the paired test's verdict."""
    out = []
    all_kinds = kinds(cmp)
    for backbone in dict.fromkeys(k.representative.backbone for k in all_kinds):
        same = [k for k in all_kinds if k.representative.backbone == backbone]
        for i, a in enumerate(same):
            for b in same[i + 1:]:
                found = find_pair(cmp, a.representative.name, b.representative.name)
                if found is None:
                    continue
                pair = found[0]
                # from random weights, fine-tune is training from scratch and frozen a random fixed extractor
                mode = "mode_random_" if a.representative.random_weights or b.representative.random_weights else "mode_"
                out.append(cmp.t("mode_effect_random" if mode == "mode_random_" else "mode_effect", backbone=backbone,
                                 mode_a=cmp.t(f"{mode}{a.representative.mode}"),
                                 mode_b=cmp.t(f"{mode}{b.representative.mode}"), acc_a=a.shown("accuracy"),
                                 acc_b=b.shown("accuracy"), verdict=f"{verdict(cmp, pair)}, {fmt_p_is(pair.p_holm)}"))
    return out


# ----------------------------------------------------------------------------------------------------
# the reference, thresholds, calibration


def reference_mismatches(lang: str, datasets: Sequence[str], img_sizes: Sequence[int],
                         test_counts: tuple[int, int]) -> list[str]:
    """What keeps the runs from being compared with HW3 (measured on Kaggle's test folder, 624 images,
    234 NORMAL / 390 PNEUMONIA, at 224 px); empty when they are comparable."""
    out = []
    if set(datasets) != {HW3_DATASET}:
        out.append(text(lang, "hw3_dataset", datasets=", ".join(dict.fromkeys(datasets))))
    if tuple(test_counts) != HW3_TEST_COUNTS:
        out.append(text(lang, "hw3_test_set", n=sum(test_counts), normal=test_counts[0], pneumonia=test_counts[1]))
    if set(img_sizes) != {HW3_IMG_SIZE}:
        out.append(text(lang, "hw3_img_size", sizes=", ".join(str(s) for s in sorted(set(img_sizes)))))
    return out


def reference_sentence(cmp: Comparison) -> str | None:
    if cmp.reference is None:
        return None
    ref = cmp.reference
    accs = [r.test["accuracy"] for r in cmp.runs]
    los = [(r.ci.get("accuracy") or [float("nan")])[0] for r in cmp.runs]
    return cmp.t("reference_compare", name=ref.name, ref=fmt_pct(ref.accuracy), ref_loss=fmt_num(ref.loss),
                 above=sum(a > ref.accuracy for a in accs), n=len(accs), sure=sum(lo > ref.accuracy for lo in los))


def youden_sentence(cmp: Comparison) -> str | None:
    shifts = [r.youden_sensitivity - r.test["sensitivity"] for r in cmp.runs
              if r.youden_sensitivity is not None and r.test.get("sensitivity") is not None]
    if not shifts:
        return None
    return cmp.t("youden_shift", lo=fmt_pp(min(shifts)), hi=fmt_pp(max(shifts)))


def calibration_sentence(lang: str, rows: Sequence[dict]) -> str:
    """rows: {"run", "ece", "brier"} per run (``calibration_view.calibration_rows``)."""
    best = min(rows, key=lambda r: (r["ece"], r["run"]))
    worst = max(rows, key=lambda r: (r["ece"], r["run"]))
    return text(lang, "calibration_best", run=best["run"], ece=fmt_num(best["ece"]), brier=fmt_num(best["brier"]),
                worst=worst["run"], worst_ece=fmt_num(worst["ece"]))


def findings(cmp: Comparison) -> list[str]:
    if len(kinds(cmp)) < 2:
        out = [cmp.t("one_run")]
    else:
        out = [best_sentence(cmp, metric) for metric in FINDING_METRICS]
        out.append(best_sentence(cmp, "loss", lower_is_better=True))
        out += pair_summary(cmp)
        out += mode_sentences(cmp)
    if not has_seeds(cmp):
        out.append(cmp.t("one_seed"))
    out += [s for s in (reference_sentence(cmp), youden_sentence(cmp)) if s]
    flagged = {r.name: banners.degenerate_reasons(r.test, r.ci) for r in cmp.runs}
    return banners.degenerate_sentences(cmp.lang, {n: why for n, why in flagged.items() if why}) + out
