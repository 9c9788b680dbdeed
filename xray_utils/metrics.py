"""The metric registry: every test-set metric defined once, for the point estimate, the bootstrap and the tables.

A ``Metric`` says how it is computed (``value(y, p, threshold, w)``: one number per row of the weight
matrix ``w``; a row of ones is the point estimate, a row of draw counts is one bootstrap resample, so the
estimate and its interval share one formula), which interval it gets (``interval``), how it is shown
(``fmt``, ``label_key`` in ``report_text``) and whether the Task E table lists it (``in_table``).
``summarize`` computes all of them with their intervals: it is what metrics.json's ``test`` and
``test_youden`` hold and what the report's Task E table reads, so a metric added with ``register`` (plus its
``metric_<name>`` texts) shows up there with its interval without touching any other file.

Conventions: labels 0 = NORMAL, 1 = PNEUMONIA; ``p`` is P(PNEUMONIA); an image is called PNEUMONIA when
``p >= threshold``; a metric undefined on the data (AUC with one class, precision with no positive call)
is None. ``logits`` (N, 2), when given, make the loss the exact cross-entropy of the logits (float64
log-softmax: what ``torch.nn.CrossEntropyLoss()`` computes); without them the loss is the log loss of ``p``
clipped to [1e-15, 1 - 1e-15] (older runs' predictions.csv hold no logits).

Intervals (95% by default), patients as the unit (images of one patient are not independent):
- every metric is recomputed on ``n_boot`` patient-level bootstrap resamples (patients drawn with
  replacement within class; a patient holding both labels is a stratum of its own);
- "proportion" and "auc" metrics (accuracy, sensitivity, specificity, precision, NPV, F1, ROC-AUC, PR-AUC)
  get a Wilson score interval on the effective sample size n_eff = theta (1 - theta) / Var_boot: the
  clustered bootstrap's variance turned into the number of independent observations it is worth (for a
  proportion, its denominator divided by the design effect, which is never taken below 1). Where the
  bootstrap variance is zero (an estimate of 0% or 100%, where a percentile bootstrap collapses to a
  point), n_eff is Kish's effective number of patients (images per patient as the cluster sizes, the
  most conservative intra-patient correlation, 1), per class for the AUC. The interval never has zero
  width and always holds its estimate;
- "mean" metrics (loss, Brier score) get the percentile bootstrap interval, widened to hold the estimate.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from .errors import DataError, XrayError

N_BOOT = 2000
LEVEL = 0.95
EPS = 1e-15  # log-loss clipping of p when no logits are given, as scikit-learn does for float64
METHOD = ("patient-level cluster bootstrap ({unit}s resampled with replacement within class); Wilson score "
          "interval on the effective sample size theta(1-theta)/Var_boot for proportions, F1 and AUCs (Kish's "
          "effective number of {unit}s where the estimate is 0 or 1); percentile interval for loss and Brier")
FMTS = ("pct", "num")
INTERVALS = ("proportion", "auc", "mean")

ValueFn = Callable[..., np.ndarray]


@dataclass(frozen=True)
class Metric:
    """One test-set metric. ``value(y, p, threshold, w, logits=None) -> (R,)`` for weights ``w`` (R, N);
    NaN where undefined in a row. A "proportion" metric also gives ``counts(y, p, threshold) -> (num, den)``
    per image (its value is sum(w num) / sum(w den)), from which its interval finds its denominator."""

    name: str
    label_key: str  # report_text key of its column / sentence label
    fmt: str  # "pct" (shown as 83.93%) or "num" (0.3490)
    interval: str  # "proportion" | "auc" | "mean"
    in_table: bool  # a column of the Task E table
    higher_is_better: bool | None
    value: ValueFn
    counts: Callable[[np.ndarray, np.ndarray, float], tuple[np.ndarray, np.ndarray]] | None = None

    def __post_init__(self):
        if self.fmt not in FMTS or self.interval not in INTERVALS:
            raise XrayError(f"metric {self.name!r}: fmt must be one of {FMTS} and interval one of {INTERVALS}")
        if self.interval == "proportion" and self.counts is None:
            raise XrayError(f"metric {self.name!r}: a proportion needs counts(y, p, threshold) -> (num, den)")


# ----------------------------------------------------------------------------------------------------
# checks and resampling units (patients, or images), stratified by class


def check(y, p, what: str = "predictions") -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y)
    p = np.asarray(p, dtype=np.float64)
    if y.ndim != 1 or p.ndim != 1 or len(y) != len(p):
        raise DataError(f"{what}: labels {y.shape} and probabilities {p.shape} must be two 1-D arrays "
                        "of the same length")
    if len(y) == 0:
        raise DataError(f"{what}: no images to evaluate")
    if not np.isin(y, (0, 1)).all():
        raise DataError(f"{what}: labels must be 0 (NORMAL) or 1 (PNEUMONIA), got {sorted(set(y.tolist()))[:5]}")
    if not (np.isfinite(p).all() and (p >= 0).all() and (p <= 1).all()):
        raise DataError(f"{what}: probabilities must be finite numbers in [0, 1]")
    return y.astype(np.int64), p


def check_logits(logits, n: int, what: str = "predictions") -> np.ndarray | None:
    if logits is None:
        return None
    logits = np.asarray(logits, dtype=np.float64)
    if logits.shape != (n, 2) or not np.isfinite(logits).all():
        raise DataError(f"{what}: logits must be finite numbers of shape ({n}, 2), got {logits.shape}")
    return logits


def units_of(groups, n: int) -> np.ndarray:
    """Patient number (0 .. G-1) of each of ``n`` images; an image without an id (None, NaN, "") is its
    own patient, and so is every image when ``groups`` is None."""
    if groups is None:
        return np.arange(n)
    ids = pd.Series(np.asarray(groups, dtype=object))
    if len(ids) != n:
        raise DataError(f"groups: {len(ids)} patient ids for {n} images; give one id per image")
    unknown = (ids.isna() | (ids.astype(str).str.strip() == "")).to_numpy()
    codes = pd.factorize(ids.where(~unknown))[0]  # -1 where unknown
    codes[unknown] = codes.max(initial=-1) + 1 + np.arange(unknown.sum())
    return codes


def strata(y: np.ndarray, units: np.ndarray) -> list[np.ndarray]:
    """The patients of each class: all images NORMAL, all PNEUMONIA, and (a third stratum) both labels.

    A patient whose images carry both labels cannot be put in either class without changing its count;
    as a stratum of its own it is drawn as often as it occurs, and each such patient brings both classes.
    """
    n_units = int(units.max()) + 1
    positives = np.bincount(units, weights=y, minlength=n_units)
    images = np.bincount(units, minlength=n_units)
    kind = np.where(positives == 0, 0, np.where(positives == images, 1, 2))
    return [np.flatnonzero(kind == k) for k in range(3) if (kind == k).any()]


def resample_weights(y: np.ndarray, units: np.ndarray, n_boot: int, seed: int, max_cells: int = 2_000_000):
    """Bootstrap resamples as weight matrices (rows = resamples, columns = images): how many times each
    image's patient was drawn. Each stratum draws as many patients as it holds, with replacement. Yields
    chunks of rows so that memory stays bounded for large test sets."""
    rng = np.random.default_rng(seed)
    groups = strata(y, units)
    n_units = int(units.max()) + 1
    rows = max(1, max_cells // max(len(units), n_units))
    for start in range(0, n_boot, rows):
        r = min(rows, n_boot - start)
        counts = np.zeros((r, n_units))
        for members in groups:
            m = len(members)
            draws = rng.integers(0, m, size=(r, m)) + m * np.arange(r)[:, None]  # row-offset for one bincount
            counts[:, members] = np.bincount(draws.ravel(), minlength=r * m).reshape(r, m)
        yield counts[:, units]


# ----------------------------------------------------------------------------------------------------
# the formulas, vectorised over rows of weights


def ratio_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(b > 0, a / np.where(b > 0, b, 1), np.nan)


def _confusion(y: np.ndarray, p: np.ndarray, threshold: float) -> dict[str, np.ndarray]:
    call = p >= threshold
    return {"tp": (call & (y == 1)).astype(np.float64), "tn": (~call & (y == 0)).astype(np.float64),
            "fp": (call & (y == 0)).astype(np.float64), "fn": (~call & (y == 1)).astype(np.float64)}


def proportion(num: Callable[[dict], np.ndarray], den: Callable[[dict], np.ndarray]):
    """(value, counts) of a ratio of per-image counts of the confusion matrix (keys tp, tn, fp, fn)."""

    def counts(y, p, threshold):
        c = _confusion(np.asarray(y), np.asarray(p, dtype=np.float64), threshold)
        return num(c), den(c)

    def value(y, p, threshold, w, logits=None):
        n, d = counts(y, p, threshold)
        return ratio_rows(w @ n, w @ d)

    return value, counts


def cross_entropy(y: np.ndarray, p: np.ndarray, logits: np.ndarray | None = None) -> np.ndarray:
    """Per-image cross-entropy: exact from the logits (float64 log-softmax, what torch's CrossEntropyLoss
    averages), else the log loss of ``p`` clipped to [EPS, 1 - EPS]."""
    if logits is not None:
        logits = np.asarray(logits, dtype=np.float64)
        return np.logaddexp(logits[:, 0], logits[:, 1]) - logits[np.arange(len(y)), np.asarray(y, dtype=np.int64)]
    q = np.clip(p, EPS, 1 - EPS)
    return -(y * np.log(q) + (1 - y) * np.log1p(-q))


def _mean_of(per_image: Callable[..., np.ndarray]) -> ValueFn:
    def value(y, p, threshold, w, logits=None):
        return ratio_rows(w @ per_image(y, p, logits), w.sum(1))
    return value


def weighted_auc(y: np.ndarray, p: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mann-Whitney numerator U and denominator (positive weight x negative weight) of the AUC for every
    row of weights at once, ties counted one half: sklearn's ``roc_auc_score`` with ``sample_weight``.
    A resample changes only weights, never the order of the scores, so the images are sorted once."""
    order = np.argsort(p, kind="stable")
    p_sorted, y_sorted, w_sorted = p[order], y[order], w[:, order]
    new_score = np.r_[True, p_sorted[1:] != p_sorted[:-1]]
    block = np.cumsum(new_score) - 1  # tie block of each sorted image
    starts = np.flatnonzero(new_score)
    ends = np.r_[starts[1:], len(p_sorted)]
    neg = w_sorted * (y_sorted == 0)
    cum_neg = np.zeros((w.shape[0], len(p_sorted) + 1))
    np.cumsum(neg, axis=1, out=cum_neg[:, 1:])
    pos = np.flatnonzero(y_sorted == 1)
    below = cum_neg[:, starts[block[pos]]]  # negative weight with a strictly lower score
    tied = cum_neg[:, ends[block[pos]]] - below
    u = (w_sorted[:, pos] * (below + 0.5 * tied)).sum(1)
    return u, w_sorted[:, pos].sum(1) * neg.sum(1)


