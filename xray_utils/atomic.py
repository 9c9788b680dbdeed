"""Atomic file output: write to a temporary file beside the target, then rename.

A crash (or SIGKILL) in the middle of a write leaves either the old file or the new one, never half of
one, because ``os.replace`` is atomic on the same filesystem. A write the disk refuses (full, read-only,
no permission) ends as an ``XrayError`` naming the folder, with the temporary file removed and the old
file untouched: a full disk in epoch 7 leaves epoch 6's checkpoint loadable.

No write follows a link: the rename replaces a symlink at the destination (it never writes through it),
and files appended to (train.log) are opened with ``O_NOFOLLOW``.

A folder the tool owns (a run directory, a report folder) holds a manifest, ``.xray-run``: a JSON list of
the files the tool wrote there. Every write through this module into such a folder (or its figures/)
adds the file's name, so a forced rerun deletes exactly those files and never a user's.
"""

from __future__ import annotations

import errno
import json
import os
import stat
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
MANIFEST = ".xray-run"  # in a folder the tool owns: {"kind": "run" | "report", "files": [relative paths]}


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
        os.replace(tmp_path, target)  # a symlink at target is replaced, never written through
        if target.name != MANIFEST:
            record(target)
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
        # through a Python file object: a refused write surfaces as OSError(errno); torch's zip writer may
        # still turn it into "RuntimeError: [enforce fail at inline_container.cc]" on closing the archive
        try:
            torch.save(obj, f)
        except RuntimeError as e:
            raise _refused_write(e) or e from None


def _refused_write(e: BaseException) -> OSError | None:
    """The OSError a disk raised under torch's RuntimeError (its context chain), if any."""
    seen = set()
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        if isinstance(e, OSError) and e.errno in _DISK_ERRORS:
            return e
        e = e.__cause__ or e.__context__
    return None


def open_append(target: str | os.PathLike):
    """``target`` opened for appending text, never through a link: a symlink (or anything that is not a
    regular file) there is refused. Recorded in the folder's manifest."""
    target = Path(target)
    try:
        fd = os.open(target, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK, 0o644)
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise XrayError(f"{target} is a symbolic link; it was not written through",
                            f"delete {target} (the tool writes its own file there)") from None
        raise
    if not stat.S_ISREG(os.fstat(fd).st_mode) or os.fstat(fd).st_nlink > 1:
        os.close(fd)
        raise XrayError(f"{target} is not a plain file; it was not written to",
                        f"delete {target} (the tool writes its own file there)")
    record(target)
    return os.fdopen(fd, "a", encoding="utf-8")


# ----------------------------------------------------------------------------------------------------
# the manifest of a folder the tool owns


def read_manifest(folder: str | os.PathLike) -> dict | None:
    """The folder's manifest ({"kind", "files"}), or None where there is none (or it is not a plain file)."""
    path = Path(folder) / MANIFEST
    try:
        if not stat.S_ISREG(os.lstat(path).st_mode):
            return None
        d = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(d, dict) or not isinstance(d.get("files"), list):
        return None
    d["files"] = [f for f in d["files"] if isinstance(f, str) and _safe_relative(f)]
    return d


def start_manifest(folder: str | os.PathLike, kind: str, files: list[str] | None = None) -> None:
    """Mark ``folder`` as the tool's (a run or a report folder), keeping any files already listed."""
    folder = Path(folder)
    old = read_manifest(folder) or {}
    listed = list(dict.fromkeys([*old.get("files", []), *(files or [])]))
    write_json(folder / MANIFEST, {"kind": kind, "files": listed})


def record(target: str | os.PathLike) -> None:
    """Add ``target`` to the manifest of its folder (or of the folder above, for figures/x.png), if any."""
    target = Path(target)
    for folder in (target.parent, target.parent.parent):
        manifest = read_manifest(folder)
        if manifest is None:
            continue
        name = target.relative_to(folder).as_posix()
        if name not in manifest["files"]:
            manifest["files"].append(name)
            write_json(folder / MANIFEST, manifest)
        return


def _safe_relative(name: str) -> bool:
    """A manifest entry names a file inside the folder: no absolute path, no "..", no manifest itself."""
    parts = Path(name).parts
    return bool(parts) and not Path(name).is_absolute() and ".." not in parts and name != MANIFEST


def _json_default(o: Any) -> Any:
    # numpy scalars and arrays, Paths: the things our metrics dicts carry.
    if hasattr(o, "tolist"):
        return o.tolist()
    if isinstance(o, os.PathLike):
        return os.fspath(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")
