"""Every figure of the notebooks and the report.

Each function builds and returns a ``matplotlib.figure.Figure`` without pyplot, so it works headless
(Agg) and never piles up figures in pyplot's registry; ``save`` writes one as a PNG atomically. A run
keeps its colour in every figure: the hue comes from its backbone, the shade from its mode.
Every word a figure draws itself comes from ``report_text`` (keys ``fig_*``) in the ``lang`` it is given, so
a zh-TW report's figures are labelled in zh-TW: where a Noto Sans CJK font is installed, it is added to
matplotlib's fallback list after DejaVu Sans, so CJK glyphs render. Figures are drawn with matplotlib's object
API (no pyplot, no seaborn: each figure here is a few calls, and seaborn would add pyplot's global state).
"""

from __future__ import annotations

import math
import os
import sys
import zlib
from pathlib import Path
from typing import Mapping, Sequence

import matplotlib
import numpy as np
import pandas as pd
from matplotlib import colors as mcolors
from matplotlib import font_manager
from matplotlib.figure import Figure
from sklearn import metrics as skm

from . import atomic, evaluate, overfitting
from .config import BACKBONES, CLASS_NAMES, MODES
from .errors import XrayError
from .report_text import text

DPI = 110
CJK_FONTS = ("Noto Sans CJK TC", "Noto Sans CJK JP", "Noto Sans CJK SC")
CLASS_COLOURS = {CLASS_NAMES[0]: "#2b8cbe", CLASS_NAMES[1]: "#e34a33"}
TRAIN_COLOUR, VAL_COLOUR = "#2b8cbe", "#e34a33"


# ----------------------------------------------------------------------------------------------------
# fonts and colours


def _installed_cjk_fonts() -> list[str]:
    """Noto Sans CJK families matplotlib can use, registering ones installed after its font cache was built."""
    known = {f.name for f in font_manager.fontManager.ttflist}
    if not known.intersection(CJK_FONTS):
        for path in font_manager.findSystemFonts():
            if "SansCJK" in Path(path).name.replace(" ", ""):
                try:
                    font_manager.fontManager.addfont(path)
                except (OSError, RuntimeError, ValueError):  # an unreadable font file: do without it
                    pass
        known = {f.name for f in font_manager.fontManager.ttflist}
    return [name for name in CJK_FONTS if name in known]


def use_cjk_fonts() -> list[str]:
    """Make the installed CJK fonts fallbacks after DejaVu Sans; return them (empty: none installed).

    matplotlib falls back glyph by glyph along ``font.family`` only (a generic "sans-serif" resolves to a
    single font), so the default family becomes [DejaVu Sans, CJK fonts...]. A family the user chose
    (anything but the default sans-serif) is left alone.
    """
    found = _installed_cjk_fonts()
    family = list(matplotlib.rcParams["font.family"])
    if found and family in (["sans-serif"], ["DejaVu Sans", *found]):
        matplotlib.rcParams["font.family"] = ["DejaVu Sans", *found]
    return found


def use_language(lang: str) -> bool:
    """Called by ``report.setup``: make figure text in ``lang`` renderable. True if CJK glyphs are available."""
    return bool(use_cjk_fonts())


use_cjk_fonts()

_PALETTE = [matplotlib.colormaps[name].colors for name in ("tab20c", "tab20b")]  # 4 shades per hue


def run_colour(name: str) -> str:
    """The colour of run ``name`` ("<backbone>-<mode>"): hue from the backbone, shade from the mode."""
    backbone, _, mode = name.rpartition("-")
    if backbone in BACKBONES and mode in MODES:
        hue = BACKBONES.index(backbone)
        shades = _PALETTE[hue // 5][(hue % 5) * 4:(hue % 5) * 4 + 4]
        return mcolors.to_hex(shades[MODES.index(mode)])
    tab10 = matplotlib.colormaps["tab10"].colors  # any other name: stable across processes (not hash())
    return mcolors.to_hex(tab10[zlib.crc32(name.encode("utf-8")) % len(tab10)])


def _t(lang: str, key: str, **values) -> str:
    """A figure's label in ``lang`` (report_text key ``fig_<key>``)."""
    return text(lang, f"fig_{key}", **values)


def _signed(v: float, decimals: int) -> str:
    """A signed number that never reads -0.0 (as ``report.html.fmt_signed``, which this layer cannot import)."""
    return f"{round(v, decimals) + 0.0:+.{decimals}f}"


def _whole_epochs(ax) -> None:
    ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))  # no epoch 1.5