def _roc_auc(y, p, threshold, w, logits=None):
    return ratio_rows(*weighted_auc(np.asarray(y), np.asarray(p, dtype=np.float64), w))


def _average_precision(y, p, threshold, w, logits=None):
    """sklearn's ``average_precision_score`` (step-wise, ties as one threshold) for every row of weights."""
    y, p = np.asarray(y), np.asarray(p, dtype=np.float64)
    order = np.argsort(-p, kind="stable")
    p_sorted, w_sorted = p[order], w[:, order]
    pos = w_sorted * (y[order] == 1)
    last = np.r_[p_sorted[1:] != p_sorted[:-1], True]  # last image of each tie block
    tp = np.cumsum(pos, axis=1)[:, last]
    called = np.cumsum(w_sorted, axis=1)[:, last]
    total = tp[:, -1:]
    recall_step = np.diff(np.c_[np.zeros((len(w), 1)), tp], axis=1)
    precision = np.where(recall_step > 0, ratio_rows(tp, called), 0.0)
    return ratio_rows((recall_step * precision).sum(1), total[:, 0])


# ----------------------------------------------------------------------------------------------------
# the registry


METRICS: dict[str, Metric] = {}


def register(metric: Metric) -> Metric:
    """Add (or replace) a metric; it joins ``summarize`` and, with ``in_table``, the Task E table."""
    METRICS[metric.name] = metric
    return metric


