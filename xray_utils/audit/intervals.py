"""Intervals the audit quotes: the metric registry's (``metrics``: patient-level bootstrap, Wilson on the
effective sample size) for Task E metrics, and a patient-level percentile bootstrap for means over images."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from .. import metrics

N_BOOT = 1000


def with_intervals(y, p, names: Sequence[str], groups=None, seed: int = 0, threshold: float = 0.5) -> dict:
    """{"n", metric: value, ..., "ci": {metric: [lo, hi] | None}} from the registry; ``groups``: patient ids."""
    names = list(names)
    est = metrics.point(y, p, threshold, names)
    ci = metrics.intervals(y, p, threshold, groups, seed, N_BOOT, names=names, estimates=est)
    return {"n": est["n"], **{k: est[k] for k in names}, "ci": ci}


def auc_with_ci(y, p, groups=None, seed: int = 0) -> dict:
    """{"value", "ci"}: ROC-AUC and its 95% interval, whole patients resampled within class (``groups``)."""
    m = with_intervals(y, p, ["roc_auc"], groups, seed)
    return {"value": m["roc_auc"], "ci": m["ci"]["roc_auc"]}


def boot_means(values, groups=None, seed: int = 0) -> np.ndarray:
    """N_BOOT bootstrap means of per-image ``values``, whole patients (``groups``) drawn with replacement."""
    v = np.asarray(values, dtype=float)
    units = np.asarray(groups if groups is not None else np.arange(v.size)).astype(str)
    keys, inverse = np.unique(units, return_inverse=True)
    sums = np.bincount(inverse, weights=v, minlength=len(keys))
    counts = np.bincount(inverse, minlength=len(keys)).astype(float)
    draws = np.random.default_rng(seed).integers(0, len(keys), size=(N_BOOT, len(keys)))
    return sums[draws].sum(axis=1) / counts[draws].sum(axis=1)


def percentile_ci(draws: np.ndarray, level: float = 0.95) -> list[float]:
    tail = (1 - level) / 2 * 100
    return [float(np.percentile(draws, tail)), float(np.percentile(draws, 100 - tail))]


def mean_with_ci(values, groups=None, seed: int = 0) -> dict:
    """{"value", "ci"}: the mean of per-image ``values`` and a percentile bootstrap interval that resamples
    whole patients (``groups``; each image its own where None)."""
    v = np.asarray(values, dtype=float)
    if v.size == 0:
        return {"value": None, "ci": None}
    return {"value": float(v.mean()), "ci": percentile_ci(boot_means(v, groups, seed))}


def mean_diff_with_ci(a, groups_a, b, groups_b, seed: int = 0) -> dict:
    """{"value", "ci"}: mean(a) - mean(b) for two independent groups of images, each resampled by patient."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.size == 0 or b.size == 0:
        return {"value": None, "ci": None}
    draws = boot_means(a, groups_a, seed) - boot_means(b, groups_b, seed + 1)
    return {"value": float(a.mean() - b.mean()), "ci": percentile_ci(draws)}
