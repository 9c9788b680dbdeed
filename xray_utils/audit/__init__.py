"""Is it pneumonia the model sees? The shortcut audit, patient-level results and the leakage check.

One module per job:

    regions     the fixed lung region (fractions of the crop) and the masked copies (filled with the image's mean)
    testset     a run's test set as uint8 crops, and a loader through the run's own evaluation preprocessing
    ablation    AUC with the lungs masked / the outside masked (one forward pass each), the flag rule
    attention   the share of Grad-CAM mass inside the lung region, averaged over the test set
    properties  the image-property baseline (Kaggle folder): logistic regression on size, file size, intensity
    patients    per-patient aggregation (mean probability) and its metrics; not offered without patient ids
    leakage     Task E metrics on test images whose patient id occurs in train vs not (Kaggle folder)
    intervals   patient-level bootstrap intervals the audit quotes
    cache       results stored once in <cache dir>/audit/, keyed by best.pt's digest or the data's fingerprint
    summary     one run's audit (cached) and report.json's "shortcut" and "patient_level" entries
"""

from .ablation import FLAG_SHARE, MIN_AUC, flagged, retained
from .attention import share_inside
from .leakage import METRICS as LEAKAGE_METRICS
from .leakage import run_leakage, training_patients
from .patients import METRICS as PATIENT_METRICS
from .patients import patient_metrics, per_patient, run_patient_level
from .properties import property_baseline
from .regions import KINDS, LUNG_REGION, lung_mask, masked, region_share
from .summary import report_json_entries, shortcut, shortcut_entry
from .testset import test_pixels

__all__ = [
    "FLAG_SHARE", "KINDS", "LEAKAGE_METRICS", "LUNG_REGION", "MIN_AUC", "PATIENT_METRICS", "flagged", "lung_mask",
    "masked", "patient_metrics", "per_patient", "property_baseline", "region_share", "report_json_entries",
    "retained", "run_leakage", "run_patient_level", "share_inside", "shortcut", "shortcut_entry", "test_pixels",
    "training_patients",
]
