"""Checkpoints: what a run saves after every epoch, and the one place that reads them back.

    last.pt   everything resuming needs: the TrainingState, the weights of what trains (the whole model,
              or in frozen mode only the head), optimiser / scheduler / grad-scaler state and RNG states
    best.pt   the selected weights of the whole model, loadable on its own (evaluate, Grad-CAM, predict):
              the lowest validation loss (``select = "best"``), or the last epoch (``select = "last"``,
              the homework's rule)

A frozen backbone is the same every epoch (rebuilt from the weights on resume, checked by digest), so a
frozen stage checkpoints only its head: writing the ~45 MB backbone twice per epoch would cost more than
training the head on stored features. Its best head lives in last.pt until the run ends, when best.pt
is written once.
"""

from __future__ import annotations

import math
import pickle
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
import torch.nn as nn

from .. import atomic, models
from ..config import RunConfig
from ..errors import XrayError
from ..runs import RunDir

if TYPE_CHECKING:
    from .stage import Stage

FORMAT = 3  # last.pt layout; an older file is refused with a clear message, never misread

# Run folders travel (a TA gets a class's runs, a student downloads someone's run to predict with it), so
# a checkpoint is data, never code: every file is read with ``torch.load(weights_only=True)``, which
# unpickles only tensors and plain containers. Everything a checkpoint holds is stored that way (the RNG
# states as tensors and lists, the config and history as dicts), so no global needs allow-listing.
# The numpy globals an older last.pt (format 2: numpy's RNG state as an ndarray) names: such a file is
# refused as "written by an older version", anything else that is not weights as "not weights".
_OLD_FORMAT_GLOBALS = ("numpy.core.multiarray._reconstruct", "numpy._core.multiarray._reconstruct",
                       "numpy.ndarray", "numpy.dtype", "numpy.dtypes.UInt32DType")


@dataclass
class TrainingState:
    """Where the epoch loop stands."""

    epoch: int = 0  # epochs finished
    history: list[dict] = field(default_factory=list)  # one row per epoch (history.csv)
    best_loss: float = math.inf  # lowest validation loss so far, and its epoch (0: none finite yet)
    best_epoch: int = 0
    stale: int = 0  # epochs since the best one (early stopping)
    best_weights: dict | None = None  # frozen stage, select "best": the best head so far

    def record(self, row: dict) -> bool:
        """Add one finished epoch's history row; True when its validation loss is the lowest so far."""
        self.history.append(row)
        self.epoch = row["epoch"]
        improved = row["val_loss"] < self.best_loss  # False for NaN: a diverged epoch is never the best
        if improved:
            self.best_loss, self.best_epoch, self.stale = row["val_loss"], row["epoch"], 0
        else:
            self.stale += 1
        return improved

    def stopped_early(self, patience: int) -> bool:
        return self.stale >= patience > 0

    def to_dict(self) -> dict:
        return {"epoch": self.epoch, "history": self.history, "best_loss": self.best_loss,
                "best_epoch": self.best_epoch, "stale": self.stale}


class Checkpointer:
    """Saves and restores one run's training. Every rank keeps the same state; only ``writes`` ranks
    (rank 0) touch the disk."""

    def __init__(self, rd: RunDir, cfg: RunConfig, stage: Stage, optimizer, scheduler, scaler, writes: bool = True):
        self.rd, self.cfg, self.stage, self.writes = rd, cfg, stage, writes
        self.optimizer, self.scheduler, self.scaler = optimizer, scheduler, scaler
        self.frozen_digest = models.module_digest(stage.model.backbone) if stage.frozen else None

    def resume(self) -> TrainingState:
        """The state after the last saved epoch, loaded into the stage and optimiser; fresh when none."""
        path = self.rd.last_checkpoint
        if not path.exists():
            return TrainingState()
        ckpt = load(path)
        if ckpt.get("format") != FORMAT:
            raise XrayError(f"{path} was written by an older version of this tool",
                            "rerun with --force to start this run again")
        if ckpt["frozen_backbone"] != self.frozen_digest:
            raise XrayError(f"{path} was saved with a different frozen backbone than the weights give now",
                            "rerun with --force to start this run again")
        self.stage.trained.load_state_dict(ckpt["trained"])
        self.optimizer.load_state_dict(ckpt["optimizer"])
        if self.scheduler is not None and ckpt["scheduler"] is not None:
            self.scheduler.load_state_dict(ckpt["scheduler"])
        if ckpt["scaler"]:
            self.scaler.load_state_dict(ckpt["scaler"])
        set_rng_state(ckpt["rng"])
        return TrainingState(**ckpt["state"], best_weights=ckpt["best_weights"])

    def save(self, state: TrainingState, improved: bool) -> None:
        """After an epoch: the best weights when they improved, then history.csv and last.pt (written
        last: whatever it points to already exists when a run resumes from it)."""
        if improved and self.cfg.select == "best":
            if self.stage.frozen:
                state.best_weights = {k: v.detach().clone() for k, v in self.stage.trained.state_dict().items()}
            elif self.writes:
                save_model(self.rd.best_checkpoint, self.stage.model, state.epoch, self.cfg)
        if not self.writes:
            return
        self.rd.write_history(state.history)
        atomic.torch_save({
            "format": FORMAT, "state": state.to_dict(), "trained": self.stage.trained.state_dict(),
            "frozen_backbone": self.frozen_digest, "best_weights": state.best_weights,
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict() if self.scheduler is not None else None,
            "scaler": self.scaler.state_dict(), "rng": rng_state(), "config": self.cfg.to_dict(),
        }, self.rd.last_checkpoint)

    def restore_selected(self, state: TrainingState) -> int:
        """Put the weights ``cfg.select`` picks into the model (and best.pt); return their epoch."""
        if self.cfg.select == "last":  # the weights in memory are the last epoch's
            epoch = state.epoch
        elif self.stage.frozen:
            self.stage.trained.load_state_dict(state.best_weights)
            epoch = state.best_epoch
        else:
            self.stage.model.load_state_dict(load(self.rd.best_checkpoint)["model"])
            return state.best_epoch
        if self.writes:
            save_model(self.rd.best_checkpoint, self.stage.model, epoch, self.cfg)
        return epoch