def _figure(width: float, height: float) -> Figure:
    return Figure(figsize=(width, height), dpi=DPI, layout="constrained")


def save(fig: Figure, path: str | os.PathLike) -> Path:
    """Write ``fig`` as a PNG at ``path`` atomically, then close it."""
    path = Path(path)
    with atomic.atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, format="png", dpi=DPI)
    if "matplotlib.pyplot" in sys.modules:  # a figure made with pyplot is also registered there
        sys.modules["matplotlib.pyplot"].close(fig)
    return path


def _require(frame: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise XrayError(f"{what}: missing column(s) {', '.join(missing)} (has {', '.join(map(str, frame.columns))})")


# ----------------------------------------------------------------------------------------------------
# training


def _mark_minimum(ax, epoch: int, value: float, colour: str, label: str | None = None) -> None:
    """A star at the validation-loss minimum: a scatter (a collection), so the axes' lines stay the curves."""
    ax.scatter([epoch], [value], marker="*", s=160, color=colour, edgecolors="black", linewidths=0.6, zorder=5,
               label=label if label else "_nolegend_")


def training_curves(history: pd.DataFrame, title: str = "", lang: str = "en") -> Figure:
    """Loss and accuracy per epoch, train vs validation; the best epoch (lowest val loss) is marked by a
    vertical line, and the validation-loss minimum by a star (where overfitting would start)."""
    _require(history, ("epoch", "train_loss", "train_acc", "val_loss", "val_acc"), "training_curves")
    fig = _figure(9, 3.4)
    ax_loss, ax_acc = fig.subplots(1, 2)
    minimum = overfitting.val_loss_minimum(history)
    best = minimum[0] if minimum else None
    for ax, key, label in ((ax_loss, "loss", "loss"), (ax_acc, "acc", "accuracy")):
        ax.plot(history["epoch"], history[f"train_{key}"], "o-", color=TRAIN_COLOUR, label=_t(lang, "train"))
        ax.plot(history["epoch"], history[f"val_{key}"], "s--", color=VAL_COLOUR, label=_t(lang, "validation"))
        if best is not None:
            ax.axvline(best, color="0.6", lw=1, ls=":", label=_t(lang, "best_epoch", epoch=best))
        ax.set_xlabel(_t(lang, "epoch"))
        ax.set_ylabel(_t(lang, label))
        _whole_epochs(ax)
        ax.grid(alpha=0.3)
    if minimum:
        _mark_minimum(ax_loss, *minimum, VAL_COLOUR, label=_t(lang, "val_minimum"))
    ax_loss.legend()
    if title:
        fig.suptitle(title)
    return fig



# ----------------------------------------------------------------------------------------------------
# test-set results


def confusion(cm, title: str = "", class_names: Sequence[str] = CLASS_NAMES, lang: str = "en") -> Figure:
    """Confusion matrix (rows = true class) with counts and row percentages; colour = row share."""
    cm = np.asarray(cm, dtype=np.int64)
    k = len(class_names)
    if cm.shape != (k, k):
        raise XrayError(f"confusion: expected a {k}x{k} matrix, got shape {cm.shape}")
    rows = cm.sum(axis=1, keepdims=True)
    share = np.divide(cm, rows, out=np.zeros(cm.shape), where=rows > 0)
    fig = _figure(4.2, 3.8)
    ax = fig.subplots()
    ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    for i in range(k):
        for j in range(k):
            ax.text(j, i, f"{cm[i, j]}\n{100 * share[i, j]:.1f}%", ha="center", va="center",
                    color="white" if share[i, j] > 0.6 else "black")
    ax.set_xticks(range(k), class_names)
    ax.set_yticks(range(k), class_names)
    ax.set_xlabel(_t(lang, "predicted"))
    ax.set_ylabel(_t(lang, "true"))
    if title:
        ax.set_title(title)
    return fig


def _finish_roc_pr(ax_roc, ax_pr, prevalence: float | None, lang: str) -> None:
    """Axes, chance line and legends of the ROC/PR figure."""
    if prevalence is not None:
        ax_pr.axhline(prevalence, color="0.7", lw=1, ls=":", label=_t(lang, "chance", p=f"{prevalence:.2f}"))
    ax_roc.set(xlabel=_t(lang, "fpr"), ylabel=_t(lang, "tpr"), xlim=(0, 1), ylim=(0, 1.01), title=_t(lang, "roc"))
    ax_pr.set(xlabel=_t(lang, "recall"), ylabel=_t(lang, "precision"), xlim=(0, 1), ylim=(0, 1.01),
              title=_t(lang, "pr"))
    for ax in (ax_roc, ax_pr):
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize="small", loc="lower right" if ax is ax_roc else "lower left")



