"""Frozen mode's backbone features: computed once, stored on disk, shared by every run that can use them.

A frozen backbone's output never changes, so a frozen run computes it once per split (K augmented views of
train) and trains the head on the stored tensors. They are kept in ``<cache dir>/features``, keyed by
everything that determines them: the backbone's architecture and weights, the split's files, image size,
resize mode, precision, device type, and for augmented views the seed and view index. The training split's
features are those of the FULL training set, before ``train_fraction`` takes its share: a learning curve's
frozen runs (and, without augmentation, every seed) then reuse one extraction and cost seconds each.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from torch.utils.data import DataLoader, Dataset

from .. import atomic, data, models
from ..compute import Compute
from ..config import RunConfig, default_cache_dir
from ..progress import Progress
from . import distributed
from .loaders import Keyed, SeededAugmentation

STORE_VERSION = 1


@dataclass
class FrozenFeatures:
    train: torch.Tensor  # (K views, N train images used, ...)
    val: torch.Tensor
    test: torch.Tensor
    seconds: float  # extracting, or reading from the store
    reused: int  # how many of the tensors came from the store


@torch.inference_mode()
def extract_features(model: models.XrayNet, dataset: Dataset, cfg: RunConfig, ctx: distributed.Context,
                     compute: Compute, workers: int, epoch: int = 0, desc: str = "features",
                     progress: Progress | None = None, work_after: float = 0.0) -> torch.Tensor:
    """Backbone output for every image (rank r computes rows r, r+W, ...; all ranks get all rows)."""
    model.backbone.eval()
    idx = list(range(ctx.rank, len(dataset), ctx.world_size))
    keys = [(i, epoch) for i in idx] if isinstance(dataset, SeededAugmentation) else idx
    loader = DataLoader(Keyed(dataset, keys), batch_size=cfg.batch_size, num_workers=workers,
                        pin_memory=compute.device.type == "cuda", generator=torch.Generator().manual_seed(cfg.seed))
    out = []
    batches = progress.track(loader, len(loader), desc, work_after) if progress else loader
    for x, _ in batches:
        with compute.autocast():
            f = model.backbone(compute.batch(x))
        out.append(f.float().cpu())
    rows = torch.cat(out) if out else torch.empty(0)
    return distributed.gather_rows(ctx, rows, len(dataset))


def frozen_features(model: models.XrayNet, splits: data.Splits, cfg: RunConfig, ctx: distributed.Context,
                    compute: Compute, workers: int, progress: Progress | None = None) -> FrozenFeatures:
    """The stored features of train (the run's share of the full training set), val and test."""
    t0 = time.perf_counter()
    full, rows = splits.full_train, splits.train_rows  # before train_fraction took its share; the run's rows
    views = cfg.feature_views if cfg.augment else 1
    base = _base_key(model, cfg, compute)
    jobs = [(full, True, v, f"features train {v + 1}/{views}") for v in range(views)]
    jobs += [(splits.val, False, 0, "features val"), (splits.test, False, 0, "features test")]
    batches = [-(-len(s) // max(1, cfg.batch_size * ctx.world_size)) for s, *_ in jobs]
    out, reused = [], 0
    for k, (split, train, view, desc) in enumerate(jobs):
        key = {**base, "split": split.name, "fingerprint": split.fingerprint(), "view": view}
        if train and cfg.augment:  # augmented views depend on the seed and the jitter; plain ones do not
            key.update(seed=cfg.seed, jitter=list(cfg.jitter))
        path = _store_path(cfg, key)
        f = _read(path, key) if distributed.all_true(ctx, path.exists()) else None
        if not distributed.all_true(ctx, f is not None):  # every rank computes, or none does
            dataset = data.make_dataset(split, cfg, train=train)
            dataset = SeededAugmentation(dataset, cfg.seed) if train else dataset
            f = extract_features(model, dataset, cfg, ctx, compute, workers, epoch=view, desc=desc,
                                 progress=progress, work_after=sum(batches[k + 1:]))
            if ctx.is_main:
                atomic.torch_save({"key": key, "features": _compact(f, compute.dtype)},
                                  path)
        else:
            reused += 1
        out.append(f)
    train_views = torch.stack(out[:views])[:, torch.as_tensor(rows, dtype=torch.long)]
    return FrozenFeatures(train_views, out[views], out[views + 1], time.perf_counter() - t0, reused)


def _base_key(model: models.XrayNet, cfg: RunConfig, compute: Compute) -> dict:
    return {
        "version": STORE_VERSION, "backbone": cfg.backbone,
        "architecture": hashlib.sha1(repr(model.backbone).encode()).hexdigest(),
        "weights": models.module_digest(model.backbone),
        "img_size": cfg.img_size, "resize": cfg.resize_size, "resize_mode": cfg.resize_mode,
        "decode_cache": cfg.decode_cache, "precision": compute.name,
        "channels_last": compute.channels_last, "device": compute.device.type,
    }


def _compact(f: torch.Tensor, dtype: torch.dtype | None) -> torch.Tensor:
    """``f`` in the compute dtype when that loses nothing: under autocast the backbone's output already was
    bf16/fp16, so the store (and a 224-px SqueezeNet's 338 KiB feature map per image) takes half the space."""
    if dtype is not None:
        low = f.to(dtype)
        if torch.equal(low.float(), f):
            return low
    return f


def _store_path(cfg: RunConfig, key: dict) -> Path:
    digest = hashlib.sha1(json.dumps(key, sort_keys=True).encode()).hexdigest()[:24]
    return default_cache_dir(cfg) / "features" / f"{key['backbone']}-{key['split']}-{digest}.pt"


def _read(path: Path, key: dict) -> torch.Tensor | None:
    """The stored tensor, or None when the file is unreadable or holds other features (then recomputed)."""
    try:
        stored = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:
        return None
    return stored["features"].float() if stored.get("key") == key else None