def unregister(name: str) -> None:
    METRICS.pop(name, None)


def table_metrics() -> list[Metric]:
    """The Task E table's metrics, in registry order."""
    return [m for m in METRICS.values() if m.in_table]


def get(name: str) -> Metric:
    if name not in METRICS:
        raise XrayError(f"unknown metric {name!r}", f"use one of {', '.join(METRICS)}")
    return METRICS[name]


def _proportion_metric(name, in_table, num, den, fmt="pct"):
    value, counts = proportion(num, den)
    return Metric(name, f"metric_{name}", fmt, "proportion", in_table, True, value, counts)


for _metric in (
    _proportion_metric("accuracy", True, lambda c: c["tp"] + c["tn"], lambda c: c["tp"] + c["tn"] + c["fp"] + c["fn"]),
    Metric("loss", "metric_loss", "num", "mean", True, False, _mean_of(lambda y, p, lg: cross_entropy(y, p, lg))),
    _proportion_metric("sensitivity", True, lambda c: c["tp"], lambda c: c["tp"] + c["fn"]),
    _proportion_metric("specificity", True, lambda c: c["tn"], lambda c: c["tn"] + c["fp"]),
    _proportion_metric("precision", False, lambda c: c["tp"], lambda c: c["tp"] + c["fp"]),
    _proportion_metric("npv", False, lambda c: c["tn"], lambda c: c["tn"] + c["fn"]),
    _proportion_metric("f1", True, lambda c: 2 * c["tp"], lambda c: 2 * c["tp"] + c["fp"] + c["fn"], fmt="num"),
    Metric("roc_auc", "metric_roc_auc", "num", "auc", True, True, _roc_auc),
    Metric("pr_auc", "metric_pr_auc", "num", "auc", False, True, _average_precision),
    Metric("brier", "metric_brier", "num", "mean", False, False, _mean_of(lambda y, p, lg: (p - y) ** 2)),
):
    register(_metric)


