"""One run's audit, computed once (cached by its best.pt digest), and what report.json records of it."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path
from typing import Sequence

from ..errors import XrayError
from ..runs import Run, load_run
from . import regions
from .ablation import ablation
from .attention import cam_in_lungs
from .cache import cached, file_digest
from .patients import run_patient_level
from .testset import load_test_set

SHORTCUT_KEYS = ("auc", "auc_lungs_masked", "auc_outside_masked")


def shortcut(run: Run) -> dict:
    """The run's region ablation and Grad-CAM share (see ``ablation``, ``attention``), from the cache when
    its weights and test images are the ones audited before; ``seconds`` is what computing it took."""
    ids = hashlib.sha1("\n".join(run.predictions["id"].astype(str)).encode()).hexdigest()
    key = f"{file_digest(Path(run.path) / 'best.pt')}|{ids}|{regions.LUNG_REGION}"

    def compute() -> dict:
        t0 = time.perf_counter()
        test = load_test_set(run)
        result = {**ablation(run, test), "cam_in_lungs": cam_in_lungs(run, test)}
        result["seconds_total"] = time.perf_counter() - t0
        return result

    return cached(run.config, f"shortcut-{run.name}", key, compute)


def shortcut_entry(result: dict) -> dict:
    """report.json's "shortcut" entry of one run: the point values, the flag, and the intervals beside them."""
    entry = {k: result[k]["value"] for k in SHORTCUT_KEYS}
    entry["cam_in_lungs"] = result["cam_in_lungs"]["value"]
    entry["flag"] = bool(result["flag"])
    entry["retained"] = result["retained"]
    entry["ci"] = {k: result[k]["ci"] for k in (*SHORTCUT_KEYS, "cam_in_lungs")}
    return entry


def _shortcut_or_error(run: Run) -> dict:
    try:
        return shortcut_entry(shortcut(run))
    except (XrayError, OSError) as e:  # (its best.pt or its data gone): the report stands, the entry says why
        return {"error": e.message if isinstance(e, XrayError) else str(e)}


def report_json_entries(run_dirs: Sequence[str | Path]) -> dict:
    """{"shortcut": {run: ...}, "patient_level": {run: ...}} for report.json, over every run given; a run that
    cannot be audited gets {"error": why} under "shortcut"."""
    runs = [load_run(d) for d in run_dirs]
    return {"shortcut": {r.name: _shortcut_or_error(r) for r in runs},
            "patient_level": {r.name: run_patient_level(r) for r in runs}}
