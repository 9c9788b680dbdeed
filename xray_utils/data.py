"""Data: three sources (Kaggle folder, PneumoniaMNIST npz, synthetic phantoms), the patient-level
validation split, the homework's transforms and the decode cache.

Preprocessing is cut in two. The deterministic prefix (to 8-bit grayscale, Resize bicubic, CenterCrop) is
the expensive part on full-size X-rays, so its uint8 output is what the decode cache stores, once. The
per-epoch tail (3 channels, ColorJitter on train, float, ImageNet Normalize) runs on those pixels every
epoch. The uncached path runs the very same two steps, so both give equal tensors.
"""

from __future__ import annotations

import hashlib
import os
import re
import warnings
from collections import Counter, defaultdict
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

IMAGE_EXTENSIONS = {".jpeg", ".jpg", ".png", ".bmp", ".tif", ".tiff", ".gif", ".webp", ".pgm"}
IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
DATA_SEED = 2018  # fixed, unlike cfg.seed: every run of a report sees the same validation split and phantoms
CACHE_VERSION = 1
SPLIT_NAMES = ("train", "val", "test")
DATA_README = "data/README.md"


# ----------------------------------------------------------------------------------------------------
# splits


@dataclass
class Split:
    name: str
    ids: list[str]
    labels: np.ndarray
    patients: list[str]
    paths: list[Path] | None = None  # folder sources
    images: np.ndarray | None = None  # array sources: uint8 (N, H, W)
    cached: tuple[np.ndarray, np.ndarray] | None = field(default=None, repr=False)  # (cache, rows)

    def __len__(self) -> int:
        return len(self.ids)

    def load(self, i: int) -> Image.Image:
        """Image i as 8-bit grayscale at its original size."""
        if self.paths is not None:
            return open_image(self.paths[i])
        return Image.fromarray(self.images[i], mode="L")

    def fingerprint(self) -> str:
        h = hashlib.sha1(self.name.encode())
        if self.paths is not None:
            for p in self.paths:
                st = p.stat()
                h.update(f"{p}|{st.st_size}|{st.st_mtime_ns}\n".encode())
        else:
            h.update(np.ascontiguousarray(self.images).tobytes())
        h.update(self.labels.astype(np.int64).tobytes())
        return h.hexdigest()

    def subset(self, idx) -> "Split":
        idx = np.asarray(idx, dtype=np.int64)
        return replace(
            self,
            ids=[self.ids[i] for i in idx],
            labels=self.labels[idx],
            patients=[self.patients[i] for i in idx],
            paths=None if self.paths is None else [self.paths[i] for i in idx],
            images=None if self.images is None else self.images[idx],
            cached=None if self.cached is None else (self.cached[0], self.cached[1][idx]),
        )


@dataclass
class Splits:
    train: Split
    val: Split
    test: Split
    source: str
    skipped: list[str] = field(default_factory=list)

    def __iter__(self):
        return iter((self.train, self.val, self.test))


def patient_id(filename: str) -> str:
    """Patient of a Kaggle file name: person123_bacteria_456 -> person123, NORMAL2-IM-0427-0001 -> NORMAL2-IM-0427."""
    stem = Path(filename).stem
    m = re.match(r"^(person\d+)_", stem, re.IGNORECASE)
    if m:
        return m.group(1)
    m = re.match(r"^((?:NORMAL\d*-)?IM-\d+)-", stem, re.IGNORECASE)
    if m:
        return m.group(1)
    return stem


# ----------------------------------------------------------------------------------------------------
# images


class UnreadableImage(Exception):
    pass


def open_image(path: Path) -> Image.Image:
    """Decode an image file to 8-bit grayscale, converting 16-bit, RGBA, palette and CMYK images."""
    try:
        with Image.open(path) as img:
            img.load()
            return to_gray(img)
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as e:
        raise UnreadableImage(f"{path}: {e}") from None


def to_gray(img: Image.Image) -> Image.Image:
    if img.mode in ("I;16", "I;16B", "I;16L", "I", "F"):  # 12/16-bit radiographs: scale by the maximum
        a = np.asarray(img, dtype=np.float64)
        top = a.max() if a.max() > 0 else 1.0
        return Image.fromarray((a / top * 255).round().astype(np.uint8), mode="L")
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        black = Image.new("RGBA", rgba.size, (0, 0, 0, 255))
        return Image.alpha_composite(black, rgba).convert("L")
    if img.mode == "CMYK":
        img = img.convert("RGB")
    return img.convert("L")


