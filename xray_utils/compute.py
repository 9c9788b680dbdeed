"""Where and in what precision a run computes: one decision (``Compute``), made once per run from its
config and passed as one argument to training, evaluation, feature extraction, prediction and latency.

On CUDA, autocast to bf16 where the GPU has it (no loss scaling needed), else fp16 with a GradScaler.
On a CPU with native bf16 (Intel AMX or AVX512-BF16), autocast to bf16 with channels_last tensors: measured
on a 2-core AMX machine, ResNet18 trains 3.0x and SqueezeNet 2.45x faster than fp32, because oneDNN's bf16
convolutions run on the matrix units and want NHWC. Elsewhere bf16 is emulated and slower than fp32, so
``auto`` stays fp32 there, still channels_last where torch's CPU convolutions are oneDNN's on AVX2 or wider
vector units (asked of torch): on a 2-core AVX2 AMD EPYC without bf16, an fp32 train step at 224 px measured
SqueezeNet 1.16-1.56x faster and ResNet18 at par (0.96-1.09x) in NHWC (``make bench``'s channels_last_fp32).
Weights, gradients and optimiser state stay fp32 in every case: autocast only lowers the precision of the
matmuls and convolutions inside the forward pass.
"""

from __future__ import annotations

import functools
from contextlib import nullcontext
from dataclasses import dataclass

import torch
import torch.nn as nn

from .errors import XrayError

NAMES = {torch.bfloat16: "bf16", torch.float16: "fp16", None: "fp32"}


@functools.lru_cache(maxsize=None)
def cpu_has_native_bf16() -> bool:
    """True when this CPU computes bf16 in hardware (AMX tiles or AVX512-BF16), asked of torch/oneDNN."""
    cpu = getattr(torch, "cpu", None)
    for probe in ("_is_amx_tile_supported", "_is_avx512_bf16_supported"):
        fn = getattr(cpu, probe, None)
        try:
            if fn is not None and fn():
                return True
        except RuntimeError:  # a build without the probe's backend
            pass
    return False


def compute_dtype(amp: str, device: torch.device | str) -> torch.dtype | None:
    """The autocast dtype for ``amp`` ("auto" | "on" | "off") on ``device``; None means fp32."""
    device = torch.device(device)
    if amp == "off":
        return None
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if device.type == "cpu" and (amp == "on" or cpu_has_native_bf16()):
        return torch.bfloat16
    return None  # mps and CPUs without native bf16


def name(dtype: torch.dtype | None) -> str:
    """"bf16", "fp16" or "fp32": what metrics.json records as compute_dtype."""
    return NAMES[dtype]


@functools.lru_cache(maxsize=None)
def cpu_prefers_channels_last() -> bool:
    """True when torch's CPU convolutions are oneDNN's (mkldnn) and run on AVX2 or wider vector units
    (``torch.backends.cpu.get_cpu_capability()``: "AVX2", "AVX512"...), whose fp32 kernels are NHWC-native."""
    try:
        capability = torch.backends.cpu.get_cpu_capability()
    except (AttributeError, RuntimeError):  # an older torch
        return False
    return torch.backends.mkldnn.is_available() and capability.startswith("AVX")


def channels_last(device: torch.device | str, dtype: torch.dtype | None) -> bool:
    """NHWC memory format: always on CUDA (tensor cores); on the CPU with bf16 (oneDNN's fast path) and in
    fp32 where ``cpu_prefers_channels_last`` (measured faster there: ``make bench``'s channels_last_fp32)."""
    device = torch.device(device)
    return device.type == "cuda" or (device.type == "cpu" and (dtype is not None or cpu_prefers_channels_last()))


def autocast(device: torch.device | str, dtype: torch.dtype | None):
    """torch.autocast for ``dtype`` on ``device``; a no-op context for fp32."""
    device = torch.device(device)
    return torch.autocast(device.type, dtype=dtype) if dtype is not None else nullcontext()


def needs_grad_scaler(dtype: torch.dtype | None) -> bool:
    """fp16 gradients underflow without loss scaling; bf16 has fp32's exponent range and needs none."""
    return dtype == torch.float16


def pick_device(name: str, local_rank: int = 0) -> torch.device:
    """The torch device for ``--device`` ("auto" | "cpu" | "cuda" | "mps"); a clear error when it is absent."""
    if name == "auto":
        if torch.cuda.is_available():
            name = "cuda"
        elif getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            name = "mps"
        else:
            name = "cpu"
    if name == "cuda":
        if not torch.cuda.is_available():
            raise XrayError("--device cuda was asked for, but no CUDA GPU is available", "use --device auto or cpu")
        return torch.device("cuda", local_rank)
    if name == "mps" and not torch.backends.mps.is_available():
        raise XrayError("--device mps was asked for, but MPS is not available", "use --device auto or cpu")
    return torch.device(name)


@dataclass(frozen=True)
class Compute:
    """The device, the autocast dtype (None = fp32) and the memory format of a run's forward passes."""

    device: torch.device
    dtype: torch.dtype | None = None
    channels_last: bool = False

    @classmethod
    def decide(cls, device: torch.device | str, amp: str = "auto") -> Compute:
        """The one decision: ``amp`` ("auto" | "on" | "off") on ``device``."""
        device = torch.device(device)
        dtype = compute_dtype(amp, device)
        return cls(device, dtype, channels_last(device, dtype))

    @classmethod
    def for_run(cls, device_name: str, amp: str, local_rank: int = 0) -> Compute:
        """A run's compute from its config's ``device`` and ``amp``."""
        return cls.decide(pick_device(device_name, local_rank), amp)

    @property
    def name(self) -> str:
        """"bf16", "fp16" or "fp32": what metrics.json records as compute_dtype."""
        return name(self.dtype)

    @property
    def needs_grad_scaler(self) -> bool:
        return needs_grad_scaler(self.dtype)

    def autocast(self):
        return autocast(self.device, self.dtype)

    def batch(self, x: torch.Tensor) -> torch.Tensor:
        """An input batch on the device, NHWC when this compute wants it (4-D image batches only)."""
        x = x.to(self.device, non_blocking=True)
        return x.contiguous(memory_format=torch.channels_last) if self.channels_last and x.ndim == 4 else x

    def module(self, model: nn.Module) -> nn.Module:
        """``model`` moved to the device (in place), NHWC when this compute wants it."""
        model = model.to(self.device)
        return model.to(memory_format=torch.channels_last) if self.channels_last else model
