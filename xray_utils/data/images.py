"""Reading one image file: whatever Pillow opens (16-bit, RGBA, palette, CMYK...) becomes 8-bit grayscale,
and anything that cannot be decoded raises ``UnreadableImage`` naming the file."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image

from ..errors import DataError

IMAGE_EXTENSIONS = {".jpeg", ".jpg", ".png", ".bmp", ".tif", ".tiff", ".gif", ".webp", ".pgm", ".ppm"}


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
