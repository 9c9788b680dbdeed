"""Where the attention falls: the share of each test image's Grad-CAM mass (PNEUMONIA score, pytorch-grad-cam
through ``explain.compute_cams``) inside the lung region, averaged over the test set with a patient-level
interval. A map spread evenly would put ``regions.region_share`` of its mass inside: that is chance.

Grad-CAM costs a forward and a backward pass per image, several times a plain forward pass on a CPU, so it runs
on a fixed sample of at most ``CAM_IMAGES`` test images (drawn per class in the test set's proportions, the same
for every run); the interval then covers the sampling of patients within that sample."""

from __future__ import annotations

import time

import numpy as np

from .. import explain
from ..runs import Run
from . import regions
from .intervals import mean_with_ci
from .testset import TestSet

CHUNK = 64  # images per Grad-CAM call (bounds the memory the maps take)
CAM_IMAGES = 120  # test images Grad-CAM runs on; None: all
SAMPLE_SEED = 2018


def cam_sample(labels: np.ndarray, k: int | None = CAM_IMAGES) -> np.ndarray:
    """Sorted positions of at most ``k`` test images, each class in its test-set share; all where fewer."""
    labels = np.asarray(labels)
    if k is None or len(labels) <= k:
        return np.arange(len(labels))
    rng = np.random.default_rng(SAMPLE_SEED)
    chosen = []
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        take = max(1, int(round(k * len(members) / len(labels))))
        chosen.append(rng.choice(members, size=min(take, len(members)), replace=False))
    return np.sort(np.concatenate(chosen))


def share_inside(cams: np.ndarray) -> np.ndarray:
    """(N,) share of each map's mass inside the lung region; NaN for an all-zero map (no mass to place)."""
    cams = np.asarray(cams, dtype=np.float64)
    inside = regions.lung_mask(cams.shape[1], cams.shape[2])
    total = cams.reshape(len(cams), -1).sum(axis=1)
    within = cams[:, inside].sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, within / total, np.nan)


def cam_in_lungs(run: Run, test: TestSet) -> dict:
    """{"value", "ci", "n", "sampled", "of", "chance", "seconds"}: the mean share over the ``n`` of ``sampled``
    test images (of ``of``) whose map has mass."""
    t0 = time.perf_counter()
    rows = cam_sample(test.labels)
    ids = [test.ids[i] for i in rows]
    shares = []
    for start in range(0, len(ids), CHUNK):
        _, cams, _ = explain.compute_cams(run.path, ids[start:start + CHUNK])
        shares.append(share_inside(cams))
    s = np.concatenate(shares)
    keep = ~np.isnan(s)
    out = mean_with_ci(s[keep], test.patients[rows][keep], seed=run.config.seed)
    out.update(n=int(keep.sum()), sampled=len(rows), of=len(test.ids),
               chance=regions.region_share(test.pixels.shape[1]), seconds=time.perf_counter() - t0)
    return out