# ----------------------------------------------------------------------------------------------------
# files


def save_model(path: Path, model: nn.Module, epoch: int, cfg: RunConfig) -> None:
    """best.pt: the whole model's state_dict, its epoch and the run's config."""
    atomic.torch_save({"model": model.state_dict(), "epoch": epoch, "config": cfg.to_dict()}, path)


class UnsafeCheckpoint(XrayError):
    """A checkpoint whose pickle names something other than tensors and plain containers."""


def load(path: Path, fix: str = "retrain or delete it") -> dict:
    """A checkpoint's contents, read as data only (``weights_only=True``): a pickle that would build any
    other object (run code) is refused, naming the file, and nothing in it is executed."""
    path = Path(path)
    try:
        loaded = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        if _needs_only(path, _OLD_FORMAT_GLOBALS):
            raise XrayError(f"{path} was written by an older version of this tool", fix) from None
        raise UnsafeCheckpoint(_not_weights(path, fix)) from None
    except Exception as e:  # a damaged checkpoint is a user-facing problem, not a crash
        raise XrayError(f"cannot read checkpoint {path}: {e}", fix) from None
    if not isinstance(loaded, dict):
        raise UnsafeCheckpoint(_not_weights(path, fix))
    return loaded


def _not_weights(path: Path, fix: str) -> str:
    return f"{path} holds objects that are not weights; it was not loaded: {fix}"


def _needs_only(path: Path, allowed: tuple[str, ...]) -> bool:
    """True when the globals the pickle names (listed without unpickling) are all in ``allowed``."""
    try:
        names = torch.serialization.get_unsafe_globals_in_checkpoint(path)
    except Exception:
        return False
    return bool(names) and all(n in allowed for n in names)


def load_best_model(run_dir: str | Path) -> tuple[models.XrayNet, RunConfig]:
    """The run's selected weights (best.pt) in a fresh model, in eval mode, with its RunConfig.

    Built as "finetune" whatever the run's mode: the weights are the same, but a frozen backbone has no
    gradients, and Grad-CAM needs the gradient of the score at the CAM layer.
    """
    rd = RunDir(run_dir)
    if not rd.best_checkpoint.exists():
        raise XrayError(f"{rd.path} has no best.pt checkpoint", "train the run first (xray train / xray report)")
    cfg = RunConfig.load(rd.config)
    model = models.build_model(cfg.backbone, "finetune", None, cfg.dropout)
    try:
        model.load_state_dict(load(rd.best_checkpoint)["model"])
    except (KeyError, RuntimeError) as e:
        raise XrayError(f"cannot load {rd.best_checkpoint}: {e}", "retrain the run, or delete it") from None
    return model.eval(), cfg


# ----------------------------------------------------------------------------------------------------
# what else a checkpoint holds


def rng_state() -> dict:
    """Every RNG's state as tensors, ints and lists (what ``weights_only`` reads back)."""
    version, internal, gauss = random.getstate()
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    state = {"python": [version, list(internal), gauss],
             "numpy": {"kind": kind, "keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos),
                       "has_gauss": int(has_gauss), "cached_gaussian": float(cached)},
             "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    n = state["numpy"]
    np.random.set_state((n["kind"], n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"],
                         n["cached_gaussian"]))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
