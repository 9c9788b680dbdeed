"""Data: three sources (Kaggle folder, PneumoniaMNIST npz, synthetic phantoms), the patient-level
validation split, the homework's transforms, the decode cache and the data check.

A source yields its own splits (the Kaggle folders, the npz arrays). Each is decoded once as a whole (the
folder's train and val pooled when validation is carved by patient), which finds unreadable images
(skipped with one warning, or an error with ``strict``); only then is the validation split carved out, so
the same data always gives the same split, cached or not, and a new ``val_fraction`` decodes nothing.

Preprocessing is cut in two. The deterministic prefix (to 8-bit grayscale, Resize bicubic, CenterCrop) is
the expensive part on full-size X-rays, so its uint8 output is what the decode cache stores. The
per-epoch tail (3 channels, ColorJitter on train, float, ImageNet Normalize) runs on those pixels every
epoch. The uncached path runs the very same two steps, so both give equal tensors.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import tempfile
import warnings
from collections import defaultdict
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset
from torchvision.transforms import v2
from tqdm.auto import tqdm

from . import atomic
from .config import CLASS_NAMES, MNIST_SIZES, RunConfig, default_cache_dir, default_project_dir
from .errors import DataError

IMAGE_EXTENSIONS = {".jpeg", ".jpg", ".png", ".bmp", ".tif", ".tiff", ".gif", ".webp", ".pgm", ".ppm"}
IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
DATA_SEED = 2018  # fixed, unlike cfg.seed: every run of a report sees the same validation split and phantoms
CACHE_VERSION = 2
SPLIT_NAMES = ("train", "val", "test")
SYNTHETIC_SIZE = 128
DATA_README = "data/README.md"
_JUNK_DIRS = {"__macosx", ".ipynb_checkpoints"}


# ----------------------------------------------------------------------------------------------------
# splits


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
            for rel, p in zip(self.ids, self.paths):
                try:
                    st = p.stat()
                except OSError as e:
                    raise DataError(f"cannot read {p}: {e}", "the data changed while in use; run again") from None
                h.update(f"{rel}|{st.st_size}|{st.st_mtime_ns}\n".encode())
        else:
            h.update(np.ascontiguousarray(self.images).data)
        h.update(self.labels.astype(np.int64).tobytes())
        return h.hexdigest()

    def subset(self, idx) -> "Split":
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

    def renamed(self, name: str) -> "Split":
        return replace(self, name=name)


@dataclass
class Splits:
    train: Split
    val: Split
    test: Split
    source: str  # human description, shown in logs and the report
    skipped: list[str] = field(default_factory=list)  # unreadable or stray files left out

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


# ----------------------------------------------------------------------------------------------------
# images and transforms


class UnreadableImage(DataError):
    """An image file that cannot be decoded (corrupt, truncated, not an image)."""

    def __init__(self, path: Path, reason: str):
        super().__init__(f"unreadable image: {path} ({reason})",
                         "remove or replace the file, or drop --strict to skip unreadable images with a warning")
        self.path = path


def open_image(path: Path, content: bytes | None = None) -> Image.Image:
    """Decode an image file (or its bytes) to 8-bit grayscale, converting 16-bit, RGBA, palette, CMYK."""
    try:
        with Image.open(io.BytesIO(content) if content is not None else path) as img:
            img.load()  # decodes everything: truncated and corrupt files fail here, not in training
            return to_gray(img)
    except Exception as e:  # Pillow's plugins raise many types on malformed files; all mean "unreadable"
        raise UnreadableImage(Path(path), f"{type(e).__name__}: {e}") from None


def to_gray(img: Image.Image) -> Image.Image:
    if img.mode == "L":
        return img
    if img.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):  # 12/16-bit radiographs: scale by the max
        a = np.clip(np.asarray(img, dtype=np.float64), 0, None)
        top = a.max() if a.max() > 0 else 1.0
        return Image.fromarray((a / top * 255).round().astype(np.uint8))
    if img.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")  # transparent parts become black, like the film background
        return Image.alpha_composite(Image.new("RGBA", rgba.size, (0, 0, 0, 255)), rgba).convert("L")
    if img.mode not in ("RGB", "P", "1"):  # CMYK, YCbCr, LAB, HSV: through RGB
        img = img.convert("RGB")
    return img.convert("L")


class GrayPrefix:
    """The deterministic, cacheable part: PIL image -> uint8 array (crop, crop). A class, not a lambda,
    so datasets pickle into DataLoader workers under the spawn start method (macOS, Windows).

    ``square`` is the homework's ``Resize((R, R))``: the whole radiograph squashed to a square, so the
    centre crop keeps 224/256 of its width. ``shorter-side`` is ``Resize(R)``: the aspect ratio is kept and
    the crop cuts the sides of a wide image (about 62% of an 1857x1317 original's width survives)."""

    def __init__(self, resize: int, crop: int, mode: str = "square"):
        size = (resize, resize) if mode == "square" else resize
        self.resize = v2.Resize(size, interpolation=v2.InterpolationMode.BICUBIC, antialias=True)
        self.crop = v2.CenterCrop(crop)

    def __call__(self, img: Image.Image) -> np.ndarray:
        return np.asarray(self.crop(self.resize(to_gray(img))), dtype=np.uint8)


class GrayColorJitter(v2.ColorJitter):
    """v2.ColorJitter for gray 3-channel images: the same random draws and the same output, minus the hue
    step. Rotating the hue of a pixel whose channels are equal leaves it exactly unchanged, and torchvision's
    hue kernel costs about 10 ms per image at any size, more than all the rest of the data loading."""

    def transform(self, inpt, params):
        return super().transform(inpt, {**params, "hue_factor": None})


class TensorTail:
    """The per-epoch part: uint8 array (H, W) -> normalised float tensor (3, H, W)."""

    def __init__(self, cfg: RunConfig, train: bool):
        steps = [v2.Grayscale(num_output_channels=3)]
        if train and cfg.augment:
            steps.append(GrayColorJitter(*cfg.jitter))
        steps += [v2.ToDtype(torch.float32, scale=True), v2.Normalize(IMAGENET_MEAN, IMAGENET_STD)]
        self.pipeline = v2.Compose(steps)

    def __call__(self, pixels: np.ndarray) -> torch.Tensor:
        # np.array copies: cached rows are read-only memmap views, which torch must not wrap
        return self.pipeline(torch.from_numpy(np.array(pixels, dtype=np.uint8)).unsqueeze(0))


class Preprocess:
    def __init__(self, prefix: GrayPrefix, tail: TensorTail):
        self.prefix, self.tail = prefix, tail

    def __call__(self, img: Image.Image) -> torch.Tensor:
        return self.tail(self.prefix(img))


def prefix_transform(cfg: RunConfig) -> GrayPrefix:
    return GrayPrefix(cfg.resize_size, cfg.img_size, cfg.resize_mode)


def tail_transform(cfg: RunConfig, train: bool) -> TensorTail:
    return TensorTail(cfg, train)


def build_transforms(cfg: RunConfig, train: bool) -> Preprocess:
    """The homework's whole preprocessing: PIL image -> float tensor (3, crop, crop)."""
    return Preprocess(prefix_transform(cfg), tail_transform(cfg, train))


# ----------------------------------------------------------------------------------------------------
# datasets


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
        self._pixels = None

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, i: int):
        if self._pixels is None:  # opened lazily, so every worker maps the file itself
            self._pixels = np.load(self.path, mmap_mode="r")
        return self.tail(self._pixels[self.rows[i]]), int(self.labels[i])

    def __getstate__(self):  # a worker gets the file name, never a copy of the pixels
        return {**self.__dict__, "_pixels": None}


