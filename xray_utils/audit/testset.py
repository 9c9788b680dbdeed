"""A run's test set as its network saw it: the uint8 crops (the decode cache's pixels, or the same prefix
transform applied here) in the order of its predictions.csv, with labels and patients."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from .. import data, explain
from ..config import RunConfig
from ..errors import XrayError
from ..runs import Run


@dataclass
class TestSet:
    ids: list[str]
    labels: np.ndarray  # int64
    patients: np.ndarray  # str
    pixels: np.ndarray  # uint8 (N, crop, crop): what the prefix transform gives, before the tail


def test_pixels(cfg: RunConfig) -> tuple[data.Split, np.ndarray]:
    """The test split and its prefix-transformed pixels (N, crop, crop), read from the decode cache when on."""
    split = explain.cached_splits(cfg).test
    decoded = split.decoded
    if decoded is not None and decoded.matches(cfg):
        return split, np.asarray(np.load(decoded.path, mmap_mode="r")[decoded.rows])
    prefix = data.prefix_transform(cfg)
    return split, np.stack([prefix(split.load(i)) for i in range(len(split))])


def load_test_set(run: Run) -> TestSet:
    """The run's test images in its predictions' order; an error if the data changed since it was trained."""
    split, pixels = test_pixels(run.config)
    if list(map(str, split.ids)) != list(run.predictions["id"].astype(str)):
        raise XrayError(f"{run.name}: the test images differ from those in its predictions.csv",
                        "the data changed since the run was trained: rerun it (--force)")
    return TestSet(list(map(str, split.ids)), np.asarray(split.labels, dtype=np.int64),
                   np.asarray(split.patients, dtype=str), pixels)


class PixelDataset(Dataset):
    """(normalised tensor, label) per uint8 crop, through the run's own evaluation tail (no augmentation)."""

    def __init__(self, pixels: np.ndarray, labels: np.ndarray, cfg: RunConfig):
        self.pixels, self.labels, self.tail = pixels, labels, data.tail_transform(cfg, train=False)

    def __len__(self) -> int:
        return len(self.pixels)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        return self.tail(self.pixels[i]), int(self.labels[i])


def loader(pixels: np.ndarray, labels: np.ndarray, cfg: RunConfig, batch_size: int = 64) -> DataLoader:
    return DataLoader(PixelDataset(pixels, labels, cfg), batch_size=batch_size, shuffle=False, num_workers=0)
