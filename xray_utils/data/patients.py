"""Everything decided per patient: the validation split carved out of train, the training fraction of a
learning curve, class counts, and patients shared between splits.

Kaggle's pneumonia patients have up to 9 images each; an image split would put one patient's images on
both sides and flatter validation. So validation and training fractions take whole patients, stratified
by class. Where a source has no patient ids (PneumoniaMNIST) every image is its own patient.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable

import numpy as np

from ..config import CLASS_NAMES, RunConfig
from ..errors import DataError
from .split import DATA_README, DATA_SEED, Split


def class_counts(labels) -> dict[str, int]:
    """{"NORMAL": n, "PNEUMONIA": p}: images per class, both classes always present."""
    counts = np.bincount(np.asarray(labels, dtype=np.int64).reshape(-1), minlength=len(CLASS_NAMES))
    return dict(zip(CLASS_NAMES, (int(c) for c in counts), strict=True))


def shared_patients(splits: Iterable[Split]) -> dict[tuple[str, str], list[str]]:
    """Patient ids present in two splits, per pair of splits in their order ((train, val), (train, test),
    (val, test) for a ``Splits``); pairs that share none are left out. Sorted ids."""
    parts = [(s.name, set(s.patients)) for s in splits]
    out = {}
    for i, (a, pa) in enumerate(parts):
        for b, pb in parts[i + 1:]:
            common = sorted(pa & pb)
            if common:
                out[(a, b)] = common
    return out


def check_classes(split: Split, need_both: bool = True) -> None:
    if len(split) == 0:
        raise DataError(f"the {split.name} split has no (readable) images", f"see {DATA_README}")
    counts = np.bincount(split.labels, minlength=2)
    if need_both and (counts == 0).any():
        missing = CLASS_NAMES[int(np.argmin(counts))]
        raise DataError(f"the {split.name} split has no {missing} images (single-class data)",
                        f"both classes are needed: add {missing} images to {split.name}")


def carve_validation(pool: Split, cfg: RunConfig) -> tuple[Split, Split]:
    """Carve a stratified validation split out of ``pool`` so that no patient is in both parts. Seeded by
    DATA_SEED, not cfg.seed: every run of a report sees the same validation split."""
    from sklearn.model_selection import StratifiedGroupKFold

    n_splits = min(int(round(1 / cfg.val_fraction)), len(set(pool.patients)))
    if n_splits < 2:
        raise DataError(f"too few patients ({len(set(pool.patients))}) to carve out a validation split",
                        "add images, or use --val-split given with a val/ folder")
    folds = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=DATA_SEED)
    with warnings.catch_warnings():  # tiny sets: sklearn warns that a class has fewer members than folds
        warnings.filterwarnings("ignore", message="The least populated class", category=UserWarning)
        train_idx, val_idx = next(folds.split(np.zeros(len(pool)), pool.labels, np.asarray(pool.patients)))
    train, val = pool.subset(np.sort(train_idx)).renamed("train"), pool.subset(np.sort(val_idx)).renamed("val")
    assert not set(train.patients) & set(val.patients)  # the point of grouping
    return train, val


def fraction_subset(split: Split, fraction: float, seed: int) -> np.ndarray:
    """Sorted rows of ``split`` that keep ``fraction`` of it for a learning curve: whole patients only,
    stratified by class (a patient counts in the class of most of its images), each class with at least
    ``fraction`` of its images, both classes always present. The patients are taken in an order drawn
    from ``seed`` alone, so one seed always gives the same rows, and for one seed a smaller fraction's
    patients are a subset of a larger one's (the points of a learning curve are nested)."""
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must be in (0, 1], got {fraction!r}")
    if fraction == 1:
        return np.arange(len(split))
    patients, of_image = np.unique(np.asarray(split.patients, dtype=str), return_inverse=True)
    per_patient = np.zeros((len(patients), 2), dtype=np.int64)  # images of each class, per patient
    np.add.at(per_patient, (of_image, split.labels), 1)
    patient_class = per_patient.argmax(axis=1)
    rng = np.random.default_rng([seed, DATA_SEED])
    chosen = np.zeros(len(patients), dtype=bool)
    for c in (0, 1):
        order = rng.permutation(np.flatnonzero(patient_class == c))
        sizes = per_patient[order].sum(axis=1)
        if len(order):
            need = math.ceil(fraction * sizes.sum())
            chosen[order[:int(np.searchsorted(np.cumsum(sizes), need)) + 1]] = True
    for c in (0, 1):  # a class all of whose images sit with patients of the other class: add one holder
        if per_patient[:, c].any() and not per_patient[chosen, c].any():
            chosen[rng.permutation(np.flatnonzero(per_patient[:, c]))[0]] = True
    return np.flatnonzero(chosen[of_image])
