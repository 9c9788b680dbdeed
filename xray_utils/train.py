"""fit(): one transfer-learning run, from config to a complete run directory.

``fit`` reads top to bottom like ``main`` in torchvision's references/classification/train.py: data,
model, criterion, optimiser, scheduler, resume, the epoch loop, evaluation. What this adds, each in the
module beside it:
- one process owns a run directory at a time (runs.RunLock), and the run's messages also go to its
  train.log (progress.RunLog);
- frozen mode trains the head on backbone features computed once and stored (features.py);
- every epoch ends with a checkpoint holding everything needed to resume (checkpoint.py), so a killed
  run continues where it stopped and ends with the same numbers;
- augmentation is a pure function of (seed, epoch, image) (loaders.py), and under DDP BatchNorm sees the
  global batch (distributed.py), so results do not depend on loader workers, resuming or the world size.
"""

from __future__ import annotations

import functools
import json
import os
import random
import sys
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.nn as nn
from torch.utils.data import DataLoader, TensorDataset

from . import atomic, checkpoint, data, distributed, evaluate, features, models, precision, progress, weights
from .config import RunConfig
from .errors import ConfigError, XrayError
from .loaders import FeatureViews, SeededAugmentation, make_loader, per_rank_batch
from .runs import FORCE, RunDir

# ----------------------------------------------------------------------------------------------------
# environment


def seed_everything(seed: int, deterministic: bool) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    if deterministic:
        # cuBLAS needs this to be deterministic; harmless on the CPU.
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True, warn_only=True)
        torch.backends.cudnn.benchmark = False
    else:
        torch.backends.cudnn.benchmark = True


def pick_device(name: str, ctx: distributed.Context | None = None) -> torch.device:
    if name == "auto":
        if torch.cuda.is_available():
            name = "cuda"
        elif getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            name = "mps"
        else:
            name = "cpu"
    if name == "cuda":
        if not torch.cuda.is_available():
            raise XrayError("--device cuda was asked for, but no CUDA GPU is available", "use --device auto or cpu")
        return torch.device("cuda", ctx.local_rank if ctx else 0)
    if name == "mps" and not torch.backends.mps.is_available():
        raise XrayError("--device mps was asked for, but MPS is not available", "use --device auto or cpu")
    return torch.device(name)


def in_notebook() -> bool:
    """True inside a Jupyter kernel (errors are then phrased as notebook parameters, not CLI flags)."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    return type(shell).__name__ == "ZMQInteractiveShell"


# ----------------------------------------------------------------------------------------------------
# what trains, on what


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
    channels_last: bool
    feature_seconds: float = 0.0  # frozen: extracting (or reading) the stored features
    features_reused: int = 0  # frozen: feature tensors read from the store (extracted by an earlier run)

    @property
    def frozen(self) -> bool:
        return self.trained is not self.model


def build_stage(cfg: RunConfig, model: models.XrayNet, splits: data.Splits, device: torch.device,
                ctx: distributed.Context, log: Callable[[str], None] = print,
                show: progress.Progress | None = None) -> Stage:
    workers = cfg.num_workers if cfg.num_workers is not None else data.default_num_workers()
    channels_last = precision.channels_last(device, precision.compute_dtype(cfg.amp, device))
    trained = model.head if cfg.mode == "frozen" else model
    if not (cfg.mode == "frozen" and cfg.feature_cache):
        sets = (SeededAugmentation(data.make_dataset(splits.train, cfg, train=True), cfg.seed),
                data.make_dataset(splits.val, cfg, train=False), data.make_dataset(splits.test, cfg, train=False))
        loaders = [make_loader(ds, cfg, ctx, device, train, workers)
                   for ds, train in zip(sets, (True, False, False), strict=True)]
        return Stage(model, trained, model, *loaders, channels_last)

    if device.type == "cpu" and cfg.decode_cache:
        # On the CPU the backbone already keeps every core busy; cached pixels need only a crop and a
        # normalisation, so loader workers would just compete with it (and cost a start per split).
        workers = 0
    f = features.frozen_features(model, splits, cfg, ctx, device, workers, show)
    how = f"{f.reused} of {2 + len(f.train)} read from the feature store" if f.reused else "computed and stored"
    log(f"frozen backbone: features {how} in {f.seconds:.1f}s "
        f"({len(f.train)} train view(s), feature shape {tuple(f.train.shape[2:])})")
    labels = [torch.as_tensor(s.labels, dtype=torch.long) for s in splits]
    return Stage(model, model.head, model.head,
                 make_loader(FeatureViews(f.train, labels[0]), cfg, ctx, device, True, 0),
                 make_loader(TensorDataset(f.val, labels[1]), cfg, ctx, device, False, 0),
                 make_loader(TensorDataset(f.test, labels[2]), cfg, ctx, device, False, 0),
                 channels_last=False, feature_seconds=f.seconds, features_reused=f.reused)


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


# ----------------------------------------------------------------------------------------------------
# one epoch


def train_one_epoch(stage: Stage, model: nn.Module, criterion, optimizer, scaler, device, dtype, epoch: int,
                    ctx: distributed.Context, show: progress.Progress | None = None,
                    work_after: float = 0.0) -> tuple[float, float]:
    model.train()
    stage.train_loader.sampler.set_epoch(epoch)
    loss_sum = correct = seen = 0.0
    loader = stage.train_loader
    batches = show.track(loader, len(loader), f"epoch {epoch + 1}/{show.epochs}", work_after) if show else loader
    for x, y in batches:
        x = x.to(device, non_blocking=True)
        y = y.to(device, non_blocking=True)
        if stage.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        with precision.autocast(device, dtype):
            logits = model(x)
            loss = criterion(logits, y)
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
        n = y.shape[0]
        loss_sum += loss.item() * n
        correct += (logits.argmax(1) == y).sum().item()
        seen += n
        if show:
            show.postfix(loss=f"{loss_sum / seen:.4f}")
    loss_sum, correct, seen = distributed.all_reduce_sum(ctx, loss_sum, correct, seen)
    return loss_sum / seen, correct / seen


def loss_and_accuracy(y: np.ndarray, p: np.ndarray) -> tuple[float, float]:
    m = evaluate.classification_metrics(y, p)
    return float(m["loss"]), float(m["accuracy"])


def work_after_epoch(stage: Stage, cfg: RunConfig, epoch: int) -> float:
    """Training batches' worth of work left after this epoch's training pass (a forward-only batch
    counts a third), for the run's ETA."""
    val, test = len(stage.val_loader) / 3, len(stage.test_loader) / 3
    return val + (cfg.epochs - epoch - 1) * (len(stage.train_loader) + val) + val + test