def make_dataset(split: Split, cfg: RunConfig, train: bool) -> Dataset:
    """(float tensor (3, crop, crop), int label) per image; through the decode cache when it is on."""
    if not cfg.decode_cache:
        return DecodingDataset(split, cfg, train)
    if split.decoded is None or not split.decoded.matches(cfg):
        cache, unreadable = ensure_decode_cache(split, cfg)
        if unreadable:
            bad = split.paths[unreadable[0]] if split.paths is not None else split.ids[unreadable[0]]
            raise UnreadableImage(bad, f"{len(unreadable)} unreadable image(s) in this split; "
                                  "load the data with load_splits, which leaves them out")
        split.decoded = Decoded(Path(cache.filename), np.arange(len(split)), cfg.resize_size, cfg.img_size,
                                cfg.resize_mode)
    return CachedDataset(split.decoded, split.labels, cfg, train)


def default_num_workers() -> int:
    n = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return 0 if n <= 1 else min(n, 8)


# ----------------------------------------------------------------------------------------------------
# one pass over every image: decode cache, readability check, content hashes


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


def _image_pass(split: Split, cfg: RunConfig, desc: str, prefix: GrayPrefix | None = None,
                content_hash: bool = False):
    """Yield _ImagePass items in any order, decoding files in parallel worker processes."""
    workers = cfg.num_workers if cfg.num_workers is not None else default_num_workers()
    if split.paths is None or len(split) < 64:
        workers = 0  # arrays (a resize each) or a handful of files: worker start-up costs more than it saves
    loader = DataLoader(_ImagePass(split, prefix, content_hash), batch_size=None, num_workers=workers,
                        collate_fn=_as_is, generator=torch.Generator())  # leaves the global RNG alone
    yield from tqdm(loader, total=len(split), desc=f"{desc} {split.name}", leave=False,
                    disable=not cfg.progress, unit="img")