# ----------------------------------------------------------------------------------------------------
# intervals


def wilson(theta: float, n: float, level: float = LEVEL) -> list[float]:
    """Wilson score interval of a proportion ``theta`` observed on ``n`` (possibly fractional, effective)
    independent trials; it holds ``theta`` and has positive width for any n > 0, also at 0 and 1."""
    z = float(stats.norm.ppf(0.5 + level / 2))
    centre = (theta + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * np.sqrt(theta * (1 - theta) / n + z * z / (4 * n * n))
    return [float(max(0.0, min(theta, centre - half))), float(min(1.0, max(theta, centre + half)))]


def kish(sizes: np.ndarray) -> float:
    """Kish's effective number of clusters of the given sizes with intra-cluster correlation 1."""
    sizes = sizes[sizes > 0]
    return float(sizes.sum() ** 2 / (sizes ** 2).sum()) if len(sizes) else 0.0


def _effective_n(theta: float, boot: np.ndarray, cap: float, edge_n: float) -> float:
    """n_eff = theta (1 - theta) / Var_boot, at most ``cap``; ``edge_n`` where that is 0/0."""
    boot = boot[np.isfinite(boot)]
    var = float(np.var(boot, ddof=1)) if len(boot) > 1 else 0.0
    if 0 < theta < 1 and var > 0:
        return min(theta * (1 - theta) / var, cap)
    return max(edge_n, 1e-9)


def interval(metric: Metric, theta: float | None, boot: np.ndarray, y: np.ndarray, p: np.ndarray,
             threshold: float, units: np.ndarray, level: float = LEVEL) -> list[float] | None:
    """``metric``'s interval from its estimate ``theta`` and its values on the resamples ``boot``."""
    if theta is None or not np.isfinite(theta):
        return None
    n_units = int(units.max()) + 1
    if metric.interval == "proportion":
        _, den = metric.counts(y, p, threshold)
        return wilson(theta, _effective_n(theta, boot, float(den.sum()),
                                          kish(np.bincount(units, weights=den, minlength=n_units))), level)
    if metric.interval == "auc":
        per_class = [kish(np.bincount(units, weights=(y == k).astype(float), minlength=n_units)) for k in (0, 1)]
        return wilson(theta, _effective_n(theta, boot, np.inf, min(per_class)), level)
    kept = boot[np.isfinite(boot)]
    if not len(kept):
        return None
    tail = 100 * (1 - level) / 2
    lo, hi = (float(v) for v in np.percentile(kept, [tail, 100 - tail]))
    return [min(lo, theta), max(hi, theta)]


# ----------------------------------------------------------------------------------------------------
# everything at once


def values(y, p, threshold: float, w: np.ndarray, names: Sequence[str], logits=None) -> dict[str, np.ndarray]:
    """Each named metric on every row of weights ``w`` at once (NaN where undefined in that row)."""
    return {name: np.asarray(get(name).value(y, p, threshold, w, logits=logits), dtype=np.float64) for name in names}


def point(y, p, threshold: float = 0.5, names: Sequence[str] | None = None, logits=None) -> dict:
    """The estimates alone: n, threshold, every metric (None where undefined) and the confusion matrix
    [[tn, fp], [fn, tp]]."""
    y, p = check(y, p)
    logits = check_logits(logits, len(y))
    names = list(METRICS) if names is None else list(names)
    row = values(y, p, threshold, np.ones((1, len(y))), names, logits)
    c = {k: int(v.sum()) for k, v in _confusion(y, p, threshold).items()}
    out: dict = {"n": int(len(y)), "threshold": float(threshold)}
    out.update({name: (float(v[0]) if np.isfinite(v[0]) else None) for name, v in row.items()})
    out["confusion_matrix"] = [[c["tn"], c["fp"]], [c["fn"], c["tp"]]]
    return out


def intervals(y, p, threshold: float = 0.5, groups=None, seed: int = 0, n_boot: int = N_BOOT,
              level: float = LEVEL, names: Sequence[str] | None = None, logits=None,
              estimates: dict | None = None) -> dict[str, list[float] | None]:
    """{metric: [lo, hi] or None}: see the module docstring. Deterministic by ``seed``."""
    y, p = check(y, p)
    logits = check_logits(logits, len(y))
    names = list(METRICS) if names is None else list(names)
    estimates = estimates if estimates is not None else point(y, p, threshold, names, logits)
    units = units_of(groups, len(y))
    chunks = [values(y, p, threshold, w, names, logits) for w in resample_weights(y, units, n_boot, seed)]
    return {name: interval(get(name), estimates.get(name), np.concatenate([c[name] for c in chunks]), y, p,
                           threshold, units, level)
            for name in names}


def summarize(y, p, threshold: float = 0.5, groups=None, seed: int = 0, n_boot: int = N_BOOT,
              level: float = LEVEL, logits=None) -> dict:
    """Every registered metric with its interval: n, threshold, {metric: value}, "ci": {metric: [lo, hi]},
    "confusion_matrix" [[tn, fp], [fn, tp]]. ``groups`` are the images' patient ids (None: images)."""
    est = point(y, p, threshold, logits=logits)
    est["ci"] = intervals(y, p, threshold, groups, seed, n_boot, level, logits=logits, estimates=est)
    return est


def method(unit: str) -> str:
    """metrics.json's ``bootstrap.method`` for the resampling unit ("patient" or "image")."""
    return METHOD.format(unit=unit)