def reliability(preds: Mapping[str, tuple], n_bins: int = 10, lang: str = "en") -> Figure:
    """Reliability diagram (fraction of PNEUMONIA vs mean predicted p per bin, ECE in the legend) over a
    histogram of the predicted probabilities; same bins and definitions as ``evaluate.calibration``."""
    fig = _figure(5.5, 5.8)
    ax, ax_hist = fig.subplots(2, 1, sharex=True, height_ratios=[3, 1])
    ax.plot([0, 1], [0, 1], color="0.7", lw=1, ls=":", label=_t(lang, "perfect"))
    edges = np.linspace(0, 1, n_bins + 1)
    for name, (y, p) in preds.items():
        c = evaluate.calibration(y, p, n_bins=n_bins)
        colour = run_colour(name)
        ax.plot(c["prob_pred"], c["prob_true"], "o-", color=colour,
                label=_t(lang, "ece", run=name, ece=f"{c['ece']:.3f}"))
        ax_hist.hist(np.asarray(p), bins=edges, histtype="step", color=colour, lw=1.5)
    ax.set(ylabel=_t(lang, "fraction_pos"), xlim=(0, 1), ylim=(0, 1), title=_t(lang, "reliability"))
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small", loc="upper left")
    ax_hist.set(xlabel=_t(lang, "prob_pos"), ylabel=_t(lang, "images"))
    ax_hist.grid(alpha=0.3)
    return fig


def pvalue_matrix(df: pd.DataFrame, lang: str = "en", unit: str = "patient") -> Figure:
    """Holm-adjusted paired p-values between runs (the patient-level sign-flip test, ``p_holm``; log colour
    scale); each cell also shows the accuracy
    difference row run minus column run in percentage points. Input: ``evaluate.pairwise_comparisons``."""
    _require(df, ("a", "b", "diff", "p_holm"), "pvalue_matrix")
    names = list(dict.fromkeys([*df["a"], *df["b"]]))
    k = len(names)
    fig = _figure(1.6 + 1.3 * max(k, 1), 1.2 + 1.1 * max(k, 1))
    ax = fig.subplots()
    if k == 0:
        ax.text(0.5, 0.5, _t(lang, "nothing_to_compare"), ha="center", va="center")
        ax.set_axis_off()
        return fig
    pmat = np.full((k, k), np.nan)
    dmat = np.zeros((k, k))
    for row in df.itertuples(index=False):
        i, j = names.index(row.a), names.index(row.b)
        pmat[i, j] = pmat[j, i] = row.p_holm
        dmat[i, j], dmat[j, i] = row.diff, -row.diff
    norm = mcolors.LogNorm(vmin=1e-4, vmax=1, clip=True)
    cmap = matplotlib.colormaps["RdYlGn"]
    ax.imshow(np.ma.masked_invalid(np.maximum(pmat, 1e-4)), cmap=cmap, norm=norm)
    for i in range(k):
        for j in range(k):
            if i == j:
                ax.text(j, i, "—", ha="center", va="center", color="0.5")
            elif not np.isnan(pmat[i, j]):
                r, g, b, _ = cmap(norm(max(pmat[i, j], 1e-4)))
                ink = "white" if 0.299 * r + 0.587 * g + 0.114 * b < 0.5 else "black"  # readable on the cell
                star = " *" if pmat[i, j] < evaluate.ALPHA else ""
                ax.text(j, i, f"p={pmat[i, j]:.3g}{star}\nΔ={_signed(100 * dmat[i, j], 2)}", ha="center",
                        va="center", fontsize="small", color=ink)
    ax.set_xticks(range(k), names, rotation=30, ha="right")
    ax.set_yticks(range(k), names)
    ax.set_title(_t(lang, f"pvalue_title_{unit}", alpha=evaluate.ALPHA))
    return fig


# ----------------------------------------------------------------------------------------------------
# images


def _show_range(image: np.ndarray) -> tuple[float, float] | tuple[None, None]:
    if image.dtype == np.uint8:
        return 0, 255
    if image.size and image.min() >= 0 and image.max() <= 1:
        return 0, 1
    return None, None  # any other range: stretch to the image's own min and max


