"""Predictions and the statistics of a test set: metrics, bootstrap intervals, paired tests, calibration.

Conventions used throughout:
- labels are 0 = NORMAL, 1 = PNEUMONIA; ``p`` is the predicted probability of PNEUMONIA;
- an image is called PNEUMONIA when ``p >= threshold`` (the rule ``sklearn.metrics.roc_curve`` uses, so a
  Youden threshold taken from that curve reproduces its operating point exactly);
- a value that is undefined on the given data (AUC with one class present, precision with no positive
  calls) is ``None``, never a crash and never a warning.

scikit-learn and scipy do the statistics; what is hand-written here is what they lack: a vectorised
percentile bootstrap that shares its resamples between metrics, Holm's correction, and the ECE.
"""

from __future__ import annotations

from itertools import combinations
from typing import Callable, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd
import torch
from scipy import stats
from sklearn import metrics as skm
from sklearn.calibration import calibration_curve

from . import precision
from .errors import DataError, XrayError

BOOTSTRAP_METRICS = ("accuracy", "loss", "sensitivity", "specificity", "f1", "roc_auc")
ALPHA = 0.05
_EPS = 1e-15  # log-loss clipping, as scikit-learn does for float64 probabilities


class NotPairedError(DataError, ValueError):
    """Two runs cannot be compared image by image: their test labels differ."""


# ----------------------------------------------------------------------------------------------------
# predictions


@torch.inference_mode()
def predict(forward: Callable[[torch.Tensor], torch.Tensor], loader: Iterable, device: str | torch.device,
            dtype: torch.dtype | None = None, channels_last: bool = False) -> tuple[np.ndarray, np.ndarray, float]:
    """Run ``forward`` over ``loader``; return (labels, p_pneumonia, mean cross-entropy).

    ``forward`` maps a batch to logits (N, 2): a whole ``XrayNet`` on images, or just its head on cached
    backbone features. ``loader`` yields (inputs, labels). A module is put in eval mode first (dropout off,
    batch-norm running statistics); training code puts it back with ``.train()``. ``dtype`` is the autocast
    dtype (``precision.compute_dtype``; None = fp32); logits are cast to float32 before the softmax, so
    probabilities and the loss are always computed in fp32. ``channels_last`` applies to 4-D image batches.
    """
    device = torch.device(device)
    if isinstance(forward, torch.nn.Module):
        forward.eval()
    labels, probs, losses = [], [], []
    for inputs, y in loader:
        inputs = inputs.to(device, non_blocking=True)
        if channels_last and inputs.ndim == 4:
            inputs = inputs.contiguous(memory_format=torch.channels_last)
        y = torch.as_tensor(y).to(device, non_blocking=True).long()
        with precision.autocast(device, dtype):
            logits = forward(inputs)
        if logits.ndim != 2 or logits.shape[1] != 2 or logits.shape[0] != y.shape[0]:
            raise XrayError(f"the model returned logits of shape {tuple(logits.shape)} for a batch of "
                            f"{y.shape[0]}; expected ({y.shape[0]}, 2)",
                            "the classifier head must end in a 2-output layer (NORMAL, PNEUMONIA)")
        logits = logits.float()
        # kept on the device and moved once at the end: no host sync per batch
        losses.append(torch.nn.functional.cross_entropy(logits, y, reduction="sum"))
        probs.append(logits.softmax(dim=1)[:, 1])
        labels.append(y)
    if not labels:
        raise DataError("nothing to evaluate: the data loader yielded no batches",
                        "check that the split holds images (xray data-check)")
    y_all = torch.cat(labels).cpu().numpy().astype(np.int64)
    p_all = torch.cat(probs).cpu().numpy().astype(np.float64)
    mean_loss = float(torch.stack(losses).sum().cpu()) / len(y_all)
    return y_all, p_all, mean_loss


# ----------------------------------------------------------------------------------------------------
# metrics at one threshold


def _check(y, p, what: str = "predictions") -> tuple[np.ndarray, np.ndarray]:
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


def _ratio(num: float, den: float) -> float | None:
    return float(num / den) if den > 0 else None


