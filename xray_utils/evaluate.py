"""Predictions and the statistics of a test set: metrics, bootstrap intervals, paired tests, calibration.

Conventions used throughout:
- labels are 0 = NORMAL, 1 = PNEUMONIA; ``p`` is the predicted probability of PNEUMONIA;
- an image is called PNEUMONIA when ``p >= threshold`` (the rule ``sklearn.metrics.roc_curve`` uses, so a
  Youden threshold taken from that curve reproduces its operating point exactly);
- a value that is undefined on the given data (AUC with one class present, precision with no positive
  calls) is ``None``, never a crash and never a warning.

Uncertainty is patient-level: a test set holds several images of many patients, and images of one
patient are not independent. The bootstrap resamples patients (stratified by class) and the paired test
flips whole patients; without patient ids every image is its own patient.

scikit-learn and scipy do the statistics (metrics, McNemar's binomial test, binomial pmfs); what is
hand-written here is what they lack: a vectorised patient-level percentile bootstrap that shares its
resamples between metrics (resamples as weight matrices, so the AUC needs one sort), the exact patient-level
sign-flip test (a convolution of binomials), Holm's correction, and the ECE.
"""

from __future__ import annotations

from itertools import combinations
from typing import Callable, Iterable, Mapping, NamedTuple, Sequence

import numpy as np
import pandas as pd
import torch
from scipy import special, stats
from sklearn import metrics as skm
from sklearn.calibration import calibration_curve

from . import metrics
from . import metrics as _registry
from .compute import Compute
from .errors import DataError, XrayError

BOOTSTRAP_METRICS = ("accuracy", "loss", "sensitivity", "specificity", "f1", "roc_auc")
ALPHA = 0.05
YOUDEN_MIN_PER_CLASS = 50  # fewer validation images of a class than this: the report warns about the threshold
PAIRED_TEST = ("exact sign-flip permutation test over {unit}s, Holm-corrected over all pairs (McNemar's exact test "
               "beside it assumes independent images)")


class NotPairedError(DataError, ValueError):
    """Two runs cannot be compared image by image: their test labels differ."""


# ----------------------------------------------------------------------------------------------------
# predictions


class Predictions(NamedTuple):
    """What ``predict`` returns: labels, P(PNEUMONIA) (float64, from float64 logits), the logits (N, 2) as
    the model gave them (cast to float64) and the mean cross-entropy of those logits."""

    y: np.ndarray
    p: np.ndarray
    logits: np.ndarray
    loss: float


@torch.inference_mode()
def predict(forward: Callable[[torch.Tensor], torch.Tensor], loader: Iterable, compute: Compute) -> Predictions:
    """Run ``forward`` over ``loader``; return ``Predictions(y, p, logits, loss)``.

    ``forward`` maps a batch to logits (N, 2): a whole ``XrayNet`` on images, or just its head on cached
    backbone features. ``loader`` yields (inputs, labels). A module is put in eval mode first (dropout off,
    batch-norm running statistics); training code puts it back with ``.train()``. ``compute`` gives the
    device, the autocast dtype and the memory format (NHWC applies to 4-D image batches). The logits are
    kept; ``loss`` is the mean cross-entropy of their float64 log-softmax (what ``torch.nn.CrossEntropyLoss()``
    gives on them: a confident mistake with a logit gap of 40 counts 40, where the log loss of a rounded
    probability would stop at 34.5), and ``p`` their float64 softmax.
    """
    device = compute.device
    if isinstance(forward, torch.nn.Module):
        forward.eval()
    labels, outputs = [], []
    for inputs, y in loader:
        inputs = compute.batch(inputs)
        y = torch.as_tensor(y).to(device, non_blocking=True).long()
        with compute.autocast():
            logits = forward(inputs)
        if logits.ndim != 2 or logits.shape[1] != 2 or logits.shape[0] != y.shape[0]:
            raise XrayError(f"the model returned logits of shape {tuple(logits.shape)} for a batch of "
                            f"{y.shape[0]}; expected ({y.shape[0]}, 2)",
                            "the classifier head must end in a 2-output layer (NORMAL, PNEUMONIA)")
        outputs.append(logits.float())  # kept on the device and moved once at the end: no host sync per batch
        labels.append(y)
    if not labels:
        raise DataError("nothing to evaluate: the data loader yielded no batches",
                        "check that the split holds images (xray data-check)")
    y_all = torch.cat(labels).cpu().numpy().astype(np.int64)
    logits_all = torch.cat(outputs).cpu().numpy().astype(np.float64)
    p_all = special.expit(logits_all[:, 1] - logits_all[:, 0])  # the softmax of two logits, in float64
    mean_loss = float(metrics.cross_entropy(y_all, p_all, logits_all).mean())
    return Predictions(y_all, p_all, logits_all, mean_loss)


