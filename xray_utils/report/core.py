"""``Report``: notebook 03's finished runs, grouped for the report, and one ``show_*`` per section.

Runs with ``train_fraction`` < 1 belong to the learning-curve section only; the others ("full-data runs")
make Tasks B to E. Runs of one kind (``cfg.run_kind``) that differ only in the seed are repeats: the kind's
lowest seed represents it where one run per kind is shown (Task B/C figures, paired tests, Grad-CAM,
errors, calibration), and the seeds section and Task D show the spread.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from .. import data, settings
from ..config import CLASS_NAMES
from ..errors import XrayError
from ..report_text import check_lang, text
from ..runs import Run, collect, load_run
from . import (
    calibration_view,
    findings,
    gradcam_view,
    learning_view,
    overfitting_view,
    settings_view,
    statistics_view,
    task_a,
    tasks_view,
)
from .findings import Comparison, Reference, RunResult
from .html import banner, bullets, heading, show_html


def _as_reference(reference: Reference | dict | None) -> Reference | None:
    if isinstance(reference, dict):
        return Reference(**reference) if reference.get("name") else None
    return reference


class Report:
    def __init__(self, runs: Sequence[Run], lang: str = "en", reference: Reference | dict | None = None):
        self.lang = check_lang(lang)
        self.all_runs = list(runs)
        self.runs = [r for r in self.all_runs if r.config.train_fraction >= 1]  # Tasks B-E
        self.learning_runs = [r for r in self.all_runs if r.config.train_fraction < 1]
        if not self.runs:
            raise XrayError("no finished full-data runs to report on" if self.all_runs else
                            "no finished runs to report on", "train runs first: xray report, or notebooks 01/02")
        self.reference = _as_reference(reference)
        self._check_same_test_set()

    @classmethod
    def load(cls, runs_root: str | Path | None = None, names: str | Sequence[str] = "", lang: str = "en",
             reference: Reference | dict | None = None) -> "Report":
        root = Path(runs_root).expanduser() if runs_root else settings.default_runs_root()
        if isinstance(names, str):
            names = [n.strip() for n in names.split(",") if n.strip()]
        if names:
            runs = [load_run(root / n) for n in names]
        else:
            runs = collect(root)
            if not runs:
                raise XrayError(f"no complete runs under {root}",
                                "train some first (xray report, or notebooks 01/02), or set runs_root")
        return cls(runs, lang, reference)

    def _check_same_test_set(self) -> None:
        first = self.all_runs[0]
        for run in self.all_runs[1:]:
            if list(run.predictions["id"]) != list(first.predictions["id"]):
                raise XrayError(f"runs {first.name} and {run.name} were tested on different images",
                                "compare runs trained on the same dataset and settings of the data")

    # ---- the runs, grouped --------------------------------------------------------------------
    def t(self, key: str, **values) -> str:
        return text(self.lang, key, **values)

    def mode_label(self, mode: str) -> str:
        return self.t(f"mode_{mode}")

    @property
    def names(self) -> list[str]:
        return [r.name for r in self.runs]

    def run(self, name: str) -> Run:
        return next(r for r in self.all_runs if r.name == name)

    @cached_property
    def kinds(self) -> dict[str, list[Run]]:
        """kind -> its full-data runs, lowest seed first (in the order the kinds first appear)."""
        out: dict[str, list[Run]] = {}
        for run in self.runs:
            out.setdefault(run.config.run_kind, []).append(run)
        return {kind: sorted(runs, key=lambda r: r.config.seed) for kind, runs in out.items()}

    @property
    def main(self) -> list[Run]:
        """One run per kind (its lowest seed): the runs compared pairwise and shown one by one."""
        return [runs[0] for runs in self.kinds.values()]

    @property
    def has_seeds(self) -> bool:
        return any(len(runs) > 1 for runs in self.kinds.values())

    @property
    def patients(self) -> np.ndarray:
        """The patient of each test image (the same images for every run); each image its own where unknown."""
        return self.runs[0].patients

    @property
    def test_counts(self) -> tuple[int, int]:
        """(NORMAL, PNEUMONIA) test images."""
        counts = data.class_counts(self.runs[0].y)
        return counts[CLASS_NAMES[0]], counts[CLASS_NAMES[1]]

    def is_synthetic(self) -> bool:
        return any(r.config.dataset == "synthetic" for r in self.all_runs)

    def reference_mismatches(self) -> list[str]:
        """Why the reference (HW3) cannot be compared with these runs; empty when it can."""
        return findings.reference_mismatches(self.lang, [r.config.dataset for r in self.runs],
                                             [r.config.img_size for r in self.runs], self.test_counts)

    # ---- numbers for the sentences ------------------------------------------------------------
    @cached_property
    def _pairwise(self) -> pd.DataFrame:
        return statistics_view.pairwise(self)

    def pairwise(self) -> pd.DataFrame:
        """One row per pair of the kinds' representative runs (``evaluate.pairwise_comparisons``)."""
        return self._pairwise

    def comparison(self) -> Comparison:
        """Every number the findings may quote (``findings`` turns it into sentences)."""
        runs = tuple(RunResult(name=r.name, kind=r.config.run_kind, backbone=r.config.backbone, mode=r.config.mode,
                               seed=r.config.seed, test=r.metrics["test"], ci=r.metrics["test"].get("ci", {}),
                               youden_sensitivity=r.metrics.get("test_youden", {}).get("sensitivity"))
                     for r in self.runs)
        pairs = statistics_view.pair_tests(self.pairwise()) if len(self.main) > 1 else ()
        reference = None if self.reference_mismatches() else self.reference
        return Comparison(self.lang, runs, pairs, reference)

    def findings(self) -> list[str]:
        return findings.findings(self.comparison())

    # ---- the sections, in the report's order ----------------------------------------------------
    def show_header(self) -> None:
        settings_view.show_header(self)

    def show_settings(self) -> None:
        settings_view.show_settings(self)

    def show_task_a(self, device: str = "cpu") -> None:
        task_a.show_task_a(self, device)

    def show_task_bc(self) -> None:
        tasks_view.show_task_bc(self)

    def show_task_d(self) -> None:
        tasks_view.show_task_d(self)

    def show_task_e(self) -> None:
        tasks_view.show_task_e(self)

    def show_seeds(self) -> None:
        tasks_view.show_seeds(self)

    def show_overfitting(self) -> None:
        overfitting_view.show_overfitting(self)

    def show_learning_curves(self) -> None:
        learning_view.show_learning_curves(self)

    def show_statistics(self) -> None:
        statistics_view.show_statistics(self)

    def show_gradcam(self, per_kind: int = 2) -> None:
        gradcam_view.show_gradcam(self, per_kind)

    def show_errors(self, k: int = 6) -> None:
        gradcam_view.show_errors(self, k)

    def show_calibration(self, bins: int = 10) -> None:
        calibration_view.show_calibration(self, bins)

    def show_findings(self) -> None:
        show_html(heading(self.t("h_findings"), 2, "findings")
                  + (banner(self.t("synthetic_banner")) if self.is_synthetic() else "")
                  + bullets(self.findings(), "xray-findings"))
