"""The precision a run computes in: one decision, used by training, evaluation, feature extraction and
latency measurement alike.

On CUDA, autocast to bf16 where the GPU has it (no loss scaling needed), else fp16 with a GradScaler.
On a CPU with native bf16 (Intel AMX or AVX512-BF16), autocast to bf16 with channels_last tensors: measured
on a 2-core AMX machine, ResNet18 trains 3.0x and SqueezeNet 2.45x faster than fp32, because oneDNN's bf16
convolutions run on the matrix units and want NHWC. Elsewhere bf16 is emulated and slower than fp32, so
``auto`` stays fp32 there. Weights, gradients and optimiser state stay fp32 in every case: autocast only
lowers the precision of the matmuls and convolutions inside the forward pass.
"""

from __future__ import annotations

import functools
from contextlib import nullcontext

import torch

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


def channels_last(device: torch.device | str, dtype: torch.dtype | None) -> bool:
    """NHWC memory format: always on CUDA (tensor cores), on the CPU only with bf16 (oneDNN's fast path;
    fp32 convolutions on 2 cores gain less and the reorder costs)."""
    device = torch.device(device)
    return device.type == "cuda" or (device.type == "cpu" and dtype is not None)


def autocast(device: torch.device | str, dtype: torch.dtype | None):
    """torch.autocast for ``dtype`` on ``device``; a no-op context for fp32."""
    device = torch.device(device)
    return torch.autocast(device.type, dtype=dtype) if dtype is not None else nullcontext()


def needs_grad_scaler(dtype: torch.dtype | None) -> bool:
    """fp16 gradients underflow without loss scaling; bf16 has fp32's exponent range and needs none."""
    return dtype == torch.float16
