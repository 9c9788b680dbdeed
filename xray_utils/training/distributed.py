"""torchrun / SLURM support: one process per device, DistributedDataParallel, rank 0 writes.

A plain `xray train` is world size 1 and none of this does anything. Under torchrun the launcher sets
RANK / WORLD_SIZE / LOCAL_RANK (and MASTER_ADDR/PORT); under `srun` without torchrun we read SLURM's
variables. Backend: nccl on GPUs, gloo on the CPU.

BatchNorm under DDP normalises each rank's slice of the batch, so at 8 ranks a batch of 32 trains with the
statistics of 4 images: a different experiment from the same run on one device. ``sync_batchnorm``
converts the layers so their statistics cover the global batch (torch's SyncBatchNorm on GPUs; on the CPU,
where torch's is GPU-only, ``CpuSyncBatchNorm`` below).
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable, Iterator, TypeVar

import torch
import torch.distributed as dist
import torch.nn as nn

from ..errors import XrayError

T = TypeVar("T")


@dataclass(frozen=True)
class Context:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1


def _env_int(*names: str, default: int) -> int:
    for n in names:
        if os.environ.get(n, "").strip():
            return int(os.environ[n])
    return default


def launched_rank() -> int:
    """This process's rank as the launcher (torchrun, srun) set it; 0 when run alone."""
    return _env_int("RANK", "SLURM_PROCID", default=0)


def init(device_kind: str) -> Context:
    """Join the process group if launched by torchrun/srun; return this process's place in it."""
    world = _env_int("WORLD_SIZE", "SLURM_NTASKS", default=1)
    if world <= 1:
        return Context()
    rank = _env_int("RANK", "SLURM_PROCID", default=0)
    local_rank = _env_int("LOCAL_RANK", "SLURM_LOCALID", default=0)
    os.environ.setdefault("MASTER_ADDR", "127.0.0.1")
    os.environ.setdefault("MASTER_PORT", "29500")
    if not dist.is_initialized():
        backend = "nccl" if device_kind == "cuda" else "gloo"
        if device_kind == "cuda":
            torch.cuda.set_device(local_rank)
        dist.init_process_group(backend=backend, rank=rank, world_size=world)
    return Context(rank=rank, world_size=world, local_rank=local_rank)


def barrier(ctx: Context) -> None:
    if ctx.enabled:
        dist.barrier()


@contextmanager
def main_first(ctx: Context) -> Iterator[None]:
    """Rank 0 does the body first (e.g. builds a cache); the others wait, then find it done."""
    if ctx.enabled and not ctx.is_main:
        dist.barrier()
    yield
    if ctx.enabled and ctx.is_main:
        dist.barrier()


def all_reduce_sum(ctx: Context, *values: float) -> list[float]:
    if not ctx.enabled:
        return list(values)
    t = torch.tensor(values, dtype=torch.float64)
    if dist.get_backend() == "nccl":
        t = t.cuda()
    dist.all_reduce(t)
    return t.cpu().tolist()


