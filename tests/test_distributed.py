"""torchrun with two CPU processes (gloo) trains one run; rank 0 writes it; shards are disjoint."""

import json
import os
import shutil
import subprocess
import sys

import pytest
import torch

from xray_utils import train
from xray_utils.config import RunConfig
from xray_utils.train import EpochSampler

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


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("torchrun", path=os.path.dirname(sys.executable)) is None,
                    reason="torchrun not installed")
def test_torchrun_two_processes_matches_one(tmp_path):
    torchrun = os.path.join(os.path.dirname(sys.executable), "torchrun")
    out = tmp_path / "ddp"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    proc = subprocess.run([torchrun, "--standalone", "--nproc_per_node", "2", "-m", "xray_utils.cli", "train",
                           *ARGS, "--out", str(out)], env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert (out / "COMPLETE").exists()
    config = json.loads((out / "config.json").read_text())
    assert config["world_size"] == 2
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
@pytest.mark.skipif(shutil.which("torchrun", path=os.path.dirname(sys.executable)) is None,
                    reason="torchrun not installed")
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
    torchrun = os.path.join(os.path.dirname(sys.executable), "torchrun")
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
