"""torchrun with two CPU processes (gloo) trains one run; rank 0 writes it; shards are disjoint; the global
batch and its BatchNorm statistics are those of one process, so a run means the same at any world size."""

import json
import os
import shutil
import subprocess
import sys

import pytest
import torch

from xray_utils import data
from xray_utils.compute import Compute
from xray_utils.config import RunConfig
from xray_utils.training import distributed, train
from xray_utils.training.loaders import EpochSampler, make_loader

TORCHRUN = os.path.join(os.path.dirname(sys.executable), "torchrun")
needs_torchrun = pytest.mark.skipif(shutil.which("torchrun", path=os.path.dirname(sys.executable)) is None,
                                    reason="torchrun not installed")

ARGS = ["--dataset", "synthetic", "--backbone", "squeezenet1_1", "--mode", "frozen", "--weights", "none",
        "--epochs", "2", "--img-size", "32", "--no-progress", "--num-workers", "0", "--batch-size", "16"]


def test_two_ranks_see_disjoint_shards_that_cover_the_data():
    data = list(range(37))
    seen = []
    for rank in range(2):
        sampler = EpochSampler(data, num_replicas=2, rank=rank, shuffle=True, seed=0)
        sampler.set_epoch(3)
        seen.append([i for i, epoch in sampler])
        assert all(epoch == 3 for _, epoch in sampler)
    # DistributedSampler pads the shorter shard with one repeated index; apart from that, disjoint
    assert len(set(seen[0]) & set(seen[1])) <= 1
    assert set(seen[0]) | set(seen[1]) == set(data)
    sampler.set_epoch(4)
    assert [i for i, _ in sampler] != seen[1]  # reshuffled each epoch


def test_batch_size_is_the_global_batch_split_over_ranks():
    cfg = RunConfig(batch_size=16, seed=3, num_workers=0)

    class Indices(torch.utils.data.Dataset):  # yields the index the sampler asked for
        def __len__(self):
            return 40

        def __getitem__(self, key):
            return key[0]

    dataset = Indices()

    def first_batch(world_size: int, rank: int) -> list[int]:
        loader = make_loader(dataset, cfg, distributed.Context(rank=rank, world_size=world_size),
                             torch.device("cpu"), train=True, workers=0)
        loader.sampler.set_epoch(1)
        assert loader.batch_size == 16 // world_size
        return next(iter(loader)).tolist()

    one = first_batch(1, 0)
    assert len(one) == 16
    assert sorted(first_batch(2, 0) + first_batch(2, 1)) == sorted(one)  # the same 16 images, split in two