def make_model(cfg: RunConfig, device: torch.device) -> tuple[models.XrayNet, torch.dtype | None]:
    """The network with its initial weights, on ``device``, and the dtype its forward passes compute in."""
    state_dict = weights.resolve_state_dict(cfg.backbone, cfg.resolved_weights)
    torch.manual_seed(cfg.seed)  # the new head's initialisation
    model = models.build_model(cfg.backbone, cfg.mode, state_dict, cfg.dropout).to(device)
    dtype = precision.compute_dtype(cfg.amp, device)
    if precision.channels_last(device, dtype):
        model = model.to(memory_format=torch.channels_last)
    return model, dtype


def make_optimizer(cfg: RunConfig, params) -> torch.optim.Optimizer:
    params = [p for p in params if p.requires_grad]
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
    return torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)


def make_scheduler(cfg: RunConfig, optimizer):
    if cfg.scheduler == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=cfg.epochs)
    if cfg.scheduler == "step":
        return torch.optim.lr_scheduler.StepLR(optimizer, step_size=cfg.step_size, gamma=cfg.gamma)
    return None


def class_weight_tensor(labels: np.ndarray, device: torch.device) -> torch.Tensor:
    counts = np.bincount(labels, minlength=2).astype(np.float64)
    return torch.tensor(len(labels) / (2 * np.maximum(counts, 1)), dtype=torch.float32, device=device)


# ----------------------------------------------------------------------------------------------------
# the entry point


