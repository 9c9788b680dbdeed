"""load_splits: the configured source's images as train/val/test, the way every run uses them.

A source yields its own splits (the Kaggle folders, the npz arrays). Each is decoded once as a whole (the
folder's train and val pooled when validation is carved by patient), which finds unreadable images
(skipped with one warning, or an error with ``strict``); only then is the validation split carved out, so
the same data always gives the same split, cached or not, and a new ``val_fraction`` decodes nothing.
Last, ``train_fraction`` keeps whole patients of train for a learning curve; val and test never change.
"""

from __future__ import annotations

import warnings

import numpy as np

from ..config import RunConfig
from ..errors import DataError
from .cache import bind
from .folder import folder_source
from .images import UnreadableImage, open_image
from .patients import carve_validation, check_classes, fraction_subset
from .pneumoniamnist import mnist_source
from .split import Split, Splits, concat
from .synthetic import synthetic_source

SOURCES = {"folder": folder_source, "pneumoniamnist": mnist_source, "synthetic": synthetic_source}


def load_splits(cfg: RunConfig) -> Splits:
    """train/val/test of the configured source. Unreadable images and stray files are left out with one
    warning (listed in ``Splits.skipped``); with ``cfg.strict`` an unreadable image is an error. With
    ``cfg.train_fraction`` below 1, ``train`` is a patient-grouped part of ``full_train``."""
    raw, source, stray = read_source(cfg)
    units, how = decode_units(raw, cfg)
    skipped = list(stray)
    for name, split in list(units.items()):
        split, bad = bind(split, cfg)
        if bad and cfg.strict:
            open_image(split.paths[bad[0]])  # raises UnreadableImage naming the file and the reason
            raise UnreadableImage(split.paths[bad[0]], f"one of {len(bad)} unreadable image(s) in {name}")
        if bad:
            skipped += [str(split.paths[i]) for i in bad]
            split = split.subset(np.setdiff1d(np.arange(len(split)), bad))
        units[name] = split
    if skipped:
        shown = ", ".join(skipped[:20]) + (f" ... and {len(skipped) - 20} more" if len(skipped) > 20 else "")
        warnings.warn(f"skipped {len(skipped)} unreadable or stray file(s): {shown}", stacklevel=2)
    full_train, val, test = arrange(units, cfg)
    rows = fraction_subset(full_train, cfg.train_fraction, cfg.seed)
    train = full_train.subset(rows) if len(rows) < len(full_train) else full_train
    source = f"{source} ({how})"
    if cfg.train_fraction < 1:
        source += (f"; train fraction {cfg.train_fraction:g}: {len(train)} of {len(full_train)} images, "
                   f"{len(set(train.patients))} of {len(set(full_train.patients))} patients (seed {cfg.seed})")
    return Splits(train, val, test, source=source, skipped=skipped, full_train=full_train, train_rows=rows)


def read_source(cfg: RunConfig) -> tuple[dict[str, Split], str, list[str]]:
    """The source's own splits by name, its description, and stray files found."""
    if cfg.dataset not in SOURCES:
        raise DataError(f"unknown dataset {cfg.dataset!r}", "use folder, pneumoniamnist or synthetic")
    return SOURCES[cfg.dataset](cfg)


def decode_units(raw: dict[str, Split], cfg: RunConfig) -> tuple[dict[str, Split], str]:
    """The splits that are decoded (and cached) as wholes, before any carving, and how val is made:
    the data's own val, or a patient-grouped part of train (+ the folder's val, pooled)."""
    if cfg.dataset == "pneumoniamnist":  # no patient ids: the official split is the only sound one
        return raw, "official train/val/test splits"
    if cfg.val_split == "given" and cfg.dataset == "folder":
        if "val" not in raw:
            raise DataError("--val-split given needs a val/ folder beside train/ and test/",
                            "add one, or use --val-split patient to carve validation out of train")
        return raw, "the folder's own val split"
    pooled = "train+val" if "val" in raw else "train"
    train = concat(raw["train"], raw["val"]) if "val" in raw else raw["train"]
    return {"train": train, "test": raw["test"]}, f"val: {cfg.val_fraction:.0%} of {pooled}, by patient"


def arrange(units: dict[str, Split], cfg: RunConfig) -> tuple[Split, Split, Split]:
    """train, val, test as used: carves val out of train by patient unless the units have one."""
    for name in ("train", "test"):
        check_classes(units[name])
    if "val" in units:
        check_classes(units["val"], need_both=False)
        return units["train"], units["val"], units["test"]
    train, val = carve_validation(units["train"], cfg)
    return train, val, units["test"]
