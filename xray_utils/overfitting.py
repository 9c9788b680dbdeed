"""Overfitting, measured from a run's history.csv instead of read off its curves.

Everything here is pure: a history DataFrame (columns of ``runs.HISTORY_COLUMNS``) and a few numbers of
metrics.json in, small dataclasses and numbers out; the sentences are made by ``report.overfitting_view``.

The rule (its thresholds are the constants below, and the report's rule sentence is generated from them):
a run overfits when its validation loss over the last ``WINDOW`` epochs (all epochs after its minimum, if
fewer) averages at least ``MILD_RISE`` above its minimum (relative) AND rose by more than its own noise
(absolute: ``NOISE_SES`` patient-clustered standard errors of the validation loss, and never less than
``MIN_ABS_RISE``), while the training loss keeps falling (lower at the last epoch than at the minimum's
epoch); strongly from ``STRONG_RISE``. At least ``MIN_EPOCHS_AFTER`` epochs must follow the minimum: a
single epoch's rise is too little to call. A validation loss that goes from 0.00003 to 0.0005 rose by
1,600% but by less than 0.001 in absolute terms: noise, not overfitting.

The standard error comes from val_predictions.csv (the evaluated epoch's per-image cross-entropy, from the
logits when the file holds them): the standard error of a mean over patients (images of one patient
summed before squaring). It stands in for the standard error at the minimum; with ``select="best"`` the
evaluated epoch is the minimum.

A caveat the report repeats: history.csv's training loss and accuracy are running means over each epoch,
taken with augmentation and dropout on, while validation is measured after the epoch in eval mode. The
train-validation gap therefore understates overfitting early in training and is only comparable between
runs trained with the same augmentation and dropout.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd

from .metrics import cross_entropy

WINDOW = 3  # epochs at the end of training over which the validation loss is averaged
MIN_EPOCHS_AFTER = 2  # epochs that must follow the minimum before a rise is called overfitting
MILD_RISE = 0.10  # relative rise of the validation loss above its minimum: mild overfitting
STRONG_RISE = 0.25  # ... strong overfitting
NOISE_SES = 2.0  # ... and the absolute rise must exceed this many standard errors of the validation loss
MIN_ABS_RISE = 0.01  # ... and never less than this (a loss rising by < 0.01 is not graded as overfitting)

# Why a run got its grade:
#   improving: validation loss was lowest at the last epoch
#   flat:      it bottomed out earlier, but ended less than MILD_RISE above its minimum
#   rising:    it rose by MILD_RISE or more, beyond its noise, while training loss fell (the overfitting grades)
#   noise:     it rose by MILD_RISE or more relative to its minimum, but by no more than its noise in absolute terms
#   unstable:  it rose by MILD_RISE or more, but training loss did not fall either: not overfitting
#   too_short: a single epoch, or fewer than MIN_EPOCHS_AFTER epochs after the minimum
STATUSES = ("improving", "flat", "noise", "rising", "unstable", "too_short")


@dataclass(frozen=True)
class Gap:
    """Train minus validation at one epoch: loss gap = val - train, accuracy gap = train - val (both
    positive when the model does better on the images it trains on)."""

    epoch: int
    train_loss: float
    val_loss: float
    train_acc: float
    val_acc: float

    @property
    def loss(self) -> float:
        return self.val_loss - self.train_loss

    @property
    def acc(self) -> float:
        return self.train_acc - self.val_acc


@dataclass(frozen=True)
class Overfit:
    """One run's overfitting numbers (NaN where a history is too short to give one)."""

    epochs: int
    min_epoch: int | None  # epoch of the lowest validation loss (first of ties)
    min_val_loss: float
    epochs_after: int  # epochs after the minimum
    window: int  # epochs the rise is averaged over (<= WINDOW)
    rise: float  # mean validation loss over the window minus the minimum
    rise_pct: float  # rise / minimum
    train_change: float  # training loss at the last epoch minus at the minimum's epoch (negative: it fell)
    status: str
    grade: str
    selected: Gap | None  # at the epoch whose weights were evaluated
    last: Gap | None  # at the last epoch
    test_acc: float | None = None
    val_loss_se: float = float("nan")  # standard error of the validation loss (NaN: unknown)

    @property
    def noise(self) -> float:
        """The absolute rise the rule needs: NOISE_SES standard errors, at least MIN_ABS_RISE."""
        return max(MIN_ABS_RISE, NOISE_SES * self.val_loss_se) if np.isfinite(self.val_loss_se) else MIN_ABS_RISE

    @property
    def overfits(self) -> bool:
        return self.grade in ("mild", "strong")

    @property
    def train_test_gap(self) -> float:
        """Training accuracy at the selected epoch minus test accuracy (NaN if either is unknown)."""
        if self.selected is None or self.test_acc is None:
            return float("nan")
        return self.selected.train_acc - self.test_acc