def _cache_file(split: Split, cfg: RunConfig) -> Path:
    key = hashlib.sha1(f"{split.fingerprint()}|{cfg.resize_size}|{cfg.img_size}|{cfg.resize_mode}|{CACHE_VERSION}"
                       .encode())
    return default_cache_dir(cfg) / "decode" / f"{split.name}-{cfg.img_size}px-{key.hexdigest()[:20]}.npy"


def ensure_decode_cache(split: Split, cfg: RunConfig) -> tuple[np.ndarray, list[int]]:
    """The split's prefix-transformed pixels as a read-only uint8 memmap (N, crop, crop), built once; and
    the rows whose images could not be decoded (left zero). Keyed by the split's fingerprint and the sizes,
    so a changed file gives a new cache."""
    path = _cache_file(split, cfg)
    meta = path.with_suffix(".json")
    if path.exists() and meta.exists():
        try:
            return np.load(path, mmap_mode="r"), json.loads(meta.read_text(encoding="utf-8"))["unreadable"]
        except (OSError, ValueError, KeyError):
            pass  # damaged by hand or a full disk: build it again
    return _build_decode_cache(split, cfg, path, meta)


def _build_decode_cache(split: Split, cfg: RunConfig, path: Path, meta: Path) -> tuple[np.ndarray, list[int]]:
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
            for i, pixels, _, error in _image_pass(split, cfg, "decode cache", prefix=prefix_transform(cfg)):
                if error is None:
                    out[i] = pixels
                else:
                    unreadable.append(int(i))
            out.flush()
            del out
            atomic.write_json(meta, {"n": len(split), "unreadable": sorted(unreadable)})  # before the .npy
    except OSError as e:
        raise DataError(f"cannot write the decode cache {path}: {e}", fix) from None
    return np.load(path, mmap_mode="r"), sorted(unreadable)


def _unreadable_rows(split: Split, cfg: RunConfig) -> list[int]:
    """Rows that cannot be decoded, found by the same decoding the cache uses; with the cache on, the
    split is also bound to its cache here."""
    if cfg.decode_cache:
        cache, bad = ensure_decode_cache(split, cfg)
        split.decoded = Decoded(Path(cache.filename), np.arange(len(split)), cfg.resize_size, cfg.img_size,
                                cfg.resize_mode)
        return bad
    if split.paths is None:
        return []  # arrays always decode
    return sorted(int(i) for i, _, _, error in _image_pass(split, cfg, "checking") if error is not None)


# ----------------------------------------------------------------------------------------------------
# load_splits


def load_splits(cfg: RunConfig) -> Splits:
    """train/val/test of the configured source. Unreadable images and stray files are left out with one
    warning (listed in ``Splits.skipped``); with ``cfg.strict`` an unreadable image is an error."""
    raw, source, stray = _source(cfg)
    units, how = _units(raw, cfg)
    skipped = list(stray)
    for name, split in list(units.items()):
        bad = _unreadable_rows(split, cfg)
        if bad and cfg.strict:
            open_image(split.paths[bad[0]])  # raises UnreadableImage naming the file and the reason
            raise UnreadableImage(split.paths[bad[0]], f"one of {len(bad)} unreadable image(s) in {name}")
        if bad:
            skipped += [str(split.paths[i]) for i in bad]
            units[name] = split.subset(np.setdiff1d(np.arange(len(split)), bad))
    if skipped:
        shown = ", ".join(skipped[:20]) + (f" ... and {len(skipped) - 20} more" if len(skipped) > 20 else "")
        warnings.warn(f"skipped {len(skipped)} unreadable or stray file(s): {shown}", stacklevel=2)
    train, val, test = _arrange(units, cfg)
    return Splits(train, val, test, source=f"{source} ({how})", skipped=skipped)


