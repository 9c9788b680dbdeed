"""The run directory: where one run keeps every artifact, who owns it, and how the report reads it.

    config.json           the RunConfig (refuses to be reused with a different one unless forced)
    history.csv           one row per epoch
    metrics.json          test/val metrics, CIs, thresholds, sizes, timings
    predictions.csv       test: id, patient, label, p_pneumonia, prediction, logit_normal, logit_pneumonia
    val_predictions.csv   the same for validation (the Youden threshold is chosen here, never on test)
    last.pt / best.pt     checkpoints (last: everything needed to resume; best: the selected weights)
    train.log             everything the run printed, across resumes
    figures/              PNGs written by the notebooks
    .lock                 held (flock) by the process training into the folder; it names that process
    COMPLETE              written last: a directory without it is an unfinished run, never a result
"""

from __future__ import annotations

import json
import os
import socket
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import atomic
from .config import RunConfig
from .errors import ConfigError, XrayError

try:
    import fcntl
except ImportError:  # Windows: no flock; a run directory is then not guarded against a second process
    fcntl = None

HISTORY_COLUMNS = ["epoch", "train_loss", "train_acc", "val_loss", "val_acc", "lr", "seconds"]
CALLERS = ("cli", "notebook")
# how a fix is phrased where the run was started: a command line or a notebook's parameters cell
FORCE = {"cli": "pass --force", "notebook": "set force = True"}
OTHER_FOLDER = {"cli": "choose another --out", "notebook": "set run_dir to another folder"}


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
    log = property(lambda self: self.path / "train.log")
    figures = property(lambda self: self.path / "figures")
    lock_file = property(lambda self: self.path / ".lock")
    marker = property(lambda self: self.path / "COMPLETE")

    def __repr__(self) -> str:
        return f"RunDir({str(self.path)!r})"

    def is_complete(self) -> bool:
        return self.marker.exists()

    def saved_config(self) -> RunConfig | None:
        return RunConfig.load(self.config) if self.config.exists() else None

    # ---- reuse or refuse ---------------------------------------------------------------------------
    def reuse_state(self, cfg: RunConfig, force: bool = False, caller: str = "cli") -> str:
        """What training ``cfg`` here would do, deciding without writing anything:

        "new" (nothing to keep, or ``force``), "resume" (this run, interrupted after a saved epoch),
        "complete" (this run, finished: nothing to do) or "restart" (this run's config, no epoch saved).
        A folder holding a run with other settings raises ConfigError, phrased for ``caller``
        ("cli": --force / --out; "notebook": force = True / run_dir).
        """
        if caller not in CALLERS:
            raise ValueError(f"caller must be one of {CALLERS}, not {caller!r}")
        if force or not self.config.exists():
            return "new"
        try:
            old = self.saved_config()
        except ConfigError as e:
            raise ConfigError(f"{self.path} holds a run whose config.json cannot be read ({e.message})",
                              f"{FORCE[caller]} to start this run again from scratch, or "
                              f"{OTHER_FOLDER[caller]}") from None
        if old.identity() != cfg.identity():
            raise ConfigError(
                f"{self.path} already holds a run with a different config "
                f"({_describe_difference(old.identity(), cfg.identity())})",
                f"{FORCE[caller]} to discard it and start again, or {OTHER_FOLDER[caller]}")
        if self.is_complete():
            return "complete"
        return "resume" if self.last_checkpoint.exists() else "restart"

    def prepare(self, cfg: RunConfig, force: bool = False, caller: str = "cli") -> str:
        """Make the directory ready for ``cfg``: the decision of ``reuse_state``, then carried out
        (a forced rerun clears the old artifacts; config.json is written). Returns the state."""
        self._check_writable(caller)
        state = self.reuse_state(cfg, force, caller)
        if force:
            self.clear()
        if state != "complete":
            cfg.save(self.config)
        return state

    def _check_writable(self, caller: str) -> None:
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            probe = self.path / ".write-test"
            probe.write_text("ok")
            probe.unlink()
        except OSError as e:
            raise XrayError(f"cannot write to the run directory {self.path}: {e.strerror or e}",
                            f"{OTHER_FOLDER.get(caller, 'choose another folder')} (a writable one), "
                            "or fix its permissions") from None

    def clear(self) -> None:
        """Remove this run's artifacts (only the files a run writes; anything else is left alone)."""
        for p in [self.marker, self.config, self.history, self.metrics, self.predictions,
                  self.val_predictions, self.last_checkpoint, self.best_checkpoint, self.log]:
            p.unlink(missing_ok=True)
        if self.figures.is_dir():
            for f in self.figures.glob("*.png"):
                f.unlink()

    # ---- one owner ---------------------------------------------------------------------------------
    def acquire(self, caller: str = "cli") -> "RunLock":
        """Take the folder for this process (``with rd.acquire(): ...``); a second process stops at once."""
        return RunLock(self, caller)

    # ---- artifacts ---------------------------------------------------------------------------------
    def mark_complete(self, **info: Any) -> None:
        atomic.write_json(self.marker, {"finished_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"), **info})

    def write_history(self, rows: list[dict]) -> None:
        atomic.write_text(self.history, pd.DataFrame(rows, columns=HISTORY_COLUMNS).to_csv(index=False))

    def write_predictions(self, ids, labels, p, patients=None, threshold: float = 0.5, which: str = "test",
                          logits=None) -> None:
        """One row per image. Probabilities keep 10 significant digits: McNemar, calibration and the
        ROC curve read this file, and 6 decimals moved p in [0.4999995, 0.5) across the threshold.
        ``logits`` (N, 2) become the columns logit_normal and logit_pneumonia (10 significant digits), from
        which anyone can recompute the homework's loss (mean cross-entropy, ``metrics.cross_entropy``)."""
        p = np.asarray(p, dtype=np.float64)
        df = pd.DataFrame({"id": list(ids), "patient": list(ids if patients is None else patients),
                           "label": labels, "p_pneumonia": p, "prediction": (p >= threshold).astype(int)})
        if logits is not None:
            logits = np.asarray(logits, dtype=np.float64).reshape(len(df), 2)
            df["logit_normal"], df["logit_pneumonia"] = logits[:, 0], logits[:, 1]
        target = self.predictions if which == "test" else self.val_predictions
        atomic.write_text(target, df.to_csv(index=False, float_format="%.10g"))


