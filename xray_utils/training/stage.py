"""What one run trains and on what (``Stage``): the whole network on images, or in frozen mode only its
head on the backbone's stored features; and how that stage is spread over several processes (DDP)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn as nn
from torch.utils.data import DataLoader, TensorDataset

from .. import data, models, progress
from ..compute import Compute
from ..config import RunConfig
from . import distributed, features
from .loaders import FeatureViews, SeededAugmentation, make_loader, per_rank_batch


@dataclass
class Stage:
    """What one run trains and on what: the whole network on images, or (frozen mode) only its head, on
    images or on the backbone's stored features."""

    model: models.XrayNet  # the whole network: what best.pt holds
    trained: nn.Module  # the part whose weights change: what the optimiser updates and last.pt holds
    forward: nn.Module  # what the loaders' batches go into: the model, or the head on stored features
    train_loader: DataLoader
    val_loader: DataLoader
    test_loader: DataLoader
    compute: Compute  # where and how its batches are computed (a head on stored features: never NHWC)
    feature_seconds: float = 0.0  # frozen: extracting (or reading) the stored features
    features_reused: int = 0  # frozen: feature tensors read from the store (extracted by an earlier run)

    @property
    def frozen(self) -> bool:
        return self.trained is not self.model


def build_stage(cfg: RunConfig, model: models.XrayNet, splits: data.Splits, compute: Compute,
                ctx: distributed.Context, log: Callable[[str], None] = print,
                show: progress.Progress | None = None) -> Stage:
    workers = cfg.num_workers if cfg.num_workers is not None else data.default_num_workers()
    device = compute.device
    trained = model.head if cfg.mode == "frozen" else model
    if not (cfg.mode == "frozen" and cfg.feature_cache):
        sets = (SeededAugmentation(data.make_dataset(splits.train, cfg, train=True), cfg.seed),
                data.make_dataset(splits.val, cfg, train=False), data.make_dataset(splits.test, cfg, train=False))
        loaders = [make_loader(ds, cfg, ctx, device, train, workers)
                   for ds, train in zip(sets, (True, False, False), strict=True)]
        return Stage(model, trained, model, *loaders, compute)

    if device.type == "cpu" and cfg.decode_cache:
        # On the CPU the backbone already keeps every core busy; cached pixels need only a crop and a
        # normalisation, so loader workers would just compete with it (and cost a start per split).
        workers = 0
    f = features.frozen_features(model, splits, cfg, ctx, compute, workers, show)
    how = f"{f.reused} of {2 + len(f.train)} read from the feature store" if f.reused else "computed and stored"
    log(f"frozen backbone: features {how} in {f.seconds:.1f}s "
        f"({len(f.train)} train view(s), feature shape {tuple(f.train.shape[2:])})")
    labels = [torch.as_tensor(s.labels, dtype=torch.long) for s in splits]
    return Stage(model, model.head, model.head,
                 make_loader(FeatureViews(f.train, labels[0]), cfg, ctx, device, True, 0),
                 make_loader(TensorDataset(f.val, labels[1]), cfg, ctx, device, False, 0),
                 make_loader(TensorDataset(f.test, labels[2]), cfg, ctx, device, False, 0),
                 dataclasses.replace(compute, channels_last=False), feature_seconds=f.seconds, features_reused=f.reused)


def distribute(stage: Stage, cfg: RunConfig, ctx: distributed.Context, device: torch.device,
               log: Callable[[str], None] = print) -> tuple[nn.Module, bool]:
    """The module the epoch loop calls, and whether its BatchNorm is synchronised. With several ranks:
    DistributedDataParallel around the stage, BatchNorm over the global batch first when BatchNorm layers
    train (finetune, scratch) and ``cfg.sync_bn``."""
    if not ctx.enabled:
        return stage.forward, False
    per_rank = per_rank_batch(cfg.batch_size, ctx.world_size)
    if per_rank * ctx.world_size != cfg.batch_size:
        log(f"batch size {cfg.batch_size} does not split over {ctx.world_size} processes: "
            f"each takes {per_rank} (global batch {per_rank * ctx.world_size})")
    sync = cfg.sync_bn and not stage.frozen and distributed.has_batchnorm(stage.forward)
    if sync:
        distributed.sync_batchnorm(stage.forward, device)
    ids = [device.index] if device.type == "cuda" else None
    return nn.parallel.DistributedDataParallel(stage.forward, device_ids=ids), sync
