"""One pass over every image of a split, in parallel worker processes: the decode cache builds from it,
the readability check and the data check's content hashes come from it."""

from __future__ import annotations

import hashlib
import os

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset
from tqdm.auto import tqdm

from ..config import RunConfig
from ..progress import bars_wanted
from .images import UnreadableImage, open_image
from .split import Split
from .transforms import GrayPrefix


def default_num_workers() -> int:
    n = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return 0 if n <= 1 else min(n, 8)


class _ImagePass(Dataset):
    """Item i -> (i, prefixed pixels or None, sha1 of the content or None, error or None)."""

    def __init__(self, split: Split, prefix: GrayPrefix | None = None, content_hash: bool = False):
        self.split, self.prefix, self.content_hash = split, prefix, content_hash

    def __len__(self) -> int:
        return len(self.split)

    def __getitem__(self, i: int):
        digest = None
        try:
            if self.split.paths is not None:
                content = self.split.paths[i].read_bytes() if self.content_hash else None
                digest = hashlib.sha1(content).hexdigest() if content is not None else None
                img = open_image(self.split.paths[i], content)
            else:
                if self.content_hash:
                    digest = hashlib.sha1(np.ascontiguousarray(self.split.images[i]).data).hexdigest()
                img = self.split.load(i)
            return i, self.prefix(img) if self.prefix else None, digest, None
        except OSError as e:  # vanished or unreadable from disk
            return i, None, digest, f"{type(e).__name__}: {e}"
        except UnreadableImage as e:
            return i, None, digest, e.message


def _as_is(item):
    return item


def image_pass(split: Split, cfg: RunConfig, desc: str, prefix: GrayPrefix | None = None,
               content_hash: bool = False):
    """Yield (row, pixels, sha1, error) per image in any order, decoding files in parallel workers."""
    workers = cfg.num_workers if cfg.num_workers is not None else default_num_workers()
    if split.paths is None or len(split) < 64:
        workers = 0  # arrays (a resize each) or a handful of files: worker start-up costs more than it saves
    loader = DataLoader(_ImagePass(split, prefix, content_hash), batch_size=None, num_workers=workers,
                        collate_fn=_as_is, generator=torch.Generator())  # leaves the global RNG alone
    yield from tqdm(loader, total=len(split), desc=f"{desc} {split.name}", leave=False,
                    disable=not (cfg.progress and bars_wanted()), unit="img")


def unreadable_rows(split: Split, cfg: RunConfig) -> list[int]:
    """Rows that cannot be decoded, found without keeping any pixels (decode cache off)."""
    if split.paths is None:
        return []  # arrays always decode
    return sorted(int(i) for i, _, _, error in image_pass(split, cfg, "checking") if error is not None)
