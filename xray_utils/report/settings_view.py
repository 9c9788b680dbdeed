"""The report's header and its settings: what was run, and every setting that changes a number.

``disclosure_rows`` lists each setting that differs between runs or from the homework (the homework's values
are RunConfig's defaults, except that it evaluated the last epoch, computed in fp32 and drew a fresh
ColorJitter every epoch), plus precision, resize mode, the epoch selection rule and (frozen runs) the
feature views always, each with one sentence on what it changes.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Sequence

import torch

from .. import __version__
from ..config import NON_IDENTITY_FIELDS, RunConfig
from ..report_text import has_text, text
from ..runs import Run
from . import banners
from .html import fmt_rate, fmt_seconds, heading, paragraph, show_html, table_html

if TYPE_CHECKING:  # the model this section reads (sections.Report calls it; core imports no section)
    from .core import Report


# ----------------------------------------------------------------------------------------------------
# header


def weights_sentence(report: Report) -> str:
    transfer = [r for r in report.runs if r.config.mode != "scratch"] or report.runs
    used = {r.metrics.get("weights", r.config.resolved_weights) for r in transfer}
    if used == {"none"}:
        return report.t("weights_none")
    if used == {"imagenet"}:
        return report.t("weights_imagenet")
    if len(used) == 1:
        return report.t("weights_path", path=used.pop())
    return report.t("weights_mixed")


# The data loaders describe their source in English (metrics.json "data_source"); these are its phrases,
# each with the report_text key that says it in the report's language (data/load.py, folder.py,
# pneumoniamnist.py and synthetic.py write them).
_END = r"(?=,| \(|;|\)|$)"
SOURCE_PHRASES = (
    (r"chest X-ray folder (?P<path>.+?)" + _END, "src_folder"),
    (r"PneumoniaMNIST (?P<size>\d+)x\d+ px from (?P<path>.+?)" + _END, "src_mnist"),
    (r"synthetic phantoms \(not real X-rays\), (?P<size>\d+)x\d+ px", "src_synthetic"),
    (r", a bright corner marker on every PNEUMONIA phantom \(planted shortcut\)", "src_marker"),
    (r", upscaled to (?P<size>\d+) px", "src_upscaled"),
    (r"official train/val/test splits", "src_official"),
    (r"the folder's own val split", "src_own_val"),
    (r"val: (?P<pct>\d+%) of (?P<pooled>train\+val|train), by patient", "src_val_patient"),
    (r"; train fraction (?P<fraction>[\d.]+): (?P<images>[\d,]+) of (?P<all_images>[\d,]+) images, "
     r"(?P<patients>[\d,]+) of (?P<all_patients>[\d,]+) patients \(seed (?P<seed>\d+)\)", "src_fraction"),
)


def data_line(lang: str, source: str) -> str:
    """The runs' data source in ``lang``: each known phrase of the loaders' English description replaced by
    its text in the report's language (English: unchanged); an unknown phrase stays as written."""
    if lang == "en":
        return source

    def say(match: re.Match, key: str) -> str:
        values = match.groupdict()
        if "pooled" in values:  # the split names: "train" or "train+val"
            values["pooled"] = text(lang, "src_pool_" + values["pooled"].replace("+", "_"))
        return text(lang, key, **values)

    for pattern, key in SOURCE_PHRASES:
        source = re.sub(pattern, lambda m, key=key: say(m, key), source)
    return source


def header_lines(report: Report) -> list[str]:
    first = report.runs[0].metrics
    normal, pneumonia = report.test_counts
    sources = list(dict.fromkeys(r.metrics.get("data_source", "") for r in report.runs))
    lines = [report.t("data_source", source=data_line(report.lang, "; ".join(sources))),
             report.t("split_sizes", train=first["n"]["train"], val=first["n"]["val"], test=first["n"]["test"],
                      test_normal=normal, test_pneumonia=pneumonia),
             weights_sentence(report)]
    if any(r.config.mode == "scratch" for r in report.runs):
        lines.append(report.t("scratch_note"))
    return lines


def show_header(report: Report) -> None:
    parts = [heading(report.t("title"), 1), paragraph(report.t("subtitle"), "xray-note")]
    parts.append(banners.banners_html(report.lang, report.all_runs))
    parts += [paragraph(line) for line in header_lines(report)]
    devices = ", ".join(sorted({str(r.metrics.get("device", "?")) for r in report.all_runs}))
    parts.append(paragraph(report.t("generated_note"), "xray-note"))
    parts.append(paragraph(report.t("generated_at", date=time.strftime("%Y-%m-%d %H:%M"), version=__version__,
                                    torch=torch.__version__, device=devices), "xray-note"))
    show_html("".join(parts))


# ----------------------------------------------------------------------------------------------------
# the settings table: one column per setting that differs between runs


