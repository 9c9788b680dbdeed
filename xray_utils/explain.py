"""Grad-CAM and test-image lookups for the report.

Which images to explain is decided once from every run's predictions (``select_cases``), so all runs are
shown on the SAME images side by side: a true positive, a false negative, ... of the runs' consensus.
``compute_cams`` rebuilds a run's best model from its directory (``checkpoint.load_best_model``) and runs
pytorch-grad-cam's GradCAM on the layer ``models.cam_layer`` names, for the PNEUMONIA score.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import pandas as pd
import torch

from . import data, models
from .config import RunConfig
from .errors import XrayError
from .training.checkpoint import load_best_model

KINDS = ("tp", "fn", "fp", "tn")  # the order cases are shown in
PNEUMONIA = 1
# the first channel's ImageNet normalisation, undone to show the network's input as a grey image
_MEAN, _STD = data.IMAGENET_MEAN[0], data.IMAGENET_STD[0]


def outcome(label: int, p: float, threshold: float = 0.5) -> str:
    """"tp" | "fp" | "fn" | "tn" of one prediction (positive = PNEUMONIA)."""
    predicted = p >= threshold
    if label == PNEUMONIA:
        return "tp" if predicted else "fn"
    return "fp" if predicted else "tn"


def _probability_matrix(pred_tables: Mapping[str, pd.DataFrame] | Sequence[pd.DataFrame]) -> pd.DataFrame:
    """ids present in every table (rows) x runs (columns) of p_pneumonia, plus the label column."""
    tables = list(pred_tables.values()) if isinstance(pred_tables, Mapping) else list(pred_tables)
    if not tables:
        raise XrayError("no runs to choose Grad-CAM cases from", "train at least one run first")
    common = set(tables[0]["id"].astype(str))
    for t in tables[1:]:
        common &= set(t["id"].astype(str))
    if not common:
        raise XrayError("the runs share no test image (were they trained on different data?)",
                        "build the report from runs of one dataset")
    ids = sorted(common)
    p = np.column_stack([t.assign(id=t["id"].astype(str)).set_index("id").loc[ids, "p_pneumonia"].to_numpy(float)
                         for t in tables])
    labels = tables[0].assign(id=tables[0]["id"].astype(str)).set_index("id").loc[ids, "label"].to_numpy(int)
    # sorted per row before averaging, so the mean (and every tie) is the same whatever the runs' order
    return pd.DataFrame({"label": labels, "p_mean": np.sort(p, axis=1).mean(axis=1),
                         "wrong": ((p >= 0.5) != (labels[:, None] == PNEUMONIA)).mean(axis=1)}, index=ids)


def select_cases(pred_tables: Mapping[str, pd.DataFrame] | Sequence[pd.DataFrame], per_kind: int = 2) -> list[str]:
    """Test image ids to explain in every run: up to ``per_kind`` each of TP, FN, FP, TN.

    Kinds come from the runs' consensus (mean probability over runs at 0.5); within a kind the most
    confident come first (ties broken by id). Kinds the consensus leaves empty (an easy test set has no
    consensus mistakes) are filled with the images most runs disagree on. The result depends only on the
    predictions, not on the order of the runs.
    """
    m = _probability_matrix(pred_tables)
    m["kind"] = [outcome(label, p) for label, p in zip(m["label"], m["p_mean"], strict=True)]
    m["confidence"] = (m["p_mean"] - 0.5).abs()
    chosen: list[str] = []
    for kind in KINDS:
        part = m[m["kind"] == kind].rename_axis("id").reset_index()
        part = part.sort_values(["confidence", "id"], ascending=[False, True])
        chosen += list(part["id"][:per_kind])
    missing = per_kind * len(KINDS) - len(chosen)
    if missing > 0:  # images some run gets wrong, most disputed first
        rest = m[(m["wrong"] > 0) & ~m.index.isin(chosen)].rename_axis("id").reset_index()
        rest = rest.sort_values(["wrong", "confidence", "id"], ascending=[False, False, True])
        chosen += list(rest["id"][:missing])
    return chosen


def case_kinds(pred_tables: Mapping[str, pd.DataFrame] | Sequence[pd.DataFrame], ids: Sequence[str]) -> list[str]:
    """The consensus outcome ("tp", "fn", ...) of each of ``ids`` (mean probability over runs at 0.5)."""
    m = _probability_matrix(pred_tables).loc[list(ids)]
    return [outcome(label, p) for label, p in zip(m["label"], m["p_mean"], strict=True)]


# ----------------------------------------------------------------------------------------------------
# images as the network sees them

_SPLITS_CACHE: dict[str, data.Splits] = {}


def _splits(cfg: RunConfig) -> data.Splits:
    # every run of a report shares its data: list / split it once per process
    data_fields = ("dataset", "data_dir", "val_split", "val_fraction", "mnist_size", "synthetic_train",
                   "synthetic_test", "synthetic_shortcut", "seed", "strict", "cache_dir")
    key = json.dumps({k: getattr(cfg, k) for k in data_fields}, sort_keys=True, default=str)
    if key not in _SPLITS_CACHE:
        _SPLITS_CACHE[key] = data.load_splits(cfg)
    return _SPLITS_CACHE[key]


def cached_splits(cfg: RunConfig) -> data.Splits:
    """The splits of ``cfg``'s data, loaded once per process (the runs of a report share them)."""
    return _splits(cfg)


