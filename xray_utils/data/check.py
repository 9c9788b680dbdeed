"""``xray data-check``: every problem of the data in one pass, before hours of training: counts per split
and class, patients, unreadable and stray files, exact duplicates within and across splits, and patients
shared between the splits as training uses them (validation carved by patient)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from ..config import RunConfig
from ..errors import DataError
from .decode_pass import image_pass
from .load import arrange, decode_units, read_source
from .patients import class_counts, shared_patients
from .split import Split


@dataclass
class DataReport:
    source: str
    counts: dict[str, dict[str, int]] = field(default_factory=dict)  # split -> class -> images
    patients: dict[str, int] = field(default_factory=dict)  # split -> distinct patients
    unreadable: list[str] = field(default_factory=list)
    stray: list[str] = field(default_factory=list)
    duplicates: list[list[str]] = field(default_factory=list)  # groups of ids with identical content
    shared_patients: dict[str, list[str]] = field(default_factory=dict)  # "train/test" -> patient ids
    problems: list[tuple[str, str]] = field(default_factory=list)  # (error | warning, text)

    @property
    def ok(self) -> bool:
        """False when something would corrupt results (leakage into test, unusable data)."""
        return not any(severity == "error" for severity, _ in self.problems)

    def render(self) -> str:
        lines = [f"data: {self.source}", ""]
        if self.counts:
            lines.append(f"{'split':<14}{'NORMAL':>8}{'PNEUMONIA':>11}{'total':>8}{'patients':>10}")
            for name, c in self.counts.items():
                n, p = c.get("NORMAL", 0), c.get("PNEUMONIA", 0)
                lines.append(f"{name:<14}{n:>8}{p:>11}{n + p:>8}{self.patients.get(name, 0):>10}")
            lines.append("")
        lines += [f"{severity.upper()}: {text}" for severity, text in self.problems] or ["no problems found"]
        lines += ["", "result: " + ("OK" if self.ok else "problems that would corrupt results were found")]
        return "\n".join(lines)


def _listing(items: list[str], n: int = 10, sep: str = ", ") -> str:
    return sep.join(items[:n]) + (f" ... and {len(items) - n} more" if len(items) > n else "")


def data_check(cfg: RunConfig) -> DataReport:
    """Every problem in one pass: counts, unreadable and stray files, exact duplicates within and across
    splits, patients shared across splits. Reads (and, for files, decodes) every image once."""
    report = DataReport(source=cfg.data_dir or cfg.dataset)
    try:
        raw, report.source, report.stray = read_source(cfg)
    except DataError as e:
        report.problems.append(("error", str(e)))
        return report

    if report.stray:
        report.problems.append(("warning", f"{len(report.stray)} stray file(s) (not images, empty or hidden; "
                                           f"skipped): {_listing(report.stray, len(report.stray))}"))
    by_hash: dict[str, list[str]] = defaultdict(list)
    readable = {}
    for name, split in raw.items():
        report.counts[name] = class_counts(split.labels)
        report.patients[name] = len(set(split.patients))
        bad = []
        for i, _, digest, error in image_pass(split, cfg, "checking", content_hash=True):
            if digest is not None:
                by_hash[digest].append(split.ids[i])
            if error is not None:
                bad.append(int(i))
        report.unreadable += [str(split.paths[i]) for i in sorted(bad)]
        readable[name] = split.subset(np.setdiff1d(np.arange(len(split)), bad)) if bad else split
    if report.unreadable:
        report.problems.append(("error" if cfg.strict else "warning",
                                f"{len(report.unreadable)} unreadable image(s) (skipped in training"
                                f"{'; --strict makes them errors' if cfg.strict else ''}): "
                                f"{_listing(report.unreadable)}"))

    try:  # the splits as training uses them (val carved by patient), for leakage between them
        units, how = decode_units(readable, cfg)
        used = arrange(units, cfg)
        report.source += f" ({how})"
    except DataError as e:
        report.problems.append(("error", str(e)))
        return report
    missing = validation_lacks(used[1])
    if missing:
        report.problems.append(("warning", missing))
    if cfg.dataset != "pneumoniamnist" and (cfg.val_split == "patient" or cfg.dataset == "synthetic"):
        for split in used[:2]:
            report.counts[f"{split.name} (used)"] = class_counts(split.labels)
            report.patients[f"{split.name} (used)"] = len(set(split.patients))
    _leakage(report, used, by_hash, cfg)
    return report


def validation_lacks(val: Split) -> str | None:
    """The warning for a validation split without one of the classes, where no threshold (Youden) and no
    meaningful validation loss for the positive rate can be chosen; None when both classes are there."""
    absent = [name for name, n in class_counts(val.labels).items() if n == 0]
    if not absent:
        return None
    return (f"the validation split has no {' and no '.join(absent)} image: no threshold can be chosen on "
            "validation (the run keeps 0.5)")


def _leakage(report: DataReport, used: tuple[Split, Split, Split], by_hash: dict[str, list[str]],
             cfg: RunConfig) -> None:
    split_of = {i: s.name for s in used for i in s.ids}
    into_test, train_val, within = [], [], []
    for ids in by_hash.values():
        if len(ids) < 2:
            continue
        group = sorted(ids)
        report.duplicates.append(group)
        where = {split_of[i] for i in group if i in split_of}
        (into_test if "test" in where and len(where) > 1 else train_val if len(where) > 1 else within).append(group)
    groups = [", ".join(g) for g in into_test]
    if into_test:
        report.problems.append(("error", f"{len(into_test)} group(s) of identical images in test and another "
                                         f"split (leakage into the test set): {'; '.join(groups)}"))
    if train_val:
        groups = [", ".join(g) for g in train_val]
        report.problems.append(("warning", f"{len(train_val)} group(s) of identical images in train and val "
                                           "(flatters validation, which only selects the epoch and threshold): "
                                           f"{_listing(groups, 10, '; ')}"))
    if within:
        groups = [", ".join(g) for g in within]
        report.problems.append(("warning", f"{len(within)} group(s) of identical images within one split "
                                           f"(they count twice): {_listing(groups, 5, '; ')}"))
    carved = cfg.dataset == "synthetic" or (cfg.dataset == "folder" and cfg.val_split == "patient")
    for (a, b), shared in shared_patients(used).items():
        assert not (carved and (a, b) == ("train", "val")), "the patient split put a patient in both train and val"
        report.shared_patients[f"{a}/{b}"] = shared
        report.problems.append(("warning", f"{len(shared)} patient id(s) appear in both {a} and {b} "
                                           f"(e.g. {', '.join(shared[:5])}); Kaggle's personNNN numbering may "
                                           "be per split, so this need not be the same person"))
