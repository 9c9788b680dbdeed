"""Learning curves: test metrics against the number of training images, one line per run kind.

Pure functions on run summaries (``Point``: one run's kind, training fraction, seed, training-set size and
test metrics with their bootstrap intervals), so the grouping and the comparisons test without runs on
disk; ``report.learning_view`` turns them into the figure and the generated sentences.

Uncertainty of a point (one kind at one training fraction): the 95% bootstrap interval of metrics.json
(its bounds averaged over seeds) or mean +- 1 SD across seeds, whichever is wider. Two kinds differ
"beyond the uncertainty" at a size only where these intervals do not overlap.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import pandas as pd

from .config import BACKBONES, MODES
from .errors import XrayError

METRICS = ("roc_auc", "accuracy")  # the figure's panels, in this order
# The homework's claim about backbones: with little data the small network adapts better, with much more
# data the deep one wins. (small, deep) backbones it is tested on, where both are present in one mode.
CLAIM_SMALL = ("squeezenet1_1", "squeezenet1_0")
CLAIM_DEEP = "resnet18"


@dataclass(frozen=True)
class Point:
    """One run, as a learning curve sees it."""

    kind: str  # "<backbone>-<mode>"
    backbone: str
    mode: str
    fraction: float
    seed: int
    n_train: int
    values: dict = field(default_factory=dict)  # metric -> test value
    ci: dict = field(default_factory=dict)  # metric -> [lo, hi] or None


def point_from_run(run, metrics: Sequence[str] = METRICS) -> Point:
    """A ``runs.Run`` (anything with .name, .config and .metrics) as a Point."""
    cfg, m = run.config, run.metrics
    test = m.get("test", {})
    return Point(kind=cfg.run_kind, backbone=cfg.backbone, mode=cfg.mode,
                 fraction=float(getattr(cfg, "train_fraction", 1.0)), seed=int(cfg.seed),
                 n_train=int(m.get("n", {}).get("train", 0)),
                 values={k: test.get(k) for k in metrics}, ci={k: test.get("ci", {}).get(k) for k in metrics})


def points_from_runs(runs: Sequence, metrics: Sequence[str] = METRICS) -> list[Point]:
    """Every run as a Point; two runs of the same kind, fraction and seed are refused (one line each)."""
    points, seen = [], {}
    for run in runs:
        p = point_from_run(run, metrics)
        key = (p.kind, p.fraction, p.seed)
        if key in seen:
            raise XrayError(f"runs {seen[key]} and {run.name} are both {p.kind} at training fraction "
                            f"{p.fraction:g} with seed {p.seed}, with different settings: a learning curve "
                            "needs one of them", "choose the runs to report on (runs=... / xray report --runs)")
        seen[key] = run.name
        points.append(p)
    return points


def fractions(points: Sequence[Point]) -> list[float]:
    return sorted({p.fraction for p in points})


def summarise(points: Sequence[Point], metrics: Sequence[str] = METRICS) -> pd.DataFrame:
    """One row per (kind, fraction, metric): n_train (mean over seeds), mean, sd (NaN for one seed), n_seeds,
    values (per seed), ci_lo / ci_hi (bootstrap bounds averaged over seeds), lo / hi (the uncertainty
    interval: the wider of the bootstrap interval and mean +- SD)."""
    rows = []
    groups: dict[tuple[str, float], list[Point]] = {}
    for p in points:
        groups.setdefault((p.kind, p.fraction), []).append(p)
    for (kind, fraction), members in groups.items():
        members = sorted(members, key=lambda p: p.seed)
        for metric in metrics:
            kept = [p for p in members if p.values.get(metric) is not None]
            values = np.array([p.values[metric] for p in kept], dtype=np.float64)
            if values.size == 0:
                continue
            mean = float(values.mean())
            sd = float(values.std(ddof=1)) if values.size > 1 else float("nan")
            cis = np.array([p.ci[metric] for p in kept if p.ci.get(metric)], dtype=np.float64).reshape(-1, 2)
            ci_lo, ci_hi = (cis.mean(axis=0) if len(cis) else (mean, mean))
            spread = 0.0 if np.isnan(sd) else sd
            rows.append({"kind": kind, "backbone": members[0].backbone, "mode": members[0].mode,
                         "fraction": fraction, "n_train": int(round(np.mean([p.n_train for p in kept]))),
                         "metric": metric, "mean": mean, "sd": sd, "n_seeds": int(values.size),
                         "seeds": [p.seed for p in kept], "values": values.tolist(),
                         "ci_lo": float(ci_lo), "ci_hi": float(ci_hi),
                         "lo": float(min(ci_lo, mean - spread)), "hi": float(max(ci_hi, mean + spread))})
    columns = ["kind", "backbone", "mode", "fraction", "n_train", "metric", "mean", "sd", "n_seeds", "seeds",
               "values", "ci_lo", "ci_hi", "lo", "hi"]
    return pd.DataFrame(rows, columns=columns).sort_values(["kind", "metric", "fraction"], ignore_index=True)


# ----------------------------------------------------------------------------------------------------
# comparing two lines


@dataclass(frozen=True)
class AtSize:
    """Two kinds at one training fraction."""

    fraction: float
    n_train: int
    a: float  # mean of kind a
    b: float
    state: str  # "a" / "b": that kind ahead beyond the uncertainty; "tie": the intervals overlap

    @property
    def diff(self) -> float:
        return self.a - self.b

    @property
    def nominal(self) -> str:
        """The kind ahead by its mean ("tie" when equal)."""
        return "a" if self.a > self.b else "b" if self.b > self.a else "tie"


@dataclass(frozen=True)
class Comparison:
    """Kind ``a`` against kind ``b`` on ``metric`` at every training fraction both have (ascending)."""

    a: str
    b: str
    metric: str
    sizes: tuple[AtSize, ...]

    @property
    def smallest(self) -> AtSize:
        return self.sizes[0]

    @property
    def full(self) -> AtSize:
        return self.sizes[-1]

    @property
    def crosses(self) -> bool:
        """Each kind is ahead beyond the uncertainty at some size."""
        states = {s.state for s in self.sizes}
        return {"a", "b"} <= states

    def crossing(self) -> tuple[AtSize, AtSize] | None:
        """The first pair of neighbouring sizes between which the means change order (ties skipped)."""
        ordered = [s for s in self.sizes if s.nominal != "tie"]
        for left, right in zip(ordered, ordered[1:], strict=False):
            if left.nominal != right.nominal:
                return left, right
        return None

    def leader(self, at: AtSize) -> str | None:
        """The kind ahead beyond the uncertainty at ``at``; None when the intervals overlap."""
        return {"a": self.a, "b": self.b}.get(at.state)


def compare(summary: pd.DataFrame, a: str, b: str, metric: str) -> Comparison | None:
    """Kinds ``a`` and ``b`` on ``metric`` over the fractions both have; None if they share none."""
    rows = summary[summary["metric"] == metric]
    by_a = {r["fraction"]: r for r in rows[rows["kind"] == a].to_dict("records")}
    by_b = {r["fraction"]: r for r in rows[rows["kind"] == b].to_dict("records")}
    shared = sorted(set(by_a) & set(by_b))
    if not shared:
        return None
    sizes = []
    for fraction in shared:
        ra, rb = by_a[fraction], by_b[fraction]
        state = "a" if ra["lo"] > rb["hi"] else "b" if rb["lo"] > ra["hi"] else "tie"
        sizes.append(AtSize(fraction, int(round((ra["n_train"] + rb["n_train"]) / 2)), float(ra["mean"]),
                            float(rb["mean"]), state))
    return Comparison(a, b, metric, tuple(sizes))


def claim_verdict(comparison: Comparison) -> str:
    """The homework's claim (``a`` = the small network leads with little data, ``b`` = the deep one with
    the most data) on this comparison: "holds", "partly" (one end beyond the uncertainty, the other a
    tie), "not_supported" (no difference beyond the uncertainty at either end), "contradicted" (either end
    goes the other way beyond the uncertainty), or "one_size" (a single training-set size)."""
    if len(comparison.sizes) < 2:
        return "one_size"
    small, full = comparison.smallest.state, comparison.full.state
    if small == "b" or full == "a":
        return "contradicted"
    if small == "a" and full == "b":
        return "holds"
    if small == "a" or full == "b":
        return "partly"
    return "not_supported"


def _in_order(values, order: Sequence[str]) -> list[str]:
    """The distinct ``values`` in the order of ``order`` (others last, by name)."""
    values = set(values)
    return [v for v in order if v in values] + sorted(values - set(order))


def claim_pairs(summary: pd.DataFrame) -> list[tuple[str, str]]:
    """(small, deep) kinds the homework's backbone claim is tested on: one pair per mode with both, in the
    order of config.MODES."""
    kinds = set(summary["kind"])
    pairs = []
    for mode in _in_order(summary["mode"], MODES):
        deep = f"{CLAIM_DEEP}-{mode}"
        small = next((f"{s}-{mode}" for s in CLAIM_SMALL if f"{s}-{mode}" in kinds), None)
        if deep in kinds and small:
            pairs.append((small, deep))
    return pairs


def frozen_pairs(summary: pd.DataFrame) -> list[tuple[str, str]]:
    """(frozen, finetune) kinds of every backbone that has both, in the order of config.BACKBONES: the claim
    that the frozen extractor reaches lower accuracy is tested on them."""
    kinds = set(summary["kind"])
    return [(f"{b}-frozen", f"{b}-finetune") for b in _in_order(summary["backbone"], BACKBONES)
            if {f"{b}-frozen", f"{b}-finetune"} <= kinds]


def frozen_verdict(comparison: Comparison, frozen_overfit: tuple[int, int], finetune_overfit: tuple[int, int]) \
        -> dict[str, str]:
    """The homework's claim that the frozen extractor avoids overfitting but reaches lower accuracy, on
    (frozen = ``a``, finetune = ``b``) with the most training data and the overfitting counts (runs
    overfitting, runs) of each kind: {"accuracy": "lower" | "tie" | "higher", "overfitting": "avoids" |
    "less" | "not_less", "verdict": "holds" | "partly" | "not_supported"}."""
    accuracy = {"b": "lower", "a": "higher"}.get(comparison.full.state, "tie")
    (k_frozen, n_frozen), (k_tuned, n_tuned) = frozen_overfit, finetune_overfit
    if k_frozen == 0 and n_frozen:
        overfitting = "avoids"
    elif n_frozen and n_tuned and k_frozen / n_frozen < k_tuned / n_tuned:
        overfitting = "less"
    else:
        overfitting = "not_less"
    met = (accuracy == "lower") + (overfitting in ("avoids", "less"))
    return {"accuracy": accuracy, "overfitting": overfitting,
            "verdict": ("not_supported", "partly", "holds")[met]}