def image_grid(images: Sequence[np.ndarray], titles: Sequence[str], ncols: int = 4,
               overlays: Sequence[np.ndarray] | None = None, suptitle: str = "",
               alpha: float = 0.4, lang: str = "en", title_size: float = 9) -> Figure:
    """Grayscale images in a grid (one axes per image), optionally under a jet heat map in [0, 1]
    (Grad-CAM); an overlay of another resolution is stretched over its image."""
    if len(titles) != len(images) or (overlays is not None and len(overlays) != len(images)):
        raise XrayError(f"image_grid: {len(images)} images, {len(titles)} titles"
                        + (f", {len(overlays)} overlays" if overlays is not None else "") + ": must match")
    n = len(images)
    ncols = max(1, min(int(ncols), max(n, 1)))
    nrows = max(1, math.ceil(n / ncols))
    fig = _figure(2.3 * ncols, 2.5 * nrows + (0.4 if suptitle else 0))
    axes = np.atleast_1d(fig.subplots(nrows, ncols)).ravel()
    for k, ax in enumerate(axes):
        if k >= n:
            fig.delaxes(ax)
            continue
        image = np.asarray(images[k])
        if image.ndim == 3 and image.shape[-1] in (1, 3) and np.ptp(image, axis=-1).max() == 0:
            image = image[..., 0]  # grey stored as RGB
        vmin, vmax = _show_range(image)
        ax.imshow(image, cmap="gray", vmin=vmin, vmax=vmax, interpolation="bilinear")
        if overlays is not None and overlays[k] is not None:
            h, w = image.shape[:2]
            ax.imshow(np.asarray(overlays[k], dtype=np.float32), cmap="jet", alpha=alpha, vmin=0, vmax=1,
                      extent=(-0.5, w - 0.5, h - 0.5, -0.5), interpolation="bilinear")
        ax.set_title(titles[k], fontsize=title_size)
        ax.set_axis_off()
    if n == 0:
        axes[0].text(0.5, 0.5, _t(lang, "no_images"), ha="center", va="center")
    if suptitle:
        fig.suptitle(suptitle)
    return fig


# ----------------------------------------------------------------------------------------------------
# data exploration


def _class_name(label) -> str:
    return CLASS_NAMES[int(label)] if isinstance(label, (int, np.integer)) and 0 <= label < 2 else str(label)


def class_balance(counts: pd.DataFrame, lang: str = "en") -> Figure:
    """Images per split and class as grouped bars with counts.

    ``counts`` is either a table (index = split, columns = class) or one row per image with columns
    ``split`` and ``label`` (0/1 or class name), which is counted here.
    """
    if {"split", "label"} <= set(counts.columns):
        table = pd.crosstab(counts["split"], counts["label"].map(_class_name))
        order = [s for s in ("train", "val", "test") if s in table.index]
        table = table.reindex(order + [s for s in table.index if s not in order])
    else:
        table = counts.rename(columns=_class_name)
    fig = _figure(6, 3.6)
    ax = fig.subplots()
    width = 0.8 / max(len(table.columns), 1)
    x = np.arange(len(table.index))
    for k, cls in enumerate(table.columns):
        bars = ax.bar(x + (k - (len(table.columns) - 1) / 2) * width, table[cls].to_numpy(), width,
                      label=str(cls), color=CLASS_COLOURS.get(str(cls)))
        ax.bar_label(bars, fontsize="small")
    ax.set_xticks(x, [str(s) for s in table.index])
    ax.set(xlabel=_t(lang, "split"), ylabel=_t(lang, "images"))
    ax.legend()
    ax.grid(axis="y", alpha=0.3)
    return fig


def intensity_histograms(samples: Mapping[str, np.ndarray], lang: str = "en") -> Figure:
    """Pixel-value distributions per class (density, so classes of different size compare)."""
    fig = _figure(6, 3.6)
    ax = fig.subplots()
    for name, values in samples.items():
        values = np.asarray(values).ravel()
        if values.size == 0:
            continue
        bins = np.arange(257) - 0.5 if values.dtype == np.uint8 else 64
        ax.hist(values, bins=bins, density=True, histtype="step", lw=1.5, label=str(name),
                color=CLASS_COLOURS.get(str(name)))
    ax.set(xlabel=_t(lang, "pixel_value"), ylabel=_t(lang, "density"))
    if ax.get_legend_handles_labels()[0]:
        ax.legend()
    ax.grid(alpha=0.3)
    return fig


