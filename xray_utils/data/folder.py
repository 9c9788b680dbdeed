"""Source: the Kaggle folder ROOT/{train,val,test}/{NORMAL,PNEUMONIA}/*.jpeg (val optional), in any letter
case, found one level down too (kagglehub's download folder). Listing decodes nothing; stray files (not
images, empty, hidden, macOS's ._ copies, folders that are not classes) are reported, not loaded. The
patient of each image comes from Kaggle's file names (``patient_id``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..config import CLASS_NAMES, RunConfig, default_project_dir
from ..errors import DataError
from .images import IMAGE_EXTENSIONS
from .split import DATA_README, SPLIT_NAMES, Split, patient_id

_JUNK_DIRS = {"__macosx", ".ipynb_checkpoints"}


def _child_dir(parent: Path, name: str) -> Path | None:
    """The sub-folder called ``name``, in any letter case (an exact match wins)."""
    matches = sorted(c for c in parent.iterdir() if c.is_dir() and c.name.lower() == name.lower())
    exact = [c for c in matches if c.name == name]
    return (exact or matches or [None])[0]


def _has_splits(folder: Path) -> bool:
    return _child_dir(folder, "train") is not None and _child_dir(folder, "test") is not None


def folder_root(cfg: RunConfig) -> Path:
    """The folder holding train/ and test/. Accepts the folder above it too (kagglehub's download
    folder, or an unzip that adds a level such as chest_xray/)."""
    root = Path(cfg.data_dir).expanduser() if cfg.data_dir else default_project_dir() / "data" / "chest_xray"
    if root.exists() and not root.is_dir():
        raise DataError(f"--data-dir {root} is a file; the folder dataset needs a folder",
                        "pass --dataset pneumoniamnist for an .npz file" if root.suffix.lower() == ".npz" else
                        "pass --data-dir ROOT, the folder holding train/ and test/ (each with NORMAL/ and PNEUMONIA/)")
    if not root.is_dir():
        raise DataError(f"data folder not found: {root}",
                        f"download the Kaggle chest X-ray data as {DATA_README} explains and pass --data-dir "
                        "ROOT (ROOT/{train,test}/{NORMAL,PNEUMONIA}), or try `make demo` (offline, synthetic)")
    if _has_splits(root):
        return root
    for child in sorted(c for c in root.iterdir() if c.is_dir() and c.name.lower() not in _JUNK_DIRS):
        if _has_splits(child):
            return child
    return root  # list_folder explains what is missing


def list_folder(root: Path) -> tuple[dict[str, Split], list[str]]:
    """Every split folder present under root as a Split (no decoding: fast), and the stray files found
    (not images, empty, hidden, or in folders that are not classes)."""
    found, stray = {}, []
    for split_name in SPLIT_NAMES:
        split_dir = _child_dir(root, split_name)
        if split_dir is None:
            continue
        ids, labels, paths = [], [], []
        class_dirs = []
        for label, cls in enumerate(CLASS_NAMES):
            cls_dir = _child_dir(split_dir, cls)
            if cls_dir is None:
                have = sorted(c.name + "/" for c in split_dir.iterdir() if c.is_dir()) or ["no folders"]
                raise DataError(f"{split_dir}: class folder {cls}/ is missing (found: {', '.join(have)})",
                                f"name the class folders {' and '.join(CLASS_NAMES)} (one folder per class; "
                                "letter case does not matter)")
            class_dirs.append(cls_dir)
            n_images = 0
            for p in sorted(cls_dir.rglob("*")):
                if not p.is_file():
                    odd = _not_a_file(p)
                    if odd:
                        stray.append(f"{p} ({odd})")
                    continue
                rel = p.relative_to(cls_dir).parts
                hidden = any(part.startswith(".") or part.lower() in _JUNK_DIRS for part in rel)
                if hidden or p.suffix.lower() not in IMAGE_EXTENSIONS or p.stat().st_size == 0:
                    stray.append(str(p))  # .DS_Store, ._IM-0001.jpeg (macOS), Thumbs.db, notes.txt, empty
                    continue
                ids.append(p.relative_to(root).as_posix())
                labels.append(label)
                paths.append(p)
                n_images += 1
            if n_images == 0:
                raise DataError(f"{cls_dir} holds no images",
                                f"put the {cls} images of the {split_name} split there (see {DATA_README})")
        stray += [str(c) + "/" for c in sorted(split_dir.iterdir())
                  if c.is_dir() and c not in class_dirs and not c.name.startswith(".")]
        found[split_name] = Split(split_name, ids, np.asarray(labels, dtype=np.int64),
                                  [patient_id(i) for i in ids], paths=paths)
    for required in ("train", "test"):
        if required not in found:
            have = sorted(c.name + "/" for c in root.iterdir() if c.is_dir()) or ["no folders"]
            raise DataError(f"{root}: split folder {required}/ is missing (found: {', '.join(have)})",
                            "the Kaggle layout is ROOT/{train,val,test}/{NORMAL,PNEUMONIA}; train and test are "
                            f"required, val is optional (see {DATA_README})")
    return found, stray


def _not_a_file(p: Path) -> str | None:
    """Why an entry that is not a regular file is skipped (None for a plain sub-folder, whose images count)."""
    if p.is_symlink() and not p.exists():
        return "a broken or looping symbolic link"
    if p.is_dir():
        return "a folder named like an image" if p.suffix.lower() in IMAGE_EXTENSIONS else None
    return "not a regular file"


def folder_source(cfg: RunConfig) -> tuple[dict[str, Split], str, list[str]]:
    root = folder_root(cfg)
    raw, stray = list_folder(root)
    return raw, f"chest X-ray folder {root}", stray
