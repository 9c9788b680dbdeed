"""amp_parity: does the default precision (bf16 autocast + channels_last on a CPU with native bf16) learn as
well as fp32, and how much faster is it? Two real trainings on the Kaggle images, one per precision, same
seed, data and settings; test accuracy and ROC-AUC with their patient-level intervals, and the paired
difference on the same test images."""

from __future__ import annotations

import time
from pathlib import Path

import fullsize_data
import numpy as np
from common import CPU, TARGETS, entry, fit_timings, r3, say, warm_up

from xray_utils import data, evaluate, runs
from xray_utils.compute import Compute
from xray_utils.config import RunConfig
from xray_utils.training import train

SIDES = ("fp32", "default")


def _run(cfg: RunConfig, run_dir: Path) -> dict:
    t0 = time.perf_counter()
    metrics = train.fit(cfg, run_dir, force=True, log=lambda _msg: None)
    wall = time.perf_counter() - t0
    timings = fit_timings(run_dir)
    test = metrics["test"]
    ci = test.get("ci") or {}
    return {
        "compute_dtype": metrics.get("compute_dtype"),
        "epochs_s": [r3(s) for s in timings["epochs_s"]], "train_and_val_s": r3(sum(timings["epochs_s"])),
        "train_images_per_s": metrics.get("train_images_per_s"), "fit_wall_s": r3(wall),
        "test_accuracy": test["accuracy"], "test_accuracy_ci": ci.get("accuracy"),
        "test_roc_auc": test.get("roc_auc"), "test_roc_auc_ci": ci.get("roc_auc"),
        "test_loss": test.get("loss"), "selected_epoch": metrics.get("selected_epoch", metrics.get("best_epoch")),
        "intervals": metrics.get("bootstrap"),  # how the run's intervals were made (patients or images)
    }


def _inside(x: float | None, interval: list[float] | None) -> bool | None:
    if x is None or not interval:
        return None
    return bool(interval[0] <= x <= interval[1])


def _paired(dirs: dict[str, Path]) -> dict:
    """default minus fp32 on the same test images: accuracy difference with a patient-level paired
    bootstrap interval, and the exact patient-level sign-flip p-value of 'equally accurate'."""
    loaded = {s: runs.load_run(d) for s, d in dirs.items()}
    y = loaded["fp32"].y
    if not np.array_equal(y, loaded["default"].y):
        raise RuntimeError("amp_parity: the two runs were tested on different images")
    patients = loaded["fp32"].patients
    p = {s: loaded[s].p for s in SIDES}
    diff = evaluate.paired_bootstrap_diff(y, p["default"], p["fp32"], groups=patients)
    sign_flip = evaluate.cluster_sign_flip_test((p["default"] >= 0.5) == y, (p["fp32"] >= 0.5) == y,
                                                groups=patients)
    return {"accuracy_diff_default_minus_fp32": diff, "sign_flip_test": sign_flip,
            "n_test_images": int(len(y)), "n_test_patients": int(len(set(patients)))}


def bench_amp(sz: dict, work: Path) -> dict:
    timed = ("two train.fit runs, fp32 (amp=off) and the default precision (amp=auto), identical otherwise "
             "(same seed, data, decode cache built before either); speed = fp32's training + validation seconds "
             "(sum of metrics.json timings.epochs_s) / the default's. Accuracy and ROC-AUC on the test set at "
             "the selected epoch, with the run's own bootstrap intervals")
    default = Compute.decide(CPU, "auto").dtype
    if not fullsize_data.SAMPLE.is_dir():
        return entry("amp_parity", None, sz, 0, {}, timed, status="skipped",
                     reason=f"the real images are not there ({fullsize_data.SAMPLE}); parity is only "
                            "meaningful on real X-rays")
    if default is None:
        return entry("amp_parity", None, sz, 0, {}, timed, status="skipped",
                     reason="the default precision on this CPU is fp32 (no native bf16): nothing to compare")
    base = RunConfig(dataset="folder", data_dir=str(fullsize_data.SAMPLE), backbone=sz["backbone"],
                     mode="scratch", weights="none", img_size=sz["img_size"], epochs=sz["epochs"],
                     batch_size=sz["batch_size"], train_fraction=sz["train_fraction"],
                     cache_dir=str(work / "amp-cache"), progress=False)
    cfgs = {"fp32": base.replace(amp="off"), "default": base}
    t = time.perf_counter()
    splits = data.load_splits(base)  # the decode cache both sides read (not timed)
    say(f"  {len(splits.train)} train / {len(splits.val)} val / {len(splits.test)} test images, decode cache "
        f"{time.perf_counter() - t:.0f} s")
    warm_up(sz["backbone"], sz["img_size"], sz["batch_size"])
    dirs = {s: work / f"amp-{s}" for s in SIDES}
    res = {}
    for side in SIDES:
        res[side] = _run(cfgs[side], dirs[side])
        say(f"  {side:<8} {res[side]['compute_dtype']}: {res[side]['train_and_val_s']:.1f} s, test accuracy "
            f"{res[side]['test_accuracy']:.3f}, ROC-AUC {res[side]['test_roc_auc']:.3f}")
    paired = _paired(dirs)
    speed = res["fp32"]["train_and_val_s"] / res["default"]["train_and_val_s"]
    diff = paired["accuracy_diff_default_minus_fp32"]
    auc = {s: res[s]["test_roc_auc"] for s in SIDES}
    within = {
        "accuracy_diff_interval_contains_0": _inside(0.0, [diff["lo"], diff["hi"]]),
        "default_auc_inside_fp32_interval": _inside(auc["default"], res["fp32"]["test_roc_auc_ci"]),
        "fp32_auc_inside_default_interval": _inside(auc["fp32"], res["default"]["test_roc_auc_ci"]),
    }
    parity = all(v is not False for v in within.values())
    target = TARGETS["amp_parity"][1]
    return entry(
        "amp_parity", speed, {**sz, "data": str(fullsize_data.SAMPLE), "images": {
            "train": len(splits.train), "val": len(splits.val), "test": len(splits.test)}},
        repeats=1, raw=res, timed=timed, ok=bool(speed >= target and parity),
        compute_dtype={s: res[s]["compute_dtype"] for s in SIDES},
        test_accuracy={s: res[s]["test_accuracy"] for s in SIDES},
        test_accuracy_ci={s: res[s]["test_accuracy_ci"] for s in SIDES},
        test_roc_auc=auc, test_roc_auc_ci={s: res[s]["test_roc_auc_ci"] for s in SIDES},
        paired=paired, within_noise=within, parity=parity,
        secondary={"  accuracy default - fp32": (diff["diff"], "pp"),
                   "  ROC-AUC default - fp32": (auc["default"] - auc["fp32"], "diff")},
        note=f"ok means: the default is at least {target:g}x faster AND no difference exceeds the test-set uncertainty "
             "(the paired accuracy interval contains 0 and each ROC-AUC lies in the other's interval). One run "
             "per precision: two trajectories that differ only in rounding drift apart like two seeds, so this "
             "checks that bf16 loses nothing beyond run-to-run noise, not that the runs are identical.",
    )
