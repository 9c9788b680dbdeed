"""The decode cache: a split's prefix-transformed pixels (grayscale, resized, cropped; uint8) in one .npy
file, built once and memory-mapped by every epoch and every DataLoader worker.

A source split is decoded as a whole (the folder's train and val pooled when validation is carved by
patient), so the same data always gives the same cache and a new ``val_fraction`` or ``train_fraction``
decodes nothing: those only pick rows. The key is the split's fingerprint (every file's path, size and
mtime, or the array bytes) plus the sizes and the resize mode, so a changed file gives a new cache.
The sidecar .json holds the .npy file's SHA-256, checked the first time a process uses the cache: a cache
altered in place (same size, other bytes) is rebuilt, with a warning, never silently trained on.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np

from .. import atomic
from ..config import RunConfig, default_cache_dir
from ..errors import DataError
from .decode_pass import image_pass, unreadable_rows
from .split import CACHE_VERSION, Decoded, Split
from .transforms import prefix_transform


def cache_file(split: Split, cfg: RunConfig) -> Path:
    key = hashlib.sha1(f"{split.fingerprint()}|{cfg.resize_size}|{cfg.img_size}|{cfg.resize_mode}|{CACHE_VERSION}"
                       .encode())
    return default_cache_dir(cfg) / "decode" / f"{split.name}-{cfg.img_size}px-{key.hexdigest()[:20]}.npy"


def ensure_decode_cache(split: Split, cfg: RunConfig) -> tuple[np.ndarray, list[int]]:
    """The split's prefix-transformed pixels as a read-only uint8 memmap (N, crop, crop), built once; and
    the rows whose images could not be decoded (left zero)."""
    path = cache_file(split, cfg)
    meta = path.with_suffix(".json")
    if path.exists() and meta.exists():
        try:
            info = json.loads(meta.read_text(encoding="utf-8"))
            if path in _VERIFIED or _checksum(path) == info["sha256"]:
                _VERIFIED.add(path)
                return np.load(path, mmap_mode="r"), info["unreadable"]
            warnings.warn(f"the decode cache {path} does not match its checksum (changed since it was built): "
                          "rebuilding it", stacklevel=2)
        except (OSError, ValueError, KeyError, TypeError):
            pass  # damaged by hand, a full disk, or written before checksums: build it again
    return _build(split, cfg, path, meta)


_VERIFIED: set[Path] = set()  # caches whose checksum this process has checked (once per run, not per epoch)


def _checksum(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(2**22), b""):
            h.update(block)
    return h.hexdigest()


def _build(split: Split, cfg: RunConfig, path: Path, meta: Path) -> tuple[np.ndarray, list[int]]:
    shape = (len(split), cfg.img_size, cfg.img_size)
    fix = "pass --cache-dir with a writable folder that has room, or --no-decode-cache"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        free = shutil.disk_usage(path.parent).free
    except OSError as e:
        raise DataError(f"cannot use the cache folder {path.parent}: {e}", fix) from None
    need = int(np.prod(shape)) + 2**20
    if free < need:  # a memmap on a full disk dies with SIGBUS instead of raising: check first
        raise DataError(f"the decode cache needs {need / 2**20:.0f} MiB but {path.parent} has "
                        f"{free / 2**20:.0f} MiB free", fix)
    unreadable: list[int] = []
    try:
        # temp file + rename: a crash leaves no half cache, and two builders at once both write a whole one
        with atomic.atomic_path(path, suffix=".npy") as tmp:
            out = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.uint8, shape=shape)
            for i, pixels, _, error in image_pass(split, cfg, "decode cache", prefix=prefix_transform(cfg)):
                if error is None:
                    out[i] = pixels
                else:
                    unreadable.append(int(i))
            out.flush()
            del out
            atomic.write_json(meta, {"n": len(split), "unreadable": sorted(unreadable),  # before the .npy
                                     "sha256": _checksum(tmp)})
    except OSError as e:
        raise DataError(f"cannot write the decode cache {path}: {e}", fix) from None
    _VERIFIED.add(path)
    return np.load(path, mmap_mode="r"), sorted(unreadable)


def decoded_of(split: Split, cfg: RunConfig) -> tuple[Decoded, list[int]]:
    """Where the whole split's pixels are in its decode cache (built if needed), and its unreadable rows."""
    cache, unreadable = ensure_decode_cache(split, cfg)
    return Decoded(Path(cache.filename), np.arange(len(split)), cfg.resize_size, cfg.img_size,
                   cfg.resize_mode), unreadable


def bind(split: Split, cfg: RunConfig) -> tuple[Split, list[int]]:
    """The split bound to its decode cache (a new Split; with the cache off, the split itself), and the
    rows that cannot be decoded, found by the same decoding the cache uses."""
    if not cfg.decode_cache:
        return split, unreadable_rows(split, cfg)
    decoded, bad = decoded_of(split, cfg)
    return replace(split, decoded=decoded), bad
