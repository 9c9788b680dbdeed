"""Source: synthetic chest-radiograph phantoms, for tests and the offline demo (not real X-rays). Fixed by
DATA_SEED, so every run sees the same images; two images per phantom patient, so the patient split is
exercised as on the real data. ``synthetic_shortcut`` plants a shortcut for the audit to find: a small bright
square in the top-left corner of every PNEUMONIA phantom (train and test), outside the audit's lung region
(``audit.regions``), drawn after the phantom so the phantoms themselves are the same with and without it."""

from __future__ import annotations

import numpy as np

from ..config import RunConfig
from .split import DATA_SEED, Split

SYNTHETIC_SIZE = 128
# the planted marker, as fractions of the phantom: inside the centre crop (which keeps 224/256 of each side)
# and above and left of the lung fields, so the audit's lung region never covers it
MARKER_BOX = (0.08, 0.16)  # from, to; the same for x and y


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


def draw_marker(img: np.ndarray) -> np.ndarray:
    """The phantom with the planted shortcut: a white square in its top-left corner (a copy)."""
    out = img.copy()
    lo, hi = (round(f * img.shape[0]) for f in MARKER_BOX)
    out[lo:hi, lo:hi] = 255
    return out


def _synthetic_split(name: str, n: int, seed: int, shortcut: bool = False) -> Split:
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.arange(n) < round(0.65 * n)).astype(np.int64)  # the real data's share, about
    images = np.stack([synthetic_phantom(rng, SYNTHETIC_SIZE, bool(y)) for y in labels])
    if shortcut:
        images[labels == 1] = [draw_marker(img) for img in images[labels == 1]]
    ids = [f"{name}/synthetic-{i:05d}" for i in range(n)]
    patients = [f"{name}-patient{i // 2:05d}" for i in range(n)]  # two images per phantom patient
    return Split(name, ids, labels, patients, images=images)


def synthetic_source(cfg: RunConfig) -> tuple[dict[str, Split], str, list[str]]:
    raw = {"train": _synthetic_split("train", cfg.synthetic_train, DATA_SEED, cfg.synthetic_shortcut),
           "test": _synthetic_split("test", cfg.synthetic_test, DATA_SEED + 1, cfg.synthetic_shortcut)}
    marker = ", a bright corner marker on every PNEUMONIA phantom (planted shortcut)" if cfg.synthetic_shortcut else ""
    return raw, f"synthetic phantoms (not real X-rays), {SYNTHETIC_SIZE}x{SYNTHETIC_SIZE} px{marker}", []
