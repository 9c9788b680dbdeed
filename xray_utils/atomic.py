"""Atomic file output: write to a temporary file beside the target, then rename.

A crash (or SIGKILL) in the middle of a write leaves either the old file or the new one, never half of
one, because ``os.replace`` is atomic on the same filesystem. A write the disk refuses (full, read-only,
no permission) ends as an ``XrayError`` naming the folder, with the temporary file removed and the old
file untouched: a full disk in epoch 7 leaves epoch 6's checkpoint loadable.
"""

from __future__ import annotations

import errno
import json
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from .errors import XrayError

# errno -> how the folder is described ("cannot write X: <reason> <folder>") and how to fix it
_DISK_ERRORS = {
    errno.ENOSPC: ("no space left on", "free some space there (or write to another disk)"),
    errno.EDQUOT: ("disk quota exceeded on", "free some space there (or write to another disk)"),
    errno.EROFS: ("read-only file system:", "write to a writable folder"),
    errno.EACCES: ("no permission to write in", "write to a folder you own (or fix its permissions)"),
    errno.EPERM: ("no permission to write in", "write to a folder you own (or fix its permissions)"),
}
RERUN = "; then {} again: a run resumes after its last saved epoch"


def disk_error(e: OSError, target: str | os.PathLike) -> XrayError | None:
    """The user-facing error for a write the disk refused, or None for any other OSError (a bug)."""
    if e.errno not in _DISK_ERRORS:
        return None
    reason, fix = _DISK_ERRORS[e.errno]
    target = Path(target)
    return XrayError(f"cannot write {target.name}: {reason} {target.parent}",
                     fix + RERUN.format("run the same command"), notebook_hint=fix + RERUN.format("run the notebook"))


@contextmanager
def atomic_path(target: str | os.PathLike, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path in the target's folder; on success rename it onto ``target``."""
    target = Path(target)
    tmp_path = None
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=suffix + ".tmp", dir=target.parent)
        os.close(fd)
        tmp_path = Path(tmp)
        yield tmp_path
        # mkstemp makes the file owner-only; give it the permissions a plain open() would have
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp_path, 0o666 & ~umask)
        os.replace(tmp_path, target)
    except OSError as e:
        error = disk_error(e, target)
        if error is None:
            raise
        raise error from None
    finally:
        if tmp_path is not None and tmp_path.exists():
            tmp_path.unlink()


def write_text(target: str | os.PathLike, text: str) -> None:
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_bytes(target: str | os.PathLike, data: bytes) -> None:
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)


def write_json(target: str | os.PathLike, obj: Any) -> None:
    write_text(target, json.dumps(obj, indent=2, sort_keys=False, default=_json_default) + "\n")


def torch_save(obj: Any, target: str | os.PathLike) -> None:
    import torch

    with atomic_path(target) as tmp, open(tmp, "wb") as f:
        # through a Python file object: a refused write surfaces as OSError(errno), which torch.save
        # given a path would turn into a RuntimeError without the reason
        torch.save(obj, f)


def _json_default(o: Any) -> Any:
    # numpy scalars and arrays, Paths: the things our metrics dicts carry.
    if hasattr(o, "tolist"):
        return o.tolist()
    if isinstance(o, os.PathLike):
        return os.fspath(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")