class RunLock:
    """An exclusive ``flock`` on ``RUN_DIR/.lock``, which holds the owner's pid, host and command.

    The kernel drops the lock when its process ends, however it ends (SIGKILL, power loss of a node), so
    the file left behind by a crash never blocks the next run: only a live owner does.
    """

    def __init__(self, rd: RunDir, caller: str = "cli"):
        self.rd, self.fd = rd, None
        if fcntl is None:
            return
        rd._check_writable(caller)
        fd = os.open(rd.lock_file, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.read(fd, 4096).decode("utf-8", "replace").strip()
            os.close(fd)
            raise XrayError(f"{rd.path} is in use by another run: {_describe_holder(holder)}",
                            f"wait for it to finish (or stop it), or {OTHER_FOLDER.get(caller, 'use another folder')} "
                            "to train a separate run") from None
        os.ftruncate(fd, 0)
        info = {"pid": os.getpid(), "host": socket.gethostname(), "since": time.strftime("%Y-%m-%d %H:%M:%S"),
                "command": " ".join(sys.argv)[:300]}
        os.write(fd, (json.dumps(info) + "\n").encode())
        self.fd = fd

    def release(self) -> None:
        if self.fd is not None:
            os.ftruncate(self.fd, 0)  # an unlocked file names nobody
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None

    def __enter__(self) -> "RunLock":
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def _describe_holder(text: str) -> str:
    try:
        h = json.loads(text)
        return f"process {h['pid']} on {h['host']}, since {h['since']} ({h['command']})"
    except (ValueError, KeyError, TypeError):  # the owner is between taking the lock and writing its name
        return "another process (it is just starting)"


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

    @property
    def patients(self) -> np.ndarray:
        """Patient id of each test prediction (the unit the bootstrap resamples); a run written before
        predictions.csv had the column counts each image as its own patient."""
        column = "patient" if "patient" in self.predictions else "id"
        return self.predictions[column].astype(str).to_numpy()


_ID_COLUMNS = {"id": str, "patient": str}  # "0012" stays "0012"


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
            predictions=pd.read_csv(rd.predictions, dtype=_ID_COLUMNS),
            val_predictions=pd.read_csv(rd.val_predictions, dtype=_ID_COLUMNS),
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
