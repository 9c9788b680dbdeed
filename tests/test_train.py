"""End-to-end runs of `xray train` on tiny synthetic phantoms (CPU, seconds each)."""

import errno
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

from xray_utils import cli, models, progress
from xray_utils.config import RunConfig
from xray_utils.errors import XrayError
from xray_utils.runs import load_run
from xray_utils.training import train

TINY = dict(dataset="synthetic", synthetic_train=96, synthetic_test=48, img_size=32, batch_size=16,
            weights="none", progress=False, num_workers=0)
# how a run went, not what it found: they differ between two runs that give the same model
TIMING_KEYS = {"train_seconds", "train_images_per_s", "timings", "device", "torch", "features_reused"}


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
    # the test loss is the homework's CrossEntropyLoss, recomputable from the stored logits
    logits = torch.tensor(preds[["logit_normal", "logit_pneumonia"]].to_numpy(), dtype=torch.float64)
    ce = torch.nn.CrossEntropyLoss()(logits, torch.tensor(preds["label"].to_numpy()))
    assert metrics["test"]["loss"] == pytest.approx(float(ce), rel=1e-8)
    assert {"logit_normal", "logit_pneumonia"} <= set(pd.read_csv(out / "val_predictions.csv").columns)
    assert metrics["params_trainable"] == 512 * 2 + 2  # frozen: only the 1x1 conv head trains
    assert 0 <= metrics["threshold_youden"] <= 1 and "ci" in metrics["test_youden"]
    # what bench and the report read: timings, the selection rule, the settings that took effect
    timings = metrics["timings"]
    assert set(timings) == {"setup_s", "feature_extraction_s", "epochs_s", "evaluation_s", "total_s"}
    assert len(timings["epochs_s"]) == 2 and timings["feature_extraction_s"] > 0
    assert timings["total_s"] >= timings["setup_s"] + sum(timings["epochs_s"]) + timings["evaluation_s"]
    assert (metrics["select"], metrics["selected_epoch"]) == ("best", metrics["best_epoch"])
    assert metrics["sync_bn"] is False and metrics["train_fraction"] == 1.0 and metrics["world_size"] == 1
    assert metrics["bootstrap"]["unit"] == "patient"  # the synthetic test set has two images per patient
    assert 0 < metrics["n_train_patients"] < metrics["n"]["train"]
    # predictions name each image's patient; the run's log holds what it printed
    run = load_run(out)
    assert list(run.patients) == list(preds["patient"].astype(str)) and len(set(run.patients)) < len(run.patients)
    log = (out / "train.log").read_text()
    assert "split sizes: train" in log and "epoch 2/2" in log and "test accuracy" in log


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
    best = torch.load(tmp_path / "slow" / "best.pt", weights_only=True)["model"]
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
    last = torch.load(tmp_path / "cut" / "last.pt", weights_only=True)
    assert set(last["trained"]) == set(models.build_model("squeezenet1_1", "frozen", None, 0.5).head.state_dict())
    lines = []
    resumed = train.fit(cfg, tmp_path / "cut", log=lines.append)
    assert any("resuming" in str(m) and "after epoch 2" in str(m) for m in lines)
    whole = train.fit(cfg, tmp_path / "whole", log=lambda _m: None)
    assert stable(resumed) == stable(whole)
    best_cut = torch.load(tmp_path / "cut" / "best.pt", weights_only=True)["model"]
    best_whole = torch.load(tmp_path / "whole" / "best.pt", weights_only=True)["model"]
    assert best_cut.keys() == best_whole.keys()  # the whole model, backbone included
    assert all(torch.equal(best_cut[k], best_whole[k]) for k in best_cut)


@pytest.mark.parametrize("argv, message, exit_code", [
    (["--lr", "0"], "invalid lr", 2),  # a setting: usage error
    (["--epochs", "0"], "invalid epochs", 2),
    (["--mode", "scratch", "--weights", "imagenet"], "scratch", 2),
    (["--weights", "/nonexistent/resnet18.pth"], "weights file not found", 2),
    (["--dataset", "folder", "--data-dir", "/nonexistent/chest_xray"], "/nonexistent/chest_xray", 1),  # runtime
])
def test_bad_input_is_one_clear_message(tmp_path, capsys, argv, message, exit_code):
    code = cli.main(["train", "--dataset", "synthetic", "--no-progress", *argv, "--out", str(tmp_path / "r")])
    err = capsys.readouterr().err
    assert code == exit_code
    assert message in err and "Traceback" not in err


def test_a_diverged_run_is_a_clear_error_not_a_missing_checkpoint(tmp_path, monkeypatch):
    monkeypatch.setattr(train, "loss_and_accuracy", lambda pred: (float("nan"), 0.5))
    cfg = RunConfig(**TINY, backbone="squeezenet1_1", mode="frozen", epochs=2)
    with pytest.raises(XrayError, match="diverged") as e:
        train.fit(cfg, tmp_path / "r", log=lambda _m: None)
    assert "--lr" in e.value.hint
    assert not (tmp_path / "r" / "COMPLETE").exists()