def fit(cfg: RunConfig, run_dir: str | Path, force: bool = False, log: Callable[[str], None] | None = None,
        caller: str | None = None) -> dict:
    """Train and evaluate one run; return its metrics (also in run_dir/metrics.json).

    ``log`` receives every message (default: the console); ``caller`` ("cli" | "notebook"; default: which
    one this process is) decides how fixes are phrased (``--force`` or ``force = True``).
    """
    t_start = time.perf_counter()
    cfg = checked(cfg)
    ctx = distributed.init(pick_device(cfg.device).type)
    cfg = cfg if cfg.world_size == ctx.world_size else cfg.replace(world_size=ctx.world_size)
    caller = caller or ("notebook" if in_notebook() else "cli")
    rd = RunDir(run_dir)
    with ExitStack() as stack:
        stack.callback(distributed.shutdown, ctx)
        state = claim(stack, rd, cfg, force, caller, ctx)
        say = stack.enter_context(progress.RunLog(rd.log if state != "complete" else None, log,
                                                  quiet=not ctx.is_main))
        if state == "complete":
            say(f"{rd.path}: already complete with this config; nothing to do ({FORCE[caller]} to train it again)")
            return json.loads(rd.metrics.read_text(encoding="utf-8"))

        # data
        device = pick_device(cfg.device, ctx)
        seed_everything(cfg.seed, cfg.deterministic)
        with distributed.main_first(ctx):  # rank 0 builds the decode cache; the others then read it
            splits = data.load_splits(cfg)
        say(f"data: {splits.source}")
        say("split sizes: " + ", ".join(describe_split(s) for s in splits))

        # model
        model, dtype = make_model(cfg, device)
        total, trainable = models.count_parameters(model)
        say(f"model: {cfg.backbone} ({cfg.mode}, weights {cfg.resolved_weights}), {total:,} parameters, "
            f"{trainable:,} trainable, device {device}, {precision.name(dtype)}"
            + (f", world size {ctx.world_size}" if ctx.enabled else ""))
        show = progress.Progress(say, cfg.run_name, cfg.epochs, enabled=cfg.progress and ctx.is_main,
                                 estimate=device.type == "cpu")
        stage = build_stage(cfg, model, splits, device, ctx, say, show)
        trained, sync_bn = distribute(stage, cfg, ctx, device, say)

        # criterion, optimiser, scheduler
        weight = class_weight_tensor(splits.train.labels, device) if cfg.class_weights else None
        criterion = nn.CrossEntropyLoss(weight=weight)
        optimizer = make_optimizer(cfg, stage.trained.parameters())
        scheduler = make_scheduler(cfg, optimizer)
        scaler = torch.amp.GradScaler(device.type, enabled=precision.needs_grad_scaler(dtype))

        # resume
        ckpt = checkpoint.Checkpointer(rd, cfg, stage, optimizer, scheduler, scaler)
        st = ckpt.resume()
        if st.epoch:
            say(f"resuming {rd.path} after epoch {st.epoch} of {cfg.epochs} (best so far: epoch {st.best_epoch})")
        setup_s = time.perf_counter() - t_start - stage.feature_seconds

        for epoch in range(st.epoch, cfg.epochs):
            if st.stopped_early(cfg.early_stopping):
                say(f"early stopping: no lower validation loss for {st.stale} epochs")
                break
            t0, lr = time.perf_counter(), optimizer.param_groups[0]["lr"]
            train_loss, train_acc = train_one_epoch(stage, trained, criterion, optimizer, scaler, device, dtype,
                                                    epoch, ctx, show, work_after_epoch(stage, cfg, epoch))
            if scheduler is not None:
                scheduler.step()
            y_val, p_val, _ = evaluate.predict(stage.forward, stage.val_loader, device, dtype, stage.channels_last)
            val_loss, val_acc = loss_and_accuracy(y_val, p_val)
            improved = st.record({"epoch": epoch + 1, "train_loss": train_loss, "train_acc": train_acc,
                                  "val_loss": val_loss, "val_acc": val_acc, "lr": lr,
                                  "seconds": time.perf_counter() - t0})
            distributed.on_main(ctx, functools.partial(ckpt.save, st, improved))
            say(f"epoch {epoch + 1}/{cfg.epochs}: train loss {train_loss:.4f} acc {train_acc:.3f} | "
                f"val loss {val_loss:.4f} acc {val_acc:.3f}" + ("  (best)" if improved else ""))

        if st.best_epoch == 0:  # every validation loss was NaN or infinite: nothing worth evaluating
            raise XrayError(f"training diverged: the validation loss was never finite ({len(st.history)} epochs)",
                            "lower --lr (or check the data with xray data-check), then rerun with --force")

        def evaluate_and_finish() -> None:  # rank 0 evaluates the selected weights and writes the results
            t_eval = time.perf_counter()
            selected = ckpt.restore_selected(st)
            metrics = evaluate_run(cfg, rd, stage, splits, device, dtype)
            epochs_s = [h["seconds"] for h in st.history]
            metrics.update(
                select=cfg.select, selected_epoch=selected, best_epoch=st.best_epoch, epochs_run=len(st.history),
                train_seconds=sum(epochs_s), compute_dtype=precision.name(dtype),  # "precision" is the PPV
                # over the whole training: frozen mode's one feature extraction counts, or its head epochs on
                # stored features would claim thousands of images/s (still so when an earlier run extracted
                # them: features_reused says so, and the report marks the rate)
                train_images_per_s=len(splits.train) * len(epochs_s)
                / max(sum(epochs_s) + stage.feature_seconds, 1e-9), features_reused=stage.features_reused,
                params_total=total, params_trainable=trainable, world_size=ctx.world_size, sync_bn=sync_bn,
                device=str(device), torch=torch.__version__,
                timings={"setup_s": setup_s, "feature_extraction_s": stage.feature_seconds, "epochs_s": epochs_s,
                         "evaluation_s": time.perf_counter() - t_eval, "total_s": time.perf_counter() - t_start})
            atomic.write_json(rd.metrics, metrics)
            rd.mark_complete(run=cfg.run_name)
            say(summary_table(metrics))

        distributed.on_main(ctx, evaluate_and_finish)
        return json.loads(rd.metrics.read_text(encoding="utf-8"))