def _source(cfg: RunConfig) -> tuple[dict[str, Split], str, list[str]]:
    """The source's own splits by name, its description, and stray files found."""
    if cfg.dataset == "folder":
        root = folder_root(cfg)
        raw, stray = list_folder(root)
        return raw, f"chest X-ray folder {root}", stray
    if cfg.dataset == "pneumoniamnist":
        return _mnist_raw(cfg) + ([],)
    if cfg.dataset == "synthetic":
        return _synthetic_raw(cfg) + ([],)
    raise DataError(f"unknown dataset {cfg.dataset!r}", "use folder, pneumoniamnist or synthetic")


def _units(raw: dict[str, Split], cfg: RunConfig) -> tuple[dict[str, Split], str]:
    """The splits that are decoded (and cached) as wholes, before any carving, and how val is made:
    the data's own val, or a patient-grouped part of train (+ the folder's val, pooled)."""
    if cfg.dataset == "pneumoniamnist":  # no patient ids: the official split is the only sound one
        return raw, "official train/val/test splits"
    if cfg.val_split == "given" and cfg.dataset == "folder":
        if "val" not in raw:
            raise DataError("--val-split given needs a val/ folder beside train/ and test/",
                            "add one, or use --val-split patient to carve validation out of train")
        return raw, "the folder's own val split"
    pooled = "train+val" if "val" in raw else "train"
    train = _concat(raw["train"], raw["val"]) if "val" in raw else raw["train"]
    return {"train": train, "test": raw["test"]}, f"val: {cfg.val_fraction:.0%} of {pooled}, by patient"


def _arrange(units: dict[str, Split], cfg: RunConfig) -> tuple[Split, Split, Split]:
    """train, val, test as used: carves val out of train by patient unless the units have one."""
    for name in ("train", "test"):
        _check_classes(units[name])
    if "val" in units:
        _check_classes(units["val"], need_both=False)
        return units["train"], units["val"], units["test"]
    train, val = _patient_val_split(units["train"], cfg)
    return train, val, units["test"]


def _check_classes(split: Split, need_both: bool = True) -> None:
    if len(split) == 0:
        raise DataError(f"the {split.name} split has no (readable) images", f"see {DATA_README}")
    counts = np.bincount(split.labels, minlength=2)
    if need_both and (counts == 0).any():
        missing = CLASS_NAMES[int(np.argmin(counts))]
        raise DataError(f"the {split.name} split has no {missing} images (single-class data)",
                        f"both classes are needed: add {missing} images to {split.name}")


def _patient_val_split(pool: Split, cfg: RunConfig) -> tuple[Split, Split]:
    """Carve a stratified validation split out of ``pool`` so that no patient is in both parts."""
    from sklearn.model_selection import StratifiedGroupKFold

    n_splits = min(int(round(1 / cfg.val_fraction)), len(set(pool.patients)))
    if n_splits < 2:
        raise DataError(f"too few patients ({len(set(pool.patients))}) to carve out a validation split",
                        "add images, or use --val-split given with a val/ folder")
    folds = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=DATA_SEED)
    with warnings.catch_warnings():  # tiny sets: sklearn warns that a class has fewer members than folds
        warnings.filterwarnings("ignore", message="The least populated class", category=UserWarning)
        train_idx, val_idx = next(folds.split(np.zeros(len(pool)), pool.labels, np.asarray(pool.patients)))
    train, val = pool.subset(np.sort(train_idx)).renamed("train"), pool.subset(np.sort(val_idx)).renamed("val")
    assert not set(train.patients) & set(val.patients)  # the point of grouping
    return train, val


def _concat(a: Split, b: Split) -> Split:
    return Split(a.name, a.ids + b.ids, np.concatenate([a.labels, b.labels]), a.patients + b.patients,
                 paths=None if a.paths is None else a.paths + b.paths,
                 images=None if a.images is None else np.concatenate([a.images, b.images]))


# ----------------------------------------------------------------------------------------------------
# source: Kaggle folder


def _child_dir(parent: Path, name: str) -> Path | None:
    """The sub-folder called ``name``, in any letter case (an exact match wins)."""
    matches = sorted(c for c in parent.iterdir() if c.is_dir() and c.name.lower() == name.lower())
    exact = [c for c in matches if c.name == name]
    return (exact or matches or [None])[0]


def _has_splits(folder: Path) -> bool:
    return _child_dir(folder, "train") is not None and _child_dir(folder, "test") is not None