LOGIT_COLUMNS = ("logit_normal", "logit_pneumonia")


def logits_from(predictions: pd.DataFrame) -> np.ndarray | None:
    """The logits (N, 2) of a predictions.csv / val_predictions.csv table; None for runs written before
    the files held them (their loss can then only be the log loss of the stored p)."""
    if not set(LOGIT_COLUMNS) <= set(predictions.columns):
        return None
    return predictions[list(LOGIT_COLUMNS)].to_numpy(dtype=np.float64)


# ----------------------------------------------------------------------------------------------------
# metrics at one threshold, and their intervals: thin wrappers over the registry (``metrics``), where each
# metric's formula lives once, shared by the point estimate and the bootstrap

_check, _units, _strata, _resample_weights = metrics.check, metrics.units_of, metrics.strata, metrics.resample_weights
_weighted_auc, _ratio_rows = metrics.weighted_auc, metrics.ratio_rows


def classification_metrics(y, p, threshold: float = 0.5, logits=None) -> dict:
    """Metrics of PNEUMONIA-vs-NORMAL predictions ``p >= threshold`` against labels ``y``.

    Keys: n, threshold, every registered metric (accuracy, loss: the cross-entropy, exact from ``logits``
    when given, else the log loss of ``p``, independent of the threshold; sensitivity (recall of
    PNEUMONIA), specificity, precision, npv, f1, roc_auc, pr_auc (average precision), brier) and
    confusion_matrix [[tn, fp], [fn, tp]]. Undefined values are None.
    """
    return metrics.point(y, p, threshold, logits=logits)


def _boot_metrics(y: np.ndarray, p: np.ndarray, threshold: float, w: np.ndarray, names: Sequence[str],
                  logits=None) -> dict:
    """Each metric on every resample (row of weights ``w``) at once; NaN where undefined in that resample."""
    return metrics.values(y, p, threshold, w, names, logits)


def bootstrap_ci(y, p, threshold: float = 0.5, metrics: Sequence[str] = BOOTSTRAP_METRICS, n_boot: int = 1000,
                 seed: int = 0, level: float = 0.95, groups=None, logits=None) -> dict[str, list[float] | None]:
    """Patient-level intervals {metric: [lo, hi]}, deterministic by ``seed`` (``metrics.intervals``).

    ``groups`` holds the patient id of each image: whole patients are resampled (stratified by class, see
    ``_strata``), so images of one patient count as one draw. Without it every image is its own patient.
    All metrics share the same resamples. Proportions and AUCs get a Wilson interval on the effective
    sample size (never of zero width, also at 0% and 100%); a metric undefined on the data (e.g.
    sensitivity with no PNEUMONIA image in the test set) gets None.
    """
    return _registry.intervals(y, p, threshold, groups, seed, n_boot, level, names=metrics, logits=logits)


def bootstrap_method(groups=None, n_boot: int = 1000, n_images: int | None = None, level: float = 0.95) -> dict:
    """How ``bootstrap_ci`` / ``paired_bootstrap_diff`` resampled, for metrics.json and the report's note.

    unit is "patient" when some patient has more than one image, else "image" (no ids, or one image
    each); n_units counts patients (or images; None when neither ``groups`` nor ``n_images`` is given).
    """
    if groups is None:
        n_units, n = n_images, n_images
    else:
        n = len(groups)
        n_units = int(_units(groups, n).max(initial=-1)) + 1
    unit = "patient" if groups is not None and n_units < n else "image"
    return {"method": metrics.method(unit), "interval": "wilson-effective-n",
            "unit": unit, "n_resamples": int(n_boot), "n_units": n_units, "level": float(level),
            "paired_test": PAIRED_TEST.format(unit=unit)}


