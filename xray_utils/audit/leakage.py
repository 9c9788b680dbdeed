"""Leakage sensitivity (Kaggle folder): each run's Task E metrics on the test images whose patient id also
occurs among the training images (train, plus val/ where present) and on those whose id does not, with
patient-level intervals, and whether the two differ.

Kaggle numbers its ``personNNN`` ids in a way nobody has documented: the same number in train and test may
be the same child or two children. If it were the same child, the shared images would be easier (the
network saw that chest) and score higher. The comparison is made within a class, because the shared ids
are (nearly) all PNEUMONIA: sensitivity on shared vs unshared PNEUMONIA images (and specificity likewise
where NORMAL images fall in both groups); a 95% interval of the difference that excludes 0 is a difference.
"""

from __future__ import annotations

import numpy as np

from ..config import RunConfig
from ..data import folder_root, list_folder
from ..runs import Run
from .intervals import mean_diff_with_ci, with_intervals

METRICS = ("accuracy", "sensitivity", "specificity", "f1", "roc_auc")


def training_patients(cfg: RunConfig) -> set[str]:
    """Every patient id among the folder's training images (train/ and val/; listing only, no decoding)."""
    raw, _ = list_folder(folder_root(cfg))
    return {p for name in ("train", "val") if name in raw for p in raw[name].patients}


def _group_metrics(y, p, patients, seed: int) -> dict:
    m = with_intervals(y, p, METRICS, patients, seed)
    return {"n_images": int(len(y)), "n_patients": int(len(set(patients))), "n_pneumonia": int(np.sum(y)),
            **{k: m[k] for k in METRICS}, "ci": m["ci"]}


def leakage_split(run: Run, train_patients: set[str]) -> dict:
    """{"shared": metrics, "unshared": metrics, "differences": {"sensitivity"|"specificity": {...}}, "differ"}."""
    y, p, patients = run.y, run.p, run.patients
    shared = np.array([pid in train_patients for pid in patients])
    out = {}
    for name, rows in (("shared", shared), ("unshared", ~shared)):
        out[name] = _group_metrics(y[rows], p[rows], patients[rows], run.config.seed) if rows.any() else None
    correct = (p >= 0.5) == (y == 1)
    differences = {}
    for metric, label in (("sensitivity", 1), ("specificity", 0)):
        a, b = shared & (y == label), ~shared & (y == label)
        if a.any() and b.any():
            differences[metric] = mean_diff_with_ci(correct[a], patients[a], correct[b], patients[b],
                                                    seed=run.config.seed)
    out["differences"] = differences
    out["differ"] = any(d["ci"] is not None and (d["ci"][0] > 0 or d["ci"][1] < 0) for d in differences.values())
    return out


def run_leakage(run: Run, train_patients: set[str] | None = None) -> dict | None:
    """The run's leakage split; None for sources that are not a folder (no shared ids to test)."""
    if run.config.dataset != "folder":
        return None
    return leakage_split(run, training_patients(run.config) if train_patients is None else train_patients)
