"""Train-time ColorJitter against the homework's PIL pipeline, with the same sampled factors.

The homework jittered PIL images (torchvision's classic ``transforms.ColorJitter`` after ``Grayscale(3)``);
this project jitters the cached uint8 pixels with torchvision's tensor kernels (``data.GrayColorJitter``).
The random factors and their order are drawn the same way; the kernels round differently, so the pixels
differ by at most 3 gray levels of 255 (README says so, and no more). Evaluation preprocessing is exactly
the homework's (tests/test_data.py)."""

import numpy as np
import torch
from PIL import Image
from torchvision.transforms import functional as F

from xray_utils import data

PIL_STEPS = {0: ("brightness_factor", F.adjust_brightness), 1: ("contrast_factor", F.adjust_contrast),
             2: ("saturation_factor", F.adjust_saturation), 3: ("hue_factor", F.adjust_hue)}


def homework_jitter(pixels: np.ndarray, params: dict) -> torch.Tensor:
    """The homework's PIL ColorJitter with the given factors and order, hue included."""
    img = Image.fromarray(pixels, "L").convert("RGB")
    for i in params["fn_idx"].tolist():
        name, step = PIL_STEPS[i]
        if params[name] is not None:
            img = step(img, params[name])
    return torch.from_numpy(np.array(img)).permute(2, 0, 1)


def test_train_time_jitter_is_within_three_gray_levels_of_the_homeworks_pil_jitter():
    jitter = data.GrayColorJitter(0.2, 0.2, 0.2, 0.1)
    rng = np.random.default_rng(0)
    worst, differing = 0, 0
    for seed in range(100):
        pixels = rng.integers(0, 256, (32, 32), dtype=np.uint8)
        gray = torch.from_numpy(pixels).unsqueeze(0).expand(3, -1, -1).contiguous()
        torch.manual_seed(seed)
        params = jitter.make_params([gray])
        diff = (jitter.transform(gray, params).int() - homework_jitter(pixels, params).int()).abs().max()
        worst, differing = max(worst, int(diff)), differing + int(diff > 0)
    assert worst <= 3
    assert differing > 0  # not equal: README must not say the training preprocessing is identical