def val_loss_minimum(history: pd.DataFrame) -> tuple[int, float] | None:
    """(epoch, value) of the lowest finite validation loss, the first of ties; None if there is none."""
    if len(history) == 0 or "val_loss" not in history:
        return None
    loss = pd.to_numeric(history["val_loss"], errors="coerce").to_numpy(dtype=np.float64)
    finite = np.isfinite(loss)
    if not finite.any():
        return None
    i = int(np.argmin(np.where(finite, loss, np.inf)))
    return int(history["epoch"].iloc[i]), float(loss[i])


def noise_bar(val_loss_se: float | None) -> float:
    """The absolute rise the rule needs for a validation loss with this standard error."""
    se = float("nan") if val_loss_se is None else float(val_loss_se)
    return max(MIN_ABS_RISE, NOISE_SES * se) if np.isfinite(se) else MIN_ABS_RISE


def grade(rise_pct: float, epochs_after: int, train_fell: bool, rise: float | None = None,
          val_loss_se: float | None = None) -> tuple[str, str]:
    """(status, grade) of a validation-loss rise by the module's rule; see STATUSES. ``rise`` is the
    absolute rise (None: not checked against the noise, for callers with the relative rise alone)."""
    if epochs_after <= 0:
        return "improving", "none"
    if not rise_pct >= MILD_RISE:  # also NaN
        return "flat", "none"
    if rise is not None and not rise > noise_bar(val_loss_se):
        return "noise", "none"
    if epochs_after < MIN_EPOCHS_AFTER:
        return "too_short", "n/a"
    if not train_fell:
        return "unstable", "none"
    return "rising", "strong" if rise_pct >= STRONG_RISE else "mild"


def _gap(history: pd.DataFrame, epoch: int | None) -> Gap | None:
    row = history[history["epoch"] == epoch] if epoch is not None else history.iloc[0:0]
    if row.empty:
        return None
    r = row.iloc[0]
    return Gap(int(epoch), float(r["train_loss"]), float(r["val_loss"]), float(r["train_acc"]), float(r["val_acc"]))


def measure(history: pd.DataFrame, selected_epoch: int | None = None, test_acc: float | None = None,
            window: int | None = None, val_loss_se: float | None = None) -> Overfit:
    """The overfitting numbers of one run's history; ``selected_epoch`` None: the validation-loss minimum;
    ``window`` None: ``WINDOW``; ``val_loss_se`` the validation loss's standard error (None: unknown, the
    rise must then exceed MIN_ABS_RISE)."""
    se = float("nan") if val_loss_se is None else float(val_loss_se)
    window = WINDOW if window is None else window
    history = history.sort_values("epoch").reset_index(drop=True)
    n = len(history)
    minimum = val_loss_minimum(history)
    last_epoch = int(history["epoch"].iloc[-1]) if n else None
    if minimum is None:
        return Overfit(n, None, float("nan"), 0, 0, float("nan"), float("nan"), float("nan"), "too_short", "n/a",
                       _gap(history, selected_epoch), _gap(history, last_epoch), test_acc, se)
    min_epoch, min_loss = minimum
    at_min = int(history.index[history["epoch"] == min_epoch][0])
    after = history.iloc[at_min + 1:]
    tail = after.tail(max(1, window))
    rise = float(tail["val_loss"].mean() - min_loss) if len(after) else 0.0
    rise_pct = rise / min_loss if min_loss > 0 else float("nan")
    train_change = float(history["train_loss"].iloc[-1] - history["train_loss"].iloc[at_min])
    status, level = grade(rise_pct, len(after), train_change < 0, rise, se)
    if n < 2:
        status, level = "too_short", "n/a"
    return Overfit(
        epochs=n, min_epoch=min_epoch, min_val_loss=min_loss, epochs_after=len(after),
        window=len(tail) if len(after) else 0, rise=rise, rise_pct=rise_pct, train_change=train_change,
        status=status, grade=level,
        selected=_gap(history, selected_epoch if selected_epoch is not None else min_epoch),
        last=_gap(history, last_epoch), test_acc=test_acc, val_loss_se=se)


# ----------------------------------------------------------------------------------------------------
# runs


def selected_epoch(metrics: dict, select: str, epochs_run: int) -> int | None:
    """The epoch whose weights were evaluated: metrics.json's selected_epoch, else by the select rule."""
    if metrics.get("selected_epoch"):
        return int(metrics["selected_epoch"])
    if select == "last":
        return epochs_run or None
    return int(metrics["best_epoch"]) if metrics.get("best_epoch") else None


