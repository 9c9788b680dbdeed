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
import time
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import torch
import torch.nn as nn

from .. import atomic, data, evaluate, models, progress, weights
from ..compute import Compute, pick_device
from ..config import RunConfig
from ..errors import ConfigError, XrayError, in_notebook
from ..runs import FORCE, RunDir
from . import checkpoint, distributed
from .environment import seed_everything
from .evaluation import evaluate_run, summary_table
from .stage import Stage, build_stage, distribute

# ----------------------------------------------------------------------------------------------------
# one epoch


def train_one_epoch(stage: Stage, model: nn.Module, criterion, optimizer, scaler, epoch: int,
                    ctx: distributed.Context, show: progress.Progress | None = None,
                    work_after: float = 0.0) -> tuple[float, float]:
    model.train()
    stage.train_loader.sampler.set_epoch(epoch)
    loss_sum = correct = seen = 0.0
    loader = stage.train_loader
    batches = show.track(loader, len(loader), f"epoch {epoch + 1}/{show.epochs}", work_after) if show else loader
    for x, y in batches:
        x = stage.compute.batch(x)
        y = y.to(stage.compute.device, non_blocking=True)
        with stage.compute.autocast():
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


def loss_and_accuracy(pred: evaluate.Predictions) -> tuple[float, float]:
    """Validation loss (the exact cross-entropy of the logits, as CrossEntropyLoss) and accuracy at 0.5."""
    return pred.loss, float(np.mean((pred.p >= 0.5) == pred.y))


def work_after_epoch(stage: Stage, cfg: RunConfig, epoch: int) -> float:
    """Training batches' worth of work left after this epoch's training pass (a forward-only batch
    counts a third), for the run's ETA."""
    val, test = len(stage.val_loader) / 3, len(stage.test_loader) / 3
    return val + (cfg.epochs - epoch - 1) * (len(stage.train_loader) + val) + val + test


def make_model(cfg: RunConfig, compute: Compute) -> models.XrayNet:
    """The network with its initial weights, on the device and in the memory format of ``compute``."""
    state_dict = weights.resolve_state_dict(cfg.backbone, cfg.resolved_weights)
    torch.manual_seed(cfg.seed)  # the new head's initialisation
    return compute.module(models.build_model(cfg.backbone, cfg.mode, state_dict, cfg.dropout))


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
    # a notebook that `xray report` executes answers its user, who typed flags, not parameters
    caller = caller or ("notebook" if in_notebook() and not os.environ.get("XRAY_COMMAND") else "cli")
    rd = RunDir(run_dir)
    with ExitStack() as stack:
        stack.callback(distributed.shutdown, ctx)
        stack.enter_context(out_of_memory_is_an_error(cfg))
        state = claim(stack, rd, cfg, force, caller, ctx)
        say = stack.enter_context(progress.RunLog(rd.log if state != "complete" else None, log,
                                                  quiet=not ctx.is_main))
        if state == "replace":
            say(f"{rd.path}: replaced an unfinished run with other settings (it had not finished an epoch)")
        if state == "complete":
            say(f"{rd.path}: already complete with this config; nothing to do ({FORCE[caller]} to train it again)")
            return json.loads(rd.metrics.read_text(encoding="utf-8"))

        # data
        compute = Compute.for_run(cfg.device, cfg.amp, ctx.local_rank)  # decided once for the whole run
        seed_everything(cfg.seed, cfg.deterministic)
        splits, val_warning = load_data(cfg, ctx, say)

        # model
        model = make_model(cfg, compute)
        total, trainable = models.count_parameters(model)
        say(f"model: {cfg.backbone} ({cfg.mode}, weights {cfg.resolved_weights}), {total:,} parameters, "
            f"{trainable:,} trainable, device {compute.device}, {compute.name}"
            + (f", world size {ctx.world_size}" if ctx.enabled else ""))
        show = progress.Progress(say, cfg.run_name, cfg.epochs, enabled=cfg.progress and ctx.is_main,
                                 estimate=compute.device.type == "cpu")
        stage = build_stage(cfg, model, splits, compute, ctx, say, show)
        trained, sync_bn = distribute(stage, cfg, ctx, compute.device, say)

        # criterion, optimiser, scheduler
        weight = class_weight_tensor(splits.train.labels, compute.device) if cfg.class_weights else None
        criterion = nn.CrossEntropyLoss(weight=weight)
        optimizer = make_optimizer(cfg, stage.trained.parameters())
        scheduler = make_scheduler(cfg, optimizer)
        scaler = torch.amp.GradScaler(compute.device.type, enabled=compute.needs_grad_scaler)

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
            train_loss, train_acc = train_one_epoch(stage, trained, criterion, optimizer, scaler,
                                                    epoch, ctx, show, work_after_epoch(stage, cfg, epoch))
            if scheduler is not None:
                scheduler.step()
            val_loss, val_acc = loss_and_accuracy(evaluate.predict(stage.forward, stage.val_loader, stage.compute))
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
            metrics = evaluate_run(cfg, rd, stage, splits)
            epochs_s = [h["seconds"] for h in st.history]
            metrics.update(
                select=cfg.select, selected_epoch=selected, best_epoch=st.best_epoch, epochs_run=len(st.history),
                train_seconds=sum(epochs_s), compute_dtype=compute.name,  # "precision" is the PPV
                # over the whole training: frozen mode's one feature extraction counts, or its head epochs on
                # stored features would claim thousands of images/s (still so when an earlier run extracted
                # them: features_reused says so, and the report marks the rate)
                train_images_per_s=len(splits.train) * len(epochs_s)
                / max(sum(epochs_s) + stage.feature_seconds, 1e-9), features_reused=stage.features_reused,
                params_total=total, params_trainable=trainable, world_size=ctx.world_size, sync_bn=sync_bn,
                device=str(compute.device), torch=torch.__version__, validation_warning=val_warning,
                timings={"setup_s": setup_s, "feature_extraction_s": stage.feature_seconds, "epochs_s": epochs_s,
                         "evaluation_s": time.perf_counter() - t_eval, "total_s": time.perf_counter() - t_start})
            atomic.write_json(rd.metrics, metrics)
            rd.mark_complete(run=cfg.run_name)
            say(summary_table(metrics))

        distributed.on_main(ctx, evaluate_and_finish)
        return json.loads(rd.metrics.read_text(encoding="utf-8"))