def folder_root(cfg: RunConfig) -> Path:
    """The folder holding train/ and test/. Accepts the folder above it too (kagglehub's download
    folder, or an unzip that adds a level such as chest_xray/)."""
    root = Path(cfg.data_dir).expanduser() if cfg.data_dir else default_project_dir() / "data" / "chest_xray"
    if not root.is_dir():
        raise DataError(f"data folder not found: {root}",
                        f"download the Kaggle chest X-ray data as {DATA_README} explains and pass --data-dir "
                        "ROOT (ROOT/{train,test}/{NORMAL,PNEUMONIA}), or try `make demo` (offline, synthetic)")
    if _has_splits(root):
        return root
    for child in sorted(c for c in root.iterdir() if c.is_dir() and c.name.lower() not in _JUNK_DIRS):
        if _has_splits(child):
            return child
    return root  # list_folder explains what is missing


def list_folder(root: Path) -> tuple[dict[str, Split], list[str]]:
    """Every split folder present under root as a Split (no decoding: fast), and the stray files found
    (not images, empty, hidden, or in folders that are not classes)."""
    found, stray = {}, []
    for split_name in SPLIT_NAMES:
        split_dir = _child_dir(root, split_name)
        if split_dir is None:
            continue
        ids, labels, paths = [], [], []
        class_dirs = []
        for label, cls in enumerate(CLASS_NAMES):
            cls_dir = _child_dir(split_dir, cls)
            if cls_dir is None:
                have = sorted(c.name + "/" for c in split_dir.iterdir() if c.is_dir()) or ["no folders"]
                raise DataError(f"{split_dir}: class folder {cls}/ is missing (found: {', '.join(have)})",
                                f"name the class folders {' and '.join(CLASS_NAMES)} (one folder per class; "
                                "letter case does not matter)")
            class_dirs.append(cls_dir)
            n_images = 0
            for p in sorted(cls_dir.rglob("*")):
                if not p.is_file():
                    continue
                rel = p.relative_to(cls_dir).parts
                hidden = any(part.startswith(".") or part.lower() in _JUNK_DIRS for part in rel)
                if hidden or p.suffix.lower() not in IMAGE_EXTENSIONS or p.stat().st_size == 0:
                    stray.append(str(p))  # .DS_Store, ._IM-0001.jpeg (macOS), Thumbs.db, notes.txt, empty
                    continue
                ids.append(p.relative_to(root).as_posix())
                labels.append(label)
                paths.append(p)
                n_images += 1
            if n_images == 0:
                raise DataError(f"{cls_dir} holds no images",
                                f"put the {cls} images of the {split_name} split there (see {DATA_README})")
        stray += [str(c) + "/" for c in sorted(split_dir.iterdir())
                  if c.is_dir() and c not in class_dirs and not c.name.startswith(".")]
        found[split_name] = Split(split_name, ids, np.asarray(labels, dtype=np.int64),
                                  [patient_id(i) for i in ids], paths=paths)
    for required in ("train", "test"):
        if required not in found:
            have = sorted(c.name + "/" for c in root.iterdir() if c.is_dir()) or ["no folders"]
            raise DataError(f"{root}: split folder {required}/ is missing (found: {', '.join(have)})",
                            "the Kaggle layout is ROOT/{train,val,test}/{NORMAL,PNEUMONIA}; train and test are "
                            f"required, val is optional (see {DATA_README})")
    return found, stray


# ----------------------------------------------------------------------------------------------------
# source: PneumoniaMNIST


def _mnist_name(size: int) -> str:
    return "pneumoniamnist.npz" if size == 28 else f"pneumoniamnist_{size}.npz"


def _mnist_file(cfg: RunConfig) -> Path:
    given = Path(cfg.data_dir).expanduser() if cfg.data_dir else None
    if given is not None and given.is_file():
        return given
    folder = given if given is not None else default_project_dir() / "data"
    if given is not None and not folder.is_dir():
        raise DataError(f"PneumoniaMNIST location not found: {folder}",
                        "pass --data-dir with an npz file or the folder holding it")
    present = [s for s in MNIST_SIZES if (folder / _mnist_name(s)).is_file()]
    size = cfg.mnist_size or (max(present) if present else 224)
    if (folder / _mnist_name(size)).is_file():
        return folder / _mnist_name(size)
    if given is not None:
        raise DataError(f"{folder} holds no {_mnist_name(size)} (found: "
                        f"{', '.join(_mnist_name(s) for s in present) or 'no PneumoniaMNIST npz'})",
                        "pass --mnist-size with a size that is there, or --data-dir with the npz file itself")
    return _download_mnist(folder, size)


