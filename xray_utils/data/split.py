"""What a split is: images (files or an array), labels, a patient per image, and where its decoded pixels
live in the decode cache; ``Splits`` is train/val/test as training uses them."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from PIL import Image

from ..config import RunConfig
from ..errors import DataError
from .images import open_image

DATA_SEED = 2018  # fixed, unlike cfg.seed: every run of a report sees the same validation split and phantoms
CACHE_VERSION = 2
SPLIT_NAMES = ("train", "val", "test")
DATA_README = "data/README.md"


@dataclass
class Decoded:
    """Where a split's prefix-transformed pixels live in a decode cache: file, row per image, sizes."""

    path: Path
    rows: np.ndarray
    resize: int
    crop: int
    resize_mode: str = "square"

    def matches(self, cfg: RunConfig) -> bool:
        return ((self.resize, self.crop, self.resize_mode) == (cfg.resize_size, cfg.img_size, cfg.resize_mode)
                and self.path.exists())


@dataclass
class Split:
    name: str  # "train" | "val" | "test"
    ids: list[str]  # relative path for folders, "test/00012" for arrays
    labels: np.ndarray  # int64, 0 NORMAL / 1 PNEUMONIA
    patients: list[str]  # patient id per image (its own id where unknown)
    paths: list[Path] | None = None  # folder sources
    images: np.ndarray | None = None  # array sources: uint8 (N, H, W)
    decoded: Decoded | None = field(default=None, repr=False)  # set by load_splits when the cache is on

    def __len__(self) -> int:
        return len(self.ids)

    def load(self, i: int) -> Image.Image:
        """Image i as 8-bit grayscale ("L") at its original size."""
        if self.paths is not None:
            return open_image(self.paths[i])
        return Image.fromarray(self.images[i])

    def fingerprint(self) -> str:
        """Changes when any file (relative path, size, mtime) or array byte changes."""
        h = hashlib.sha1(f"{self.name}|{CACHE_VERSION}\n".encode())
        if self.paths is not None:
            for rel, p in zip(self.ids, self.paths, strict=True):
                try:
                    st = p.stat()
                except OSError as e:
                    raise DataError(f"cannot read {p}: {e}", "the data changed while in use; run again") from None
                h.update(f"{rel}|{st.st_size}|{st.st_mtime_ns}\n".encode())
        else:
            h.update(np.ascontiguousarray(self.images).data)
        h.update(self.labels.astype(np.int64).tobytes())
        return h.hexdigest()

    def subset(self, idx) -> Split:
        idx = np.asarray(idx, dtype=np.int64).reshape(-1)
        return replace(
            self,
            ids=[self.ids[i] for i in idx],
            labels=self.labels[idx],
            patients=[self.patients[i] for i in idx],
            paths=None if self.paths is None else [self.paths[i] for i in idx],
            images=None if self.images is None else self.images[idx],
            decoded=None if self.decoded is None else replace(self.decoded, rows=self.decoded.rows[idx]),
        )

    def renamed(self, name: str) -> Split:
        return replace(self, name=name)


def concat(a: Split, b: Split) -> Split:
    """a's images then b's, under a's name (the folder's train and val pooled before carving)."""
    return Split(a.name, a.ids + b.ids, np.concatenate([a.labels, b.labels]), a.patients + b.patients,
                 paths=None if a.paths is None else a.paths + b.paths,
                 images=None if a.images is None else np.concatenate([a.images, b.images]))


@dataclass
class Splits:
    """train/val/test as training uses them. With ``cfg.train_fraction`` below 1, ``train`` is
    ``full_train.subset(train_rows)``; val and test never change with the fraction. Frozen mode can
    extract the features of ``full_train`` once and pick ``train_rows`` for every fraction."""

    train: Split
    val: Split
    test: Split
    source: str  # human description, shown in logs and the report
    skipped: list[str] = field(default_factory=list)  # unreadable or stray files left out
    full_train: Split | None = field(default=None, repr=False)  # the training split before the fraction
    train_rows: np.ndarray | None = field(default=None, repr=False)  # rows of full_train that are train

    def __post_init__(self):
        if self.full_train is None:
            self.full_train, self.train_rows = self.train, np.arange(len(self.train))
        elif self.train_rows is None:
            raise ValueError("Splits(full_train=...) needs train_rows too")

    def __iter__(self):
        return iter((self.train, self.val, self.test))


def patient_id(filename: str) -> str:
    """Patient of a Kaggle file name: person123_bacteria_456 -> person123, IM-0115-0001 -> IM-0115,
    NORMAL2-IM-0427-0001 -> NORMAL2-IM-0427; any other name is its own patient (the stem)."""
    stem = Path(filename).stem
    m = re.match(r"^(person\d+)_", stem, re.IGNORECASE)
    if m:
        return m.group(1)
    m = re.match(r"^((?:NORMAL\d*-)?IM-\d+)-", stem, re.IGNORECASE)
    if m:
        return m.group(1)
    return stem