def prefix_transform(cfg: RunConfig):
    """The deterministic, cacheable part: PIL "L" -> uint8 array (crop, crop)."""
    resize = v2.Resize(cfg.resize_size, interpolation=v2.InterpolationMode.BICUBIC, antialias=True)
    crop = v2.CenterCrop(cfg.img_size)
    return lambda img: np.asarray(crop(resize(img)), dtype=np.uint8)


def tail_transform(cfg: RunConfig, train: bool):
    """The per-epoch part: uint8 array (H, W) -> normalised float tensor (3, H, W)."""
    steps = [v2.Grayscale(num_output_channels=3)]
    if train and cfg.augment:
        steps.append(v2.ColorJitter(*cfg.jitter))
    steps += [v2.ToDtype(torch.float32, scale=True), v2.Normalize(IMAGENET_MEAN, IMAGENET_STD)]
    pipeline = v2.Compose(steps)
    # np.array copies: cached rows are read-only memmap views, which torch must not wrap
    return lambda a: pipeline(torch.from_numpy(np.array(a, dtype=np.uint8)).unsqueeze(0))


def build_transforms(cfg: RunConfig, train: bool):
    """The homework's whole preprocessing: PIL image -> float tensor (3, crop, crop)."""
    prefix, tail = prefix_transform(cfg), tail_transform(cfg, train)
    return lambda img: tail(prefix(to_gray(img)))


class DecodingDataset(Dataset):
    def __init__(self, split: Split, cfg: RunConfig, train: bool):
        self.split, self.prefix, self.tail = split, prefix_transform(cfg), tail_transform(cfg, train)

    def __len__(self) -> int:
        return len(self.split)

    def __getitem__(self, i: int):
        return self.tail(self.prefix(self.split.load(i))), int(self.split.labels[i])


class CachedDataset(Dataset):
    def __init__(self, split: Split, cfg: RunConfig, train: bool):
        self.cache, self.rows = split.cached
        self.labels, self.tail = split.labels, tail_transform(cfg, train)

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, i: int):
        return self.tail(self.cache[self.rows[i]]), int(self.labels[i])


def make_dataset(split: Split, cfg: RunConfig, train: bool) -> Dataset:
    if cfg.decode_cache:
        if split.cached is None:
            cache, _ = ensure_decode_cache(split, cfg)
            split.cached = (cache, np.arange(len(split)))
        return CachedDataset(split, cfg, train)
    return DecodingDataset(split, cfg, train)


def default_num_workers() -> int:
    n = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return 0 if n <= 1 else min(n, 8)


# ----------------------------------------------------------------------------------------------------
# decode cache


class _Prefixed(Dataset):
    """Decode + prefix one image; None where the file cannot be read (collected, not fatal)."""

    def __init__(self, split: Split, cfg: RunConfig):
        self.split, self.prefix = split, prefix_transform(cfg)

    def __len__(self) -> int:
        return len(self.split)

    def __getitem__(self, i: int):
        try:
            return i, self.prefix(self.split.load(i)), None
        except UnreadableImage as e:
            return i, None, str(e)


def _as_is(item):
    return item


def ensure_decode_cache(split: Split, cfg: RunConfig) -> tuple[np.ndarray, list[int]]:
    """The split's prefix-transformed pixels as a uint8 memmap (N, crop, crop), built once; and the rows
    whose files could not be decoded. Keyed by the files (path, size, mtime) and the sizes."""
    key = hashlib.sha1(f"{split.fingerprint()}|{cfg.resize_size}|{cfg.img_size}|{CACHE_VERSION}".encode())
    path = default_cache_dir(cfg) / "decode" / f"{split.name}-{key.hexdigest()[:20]}.npy"
    meta = path.with_suffix(".json")
    if path.exists() and meta.exists():
        import json

        return np.load(path, mmap_mode="r"), json.loads(meta.read_text())["unreadable"]
    return _build_decode_cache(split, cfg, path, meta)


