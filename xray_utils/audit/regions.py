"""The fixed lung region and the masked copies of an image the ablation feeds the network.

The region is one rectangle for every image, stated as fractions of the network's input (the centre crop):
it covers both lung fields of a frontal radiograph after the homework's square resize and crop, and the
phantoms' lungs with every lesion (``data.synthetic``). A mask fills its part of the image with the mean grey
level of the part left visible: the masked copy is a function of the visible pixels alone. (The whole image's
mean would carry the hidden part's brightness - a lung full of opacities raises it - back into the image.)
"""

from __future__ import annotations

import numpy as np

# (left, top, right, bottom) as fractions of the crop's width and height
LUNG_REGION = (0.12, 0.10, 0.88, 0.90)
KINDS = ("lungs", "outside")  # what is masked: the lung region, or everything but it


def lung_mask(height: int, width: int | None = None) -> np.ndarray:
    """(H, W) bool: True inside the lung region."""
    width = height if width is None else width
    left, top, right, bottom = LUNG_REGION
    mask = np.zeros((height, width), dtype=bool)
    rows = slice(int(round(top * height)), int(round(bottom * height)))
    mask[rows, int(round(left * width)):int(round(right * width))] = True
    return mask


def region_share(size: int) -> float:
    """The lung region's share of a size x size crop: the share of Grad-CAM mass a map spread evenly would put
    inside it (the chance level of ``attention``)."""
    return float(lung_mask(size).mean())


def masked(pixels: np.ndarray, kind: str) -> np.ndarray:
    """uint8 images (N, H, W) or (H, W) with the lung region ("lungs") or everything else ("outside") set to
    the mean grey level (rounded) of what stays visible of each image. A new array; ``pixels`` is unchanged."""
    if kind not in KINDS:
        raise ValueError(f"unknown mask {kind!r}: use one of {KINDS}")
    pixels = np.asarray(pixels)
    single = pixels.ndim == 2
    batch = pixels[None] if single else pixels
    inside = lung_mask(batch.shape[1], batch.shape[2])
    hide = inside if kind == "lungs" else ~inside
    means = np.rint(batch[:, ~hide].mean(axis=1)).astype(batch.dtype)
    out = batch.copy()
    out[:, hide] = means[:, None]
    return out[0] if single else out
