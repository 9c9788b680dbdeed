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
    .xray-run             the manifest: every file the tool wrote here (atomic.py keeps it)

A folder is a run folder when it holds the manifest (or, written by an earlier version, a COMPLETE marker
or a .lock). ``--out`` on any other non-empty folder is refused, forced or not; ``--force`` on a run
folder deletes only the files its manifest lists, never a file the user put there. A folder whose run
never finished an epoch is not worth keeping: a rerun with other settings replaces it without ``--force``.
"""

from __future__ import annotations

import errno
import json
import os
import socket
import stat
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence, TypeVar

import numpy as np
import pandas as pd

from . import atomic
from .config import RunConfig
from .errors import ConfigError, XrayError

try:
    import fcntl
except ImportError:  # Windows: no flock; a run directory is then not guarded against a second process
    fcntl = None

FIGURES = ("curves.png", "confusion.png")  # figures/: what the training notebooks save (report.save_run_figures)
HISTORY_COLUMNS = ["epoch", "train_loss", "train_acc", "val_loss", "val_acc", "lr", "seconds"]
CALLERS = ("cli", "notebook")
# how a fix is phrased where the run was started: a command line or a notebook's parameters cell
FORCE = {"cli": "pass --force", "notebook": "set force = True"}
OTHER_FOLDER = {"cli": "choose another --out", "notebook": "set run_dir to another folder"}
# what an earlier version wrote into a run folder (it kept no manifest): what a forced rerun may delete there
LEGACY_FILES = ("config.json", "history.csv", "metrics.json", "predictions.csv", "val_predictions.csv",
                "last.pt", "best.pt", "train.log", "COMPLETE", ".lock", "figures/curves.png",
                "figures/confusion.png")


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
    figure_files = property(lambda self: [self.path / "figures" / name for name in FIGURES])
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
        "complete" (this run, finished: nothing to do), "restart" (this run's config, no epoch saved) or
        "replace" (a run with other settings that never finished an epoch: a failed first try).
        A folder holding finished epochs of a run with other settings raises ConfigError, phrased for
        ``caller`` ("cli": --force / --out; "notebook": force = True / run_dir); so does a non-empty folder
        this tool did not write, forced or not.
        """
        if caller not in CALLERS:
            raise ValueError(f"caller must be one of {CALLERS}, not {caller!r}")
        self.check_owned(caller)
        if force or not self.config.exists():
            return "new"
        try:
            old = self.saved_config()
        except ConfigError as e:
            if not self.has_finished_epoch():
                return "replace"
            raise ConfigError(f"{self.path} holds a run whose config.json cannot be read ({e.message})",
                              f"{FORCE[caller]} to start this run again from scratch, or "
                              f"{OTHER_FOLDER[caller]}") from None
        if old.identity() != cfg.identity():
            if not self.has_finished_epoch():  # a first try that failed before its first epoch
                return "replace"
            raise ConfigError(
                f"{self.path} already holds a run with a different config "
                f"({_describe_difference(old.identity(), cfg.identity())})",
                f"{FORCE[caller]} to discard its finished epochs and start again, or {OTHER_FOLDER[caller]}")
        if self.is_complete():
            return "complete"
        return "resume" if self.last_checkpoint.exists() else "restart"

    def has_finished_epoch(self) -> bool:
        """A saved epoch (last.pt) or a finished run: what ``--force`` is needed to discard."""
        return self.is_complete() or self.last_checkpoint.exists()

    def prepare(self, cfg: RunConfig, force: bool = False, caller: str = "cli") -> str:
        """Make the directory ready for ``cfg``: the decision of ``reuse_state``, then carried out
        (a forced rerun, or one replacing a run that never finished an epoch, deletes the files the
        earlier run wrote; config.json is written). Returns the state ("replace": an unfinished run with
        other settings was replaced)."""
        state = self.reuse_state(cfg, force, caller)
        self._check_writable(caller)
        atomic.start_manifest(self.path, "run", self._legacy_files())
        if state in ("new", "replace"):  # nothing worth keeping (or forced): what earlier tries wrote goes
            self.clear()
        if state != "complete":
            cfg.save(self.config)
        return state

    # ---- what the tool wrote here ------------------------------------------------------------------
    def is_run_folder(self) -> bool:
        """Written by this tool: a manifest, or (an earlier version's run) a COMPLETE marker or a .lock."""
        manifest = atomic.read_manifest(self.path)
        if manifest is not None:
            return manifest.get("kind") == "run"
        return any(_is_plain_file(p) for p in (self.marker, self.lock_file))

    def check_owned(self, caller: str = "cli") -> None:
        """Refuse a folder that holds files and is not a run folder: ``--force`` would not help, the
        tool never deletes or overwrites what it did not write."""
        if not self.path.exists():
            return
        if not self.path.is_dir():
            raise XrayError(f"{self.path} is a file, not a folder", OTHER_FOLDER.get(caller, "choose another folder"))
        entries = sorted(p.name for p in self.path.iterdir())
        if not entries or self.is_run_folder():
            return
        more = f" and {len(entries) - 1} more" if len(entries) > 1 else ""
        raise ConfigError(f"{self.path} is not empty and holds no run of this tool (it holds {entries[0]}{more}); "
                          "nothing was written there",
                          f"{OTHER_FOLDER.get(caller, 'choose another folder')}: a new or empty folder, "
                          "or the folder of an earlier run")

    def adopt(self, files: list[str] = (), caller: str = "cli") -> None:
        """Make this folder a run folder before anything is written into it (the pipeline writes the
        executed notebook there before the notebook trains); a folder the tool did not write is refused."""
        self.check_owned(caller)
        self._check_writable(caller)
        atomic.start_manifest(self.path, "run", [*self._legacy_files(), *files])

    def manifest_files(self) -> list[str]:
        manifest = atomic.read_manifest(self.path)
        return manifest["files"] if manifest is not None else self._legacy_files()

    def _legacy_files(self) -> list[str]:
        """An earlier version's run folder (no manifest): the files such a run wrote that are there."""
        if atomic.read_manifest(self.path) is not None or not self.path.is_dir():
            return []
        return [f for f in LEGACY_FILES if os.path.lexists(self.path / f)]

    def _check_writable(self, caller: str) -> None:
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            fd, probe = tempfile.mkstemp(prefix=".write-test.", dir=self.path)  # a fresh name: never a link
            os.close(fd)
            os.unlink(probe)
        except OSError as e:
            raise XrayError(f"cannot write to the run directory {self.path}: {e.strerror or e}",
                            f"{OTHER_FOLDER.get(caller, 'choose another folder')} (a writable one), "
                            "or fix its permissions") from None

    def clear(self) -> None:
        """Remove the files an earlier run wrote here (its manifest), and nothing else: a file the user
        put in the folder stays. The lock (held by whoever clears) and the manifest itself stay."""
        listed = self.manifest_files()
        # the lock, and the executed notebook that `xray report` is writing while this very run starts
        keep = {".lock", *(f for f in listed if f.endswith(".ipynb") and "/" not in f)}
        for name in listed:
            p = self.path / name
            if name not in keep and (p.is_symlink() or p.is_file()):
                p.unlink()  # a symlink itself, never its target
        left = sorted(keep)  # listed even before they exist: whoever writes them is this tool
        atomic.write_json(self.path / atomic.MANIFEST, {"kind": "run", "files": left})

    # ---- one owner ---------------------------------------------------------------------------------
    def acquire(self, caller: str | None = None) -> "RunLock":
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


