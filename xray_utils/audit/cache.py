"""The audit's results, computed once and kept in ``<cache dir>/audit/`` as JSON: a run's by the SHA-1 of its
best.pt (new weights, new results), the data-level ones by the data's fingerprint. Reading a run never
writes into its directory."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Callable

from .. import atomic
from ..config import RunConfig, default_cache_dir
from ..errors import XrayError

VERSION = 2  # bump when what is computed changes: older entries are then ignored


def file_digest(path: str | Path) -> str:
    h = hashlib.sha1()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def cache_path(cfg: RunConfig, name: str, key: str) -> Path:
    digest = hashlib.sha1(f"{key}|{VERSION}".encode()).hexdigest()[:20]
    return default_cache_dir(cfg) / "audit" / f"{name}-{digest}.json"


def cached(cfg: RunConfig, name: str, key: str, compute: Callable[[], Any]) -> Any:
    """The JSON result stored under (name, key), else ``compute()``, stored then returned."""
    path = cache_path(cfg, name, key)
    try:
        return json.loads(path.read_text(encoding="utf-8"))["result"]
    except (OSError, ValueError, KeyError):
        pass  # absent, or damaged by hand or a full disk: compute it again
    result = compute()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic.write_json(path, {"name": name, "key": key, "version": VERSION, "result": result})
    except (OSError, XrayError):  # a read-only cache folder costs the recomputation next time, not the report
        pass
    return result
