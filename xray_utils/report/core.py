"""``Report``, the report's model: notebook 03's finished runs, loaded, grouped and compared.

It loads the runs, groups them (kinds, seeds, training fractions), computes what the sections show (the
paired tests, the ``Comparison`` the findings quote, the Task E numbers) and imports no section: the
sections read it (``sections.Report`` adds one ``show_*`` per section, what the notebook calls).

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

from .. import data, evaluate, metrics, settings
from ..config import CLASS_NAMES
from ..errors import XrayError
from ..report_text import check_lang, text
from ..runs import Run, collect, group_by_kind, load_run, task_e_runs
from . import banners, findings
from .findings import Comparison, PairTest, Reference, RunResult


def _as_reference(reference: Reference | dict | None) -> Reference | None:
    if isinstance(reference, dict):
        return Reference(**reference) if reference.get("name") else None
    return reference


class Report:
    def __init__(self, runs: Sequence[Run], lang: str = "en", reference: Reference | dict | None = None):
        self.lang = check_lang(lang)
        self.all_runs = list(runs)
        # Tasks B-E: the runs on the grid's largest training share (all of it, unless a preset such as quick
        # trains every run on less); the smaller shares are learning-curve runs
        self.runs = task_e_runs(self.all_runs)
        share = self.runs[0].config.train_fraction if self.runs else 1.0
        self.learning_runs = [r for r in self.all_runs if r.config.train_fraction < share]
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
        return group_by_kind(self.runs, lambda r: r.config.run_kind, lambda r: r.config.seed)

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

    # ---- numbers for the sections and the sentences ---------------------------------------------
    def bootstrap_info(self) -> dict:
        """metrics.json's ``bootstrap`` of the runs; runs written before it resampled images, 1000 times."""
        info = self.runs[0].metrics.get("bootstrap")
        if info:
            return info
        return {"unit": "image", "n_resamples": 1000, "n_units": int(self.runs[0].metrics["test"]["n"])}

    def task_e(self, which: str = "test") -> dict[str, dict]:
        """run name -> ``table_values(run, which)``: the Task E table's numbers, every run in order."""
        return {run.name: table_values(run, which) for run in self.runs}

    @cached_property
    def _pairwise(self) -> pd.DataFrame:
        return evaluate.pairwise_comparisons({r.name: (r.y, r.p, 0.5) for r in self.main}, groups=self.patients)

    def pairwise(self) -> pd.DataFrame:
        """Every pair of the kinds' representative runs (lowest seed), patients resampled
        (``evaluate.pairwise_comparisons``)."""
        return self._pairwise

    def comparison(self) -> Comparison:
        """Every number the findings may quote (``findings`` turns it into sentences)."""
        random = {r.name for r in banners.random_weight_runs(self.runs)}
        runs = tuple(RunResult(name=r.name, kind=r.config.run_kind, backbone=r.config.backbone, mode=r.config.mode,
                               seed=r.config.seed, test=r.metrics["test"], ci=r.metrics["test"].get("ci", {}),
                               youden_sensitivity=r.metrics.get("test_youden", {}).get("sensitivity"),
                               random_weights=r.name in random)
                     for r in self.runs)
        pairs = pair_tests(self.pairwise()) if len(self.main) > 1 else ()
        reference = None if self.reference_mismatches() else self.reference
        return Comparison(self.lang, runs, pairs, reference)

    def findings(self) -> list[str]:
        return findings.findings(self.comparison())


def pair_tests(df: pd.DataFrame) -> tuple[PairTest, ...]:
    return tuple(PairTest(a=r.a, b=r.b, diff=float(r.diff), lo=float(r.diff_lo), hi=float(r.diff_hi),
                          p_holm=float(r.p_holm)) for r in df.itertuples(index=False))


def table_values(run: Run, which: str = "test") -> dict:
    """metrics.json's ``which`` ("test": threshold 0.5, "test_youden": the validation's Youden threshold) with
    every metric of the Task E table (``metrics.table_metrics()``) and its interval.

    A metric that metrics.json lacks (registered after the run was evaluated) is computed here from
    predictions.csv by the registry's own formula and interval, on the run's bootstrap settings (its seed,
    its number of resamples, patients as the unit), as evaluation would have stored it.
    """
    stored = run.metrics[which]
    missing = [m.name for m in metrics.table_metrics() if m.name not in stored]
    if not missing:
        return stored
    threshold = stored.get("threshold", 0.5 if which == "test" else run.metrics.get("threshold_youden", 0.5))
    n_boot = (run.metrics.get("bootstrap") or {}).get("n_resamples", metrics.N_BOOT)
    logits = getattr(run, "logits", None)
    est = metrics.point(run.y, run.p, threshold, names=missing, logits=logits)
    ci = metrics.intervals(run.y, run.p, threshold, run.patients, seed=run.config.seed, n_boot=n_boot,
                           names=missing, logits=logits, estimates=est)
    return {**stored, **{name: est[name] for name in missing}, "ci": {**stored.get("ci", {}), **ci}}
