"""A small Kaggle-layout folder of full-size chest X-ray JPEGs, for timing the decode cache.

The Kaggle originals are 1000-2900 px grayscale JPEGs (typically about 2000 x 1500, 0.8 bits per pixel); the
copy in shared/data is resized to 224 px, where decoding costs almost nothing. So the real images are upscaled
back to original-like sizes: long side 1500-2500 px, landscape aspect, a little film grain so the JPEG carries
about as many bits per pixel as an original (decode time follows pixels and entropy). Without shared/data the
synthetic phantoms are upscaled the same way. File names keep Kaggle's patient-bearing names, so the patient
split behaves as on the real data.

Generated once into reports/bench/ (git-ignored) and reused while its spec.json matches; it is input data
only, identical for the cached and uncached sides.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import numpy as np
from PIL import Image

from xray_utils import atomic, data
from xray_utils.config import CLASS_NAMES

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
SAMPLE = SHARED_DATA / "chest_xray_sample"
NORMAL_SHARE = 0.26  # Kaggle train: 1341 NORMAL of 5216
LONG_SIDE = (1500, 2500)
ASPECT = (0.65, 0.95)  # height / width; the originals are mostly landscape (1857 x 1317, 1106 x 762)
GRAIN_SIGMA = 3.0  # gray levels; with quality 85 gives ~0.85 bits/pixel (the NORMAL original: 0.83)
JPEG_QUALITY = 85
VERSION = 1


def _sources(split: str, n: int, rng: np.random.Generator) -> list[tuple[int, str, Path | None]]:
    """(label, file name, source path or None for a phantom) for n images of one split."""
    n_normal = max(1, round(n * (NORMAL_SHARE if split == "train" else 0.5)))
    counts = (n_normal, n - n_normal)
    picked = []
    for label, (cls, k) in enumerate(zip(CLASS_NAMES, counts, strict=True)):
        folder = SAMPLE / split / cls
        files = sorted(folder.glob("*.jpeg")) if folder.is_dir() else []
        if len(files) >= k:
            idx = sorted(rng.choice(len(files), size=k, replace=False).tolist())
            picked += [(label, files[i].name, files[i]) for i in idx]
        else:  # no shared data: phantoms under Kaggle-style names (two images per patient)
            names = [f"person{i // 2 + 1}_bacteria_{i + 1}.jpeg" if label
                     else f"IM-{i // 2 + 1:04d}-{i % 2 + 1:04d}.jpeg" for i in range(k)]
            picked += [(label, name, None) for name in names]
    return picked


def _full_size(src: Path | None, label: int, rng: np.random.Generator) -> Image.Image:
    if src is not None:
        small = data.open_image(src)
    else:
        small = Image.fromarray(data.synthetic_phantom(rng, 256, bool(label)))
    width = int(rng.integers(*LONG_SIDE, endpoint=True))
    height = int(round(width * rng.uniform(*ASPECT)))
    big = np.asarray(small.resize((width, height), Image.BICUBIC), dtype=np.float32)
    big = big + rng.normal(0.0, GRAIN_SIGMA, big.shape).astype(np.float32)
    return Image.fromarray(np.clip(big.round(), 0, 255).astype(np.uint8), mode="L")


def ensure_folder(root: Path, n_train: int, n_test: int, seed: int = 0) -> dict:
    """root/{train,test}/{NORMAL,PNEUMONIA}/*.jpeg, generated unless an identical one is there; returns its spec
    (plus sizes and the generation time)."""
    spec = {"version": VERSION, "n_train": n_train, "n_test": n_test, "seed": seed,
            "source": str(SAMPLE) if SAMPLE.is_dir() else "synthetic phantoms (shared/data absent)",
            "long_side_px": list(LONG_SIDE), "aspect_h_over_w": list(ASPECT), "grain_sigma": GRAIN_SIGMA,
            "jpeg_quality": JPEG_QUALITY}
    stamp = root / "spec.json"
    if stamp.exists():
        try:
            saved = json.loads(stamp.read_text(encoding="utf-8"))
            if saved.get("spec") == spec:
                return {**saved["spec"], **saved["stats"], "reused": True}
        except (OSError, ValueError, KeyError):
            pass
    t0 = time.perf_counter()
    if root.exists():
        shutil.rmtree(root)
    tmp = root.with_name(root.name + ".partial")
    if tmp.exists():
        shutil.rmtree(tmp)
    rng = np.random.default_rng(seed)
    pixels, nbytes = [], []
    for split, n in (("train", n_train), ("test", n_test)):
        for label, name, src in _sources(split, n, rng):
            out = tmp / split / CLASS_NAMES[label] / name
            out.parent.mkdir(parents=True, exist_ok=True)
            img = _full_size(src, label, rng)
            img.save(out, "JPEG", quality=JPEG_QUALITY)
            pixels.append(img.width * img.height)
            nbytes.append(out.stat().st_size)
    tmp.rename(root)
    stats = {"images": len(pixels), "mean_megapixels": round(float(np.mean(pixels)) / 1e6, 3),
             "mean_kb": round(float(np.mean(nbytes)) / 1024, 1),
             "bits_per_pixel": round(8 * float(np.sum(nbytes)) / float(np.sum(pixels)), 3),
             "generation_s": round(time.perf_counter() - t0, 2)}
    atomic.write_json(stamp, {"spec": spec, "stats": stats})
    return {**spec, **stats, "reused": False}
