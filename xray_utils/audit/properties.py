"""The image-property baseline (Kaggle folder only): a logistic regression on properties that are not the
disease - original width, height, aspect ratio, file size, mean and standard deviation of intensity -
trained on the training images (train, plus val/ where the folder has one) and scored by ROC-AUC on test.
Well above 0.5, the label leaks through how the images were made and stored, and a network can read it:
the homework's square squash turns the aspect ratio into shape.

Intensities are measured on a reduced decode of large JPEGs (Pillow's draft, at least 256 px on the short
side), which barely moves a mean or standard deviation; sizes are the files' own."""

from __future__ import annotations

import numpy as np
from PIL import Image

from ..config import RunConfig
from ..data import folder_root, list_folder, to_gray
from ..data.split import Split, concat
from . import cache
from .intervals import auc_with_ci

FEATURES = ("width", "height", "aspect_ratio", "file_size", "mean_intensity", "std_intensity")


def image_properties(path) -> list[float]:
    """The FEATURES of one image file."""
    size = path.stat().st_size
    with Image.open(path) as img:
        width, height = img.size
        if img.format == "JPEG" and min(width, height) > 512:
            img.draft("L", (width // 4, height // 4))  # decodes at 1/2..1/8 scale, never below 256 px
        pixels = np.asarray(to_gray(img), dtype=np.float64)
    return [width, height, width / height, size, pixels.mean(), pixels.std()]


def split_properties(split: Split) -> np.ndarray:
    return np.array([image_properties(p) for p in split.paths], dtype=np.float64).reshape(-1, len(FEATURES))


def property_baseline(cfg: RunConfig) -> dict | None:
    """{"auc", "ci", "n_train", "n_test", "per_feature_auc", "constant"}; None for sources that are not a folder."""
    if cfg.dataset != "folder":
        return None
    raw, _ = list_folder(folder_root(cfg))
    train = concat(raw["train"], raw["val"]) if "val" in raw else raw["train"]
    test = raw["test"]
    key = f"{train.fingerprint()}|{test.fingerprint()}"
    return cache.cached(cfg, "properties", key, lambda: _fit(train, test))


def _fit(train: Split, test: Split) -> dict:
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x_train, x_test = split_properties(train), split_properties(test)
    varying = x_train.std(axis=0) > 0  # a property equal on every training image cannot be learned from
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    model.fit(x_train[:, varying], train.labels)
    p = model.predict_proba(x_test[:, varying])[:, 1]
    out = auc_with_ci(test.labels, p, np.asarray(test.patients, dtype=str))
    per_feature = {}
    for j, name in enumerate(FEATURES):  # each property alone, as a score (AUC < 0.5: lower means PNEUMONIA)
        column = x_test[:, j]
        per_feature[name] = float(roc_auc_score(test.labels, column)) if column.std() > 0 else None
    return {"auc": out["value"], "ci": out["ci"], "n_train": len(train), "n_test": len(test),
            "features": list(FEATURES), "constant": [f for f, v in zip(FEATURES, varying, strict=True) if not v],
            "per_feature_auc": per_feature}