def _test_positions(split: data.Split, ids: Sequence[str]) -> list[int]:
    position = {str(i): k for k, i in enumerate(split.ids)}
    missing = [i for i in ids if str(i) not in position]
    if missing:
        raise XrayError(f"test image(s) {', '.join(map(str, missing[:3]))} not found in {split.name} split",
                        "the data changed since the run was trained: rerun it (--force)")
    return [position[str(i)] for i in ids]


def input_tensors(cfg: RunConfig, ids: Sequence[str]) -> torch.Tensor:
    """The test images ``ids`` preprocessed exactly as for evaluation: (N, 3, crop, crop)."""
    split = _splits(cfg).test
    transform = data.build_transforms(cfg, train=False)
    return torch.stack([transform(split.load(k)) for k in _test_positions(split, ids)])


def to_display(x: torch.Tensor) -> np.ndarray:
    """(N, 3, H, W) normalised input -> (N, H, W) grey images in [0, 1] (the channels are equal)."""
    return (x[:, 0] * _STD + _MEAN).clamp(0, 1).numpy()


def test_images(cfg: RunConfig, ids: Sequence[str]) -> np.ndarray:
    """(N, crop, crop) grey images in [0, 1]: what the network was shown."""
    return to_display(input_tensors(cfg, ids))


# ----------------------------------------------------------------------------------------------------
# Grad-CAM


def compute_cams(run_dir: str | Path, ids: Sequence[str], target: int = PNEUMONIA,
                 batch_size: int = 16) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(images, cams, probs) for test images ``ids`` of the run in ``run_dir``.

    images: (N, H, W) grey inputs in [0, 1]; cams: (N, H, W) Grad-CAM of class ``target`` in [0, 1],
    the same shape as the images; probs: (N,) the model's probability of PNEUMONIA.
    """
    from pytorch_grad_cam import GradCAM
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

    model, cfg = load_best_model(run_dir)
    x = input_tensors(cfg, ids)
    with torch.no_grad():
        probs = torch.softmax(model(x), dim=1)[:, PNEUMONIA].numpy()
    cams = []
    layer = models.cam_layer(model)
    # only the CAM layer's weights ask for gradients: the backward pass then stops there instead of running
    # through the whole backbone (the gradient at the layer's output, all Grad-CAM uses, is the same)
    if any(True for _ in layer.parameters()):  # (a layer without weights keeps the whole backward pass)
        for p in model.parameters():
            p.requires_grad_(False)
        for p in layer.parameters():
            p.requires_grad_(True)
    with GradCAM(model=model, target_layers=[layer]) as cam:
        for start in range(0, len(x), batch_size):
            chunk = x[start:start + batch_size]
            cams.append(cam(input_tensor=chunk, targets=[ClassifierOutputTarget(target)] * len(chunk)))
    return to_display(x), np.concatenate(cams).astype(np.float32), probs