def _build_decode_cache(split: Split, cfg: RunConfig, path: Path, meta: Path) -> tuple[np.ndarray, list[int]]:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise DataError(f"cannot create the cache folder {path.parent}: {e}", "set --cache-dir to a writable folder") from None
    workers = cfg.num_workers if cfg.num_workers is not None else default_num_workers()
    if split.paths is None:
        workers = 0  # arrays: decoding is a resize; worker start-up would cost more than it saves
    loader = DataLoader(_Prefixed(split, cfg), batch_size=None, num_workers=workers, collate_fn=_as_is,
                        generator=torch.Generator())  # leaves the global RNG alone
    unreadable: list[int] = []
    with atomic.atomic_path(path, suffix=".npy") as tmp:
        out = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.uint8, shape=(len(split), cfg.img_size, cfg.img_size))
        bar = tqdm(loader, total=len(split), desc=f"decode cache {split.name}", leave=False,
                   disable=not cfg.progress, unit="img")
        for i, pixels, error in bar:
            if pixels is None:
                unreadable.append(int(i))
            else:
                out[int(i)] = pixels
        out.flush()
        del out
    atomic.write_json(meta, {"unreadable": unreadable, "n": len(split)})
    return np.load(path, mmap_mode="r"), unreadable


# ----------------------------------------------------------------------------------------------------
# sources


def load_splits(cfg: RunConfig) -> Splits:
    """train/val/test of the configured source, unreadable images dropped (listed in Splits.skipped)."""
    loaders = {"folder": _folder_splits, "pneumoniamnist": _mnist_splits, "synthetic": _synthetic_splits}
    splits = loaders[cfg.dataset](cfg)
    kept, skipped = [], list(splits.skipped)
    for split in splits:
        if cfg.decode_cache:
            cache, bad = ensure_decode_cache(split, cfg)
            split.cached = (cache, np.arange(len(split)))
        else:
            bad = [i for i in range(len(split)) if split.paths is not None and not _readable(split.paths[i])]
        if bad and cfg.strict:
            raise DataError(f"unreadable image: {split.paths[bad[0]]}",
                            "remove or replace it, or drop --strict to skip unreadable images with a warning")
        skipped += [str(split.paths[i]) for i in bad]
        kept.append(split.subset([i for i in range(len(split)) if i not in set(bad)]) if bad else split)
    if len(skipped) > len(splits.skipped):
        warnings.warn(f"skipped {len(skipped)} unreadable or stray file(s): " + ", ".join(skipped), stacklevel=2)
    elif splits.skipped:
        warnings.warn(f"skipped {len(skipped)} stray file(s): " + ", ".join(skipped), stacklevel=2)
    out = Splits(*kept, source=splits.source, skipped=skipped)
    for split in out:
        _check_classes(split, splits.source)
    return out


def _readable(path: Path) -> bool:
    try:
        open_image(path)
        return True
    except UnreadableImage:
        return False


def _check_classes(split: Split, source: str) -> None:
    counts = np.bincount(split.labels, minlength=2)
    if len(split) == 0:
        raise DataError(f"{source}: the {split.name} split has no images", "check the data folder or npz")
    if split.name != "val" and (counts == 0).any():
        missing = CLASS_NAMES[int(np.argmin(counts))]
        raise DataError(f"{source}: the {split.name} split has no {missing} images (single-class data)",
                        f"both classes are needed: add {missing} images")


def _patient_val_split(pool: Split, cfg: RunConfig) -> tuple[Split, Split]:
    """Carve a stratified validation split out of ``pool`` so that no patient is in both parts."""
    from sklearn.model_selection import StratifiedGroupKFold

    groups = np.asarray(pool.patients)
    n_groups = len(set(pool.patients))
    n_splits = min(int(round(1 / cfg.val_fraction)), n_groups)
    if n_splits < 2:
        raise DataError("too few patients to carve out a validation split", "add images or use --val-split given")
    folds = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=DATA_SEED)
    with warnings.catch_warnings():  # tiny sets: sklearn warns that a class has fewer members than folds
        warnings.filterwarnings("ignore", message="The least populated class", category=UserWarning)
        train_idx, val_idx = next(folds.split(np.zeros(len(pool)), pool.labels, groups))
    train, val = pool.subset(np.sort(train_idx)), pool.subset(np.sort(val_idx))
    train.name, val.name = "train", "val"
    assert not set(train.patients) & set(val.patients)  # the point of grouping
    return train, val