def _download_mnist(folder: Path, size: int) -> Path:
    """The official file from Zenodo through the medmnist package, into a temporary folder first so an
    interrupted download never leaves a broken npz behind."""
    target = folder / _mnist_name(size)
    url = "https://zenodo.org/records/10519652"
    try:
        import medmnist

        url = medmnist.INFO["pneumoniamnist"]["url" + ("" if size == 28 else f"_{size}")]
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=folder, prefix=".download-") as tmp:
            medmnist.PneumoniaMNIST(split="test", download=True, size=size, root=tmp)
            os.replace(Path(tmp) / target.name, target)
    except Exception as e:  # offline, firewalled, Zenodo down, read-only folder
        reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise DataError(f"PneumoniaMNIST ({target.name}) is not in {folder} and could not be downloaded: {reason}",
                        f"download {url} into {folder} ({DATA_README} explains), or pass --data-dir with the "
                        "npz, or run `make demo` (offline, synthetic)") from None
    return target


def _mnist_array(npz, path: Path, key: str) -> np.ndarray:
    if key not in npz.files:
        raise DataError(f"{path} has no '{key}' array (has: {', '.join(npz.files) or 'nothing'})",
                        "use the official PneumoniaMNIST npz (keys train/val/test_images and _labels)")
    try:
        return npz[key]
    except Exception as e:  # a damaged zip member, or pickled objects
        raise DataError(f"{path}: cannot read '{key}': {type(e).__name__}: {e}", "download the file again") from None


def _mnist_raw(cfg: RunConfig) -> tuple[dict[str, Split], str]:
    path = _mnist_file(cfg)
    try:
        npz = np.load(path)
    except Exception as e:
        raise DataError(f"cannot read {path} as an npz file: {type(e).__name__}: {e}",
                        f"download the file again (see {DATA_README})") from None
    if not isinstance(npz, np.lib.npyio.NpzFile):
        raise DataError(f"{path} is a single array, not an npz archive of arrays",
                        "use the official PneumoniaMNIST npz (keys train/val/test_images and _labels)")
    with npz:
        return _mnist_splits_of(npz, path)


def _rgb_to_gray(images: np.ndarray) -> np.ndarray:
    """(N, H, W, 3) -> (N, H, W) with Pillow's luma weights, in chunks (a float copy of 224 px sets is GBs)."""
    out = np.empty(images.shape[:3], dtype=np.uint8)
    for s in range(0, len(images), 256):
        out[s:s + 256] = np.clip((images[s:s + 256] @ np.array([0.299, 0.587, 0.114])).round(), 0, 255)
    return out


def _mnist_splits_of(npz, path: Path) -> tuple[dict[str, Split], str]:
    raw = {}
    for name in SPLIT_NAMES:
        images = _mnist_array(npz, path, f"{name}_images")
        labels = _mnist_array(npz, path, f"{name}_labels")
        if images.ndim == 4 and images.shape[-1] in (1, 3):
            images = images[..., 0] if images.shape[-1] == 1 else _rgb_to_gray(images)
        if images.ndim != 3 or images.dtype != np.uint8 or images.shape[1] != images.shape[2]:
            raise DataError(f"{path}: '{name}_images' has shape {images.shape} and dtype {images.dtype}",
                            "expected square uint8 images of shape (N, H, W) (or (N, H, W, 1|3))")
        if labels.ndim > 2 or (labels.ndim == 2 and labels.shape[1] != 1):
            raise DataError(f"{path}: '{name}_labels' has shape {labels.shape}", "expected (N,) or (N, 1)")
        labels = labels.reshape(-1)
        if len(labels) != len(images):
            raise DataError(f"{path}: '{name}_images' holds {len(images)} {name} images but '{name}_labels' "
                            f"{len(labels)} labels", "use the official PneumoniaMNIST npz")
        if not np.isin(labels, (0, 1)).all():
            others = sorted(set(labels.tolist()) - {0, 1})[:5]
            raise DataError(f"{path}: '{name}_labels' holds values other than 0 and 1 ({others})",
                            "labels must be 0 NORMAL, 1 PNEUMONIA")
        ids = [f"{name}/{i:05d}" for i in range(len(images))]
        raw[name] = Split(name, ids, labels.astype(np.int64), ids, images=np.ascontiguousarray(images))
    size = raw["train"].images.shape[1]
    return raw, f"PneumoniaMNIST {size}x{size} px from {path}"


# ----------------------------------------------------------------------------------------------------
# source: synthetic phantoms