# ----------------------------------------------------------------------------------------------------
# threshold


def youden_threshold(y, p) -> float:
    """The threshold maximising Youden's J = sensitivity + specificity - 1 on the ROC curve of (y, p).

    Choose it on VALIDATION predictions and apply it to the test set: chosen on the test set it would be
    fitted to the very images it is judged on, and the test metrics would be optimistic. Ties go to the
    highest threshold (the fewest PNEUMONIA calls). The threshold is the midpoint between the best ROC
    point's score and the next lower validation score: the same calls on validation, but not sitting on a
    saturated score (a threshold of exactly 1.0 would call only p == 1.0 PNEUMONIA). With one class only
    there is no ROC curve: 0.5.
    """
    y, p = _check(y, p, "youden_threshold")
    if not 0 < y.sum() < len(y):
        return 0.5
    fpr, tpr, thresholds = skm.roc_curve(y, p)
    best = float(thresholds[int(np.argmax(tpr - fpr))])  # thresholds decrease: first maximum = highest
    scores = np.unique(p)
    if not np.isfinite(best):  # the +inf point: nothing called PNEUMONIA; halfway above the highest score
        return float((scores[-1] + 1.0) / 2)
    below = scores[scores < best]
    return float((best + below[-1]) / 2 if len(below) else best / 2)


def youden_basis(y_val) -> dict:
    """Validation images of each class the Youden threshold was chosen on, and whether that is few
    (< ``YOUDEN_MIN_PER_CLASS`` of a class: the threshold is then a noisy choice)."""
    y = np.asarray(y_val)
    counts = {"normal": int((y == 0).sum()), "pneumonia": int((y == 1).sum())}
    return {**counts, "few": min(counts.values()) < YOUDEN_MIN_PER_CLASS}


# ----------------------------------------------------------------------------------------------------
# comparing two runs on the same images


