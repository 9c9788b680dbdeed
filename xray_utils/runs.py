"""The run directory: where one (backbone, mode) run keeps every artifact, and how the report reads them.

    config.json           the RunConfig (refuses to be reused with a different one unless force)
    history.csv           one row per epoch
    metrics.json          test/val metrics, CIs, thresholds, sizes, timings
    predictions.csv       test: id, label, p_pneumonia, prediction
    val_predictions.csv   the same for validation (the Youden threshold is chosen here, never on test)
    last.pt / best.pt     checkpoints (last: everything needed to resume; best: lowest validation loss)
    figures/              PNGs written by the notebooks
    COMPLETE              written last: a directory without it is an unfinished run, never a result
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from . import atomic
from .config import RunConfig
from .errors import ConfigError, XrayError

HISTORY_COLUMNS = ["epoch", "train_loss", "train_acc", "val_loss", "val_acc", "lr", "seconds"]


class RunDir:
    def __init__(self, path: str | Path):
        self.path = Path(path).expanduser()

    # artifact paths
    config = property(lambda self: self.path / "config.json")
    history = property(lambda self: self.path / "history.csv")
    metrics = property(lambda self: self.path / "metrics.json")
    predictions = property(lambda self: self.path / "predictions.csv")
    val_predictions = property(lambda self: self.path / "val_predictions.csv")
    last_checkpoint = property(lambda self: self.path / "last.pt")
    best_checkpoint = property(lambda self: self.path / "best.pt")
    figures = property(lambda self: self.path / "figures")
    marker = property(lambda self: self.path / "COMPLETE")

    def __repr__(self) -> str:
        return f"RunDir({str(self.path)!r})"

    def is_complete(self) -> bool:
        return self.marker.exists()

    def saved_config(self) -> RunConfig | None:
        return RunConfig.load(self.config) if self.config.exists() else None

    def prepare(self, cfg: RunConfig, force: bool = False) -> str:
        """Make the directory ready for ``cfg``; return "new", "resume", "complete" or "restart".

        A directory holding a run with a different config is refused (its results would be mixed with
        the new ones) unless ``force``, which clears it.
        """
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            probe = self.path / ".write-test"
            probe.write_text("ok")
            probe.unlink()
        except OSError as e:
            raise XrayError(
                f"cannot write to the run directory {self.path}: {e.strerror or e}",
                "choose a writable --out directory (or fix its permissions)",
            ) from None
        old = None
        if self.config.exists():
            try:
                old = self.saved_config()
            except ConfigError as e:
                if not force:
                    raise ConfigError(
                        f"{self.path} holds a run whose config.json cannot be read ({e.message})",
                        "pass --force to start this run again from scratch, or use another --out",
                    ) from None
        if old is not None and old.identity() != cfg.identity():
            if not force:
                diff = _describe_difference(old.identity(), cfg.identity())
                raise ConfigError(
                    f"{self.path} already holds a run with a different config ({diff})",
                    "pass --force to discard it and start again, or choose another --out",
                )
        if force and (old is not None or self.config.exists()):
            self.clear()
            old = None
        if old is not None and self.is_complete():
            return "complete"
        cfg.save(self.config)
        if old is not None and self.last_checkpoint.exists():
            return "resume"
        return "new" if old is None else "restart"

    def clear(self) -> None:
        """Remove this run's artifacts (only the files a run writes; anything else is left alone)."""
        for p in [self.marker, self.config, self.history, self.metrics, self.predictions,
                  self.val_predictions, self.last_checkpoint, self.best_checkpoint]:
            p.unlink(missing_ok=True)
        if self.figures.is_dir():
            for f in self.figures.glob("*.png"):
                f.unlink()

    def mark_complete(self, **info: Any) -> None:
        atomic.write_json(self.marker, {"finished_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"), **info})

    def write_history(self, rows: list[dict]) -> None:
        atomic.write_text(self.history, pd.DataFrame(rows, columns=HISTORY_COLUMNS).to_csv(index=False))

    def write_predictions(self, ids, labels, p, threshold: float = 0.5, which: str = "test") -> None:
        df = pd.DataFrame({"id": list(ids), "label": labels, "p_pneumonia": p,
                           "prediction": (p >= threshold).astype(int)})
        target = self.predictions if which == "test" else self.val_predictions
        atomic.write_text(target, df.to_csv(index=False, float_format="%.6f"))


def _describe_difference(old: dict, new: dict) -> str:
    keys = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
    shown = ", ".join(f"{k}: {old.get(k)!r} -> {new.get(k)!r}" for k in keys[:4])
    return shown + (f" and {len(keys) - 4} more" if len(keys) > 4 else "")


@dataclass
class Run:
    """A finished run, loaded for the report."""

    path: Path
    name: str
    config: RunConfig
    metrics: dict
    history: pd.DataFrame
    predictions: pd.DataFrame
    val_predictions: pd.DataFrame

    @property
    def y(self):
        return self.predictions["label"].to_numpy()

    @property
    def p(self):
        return self.predictions["p_pneumonia"].to_numpy()


def load_run(path: str | Path) -> Run:
    rd = RunDir(path)
    if not rd.is_complete():
        raise XrayError(
            f"{rd.path} is not a complete run (no COMPLETE marker)",
            "finish it by rerunning the same train command (it resumes), or remove the folder",
        )
    try:
        config = RunConfig.load(rd.config)  # first: an old config format is the likeliest problem
        metrics = json.loads(rd.metrics.read_text(encoding="utf-8"))
        return Run(
            path=rd.path,
            name=metrics.get("run", rd.path.name),
            config=config,
            metrics=metrics,
            history=pd.read_csv(rd.history),
            predictions=pd.read_csv(rd.predictions, dtype={"id": str}),
            val_predictions=pd.read_csv(rd.val_predictions, dtype={"id": str}),
        )
    except ConfigError as e:
        raise XrayError(
            f"{rd.path} was written by an older or different version of this tool: {e.message}",
            "rerun it with --force (xray report --force) to recompute it with the current settings",
        ) from None
    except (OSError, ValueError, KeyError) as e:
        raise XrayError(f"{rd.path} is damaged: {e}", "rerun it with --force") from None


def collect(root: str | Path) -> list[Run]:
    """Every complete run directly under ``root`` (sorted by name); incomplete ones are ignored."""
    root = Path(root)
    return [load_run(p) for p in sorted(root.iterdir()) if p.is_dir() and (p / "COMPLETE").exists()] \
        if root.is_dir() else []
