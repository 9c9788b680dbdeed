"""Models: a torchvision backbone with a new 2-class head (NORMAL, PNEUMONIA).

Every network is split in two at one fixed point:

    XrayNet.backbone : images (N, 3, H, W) -> one feature tensor per image  (pretrained part)
    XrayNet.head     : Dropout(p) -> new 2-class layer                      (always trained)

The feature tensor is the pooled vector for every backbone except SqueezeNet, whose head works on the
512 x h x w feature map exactly where torchvision's classifier does (see ``_split_squeezenet``); its
frozen-mode cache therefore holds 512 x 13 x 13 floats (338 KiB) per image at 224 px.

``forward(x) == head(backbone(x))``. The frozen-feature cache in ``train`` stores ``backbone(x)`` once
and trains ``head`` on it, so the split point must be the same in both paths: it is, because both call
the same two modules.

Modes: "finetune" trains everything from ImageNet weights, "frozen" trains only the head (the backbone
is a fixed feature extractor: ``requires_grad=False`` and always in eval mode, so BatchNorm running
statistics never move), "scratch" trains everything from random weights.

Task A's measurements (MACs, latency, size, the architecture facts) are the report's: ``report/task_a.py``.
"""

from __future__ import annotations

import hashlib
import math
from collections import OrderedDict
from dataclasses import dataclass
from typing import Callable

import torch
import torchvision
from torch import nn

from .config import BACKBONES, MODES
from .errors import ConfigError, WeightsError


class XrayNet(nn.Module):
    """``head(backbone(x))``; ``frozen=True`` makes the backbone a fixed feature extractor."""

    def __init__(self, backbone: nn.Module, head: nn.Module, frozen: bool = False, arch: str | None = None):
        super().__init__()
        self.backbone = backbone
        self.head = head
        self.arch = arch  # torchvision name ("resnet18", ...) when built by build_model
        self._frozen = False
        self.frozen = frozen

    @property
    def frozen(self) -> bool:
        return self._frozen

    @frozen.setter
    def frozen(self, value: bool) -> None:
        self._frozen = bool(value)
        for p in self.backbone.parameters():
            p.requires_grad_(not self._frozen)
        self.train(self.training)  # puts the backbone in eval mode when frozen

    def train(self, mode: bool = True) -> "XrayNet":
        super().train(mode)
        if self._frozen:
            # BatchNorm would update its running statistics in train mode even without gradients, and
            # dropout / stochastic depth inside the backbone would make the features random.
            self.backbone.eval()
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.backbone(x))


# ----------------------------------------------------------------------------------------------------
# one entry per backbone: how to split torchvision's network, which layer Grad-CAM looks at


@dataclass(frozen=True)
class BackboneSpec:
    split: Callable[[nn.Module, float], tuple[nn.Module, nn.Module]]  # (torchvision net, dropout) -> parts
    cam_layer: Callable[[nn.Module], nn.Module]  # XrayNet.backbone -> last conv block
    feature_dim: int  # channels of one image's features (a vector, or SqueezeNet's 512 x h x w map)
    year: int
    paper: str
    description: str
    head: str = ""  # where the new head sits, when it is not "Dropout -> Linear on the pooled vector"


def _linear_head(dim: int, dropout: float, init: Callable[[nn.Linear], None] | None = None) -> nn.Sequential:
    fc = nn.Linear(dim, 2)
    if init is not None:
        init(fc)
    return nn.Sequential(OrderedDict(dropout=nn.Dropout(dropout), fc=fc))


def _split_resnet(net: nn.Module, dropout: float):
    # Everything up to the global average pool; torchvision's fc keeps PyTorch's default Linear init.
    parts = OrderedDict((name, m) for name, m in net.named_children() if name != "fc")
    parts["flatten"] = nn.Flatten(1)
    return nn.Sequential(parts), _linear_head(512, dropout)


def _split_squeezenet(net: nn.Module, dropout: float):
    # torchvision's classifier is Dropout -> Conv2d(512, 1000, 1) -> ReLU -> AdaptiveAvgPool -> flatten, on
    # the 512 x h x w feature map; the new head keeps that order, so Dropout drops single positions of the
    # map (as in torchvision and the paper), not whole channels of a pooled vector (a much stronger
    # regulariser). The new Conv2d(512, 2, 1) has no ReLU after it: a ReLU clamps both logits at >= 0, and
    # once both are 0 the loss is stuck at ln 2 = 0.693 with no gradient.
    # The conv and the pool are both linear and commute, but Dropout must see the map, so the backbone
    # cannot pool: it outputs the map, and frozen mode caches maps: 512 x 13 x 13 floats = 338 KiB per
    # image at 224 px (1.7 GiB in fp32 for Kaggle's 5216 training images per stored view), 169x a vector.
    conv = nn.Conv2d(512, 2, kernel_size=1)
    nn.init.normal_(conv.weight, mean=0.0, std=0.01)  # torchvision's init of SqueezeNet's final conv
    nn.init.zeros_(conv.bias)
    head = nn.Sequential(OrderedDict(
        dropout=nn.Dropout(dropout), conv=conv, pool=nn.AdaptiveAvgPool2d(1), flatten=nn.Flatten(1),
    ))
    return nn.Sequential(OrderedDict(features=net.features)), head


