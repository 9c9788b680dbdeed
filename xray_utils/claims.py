"""The homework's claims (the seed report's Task D conclusions), each tested on the runs with a verdict.

Pure: finished runs in (anything with .name, .config, .metrics, .history, .val_predictions and the test
labels/probabilities/patients ``y``, ``p``, ``patients``: ``runs.Run``), ``Verdict``s out; the sentences are
made by ``report.claims_view`` in the report's language, report.json's "claims" from both.

A verdict is "supported" (the data show it beyond their uncertainty), "not supported" (the data show the
opposite, or the effect the claim needs is absent), "inconclusive" (the differences stay within the
uncertainty) or "not tested" (these runs cannot test it; ``Verdict.needs`` names what would). How each one
is tested:

- resnet18_finetune_overfits: ResNet18 fine-tuning runs graded by the overfitting rule (``overfitting``:
  relative rise, beyond the validation loss's noise, training loss falling). All overfit: supported; none:
  not supported; some (across seeds): inconclusive.
- squeezenet_finetune_stable: "less accurate than ResNet18": the paired patient-level test of the two
  fine-tuned kinds (Holm-corrected, seeds' means in the same direction); "stable": no SqueezeNet fine-tuning
  run overfits by the rule, the standard deviation of its validation accuracy over the last ``WINDOW``
  epochs is at most ``STABLE_SD``, and (with several seeds) so is its test accuracy's spread across seeds.
- frozen_less_overfitting: per backbone, the share of frozen runs that overfit is below the share of
  fine-tuned runs (none overfitting in either: nothing to avoid, inconclusive).
- frozen_lower_accuracy: per backbone, the paired test of frozen vs fine-tuned test accuracy.
- resnet18_finetune_best: the paired tests of fine-tuned ResNet18 against every other kind.
- squeezenet_adapts_small_data: the learning curves (``learning_curves.claim_verdict``, accuracy); only
  with several training-set sizes (``--fractions``).
- squeezenet_not_below_hw3: SqueezeNet fine-tuning's test accuracy interval against HW3's reported 83.93%
  (taken as reported, without an interval), only on the Kaggle test folder at 224 px.

With random initial weights the verdicts are about training from scratch, not transfer (``scratch``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from . import evaluate, learning_curves, overfitting
from .config import BACKBONES
from .runs import group_by_kind, task_e_runs

IDS = ("resnet18_finetune_overfits", "squeezenet_finetune_stable", "frozen_less_overfitting", "frozen_lower_accuracy",
       "resnet18_finetune_best", "squeezenet_adapts_small_data", "squeezenet_not_below_hw3")
VERDICTS = ("supported", "not supported", "inconclusive", "not tested")
DEEP, SMALL = "resnet18", ("squeezenet1_1", "squeezenet1_0")
HW3_ACCURACY = 0.8393  # the earlier homework's SqueezeNet test accuracy, as reported (Kaggle test folder, 224 px)
HW3_DATASET, HW3_IMG_SIZE, HW3_TEST_COUNTS = "folder", 224, (234, 390)
HOMEWORK = {"lr": 1e-4, "weight_decay": 0.002, "dropout": 0.5}  # the settings the overfitting claim names
STABLE_SD = 0.02  # "stable": validation accuracy over the last epochs (and test accuracy across seeds) within 2 pp
WINDOW = overfitting.WINDOW
ALPHA = evaluate.ALPHA


@dataclass(frozen=True)
class Verdict:
    id: str
    verdict: str  # one of VERDICTS
    evidence: dict = field(default_factory=dict)  # the numbers the sentence quotes (see claims_view)
    needs: str | None = None  # "not tested": what would test it ("fractions", "both_modes", ...)
    scratch: bool = False  # the runs started from random weights: about training from scratch

    def __post_init__(self):
        assert self.id in IDS and self.verdict in VERDICTS, (self.id, self.verdict)


# ----------------------------------------------------------------------------------------------------
# the runs, as the claims see them


@dataclass(frozen=True)
class Evidence:
    """Everything the claims read, computed once: full-data runs by kind, overfitting, paired tests."""

    kinds: dict  # kind -> full-data runs, lowest seed first
    overfit: dict  # run name -> overfitting.Overfit
    pairs: pd.DataFrame  # evaluate.pairwise_comparisons of the kinds' representative runs
    learning: pd.DataFrame | None  # learning_curves.summarise of every run (None: one training-set size)
    all_runs: tuple

    def kind(self, backbone: str, mode: str) -> list:
        return self.kinds.get(f"{backbone}-{mode}", [])

    def small(self, mode: str) -> str | None:
        return next((b for b in SMALL if f"{b}-{mode}" in self.kinds), None)

    def pair(self, a: str, b: str) -> dict | None:
        """Kind a's representative run minus kind b's: diff, lo, hi, p_holm, significant (None if absent)."""
        ra, rb = self.kinds[a][0].name, self.kinds[b][0].name
        for row in self.pairs.to_dict("records"):
            if (row["a"], row["b"]) in ((ra, rb), (rb, ra)):
                sign = 1 if row["a"] == ra else -1
                lo, hi = sorted((sign * row["ci_lo"], sign * row["ci_hi"]))
                return {"a": a, "b": b, "diff": sign * row["diff"], "lo": lo, "hi": hi, "p_holm": row["p_holm"],
                        "p": row["p_cluster"], "mean_diff": mean_accuracy(self.kinds[a]) - mean_accuracy(self.kinds[b])}
        return None


def mean_accuracy(runs: Sequence) -> float:
    return float(np.mean([r.metrics["test"]["accuracy"] for r in runs]))


def seed_sd(runs: Sequence) -> float | None:
    values = [r.metrics["test"]["accuracy"] for r in runs]
    return float(np.std(values, ddof=1)) if len(values) > 1 else None


def gather(runs: Sequence, pairs: pd.DataFrame | None = None) -> Evidence:
    """The evidence of ``runs``; ``pairs`` (the report's pairwise comparisons) is computed when not given."""
    full = task_e_runs(runs)  # the runs Tasks B-E judge, as Report.runs
    kinds = group_by_kind(full, lambda r: r.config.run_kind, lambda r: r.config.seed)
    if pairs is None:
        main = [members[0] for members in kinds.values()]
        pairs = evaluate.pairwise_comparisons({r.name: (r.y, r.p, 0.5) for r in main}, groups=main[0].patients) \
            if len(main) > 1 else pd.DataFrame(columns=evaluate.PAIRWISE_COLUMNS)
    learning = None
    if len({r.config.train_fraction for r in runs}) > 1:
        learning = learning_curves.summarise(learning_curves.points_from_runs(runs), ("accuracy",))
    return Evidence(kinds, {r.name: overfitting.from_run(r) for r in full}, pairs, learning, tuple(runs))


def accuracy_state(pair: dict | None) -> str:
    """"a" / "b": that kind more accurate (Holm-corrected paired p < ALPHA, seeds' means agreeing); "tie"."""
    if pair is None or not pair["p_holm"] < ALPHA:
        return "tie"
    ahead = "a" if pair["diff"] > 0 else "b"
    agrees = (pair["mean_diff"] > 0) == (pair["diff"] > 0)
    return ahead if agrees else "tie"


def _combine(states: Sequence[str]) -> str:
    if states and all(s == "supported" for s in states):
        return "supported"
    if any(s == "not supported" for s in states):
        return "not supported"
    return "inconclusive"


# ----------------------------------------------------------------------------------------------------
# the seven claims


def _graded(ev: Evidence, runs: Sequence) -> list[dict]:
    return [{"run": r.name, "grade": ev.overfit[r.name].grade, "rise": ev.overfit[r.name].rise,
             "rise_pct": ev.overfit[r.name].rise_pct, "noise": ev.overfit[r.name].noise} for r in runs]


def resnet18_finetune_overfits(ev: Evidence) -> Verdict:
    runs = ev.kind(DEEP, "finetune")
    if not runs:
        return Verdict(IDS[0], "not tested", needs="resnet18_finetune")
    graded = _graded(ev, runs)
    known = [g for g in graded if g["grade"] != "n/a"]
    settings = {k: getattr(runs[0].config, k) for k in HOMEWORK}
    evidence = {"runs": graded, "settings": settings, "homework_settings": settings == HOMEWORK,
                "k": sum(g["grade"] in ("mild", "strong") for g in known), "n": len(known)}
    if not known:
        return Verdict(IDS[0], "not tested", evidence, needs="epochs")
    k, n = evidence["k"], evidence["n"]
    return Verdict(IDS[0], "supported" if k == n else "not supported" if k == 0 else "inconclusive", evidence)


def val_acc_sd(run, window: int = WINDOW) -> float:
    """Standard deviation of the validation accuracy over the last ``window`` epochs (NaN for one epoch)."""
    values = pd.to_numeric(run.history["val_acc"], errors="coerce").dropna().to_numpy()[-window:]
    return float(np.std(values, ddof=1)) if len(values) > 1 else float("nan")


def squeezenet_finetune_stable(ev: Evidence) -> Verdict:
    small, deep = ev.small("finetune"), ev.kind(DEEP, "finetune")
    if small is None or not deep:
        return Verdict(IDS[1], "not tested", needs="both_finetune")
    runs = ev.kind(small, "finetune")
    pair = ev.pair(f"{DEEP}-finetune", f"{small}-finetune")
    grades = [ev.overfit[r.name].grade for r in runs]
    sds = [val_acc_sd(r) for r in runs]
    spread = seed_sd(runs)
    unstable = (any(g in ("mild", "strong") for g in grades) or any(s > STABLE_SD for s in sds if np.isfinite(s))
                or (spread is not None and spread > STABLE_SD))
    stable = not unstable and all(g != "n/a" for g in grades) and all(np.isfinite(s) for s in sds)
    accuracy = accuracy_state(pair)  # "a": ResNet18 more accurate
    evidence = {"small": small, "pair": pair, "accuracy": accuracy, "grades": grades, "val_acc_sd": sds,
                "seed_sd": spread, "stable": "yes" if stable else "no" if unstable else "unknown",
                "sd_limit": STABLE_SD, "window": WINDOW}
    if unstable or accuracy == "b":
        verdict = "not supported"
    elif stable and accuracy == "a":
        verdict = "supported"
    else:
        verdict = "inconclusive"
    return Verdict(IDS[1], verdict, evidence)


def backbones_with_both(ev: Evidence) -> list[str]:
    present = {k.rsplit("-", 1)[0] for k in ev.kinds}
    ordered = [b for b in BACKBONES if b in present] + sorted(present - set(BACKBONES))
    return [b for b in ordered if ev.kind(b, "frozen") and ev.kind(b, "finetune")]


def frozen_less_overfitting(ev: Evidence) -> Verdict:
    backbones = backbones_with_both(ev)
    if not backbones:
        return Verdict(IDS[2], "not tested", needs="both_modes")
    rows = []
    for b in backbones:
        counts = {}
        for mode in ("frozen", "finetune"):
            grades = [ev.overfit[r.name].grade for r in ev.kind(b, mode)]
            known = [g for g in grades if g != "n/a"]
            counts[mode] = (sum(g in ("mild", "strong") for g in known), len(known))
        (kf, nf), (kt, nt) = counts["frozen"], counts["finetune"]
        if not nf or not nt:
            state = "inconclusive"
        elif kf / nf < kt / nt:
            state = "supported"
        elif kf == 0 and kt == 0:
            state = "inconclusive"  # neither overfits: nothing to avoid
        else:
            state = "not supported"
        rows.append({"backbone": b, "k_frozen": kf, "n_frozen": nf, "k_finetune": kt, "n_finetune": nt,
                     "state": state})
    return Verdict(IDS[2], _combine([r["state"] for r in rows]), {"backbones": rows})


def frozen_lower_accuracy(ev: Evidence) -> Verdict:
    backbones = backbones_with_both(ev)
    if not backbones:
        return Verdict(IDS[3], "not tested", needs="both_modes")
    rows = []
    for b in backbones:
        pair = ev.pair(f"{b}-finetune", f"{b}-frozen")
        state = {"a": "supported", "b": "not supported"}.get(accuracy_state(pair), "inconclusive")
        rows.append({"backbone": b, "pair": pair, "state": state})
    return Verdict(IDS[3], _combine([r["state"] for r in rows]), {"backbones": rows})


def resnet18_finetune_best(ev: Evidence) -> Verdict:
    best = f"{DEEP}-finetune"
    others = [k for k in ev.kinds if k != best]
    if best not in ev.kinds or not others:
        return Verdict(IDS[4], "not tested", needs="resnet18_finetune")
    pairs = [ev.pair(best, k) for k in others]
    states = [accuracy_state(p) for p in pairs]
    evidence = {"kinds": list(ev.kinds), "pairs": pairs,
                "accuracy": {k: mean_accuracy(runs) for k, runs in ev.kinds.items()}}
    if any(s == "b" for s in states):
        verdict = "not supported"
    elif all(s == "a" for s in states):
        verdict = "supported"
    else:
        verdict = "inconclusive"
    return Verdict(IDS[4], verdict, evidence)


def squeezenet_adapts_small_data(ev: Evidence) -> Verdict:
    if ev.learning is None or ev.learning.empty:
        return Verdict(IDS[5], "not tested", needs="fractions")
    rows = []
    for small, deep in learning_curves.claim_pairs(ev.learning):
        cmp = learning_curves.compare(ev.learning, small, deep, "accuracy")
        if cmp is None or len(cmp.sizes) < 2:
            continue
        state = learning_curves.claim_verdict(cmp)
        rows.append({"small": small, "deep": deep, "state": state,
                     "smallest": {"n": cmp.smallest.n_train, "small": cmp.smallest.a, "deep": cmp.smallest.b},
                     "full": {"n": cmp.full.n_train, "small": cmp.full.a, "deep": cmp.full.b}})
    if not rows:
        return Verdict(IDS[5], "not tested", needs="fractions")
    mapped = [{"holds": "supported", "contradicted": "not supported"}.get(r["state"], "inconclusive") for r in rows]
    return Verdict(IDS[5], _combine(mapped), {"pairs": rows})


def kaggle_224(runs: Sequence) -> bool:
    """The homework's test setting: Kaggle's chest_xray test folder (234 NORMAL, 390 PNEUMONIA) at 224 px."""
    if not runs:
        return False
    y = runs[0].y
    counts = (int((y == 0).sum()), int((y == 1).sum()))
    return (all(r.config.dataset == HW3_DATASET and r.config.img_size == HW3_IMG_SIZE for r in runs)
            and counts == HW3_TEST_COUNTS)


def squeezenet_not_below_hw3(ev: Evidence, reference: float = HW3_ACCURACY) -> Verdict:
    small = ev.small("finetune")
    if small is None:
        return Verdict(IDS[6], "not tested", needs="squeezenet_finetune")
    full = [r for runs in ev.kinds.values() for r in runs]
    if not kaggle_224(full):
        return Verdict(IDS[6], "not tested", needs="kaggle_224")
    runs = ev.kind(small, "finetune")
    lo, hi = runs[0].metrics["test"].get("ci", {}).get("accuracy") or (None, None)
    evidence = {"run": runs[0].name if len(runs) == 1 else f"{small}-finetune", "accuracy": mean_accuracy(runs),
                "lo": lo, "hi": hi, "reference": reference, "n_seeds": len(runs)}
    if lo is None:
        return Verdict(IDS[6], "inconclusive", evidence)
    if len(runs) > 1:  # every seed's interval must agree
        bounds = [r.metrics["test"]["ci"]["accuracy"] for r in runs]
        lo, hi = min(b[0] for b in bounds), max(b[1] for b in bounds)
        evidence.update(lo=lo, hi=hi)
    verdict = "supported" if lo >= reference else "not supported" if hi < reference else "inconclusive"
    return Verdict(IDS[6], verdict, evidence)


def judge(runs: Sequence, pairs: pd.DataFrame | None = None, reference: float = HW3_ACCURACY) -> list[Verdict]:
    """The seven claims' verdicts on ``runs`` (full-data runs for all but the learning-curve claim)."""
    ev = gather(runs, pairs)
    scratch = any(not r.config.pretrained and r.config.mode in ("finetune", "frozen") for r in runs)
    out = [f(ev) for f in (resnet18_finetune_overfits, squeezenet_finetune_stable, frozen_less_overfitting,
                           frozen_lower_accuracy, resnet18_finetune_best, squeezenet_adapts_small_data)]
    out.append(squeezenet_not_below_hw3(ev, reference))
    return [Verdict(v.id, v.verdict, v.evidence, v.needs, scratch) for v in out]


def as_dicts(verdicts: Sequence[Verdict], texts: Mapping[str, tuple[str, str]]) -> list[dict]:
    """report.json's "claims": {"id", "claim", "verdict", "text"} per claim; ``texts`` id -> (claim, text)."""
    return [{"id": v.id, "claim": texts[v.id][0], "verdict": v.verdict, "text": texts[v.id][1]} for v in verdicts]
