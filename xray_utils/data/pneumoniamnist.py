"""Source: PneumoniaMNIST (MedMNIST v2) as an npz of uint8 arrays with its official train/val/test splits,
from --data-dir, from data/, or downloaded from Zenodo through the medmnist package. It has no patient ids,
so each image is its own patient and the official split is kept."""

from __future__ import annotations

import os
import tempfile
import warnings
from pathlib import Path

import numpy as np

from ..config import MNIST_SIZES, RunConfig, default_project_dir
from ..errors import DataError
from .split import DATA_README, SPLIT_NAMES, Split


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


def mnist_source(cfg: RunConfig) -> tuple[dict[str, Split], str, list[str]]:
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
        raw, description = _mnist_splits_of(npz, path)
    size = raw["train"].images.shape[1]
    if size < cfg.img_size:  # e.g. the 28 px file at 224: the network sees interpolated, blurred pixels
        larger = [s for s in MNIST_SIZES if s >= cfg.img_size] or [max(MNIST_SIZES)]
        warnings.warn(f"{path.name} holds {size}x{size} px images, upscaled to {cfg.img_size} px: they carry no "
                      f"detail beyond {size} px (use --mnist-size {larger[0]}, or --img-size {size})", stacklevel=2)
        description += f", upscaled to {cfg.img_size} px"
    return raw, description, []


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