def synthetic_phantom(rng: np.random.Generator, size: int, pneumonia: bool) -> np.ndarray:
    """A chest-radiograph-like phantom: body, two dark lung fields, ribs, spine, heart; pneumonia adds
    patchy bright opacities inside a lung. Not a real X-ray; for tests and the offline demo."""
    yy, xx = np.mgrid[0:size, 0:size] / size
    img = np.full((size, size), 0.06)
    body = ((xx - 0.5) / rng.uniform(0.40, 0.46)) ** 2 + ((yy - 0.56) / 0.5) ** 2 < 1
    img[body] = rng.uniform(0.5, 0.6)
    lungs = np.zeros_like(body)
    centres = []
    for side in (-1, 1):
        cx, cy = 0.5 + side * rng.uniform(0.15, 0.19), rng.uniform(0.46, 0.52)
        rx, ry = rng.uniform(0.11, 0.14), rng.uniform(0.26, 0.31)
        lungs |= ((xx - cx) / rx) ** 2 + ((yy - cy) / ry) ** 2 < 1
        centres.append((cx, cy, rx, ry))
    img[lungs] = rng.uniform(0.16, 0.26)
    ribs = (np.sin(yy * np.pi * rng.uniform(12, 16) + np.abs(xx - 0.5) * 6) > 0.8) & body
    img[ribs] += 0.1
    img[(np.abs(xx - 0.5) < 0.035) & body] = 0.78  # spine
    heart = ((xx - 0.55) / 0.11) ** 2 + ((yy - 0.64) / 0.1) ** 2 < 1
    img[heart] = np.maximum(img[heart], 0.62)
    if pneumonia:
        for _ in range(rng.integers(2, 5)):
            cx, cy, rx, ry = centres[rng.integers(0, 2)]
            bx, by = cx + rng.uniform(-0.6, 0.6) * rx, cy + rng.uniform(-0.5, 0.6) * ry
            sigma = rng.uniform(0.05, 0.10)
            img += rng.uniform(0.3, 0.45) * np.exp(-((xx - bx) ** 2 + (yy - by) ** 2) / (2 * sigma**2)) * lungs
    img += rng.normal(0, 0.03, img.shape)
    return (np.clip(img, 0, 1) * 255).round().astype(np.uint8)


def _synthetic_split(name: str, n: int, seed: int) -> Split:
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.arange(n) < round(0.65 * n)).astype(np.int64)  # the real data's share, about
    images = np.stack([synthetic_phantom(rng, SYNTHETIC_SIZE, bool(y)) for y in labels])
    ids = [f"{name}/synthetic-{i:05d}" for i in range(n)]
    patients = [f"{name}-patient{i // 2:05d}" for i in range(n)]  # two images per phantom patient
    return Split(name, ids, labels, patients, images=images)


def _synthetic_raw(cfg: RunConfig) -> tuple[dict[str, Split], str]:
    raw = {"train": _synthetic_split("train", cfg.synthetic_train, DATA_SEED),
           "test": _synthetic_split("test", cfg.synthetic_test, DATA_SEED + 1)}
    return raw, f"synthetic phantoms (not real X-rays), {SYNTHETIC_SIZE}x{SYNTHETIC_SIZE} px"


# ----------------------------------------------------------------------------------------------------
# data check


@dataclass
class DataReport:
    source: str
    counts: dict[str, dict[str, int]] = field(default_factory=dict)  # split -> class -> images
    patients: dict[str, int] = field(default_factory=dict)  # split -> distinct patients
    unreadable: list[str] = field(default_factory=list)
    stray: list[str] = field(default_factory=list)
    duplicates: list[list[str]] = field(default_factory=list)  # groups of ids with identical content
    shared_patients: dict[str, list[str]] = field(default_factory=dict)  # "train/test" -> patient ids
    problems: list[tuple[str, str]] = field(default_factory=list)  # (error | warning, text)

    @property
    def ok(self) -> bool:
        """False when something would corrupt results (leakage into test, unusable data)."""
        return not any(severity == "error" for severity, _ in self.problems)

    def render(self) -> str:
        lines = [f"data: {self.source}", ""]
        if self.counts:
            lines.append(f"{'split':<14}{'NORMAL':>8}{'PNEUMONIA':>11}{'total':>8}{'patients':>10}")
            for name, c in self.counts.items():
                n, p = c.get("NORMAL", 0), c.get("PNEUMONIA", 0)
                lines.append(f"{name:<14}{n:>8}{p:>11}{n + p:>8}{self.patients.get(name, 0):>10}")
            lines.append("")
        lines += [f"{severity.upper()}: {text}" for severity, text in self.problems] or ["no problems found"]
        lines += ["", "result: " + ("OK" if self.ok else "problems that would corrupt results were found")]
        return "\n".join(lines)