def size_distribution(sizes: pd.DataFrame, lang: str = "en") -> Figure:
    """Image width vs height per class, and the distribution of aspect ratios (width / height)."""
    _require(sizes, ("width", "height", "label"), "size_distribution")
    fig = _figure(9, 3.6)
    ax_wh, ax_ratio = fig.subplots(1, 2)
    for label, group in sizes.groupby("label", sort=True):
        name = _class_name(label)
        colour = CLASS_COLOURS.get(name)
        ax_wh.scatter(group["width"], group["height"], s=8, alpha=0.5, label=name, color=colour)
        ax_ratio.hist(group["width"] / group["height"], bins=30, histtype="step", lw=1.5, label=name,
                      color=colour)
    ax_wh.set(xlabel=_t(lang, "width"), ylabel=_t(lang, "height"))
    ax_ratio.set(xlabel=_t(lang, "aspect"), ylabel=_t(lang, "images"))
    for ax in (ax_wh, ax_ratio):
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend()
    return fig


# ----------------------------------------------------------------------------------------------------
# learning curves


def learning_curves(summary: pd.DataFrame, metrics: Sequence[str] = ("roc_auc", "accuracy"),
                    labels: Mapping[str, str] | None = None, xlabel: str = "training images (log scale)") -> Figure:
    """Test metrics against the number of training images, one panel per metric, one line per run kind.

    ``summary`` is ``learning_curves.summarise``: the line joins the means over seeds, the error bars are
    the bootstrap intervals (averaged over seeds), and with several seeds a band shows mean +- SD and a dot
    each seed's value. x is logarithmic, ticked at the sizes measured.
    """
    _require(summary, ("kind", "metric", "n_train", "mean", "sd", "ci_lo", "ci_hi", "values"), "learning_curves")
    labels = dict(labels or {})
    fig = _figure(10, 4.0)
    axes = np.atleast_1d(fig.subplots(1, len(metrics)))
    for ax, metric in zip(axes, metrics, strict=True):
        rows = summary[summary["metric"] == metric].sort_values("n_train")
        for kind, line in rows.groupby("kind", sort=True):
            c, x, mean = run_colour(kind), line["n_train"].to_numpy(), line["mean"].to_numpy()
            ax.plot(x, mean, "o-", color=c, label=kind)
            yerr = np.vstack([mean - line["ci_lo"].to_numpy(), line["ci_hi"].to_numpy() - mean]).clip(min=0)
            ax.errorbar(x, mean, yerr=yerr, fmt="none", ecolor=c, capsize=3, lw=1)
            sd = line["sd"].to_numpy()
            if np.isfinite(sd).any():
                ax.fill_between(x, mean - np.nan_to_num(sd), mean + np.nan_to_num(sd), color=c, alpha=0.15, lw=0)
                seeds_x = np.concatenate([[n] * len(v) for n, v in zip(x, line["values"], strict=True)])
                ax.scatter(seeds_x, np.concatenate(list(line["values"])), s=10, color=c, alpha=0.7, zorder=3)
        ax.set_xscale("log")
        ticks = sorted(set(rows["n_train"]))
        if ticks:
            ax.set_xticks(ticks, [f"{t:,}" for t in ticks])
            ax.minorticks_off()
        ax.set(xlabel=xlabel, ylabel=labels.get(metric, metric))
        ax.grid(alpha=0.3)
    if axes.size and axes[0].get_legend_handles_labels()[0]:
        axes[-1].legend(fontsize="small", loc="best")
    return fig


# ----------------------------------------------------------------------------------------------------
# repeats: runs of one kind that differ only in the seed


def curves_spread(groups: Mapping[str, Sequence[pd.DataFrame]], lang: str = "en") -> Figure:
    """Loss and accuracy per epoch of each kind of run (key "<backbone>-<mode>"): the mean over its seeds,
    validation solid and train dashed, with the range across seeds (min to max) as a band around the
    validation curve. A kind with one run is drawn as that run's curves."""
    fig = _figure(10, 3.8)
    ax_loss, ax_acc = fig.subplots(1, 2)
    for kind, histories in groups.items():
        for h in histories:
            _require(h, ("epoch", "train_loss", "train_acc", "val_loss", "val_acc"), f"curves_spread ({kind})")
        per_epoch = pd.concat(list(histories)).groupby("epoch")
        mean, low, high = per_epoch.mean(numeric_only=True), per_epoch.min(), per_epoch.max()
        c, n = run_colour(kind), len(histories)
        label = kind if n == 1 else _t(lang, "kind_seeds", kind=kind, n=n)
        for ax, key in ((ax_loss, "loss"), (ax_acc, "acc")):
            ax.plot(mean.index, mean[f"val_{key}"], "-", marker=".", color=c, label=_t(lang, "run_val", run=label))
            ax.plot(mean.index, mean[f"train_{key}"], "--", color=c, alpha=0.7,
                    label=_t(lang, "run_train", run=label))
            if n > 1:
                ax.fill_between(mean.index, low[f"val_{key}"], high[f"val_{key}"], color=c, alpha=0.2, lw=0)
    for ax, label in ((ax_loss, "loss"), (ax_acc, "accuracy")):
        ax.set_xlabel(_t(lang, "epoch"))
        ax.set_ylabel(_t(lang, label))
        _whole_epochs(ax)
        ax.grid(alpha=0.3)
    if groups:
        ax_acc.legend(fontsize="small", loc="best")
    return fig