def _concat(a: Split, b: Split, name: str) -> Split:
    return Split(name, a.ids + b.ids, np.concatenate([a.labels, b.labels]), a.patients + b.patients,
                 paths=None if a.paths is None else a.paths + b.paths,
                 images=None if a.images is None else np.concatenate([a.images, b.images]))


def _find_dir(parent: Path, name: str) -> Path | None:
    for child in parent.iterdir():
        if child.is_dir() and child.name.lower() == name.lower():
            return child
    return None


def list_folder(root: Path) -> tuple[dict[str, Split], list[str]]:
    """Every split folder present under root as a Split, and the stray files found (not images)."""
    if not root.is_dir():
        raise DataError(f"data folder not found: {root}",
                        f"pass --data-dir with the Kaggle layout ROOT/{{train,test}}/{{NORMAL,PNEUMONIA}} (see {DATA_README})")
    found, stray = {}, []
    for split_name in SPLIT_NAMES:
        split_dir = _find_dir(root, split_name)
        if split_dir is None:
            continue
        ids, labels, paths = [], [], []
        for label, cls in enumerate(CLASS_NAMES):
            cls_dir = _find_dir(split_dir, cls)
            if cls_dir is None:
                have = sorted(c.name for c in split_dir.iterdir() if c.is_dir()) or ["none"]
                raise DataError(f"{split_dir}: class folder {cls}/ is missing (found: {', '.join(have)})",
                                f"name the class folders {' and '.join(CLASS_NAMES)} (one folder per class)")
            files = sorted(p for p in cls_dir.rglob("*") if p.is_file())
            n_images = 0
            for p in files:
                if p.suffix.lower() not in IMAGE_EXTENSIONS or p.stat().st_size == 0:
                    stray.append(str(p))
                    continue
                ids.append(str(p.relative_to(root)))
                labels.append(label)
                paths.append(p)
                n_images += 1
            if n_images == 0:
                raise DataError(f"{cls_dir} holds no images", f"put the {cls} images of the {split_name} split there")
        found[split_name] = Split(split_name, ids, np.asarray(labels, dtype=np.int64),
                                  [patient_id(i) for i in ids], paths=paths)
    for required in ("train", "test"):
        if required not in found:
            have = sorted(c.name for c in root.iterdir() if c.is_dir()) or ["none"]
            raise DataError(f"{root}: split folder {required}/ is missing (found: {', '.join(have)})",
                            f"the Kaggle layout is ROOT/{{train,val,test}}/{{NORMAL,PNEUMONIA}}; train and test are required")
    return found, stray


def _folder_splits(cfg: RunConfig) -> Splits:
    root = Path(cfg.data_dir).expanduser() if cfg.data_dir else default_project_dir() / "data" / "chest_xray"
    found, stray = list_folder(root)
    if cfg.val_split == "given":
        if "val" not in found:
            raise DataError(f"{root}: --val-split given needs a val/ folder", "add one, or use --val-split patient")
        train, val = found["train"], found["val"]
    else:
        pool = _concat(found["train"], found["val"], "train") if "val" in found else found["train"]
        train, val = _patient_val_split(pool, cfg)
    how = "Kaggle val" if cfg.val_split == "given" else f"{cfg.val_fraction:.0%} patient-grouped validation from train"
    return Splits(train, val, found["test"], source=f"chest X-ray folder {root} ({how})", skipped=stray)


def _mnist_file(cfg: RunConfig) -> Path:
    def name(size: int) -> str:
        return "pneumoniamnist.npz" if size == 28 else f"pneumoniamnist_{size}.npz"

    if cfg.data_dir and Path(cfg.data_dir).expanduser().is_file():
        return Path(cfg.data_dir).expanduser()
    folder = Path(cfg.data_dir).expanduser() if cfg.data_dir else default_project_dir() / "data"
    if cfg.data_dir and not folder.is_dir():
        raise DataError(f"PneumoniaMNIST location not found: {folder}",
                        "pass --data-dir with an npz file or the folder holding it")
    present = [s for s in MNIST_SIZES if (folder / name(s)).exists()]
    size = cfg.mnist_size or (max(present) if present else 224)
    if (folder / name(size)).exists():
        return folder / name(size)
    if cfg.data_dir:
        raise DataError(f"{folder} holds no {name(size)} (found: {', '.join(name(s) for s in present) or 'none'})",
                        "pass --mnist-size with a size that is there, or --data-dir with the npz file itself")
    try:  # the medmnist package downloads the official file from Zenodo
        import medmnist

        folder.mkdir(parents=True, exist_ok=True)
        medmnist.PneumoniaMNIST(split="test", download=True, size=size, root=str(folder))
    except Exception as e:  # offline, firewalled, or Zenodo down
        raise DataError(f"PneumoniaMNIST ({name(size)}) is not in {folder} and could not be downloaded: {e}",
                        f"download it as {DATA_README} explains and pass --data-dir, or run `make demo` offline") from None
    return folder / name(size)