# what `xray report` writes at the top of its --out (the runs go under runs/, each a run folder)
REPORT_FILES = ("report.html", "report.pdf", "report.json", "00_data_exploration.ipynb", "03_task_d_e_analysis.ipynb")
PLACEHOLDERS = ("README.md", ".gitkeep")  # a checkout's reports/ holds its README: not the user's results


def check_report_folder(out: str | Path, caller: str = "cli") -> None:
    """Before any work, make ``out`` a report folder: refused when it holds files this tool did not write
    (forced or not) or cannot be written. A folder of an earlier report (report.json, runs/, ...) is one."""
    out = Path(out)
    other = "choose another --out" if caller == "cli" else "choose another folder"
    if out.exists() and not out.is_dir():
        raise XrayError(f"{out} is a file, not a folder", other)
    manifest = atomic.read_manifest(out) if out.is_dir() else None
    if out.is_dir() and manifest is None:
        entries = sorted(p.name for p in out.iterdir() if p.name not in PLACEHOLDERS)
        earlier = any(os.path.lexists(out / f) for f in (*REPORT_FILES, "runs"))
        if entries and not earlier:
            more = f" and {len(entries) - 1} more" if len(entries) > 1 else ""
            raise ConfigError(f"{out} is not empty and holds no report of this tool (it holds {entries[0]}{more}); "
                              "nothing was written there", f"{other}: a new or empty folder, or an earlier report's")
    elif manifest is not None and manifest.get("kind") != "report":
        raise ConfigError(f"{out} is a run folder, not a report folder", other)
    try:
        out.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".write-test.", dir=out)
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        raise atomic.disk_error(e, out / "report.html") or XrayError(
            f"cannot write to {out}: {e.strerror or e}", f"{other} (a writable one)") from None
    earlier = [f for f in (*REPORT_FILES, "runs") if manifest is None and os.path.lexists(out / f)]
    atomic.start_manifest(out, "report", earlier)


