"""Patient-level results: each run's stored test predictions aggregated per patient by the mean probability
of PNEUMONIA over the patient's images (a patient is PNEUMONIA when any of its images is labelled so), then
accuracy, sensitivity and specificity at 0.5 and ROC-AUC, with bootstrap intervals over patients (within
class). Not offered where the patients are unknown: PneumoniaMNIST has no patient ids, so each image would
be its own patient and the table would repeat the image-level one."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..runs import Run
from .intervals import with_intervals

METRICS = ("accuracy", "sensitivity", "specificity", "roc_auc")


def patients_known(dataset: str, patients) -> bool:
    """Whether the test images carry real patient ids: not PneumoniaMNIST, and some patient has two images."""
    patients = np.asarray(patients, dtype=str)
    return dataset != "pneumoniamnist" and len(np.unique(patients)) < len(patients)


def per_patient(labels, probs, patients) -> pd.DataFrame:
    """One row per patient (sorted by id): label (max over its images), p (mean), images."""
    df = pd.DataFrame({"patient": np.asarray(patients, dtype=str), "label": np.asarray(labels, dtype=int),
                       "p": np.asarray(probs, dtype=float)})
    return (df.groupby("patient", sort=True)
            .agg(label=("label", "max"), p=("p", "mean"), images=("p", "size")).reset_index())


def patient_metrics(labels, probs, patients, threshold: float = 0.5, seed: int = 0) -> dict:
    """{"n_patients", "n_images", "aggregation", metric: value..., "ci": {metric: [lo, hi]}}."""
    table = per_patient(labels, probs, patients)
    m = with_intervals(table["label"].to_numpy(), table["p"].to_numpy(), METRICS, seed=seed, threshold=threshold)
    return {"n_patients": len(table), "n_images": int(table["images"].sum()), "aggregation": "mean probability",
            "threshold": threshold, **{k: m[k] for k in METRICS}, "ci": m["ci"]}


def run_patient_level(run: Run) -> dict:
    """The run's patient-level metrics, or {"offered": False, "reason": "no_patient_ids" (PneumoniaMNIST) |
    "one_image_per_patient"} where patients are unknown."""
    if not patients_known(run.config.dataset, run.patients):
        reason = "no_patient_ids" if run.config.dataset == "pneumoniamnist" else "one_image_per_patient"
        return {"offered": False, "reason": reason}
    return {"offered": True, **patient_metrics(run.y, run.p, run.patients, seed=run.config.seed)}