def mcnemar_exact(correct_a, correct_b) -> dict:
    """Exact McNemar test: are A and B equally accurate on the same images? It treats images as
    independent; with several images per patient use ``cluster_sign_flip_test``.

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


def _percentile_interval(values: np.ndarray, level: float) -> list[float] | None:
    values = values[~np.isnan(values)]
    tail = 100 * (1 - level) / 2
    return [float(v) for v in np.percentile(values, [tail, 100 - tail])] if len(values) else None


def paired_bootstrap_diff(y, p_a, p_b, threshold_a: float = 0.5, threshold_b: float = 0.5, n_boot: int = 2000,
                          seed: int = 0, level: float = 0.95, groups=None) -> dict:
    """Accuracy of A minus accuracy of B with a percentile bootstrap interval; both runs are scored on the
    same resamples (of patients when ``groups`` is given, stratified by class as in ``bootstrap_ci``)."""
    y, p_a = _check(y, p_a, "paired_bootstrap_diff (A)")
    _, p_b = _check(y, p_b, "paired_bootstrap_diff (B)")
    d = ((p_a >= threshold_a) == y).astype(np.float64) - ((p_b >= threshold_b) == y)
    units = _units(groups, len(y))
    boot = np.concatenate([(w @ d) / w.sum(1) for w in _resample_weights(y, units, n_boot, seed)])
    lo, hi = _percentile_interval(boot, level)
    return {"diff": float(d.mean()), "lo": lo, "hi": hi}


def paired_auc_test(y, p_a, p_b, n_boot: int = 2000, seed: int = 0, level: float = 0.95, groups=None) -> dict:
    """ROC-AUC of A minus ROC-AUC of B on the same images: the difference, its percentile interval and a
    two-sided p from z = difference / its bootstrap standard error, both runs scored on the same patient
    resamples (stratified by class as in ``bootstrap_ci``). None values when an AUC is undefined (one class)."""
    y, p_a = _check(y, p_a, "paired_auc_test (A)")
    _, p_b = _check(y, p_b, "paired_auc_test (B)")
    ones = np.ones((1, len(y)))
    auc_a, auc_b = (float(_ratio_rows(*_weighted_auc(y, p, ones))[0]) for p in (p_a, p_b))
    if not (np.isfinite(auc_a) and np.isfinite(auc_b)):
        return {"auc_a": None, "auc_b": None, "diff": None, "lo": None, "hi": None, "pvalue": None}
    units = _units(groups, len(y))
    boot = np.concatenate([_ratio_rows(*_weighted_auc(y, p_a, w)) - _ratio_rows(*_weighted_auc(y, p_b, w))
                           for w in _resample_weights(y, units, n_boot, seed)])
    boot = boot[np.isfinite(boot)]
    diff = auc_a - auc_b
    lo, hi = _percentile_interval(boot, level)
    se = float(np.std(boot, ddof=1)) if len(boot) > 1 else 0.0
    pvalue = (1.0 if diff == 0 else 0.0) if se == 0 else float(2 * stats.norm.sf(abs(diff) / se))
    return {"auc_a": auc_a, "auc_b": auc_b, "diff": diff, "lo": min(lo, diff), "hi": max(hi, diff), "pvalue": pvalue}


def cluster_sign_flip_test(correct_a, correct_b, groups=None) -> dict:
    """Are A and B equally accurate? An exact paired sign-flip permutation test with the patient as unit.

    Each patient contributes d = (their images only A gets right) - (their images only B gets right).
    Under the null A and B are exchangeable on each patient, so d and -d are equally likely; p is the
    share of all 2**k sign patterns of the k patients with d != 0 whose |sum of d| reaches the observed
    one. The permutation test is exact for any cluster sizes and needs no variance estimate (a bootstrap
    p-value needs both); with one image per patient it IS McNemar's exact test (each discordant image a
    fair coin), so the two p-values differ only through the clustering.

    The 2**k patterns are not enumerated (nor sampled, as ``scipy.stats.permutation_test`` does, ~10x
    slower for a p with Monte Carlo error): the sum of independent +-|d| terms has a distribution that is
    a convolution of one binomial per distinct |d|, computed exactly in milliseconds.
    """
    a = np.asarray(correct_a, dtype=bool)
    b = np.asarray(correct_b, dtype=bool)
    if a.shape != b.shape or a.ndim != 1:
        raise DataError(f"cluster_sign_flip_test: correctness vectors {a.shape} and {b.shape} must be 1-D, "
                        "same length")
    units = _units(groups, len(a))
    d = np.bincount(units, weights=a.astype(np.int64) - b, minlength=int(units.max(initial=-1)) + 1)
    observed = int(d.sum())
    sizes = np.abs(d[d != 0]).astype(np.int64)  # a patient with d = 0 is the same under every flip
    dist, offset = np.ones(1), 0  # dist[i] = P(sum = i - offset) under the null
    for m, count in zip(*np.unique(sizes, return_counts=True), strict=True):
        m, count = int(m), int(count)
        lattice = np.zeros(2 * m * count + 1)
        lattice[:: 2 * m] = stats.binom.pmf(np.arange(count + 1), count, 0.5)  # j plus signs: m (2j - count)
        dist, offset = np.convolve(dist, lattice), offset + m * count
    extreme = np.abs(np.arange(len(dist)) - offset) >= abs(observed)
    return {"diff_images": observed, "discordant_patients": len(sizes),
            "pvalue": float(min(1.0, dist[extreme].sum()))}


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
                    "p_mcnemar", "p_cluster", "auc_a", "auc_b", "auc_diff", "auc_lo", "auc_hi", "p_auc",
                    "p_holm", "p_mcnemar_holm", "p_auc_holm", "significant", "auc_significant", "diff_lo", "diff_hi",
                    "p"]


def _paired_runs(preds: Mapping[str, tuple]) -> dict[str, tuple[np.ndarray, np.ndarray, float]]:
    """``preds`` checked, and checked to be scored on the same test images (same labels, same order)."""
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
    return checked


def pairwise_comparisons(preds: Mapping[str, tuple], alpha: float = ALPHA, n_boot: int = 2000, seed: int = 0,
                         groups=None) -> pd.DataFrame:
    """Every pair of runs compared on the same test images, one row per pair (in ``preds`` order).

    ``preds`` maps run name -> (y, p, threshold); ``groups`` the patient id of each test image (the same
    images for every run). Columns: a, b (run names), acc_a, acc_b, diff (acc_a - acc_b) with its paired
    bootstrap interval ci_lo, ci_hi (patients resampled); only_a_right / only_b_right (discordant image
    counts); p_mcnemar (exact McNemar: assumes independent images, too small when patients have several);
    p_cluster (exact patient-level sign-flip permutation test, ``cluster_sign_flip_test``); auc_a, auc_b,
    auc_diff with its interval auc_lo, auc_hi and p_auc (``paired_auc_test``: ROC-AUC difference, patients
    resampled); p_holm (Holm over all pairs' p_cluster: the p for verdicts), p_mcnemar_holm and p_auc_holm
    (Holm over all pairs' p_mcnemar / p_auc: raw and adjusted p side by side for every test);
    significant (p_holm < alpha), auc_significant (p_auc_holm < alpha). diff_lo, diff_hi and p repeat
    ci_lo, ci_hi and p_cluster (the p that p_holm corrects) under the names the report reads.
    """
    checked = _paired_runs(preds)
    if groups is not None and checked:
        _units(groups, len(next(iter(checked.values()))[0]))  # one id per image, or a clear error now
    rows = []
    for a, b in combinations(checked, 2):
        y, p_a, t_a = checked[a]
        _, p_b, t_b = checked[b]
        right_a, right_b = (p_a >= t_a) == y, (p_b >= t_b) == y
        mcnemar = mcnemar_exact(right_a, right_b)
        cluster = cluster_sign_flip_test(right_a, right_b, groups)
        ci = paired_bootstrap_diff(y, p_a, p_b, t_a, t_b, n_boot=n_boot, seed=seed, groups=groups)
        auc = paired_auc_test(y, p_a, p_b, n_boot=n_boot, seed=seed, groups=groups)
        rows.append({"a": a, "b": b, "acc_a": float(right_a.mean()), "acc_b": float(right_b.mean()),
                     "diff": ci["diff"], "ci_lo": ci["lo"], "ci_hi": ci["hi"],
                     "only_a_right": mcnemar["b"], "only_b_right": mcnemar["c"], "p_mcnemar": mcnemar["pvalue"],
                     "p_cluster": cluster["pvalue"], "auc_a": auc["auc_a"], "auc_b": auc["auc_b"],
                     "auc_diff": auc["diff"], "auc_lo": auc["lo"], "auc_hi": auc["hi"], "p_auc": auc["pvalue"]})
    df = pd.DataFrame(rows, columns=PAIRWISE_COLUMNS[:17])
    df["p_holm"] = holm(df["p_cluster"].tolist()) if len(df) else []
    df["p_mcnemar_holm"] = holm(df["p_mcnemar"].tolist()) if len(df) else []
    known = df["p_auc"].notna().to_numpy()
    df["p_auc_holm"] = np.nan
    if known.any():
        df.loc[known, "p_auc_holm"] = holm(df.loc[known, "p_auc"].astype(float).tolist())
    df["significant"] = (df["p_holm"] < alpha).astype(bool)
    df["auc_significant"] = (df["p_auc_holm"] < alpha).astype(bool)
    df["diff_lo"], df["diff_hi"], df["p"] = df["ci_lo"], df["ci_hi"], df["p_cluster"]
    return df[PAIRWISE_COLUMNS]


# ----------------------------------------------------------------------------------------------------
# spread across seeds


def seed_summary(values: Iterable[float | None]) -> dict:
    """Mean and sample standard deviation (ddof=1) of one metric over runs that differ only in the seed.

    Undefined values (None, NaN) are left out; n counts the values used, listed in ``values``. sd is None
    with fewer than two values (one run says nothing about the spread), mean None with none.
    """
    kept = [float(v) for v in values if v is not None and np.isfinite(v)]
    return {"mean": float(np.mean(kept)) if kept else None,
            "sd": float(np.std(kept, ddof=1)) if len(kept) > 1 else None,
            "n": len(kept), "values": kept}


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