def _mnist_splits(cfg: RunConfig) -> Splits:
    path = _mnist_file(cfg)
    try:
        npz = np.load(path)
    except Exception as e:
        raise DataError(f"cannot read {path} as an npz file: {e}", "download the file again") from None
    splits = []
    for split_name in SPLIT_NAMES:
        for key in (f"{split_name}_images", f"{split_name}_labels"):
            if key not in npz.files:
                raise DataError(f"{path} has no '{key}' array (has: {', '.join(npz.files)})",
                                "use the official PneumoniaMNIST npz (keys train/val/test_images and _labels)")
        images, labels = npz[f"{split_name}_images"], npz[f"{split_name}_labels"]
        if images.ndim == 4 and images.shape[-1] in (1, 3):
            images = images[..., 0] if images.shape[-1] == 1 else images.mean(-1).round().astype(np.uint8)
        if images.ndim != 3 or images.dtype != np.uint8:
            raise DataError(f"{path}: '{split_name}_images' has shape {images.shape} and dtype {images.dtype}",
                            "expected uint8 images of shape (N, H, W)")
        labels = labels.reshape(-1)
        if len(labels) != len(images):
            raise DataError(f"{path}: {len(images)} {split_name} images but {len(labels)} labels", "use the official npz")
        if not np.isin(labels, (0, 1)).all():
            raise DataError(f"{path}: '{split_name}_labels' holds values other than 0 and 1 "
                            f"({sorted(set(labels.tolist()) - {0, 1})[:5]})", "labels must be 0 NORMAL, 1 PNEUMONIA")
        ids = [f"{split_name}/{i:05d}" for i in range(len(images))]
        splits.append(Split(split_name, ids, labels.astype(np.int64), ids, images=np.ascontiguousarray(images)))
    size = splits[0].images.shape[1]
    return Splits(*splits, source=f"PneumoniaMNIST {size}x{size} px ({path.name}, official splits)")


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
            sigma = rng.uniform(0.04, 0.07)
            img += rng.uniform(0.3, 0.45) * np.exp(-((xx - bx) ** 2 + (yy - by) ** 2) / (2 * sigma**2)) * lungs
    img += rng.normal(0, 0.03, img.shape)
    return (np.clip(img, 0, 1) * 255).round().astype(np.uint8)


SYNTHETIC_SIZE = 128


def _synthetic_split(name: str, n: int, seed: int) -> Split:
    rng = np.random.default_rng(seed)
    labels = (rng.random(n) < 0.65).astype(np.int64)  # about the real data's pneumonia share
    images = np.stack([synthetic_phantom(rng, SYNTHETIC_SIZE, bool(y)) for y in labels])
    ids = [f"{name}/synthetic-{i:05d}" for i in range(n)]
    patients = [f"{name}-patient{i // 2:05d}" for i in range(n)]  # two images per phantom patient
    return Split(name, ids, labels, patients, images=images)


def _synthetic_splits(cfg: RunConfig) -> Splits:
    pool = _synthetic_split("train", cfg.synthetic_train, DATA_SEED)
    train, val = _patient_val_split(pool, cfg)
    test = _synthetic_split("test", cfg.synthetic_test, DATA_SEED + 1)
    return Splits(train, val, test, source=f"synthetic phantoms (not real X-rays), {SYNTHETIC_SIZE}x{SYNTHETIC_SIZE} px")


# ----------------------------------------------------------------------------------------------------
# data check