@pytest.mark.slow
@needs_torchrun
def test_torchrun_two_processes_matches_one(tmp_path):
    torchrun = TORCHRUN
    out = tmp_path / "ddp"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    proc = subprocess.run([torchrun, "--standalone", "--nproc_per_node", "2", "-m", "xray_utils.cli", "train",
                           *ARGS, "--out", str(out)], env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert (out / "COMPLETE").exists()
    config = json.loads((out / "config.json").read_text())
    assert config["world_size"] == 2 and config["sync_bn"] is True  # recorded; frozen mode trains no BatchNorm
    assert json.loads((out / "metrics.json").read_text())["sync_bn"] is False  # so none was converted
    assert proc.stdout.count("split sizes:") == 1  # only rank 0 prints

    single = train.fit(RunConfig(dataset="synthetic", backbone="squeezenet1_1", mode="frozen", weights="none",
                                 epochs=2, img_size=32, batch_size=16, progress=False, num_workers=0),
                       tmp_path / "single", log=lambda _m: None)
    ddp = json.loads((out / "metrics.json").read_text())
    assert ddp["n"] == single["n"]
    assert abs(ddp["test"]["accuracy"] - single["test"]["accuracy"]) <= 0.05
    assert abs(ddp["test"]["loss"] - single["test"]["loss"]) <= 0.05


class Interrupted(Exception):
    pass


@pytest.mark.slow
@needs_torchrun
def test_torchrun_resumes_an_interrupted_run_from_its_checkpoint(tmp_path):
    cfg = RunConfig(dataset="synthetic", backbone="squeezenet1_1", mode="finetune", weights="none", epochs=2,
                    img_size=32, batch_size=16, progress=False, num_workers=0)

    def stop_after_epoch_1(msg):
        if str(msg).startswith("epoch 1/2"):
            raise Interrupted

    out = tmp_path / "run"
    with pytest.raises(Interrupted):
        train.fit(cfg, out, log=stop_after_epoch_1)
    first_epoch = (out / "history.csv").read_text().splitlines()[1]
    torchrun = TORCHRUN
    args = ["--dataset", "synthetic", "--backbone", "squeezenet1_1", "--mode", "finetune", "--weights", "none",
            "--epochs", "2", "--img-size", "32", "--batch-size", "16", "--no-progress", "--num-workers", "0"]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    proc = subprocess.run([torchrun, "--standalone", "--nproc_per_node", "2", "-m", "xray_utils.cli", "train",
                           *args, "--out", str(out)], env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert proc.stdout.count("resuming") == 1 and proc.stdout.count("run directory:") == 1
    assert (out / "COMPLETE").exists()
    history = (out / "history.csv").read_text().splitlines()
    assert len(history) == 3 and history[1] == first_epoch  # epoch 1 kept, epoch 2 trained by both ranks
    assert json.loads((out / "config.json").read_text())["world_size"] == 2


def _torchrun_train(cfg: RunConfig, out, *flags: str) -> subprocess.CompletedProcess:
    cfg.save(out.parent / f"{out.name}.json")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    proc = subprocess.run([TORCHRUN, "--standalone", "--nproc_per_node", "2", "-m", "xray_utils.cli", "train",
                           "--config", str(out.parent / f"{out.name}.json"), *flags, "--out", str(out)],
                          env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


@pytest.mark.slow
@needs_torchrun
def test_one_step_at_world_size_2_gives_the_weights_of_world_size_1(tmp_path):
    """SyncBatchNorm: BatchNorm statistics over the global batch, gradients averaged over ranks; with
    augmentation off and dropout 0, one step of ResNet18 from scratch is the same at 1 and 2 processes."""
    cfg = RunConfig(dataset="synthetic", synthetic_train=40, synthetic_test=8, backbone="resnet18", mode="scratch",
                    weights="none", epochs=1, img_size=32, augment=False, dropout=0.0, optimizer="sgd", lr=0.1,
                    amp="off", progress=False, num_workers=0)
    n_train = len(data.load_splits(cfg).train)
    assert n_train % 2 == 0
    cfg = cfg.replace(batch_size=n_train)  # one step: the whole training set is the global batch
    train.fit(cfg, tmp_path / "one", log=lambda _m: None)
    _torchrun_train(cfg, tmp_path / "two")
    _torchrun_train(cfg, tmp_path / "unsynced", "--no-sync-bn")

    def weights(name):
        return torch.load(tmp_path / name / "last.pt", weights_only=True)["trained"]

    one, two, unsynced = weights("one"), weights("two"), weights("unsynced")
    start = train.make_model(cfg, Compute.decide("cpu", cfg.amp)).state_dict()
    moved = max((one[k].float() - start[k].float()).abs().max().item() for k in one)
    gap = max((one[k].float() - two[k].float()).abs().max().item() for k in one)
    gap_unsynced = max((one[k].float() - unsynced[k].float()).abs().max().item() for k in one)
    assert moved > 1e-2  # the step changed the weights
    assert gap < 1e-5, f"world size 2 differs from 1 by {gap}"
    assert gap_unsynced > 100 * max(gap, 1e-7)  # per-rank statistics: a different experiment
    metrics = json.loads((tmp_path / "two" / "metrics.json").read_text())
    assert metrics["sync_bn"] is True and metrics["world_size"] == 2
    assert json.loads((tmp_path / "unsynced" / "metrics.json").read_text())["sync_bn"] is False
    assert json.loads((tmp_path / "two" / "config.json").read_text())["world_size"] == 2
