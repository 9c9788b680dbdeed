"""Torch datasets over a split: (float tensor (3, crop, crop), int label) per image, read from the decode
cache (only the per-epoch tail runs per item) or decoded from the files every time (cache off)."""

from __future__ import annotations

import numpy as np
from torch.utils.data import Dataset

from ..config import RunConfig
from .cache import decoded_of
from .images import UnreadableImage
from .split import Decoded, Split
from .transforms import build_transforms, tail_transform


class DecodingDataset(Dataset):
    """Decodes every item from its file or array (decode cache off)."""

    def __init__(self, split: Split, cfg: RunConfig, train: bool):
        self.split, self.preprocess = split, build_transforms(cfg, train)

    def __len__(self) -> int:
        return len(self.split)

    def __getitem__(self, i: int):
        return self.preprocess(self.split.load(i)), int(self.split.labels[i])


class CachedDataset(Dataset):
    """Reads prefix-transformed pixels from the decode cache; only the tail runs per item."""

    def __init__(self, decoded: Decoded, labels: np.ndarray, cfg: RunConfig, train: bool):
        self.path, self.rows, self.labels = decoded.path, decoded.rows, labels
        self.tail = tail_transform(cfg, train)
        # mapped now: forked loader workers inherit the mapping, so a cache deleted during the run (a
        # cleanup, another run's --force) is still read; only a spawned worker maps the file by its name
        self._pixels = np.load(self.path, mmap_mode="r")

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, i: int):
        if self._pixels is None:  # opened lazily, so every worker maps the file itself
            self._pixels = np.load(self.path, mmap_mode="r")
        return self.tail(self._pixels[self.rows[i]]), int(self.labels[i])

    def __getstate__(self):  # a worker gets the file name, never a copy of the pixels
        return {**self.__dict__, "_pixels": None}


def make_dataset(split: Split, cfg: RunConfig, train: bool) -> Dataset:
    """(float tensor (3, crop, crop), int label) per image; through the decode cache when it is on. A split
    from load_splits is already bound to its cache; any other (or one at other sizes) gets a cache of its
    own here. The split itself is never changed."""
    if not cfg.decode_cache:
        return DecodingDataset(split, cfg, train)
    decoded = split.decoded
    if decoded is None or not decoded.matches(cfg):
        decoded, unreadable = decoded_of(split, cfg)
        if unreadable:
            bad = split.paths[unreadable[0]] if split.paths is not None else split.ids[unreadable[0]]
            raise UnreadableImage(bad, f"{len(unreadable)} unreadable image(s) in this split; "
                                  "load the data with load_splits, which leaves them out")
    return CachedDataset(decoded, split.labels, cfg, train)
