"""End-to-end runs of `xray train` on tiny synthetic phantoms (CPU, seconds each)."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import torch

from xray_utils import cli, models, train
from xray_utils.config import RunConfig
from xray_utils.errors import XrayError

TINY = dict(dataset="synthetic", synthetic_train=96, synthetic_test=48, img_size=32, batch_size=16,
            weights="none", progress=False, num_workers=0)
TIMING_KEYS = {"train_seconds", "train_images_per_s", "timings", "device", "torch"}


def run_files(out: Path) -> set[str]:
    return {p.name for p in out.iterdir()}


def stable(metrics: dict) -> dict:
    return {k: v for k, v in metrics.items() if k not in TIMING_KEYS}


def test_cli_train_writes_a_complete_run_directory(tmp_path, capsys):
    out = tmp_path / "r"
    code = cli.main(["train", "--dataset", "synthetic", "--backbone", "squeezenet1_1", "--mode", "frozen",
                     "--weights", "none", "--epochs", "2", "--img-size", "32", "--no-progress",
                     "--num-workers", "0", "--out", str(out)])
    assert code == 0
    assert {"config.json", "history.csv", "metrics.json", "predictions.csv", "val_predictions.csv",
            "best.pt", "last.pt", "COMPLETE"} <= run_files(out)
    printed = capsys.readouterr().out
    assert "split sizes: train" in printed and "test accuracy" in printed
    history = pd.read_csv(out / "history.csv")
    assert list(history["epoch"]) == [1, 2]
    metrics = json.loads((out / "metrics.json").read_text())
    preds = pd.read_csv(out / "predictions.csv")
    assert len(preds) == metrics["n"]["test"] == metrics["test"]["n"]
    assert metrics["test"]["accuracy"] == pytest.approx((preds["prediction"] == preds["label"]).mean())
    assert metrics["params_trainable"] == 512 * 2 + 2  # frozen: only the 1x1 conv head trains
    assert 0 <= metrics["threshold_youden"] <= 1 and "ci" in metrics["test_youden"]


def test_training_learns_the_synthetic_task(tmp_path):
    cfg = RunConfig(**TINY, backbone="resnet18", mode="scratch", epochs=3, lr=1e-3)
    metrics = train.fit(cfg, tmp_path / "r", log=lambda _m: None)
    majority = max(metrics["test"]["confusion_matrix"][0][0] + metrics["test"]["confusion_matrix"][0][1],
                   metrics["test"]["confusion_matrix"][1][0] + metrics["test"]["confusion_matrix"][1][1])
    assert metrics["test"]["accuracy"] > majority / metrics["test"]["n"] + 0.1
    assert metrics["test"]["roc_auc"] > 0.85


def test_same_seed_same_metrics_and_complete_run_is_not_redone(tmp_path):
    cfg = RunConfig(**TINY, backbone="squeezenet1_1", mode="finetune", epochs=2)
    a = train.fit(cfg, tmp_path / "a", log=lambda _m: None)
    b = train.fit(cfg, tmp_path / "b", log=lambda _m: None)
    assert stable(a) == stable(b)
    before = (tmp_path / "a" / "metrics.json").stat().st_mtime_ns
    train.fit(cfg, tmp_path / "a", log=lambda _m: None)
    assert (tmp_path / "a" / "metrics.json").stat().st_mtime_ns == before


def test_frozen_feature_cache_matches_the_slow_path(tmp_path):
    cfg = RunConfig(**TINY, backbone="resnet18", mode="frozen", epochs=2, augment=False, lr=1e-3)
    fast = train.fit(cfg, tmp_path / "fast", log=lambda _m: None)
    slow = train.fit(cfg.replace(feature_cache=False), tmp_path / "slow", log=lambda _m: None)
    p_fast = pd.read_csv(tmp_path / "fast" / "predictions.csv")["p_pneumonia"]
    p_slow = pd.read_csv(tmp_path / "slow" / "predictions.csv")["p_pneumonia"]
    assert (p_fast - p_slow).abs().max() < 1e-4
    assert fast["test"]["accuracy"] == slow["test"]["accuracy"]
    # and the frozen backbone really is untouched by training
    best = torch.load(tmp_path / "slow" / "best.pt", weights_only=False)["model"]
    torch.manual_seed(cfg.seed)  # as fit() does before building the model
    fresh = models.build_model("resnet18", "frozen", None, 0.5)
    for k, v in fresh.backbone.state_dict().items():
        assert torch.equal(best["backbone." + k], v), k


def test_resume_after_sigkill_gives_identical_metrics(tmp_path):
    args = ["train", "--dataset", "synthetic", "--backbone", "squeezenet1_1", "--mode", "finetune",
            "--weights", "none", "--epochs", "4", "--img-size", "32", "--batch-size", "16", "--no-progress",
            "--num-workers", "0", "--config", str(tmp_path / "base.json")]
    RunConfig(dataset="synthetic", synthetic_train=96, synthetic_test=48).save(tmp_path / "base.json")
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    cmd = [sys.executable, "-m", "xray_utils.cli", *args]
    killed = tmp_path / "killed"
    proc = subprocess.Popen([*cmd, "--out", str(killed)], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    deadline = time.time() + 240
    while time.time() < deadline:  # kill it once two epochs are checkpointed
        hist = killed / "history.csv"
        if hist.exists() and len(hist.read_text().strip().splitlines()) >= 3:
            break
        if proc.poll() is not None:
            pytest.fail("run finished before it could be killed:\n" + proc.stdout.read())
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (killed / "COMPLETE").exists()
    resumed = subprocess.run([*cmd, "--out", str(killed)], env=env, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming" in resumed.stdout
    whole = subprocess.run([*cmd, "--out", str(tmp_path / "whole")], env=env, capture_output=True, text=True,
                           timeout=300)
    assert whole.returncode == 0, whole.stderr
    m_killed = json.loads((killed / "metrics.json").read_text())
    m_whole = json.loads((tmp_path / "whole" / "metrics.json").read_text())
    assert stable(m_killed) == stable(m_whole)
    assert (killed / "predictions.csv").read_text() == (tmp_path / "whole" / "predictions.csv").read_text()


class Interrupted(Exception):
    pass


def test_frozen_run_resumes_from_head_only_checkpoints(tmp_path):
    """Frozen mode checkpoints only the head each epoch; an interrupted run still ends identical."""
    cfg = RunConfig(**TINY, backbone="squeezenet1_1", mode="frozen", epochs=4, lr=1e-3)

    def stop_after_epoch_2(msg):
        if str(msg).startswith("epoch 2/4"):
            raise Interrupted

    with pytest.raises(Interrupted):
        train.fit(cfg, tmp_path / "cut", log=stop_after_epoch_2)
    last = torch.load(tmp_path / "cut" / "last.pt", weights_only=False)
    assert set(last["trained"]) == set(models.build_model("squeezenet1_1", "frozen", None, 0.5).head.state_dict())
    lines = []
    resumed = train.fit(cfg, tmp_path / "cut", log=lines.append)
    assert any("resuming" in str(m) and "after epoch 2" in str(m) for m in lines)
    whole = train.fit(cfg, tmp_path / "whole", log=lambda _m: None)
    assert stable(resumed) == stable(whole)
    best_cut = torch.load(tmp_path / "cut" / "best.pt", weights_only=False)["model"]
    best_whole = torch.load(tmp_path / "whole" / "best.pt", weights_only=False)["model"]
    assert best_cut.keys() == best_whole.keys()  # the whole model, backbone included
    assert all(torch.equal(best_cut[k], best_whole[k]) for k in best_cut)


@pytest.mark.parametrize("argv, message", [
    (["--lr", "0"], "invalid lr"),
    (["--epochs", "0"], "invalid epochs"),
    (["--mode", "scratch", "--weights", "imagenet"], "scratch"),
    (["--weights", "/nonexistent/resnet18.pth"], "weights file not found"),
    (["--dataset", "folder", "--data-dir", "/nonexistent/chest_xray"], "/nonexistent/chest_xray"),
])
def test_bad_input_is_one_clear_message(tmp_path, capsys, argv, message):
    code = cli.main(["train", "--dataset", "synthetic", "--no-progress", *argv, "--out", str(tmp_path / "r")])
    err = capsys.readouterr().err
    assert code == 2
    assert message in err and "Traceback" not in err


def test_a_diverged_run_is_a_clear_error_not_a_missing_checkpoint(tmp_path, monkeypatch):
    monkeypatch.setattr(train, "loss_and_accuracy", lambda y, p: (float("nan"), 0.5))
    cfg = RunConfig(**TINY, backbone="squeezenet1_1", mode="frozen", epochs=2)
    with pytest.raises(XrayError, match="diverged") as e:
        train.fit(cfg, tmp_path / "r", log=lambda _m: None)
    assert "--lr" in e.value.hint
    assert not (tmp_path / "r" / "COMPLETE").exists()