def mean_se(values: np.ndarray, groups=None) -> float:
    """Standard error of the mean of ``values`` with the images of one patient (``groups``) as one cluster:
    sqrt(G / (G - 1) * sum over patients of (their summed deviations)^2) / N; NaN for fewer than 2 patients."""
    values = np.asarray(values, dtype=np.float64)
    codes = pd.factorize(pd.Series(np.arange(len(values)) if groups is None else np.asarray(groups, dtype=str)))[0]
    n_groups = int(codes.max(initial=-1)) + 1
    if n_groups < 2:
        return float("nan")
    totals = np.bincount(codes, weights=values - values.mean(), minlength=n_groups)
    return float(np.sqrt(n_groups / (n_groups - 1) * (totals ** 2).sum()) / len(values))


def val_loss_se(val_predictions: pd.DataFrame | None) -> float:
    """The validation loss's standard error from a val_predictions.csv table (per-image cross-entropy, exact
    from the logits when the table holds them; patients as clusters); NaN when there is no table."""
    if val_predictions is None or len(val_predictions) == 0 or "label" not in val_predictions:
        return float("nan")
    y = val_predictions["label"].to_numpy(dtype=np.int64)
    logits = None
    if {"logit_normal", "logit_pneumonia"} <= set(val_predictions.columns):
        logits = val_predictions[["logit_normal", "logit_pneumonia"]].to_numpy(dtype=np.float64)
    ce = cross_entropy(y, val_predictions["p_pneumonia"].to_numpy(dtype=np.float64), logits)
    groups = val_predictions["patient"] if "patient" in val_predictions else None
    return mean_se(ce, groups)


def from_run(run) -> Overfit:
    """``measure`` on a loaded ``runs.Run`` (anything with .history, .metrics and .config; .val_predictions
    gives the noise)."""
    selected = selected_epoch(run.metrics, getattr(run.config, "select", "best"), len(run.history))
    return measure(run.history, selected, run.metrics.get("test", {}).get("accuracy"),
                   val_loss_se=val_loss_se(getattr(run, "val_predictions", None)))


def grades(runs: Sequence) -> dict[str, str]:
    """{run name: "none" | "mild" | "strong"} by the rule ("n/a" for a run with too few epochs to tell):
    report.json's "overfitting"."""
    return {run.name: from_run(run).grade for run in runs}


def group_label(cfg) -> str:
    """The name shared by runs that differ only in seed: the kind, plus -fracF for a training fraction."""
    fraction = getattr(cfg, "train_fraction", 1.0)
    return cfg.run_kind + (f"-frac{fraction:g}" if fraction < 1 else "")


def group_by_seed(runs: Sequence) -> dict[str, list]:
    """Runs that differ only in seed, under their group label, in first-seen order, sorted by seed.

    Runs of one label whose other settings differ are kept apart (the label gets " (2)", " (3)", ...):
    they are different experiments, not repeats.
    """
    groups: dict[str, list] = {}
    identities: dict[str, dict] = {}
    for run in runs:
        identity = {k: v for k, v in run.config.identity().items() if k != "seed"}
        base, label, k = group_label(run.config), group_label(run.config), 1
        while label in identities and identities[label] != identity:
            k += 1
            label = f"{base} ({k})"
        identities[label] = identity
        groups.setdefault(label, []).append(run)
    return {label: sorted(members, key=lambda r: r.config.seed) for label, members in groups.items()}


@dataclass(frozen=True)
class Spread:
    """Mean and sample SD (NaN for one value) of a number across seeds."""

    mean: float
    sd: float
    n: int

    @classmethod
    def of(cls, values: Sequence[float]) -> "Spread":
        v = np.asarray([x for x in values if x is not None and np.isfinite(x)], dtype=np.float64)
        if v.size == 0:
            return cls(float("nan"), float("nan"), 0)
        return cls(float(v.mean()), float(v.std(ddof=1)) if v.size > 1 else float("nan"), int(v.size))


@dataclass(frozen=True)
class SeedSummary:
    """Overfitting of one group of seeds: how many overfit, and the spread of the numbers."""

    n: int
    n_overfit: int
    n_strong: int
    n_mild: int
    n_unknown: int  # grade n/a
    rise_pct: Spread
    min_epoch: Spread
    train_test_gap: Spread
    epochs: int  # the longest history in the group


def summarise_seeds(stats: Sequence[Overfit]) -> SeedSummary:
    grades = [s.grade for s in stats]
    return SeedSummary(
        n=len(stats), n_overfit=sum(s.overfits for s in stats), n_strong=grades.count("strong"),
        n_mild=grades.count("mild"), n_unknown=grades.count("n/a"),
        rise_pct=Spread.of([s.rise_pct for s in stats]),
        min_epoch=Spread.of([s.min_epoch for s in stats if s.min_epoch is not None]),
        train_test_gap=Spread.of([s.train_test_gap for s in stats]),
        epochs=max((s.epochs for s in stats), default=0))