def _split_densenet(net: nn.Module, dropout: float):
    # torchvision's forward applies F.relu, the pool and flatten between features and classifier.
    # Not in-place: Grad-CAM hooks the output of features.norm5, which an in-place ReLU would overwrite.
    backbone = nn.Sequential(OrderedDict(
        features=net.features, relu=nn.ReLU(), pool=nn.AdaptiveAvgPool2d(1), flatten=nn.Flatten(1),
    ))
    return backbone, _linear_head(1024, dropout, lambda fc: nn.init.zeros_(fc.bias))


def _split_mobilenet_v3(net: nn.Module, dropout: float):
    # The classifier's first Linear(576 -> 1024) + Hardswish is pretrained: keep it in the backbone.
    def init(fc: nn.Linear) -> None:  # torchvision's MobileNetV3 init for Linear layers
        nn.init.normal_(fc.weight, 0, 0.01)
        nn.init.zeros_(fc.bias)

    backbone = nn.Sequential(OrderedDict(
        features=net.features, pool=net.avgpool, flatten=nn.Flatten(1),
        pre_logits=net.classifier[0], act=net.classifier[1],
    ))
    return backbone, _linear_head(1024, dropout, init)


def _split_efficientnet(net: nn.Module, dropout: float):
    def init(fc: nn.Linear) -> None:  # torchvision's EfficientNet init for Linear layers
        bound = 1.0 / math.sqrt(fc.out_features)
        nn.init.uniform_(fc.weight, -bound, bound)
        nn.init.zeros_(fc.bias)

    backbone = nn.Sequential(OrderedDict(features=net.features, pool=net.avgpool, flatten=nn.Flatten(1)))
    return backbone, _linear_head(1280, dropout, init)


_SQUEEZENET_TEXT = (
    "SqueezeNet reaches AlexNet-level ImageNet accuracy with about 50x fewer parameters by building the "
    "network from Fire modules: a 1x1 'squeeze' convolution that cuts the channel count, followed by an "
    "'expand' layer mixing 1x1 and 3x3 convolutions. It has no fully connected layer: a 1x1 convolution "
    "gives one map per class and global average pooling turns each map into a score. "
)

_SQUEEZENET_HEAD = (
    "Dropout on the 512 x h x w feature map, Conv2d(512, 2, 1), global average pooling: torchvision's "
    "classifier order, without its ReLU after the conv (it would clamp both logits at 0)"
)

SPECS: dict[str, BackboneSpec] = {
    "resnet18": BackboneSpec(
        _split_resnet, lambda b: b.layer4[-1], 512, 2016,
        "He et al., Deep Residual Learning for Image Recognition (CVPR 2016)",
        "ResNet-18 stacks 3x3 convolutions with batch normalisation in residual blocks: each block learns "
        "a correction F(x) that is added to its input through an identity shortcut, so gradients reach "
        "early layers and deep networks train reliably. Four stages halve the resolution and double the "
        "channels (64 to 512), then global average pooling gives a 512-number feature vector per image.",
    ),
    "squeezenet1_1": BackboneSpec(
        _split_squeezenet, lambda b: b.features[-1], 512, 2016,
        "Iandola et al., SqueezeNet: AlexNet-level accuracy with 50x fewer parameters and <0.5MB model size "
        "(arXiv 2016)",
        _SQUEEZENET_TEXT + "Version 1.1 downsamples earlier, needing 2.4x less computation than 1.0 at the "
        "same accuracy.",
        _SQUEEZENET_HEAD,
    ),
    "squeezenet1_0": BackboneSpec(
        _split_squeezenet, lambda b: b.features[-1], 512, 2016,
        "Iandola et al., SqueezeNet: AlexNet-level accuracy with 50x fewer parameters and <0.5MB model size "
        "(arXiv 2016)",
        _SQUEEZENET_TEXT + "Version 1.0 is the original design from the paper (a 7x7 first convolution).",
        _SQUEEZENET_HEAD,
    ),
    "densenet121": BackboneSpec(
        _split_densenet, lambda b: b.features.norm5, 1024, 2017,
        "Huang et al., Densely Connected Convolutional Networks (CVPR 2017)",
        "DenseNet-121 connects every layer in a dense block to all earlier layers of the block by "
        "concatenating their feature maps, so features are reused and each layer adds only a few channels "
        "(growth rate 32). Transition layers (1x1 convolution and pooling) shrink the maps between its four "
        "blocks. It is the backbone of CheXNet, a well-known pneumonia detector on chest X-rays.",
    ),
    "mobilenet_v3_small": BackboneSpec(
        _split_mobilenet_v3, lambda b: b.features[-1], 1024, 2019,
        "Howard et al., Searching for MobileNetV3 (ICCV 2019)",
        "MobileNetV3-Small is built for phones: inverted residual blocks of depthwise-separable "
        "convolutions with squeeze-and-excitation attention and the cheap hard-swish activation, its "
        "layout found by neural architecture search under a latency budget. It needs about 60 million "
        "multiply-adds per 224 px image, 30x less than ResNet-18.",
    ),
    "efficientnet_b0": BackboneSpec(
        _split_efficientnet, lambda b: b.features[-1], 1280, 2019,
        "Tan and Le, EfficientNet: Rethinking Model Scaling for Convolutional Neural Networks (ICML 2019)",
        "EfficientNet-B0 is a baseline found by neural architecture search from MBConv blocks (inverted "
        "residuals with squeeze-and-excitation and SiLU activations). The paper's point is compound "
        "scaling: depth, width and resolution grow together by fixed ratios to give B1-B7; B0 is the "
        "smallest, with ImageNet accuracy above ResNet-50 at a tenth of the computation.",
    ),
}
assert set(SPECS) == set(BACKBONES), "every backbone in config.BACKBONES needs a spec"