class RunLock:
    """An exclusive ``flock`` on ``RUN_DIR/.lock``, which holds the owner's pid, host and command.

    The kernel drops the lock when its process ends, however it ends (SIGKILL, power loss of a node), so
    the file left behind by a crash never blocks the next run: only a live owner does.
    """

    def __init__(self, rd: RunDir, caller: str | None = None):
        """``caller``: "cli" or "notebook" for training (a fix may name --out or run_dir); None for a
        command that reads a run (xray evaluate), whose fixes name no training flag."""
        self.rd, self.fd = rd, None
        if fcntl is None:
            return
        rd.check_owned(caller)
        rd._check_writable(caller)
        atomic.start_manifest(rd.path, "run", [*rd._legacy_files(), ".lock"])
        fd = _open_lock(rd.lock_file)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.read(fd, 4096).decode("utf-8", "replace").strip()
            os.close(fd)
            other = f", or {OTHER_FOLDER[caller]} to train a separate run" if caller in OTHER_FOLDER else ""
            raise XrayError(f"{rd.path} is in use by another run: {_describe_holder(holder)}",
                            f"wait for it to finish (or stop it){other}") from None
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


def _open_lock(path: Path) -> int:
    """The lock file, never through a link: a symlink, a hard link or anything but a plain file there is
    refused (as root, following it would truncate whatever file it points to)."""
    fix = f"delete {path} (it is not the lock this tool writes), then run the same command again"
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, 0o644)
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise XrayError(f"{path} is a symbolic link; it was not opened", fix) from None
        raise atomic.disk_error(e, path) or e from None
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode) or st.st_nlink > 1:
        os.close(fd)
        raise XrayError(f"{path} is not a plain file; it was not opened", fix)
    return fd


def _is_plain_file(path: Path) -> bool:
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False


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
        run = Run(
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
    problem = damage(rd.path)
    if problem:
        raise XrayError(f"{rd.path} is damaged: {problem}", "rerun it with --force")
    return run


def damage(path: str | Path) -> str | None:
    """What is wrong with a complete run's files, read cheaply (row counts against metrics.json), or None:
    a truncated predictions.csv must be named, not compared as if tested on other images."""
    rd = RunDir(path)
    try:
        n = json.loads(rd.metrics.read_text(encoding="utf-8"))["n"]
    except (OSError, ValueError, KeyError, TypeError):
        return "metrics.json cannot be read"
    for file, split in ((rd.predictions, "test"),):
        try:
            with open(file, encoding="utf-8") as f:
                rows = max(sum(1 for line in f if line.strip()) - 1, 0)
        except OSError:
            return f"{file.name} is missing"
        expected = n.get(split) if isinstance(n, dict) else None
        if isinstance(expected, int) and rows != expected:
            return f"{file.name} has {rows} rows, metrics say {expected}"
    return None


T = TypeVar("T")


def task_e_runs(runs: Sequence[Run]) -> list[Run]:
    """The runs of Tasks B-E: those on the grid's largest training share (all of it, unless a preset such as
    quick trains every run on less); the smaller shares are learning-curve runs."""
    top = max((r.config.train_fraction for r in runs), default=1.0)
    return [r for r in runs if r.config.train_fraction >= top]


def group_by_kind(runs: Iterable[T], kind: Callable[[T], str], seed: Callable[[T], int]) -> dict[str, list[T]]:
    """The one grouping of runs into kinds: kind -> its runs, lowest seed first, the kinds in order of first
    appearance (``Report.kinds``, the findings and the claims all use it)."""
    out: dict[str, list[T]] = {}
    for run in runs:
        out.setdefault(kind(run), []).append(run)
    return {k: sorted(members, key=seed) for k, members in out.items()}


def readable_runs(paths: Iterable[str | Path]) -> list[Run]:
    """The runs among ``paths`` that load; an unreadable one is left out (the report itself names it): what
    report.json's summaries (banners, claims) are computed from."""
    runs = []
    for path in paths:
        try:
            runs.append(load_run(path))
        except (XrayError, OSError, ValueError, KeyError, TypeError):
            continue
    return runs


def collect(root: str | Path) -> list[Run]:
    """Every complete run directly under ``root`` (sorted by name); incomplete ones are ignored."""
    root = Path(root)
    return [load_run(p) for p in sorted(root.iterdir()) if p.is_dir() and (p / "COMPLETE").exists()] \
        if root.is_dir() else []
