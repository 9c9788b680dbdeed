"""What a run tells the person waiting for it, and what it leaves in its folder.

- ``RunLog``: every message of a run goes to the screen (through ``tqdm.write``, so a line never cuts
  through an open progress bar) and into ``RUN_DIR/train.log``, warnings included, across resumes.
- ``Progress``: on a terminal, a tqdm bar per epoch with its ETA; anywhere else (papermill kernels, CI,
  a log file) one line at most every 30 s with run, epoch, batch, images/s and the run's ETA.
- Before a long CPU run, one line with its estimated duration, measured from the first batches' step time.
"""

from __future__ import annotations

import os
import sys
import time
import warnings
from pathlib import Path
from typing import Callable, Iterable, Iterator

from tqdm import tqdm

from . import atomic, errors

LINE_INTERVAL_S = 30.0  # at most one progress line this often when stderr is not a terminal
ESTIMATE_ABOVE_S = 300.0  # announce runs estimated to take longer than this (CPU only)
WARMUP_BATCHES = 1  # the first batches pay for allocations and lazy initialisation: not timed
TIMED_BATCHES = 5


def duration(seconds: float) -> str:
    """12 s, 4.5 min, 1 h 05 min."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.1f} min"
    return f"{int(seconds // 3600)} h {int(seconds % 3600 // 60):02d} min"


def on_terminal() -> bool:
    """Progress bars only where a person watches a terminal; papermill, CI and log files get lines."""
    return sys.stderr.isatty()


def bars_wanted() -> bool:
    """A redrawn bar helps on a terminal or in a Jupyter kernel (tqdm.auto draws a widget there); in a log
    file or CI every redraw would be one more line of noise."""
    return on_terminal() or "ipykernel" in sys.modules


def console(message: str) -> None:
    tqdm.write(str(message), file=sys.stdout)


def invocation(argv: list[str] | None = None, env: dict | None = None) -> str:
    """What started this process, for train.log: the command line, or in a Jupyter kernel the notebook (its name
    from JupyterLab's or xray's JPY_SESSION_NAME) and the xray command that executed it (XRAY_COMMAND), not
    ``ipykernel_launcher.py -f kernel-....json``."""
    argv = sys.argv if argv is None else argv
    env = os.environ if env is None else env
    if not argv or Path(argv[0]).name not in ("ipykernel_launcher.py", "ipykernel_launcher"):
        return " ".join(argv)
    notebook, command = env.get("JPY_SESSION_NAME"), env.get("XRAY_COMMAND")
    where = f"notebook {Path(notebook).name}" if notebook else "a notebook (its name unknown to the kernel)"
    return f"{where}, executed by `{command}`" if command else f"{where} in a Jupyter kernel"


class RunLog:
    """``say(message)``: the message into ``path`` (when given) and to ``out`` (default: the console).

    A context manager: opening appends a header to the file and routes Python warnings into it as well;
    closing restores them. ``quiet`` ranks (torchrun's ranks other than 0) say nothing anywhere.
    """

    def __init__(self, path: Path | None, out: Callable[[str], None] | None = None, quiet: bool = False):
        self.path, self.out, self.quiet = path, out or console, quiet
        self.file = None
        self._showwarning = None

    def __enter__(self) -> "RunLog":
        if self.path is not None and not self.quiet:
            try:
                self.file = atomic.open_append(self.path)  # never through a symlink
            except OSError as e:
                raise atomic.disk_error(e, self.path) or e from None
            self._write(f"=== {time.strftime('%Y-%m-%d %H:%M:%S')} pid {os.getpid()}: {invocation()[:300]}")
            self._showwarning = warnings.showwarning
            warnings.showwarning = self._warning
        return self

    def __exit__(self, *exc) -> None:
        if isinstance(exc[1], KeyboardInterrupt):  # Ctrl-C or SIGTERM: the log says how the run stopped
            self._write(errors.stop_line(exc[1]))
        elif isinstance(exc[1], errors.XrayError):  # the one line the console shows, kept with the run
            try:
                self._write(f"error: {exc[1]}")
            except errors.XrayError:  # a full disk cannot take that line either
                pass
        if self._showwarning is not None:
            warnings.showwarning = self._showwarning
            self._showwarning = None
        if self.file is not None:
            self.file.close()
            self.file = None

    def __call__(self, message: str) -> None:
        if self.quiet:
            return
        self._write(str(message))
        self.out(message)

    def _write(self, text: str) -> None:
        if self.file is None:
            return
        try:
            self.file.write(text + "\n")
            self.file.flush()
        except OSError as e:
            raise atomic.disk_error(e, self.path) or e from None

    def _warning(self, message, category, filename, lineno, file=None, line=None) -> None:
        self._write(f"warning: {message}")
        self._showwarning(message, category, filename, lineno, file, line)


class Progress:
    """Shows where a run is. ``track`` wraps one loop over batches (an epoch, a feature pass).

    ``work_after``: batch-equivalents the run still has to do after this loop (later epochs, validation,
    the final evaluation), so the ETA and the estimate cover the whole run, not just this loop.
    """

    def __init__(self, say: Callable[[str], None], run: str, epochs: int, enabled: bool = True,
                 terminal: bool | None = None, estimate: bool = False, interval: float | None = None):
        self.say, self.run, self.epochs, self.enabled = say, run, epochs, enabled
        self.terminal = on_terminal() if terminal is None else terminal
        self.estimate = estimate
        self.interval = LINE_INTERVAL_S if interval is None else interval
        self.started = time.perf_counter()
        self.bar, self.values = None, {}

    def track(self, batches: Iterable, total: int, label: str, work_after: float = 0.0) -> Iterator:
        if not self.enabled:
            yield from batches
            return
        self.bar = tqdm(total=total, desc=f"{self.run} {label}", unit="batch", leave=False, file=sys.stderr,
                        dynamic_ncols=True) if self.terminal else None
        t_loop = last_line = time.perf_counter()
        t_timed, images = None, 0
        try:
            for k, item in enumerate(batches, start=1):
                yield item
                now = time.perf_counter()
                images += _batch_len(item)
                if k == WARMUP_BATCHES:
                    t_timed = now
                step = (now - t_timed) / (k - WARMUP_BATCHES) if k > WARMUP_BATCHES else (now - t_loop) / k
                eta = step * (total - k + work_after)
                if self.estimate and k == WARMUP_BATCHES + TIMED_BATCHES:
                    self._announce(now - self.started + eta, step, k - WARMUP_BATCHES, images / k)
                if self.bar is not None:
                    self.bar.set_postfix({**self.values, "run ETA": duration(eta)}, refresh=False)
                    self.bar.update(1)
                elif now - last_line >= self.interval:
                    last_line = now
                    rate = images / max(now - t_loop, 1e-9)
                    self.say(f"{self.run}: {label}, batch {k}/{total}, {rate:.1f} images/s, ETA {duration(eta)}")
        finally:
            if self.bar is not None:
                self.bar.close()
                self.bar = None

    def postfix(self, **values: str) -> None:
        """Shown beside the bar from its next update on (e.g. the running loss)."""
        self.values.update(values)

    def _announce(self, total_s: float, step: float, n: int, batch_images: float) -> None:
        self.estimate = False  # once per run
        if total_s >= ESTIMATE_ABOVE_S:
            self.say(f"{self.run}: estimated duration about {duration(total_s)} on this CPU "
                     f"({step:.2f} s per batch of {batch_images:.0f} images, measured over {n} batches)")


def _batch_len(item) -> int:
    try:
        return len(item[-1])  # (inputs, labels)
    except TypeError:
        return 1
