"""Data: three sources (Kaggle folder, PneumoniaMNIST npz, synthetic phantoms), the patient-level
validation split and training fraction, the homework's transforms, the decode cache and the data check.

One module per job:

    images        open_image: any image file -> 8-bit grayscale; UnreadableImage
    transforms    the homework's preprocessing, cut into a cacheable prefix and a per-epoch tail
    split         Split, Splits, patient_id
    patients      carve_validation, fraction_subset, class_counts, shared_patients
    folder, pneumoniamnist, synthetic     the three sources
    decode_pass   one parallel pass over every image (cache build, readability, content hashes)
    cache         the decode cache
    datasets      make_dataset: torch datasets over a split
    load          load_splits: source -> decoded units -> train/val/test (+ training fraction)
    check         data_check (`xray data-check`)

Everything callers use is importable from ``xray_utils.data`` itself.
"""

from .cache import cache_file, ensure_decode_cache
from .check import DataReport, data_check
from .datasets import CachedDataset, DecodingDataset, make_dataset
from .decode_pass import default_num_workers
from .folder import folder_root, list_folder
from .images import IMAGE_EXTENSIONS, UnreadableImage, open_image, to_gray
from .load import load_splits
from .patients import carve_validation, class_counts, fraction_subset, shared_patients
from .split import DATA_SEED, SPLIT_NAMES, Decoded, Split, Splits, patient_id
from .synthetic import SYNTHETIC_SIZE, synthetic_phantom
from .transforms import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    GrayColorJitter,
    GrayPrefix,
    Preprocess,
    TensorTail,
    build_transforms,
    prefix_transform,
    tail_transform,
)

__all__ = [
    "DATA_SEED", "IMAGENET_MEAN", "IMAGENET_STD", "IMAGE_EXTENSIONS", "SPLIT_NAMES", "SYNTHETIC_SIZE",
    "CachedDataset", "DataReport", "Decoded", "DecodingDataset", "GrayColorJitter", "GrayPrefix", "Preprocess",
    "Split", "Splits", "TensorTail", "UnreadableImage",
    "build_transforms", "cache_file", "carve_validation", "class_counts", "data_check", "default_num_workers",
    "ensure_decode_cache", "folder_root", "fraction_subset", "list_folder", "load_splits", "make_dataset",
    "open_image", "patient_id", "prefix_transform", "shared_patients", "synthetic_phantom", "tail_transform",
    "to_gray",
]
