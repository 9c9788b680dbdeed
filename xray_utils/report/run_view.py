"""One run: its settings, training curves, test confusion matrix and test metrics (notebooks 01 and 02).

Figures reach a run directory only through ``save_run_figures``, which the training notebooks call
explicitly after training. Reading a run never writes into it: the report draws each run's figures in
memory from the run's data (history.csv, metrics.json's confusion matrix) in the report's language
(``run_figure_pngs``), never the PNGs drawn at training time in the notebook's language.
"""

from __future__ import annotations

from pathlib import Path

from .. import plots
from ..config import RunConfig
from ..report_text import text
from ..runs import Run, RunDir, load_run
from . import task_e
from .html import heading, png_bytes, show_html, show_png, table_html

CONFUSION_WIDTH = 340  # CSS pixels: a 2x2 matrix needs no more than a third of the page


def _draw(run: Run, lang: str = "en") -> tuple:
    return (plots.training_curves(run.history, title=run.name, lang=lang),
            plots.confusion(run.metrics["test"]["confusion_matrix"], title=run.name, lang=lang))


def save_run_figures(run_dir: str | Path, lang: str = "en") -> tuple[Path, Path]:
    """Draw the run's training curves and test confusion matrix into figures/ (curves.png, confusion.png)."""
    rd = RunDir(run_dir)
    run = load_run(rd.path)
    curves, confusion = _draw(run, lang)
    curves_png, confusion_png = rd.figure_files
    return plots.save(curves, curves_png), plots.save(confusion, confusion_png)


def run_figure_pngs(run: Run, lang: str = "en") -> tuple[bytes, bytes]:
    """(curves, confusion) as PNG bytes, drawn in memory from the run's data with labels in ``lang``."""
    curves, confusion = _draw(run, lang)
    return png_bytes(curves), png_bytes(confusion)


# RunConfig fields that only matter in some runs (the others always apply), and fields that never change a
# number and are left out of the table (how a run was executed, not what it computed)
APPLIES = {
    "val_fraction": lambda c: c.val_split == "patient", "mnist_size": lambda c: c.dataset == "pneumoniamnist",
    "synthetic_train": lambda c: c.dataset == "synthetic", "synthetic_test": lambda c: c.dataset == "synthetic",
    "synthetic_shortcut": lambda c: c.dataset == "synthetic", "data_dir": lambda c: c.dataset != "synthetic",
    "jitter": lambda c: c.augment, "momentum": lambda c: c.optimizer == "sgd",
    "step_size": lambda c: c.scheduler == "step", "gamma": lambda c: c.scheduler == "step",
    "feature_cache": lambda c: c.mode == "frozen",
    "feature_views": lambda c: c.mode == "frozen" and c.augment and c.feature_cache,
    "sync_bn": lambda c: c.world_size > 1, "world_size": lambda c: c.world_size > 1,
}
NOT_SHOWN = ("progress", "num_workers", "cache_dir", "strict")


def config_rows(cfg: RunConfig) -> list[dict]:
    """The settings that apply to this run (not every RunConfig field), defaults resolved: the initial
    weights by name, the resize size in pixels."""
    resolved = {"weights": cfg.resolved_weights, "resize": cfg.resize_size}
    return [{"setting": k, "value": resolved.get(k, v)} for k, v in cfg.to_dict().items()
            if k not in NOT_SHOWN and APPLIES.get(k, lambda c: True)(cfg)]


def show_config(cfg: RunConfig, run_dir: Path, lang: str = "en") -> None:
    rows = [{"setting": "run_dir", "value": str(run_dir)}] + config_rows(cfg)
    cols = [("setting", text(lang, "col_setting")), ("value", text(lang, "col_value"))]
    show_html(table_html(rows, cols, "run-config", row_key=None))


def show_run(run_dir: str | Path, lang: str = "en") -> None:
    """The training notebooks' last step: save the run's figures into its figures/ (the files the report
    shows), then show them and the run's test metrics."""
    curves, confusion = save_run_figures(run_dir, lang)
    show_png(curves.read_bytes())
    show_png(confusion.read_bytes(), width=CONFUSION_WIDTH)
    run = load_run(run_dir)
    show_html(heading(text(lang, "h_run_summary"), 3)
              + task_e.run_table(run, lang))