def classification_metrics(y, p, threshold: float = 0.5) -> dict:
    """Metrics of PNEUMONIA-vs-NORMAL predictions ``p >= threshold`` against labels ``y``.

    Keys: n, threshold, accuracy, loss (log loss of ``p``, independent of the threshold), sensitivity
    (recall of PNEUMONIA), specificity, precision, npv, f1, roc_auc, pr_auc (average precision), brier,
    confusion_matrix [[tn, fp], [fn, tp]]. Undefined values are None.
    """
    y, p = _check(y, p)
    tn, fp, fn, tp = (int(v) for v in skm.confusion_matrix(y, p >= threshold, labels=[0, 1]).ravel())
    both_classes = 0 < y.sum() < len(y)
    return {
        "n": int(len(y)),
        "threshold": float(threshold),
        "accuracy": (tp + tn) / len(y),
        "loss": float(skm.log_loss(y, np.clip(p, _EPS, 1 - _EPS), labels=[0, 1])),
        "sensitivity": _ratio(tp, tp + fn),
        "specificity": _ratio(tn, tn + fp),
        "precision": _ratio(tp, tp + fp),
        "npv": _ratio(tn, tn + fn),
        "f1": _ratio(2 * tp, 2 * tp + fp + fn),
        "roc_auc": float(skm.roc_auc_score(y, p)) if both_classes else None,
        "pr_auc": float(skm.average_precision_score(y, p)) if y.sum() > 0 else None,
        "brier": float(skm.brier_score_loss(y, p, pos_label=1)),
        "confusion_matrix": [[tn, fp], [fn, tp]],
    }


# ----------------------------------------------------------------------------------------------------
# bootstrap


