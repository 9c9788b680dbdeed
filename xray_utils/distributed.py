"""torchrun / SLURM support: one process per device, DistributedDataParallel, rank 0 writes.

A plain `xray train` is world size 1 and none of this does anything. Under torchrun the launcher sets
RANK / WORLD_SIZE / LOCAL_RANK (and MASTER_ADDR/PORT); under `srun` without torchrun we read SLURM's
variables. Backend: nccl on GPUs, gloo on the CPU.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator

import torch
import torch.distributed as dist


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


def shutdown(ctx: Context) -> None:
    if ctx.enabled and dist.is_initialized():
        dist.destroy_process_group()