def load_data(cfg: RunConfig, ctx: distributed.Context, say: Callable[[str], None]) -> tuple[data.Splits, str | None]:
    """The run's splits, announced, and the warning when validation lacks a class (metrics.json records it)."""
    with distributed.main_first(ctx):  # rank 0 builds the decode cache; the others then read it
        splits = data.load_splits(cfg)
    say(f"data: {splits.source}")
    say("split sizes: " + ", ".join(describe_split(s) for s in splits))
    val_warning = data.check.validation_lacks(splits.val)
    if val_warning:
        say(f"warning: {val_warning}")
    return splits, val_warning


def checked(cfg: RunConfig) -> RunConfig:
    cfg.validate()
    if cfg.img_size < models.min_img_size(cfg.backbone):
        raise ConfigError(f"--img-size {cfg.img_size} is too small for {cfg.backbone}",
                          f"use --img-size {models.min_img_size(cfg.backbone)} or more")
    return cfg


@contextmanager
def out_of_memory_is_an_error(cfg: RunConfig) -> Iterator[None]:
    """Running out of memory (CPU or GPU) ends in one line naming the sizes to lower, not a traceback."""
    try:
        yield
    except (MemoryError, RuntimeError) as e:  # torch.OutOfMemoryError is a RuntimeError
        if not (isinstance(e, (MemoryError, torch.OutOfMemoryError)) or "can't allocate memory" in str(e)
                or "out of memory" in str(e).lower()):
            raise
        raise XrayError(f"out of memory at img_size {cfg.img_size}, batch {cfg.batch_size}",
                        "lower --batch-size or --img-size, then run the same command again "
                        "(a run resumes after its last saved epoch)") from None


def claim(stack: ExitStack, rd: RunDir, cfg: RunConfig, force: bool, caller: str, ctx: distributed.Context) -> str:
    """Rank 0 takes the run directory (held until ``stack`` closes) and prepares it for ``cfg``; every
    rank returns the outcome ("new", "resume", "restart", "replace", "complete"), or raises when rank 0 could not."""
    def take() -> str:
        stack.enter_context(rd.acquire(caller))
        return rd.prepare(cfg, force, caller)

    return distributed.on_main(ctx, take)


def describe_split(split: data.Split) -> str:
    counts = " / ".join(f"{n} {name}" for name, n in data.class_counts(split.labels).items())
    return f"{split.name} {len(split)} ({counts}, {len(set(split.patients))} patients)"
