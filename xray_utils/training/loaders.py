"""DataLoaders for training: shuffled shards per rank, and augmentation that is a pure function of
(run seed, epoch, image), so results do not depend on the number of loader workers, on resuming, or on how
many processes share the work under torchrun.
"""

from __future__ import annotations

import torch
from torch.utils.data import DataLoader, Dataset, DistributedSampler

from ..config import RunConfig
from . import distributed


class EpochSampler(DistributedSampler):
    """DistributedSampler (per-epoch shuffle, one shard per rank) that also hands the epoch to the dataset.

    It yields (index, epoch) pairs; SeededAugmentation turns them into a per-image seed. Works with one
    process too (num_replicas=1, rank=0, no process group needed). Every rank draws the same permutation
    and takes every W-th index of it, so the ranks' k-th batches together are the k-th global batch of a
    single process: the same images, whatever the world size.
    """

    def __iter__(self):
        for i in super().__iter__():
            yield (i, self.epoch)


class SeededAugmentation(Dataset):
    """Runs the wrapped dataset's random transforms under a seed derived from (run seed, epoch, index)."""

    def __init__(self, dataset: Dataset, seed: int):
        self.dataset, self.seed = dataset, seed

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, key):
        if isinstance(key, tuple):
            i, epoch = key
            # Only the CPU generator drives the transforms; torch.manual_seed would also visit every
            # accelerator backend, a third of the per-image cost of the cached data path.
            saved = torch.get_rng_state()
            try:
                torch.default_generator.manual_seed((self.seed * 1_000_003 + epoch * 7919 + i) % (2**63))
                return self.dataset[i]
            finally:
                torch.set_rng_state(saved)
        return self.dataset[key]


class FeatureViews(Dataset):
    """Stored backbone features; in epoch e the train set uses augmented view e % K."""

    def __init__(self, views: torch.Tensor, labels: torch.Tensor):
        self.views, self.labels = views, labels  # views: (K, N, ...)

    def __len__(self) -> int:
        return self.views.shape[1]

    def __getitem__(self, key):
        i, epoch = key if isinstance(key, tuple) else (key, 0)
        return self.views[epoch % len(self.views), i], self.labels[i]


class Keyed(Dataset):
    """``dataset[keys[j]]`` for j in range(len(keys)): a fixed list of (index, epoch) keys or indices."""

    def __init__(self, dataset: Dataset, keys: list):
        self.dataset, self.keys = dataset, keys

    def __len__(self) -> int:
        return len(self.keys)

    def __getitem__(self, j):
        return self.dataset[self.keys[j]]


def per_rank_batch(global_batch: int, world_size: int) -> int:
    """Each rank's share of ``--batch-size``, which is the global batch (rounded up when it does not split)."""
    return max(1, -(-global_batch // world_size))


def make_loader(dataset: Dataset, cfg: RunConfig, ctx: distributed.Context, device: torch.device,
                train: bool, workers: int) -> DataLoader:
    batch = per_rank_batch(cfg.batch_size, ctx.world_size) if train else cfg.batch_size
    sampler = EpochSampler(dataset, num_replicas=ctx.world_size, rank=ctx.rank, shuffle=True,
                           seed=cfg.seed) if train else None
    return DataLoader(
        dataset,
        batch_size=batch,
        sampler=sampler,
        shuffle=False,
        num_workers=workers,
        persistent_workers=workers > 0,
        pin_memory=device.type == "cuda",
        # its own generator, so creating loader iterators never consumes the global RNG (dropout's)
        generator=torch.Generator().manual_seed(cfg.seed),
        drop_last=False,
    )