def test_select_last_evaluates_the_last_epoch_and_best_the_lowest_validation_loss(tmp_path, monkeypatch):
    val_losses = iter([0.5, 0.7, 0.9] * 2)  # epoch 1 is the best; the last is epoch 3
    real = train.loss_and_accuracy
    monkeypatch.setattr(train, "loss_and_accuracy", lambda pred: (next(val_losses), real(pred)[1]))
    cfg = RunConfig(**TINY, backbone="squeezenet1_1", mode="frozen", epochs=3, lr=1e-2)
    best = train.fit(cfg, tmp_path / "best", log=lambda _m: None)
    last = train.fit(cfg.replace(select="last"), tmp_path / "last", log=lambda _m: None)
    assert (best["select"], best["selected_epoch"], best["best_epoch"]) == ("best", 1, 1)
    assert (last["select"], last["selected_epoch"], last["best_epoch"]) == ("last", 3, 1)
    # best.pt holds the evaluated weights: for "last", the head of the last epoch's checkpoint
    saved = torch.load(tmp_path / "last" / "best.pt", weights_only=True)
    head = torch.load(tmp_path / "last" / "last.pt", weights_only=True)["trained"]
    assert saved["epoch"] == 3 and all(torch.equal(saved["model"]["head." + k], v) for k, v in head.items())
    p_best = pd.read_csv(tmp_path / "best" / "predictions.csv")["p_pneumonia"]
    p_last = pd.read_csv(tmp_path / "last" / "predictions.csv")["p_pneumonia"]
    assert (p_best - p_last).abs().max() > 1e-4  # two different models were evaluated


def test_a_full_disk_ends_in_one_message_and_keeps_the_last_checkpoint(tmp_path, capsys, monkeypatch):
    real_save, saves = torch.save, []

    def full_disk_at_epoch_2(obj, f, *args, **kwargs):
        if ".last.pt." in str(getattr(f, "name", "")):
            saves.append(obj["state"]["epoch"])
            if obj["state"]["epoch"] == 2:
                f.write(b"half a checkpoint")
                raise OSError(errno.ENOSPC, "No space left on device")
        return real_save(obj, f, *args, **kwargs)

    monkeypatch.setattr(torch, "save", full_disk_at_epoch_2)
    out = tmp_path / "r"
    code = cli.main(["train", "--dataset", "synthetic", "--backbone", "squeezenet1_1", "--mode", "frozen",
                     "--weights", "none", "--epochs", "3", "--img-size", "32", "--no-progress",
                     "--num-workers", "0", "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 1 and saves == [1, 2]
    assert f"error: cannot write last.pt: no space left on {out}" in err and "fix:" in err
    assert "Traceback" not in err
    assert not (out / "COMPLETE").exists()
    assert torch.load(out / "last.pt", weights_only=True)["state"]["epoch"] == 1  # still loadable
    assert sorted(p.name for p in out.glob(".*.tmp")) == []


def test_progress_lines_and_the_duration_estimate_when_not_on_a_terminal(tmp_path, monkeypatch):
    monkeypatch.setattr(progress, "LINE_INTERVAL_S", 0.0)  # every batch, instead of every 30 s
    monkeypatch.setattr(progress, "ESTIMATE_ABOVE_S", 0.0)  # announce even this short run
    monkeypatch.setattr(progress, "on_terminal", lambda: False)  # as under papermill, whatever runs pytest
    cpu_only = classmethod(lambda cls, _device, amp, _rank=0: cls.decide("cpu", amp))  # the estimate is CPU's
    monkeypatch.setattr(train.Compute, "for_run", cpu_only)
    lines = []
    cfg = RunConfig(**{**TINY, "progress": True}, backbone="squeezenet1_1", mode="finetune", epochs=1)
    train.fit(cfg, tmp_path / "r", log=lines.append)
    batch_lines = [m for m in lines if ": epoch 1/1, batch " in m]
    assert batch_lines and all(m.startswith("squeezenet1_1-finetune: ") and "images/s" in m and "ETA" in m
                               for m in batch_lines)
    assert sum("estimated duration" in m for m in lines) == 1
    log = (tmp_path / "r" / "train.log").read_text()
    assert batch_lines[0] in log and "estimated duration" in log


def test_progress_bar_on_a_terminal_prints_no_lines():
    lines = []
    show = progress.Progress(lines.append, "run", epochs=2, terminal=True, interval=0.0)
    batches = [(torch.zeros(4, 1), torch.zeros(4)) for _ in range(8)]
    assert len(list(show.track(batches, len(batches), "epoch 1/2"))) == 8
    assert lines == []  # the bar shows it; lines would cut through it


def test_frozen_runs_share_one_feature_extraction_across_training_fractions(tmp_path):
    base = RunConfig(**TINY, backbone="squeezenet1_1", mode="frozen", epochs=2, augment=False, lr=1e-2,
                     cache_dir=str(tmp_path / "cache"))
    full = train.fit(base, tmp_path / "full", log=lambda _m: None)
    lines = []
    half = train.fit(base.replace(train_fraction=0.5), tmp_path / "half", log=lines.append)
    assert any("3 of 3 read from the feature store" in m for m in lines)
    assert half["timings"]["feature_extraction_s"] < full["timings"]["feature_extraction_s"]
    assert full["features_reused"] == 0 and half["features_reused"] == 3  # the report marks half's images/s
    assert half["n"]["train"] < full["n"]["train"] and half["n"]["test"] == full["n"]["test"]
    again = train.fit(base, tmp_path / "again", log=lambda _m: None)  # stored features give the same run
    assert stable(again) == stable(full)
    # the same run as one that computes its own features image by image (the homework's slow path)
    slow = train.fit(base.replace(train_fraction=0.5, feature_cache=False), tmp_path / "slow", log=lambda _m: None)
    p_half = pd.read_csv(tmp_path / "half" / "predictions.csv")["p_pneumonia"]
    p_slow = pd.read_csv(tmp_path / "slow" / "predictions.csv")["p_pneumonia"]
    assert slow["n"] == half["n"] and (p_half - p_slow).abs().max() < 1e-4