@dataclass
class DataReport:
    source: str
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    patients: dict[str, int] = field(default_factory=dict)
    problems: list[tuple[str, str]] = field(default_factory=list)  # (error | warning, text)

    @property
    def ok(self) -> bool:
        return not any(sev == "error" for sev, _ in self.problems)

    def render(self) -> str:
        lines = [f"data: {self.source}", "", f"{'split':<8}{'NORMAL':>9}{'PNEUMONIA':>11}{'total':>8}{'patients':>10}"]
        for name, c in self.counts.items():
            n, p = c.get("NORMAL", 0), c.get("PNEUMONIA", 0)
            lines.append(f"{name:<8}{n:>9}{p:>11}{n + p:>8}{self.patients.get(name, 0):>10}")
        lines.append("")
        if not self.problems:
            lines.append("no problems found")
        for sev, text in self.problems:
            lines.append(f"{sev.upper()}: {text}")
        lines.append("")
        lines.append("result: " + ("OK" if self.ok else "problems that would corrupt results were found"))
        return "\n".join(lines)


def _content_key(split: Split, i: int) -> str:
    if split.paths is not None:
        return hashlib.sha1(split.paths[i].read_bytes()).hexdigest()
    return hashlib.sha1(split.images[i].tobytes()).hexdigest()


def data_check(cfg: RunConfig) -> DataReport:
    """Every problem in one pass: counts, unreadable and stray files, duplicates, shared patients."""
    try:
        if cfg.dataset == "folder":
            root = Path(cfg.data_dir).expanduser() if cfg.data_dir else default_project_dir() / "data" / "chest_xray"
            found, stray = list_folder(root)
            report = DataReport(source=f"chest X-ray folder {root}")
            used = _folder_splits(cfg)
        else:
            used = load_splits(cfg.replace(decode_cache=False)) if cfg.dataset == "pneumoniamnist" else \
                {"synthetic": _synthetic_splits}[cfg.dataset](cfg)
            found, stray = {s.name: s for s in used}, []
            report = DataReport(source=used.source)
    except DataError as e:
        report = DataReport(source=cfg.data_dir or cfg.dataset)
        report.problems.append(("error", str(e)))
        return report

    if stray:
        report.problems.append(("warning", f"{len(stray)} stray non-image or empty file(s) skipped: {', '.join(stray)}"))
    hashes: dict[str, list[str]] = defaultdict(list)
    unreadable = []
    for split in found.values():
        report.counts[split.name] = dict(zip(CLASS_NAMES, np.bincount(split.labels, minlength=2).tolist()))
        report.patients[split.name] = len(set(split.patients))
        for i in tqdm(range(len(split)), desc=f"checking {split.name}", leave=False, disable=not cfg.progress):
            if split.paths is not None and not _readable(split.paths[i]):
                unreadable.append(str(split.paths[i]))
                continue
            hashes[_content_key(split, i)].append(split.ids[i])
    if unreadable:
        report.problems.append(("error" if cfg.strict else "warning",
                                f"{len(unreadable)} unreadable image(s) (skipped in training): {', '.join(unreadable)}"))
    for ids in hashes.values():
        if len(ids) > 1:
            splits_of = {i.split("/")[0] for i in ids}
            if len(splits_of) > 1:
                report.problems.append(("error", f"identical images in different splits (leakage): {', '.join(ids)}"))
            else:
                report.problems.append(("warning", f"identical images within {splits_of.pop()}: {', '.join(ids)}"))
    names = list(found)
    for a_i, a in enumerate(names):
        for b in names[a_i + 1:]:
            shared = set(found[a].patients) & set(found[b].patients)
            if shared and cfg.dataset == "folder":
                report.problems.append(("warning", f"{len(shared)} patient id(s) appear in both {a} and {b} "
                                        f"(e.g. {', '.join(sorted(shared)[:5])}); Kaggle's numbering may be per split"))
    if cfg.dataset == "folder" and cfg.val_split == "patient":
        report.counts["(train)"] = dict(zip(CLASS_NAMES, np.bincount(used.train.labels, minlength=2).tolist()))
        report.counts["(val)"] = dict(zip(CLASS_NAMES, np.bincount(used.val.labels, minlength=2).tolist()))
        report.patients["(train)"], report.patients["(val)"] = len(set(used.train.patients)), len(set(used.val.patients))
    return report
