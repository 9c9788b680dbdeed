"""Evaluating a trained run: the selected model's predictions and metrics on validation and test, the
summary `xray train` prints, and `xray evaluate` (re-evaluating a finished run's saved weights)."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from .. import atomic, data, evaluate, metrics
from ..compute import Compute
from ..config import RunConfig
from ..runs import RunDir
from . import checkpoint, distributed
from .environment import seed_everything
from .stage import Stage, build_stage


def evaluate_run(cfg: RunConfig, rd: RunDir, stage: Stage, splits: data.Splits) -> dict:
    """Metrics of the loaded (selected) model on val and test; writes both prediction files (with logits)."""
    val = evaluate.predict(stage.forward, stage.val_loader, stage.compute)
    test = evaluate.predict(stage.forward, stage.test_loader, stage.compute)
    threshold = evaluate.youden_threshold(val.y, val.p)  # chosen on validation, never on test
    rd.write_predictions(splits.val.ids, val.y, val.p, patients=splits.val.patients, which="val", logits=val.logits)
    rd.write_predictions(splits.test.ids, test.y, test.p, patients=splits.test.patients, which="test",
                         logits=test.logits)

    patients = np.asarray(splits.test.patients, dtype=str)  # the bootstrap resamples patients, not images

    def at(t: float) -> dict:
        return metrics.summarize(test.y, test.p, threshold=t, groups=patients, seed=cfg.seed,
                                 logits=test.logits)

    return {
        "run": cfg.run_name, "backbone": cfg.backbone, "mode": cfg.mode, "dataset": cfg.dataset,
        "data_source": splits.source, "weights": cfg.resolved_weights, "pretrained": cfg.pretrained,
        "train_fraction": cfg.train_fraction,
        "n": {"train": len(splits.train), "val": len(splits.val), "test": len(splits.test)},
        "n_train_patients": len(set(splits.train.patients)),
        "skipped_images": list(splits.skipped),
        "threshold_youden": threshold,
        "youden_basis": evaluate.youden_basis(val.y),  # validation images per class it was chosen on
        "test": at(0.5),
        "test_youden": at(threshold),
        "bootstrap": evaluate.bootstrap_method(patients, metrics.N_BOOT),
        "val": metrics.point(val.y, val.p, logits=val.logits),
    }


def summary_table(metrics: dict) -> str:
    """The table `xray train` prints at the end."""
    t = metrics["test"]
    rule = {"best": "lowest validation loss", "last": "last epoch"}.get(metrics.get("select", "best"))
    rows = [("run", metrics["run"]), ("data", metrics["data_source"]), ("weights", metrics["weights"]),
            ("n train / val / test", "{train} / {val} / {test}".format(**metrics["n"])),
            ("evaluated epoch", f"{metrics.get('selected_epoch', metrics['best_epoch'])} of "
                                f"{metrics['epochs_run']} ({rule})"),
            ("train time", f"{metrics['train_seconds']:.1f} s")]
    for key in ("accuracy", "loss", "sensitivity", "specificity", "f1", "roc_auc"):
        v, ci = t.get(key), t.get("ci", {}).get(key)
        text = "n/a" if v is None else f"{v:.4f}"
        if v is not None and ci and None not in ci:
            text += f"  [{ci[0]:.3f}, {ci[1]:.3f}]"  # bounds to the resampling's precision
        rows.append((f"test {key}", text))
    rows.append(("Youden threshold (val)", f"{metrics['threshold_youden']:.3f} -> test accuracy "
                 f"{metrics['test_youden']['accuracy']:.4f}"))
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k:<{width}}  {v}" for k, v in rows)


def _readable_metrics(rd: RunDir) -> dict:
    """metrics.json's fields the evaluation does not recompute (timings, sizes); a damaged file (what
    `xray predict` sends here to repair) is rewritten whole, with a warning, not a traceback."""
    if not rd.metrics.exists():
        return {}
    try:
        old = json.loads(rd.metrics.read_text(encoding="utf-8"))
        if isinstance(old, dict):
            return old
    except (OSError, ValueError):
        pass
    warnings.warn(f"{rd.metrics} could not be read; it is written again from this evaluation, history.csv "
                  "and best.pt (its timings are lost)", stacklevel=2)
    history = pd.read_csv(rd.history)
    best = history.loc[history["val_loss"].idxmin()] if history["val_loss"].notna().any() else history.iloc[-1]
    return {"epochs_run": len(history), "best_epoch": int(best["epoch"]),
            "selected_epoch": int(checkpoint.load(rd.best_checkpoint)["epoch"]),
            "train_seconds": float(history["seconds"].sum())}


def evaluate_saved(run_dir: str | Path) -> dict:
    """Re-evaluate a finished run's selected checkpoint (e.g. after changing the metrics code)."""
    rd = RunDir(run_dir)
    model, cfg = checkpoint.load_best_model(rd.path)
    with rd.acquire():
        compute = Compute.for_run(cfg.device, cfg.amp)
        seed_everything(cfg.seed, cfg.deterministic)
        splits = data.load_splits(cfg)
        model = compute.module(model)
        stage = build_stage(cfg, model, splits, compute, distributed.Context(), lambda _m: None)
        metrics = {**_readable_metrics(rd), **evaluate_run(cfg, rd, stage, splits)}
        atomic.write_json(rd.metrics, metrics)
    return metrics