def checked(cfg: RunConfig) -> RunConfig:
    cfg.validate()
    if cfg.img_size < models.min_img_size(cfg.backbone):
        raise ConfigError(f"--img-size {cfg.img_size} is too small for {cfg.backbone}",
                          f"use --img-size {models.min_img_size(cfg.backbone)} or more")
    return cfg


def claim(stack: ExitStack, rd: RunDir, cfg: RunConfig, force: bool, caller: str, ctx: distributed.Context) -> str:
    """Rank 0 takes the run directory (held until ``stack`` closes) and prepares it for ``cfg``; every
    rank returns the outcome ("new", "resume", "restart", "complete"), or raises when rank 0 could not."""
    def take() -> str:
        stack.enter_context(rd.acquire(caller))
        return rd.prepare(cfg, force, caller)

    return distributed.on_main(ctx, take)


def evaluate_run(cfg: RunConfig, rd: RunDir, stage: Stage, splits: data.Splits, device: torch.device,
                 dtype: torch.dtype | None) -> dict:
    """Metrics of the loaded (selected) model on val and test; writes both prediction files."""
    y_val, p_val, _ = evaluate.predict(stage.forward, stage.val_loader, device, dtype, stage.channels_last)
    y_test, p_test, _ = evaluate.predict(stage.forward, stage.test_loader, device, dtype, stage.channels_last)
    threshold = evaluate.youden_threshold(y_val, p_val)  # chosen on validation, never on test
    rd.write_predictions(splits.val.ids, y_val, p_val, patients=splits.val.patients, which="val")
    rd.write_predictions(splits.test.ids, y_test, p_test, patients=splits.test.patients, which="test")

    patients = np.asarray(splits.test.patients, dtype=str)  # the bootstrap resamples patients, not images

    def at(t: float) -> dict:
        m = evaluate.classification_metrics(y_test, p_test, threshold=t)
        m["ci"] = evaluate.bootstrap_ci(y_test, p_test, threshold=t, seed=cfg.seed, groups=patients)
        return m

    return {
        "run": cfg.run_name, "backbone": cfg.backbone, "mode": cfg.mode, "dataset": cfg.dataset,
        "data_source": splits.source, "weights": cfg.resolved_weights, "pretrained": cfg.pretrained,
        "train_fraction": cfg.train_fraction,
        "n": {"train": len(splits.train), "val": len(splits.val), "test": len(splits.test)},
        "n_train_patients": len(set(splits.train.patients)),
        "skipped_images": list(splits.skipped),
        "threshold_youden": threshold,
        "test": at(0.5),
        "test_youden": at(threshold),
        "bootstrap": evaluate.bootstrap_method(patients),
        "val": evaluate.classification_metrics(y_val, p_val),
    }


def describe_split(split: data.Split) -> str:
    counts = " / ".join(f"{n} {name}" for name, n in data.class_counts(split.labels).items())
    return f"{split.name} {len(split)} ({counts}, {len(set(split.patients))} patients)"


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
            text += f"  [{ci[0]:.4f}, {ci[1]:.4f}]"
        rows.append((f"test {key}", text))
    rows.append(("Youden threshold (val)", f"{metrics['threshold_youden']:.3f} -> test accuracy "
                 f"{metrics['test_youden']['accuracy']:.4f}"))
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k:<{width}}  {v}" for k, v in rows)


def evaluate_saved(run_dir: str | Path) -> dict:
    """Re-evaluate a finished run's selected checkpoint (e.g. after changing the metrics code)."""
    rd = RunDir(run_dir)
    model, cfg = checkpoint.load_best_model(rd.path)
    with rd.acquire():
        device = pick_device(cfg.device)
        seed_everything(cfg.seed, cfg.deterministic)
        splits = data.load_splits(cfg)
        dtype = precision.compute_dtype(cfg.amp, device)
        model = model.to(device, memory_format=torch.channels_last if precision.channels_last(device, dtype)
                         else torch.preserve_format)
        stage = build_stage(cfg, model, splits, device, distributed.Context(), lambda _m: None)
        old = json.loads(rd.metrics.read_text(encoding="utf-8")) if rd.metrics.exists() else {}
        metrics = {**old, **evaluate_run(cfg, rd, stage, splits, device, dtype)}
        atomic.write_json(rd.metrics, metrics)
    return metrics
