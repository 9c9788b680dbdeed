"""What every measurement of `make bench` shares: where results go, the targets, the result entry, the
interleaving of repeats, and the timings of one `train.fit`, read from the metrics.json it writes."""

from __future__ import annotations

import json
import statistics
import time
from pathlib import Path

import torch

from xray_utils import models
from xray_utils.config import RunConfig, default_project_dir
from xray_utils.training import train

PROJECT = default_project_dir()
BENCH_DIR = PROJECT / "reports" / "bench"
CPU = torch.device("cpu")
TIMING_KEYS = ("setup_s", "feature_extraction_s", "epochs_s", "evaluation_s", "total_s")

TARGETS = {  # name: (comparison, target, unit)
    "frozen_cache_speedup": (">=", 8.0, "x"),
    "decode_cache_speedup": (">=", 5.0, "x"),
    "loop_efficiency": (">=", 0.85, "ratio"),
    "amp_parity": (">=", 1.5, "x"),
    "channels_last_fp32": (">=", 1.0, "x"),
    "demo_wall_s": ("<=", 300.0, "s"),
}


def say(msg: str) -> None:
    print(msg, flush=True)


def median(xs: list[float]) -> float:
    return float(statistics.median(xs))


def r3(x: float) -> float:
    return round(float(x), 3)


def interleaved(repeats: int, sides: tuple[str, ...]) -> list[tuple[int, str]]:
    """A B, B A, A B, ... (A B C, C B A, ...): no side always runs first (warm caches, drifting load)."""
    order = []
    for r in range(repeats):
        order += [(r, s) for s in (sides if r % 2 == 0 else sides[::-1])]
    return order


def entry(name: str, value: float | None, sizes: dict, repeats: int, raw: dict, timed: str,
          status: str = "measured", ok: bool | None = None, **extra) -> dict:
    """One result. ``ok`` compares value with the target unless given (a target with more than one part)."""
    op, target, unit = TARGETS[name]
    if ok is None and value is not None:
        ok = bool(value >= target if op == ">=" else value <= target)
    return {"value": None if value is None else r3(value), "unit": unit, "target": f"{op} {target:g}",
            "ok": ok, "status": status, "timed": timed, "sizes": sizes, "repeats": repeats, **extra, "raw": raw}


def warm_up(backbone: str, img_size: int, batch: int) -> None:
    """One untimed forward pass, so oneDNN's first-call set-up lands on neither side."""
    m = models.build_model(backbone, "finetune", None, 0.5).eval()
    with torch.inference_mode():
        m(torch.randn(batch, 3, img_size, img_size))


def fit_timings(run_dir: Path) -> dict:
    """The ``timings`` train.fit records in metrics.json: setup_s, feature_extraction_s, epochs_s (a list),
    evaluation_s, total_s. Bench never reads fit's log lines: their wording is not an interface."""
    metrics = json.loads((run_dir / "metrics.json").read_text(encoding="utf-8"))
    timings = metrics.get("timings") or {}
    missing = [k for k in TIMING_KEYS if k not in timings]
    if missing:
        raise RuntimeError(f"{run_dir / 'metrics.json'} has no timings {', '.join(missing)}: train.fit records "
                           f"{{{', '.join(TIMING_KEYS)}}} under 'timings'; update benchmarks/common.py if renamed")
    return timings


def timed_fit(cfg: RunConfig, run_dir: Path) -> dict:
    """One train.fit, timed by its own timings: everything up to the end of the last epoch (data loading,
    model, feature extraction, every epoch's training, validation and checkpoints), and apart from it the
    final val/test evaluation, which is the same work on features or images."""
    t0 = time.perf_counter()
    train.fit(cfg, run_dir, force=True, log=lambda _msg: None)
    wall = time.perf_counter() - t0
    t = fit_timings(run_dir)
    epochs = sum(t["epochs_s"])
    timed = t["total_s"] - t["evaluation_s"]
    return {
        "timed_s": r3(timed), "fit_total_s": r3(t["total_s"]), "fit_call_wall_s": r3(wall),
        "breakdown_s": {"setup": r3(t["setup_s"]), "feature_extraction": r3(t["feature_extraction_s"]),
                        "epochs_train_and_val": r3(epochs),
                        "other": r3(timed - t["setup_s"] - t["feature_extraction_s"] - epochs),
                        "final_evaluation": r3(t["evaluation_s"])},
        "epoch_s": [r3(s) for s in t["epochs_s"]],
    }