def _listing(items: list[str], n: int = 10, sep: str = ", ") -> str:
    return sep.join(items[:n]) + (f" ... and {len(items) - n} more" if len(items) > n else "")


def _class_counts(split: Split) -> dict[str, int]:
    return dict(zip(CLASS_NAMES, np.bincount(split.labels, minlength=2).tolist()))


def data_check(cfg: RunConfig) -> DataReport:
    """Every problem in one pass: counts, unreadable and stray files, exact duplicates within and across
    splits, patients shared across splits. Reads (and, for files, decodes) every image once."""
    report = DataReport(source=cfg.data_dir or cfg.dataset)
    try:
        raw, report.source, report.stray = _source(cfg)
    except DataError as e:
        report.problems.append(("error", str(e)))
        return report

    if report.stray:
        report.problems.append(("warning", f"{len(report.stray)} stray file(s) (not images, empty or hidden; "
                                           f"skipped): {_listing(report.stray)}"))
    by_hash: dict[str, list[str]] = defaultdict(list)
    readable = {}
    for name, split in raw.items():
        report.counts[name] = _class_counts(split)
        report.patients[name] = len(set(split.patients))
        bad = []
        for i, _, digest, error in _image_pass(split, cfg, "checking", content_hash=True):
            if digest is not None:
                by_hash[digest].append(split.ids[i])
            if error is not None:
                bad.append(int(i))
        report.unreadable += [str(split.paths[i]) for i in sorted(bad)]
        readable[name] = split.subset(np.setdiff1d(np.arange(len(split)), bad)) if bad else split
    if report.unreadable:
        report.problems.append(("error" if cfg.strict else "warning",
                                f"{len(report.unreadable)} unreadable image(s) (skipped in training"
                                f"{'; --strict makes them errors' if cfg.strict else ''}): "
                                f"{_listing(report.unreadable)}"))

    try:  # the splits as training uses them (val carved by patient), for leakage between them
        units, how = _units(readable, cfg)
        used = _arrange(units, cfg)
        report.source += f" ({how})"
    except DataError as e:
        report.problems.append(("error", str(e)))
        return report
    if cfg.dataset != "pneumoniamnist" and (cfg.val_split == "patient" or cfg.dataset == "synthetic"):
        for split in used[:2]:
            report.counts[f"{split.name} (used)"] = _class_counts(split)
            report.patients[f"{split.name} (used)"] = len(set(split.patients))
    _leakage(report, used, by_hash, cfg)
    return report


def _leakage(report: DataReport, used: tuple[Split, Split, Split], by_hash: dict[str, list[str]],
             cfg: RunConfig) -> None:
    split_of = {i: s.name for s in used for i in s.ids}
    into_test, train_val, within = [], [], []
    for ids in by_hash.values():
        if len(ids) < 2:
            continue
        group = sorted(ids)
        report.duplicates.append(group)
        where = {split_of[i] for i in group if i in split_of}
        (into_test if "test" in where and len(where) > 1 else train_val if len(where) > 1 else within).append(group)
    groups = [", ".join(g) for g in into_test]
    if into_test:
        report.problems.append(("error", f"{len(into_test)} group(s) of identical images in test and another "
                                         f"split (leakage into the test set): {'; '.join(groups)}"))
    if train_val:
        groups = [", ".join(g) for g in train_val]
        report.problems.append(("warning", f"{len(train_val)} group(s) of identical images in train and val "
                                           "(flatters validation, which only selects the epoch and threshold): "
                                           f"{_listing(groups, 10, '; ')}"))
    if within:
        groups = [", ".join(g) for g in within]
        report.problems.append(("warning", f"{len(within)} group(s) of identical images within one split "
                                           f"(they count twice): {_listing(groups, 5, '; ')}"))
    train, val, test = used
    carved = cfg.dataset == "synthetic" or (cfg.dataset == "folder" and cfg.val_split == "patient")
    for a, b in ((train, val), (train, test), (val, test)):
        shared = sorted(set(a.patients) & set(b.patients))
        if carved and (a.name, b.name) == ("train", "val"):
            assert not shared, "the patient split put a patient in both train and val"
        if shared:
            report.shared_patients[f"{a.name}/{b.name}"] = shared
            report.problems.append(("warning", f"{len(shared)} patient id(s) appear in both {a.name} and {b.name} "
                                               f"(e.g. {', '.join(shared[:5])}); Kaggle's personNNN numbering may "
                                               "be per split, so this need not be the same person"))
