"""fit(): one transfer-learning run, from config to a complete run directory.

The loop follows torchvision's references/classification/train.py: a readable epoch function, helpers
beside it. What this adds:
- frozen mode runs the backbone once per split and trains the head on stored features (the backbone is
  fixed, so recomputing its output every epoch is wasted work);
- every epoch ends with a checkpoint holding everything needed to resume (RNG states included), so a killed
  run continues where it stopped and ends with the same numbers;
- data augmentation is a pure function of (seed, epoch, image), so results do not depend on the number of
  loader workers, on resuming, or on how many processes share the work under torchrun.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.nn as nn
from torch.utils.data import DataLoader, Dataset, DistributedSampler, TensorDataset
from tqdm.auto import tqdm

from . import atomic, data, distributed, evaluate, models, precision, weights
from .config import RunConfig
from .errors import ConfigError, XrayError
from .runs import RunDir


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


# ----------------------------------------------------------------------------------------------------
# data plumbing


class EpochSampler(DistributedSampler):
    """DistributedSampler (per-epoch shuffle, one shard per rank) that also hands the epoch to the dataset.

    It yields (index, epoch) pairs; SeededAugmentation turns them into a per-image seed. Works with one
    process too (num_replicas=1, rank=0, no process group needed).
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


def make_loader(dataset: Dataset, cfg: RunConfig, ctx: distributed.Context, device: torch.device,
                train: bool, workers: int) -> DataLoader:
    batch = max(1, -(-cfg.batch_size // ctx.world_size)) if train else cfg.batch_size
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


# ----------------------------------------------------------------------------------------------------
# the loop


@dataclass
class Stage:
    """What is being trained this run: the whole network on images, or only the head on features."""

    module: nn.Module  # what the optimiser updates (XrayNet, or its head)
    train_loader: DataLoader
    val_loader: DataLoader
    test_loader: DataLoader
    channels_last: bool


def train_one_epoch(stage: Stage, model: nn.Module, criterion, optimizer, scaler, device, dtype, epoch: int,
                    ctx: distributed.Context, progress: bool) -> tuple[float, float]:
    model.train()
    stage.train_loader.sampler.set_epoch(epoch)
    loss_sum = correct = seen = 0.0
    bar = tqdm(stage.train_loader, desc=f"epoch {epoch + 1} train", leave=False,
               disable=not (progress and ctx.is_main), unit="batch")
    for x, y in bar:
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
        bar.set_postfix(loss=f"{loss_sum / seen:.4f}")
    loss_sum, correct, seen = distributed.all_reduce_sum(ctx, loss_sum, correct, seen)
    return loss_sum / seen, correct / seen


def loss_and_accuracy(y: np.ndarray, p: np.ndarray) -> tuple[float, float]:
    m = evaluate.classification_metrics(y, p)
    return float(m["loss"]), float(m["accuracy"])


# ----------------------------------------------------------------------------------------------------
# building a run


def build_stage(cfg: RunConfig, model: models.XrayNet, splits: data.Splits, device: torch.device,
                ctx: distributed.Context, log: Callable[[str], None]) -> Stage:
    workers = cfg.num_workers if cfg.num_workers is not None else data.default_num_workers()
    channels_last = precision.channels_last(device, precision.compute_dtype(cfg.amp, device))
    train_ds = SeededAugmentation(data.make_dataset(splits.train, cfg, train=True), cfg.seed)
    val_ds = data.make_dataset(splits.val, cfg, train=False)
    test_ds = data.make_dataset(splits.test, cfg, train=False)
    if not (cfg.mode == "frozen" and cfg.feature_cache):
        return Stage(model, make_loader(train_ds, cfg, ctx, device, True, workers),
                     make_loader(val_ds, cfg, ctx, device, False, workers),
                     make_loader(test_ds, cfg, ctx, device, False, workers), channels_last)

    # Frozen backbone: its output never changes, so compute it once per split (K augmented views of train).
    views = cfg.feature_views if cfg.augment else 1
    if device.type == "cpu" and cfg.decode_cache:
        # On the CPU the backbone already keeps every core busy; cached pixels need only a crop and a
        # normalisation, so loader workers would just compete with it (and cost a start per split).
        workers = 0
    t0 = time.perf_counter()
    train_views = torch.stack([
        extract_features(model, train_ds, cfg, ctx, device, workers, epoch=v, desc=f"features train {v + 1}/{views}")
        for v in range(views)
    ])
    val_f = extract_features(model, val_ds, cfg, ctx, device, workers, desc="features val")
    test_f = extract_features(model, test_ds, cfg, ctx, device, workers, desc="features test")
    log(f"frozen backbone: features computed once in {time.perf_counter() - t0:.1f}s "
        f"({views} train view(s), feature shape {tuple(train_views.shape[2:])})")
    labels = {s: torch.as_tensor(getattr(splits, s).labels, dtype=torch.long) for s in ("train", "val", "test")}
    train_fd = FeatureViews(train_views, labels["train"])
    return Stage(
        model.head,
        make_loader(train_fd, cfg, ctx, device, True, 0),
        make_loader(TensorDataset(val_f, labels["val"]), cfg, ctx, device, False, 0),
        make_loader(TensorDataset(test_f, labels["test"]), cfg, ctx, device, False, 0),
        channels_last=False,
    )


@torch.inference_mode()
def extract_features(model: models.XrayNet, dataset: Dataset, cfg: RunConfig, ctx: distributed.Context,
                     device: torch.device, workers: int, epoch: int = 0, desc: str = "features") -> torch.Tensor:
    """Backbone output for every image (rank r computes rows r, r+W, ...; all ranks get all rows)."""
    model.backbone.eval()
    idx = list(range(ctx.rank, len(dataset), ctx.world_size))
    keys = [(i, epoch) for i in idx] if isinstance(dataset, SeededAugmentation) else idx
    loader = DataLoader(_Keyed(dataset, keys), batch_size=cfg.batch_size, num_workers=workers,
                        pin_memory=device.type == "cuda", generator=torch.Generator().manual_seed(cfg.seed))
    dtype = precision.compute_dtype(cfg.amp, device)
    nhwc = precision.channels_last(device, dtype)
    out = []
    for x, _ in tqdm(loader, desc=desc, leave=False, disable=not (cfg.progress and ctx.is_main), unit="batch"):
        x = x.to(device, non_blocking=True)
        if nhwc:
            x = x.contiguous(memory_format=torch.channels_last)
        with precision.autocast(device, dtype):
            f = model.backbone(x)
        out.append(f.float().cpu())
    rows = torch.cat(out) if out else torch.empty(0)
    return distributed.gather_rows(ctx, rows, len(dataset))


class _Keyed(Dataset):
    def __init__(self, dataset: Dataset, keys: list):
        self.dataset, self.keys = dataset, keys

    def __len__(self) -> int:
        return len(self.keys)

    def __getitem__(self, j):
        return self.dataset[self.keys[j]]


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


def rng_state() -> dict:
    state = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def unwrap(module: nn.Module) -> nn.Module:
    return module.module if isinstance(module, nn.parallel.DistributedDataParallel) else module


# ----------------------------------------------------------------------------------------------------
# the entry point


def fit(cfg: RunConfig, run_dir: str | Path, force: bool = False, log: Callable[[str], None] = print) -> dict:
    """Train and evaluate one run; return its metrics (also in run_dir/metrics.json)."""
    cfg.validate()
    if cfg.img_size < models.min_img_size(cfg.backbone):
        raise ConfigError(f"--img-size {cfg.img_size} is too small for {cfg.backbone}",
                          f"use --img-size {models.min_img_size(cfg.backbone)} or more")
    device_kind = pick_device(cfg.device).type
    ctx = distributed.init(device_kind)
    if ctx.world_size != cfg.world_size:
        cfg = cfg.replace(world_size=ctx.world_size)
    say = log if ctx.is_main else (lambda _msg: None)
    rd = RunDir(run_dir)

    state = rd.prepare(cfg, force) if ctx.is_main else None
    distributed.barrier(ctx)
    if ctx.is_main and state == "complete":
        say(f"{rd.path}: already complete with this config; nothing to do (use --force to rerun)")
    if rd.is_complete() and not force:
        distributed.shutdown(ctx)
        return json.loads(rd.metrics.read_text(encoding="utf-8"))

    device = pick_device(cfg.device, ctx)
    seed_everything(cfg.seed, cfg.deterministic)
    with distributed.main_first(ctx):  # rank 0 builds the decode cache; the others then read it
        splits = data.load_splits(cfg)
    say(f"data: {splits.source}")
    say(f"split sizes: train {len(splits.train)} ({_class_counts(splits.train.labels)}), "
        f"val {len(splits.val)} ({_class_counts(splits.val.labels)}), "
        f"test {len(splits.test)} ({_class_counts(splits.test.labels)})")

    state_dict = weights.resolve_state_dict(cfg.backbone, cfg.resolved_weights)
    torch.manual_seed(cfg.seed)  # the new head's initialisation
    model = models.build_model(cfg.backbone, cfg.mode, state_dict, cfg.dropout).to(device)
    dtype = precision.compute_dtype(cfg.amp, device)
    if precision.channels_last(device, dtype):
        model = model.to(memory_format=torch.channels_last)
    total, trainable = models.count_parameters(model)
    say(f"model: {cfg.backbone} ({cfg.mode}, weights {cfg.resolved_weights}), "
        f"{total:,} parameters, {trainable:,} trainable, device {device}"
        + (f", world size {ctx.world_size}" if ctx.enabled else ""))

    stage = build_stage(cfg, model, splits, device, ctx, say)
    trained = stage.module
    if ctx.enabled:
        trained = nn.parallel.DistributedDataParallel(
            trained, device_ids=[device.index] if device.type == "cuda" else None)
    weight = class_weight_tensor(splits.train.labels, device) if cfg.class_weights else None
    criterion = nn.CrossEntropyLoss(weight=weight)
    optimizer = make_optimizer(cfg, unwrap(trained).parameters())
    scheduler = make_scheduler(cfg, optimizer)
    scaler = torch.amp.GradScaler(device.type, enabled=precision.needs_grad_scaler(dtype))

    # What the epoch checkpoints hold: the whole model, or in frozen mode only the head. A frozen backbone
    # is the same every epoch (rebuilt from the weights and seed on resume, checked by digest), and writing
    # its ~45 MB twice per epoch would cost more than training the head on cached features.
    trained_part = model.head if cfg.mode == "frozen" else model
    backbone_digest = _state_digest(model.backbone) if cfg.mode == "frozen" else None
    best_state = None  # frozen mode: the best head so far, written into best.pt after the loop

    history: list[dict] = []
    best_loss, best_epoch, stale, start_epoch = float("inf"), 0, 0, 0
    if rd.last_checkpoint.exists():
        ckpt = _load_checkpoint(rd.last_checkpoint)
        if "trained" not in ckpt:
            raise XrayError(f"{rd.last_checkpoint} was written by an older version of this tool",
                            "rerun with --force to start this run again")
        if ckpt.get("backbone_digest") != backbone_digest:
            raise XrayError(f"{rd.last_checkpoint} was saved with a different frozen backbone than the weights "
                            "give now", "rerun with --force to start this run again")
        trained_part.load_state_dict(ckpt["trained"])
        best_state = ckpt.get("best_state")
        optimizer.load_state_dict(ckpt["optimizer"])
        if scheduler is not None and ckpt.get("scheduler"):
            scheduler.load_state_dict(ckpt["scheduler"])
        if ckpt.get("scaler"):
            scaler.load_state_dict(ckpt["scaler"])
        history, best_loss, best_epoch, stale = ckpt["history"], ckpt["best_loss"], ckpt["best_epoch"], ckpt["stale"]
        start_epoch = ckpt["epoch"]
        set_rng_state(ckpt["rng"])
        say(f"resuming {rd.path} after epoch {start_epoch} of {cfg.epochs} (best so far: epoch {best_epoch})")

    t_train = time.perf_counter()
    epochs_bar = tqdm(range(start_epoch, cfg.epochs), desc=cfg.run_name, unit="epoch",
                      initial=start_epoch, total=cfg.epochs, disable=not (cfg.progress and ctx.is_main))
    for epoch in epochs_bar:
        if stale >= cfg.early_stopping > 0:
            break
        t0 = time.perf_counter()
        lr = optimizer.param_groups[0]["lr"]
        train_loss, train_acc = train_one_epoch(stage, trained, criterion, optimizer, scaler, device, dtype,
                                                epoch, ctx, cfg.progress)
        if scheduler is not None:
            scheduler.step()
        y_val, p_val, _ = evaluate.predict(stage.module, stage.val_loader, device, dtype, stage.channels_last)
        val_loss, val_acc = loss_and_accuracy(y_val, p_val)
        history.append({"epoch": epoch + 1, "train_loss": train_loss, "train_acc": train_acc,
                        "val_loss": val_loss, "val_acc": val_acc, "lr": lr,
                        "seconds": time.perf_counter() - t0})
        improved = val_loss < best_loss
        if improved:
            best_loss, best_epoch, stale = val_loss, epoch + 1, 0
        else:
            stale += 1
        epochs_bar.set_postfix(train_loss=f"{train_loss:.4f}", val_loss=f"{val_loss:.4f}", val_acc=f"{val_acc:.3f}")
        if improved and backbone_digest is not None:
            best_state = {k: v.detach().clone() for k, v in trained_part.state_dict().items()}
        if ctx.is_main:
            if improved and backbone_digest is None:
                _save_best(rd, model, epoch + 1, cfg)
            rd.write_history(history)
            # last.pt is written after best.pt: whatever it points to already exists when we resume
            atomic.torch_save({
                "trained": trained_part.state_dict(), "backbone_digest": backbone_digest,
                "best_state": best_state, "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict() if scheduler is not None else None,
                "scaler": scaler.state_dict(), "epoch": epoch + 1, "history": history,
                "best_loss": best_loss, "best_epoch": best_epoch, "stale": stale, "rng": rng_state(),
                "config": cfg.to_dict(),
            }, rd.last_checkpoint)
        say(f"epoch {epoch + 1}/{cfg.epochs}: train loss {train_loss:.4f} acc {train_acc:.3f} | "
            f"val loss {val_loss:.4f} acc {val_acc:.3f}" + ("  (best)" if improved else ""))
    train_seconds = time.perf_counter() - t_train + sum(h["seconds"] for h in history[:start_epoch])

    distributed.barrier(ctx)
    metrics = None
    if best_epoch == 0:  # every validation loss was NaN or infinite: nothing worth evaluating
        distributed.shutdown(ctx)
        raise XrayError(f"training diverged: the validation loss was never finite ({len(history)} epochs)",
                        "lower --lr (or check the data with xray data-check), then rerun with --force")
    if ctx.is_main:
        if best_state is not None:  # frozen: the one full checkpoint, frozen backbone + best head
            trained_part.load_state_dict(best_state)
            _save_best(rd, model, best_epoch, cfg)
        model.load_state_dict(_load_checkpoint(rd.best_checkpoint)["model"])
        metrics = evaluate_run(cfg, rd, stage, splits, device, dtype)
        trained_images = len(splits.train) * len(history)
        metrics.update({
            "best_epoch": best_epoch, "epochs_run": len(history), "train_seconds": train_seconds,
            # the precision the forward passes ran in, and images per second over the whole training loop
            # (validation included); "precision" is taken: it is the PPV metric
            "compute_dtype": precision.name(dtype),
            "train_images_per_s": trained_images / train_seconds if train_seconds > 0 else None,
            "params_total": total, "params_trainable": trainable, "world_size": ctx.world_size,
            "device": str(device), "torch": torch.__version__,
        })
        atomic.write_json(rd.metrics, metrics)
        rd.mark_complete(run=cfg.run_name)
        say(summary_table(metrics))
    distributed.barrier(ctx)
    if metrics is None:
        metrics = json.loads(rd.metrics.read_text(encoding="utf-8"))
    distributed.shutdown(ctx)
    return metrics


def evaluate_run(cfg: RunConfig, rd: RunDir, stage: Stage, splits: data.Splits, device: torch.device,
                 dtype: torch.dtype | None) -> dict:
    """Metrics of the loaded (best) model on val and test; writes both prediction files."""
    y_val, p_val, _ = evaluate.predict(stage.module, stage.val_loader, device, dtype, stage.channels_last)
    y_test, p_test, _ = evaluate.predict(stage.module, stage.test_loader, device, dtype, stage.channels_last)
    threshold = evaluate.youden_threshold(y_val, p_val)  # chosen on validation, never on test
    rd.write_predictions(splits.val.ids, y_val, p_val, which="val")
    rd.write_predictions(splits.test.ids, y_test, p_test, which="test")

    def at(t: float) -> dict:
        m = evaluate.classification_metrics(y_test, p_test, threshold=t)
        m["ci"] = evaluate.bootstrap_ci(y_test, p_test, threshold=t, seed=cfg.seed)
        return m

    return {
        "run": cfg.run_name, "backbone": cfg.backbone, "mode": cfg.mode, "dataset": cfg.dataset,
        "data_source": splits.source, "weights": cfg.resolved_weights, "pretrained": cfg.pretrained,
        "n": {"train": len(splits.train), "val": len(splits.val), "test": len(splits.test)},
        "skipped_images": list(splits.skipped),
        "threshold_youden": threshold,
        "test": at(0.5),
        "test_youden": at(threshold),
        "val": evaluate.classification_metrics(y_val, p_val),
    }


def _save_best(rd: RunDir, model: nn.Module, epoch: int, cfg: RunConfig) -> None:
    """best.pt: the whole model's state_dict, loadable on its own (evaluate, Grad-CAM)."""
    atomic.torch_save({"model": model.state_dict(), "epoch": epoch, "config": cfg.to_dict()}, rd.best_checkpoint)


def _state_digest(module: nn.Module) -> str:
    """SHA-1 of a module's state_dict (names and bytes): a resumed frozen run checks its backbone is the same."""
    h = hashlib.sha1()
    for name, t in module.state_dict().items():
        h.update(name.encode())
        h.update(t.detach().cpu().reshape(-1).contiguous().view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


def _load_checkpoint(path: Path) -> dict:
    try:
        return torch.load(path, map_location="cpu", weights_only=False)
    except Exception as e:  # a damaged checkpoint is a user-facing problem, not a crash
        raise XrayError(f"cannot read checkpoint {path}: {e}",
                        "delete it to restart this run from the beginning, or rerun with --force") from None


def _class_counts(labels: np.ndarray) -> str:
    counts = np.bincount(np.asarray(labels, dtype=np.int64), minlength=2)
    return f"{counts[0]} NORMAL / {counts[1]} PNEUMONIA"


def summary_table(metrics: dict) -> str:
    """The table `xray train` prints at the end."""
    t = metrics["test"]
    rows = [("run", metrics["run"]), ("data", metrics["data_source"]), ("weights", metrics["weights"]),
            ("n train / val / test", "{train} / {val} / {test}".format(**metrics["n"])),
            ("best epoch", f"{metrics['best_epoch']} of {metrics['epochs_run']}"),
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
    """Re-evaluate a finished run's best checkpoint (e.g. after changing the metrics code)."""
    rd = RunDir(run_dir)
    if not rd.best_checkpoint.exists():
        raise XrayError(f"{rd.path} has no best.pt checkpoint", "train the run first: xray train ... --out RUN_DIR")
    cfg = RunConfig.load(rd.config)
    ctx = distributed.Context()
    device = pick_device(cfg.device)
    seed_everything(cfg.seed, cfg.deterministic)
    splits = data.load_splits(cfg)
    model = models.build_model(cfg.backbone, cfg.mode, None, cfg.dropout).to(device)
    model.load_state_dict(_load_checkpoint(rd.best_checkpoint)["model"])
    stage = build_stage(cfg, model, splits, device, ctx, lambda _m: None)
    old = json.loads(rd.metrics.read_text(encoding="utf-8")) if rd.metrics.exists() else {}
    metrics = {**old, **evaluate_run(cfg, rd, stage, splits, device, precision.compute_dtype(cfg.amp, device))}
    atomic.write_json(rd.metrics, metrics)
    return metrics