def settings_rows(report: Report) -> list[dict]:
    rows = []
    for r in report.all_runs:
        c, m = r.config, r.metrics
        weights = m.get("weights", c.resolved_weights)
        rows.append({
            "run": r.name, "backbone": c.backbone, "mode": report.mode_label(c.mode),
            "weights": report.t(f"weights_{weights}_short") if weights in ("imagenet", "none") else weights,
            "dataset": c.dataset, "img_size": f"{c.img_size} / {c.resize_size}",
            "epochs": f"{m.get('epochs_run', c.epochs)} ({m.get('selected_epoch', m.get('best_epoch', '?'))})",
            "batch": c.batch_size, "lr": f"{c.lr:g}", "optimizer": c.optimizer, "scheduler": c.scheduler,
            "augment": augment_recipe(c, report), "dropout": f"{c.dropout:g}", "seed": c.seed,
            "weight_decay": f"{c.weight_decay:g}", "preprocess": resize_recipe(c),
            "n": "{train} / {val} / {test}".format(**m["n"]),
            "train_time": fmt_seconds(training_seconds(m)), "speed": _speed(report, m),
        })
    return rows


def resize_recipe(c: RunConfig) -> str:
    """The deterministic preprocessing as torchvision calls, e.g. "Resize((256, 256)) bicubic + CenterCrop(224)"
    (``data.transforms.GrayPrefix``: square squashes the image, shorter-side keeps its aspect ratio)."""
    size = f"({c.resize_size}, {c.resize_size})" if c.resize_mode == "square" else str(c.resize_size)
    return f"Resize({size}) bicubic + CenterCrop({c.img_size})"


def augment_recipe(c: RunConfig, report: Report) -> str:
    """The training augmentation with its values (ColorJitter on the training images only), or "no"."""
    if not c.augment:
        return report.t("no")
    b, k, s, h = (f"{v:g}" for v in c.jitter)
    return report.t("augment_jitter", brightness=b, contrast=k, saturation=s, hue=h)


def training_seconds(metrics: dict) -> float | None:
    """The training's wall time: its epochs and, for a frozen run, the feature extraction before them."""
    epochs = metrics.get("train_seconds")
    if epochs is None:
        return None
    return epochs + float((metrics.get("timings") or {}).get("feature_extraction_s") or 0.0)


def total_seconds(runs: Sequence[Run]) -> float | None:
    """All runs' wall time from start to test metrics (metrics.json ``timings.total_s``; else their training)."""
    each = [(r.metrics.get("timings") or {}).get("total_s") or training_seconds(r.metrics) for r in runs]
    known = [t for t in each if t is not None]
    return sum(known) if known else None


def _speed(report: Report, metrics: dict) -> str:
    """Training images/s; a frozen run that read an earlier run's stored features did not extract them, so
    its rate is marked (a learning curve's smaller fractions reuse the full set's features)."""
    rate = fmt_rate(metrics.get("train_images_per_s"))
    return f"{rate} ({report.t('speed_stored_features')})" if metrics.get("features_reused") else rate


SETTING_KEYS = ("backbone", "mode", "weights", "dataset", "preprocess", "batch", "lr", "optimizer", "weight_decay",
                "scheduler", "dropout", "augment", "seed", "n")


# ----------------------------------------------------------------------------------------------------
# disclosure: every setting that differs from the homework, with what it changes


@dataclass(frozen=True)
class Setting:
    key: str  # text keys set_<key> (its name) and eff_<key> (one sentence on what it changes)
    value: Callable[[Run, Report], str]
    homework: Callable[[Run, Report], str]
    applies: Callable[[Run], bool] = lambda run: True
    always: bool = False  # shown even when every run has the homework's value


def _field(name: str, fmt: Callable | None = None, applies: Callable[[RunConfig], bool] | None = None) -> Setting:
    """A RunConfig field whose homework value is its default (for the run's backbone and mode)."""
    fmt = fmt or _plain

    def homework(run: Run, report: Report) -> str:
        return fmt(getattr(RunConfig(backbone=run.config.backbone, mode=run.config.mode), name), report)

    return Setting(name, lambda run, report: fmt(getattr(run.config, name), report), homework,
                   applies=(lambda run: applies(run.config)) if applies else (lambda run: True))


def _plain(value, report) -> str:
    return str(value)


def _yes_no(value, report) -> str:
    return report.t("yes" if value else "no")


def _select(value, report) -> str:
    return report.t(f"select_{value}")


def _views(run: Run, report: Report) -> str:
    c = run.config
    if not c.augment:
        return report.t("views_no_augment")
    return report.t("views_stored", k=c.feature_views) if c.feature_cache else report.t("views_fresh")


def _world(run: Run, report: Report) -> str:
    size = int(run.metrics.get("world_size", run.config.world_size))
    sync = run.metrics.get("sync_bn", run.config.sync_bn)
    return report.t("world_value", n=size, sync=_yes_no(sync, report))


def _weights(value, report) -> str:
    return report.t(f"weights_{value}_short") if value in ("imagenet", "none") else str(value)


def _img(run: Run, report: Report) -> str:
    return f"{run.config.img_size} / {run.config.resize_size}"


