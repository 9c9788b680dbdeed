"""One exception type for every problem a user can fix.

The CLI prints an ``XrayError`` as one clear message and exits non-zero, never a traceback: the message
names the file or setting that is wrong, the hint says how to fix it. In a notebook IPython calls
``_render_traceback_`` instead of printing a traceback, so the student sees the message and the same fix
phrased for a notebook: the parameter to set in the parameters cell rather than the command-line flag.
``str(error)`` stays "message\\n  fix: hint": the pipeline reads it back from papermill's error.
"""

from __future__ import annotations

import re
import sys

# the notebooks' parameters (00-02) a flag of the same name maps to; other RunConfig fields go in extra_config
NOTEBOOK_PARAMETERS = {"preset", "backbone", "mode", "dataset", "data_dir", "epochs", "img_size", "weights",
                       "run_dir", "batch_size", "lr", "seed", "train_fraction", "force", "lang"}
_RENAMED = {"out": "run_dir"}  # flags whose notebook parameter has another name
_SWITCHES = {"force", "strict"}  # flags that take no value: "--force" means force = True
# words after a flag that are English, not the flag's value ("pass --data-dir with an npz file")
_NOT_VALUES = {"a", "an", "and", "or", "to", "with", "was", "is", "the", "for", "in", "of", "if", "then", "instead"}
# a command quoted in a hint (`make demo`, xray train ... --out RUN_DIR) keeps its flags: it is a command
_COMMAND = re.compile(r"`[^`]*`|\b(?:xray|make|torchrun)\s[^,;()]*")
_FLAG = re.compile(r"(?P<verb>\b(?:pass|set)\s+)?--(?P<flag>[a-z][a-z0-9-]*)(?:[ =](?P<value>[\w/~.:-]*[\w/~-]))?")
_WHERE = " in the parameters cell"


class XrayError(Exception):
    """A problem with the user's input, data, weights or environment (not a bug)."""

    def __init__(self, message: str, hint: str | None = None, notebook_hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint
        self._notebook_hint = notebook_hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\n  fix: {self.hint}"

    @property
    def notebook_hint(self) -> str | None:
        """The fix in a notebook's words: given by the raise site, else derived from the CLI hint."""
        return self._notebook_hint or (notebook_fix(self.hint) if self.hint else None)

    def _render_traceback_(self) -> list[str]:
        """What IPython shows instead of a traceback (ipykernel still reports ``str(self)`` as the value)."""
        lines = [f"error: {self.message}"]
        if self.notebook_hint:
            lines.append(f"fix: {self.notebook_hint}")
        return lines


class Terminated(KeyboardInterrupt):
    """SIGTERM (what ``timeout``, SLURM and Kubernetes send), raised like Ctrl-C so that a run stops the
    same way: the lock released, the last finished epoch kept, one line said (see ``stop_line``)."""


def stop_line(e: KeyboardInterrupt) -> str:
    """The one line said when a command is stopped by Ctrl-C or SIGTERM."""
    if isinstance(e, Terminated):
        return "terminated: rerun the same command to resume"
    return "interrupted: rerun the same command to resume from the last finished epoch"


def raise_on_sigterm() -> None:
    """From now on SIGTERM in this process raises ``Terminated`` (in the main thread, like Ctrl-C's
    KeyboardInterrupt); a forked child (a data-loader worker) that inherits the handler just ends."""
    import os
    import signal

    main_pid = os.getpid()

    def handler(signum, frame):
        if os.getpid() != main_pid:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            os.kill(os.getpid(), signal.SIGTERM)
            return
        raise Terminated()

    signal.signal(signal.SIGTERM, handler)


class ConfigError(XrayError):
    """An unknown or invalid setting."""


class DataError(XrayError):
    """A data folder, npz or image that cannot be used as it is."""


class WeightsError(XrayError):
    """Pretrained weights that cannot be found, downloaded or loaded."""


def notebook_fix(hint: str) -> str:
    """A CLI hint in a notebook's words: ``pass --data-dir PATH`` -> ``set data_dir = "PATH" in the parameters
    cell``, ``--force`` -> ``force = True``, ``--val-split given`` -> ``extra_config = '{"val_split": "given"}'``.
    Flags inside a quoted command (``xray train ... --out DIR``) and flags no notebook has stay as they are."""
    pieces, pos = [], 0  # (text, is a command)
    for command in _COMMAND.finditer(hint):
        pieces += [(hint[pos:command.start()], False), (command.group(), True)]
        pos = command.end()
    pieces.append((hint[pos:], False))
    placed = False  # "in the parameters cell" is said once, after the first "set ..."

    def convert(m: re.Match) -> str:
        nonlocal placed
        text = _parameter(m, where=not placed)
        placed = placed or _WHERE in text
        return text

    fix = "".join(text if is_command else _FLAG.sub(convert, text) for text, is_command in pieces)
    if fix != hint and not placed:
        fix += f" ({_WHERE.strip()})"
    return fix


def _parameter(m: re.Match, where: bool) -> str:
    """One flag (with its verb and value) as the notebook parameter to set; a flag no notebook has: unchanged."""
    flag, verb, value = m.group("flag"), m.group("verb"), m.group("value")
    name, rest = _RENAMED.get(flag, flag.replace("-", "_")), ""
    if value is not None and (value in _NOT_VALUES or name in _SWITCHES):  # "--force to retrain": not a value
        value, rest = None, m.string[m.end("flag"):m.end()]
    negated = name.startswith("no_") and _is_setting(name[3:])  # --no-augment: augment = false
    if negated:
        name = name[3:]
    if name in NOTEBOOK_PARAMETERS:
        setting = f"{name} = {_literal(value)}" if value is not None or name in _SWITCHES else name
    elif _is_setting(name):
        if value is None and not (negated or name in _SWITCHES):
            setting = f'"{name}" in extra_config'
        else:
            setting = f"extra_config = '{{\"{name}\": {_literal(value, negated, json=True)}}}'"
    else:
        return m.group()
    return f"{'set ' if verb else ''}{setting}{_WHERE if verb and where else ''}{rest}"


def _literal(value: str | None, negated: bool = False, json: bool = False) -> str:
    """A flag's value as Python (or JSON) source: numbers bare, words quoted, a switch True/False."""
    if value is None:
        return ("false" if negated else "true") if json else str(not negated)
    return value if re.fullmatch(r"-?\d+(\.\d+)?(e-?\d+)?", value) else f'"{value}"'


_SETTINGS: set[str] = set()  # RunConfig's fields, told by config.py (config imports this module, never the reverse)


def register_settings(names) -> None:
    _SETTINGS.update(names)


def _is_setting(name: str) -> bool:
    return name in _SETTINGS


def in_notebook() -> bool:
    """True inside a Jupyter kernel (errors are then phrased as notebook parameters, not CLI flags)."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    return type(shell).__name__ == "ZMQInteractiveShell"