# ----------------------------------------------------------------------------------------------------


def spec(backbone: str) -> BackboneSpec:
    if backbone not in SPECS:
        raise ConfigError(f"unknown backbone {backbone!r}", f"use one of: {', '.join(BACKBONES)}")
    return SPECS[backbone]


def build_model(backbone: str, mode: str, state_dict: dict[str, torch.Tensor] | None = None,
                dropout: float = 0.5) -> XrayNet:
    """The torchvision ``backbone`` with ``state_dict`` loaded (strictly), split, with a new 2-class head.

    Never downloads anything: weights come from ``weights.resolve_state_dict``. The new head's init is
    the one torchvision gives that layer, drawn from torch's global RNG (seed it for reproducibility).
    """
    split = spec(backbone).split
    if mode not in MODES:
        raise ConfigError(f"unknown mode {mode!r}", f"use one of: {', '.join(MODES)}")
    net = torchvision.models.get_model(backbone, weights=None, num_classes=1000)
    if state_dict is not None:
        _load_strict(net, backbone, state_dict)
    body, head = split(net, dropout)
    return XrayNet(body, head, frozen=(mode == "frozen"), arch=backbone)


def _load_strict(net: nn.Module, backbone: str, state_dict: dict[str, torch.Tensor]) -> None:
    expected = net.state_dict()
    wrong_shape = [
        f"{k} {tuple(state_dict[k].shape)} (expected {tuple(v.shape)})"
        for k, v in expected.items() if k in state_dict and state_dict[k].shape != v.shape
    ]
    missing = unexpected = []
    if not wrong_shape:  # load_state_dict raises on shapes even when not strict
        # Not strict here only to report every problem at once; BatchNorm fills in num_batches_tracked,
        # which old files (torchvision's DenseNet) lack, so it is not reported missing.
        result = net.load_state_dict(state_dict, strict=False)
        missing, unexpected = list(result.missing_keys), list(result.unexpected_keys)
    if missing or unexpected or wrong_shape:
        def first(keys: list[str]) -> str:
            return ", ".join(keys[:3]) + (f" and {len(keys) - 3} more" if len(keys) > 3 else "")

        problems = [f"{label}: {first(keys)}" for label, keys in
                    (("missing", missing), ("unexpected", unexpected), ("wrong shape", wrong_shape)) if keys]
        raise WeightsError(
            f"the weights do not fit torchvision's {backbone} with its 1000-class ImageNet head ("
            + "; ".join(problems) + ")",
            f"pass --weights a state_dict of torchvision.models.{backbone}() (e.g. torchvision's own "
            f"ImageNet file), or --weights imagenet / --weights none",
        )


def cam_layer(model: XrayNet) -> nn.Module:
    """The last convolutional block inside ``model.backbone``: the layer Grad-CAM explains."""
    if model.arch not in SPECS:
        raise ConfigError(f"no Grad-CAM layer known for model architecture {model.arch!r}",
                          f"build the model with build_model (backbones: {', '.join(BACKBONES)})")
    return SPECS[model.arch].cam_layer(model.backbone)


def min_img_size(backbone: str) -> int:
    """Smallest input side the backbone accepts (its pooling stages need at least one pixel left)."""
    return int(torchvision.models.get_model_weights(backbone).DEFAULT.meta["min_size"][0])


# ----------------------------------------------------------------------------------------------------
# parameters and weights


def count_parameters(model: nn.Module) -> tuple[int, int]:
    """(total, trainable) parameter counts."""
    params = list(model.parameters())
    return sum(p.numel() for p in params), sum(p.numel() for p in params if p.requires_grad)


def module_digest(module: nn.Module) -> str:
    """SHA-1 of a module's state_dict (names and bytes): a resumed frozen run checks its backbone is the same,
    and the feature store keys stored features by it."""
    h = hashlib.sha1()
    for name, t in module.state_dict().items():
        h.update(name.encode())
        h.update(t.detach().cpu().reshape(-1).contiguous().view(torch.uint8).numpy().tobytes())
    return h.hexdigest()