def roc_pr_spread(groups: Mapping[str, Sequence[tuple]], labels: Mapping[str, tuple[str, str]],
                  lang: str = "en") -> Figure:
    """ROC and precision-recall curves per kind of run. ``groups``: kind -> [(y, p) per seed]; ``labels``:
    kind -> (ROC legend, PR legend), written by the caller from the numbers in its tables, so a legend's
    AUC is the table's. Several seeds: the mean ROC (true positive rates averaged on a common false
    positive rate grid) with the range across seeds as a band, and each seed's PR curve."""
    fig = _figure(10, 4.2)
    ax_roc, ax_pr = fig.subplots(1, 2)
    ax_roc.plot([0, 1], [0, 1], color="0.7", lw=1, ls=":")
    grid = np.linspace(0, 1, 201)
    prevalence = None
    for kind, pairs in groups.items():
        pairs = [(np.asarray(y), np.asarray(p, dtype=np.float64)) for y, p in pairs]
        pairs = [(y, p) for y, p in pairs if 0 < y.sum() < len(y)]  # one class only: neither curve exists
        if not pairs:
            continue
        c = run_colour(kind)
        tprs = []
        for y, p in pairs:
            fpr, tpr, _ = skm.roc_curve(y, p)
            tprs.append(np.interp(grid, fpr, tpr))
        tprs = np.array(tprs)
        if len(pairs) == 1:
            fpr, tpr, _ = skm.roc_curve(*pairs[0])
            ax_roc.plot(fpr, tpr, color=c, label=labels[kind][0])
        else:
            ax_roc.plot(grid, tprs.mean(0), color=c, label=labels[kind][0])
            ax_roc.fill_between(grid, tprs.min(0), tprs.max(0), color=c, alpha=0.2, lw=0)
        for k, (y, p) in enumerate(pairs):
            precision, recall, _ = skm.precision_recall_curve(y, p)
            ax_pr.step(recall, precision, where="post", color=c, alpha=1 if len(pairs) == 1 else 0.6,
                       label=labels[kind][1] if k == 0 else "_nolegend_")
        prevalence = pairs[0][0].mean()
    _finish_roc_pr(ax_roc, ax_pr, prevalence, lang)
    return fig


def seed_points(values: Mapping[str, Mapping[str, Sequence[float]]], metric_labels: Mapping[str, str]) -> Figure:
    """One panel per metric: each kind's per-seed values as dots, with a bar for mean ± SD where there are
    two seeds or more. ``values``: kind -> metric -> [value per seed]; ``metric_labels``: metric -> title."""
    metrics, kinds = list(metric_labels), list(values)
    fig = _figure(1.2 + 2.2 * max(len(metrics), 1), 1.2 + 0.45 * max(len(kinds), 1))
    axes = np.atleast_1d(fig.subplots(1, max(len(metrics), 1), sharey=True))
    for ax, metric in zip(axes[:len(metrics)], metrics, strict=True):
        for i, kind in enumerate(kinds):
            v = np.array([x for x in values[kind].get(metric, ()) if x is not None and np.isfinite(x)], dtype=float)
            if not len(v):
                continue
            c = run_colour(kind)
            ax.plot(v, np.full(len(v), i), "o", color=c, alpha=0.8, ms=5)
            if len(v) > 1:
                ax.errorbar(v.mean(), i, xerr=v.std(ddof=1), fmt="|", color="0.2", ms=14, capsize=4)
        ax.set_title(metric_labels[metric], fontsize="medium")
        ax.grid(axis="x", alpha=0.3)
    axes[0].set_yticks(range(len(kinds)), kinds)
    axes[0].set_ylim(len(kinds) - 0.5, -0.5)
    return fig
