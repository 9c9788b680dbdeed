"""Notebook 00's views of the data: images per split and class, patients, samples, intensities, sizes."""

from __future__ import annotations

import numpy as np
import pandas as pd
from PIL import Image

from .. import data, plots
from ..config import CLASS_NAMES
from ..report_text import text
from .html import bullets, fmt_int, fmt_pct, paragraph, show_figure, show_html, table_html


def split_count_rows(splits) -> list[dict]:
    rows = []
    for split in splits:
        counts = data.class_counts(split.labels)
        normal, pneumonia = counts[CLASS_NAMES[0]], counts[CLASS_NAMES[1]]
        n = normal + pneumonia
        rows.append({"split": split.name, "images": fmt_int(n), CLASS_NAMES[0]: fmt_int(normal),
                     CLASS_NAMES[1]: fmt_int(pneumonia), "share": fmt_pct(pneumonia / n if n else None, 1),
                     "patients": fmt_int(len(set(split.patients)))})
    return rows


def show_split_counts(splits, lang: str = "en") -> None:
    cols = [("split", text(lang, "col_split")), ("images", text(lang, "col_images")),
            (CLASS_NAMES[0], CLASS_NAMES[0]), (CLASS_NAMES[1], CLASS_NAMES[1]),
            ("share", text(lang, "col_share"))]
    show_html(paragraph(text(lang, "data_source", source=splits.source))
              + table_html(split_count_rows(splits), cols, "split-counts", row_key=None))
    frame = pd.DataFrame([{"split": s.name, "label": int(y)} for s in splits for y in s.labels])
    show_figure(plots.class_balance(frame, lang=lang))
    if splits.skipped:
        show_html(paragraph(text(lang, "skipped_images", n=len(splits.skipped),
                                 files=", ".join(splits.skipped[:10]))))


def leakage_sentences(splits, lang: str = "en") -> list[str]:
    """Whether a patient id is in two splits, with data-check's caveat for file-name ids (Kaggle's
    personNNN numbering may restart in each split, so a shared id need not be one person, and distinct ids
    cannot prove the splits share nobody)."""
    shared = data.shared_patients(splits)
    if shared:
        pairs = "; ".join(f"{a}/{b}: {len(p)} ({', '.join(p[:3])}{'...' if len(p) > 3 else ''})"
                          for (a, b), p in shared.items())
        out = [text(lang, "leak_found", n=len({q for p in shared.values() for q in p}), pairs=pairs)]
    else:
        out = [text(lang, "leak_none")]
    if splits.test.paths is not None:  # ids parsed from file names (the Kaggle folder)
        out.append(text(lang, "leak_caveat"))
    return out


def show_patients(splits, check=None, lang: str = "en") -> None:
    """Patients per split, patient ids shared between splits, and what ``data.data_check`` found."""
    cols = [("split", text(lang, "col_split")), ("images", text(lang, "col_images")),
            ("patients", text(lang, "col_patients"))]
    parts = [table_html(split_count_rows(splits), cols, "patients", row_key=None),
             paragraph(" ".join(leakage_sentences(splits, lang)))]
    if check is not None:
        problems = [f"{severity.upper()}: {what}" for severity, what in check.problems]
        parts.append(paragraph(text(lang, "check_problems" if problems else "check_ok")))
        if problems:
            parts.append(bullets(problems))
    show_html("".join(parts))


def show_samples(splits, n: int = 6, lang: str = "en") -> None:
    """The first ``n`` training images of each class (deterministic, so reruns show the same)."""
    images, titles = [], []
    for label, name in enumerate(CLASS_NAMES):
        for i in np.flatnonzero(np.asarray(splits.train.labels) == label)[:n]:
            images.append(np.asarray(splits.train.load(int(i))))
            titles.append(f"{name}\n{splits.train.ids[int(i)]}")
    show_figure(plots.image_grid(images, titles, ncols=max(1, n), lang=lang))
    show_html(paragraph(text(lang, "samples_note", n=n), "xray-note"))


def _evenly(n_total: int, n: int) -> np.ndarray:
    if not n_total:
        return np.array([], dtype=int)
    return np.unique(np.linspace(0, n_total - 1, num=min(n, n_total)).round().astype(int))


def _every_nth(values: np.ndarray, at_most: int) -> np.ndarray:
    return values[:: max(1, len(values) // at_most)]


def show_intensities(splits, lang: str = "en", per_class: int = 40) -> None:
    """Histograms of pixel values per class (training images, up to ``per_class`` each)."""
    pixels = {}
    labels = np.asarray(splits.train.labels)
    for label, name in enumerate(CLASS_NAMES):
        idx = np.flatnonzero(labels == label)
        # at most ~50k pixels per image: full-size X-rays have millions, the histogram needs far fewer
        pixels[name] = np.concatenate([_every_nth(np.asarray(splits.train.load(int(idx[k]))).ravel(), 50_000)
                                       for k in _evenly(len(idx), per_class)]) if len(idx) else np.array([])
    show_figure(plots.intensity_histograms(pixels, lang=lang))
    show_html(paragraph(text(lang, "intensities_note", n=per_class), "xray-note"))


def _image_size(split, i: int) -> tuple[int, int]:
    """(width, height) of image i; files are not decoded, PIL reads the size from the header."""
    if split.paths is not None:
        try:
            with Image.open(split.paths[i]) as img:
                return img.size
        except OSError:  # unreadable: load() raises the data module's own error for it
            pass
    return split.load(i).size


def show_sizes(splits, max_images: int = 300, lang: str = "en") -> None:
    rows = []
    for split in splits:
        for k in _evenly(len(split), max_images):
            w, h = _image_size(split, int(k))
            rows.append({"split": split.name, "label": int(split.labels[k]), "width": w, "height": h})
    frame = pd.DataFrame(rows)
    show_html(paragraph(text(lang, "sizes_sampled", n=len(frame), per_split=max_images)))
    show_figure(plots.size_distribution(frame, lang=lang))
