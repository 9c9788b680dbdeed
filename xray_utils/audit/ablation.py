"""Region ablation: a run's best model on its test set with the lung region masked, and with everything but
the lung region masked; one forward pass per masked copy, through the run's own evaluation preprocessing
and compute precision. The unmasked AUC is the run's stored predictions', never recomputed.

The flag: a model that keeps at least ``FLAG_SHARE`` of its discrimination above chance (AUC - 0.5) with
the lungs masked is flagged as using cues outside the lungs. A run whose own AUC is below ``MIN_AUC`` has
too little to lose to be judged and is never flagged.
"""

from __future__ import annotations

import time

import numpy as np

from .. import evaluate
from ..compute import Compute
from ..runs import Run
from ..training.checkpoint import load_best_model
from . import regions
from .intervals import auc_with_ci
from .testset import TestSet, loader

FLAG_SHARE = 0.5  # share of (AUC - 0.5) kept with the lungs masked at or above which a run is flagged
MIN_AUC = 0.6  # below it a run is not judged


def retained(auc: float | None, auc_lungs_masked: float | None) -> float | None:
    """(AUC with the lungs masked - 0.5) / (AUC - 0.5): the share of the run's discrimination that survives
    without the lungs; None for a run with AUC below MIN_AUC."""
    if auc is None or auc_lungs_masked is None or auc < MIN_AUC:
        return None
    return (auc_lungs_masked - 0.5) / (auc - 0.5)


def flagged(auc: float | None, auc_lungs_masked: float | None) -> bool:
    share = retained(auc, auc_lungs_masked)
    return share is not None and share >= FLAG_SHARE


def masked_predictions(run: Run, test: TestSet, kind: str, model=None) -> np.ndarray:
    """p(PNEUMONIA) of the run's best model on its test set with ``kind`` ("lungs" | "outside") masked."""
    cfg = run.config
    if model is None:
        model, _ = load_best_model(run.path)
    compute = Compute.for_run(cfg.device, cfg.amp)
    model = compute.module(model)
    return evaluate.predict(model, loader(regions.masked(test.pixels, kind), test.labels, cfg), compute).p


def ablation(run: Run, test: TestSet) -> dict:
    """AUC as stored, with the lungs masked and with the outside masked (patient-level 95% intervals), the
    share retained, the flag, and the seconds the two forward passes took."""
    t0 = time.perf_counter()
    model, _ = load_best_model(run.path)
    seed = run.config.seed
    out = {"auc": auc_with_ci(run.y, run.p, test.patients, seed)}
    for kind in regions.KINDS:
        p = masked_predictions(run, test, kind, model)
        out[f"auc_{kind}_masked"] = auc_with_ci(test.labels, p, test.patients, seed)
    auc, auc_masked = out["auc"]["value"], out["auc_lungs_masked"]["value"]
    out["retained"] = retained(auc, auc_masked)
    out["flag"] = flagged(auc, auc_masked)
    out["seconds"] = time.perf_counter() - t0
    return out
