"""The homework's preprocessing, cut in two.

The deterministic prefix (to 8-bit grayscale, Resize bicubic, CenterCrop) is the expensive part on
full-size X-rays, so its uint8 output is what the decode cache stores. The per-epoch tail (3 channels,
ColorJitter on train, float, ImageNet Normalize) runs on those pixels every epoch. The uncached path runs
the very same two steps, so both give equal tensors.

Evaluation preprocessing equals the homework's torchvision/PIL pipeline exactly. Training's ColorJitter does
not: it runs torchvision's tensor kernels on uint8 pixels where the homework ran the PIL ones; the random
factors are drawn the same way, and with the same factors the pixels differ by at most 3 gray levels
(tests/test_transforms.py).

Every step is a class, not a lambda, so datasets pickle into DataLoader workers under the spawn start
method (macOS, Windows).
"""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image
from torchvision.transforms import v2

from ..config import RunConfig
from .images import to_gray

IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


class GrayPrefix:
    """The deterministic, cacheable part: PIL image -> uint8 array (crop, crop).

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