SETTINGS: tuple[Setting, ...] = (
    Setting("precision", lambda run, report: str(run.metrics.get("compute_dtype", "n/a")),
            lambda run, report: "fp32", always=True),
    Setting("resize_mode", lambda run, report: run.config.resize_mode, lambda run, report: "square", always=True),
    Setting("select", lambda run, report: _select(run.config.select, report),
            lambda run, report: _select("last", report), always=True),  # the homework evaluated epoch 10
    Setting("feature_views", _views, lambda run, report: report.t("views_fresh"),
            applies=lambda run: run.config.mode == "frozen", always=True),
    Setting("world", _world, lambda run, report: report.t("world_value", n=1, sync=report.t("yes")),
            applies=lambda run: int(run.metrics.get("world_size", run.config.world_size)) > 1),
    _field("amp"), _field("class_weights", _yes_no), _field("val_split"),
    _field("val_fraction", applies=lambda c: c.val_split == "patient"),
    _field("early_stopping"), _field("train_fraction"), _field("dataset"),
    Setting("weights", lambda run, report: _weights(run.config.resolved_weights, report),
            lambda run, report: _weights(RunConfig(mode=run.config.mode).resolved_weights, report)),
    Setting("img_size", _img, lambda run, report: "224 / 256"),
    _field("epochs"), _field("batch_size"), _field("lr"), _field("weight_decay"), _field("dropout"),
    _field("optimizer"), _field("scheduler"), _field("augment", _yes_no),
    _field("jitter", lambda v, report: ", ".join(f"{x:g}" for x in v)), _field("deterministic", _yes_no),
)
_RELEVANT = {"momentum": lambda c: c.optimizer == "sgd", "step_size": lambda c: c.scheduler == "step",
             "gamma": lambda c: c.scheduler == "step", "mnist_size": lambda c: c.dataset == "pneumoniamnist",
             "synthetic_train": lambda c: c.dataset == "synthetic",
             "synthetic_test": lambda c: c.dataset == "synthetic",
             "synthetic_shortcut": lambda c: c.dataset == "synthetic"}
# fields that never change a number, or are shown elsewhere (backbone, mode: the experiment; seed: repeats)
_NOT_DISCLOSED = set(NON_IDENTITY_FIELDS) | {"backbone", "mode", "seed", "data_dir", "resize", "decode_cache",
                                             "feature_cache", "feature_views", "sync_bn"}


def _all_settings() -> tuple[Setting, ...]:
    """SETTINGS, plus every other RunConfig field (a field added later is disclosed without a code change)."""
    named = {s.key for s in SETTINGS} | _NOT_DISCLOSED
    return SETTINGS + tuple(_field(name, applies=_RELEVANT.get(name)) for name in RunConfig().to_dict()
                            if name not in named)


def _grouped(values: dict[str, str]) -> str:
    """"bf16" when every run agrees, else "bf16 (a, b); fp32 (c)"."""
    by_value: dict[str, list[str]] = {}
    for run, value in values.items():
        by_value.setdefault(value, []).append(run)
    if len(by_value) == 1:
        return next(iter(by_value))
    return "; ".join(f"{value} ({', '.join(runs)})" for value, runs in by_value.items())


def disclosure_rows(report: Report) -> list[dict]:
    """{"key", "setting", "value", "homework", "differs", "effect"} per disclosed setting."""
    rows = []
    for s in _all_settings():
        runs = [r for r in report.all_runs if s.applies(r)]
        if not runs:
            continue
        values = {r.name: s.value(r, report) for r in runs}
        homework = {r.name: s.homework(r, report) for r in runs}
        differs = any(values[n] != homework[n] for n in values)
        if not (s.always or differs or len(set(values.values())) > 1):
            continue
        rows.append({"key": s.key, "setting": report.t(f"set_{s.key}") if has_text(f"set_{s.key}") else s.key,
                     "value": _grouped(values), "homework": _grouped(homework), "differs": differs,
                     "effect": report.t(f"eff_{s.key}" if has_text(f"eff_{s.key}") else "eff_other")})
    return rows


def show_settings(report: Report) -> None:
    """The runs' settings (one column per setting that differs between runs, the shared ones in a
    sentence), then every setting that differs from the homework with what it changes."""
    rows = settings_rows(report)
    varying = [k for k in SETTING_KEYS if len({str(r[k]) for r in rows}) > 1]
    common = [k for k in SETTING_KEYS if k not in varying]
    cols = [(k, report.t(f"col_{k}")) for k in ["run", *varying, "epochs", "train_time", "speed"]]
    shared = "; ".join(f"{report.t(f'col_{k}')} {rows[0][k]}" for k in common)
    disclosed = disclosure_rows(report)
    for row in disclosed:
        row["differs"] = report.t("yes" if row["differs"] else "no")
    disclosure_cols = [(k, report.t(f"col_{k}")) for k in ("setting", "value", "homework", "differs", "effect")]
    total = total_seconds(report.all_runs)
    show_html(heading(report.t("h_settings"), 2, "settings") + table_html(rows, cols, "settings")
              + (paragraph(report.t("common_settings", items=shared)) if common else "")
              + (paragraph(report.t("total_time", total=fmt_seconds(total), n=len(report.all_runs)))
                 if total is not None else "")
              + paragraph(report.t("disclosure_intro"))
              + table_html(disclosed, disclosure_cols, "disclosure", row_key=None))