def gather_rows(ctx: Context, rows: torch.Tensor, n_total: int) -> torch.Tensor:
    """Reassemble a tensor whose rows were computed strided (rank r did rows r, r+W, ...) on every rank."""
    if not ctx.enabled:
        return rows
    per_rank = -(-n_total // ctx.world_size)
    padded = torch.zeros((per_rank, *rows.shape[1:]), dtype=rows.dtype)
    padded[: len(rows)] = rows
    if dist.get_backend() == "nccl":
        padded = padded.cuda()
    parts = [torch.empty_like(padded) for _ in range(ctx.world_size)]
    dist.all_gather(parts, padded)
    out = torch.empty((n_total, *rows.shape[1:]), dtype=rows.dtype)
    for r, part in enumerate(parts):
        out[r::ctx.world_size] = part[: len(range(r, n_total, ctx.world_size))].cpu()
    return out


def on_main(ctx: Context, fn: Callable[[], T]) -> T:
    """``fn()`` on rank 0 (writing files, taking the run directory); every rank returns its result, or
    raises when it failed, so no rank is left waiting at the next collective for one that stopped."""
    result, error = None, None
    if ctx.is_main:
        try:
            result = fn()
        except BaseException as e:  # noqa: B036 - re-raised below, after the other ranks are told
            error = e
    if not all_true(ctx, error is None):
        if error is not None:
            raise error
        raise XrayError("stopped because rank 0 stopped", "see rank 0's message above")
    return broadcast(ctx, result)


def broadcast(ctx: Context, obj):
    """Rank 0's ``obj`` on every rank (a small picklable value: a decision, a state name)."""
    if not ctx.enabled:
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def all_true(ctx: Context, value: bool) -> bool:
    """True only when ``value`` is true on every rank: a decision every rank then takes the same way."""
    if not ctx.enabled:
        return bool(value)
    t = torch.tensor([1 if value else 0], dtype=torch.int64)
    if dist.get_backend() == "nccl":
        t = t.cuda()
    dist.all_reduce(t, op=dist.ReduceOp.MIN)
    return bool(t.item())


# ----------------------------------------------------------------------------------------------------
# BatchNorm over the global batch


def has_batchnorm(module: nn.Module) -> bool:
    return any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in module.modules())


def sync_batchnorm(module: nn.Module, device: torch.device) -> nn.Module:
    """``module`` with every BatchNorm layer computing its batch statistics over all ranks (in place for
    children; parameters and buffers are the same tensors, so an optimiser built later sees them)."""
    if device.type != "cpu":
        return nn.SyncBatchNorm.convert_sync_batchnorm(module)
    return _to_cpu_sync(module)


def _to_cpu_sync(module: nn.Module) -> nn.Module:
    if isinstance(module, nn.BatchNorm2d) and not isinstance(module, CpuSyncBatchNorm):
        new = CpuSyncBatchNorm(module.num_features, module.eps, module.momentum, module.affine,
                               module.track_running_stats)
        if module.affine:
            new.weight, new.bias = module.weight, module.bias
        if module.track_running_stats:
            new.running_mean, new.running_var = module.running_mean, module.running_var
            new.num_batches_tracked = module.num_batches_tracked
        new.train(module.training)
        return new
    for name, child in module.named_children():
        module.add_module(name, _to_cpu_sync(child))
    return module


class CpuSyncBatchNorm(nn.BatchNorm2d):
    """BatchNorm2d whose training statistics are those of the global batch, over gloo.

    Mean and variance are sums all-reduced with autograd-aware collectives, so the backward pass carries
    every rank's share of the gradient through the shared statistics, as torch's SyncBatchNorm does.
    In eval mode, or alone, it is plain BatchNorm2d.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not (self.training and dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1):
            return super().forward(x)
        from torch.distributed.nn.functional import all_reduce

        xf, dims, shape = x.float(), (0, 2, 3), (1, -1, 1, 1)  # statistics in fp32, also under autocast
        count = torch.full((1,), x.numel() / x.shape[1], dtype=torch.float32, device=x.device)
        sums = all_reduce(torch.cat([xf.sum(dims), count]))
        n = sums[-1]
        mean = sums[:-1] / n
        centered = xf - mean.view(shape)
        var = all_reduce((centered * centered).sum(dims)) / n  # two passes: no E[x^2] - E[x]^2 cancellation
        if self.track_running_stats:
            with torch.no_grad():
                self.num_batches_tracked.add_(1)
                m = self.momentum if self.momentum is not None else 1.0 / float(self.num_batches_tracked)
                self.running_mean.mul_(1 - m).add_(mean.detach(), alpha=m)
                self.running_var.mul_(1 - m).add_(var.detach() * (n / (n - 1)), alpha=m)  # unbiased, as torch
        y = centered * torch.rsqrt(var + self.eps).view(shape)
        if self.affine:
            y = y * self.weight.view(shape) + self.bias.view(shape)
        return y.to(x.dtype)


def shutdown(ctx: Context) -> None:
    if ctx.enabled and dist.is_initialized():
        dist.destroy_process_group()