def _resamples(n: int, n_boot: int, seed: int, max_cells: int = 2_000_000):
    """Index matrices (rows = bootstrap resamples), in chunks that bound memory for large test sets."""
    rng = np.random.default_rng(seed)
    rows = max(1, max_cells // n)
    for start in range(0, n_boot, rows):
        yield rng.integers(0, n, size=(min(rows, n_boot - start), n))


def _boot_metrics(y: np.ndarray, p: np.ndarray, threshold: float, idx: np.ndarray, names: Sequence[str]) -> dict:
    """Each metric on every resample (row of ``idx``) at once; NaN where undefined in that resample."""
    yb, pb = y[idx], p[idx]
    call = pb >= threshold
    tp = (call & (yb == 1)).sum(1)
    tn = (~call & (yb == 0)).sum(1)
    fp = (call & (yb == 0)).sum(1)
    fn = (~call & (yb == 1)).sum(1)
    n = idx.shape[1]

    def ratio(a, b):
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(b > 0, a / np.maximum(b, 1), np.nan)

    out = {}
    for name in names:
        if name == "accuracy":
            out[name] = (tp + tn) / n
        elif name == "loss":
            q = np.clip(p, _EPS, 1 - _EPS)
            per_image = -(y * np.log(q) + (1 - y) * np.log1p(-q))
            out[name] = per_image[idx].mean(1)
        elif name == "sensitivity":
            out[name] = ratio(tp, tp + fn)
        elif name == "specificity":
            out[name] = ratio(tn, tn + fp)
        elif name == "precision":
            out[name] = ratio(tp, tp + fp)
        elif name == "npv":
            out[name] = ratio(tn, tn + fn)
        elif name == "f1":
            out[name] = ratio(2 * tp, 2 * tp + fp + fn)
        elif name == "brier":
            out[name] = ((pb - yb) ** 2).mean(1)
        elif name == "roc_auc":
            # Mann-Whitney form of the AUC, exact with ties (average ranks), for every row at once
            ranks = stats.rankdata(pb, axis=1)
            n_pos = yb.sum(1)
            n_neg = n - n_pos
            u = (ranks * yb).sum(1) - n_pos * (n_pos + 1) / 2
            out[name] = ratio(u, n_pos * n_neg)
        else:
            raise XrayError(f"bootstrap_ci: unknown metric {name!r}",
                            "use accuracy, loss, sensitivity, specificity, precision, npv, f1, brier, roc_auc")
    return out


def bootstrap_ci(y, p, threshold: float = 0.5, metrics: Sequence[str] = BOOTSTRAP_METRICS, n_boot: int = 1000,
                 seed: int = 0, level: float = 0.95) -> dict[str, list[float] | None]:
    """Percentile bootstrap intervals {metric: [lo, hi]} over test images, deterministic by ``seed``.

    All metrics share the same resamples. Resamples where a metric is undefined (e.g. no PNEUMONIA image
    drawn, for sensitivity) are left out of that metric's interval; a metric undefined in every resample
    gets None.
    """
    y, p = _check(y, p)
    chunks = [_boot_metrics(y, p, threshold, idx, metrics) for idx in _resamples(len(y), n_boot, seed)]
    tail = 100 * (1 - level) / 2
    out = {}
    for name in metrics:
        values = np.concatenate([c[name] for c in chunks])
        values = values[~np.isnan(values)]
        out[name] = [float(v) for v in np.percentile(values, [tail, 100 - tail])] if len(values) else None
    return out


# ----------------------------------------------------------------------------------------------------
# threshold


def youden_threshold(y, p) -> float:
    """The threshold maximising Youden's J = sensitivity + specificity - 1 on the ROC curve of (y, p).

    Choose it on VALIDATION predictions and apply it to the test set: chosen on the test set it would be
    fitted to the very images it is judged on, and the test metrics would be optimistic. Ties go to the
    highest threshold (the fewest PNEUMONIA calls). With one class only there is no ROC curve: 0.5.
    """
    y, p = _check(y, p, "youden_threshold")
    if not 0 < y.sum() < len(y):
        return 0.5
    fpr, tpr, thresholds = skm.roc_curve(y, p)
    best = int(np.argmax(tpr - fpr))  # thresholds decrease along the curve: first maximum = highest
    return float(np.clip(thresholds[best], 0.0, 1.0))  # the first ROC threshold is +inf


# ----------------------------------------------------------------------------------------------------
# comparing two runs on the same images


def mcnemar_exact(correct_a, correct_b) -> dict:
    """Exact McNemar test: are A and B equally accurate on the same images?

    b = images only A gets right, c = images only B gets right; under the null each discordant image is a
    fair coin, so p is the two-sided binomial test of b successes in b + c trials (1.0 when b + c = 0).
    """
    a = np.asarray(correct_a, dtype=bool)
    b_ = np.asarray(correct_b, dtype=bool)
    if a.shape != b_.shape or a.ndim != 1:
        raise DataError(f"mcnemar_exact: correctness vectors {a.shape} and {b_.shape} must be 1-D, same length")
    b = int((a & ~b_).sum())
    c = int((~a & b_).sum())
    pvalue = 1.0 if b + c == 0 else float(stats.binomtest(b, b + c, 0.5).pvalue)
    return {"b": b, "c": c, "pvalue": pvalue}


def paired_bootstrap_diff(y, p_a, p_b, threshold_a: float = 0.5, threshold_b: float = 0.5, n_boot: int = 2000,
                          seed: int = 0, level: float = 0.95) -> dict:
    """Accuracy of A minus accuracy of B with a percentile bootstrap interval on the same resampled images."""
    y, p_a = _check(y, p_a, "paired_bootstrap_diff (A)")
    _, p_b = _check(y, p_b, "paired_bootstrap_diff (B)")
    d = ((p_a >= threshold_a) == y).astype(np.float64) - ((p_b >= threshold_b) == y)
    boot = np.concatenate([d[idx].mean(1) for idx in _resamples(len(y), n_boot, seed)])
    tail = 100 * (1 - level) / 2
    lo, hi = np.percentile(boot, [tail, 100 - tail])
    return {"diff": float(d.mean()), "lo": float(lo), "hi": float(hi)}


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm-Bonferroni adjusted p-values, in the input order (step-down, monotone, capped at 1)."""
    p = np.asarray(pvalues, dtype=np.float64)
    m = len(p)
    order = np.argsort(p, kind="stable")
    stepped = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * p[order]))
    adjusted = np.empty(m)
    adjusted[order] = stepped
    return [float(v) for v in adjusted]


PAIRWISE_COLUMNS = ["a", "b", "acc_a", "acc_b", "diff", "ci_lo", "ci_hi", "only_a_right", "only_b_right",
                    "p_mcnemar", "p_holm", "significant", "diff_lo", "diff_hi", "p"]


def pairwise_comparisons(preds: Mapping[str, tuple], alpha: float = ALPHA, n_boot: int = 2000,
                         seed: int = 0) -> pd.DataFrame:
    """Every pair of runs compared on the same test images, one row per pair (in ``preds`` order).

    ``preds`` maps run name -> (y, p, threshold). Columns: a, b (run names), acc_a, acc_b, diff (acc_a -
    acc_b) with its paired bootstrap interval ci_lo, ci_hi; only_a_right / only_b_right (McNemar's
    discordant counts b and c), p_mcnemar (exact), p_holm (Holm over all pairs), significant (p_holm <
    alpha). diff_lo, diff_hi and p repeat ci_lo, ci_hi and p_mcnemar under the names report.py reads.
    """
    names = list(preds)
    checked = {}
    for name in names:
        y, p, t = preds[name]
        checked[name] = (*_check(y, p, f"run {name}"), float(t))
    for name in names[1:]:
        y0, y = checked[names[0]][0], checked[name][0]
        if len(y) != len(y0) or not np.array_equal(y, y0):
            raise NotPairedError(
                f"runs {names[0]!r} and {name!r} were not evaluated on the same test images "
                f"({len(y0)} vs {len(y)} labels{', different labels' if len(y) == len(y0) else ''})",
                "compare only runs trained on the same dataset and test split (same --dataset and data dir)")
    rows = []
    for a, b in combinations(names, 2):
        y, p_a, t_a = checked[a]
        _, p_b, t_b = checked[b]
        right_a, right_b = (p_a >= t_a) == y, (p_b >= t_b) == y
        test = mcnemar_exact(right_a, right_b)
        ci = paired_bootstrap_diff(y, p_a, p_b, t_a, t_b, n_boot=n_boot, seed=seed)
        rows.append({"a": a, "b": b, "acc_a": float(right_a.mean()), "acc_b": float(right_b.mean()),
                     "diff": ci["diff"], "ci_lo": ci["lo"], "ci_hi": ci["hi"],
                     "only_a_right": test["b"], "only_b_right": test["c"], "p_mcnemar": test["pvalue"]})
    df = pd.DataFrame(rows, columns=PAIRWISE_COLUMNS[:10])
    df["p_holm"] = holm(df["p_mcnemar"].tolist()) if len(df) else []
    df["significant"] = (df["p_holm"] < alpha).astype(bool)
    df["diff_lo"], df["diff_hi"], df["p"] = df["ci_lo"], df["ci_hi"], df["p_mcnemar"]
    return df[PAIRWISE_COLUMNS]


# ----------------------------------------------------------------------------------------------------
# calibration


def calibration(y, p, n_bins: int = 10) -> dict:
    """Reliability curve, Brier score and expected calibration error of the PNEUMONIA probability.

    Positive-class reliability, the same definition the reliability diagram draws: ``p`` goes into
    ``n_bins`` equal-width bins on [0, 1] (scikit-learn's "uniform" strategy, same edge rule), and
    ECE = sum over bins of |fraction of PNEUMONIA in the bin - mean p in the bin| * n_bin / N.
    prob_true, prob_pred and counts hold the non-empty bins only, aligned with each other.
    """
    y, p = _check(y, p, "calibration")
    if not (isinstance(n_bins, int) and n_bins >= 1):
        raise XrayError(f"calibration: n_bins must be a positive integer, got {n_bins!r}")
    prob_true, prob_pred = calibration_curve(y, p, n_bins=n_bins, strategy="uniform", pos_label=1)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    counts = np.bincount(np.searchsorted(edges[1:-1], p), minlength=n_bins)
    counts = counts[counts > 0]
    ece = float(np.sum(np.abs(prob_true - prob_pred) * counts) / len(y))
    return {"prob_true": prob_true, "prob_pred": prob_pred, "counts": counts, "bin_edges": edges, "ece": ece,
            "brier": float(skm.brier_score_loss(y, p, pos_label=1))}
