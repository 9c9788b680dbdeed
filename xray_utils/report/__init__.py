"""What the notebooks show: tables, figures and generated sentences, read from run directories.

The notebooks stay thin: each cell calls one ``show_*`` function here. ``Report`` (notebook 03, the
report itself) holds the finished runs; its ``*_rows`` / ``findings`` methods return plain data, which the
``show_*`` methods render as HTML tables, PNG figures and sentences. Numbers are formatted by the
``fmt_*`` functions only, so a test can predict every number in the HTML from metrics.json.
"""

from __future__ import annotations

import base64
import html
import io
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd

from .. import __version__
from ..config import CLASS_NAMES, RunConfig, default_project_dir
from ..errors import XrayError
from ..report_text import FONT_FAMILY, check_lang, description, text
from ..runs import Run, RunDir, collect, load_run

RATE_METRICS = ("accuracy", "sensitivity", "specificity", "precision", "npv")
TABLE_METRICS = ("accuracy", "loss", "sensitivity", "specificity", "f1", "roc_auc")  # Task E columns
FINDING_METRICS = ("accuracy", "sensitivity", "specificity", "f1", "roc_auc")
ALPHA = 0.05
FIGURE_DPI = 110


# ----------------------------------------------------------------------------------------------------
# numbers as text (the only place numbers are formatted)


def fmt_pct(v: float | None, digits: int = 2) -> str:
    return "n/a" if v is None or not np.isfinite(v) else f"{100 * v:.{digits}f}%"


def fmt_num(v: float | None, digits: int = 4) -> str:
    return "n/a" if v is None or not np.isfinite(v) else f"{v:.{digits}f}"


def fmt_metric(metric: str, v: float | None) -> str:
    """accuracy-like rates as percentages (83.93%), everything else with 4 decimals (0.3490)."""
    return fmt_pct(v) if metric in RATE_METRICS else fmt_num(v)


def fmt_ci(metric: str, ci: Sequence[float] | None) -> str:
    if not ci or any(c is None for c in ci):
        return ""
    return f"[{fmt_metric(metric, ci[0])}, {fmt_metric(metric, ci[1])}]"


def fmt_p(p: float | None) -> str:
    if p is None or not np.isfinite(p):
        return "n/a"
    return "< 0.0001" if p < 1e-4 else f"{p:.4f}"


def fmt_p_is(p: float | None) -> str:
    """A p-value in a sentence: "p = 0.0123" or "p < 0.0001"."""
    text_p = fmt_p(p)
    return f"p {text_p}" if text_p.startswith("<") else f"p = {text_p}"


def fmt_pp(v: float | None) -> str:
    """A difference of two rates in percentage points, signed."""
    return "n/a" if v is None or not np.isfinite(v) else f"{100 * v:+.2f}"


def fmt_int(n: int | None) -> str:
    return "n/a" if n is None else f"{int(n):,}"


def fmt_macs(n: int | None) -> str:
    return "n/a" if n is None else f"{n / 1e9:.3f} G" if n >= 1e8 else f"{n / 1e6:.1f} M"


def fmt_seconds(s: float | None) -> str:
    if s is None:
        return "n/a"
    return f"{s:.1f} s" if s < 120 else f"{s / 60:.1f} min"


# ----------------------------------------------------------------------------------------------------
# HTML output


class Raw(str):
    """A table cell that is already HTML."""


def _cell(value: Any) -> str:
    return value if isinstance(value, Raw) else html.escape(str(value))


# "0.3490", "83.93%", "1,026", "8.5 M", "48 / 55", "2 (1)", "+1.20 [-0.50, +2.90]", "< 0.0001"
_NUMBER = re.compile(r"^[<>]?\s*[-+]?[\d,.]+\s*(%|G|M|s|min)?(\s*/\s*[\d,.]+)*(\s*[(\[].*[)\]])?$")


def _is_number(value: Any) -> bool:
    return isinstance(value, Raw) or bool(_NUMBER.match(str(value)))


def table_html(rows: list[dict], columns: Sequence[tuple[str, str]], table_id: str,
               row_key: str | None = "run", metric_cells: Iterable[str] = ()) -> str:
    """An HTML table; cells of ``metric_cells`` columns carry data-run / data-metric attributes.

    Columns holding only numbers are right-aligned, text columns left-aligned.
    """
    metric_cells = set(metric_cells)
    measured = [r for r in rows if not r.get("_reference")]
    numeric = {key for key, _ in columns
               if all(_is_number(r[key]) for r in measured if str(r.get(key, "")) not in ("", "n/a"))}
    num = ' class="num"'
    head = "".join(f"<th{num if key in numeric else ''}>{html.escape(label)}</th>" for key, label in columns)
    body = []
    for row in rows:
        tds = []
        for key, _ in columns:
            attrs = num if key in numeric else ""
            if key in metric_cells and row_key:
                attrs += f' data-run="{html.escape(str(row[row_key]))}" data-metric="{key}"'
            tds.append(f"<td{attrs}>{_cell(row.get(key, ''))}</td>")
        cls = ' class="reference"' if row.get("_reference") else ""
        body.append(f"<tr{cls}>{''.join(tds)}</tr>")
    return (f'<table class="xray-table" id="{table_id}"><thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(body)}</tbody></table>")


def metric_cell(metric: str, value: float | None, ci: Sequence[float] | None) -> Raw:
    ci_text = fmt_ci(metric, ci)
    ci_html = f'<br><span class="ci">{html.escape(ci_text)}</span>' if ci_text else ""
    return Raw(f'<span class="value">{html.escape(fmt_metric(metric, value))}</span>{ci_html}')


def png_bytes(fig) -> bytes:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=FIGURE_DPI, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def img_html(png: bytes, alt: str, css_class: str = "figure", width: str | None = None) -> str:
    data = base64.b64encode(png).decode("ascii")
    style = f' style="width: {width}"' if width else ""
    return f'<img class="{css_class}" alt="{html.escape(alt)}"{style} src="data:image/png;base64,{data}">'


def css() -> str:
    return f"""<style>
body, .jp-RenderedHTMLCommon, .jp-Notebook {{ font-family: {FONT_FAMILY}; }}
.xray-banner {{ background: #b71c1c; color: #fff; font-weight: bold; padding: 0.8em 1em; margin: 0.5em 0;
  border-radius: 4px; font-size: 1.1em; }}
.xray-table {{ border-collapse: collapse; margin: 0.5em 0 1em 0; font-size: 0.85em; }}
/* prefixed with JupyterLab's output class to outrank its right-aligned table cells */
.jp-RenderedHTMLCommon .xray-table th, .jp-RenderedHTMLCommon .xray-table td, .xray-table th, .xray-table td {{
  border: 1px solid #ccc; padding: 3px 7px; text-align: left; vertical-align: top; }}
.xray-table th {{ background: #f0f0f0; }}
.jp-RenderedHTMLCommon .xray-table .num, .xray-table .num {{ text-align: right; white-space: nowrap; }}
.xray-table .ci {{ color: #666; font-size: 0.85em; white-space: nowrap; }}
.xray-table tr.reference td {{ font-style: italic; color: #555; }}
.xray-row {{ display: flex; gap: 2%; align-items: flex-start; }}
.xray-row img.curves {{ width: 64%; height: auto; }}
.xray-row img.confusion {{ width: 30%; height: auto; }}
img.figure, img.wide {{ max-width: 100%; height: auto; }}
.xray-note {{ color: #555; font-size: 0.9em; }}
ul.xray-findings li {{ margin: 0.3em 0; }}
h3 {{ break-after: avoid; }}
@media print {{ .xray-table {{ font-size: 0.7em; }} img {{ break-inside: avoid; }} }}
</style>"""


def _display_html(fragment: str) -> None:
    from IPython.display import HTML, display

    display(HTML(fragment))


def setup(lang: str = "en") -> None:
    """First cell of every notebook: check the language, style the tables, fonts for CJK labels."""
    check_lang(lang)
    from .. import plots

    plots.use_language(lang)
    _display_html(css())


def heading(title: str, level: int = 2, anchor: str | None = None) -> str:
    id_attr = f' id="{anchor}"' if anchor else ""
    return f"<h{level}{id_attr}>{html.escape(title)}</h{level}>"


def paragraph(sentence: str, css_class: str | None = None) -> str:
    cls = f' class="{css_class}"' if css_class else ""
    return f"<p{cls}>{html.escape(sentence)}</p>"


# ----------------------------------------------------------------------------------------------------
# notebooks 01 and 02: one run


def run_figures(run_dir: str | Path) -> tuple[Path, Path]:
    """Draw the run's training curves and test confusion matrix into figures/ (curves.png, confusion.png)."""
    from .. import plots

    rd = RunDir(run_dir)
    run = load_run(rd.path)
    curves, confusion = rd.figures / "curves.png", rd.figures / "confusion.png"
    plots.save(plots.training_curves(run.history, title=run.name), curves)
    plots.save(plots.confusion(run.metrics["test"]["confusion_matrix"], title=run.name), confusion)
    return curves, confusion


def run_figures_html(name: str, curves: Path, confusion: Path) -> str:
    """The saved PNG files themselves, embedded side by side."""
    return ('<div class="xray-row">' + img_html(curves.read_bytes(), f"{name}: training curves", "curves")
            + img_html(confusion.read_bytes(), f"{name}: test confusion matrix", "confusion") + "</div>")


def show_config(cfg: RunConfig, run_dir: Path, lang: str = "en") -> None:
    rows = [{"setting": k, "value": v} for k, v in cfg.to_dict().items()]
    rows.insert(0, {"setting": "run_dir", "value": str(run_dir)})
    _display_html(table_html(rows, [("setting", "setting"), ("value", "value")], "run-config", row_key=None))


def show_run(run_dir: str | Path, lang: str = "en") -> None:
    """Curves and confusion matrix of one run (saved into its figures/) and its test metrics."""
    run = load_run(run_dir)
    curves, confusion = run_figures(run_dir)
    _display_html(run_figures_html(run.name, curves, confusion))
    _display_html(heading(text(lang, "h_run_summary"), 3)
                  + table_html(metric_rows([run], "test", lang), metric_columns(lang), "run-metrics",
                               metric_cells=TABLE_METRICS))


def metric_columns(lang: str, threshold: bool = False) -> list[tuple[str, str]]:
    cols = [("run", text(lang, "col_run"))]
    if threshold:
        cols.append(("threshold", text(lang, "col_threshold")))
    return cols + [(m, text(lang, f"metric_{m}")) for m in TABLE_METRICS]


def metric_rows(runs: Sequence[Run], which: str, lang: str) -> list[dict]:
    """One row per run of ``metrics[which]`` ("test" or "test_youden") with CI cells."""
    rows = []
    for run in runs:
        m = run.metrics[which]
        row = {"run": run.name, "threshold": fmt_num(m.get("threshold"), 3)}
        for metric in TABLE_METRICS:
            row[metric] = metric_cell(metric, m.get(metric), m.get("ci", {}).get(metric))
        rows.append(row)
    return rows


# ----------------------------------------------------------------------------------------------------
# notebook 00: the data


def _class_counts(labels) -> tuple[int, int]:
    counts = np.bincount(np.asarray(labels, dtype=np.int64), minlength=2)
    return int(counts[0]), int(counts[1])


def split_count_rows(splits) -> list[dict]:
    rows = []
    for split in (splits.train, splits.val, splits.test):
        normal, pneumonia = _class_counts(split.labels)
        n = normal + pneumonia
        rows.append({"split": split.name, "images": fmt_int(n), CLASS_NAMES[0]: fmt_int(normal),
                     CLASS_NAMES[1]: fmt_int(pneumonia), "share": fmt_pct(pneumonia / n if n else None, 1),
                     "patients": fmt_int(len(set(split.patients)))})
    return rows


def show_split_counts(splits, lang: str = "en") -> None:
    from IPython.display import display

    from .. import plots

    cols = [("split", text(lang, "col_split")), ("images", text(lang, "col_images")),
            (CLASS_NAMES[0], CLASS_NAMES[0]), (CLASS_NAMES[1], CLASS_NAMES[1]),
            ("share", text(lang, "col_share"))]
    _display_html(paragraph(text(lang, "data_source", source=splits.source))
                  + table_html(split_count_rows(splits), cols, "split-counts", row_key=None))
    frame = pd.DataFrame([{"split": s.name, "label": int(y)} for s in (splits.train, splits.val, splits.test)
                          for y in s.labels])
    _display_html(img_html(png_bytes(plots.class_balance(frame)), "images per split and class"))
    if splits.skipped:
        display(f"skipped (unreadable): {len(splits.skipped)}: " + ", ".join(splits.skipped[:10]))


def shared_patients(splits) -> dict[tuple[str, str], list[str]]:
    """Patients present in two splits, per pair of splits (must be empty: leakage otherwise)."""
    parts = [(s.name, set(s.patients)) for s in (splits.train, splits.val, splits.test)]
    out = {}
    for i in range(len(parts)):
        for j in range(i + 1, len(parts)):
            common = sorted(parts[i][1] & parts[j][1])
            if common:
                out[(parts[i][0], parts[j][0])] = common
    return out


def show_patients(splits, check=None, lang: str = "en") -> None:
    """Patients per split, patient ids shared between splits, and what ``data.data_check`` found."""
    rows = split_count_rows(splits)
    cols = [("split", text(lang, "col_split")), ("images", text(lang, "col_images")),
            ("patients", text(lang, "col_patients"))]
    shared = shared_patients(splits)
    if shared:
        pairs = "; ".join(f"{a}/{b}: {len(p)} ({', '.join(p[:3])}{'...' if len(p) > 3 else ''})"
                          for (a, b), p in shared.items())
        verdict = text(lang, "leak_found", n=len({q for p in shared.values() for q in p}), pairs=pairs)
    else:
        verdict = text(lang, "leak_none")
    found = ""
    if check is not None:
        problems = [f"{severity.upper()}: {what}" for severity, what in check.problems]
        found = paragraph(text(lang, "check_problems" if problems else "check_ok"))
        if problems:
            found += "<ul>" + "".join(f"<li>{html.escape(p)}</li>" for p in problems) + "</ul>"
    _display_html(table_html(rows, cols, "patients", row_key=None) + paragraph(verdict) + found)


def show_samples(splits, n: int = 6, lang: str = "en") -> None:
    """The first ``n`` training images of each class (deterministic, so reruns show the same)."""
    from .. import plots

    images, titles = [], []
    for label, name in enumerate(CLASS_NAMES):
        idx = np.flatnonzero(np.asarray(splits.train.labels) == label)[:n]
        for i in idx:
            images.append(np.asarray(splits.train.load(int(i))))
            titles.append(f"{name}\n{splits.train.ids[int(i)]}")
    fig = plots.image_grid(images, titles, ncols=max(1, n))
    _display_html(img_html(png_bytes(fig), "sample images of both classes", "wide"))


def _evenly(n_total: int, n: int) -> np.ndarray:
    return np.unique(np.linspace(0, n_total - 1, num=min(n, n_total)).round().astype(int)) if n_total else \
        np.array([], dtype=int)


def _every_nth(values: np.ndarray, at_most: int) -> np.ndarray:
    return values[:: max(1, len(values) // at_most)]


def show_intensities(splits, lang: str = "en", per_class: int = 40) -> None:
    """Histograms of pixel values per class (training images, up to ``per_class`` each)."""
    from .. import plots

    pixels = {}
    labels = np.asarray(splits.train.labels)
    for label, name in enumerate(CLASS_NAMES):
        idx = np.flatnonzero(labels == label)
        # at most ~50k pixels per image: full-size X-rays have millions, the histogram needs far fewer
        pixels[name] = np.concatenate([_every_nth(np.asarray(splits.train.load(int(idx[k]))).ravel(), 50_000)
                                       for k in _evenly(len(idx), per_class)]) if len(idx) else np.array([])
    _display_html(img_html(png_bytes(plots.intensity_histograms(pixels)), "pixel intensity histograms"))


def _image_size(split, i: int) -> tuple[int, int]:
    """(width, height) of image i; files are not decoded, PIL reads the size from the header."""
    if getattr(split, "paths", None) is not None:
        from PIL import Image

        try:
            with Image.open(split.paths[i]) as img:
                return img.size
        except OSError:  # unreadable: load() raises the data module's own error for it
            pass
    return split.load(i).size


def show_sizes(splits, max_images: int = 300, lang: str = "en") -> None:
    from .. import plots

    rows = []
    for split in (splits.train, splits.val, splits.test):
        for k in _evenly(len(split), max_images):
            w, h = _image_size(split, int(k))
            rows.append({"split": split.name, "label": int(split.labels[k]), "width": w, "height": h})
    frame = pd.DataFrame(rows)
    _display_html(paragraph(text(lang, "sizes_sampled", n=len(frame), per_split=max_images))
                  + img_html(png_bytes(plots.size_distribution(frame)), "image size distribution"))


# ----------------------------------------------------------------------------------------------------
# notebook 03: the report


@dataclass
class Reference:
    """A result reported elsewhere (the earlier from-scratch CNN), shown beside the runs, never recomputed."""

    name: str
    accuracy: float
    loss: float


class Report:
    def __init__(self, runs: list[Run], lang: str = "en", reference: Reference | dict | None = None):
        if not runs:
            raise XrayError("no finished runs to report on", "train runs first: xray report, or notebooks 01/02")
        self.runs = runs
        self.lang = check_lang(lang)
        if isinstance(reference, dict):
            reference = Reference(**reference) if reference.get("name") else None
        self.reference = reference
        self._check_same_test_set()
        self._pairwise: pd.DataFrame | None = None

    @classmethod
    def load(cls, runs_root: str | Path | None = None, names: str | Sequence[str] = "", lang: str = "en",
             reference: Reference | dict | None = None) -> "Report":
        root = Path(runs_root).expanduser() if runs_root else default_project_dir() / "reports" / "runs"
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

    def t(self, key: str, **values) -> str:
        return text(self.lang, key, **values)

    def _check_same_test_set(self) -> None:
        first = self.runs[0]
        for run in self.runs[1:]:
            if list(run.predictions["id"]) != list(first.predictions["id"]):
                raise XrayError(f"runs {first.name} and {run.name} were tested on different images",
                                "compare runs trained on the same dataset and settings of the data")

    @property
    def names(self) -> list[str]:
        return [r.name for r in self.runs]

    def run(self, name: str) -> Run:
        return next(r for r in self.runs if r.name == name)

    def mode_label(self, mode: str) -> str:
        return self.t(f"mode_{mode}")

    # ---- header and settings ------------------------------------------------------------------
    def is_synthetic(self) -> bool:
        return any(r.config.dataset == "synthetic" for r in self.runs)

    def weights_sentence(self) -> str:
        transfer = [r for r in self.runs if r.config.mode != "scratch"] or self.runs
        used = {r.metrics.get("weights", r.config.resolved_weights) for r in transfer}
        if used == {"none"}:
            return self.t("weights_none")
        if used == {"imagenet"}:
            return self.t("weights_imagenet")
        if len(used) == 1:
            return self.t("weights_path", path=used.pop())
        return self.t("weights_mixed")

    def header_lines(self) -> list[str]:
        first = self.runs[0].metrics
        normal, pneumonia = _class_counts(self.runs[0].y)
        sources = list(dict.fromkeys(r.metrics.get("data_source", "") for r in self.runs))
        lines = [self.t("data_source", source="; ".join(sources)),
                 self.t("split_sizes", train=first["n"]["train"], val=first["n"]["val"], test=first["n"]["test"],
                        test_normal=normal, test_pneumonia=pneumonia),
                 self.weights_sentence()]
        if any(r.config.mode == "scratch" for r in self.runs):
            lines.append(self.t("scratch_note"))
        return lines

    def show_header(self) -> None:
        import torch

        parts = [f"<h1>{html.escape(self.t('title'))}</h1>", paragraph(self.t("subtitle"), "xray-note")]
        if self.is_synthetic():
            parts.append(f'<div class="xray-banner">{html.escape(self.t("synthetic_banner"))}</div>')
        parts += [paragraph(line) for line in self.header_lines()]
        devices = ", ".join(sorted({str(r.metrics.get("device", "?")) for r in self.runs}))
        parts.append(paragraph(self.t("generated_note"), "xray-note"))
        parts.append(paragraph(self.t("generated_at", date=time.strftime("%Y-%m-%d %H:%M"), version=__version__,
                                      torch=torch.__version__, device=devices), "xray-note"))
        _display_html("".join(parts))

    def settings_rows(self) -> list[dict]:
        rows = []
        for r in self.runs:
            c, m = r.config, r.metrics
            weights = m.get("weights", c.resolved_weights)
            rows.append({
                "run": r.name, "backbone": c.backbone, "mode": self.mode_label(c.mode),
                "weights": self.t(f"weights_{weights}_short") if weights in ("imagenet", "none") else weights,
                "dataset": c.dataset, "img_size": f"{c.img_size} / {c.resize_size}",
                "epochs": f"{m.get('epochs_run', c.epochs)} ({m.get('best_epoch', '?')})",
                "batch": c.batch_size, "lr": f"{c.lr:g}", "optimizer": c.optimizer, "scheduler": c.scheduler,
                "augment": self.t("yes") if c.augment else self.t("no"), "dropout": c.dropout, "seed": c.seed,
                "n": "{train} / {val} / {test}".format(**m["n"]),
                "train_time": fmt_seconds(m.get("train_seconds")),
            })
        return rows

    SETTING_KEYS = ("backbone", "mode", "weights", "dataset", "img_size", "batch", "lr", "optimizer", "scheduler",
                    "augment", "dropout", "seed", "n")

    def show_settings(self) -> None:
        """One column per setting that differs between runs; the shared ones in one sentence below."""
        rows = self.settings_rows()
        varying = [k for k in self.SETTING_KEYS if len({str(r[k]) for r in rows}) > 1]
        common = [k for k in self.SETTING_KEYS if k not in varying]
        keys = ["run", *varying, "epochs", "train_time"]
        cols = [(k, self.t(f"col_{k}")) for k in keys]
        shared = "; ".join(f"{self.t(f'col_{k}')} {rows[0][k]}" for k in common)
        _display_html(heading(self.t("h_settings"), 2, "settings") + table_html(rows, cols, "settings")
                      + (paragraph(self.t("common_settings", items=shared)) if common else ""))

    # ---- Task A -------------------------------------------------------------------------------
    def task_a_rows(self, device: str = "cpu") -> list[dict]:
        from .. import models

        rows = []
        for backbone in dict.fromkeys(r.config.backbone for r in self.runs):
            img = next(r.config.img_size for r in self.runs if r.config.backbone == backbone)
            facts = models.describe(backbone)
            row = {"backbone": backbone, "year": facts["year"], "params": facts["params"],
                   "head": facts["head_params"], "size_mb": facts["size_mb"], "top1": facts["imagenet_top1"],
                   "img": img, "description": description(self.lang, backbone, facts["description"]),
                   "paper": facts["paper"]}
            for mode in dict.fromkeys(r.config.mode for r in self.runs if r.config.backbone == backbone):
                row[f"trainable_{mode}"] = models.count_parameters(models.build_model(backbone, mode))[1]
            model = models.build_model(backbone, "finetune").eval()
            row["macs"] = models.flops_per_image(model, img)
            row["macs_224"] = models.flops_per_image(model, 224)
            row["latency_ms"] = 1000 * models.measure_latency(model, img, device)
            rows.append(row)
        return rows

    def show_task_a(self, device: str = "cpu") -> None:
        import torch

        if device == "cuda" and not torch.cuda.is_available():
            device = "cpu"
        rows = self.task_a_rows(device)
        modes = list(dict.fromkeys(r.config.mode for r in self.runs))
        img = rows[0]["img"]
        cols = [("backbone", self.t("col_backbone")), ("params", self.t("col_params"))]
        cols += [(f"trainable_{m}", self.t("col_trainable", mode=self.mode_label(m))) for m in modes]
        if "frozen" not in modes:  # what a frozen run would train
            cols.append(("head", self.t("col_head")))
        cols += [("macs", self.t("col_macs", img=img))] + ([("macs_224", self.t("col_macs_224"))] if img != 224 else [])
        cols += [("latency", self.t("col_latency")), ("size", self.t("col_size")), ("top1", self.t("col_top1"))]
        shown = []
        for r in rows:
            s = {k: fmt_int(v) for k, v in r.items() if k.startswith("trainable_")}
            s.update(backbone=r["backbone"], params=fmt_int(r["params"]), head=fmt_int(r["head"]),
                     macs=fmt_macs(r["macs"]), macs_224=fmt_macs(r["macs_224"]), latency=f"{r['latency_ms']:.2f}",
                     size=f"{r['size_mb']:.2f}", top1=f"{r['top1']:.2f}%")
            shown.append(s)
        parts = [heading(self.t("h_task_a"), 2, "task-a"),
                 paragraph(self.t("task_a_intro", img=img, device=_device_name(device))),
                 table_html(shown, cols, "task-a", row_key=None)]
        fastest = min(rows, key=lambda r: r["latency_ms"])
        smallest = min(rows, key=lambda r: r["size_mb"])
        if len(rows) > 1:
            parts.append(paragraph(self.t("fastest", backbone=fastest["backbone"], ms=f"{fastest['latency_ms']:.2f}",
                                          small=smallest["backbone"], mb=f"{smallest['size_mb']:.2f}")))
        for r in rows:
            parts.append(f"<p><b>{html.escape(r['backbone'])}</b> ({r['year']}): {html.escape(r['description'])} "
                         f'<span class="xray-note">({html.escape(r["paper"])})</span></p>')
        _display_html("".join(parts))

    # ---- Tasks B, C, D ------------------------------------------------------------------------
    def figure_paths(self, run: Run) -> tuple[Path, Path]:
        rd = RunDir(run.path)
        curves, confusion = rd.figures / "curves.png", rd.figures / "confusion.png"
        if not (curves.exists() and confusion.exists()):  # a run trained with `xray train`
            curves, confusion = run_figures(run.path)
        return curves, confusion

    def show_task_bc(self) -> None:
        parts = [heading(self.t("h_task_bc"), 2, "task-bc"), paragraph(self.t("task_bc_intro"))]
        for run in self.runs:
            curves, confusion = self.figure_paths(run)
            parts.append(heading(f"{run.name} ({self.mode_label(run.config.mode)})", 3))
            parts.append(run_figures_html(run.name, curves, confusion))
        _display_html("".join(parts))

    def show_task_d(self) -> None:
        from .. import plots

        curves = plots.curves_overlay({r.name: r.history for r in self.runs})
        rocpr = plots.roc_pr_overlay({r.name: (r.y, r.p) for r in self.runs})
        _display_html(heading(self.t("h_task_d"), 2, "task-d") + paragraph(self.t("task_d_intro"))
                      + img_html(png_bytes(curves), "training curves of all runs", "wide")
                      + img_html(png_bytes(rocpr), "ROC and precision-recall curves", "wide"))

    # ---- Task E -------------------------------------------------------------------------------
    def reference_row(self) -> dict | None:
        if self.reference is None:
            return None
        ref = self.reference
        return {"run": f"{ref.name} ({self.t('reference_note')})", "_reference": True,
                "accuracy": fmt_pct(ref.accuracy), "loss": fmt_num(ref.loss)}

    def task_e_rows(self, which: str = "test") -> list[dict]:
        rows = metric_rows(self.runs, which, self.lang)
        ref = self.reference_row()
        return rows + ([ref] if ref else [])

    def show_task_e(self) -> None:
        n = self.runs[0].metrics["test"]["n"]
        parts = [heading(self.t("h_task_e"), 2, "task-e"), paragraph(self.t("task_e_intro", n=n)),
                 heading(self.t("h_task_e_05"), 3),
                 table_html(self.task_e_rows("test"), metric_columns(self.lang), "task-e-05",
                            metric_cells=TABLE_METRICS),
                 heading(self.t("h_task_e_youden"), 3), paragraph(self.t("task_e_youden_intro")),
                 table_html(self.task_e_rows("test_youden"), metric_columns(self.lang, threshold=True),
                            "task-e-youden", metric_cells=TABLE_METRICS)]
        _display_html("".join(parts))

    # ---- statistics ---------------------------------------------------------------------------
    def pairwise(self) -> pd.DataFrame:
        """One row per pair of runs: McNemar p (raw, Holm), accuracy difference and its paired CI."""
        from .. import evaluate

        if self._pairwise is None:
            self._pairwise = evaluate.pairwise_comparisons({r.name: (r.y, r.p, 0.5) for r in self.runs})
        return self._pairwise

    def pair_sentences(self) -> list[str]:
        out = []
        for row in self.pairwise().itertuples(index=False):
            acc_a = self.run(row.a).metrics["test"]["accuracy"]
            acc_b = self.run(row.b).metrics["test"]["accuracy"]
            verdict = self.verdict(row.p_holm)
            out.append(self.t("pair_sentence", a=row.a, b=row.b, acc_a=fmt_pct(acc_a), acc_b=fmt_pct(acc_b),
                              diff=fmt_pp(row.diff), lo=fmt_pp(row.diff_lo), hi=fmt_pp(row.diff_hi),
                              p=fmt_p_is(row.p_holm), verdict=verdict))
        return out

    def show_statistics(self) -> None:
        from .. import plots

        parts = [heading(self.t("h_stats"), 2, "statistics")]
        if len(self.runs) < 2:
            _display_html("".join(parts) + paragraph(self.t("one_run")))
            return
        df = self.pairwise()
        parts.append(paragraph(self.t("stats_intro", n=self.runs[0].metrics["test"]["n"], m=len(df))))
        rows = [{"pair": f"{r.a} vs {r.b}", "diff": f"{fmt_pp(r.diff)} [{fmt_pp(r.diff_lo)}, {fmt_pp(r.diff_hi)}]",
                 "p_raw": fmt_p(r.p), "p_holm": fmt_p(r.p_holm),
                 "verdict": self.verdict(r.p_holm)}
                for r in df.itertuples(index=False)]
        cols = [(k, self.t(f"col_{k}")) for k in ("pair", "diff", "p_raw", "p_holm", "verdict")]
        parts.append(table_html(rows, cols, "pairwise", row_key=None))
        parts.append(img_html(png_bytes(plots.pvalue_matrix(df)), "McNemar p-value matrix (Holm)"))
        parts.append("<ul>" + "".join(f"<li>{html.escape(s)}</li>" for s in self.pair_sentences()) + "</ul>")
        _display_html("".join(parts))

    # ---- Grad-CAM -----------------------------------------------------------------------------
    def cases(self, per_kind: int = 2) -> list[str]:
        from .. import explain

        return explain.select_cases({r.name: r.predictions for r in self.runs}, per_kind=per_kind)

    def show_gradcam(self, per_kind: int = 2) -> None:
        from .. import explain, plots

        tables = {r.name: r.predictions for r in self.runs}
        ids = self.cases(per_kind)
        present = set(explain.case_kinds(tables, ids))
        kinds = self.t("list_sep").join(self.t(f"kind_{k}") for k in explain.KINDS if k in present)
        parts = [heading(self.t("h_gradcam"), 2, "gradcam"),
                 paragraph(self.t("gradcam_intro", n=len(ids), kinds=kinds))]
        ncols = min(4, len(ids))
        for run in self.runs:  # one grid per run, the images in the same order in each
            images, cams, probs = explain.compute_cams(run.path, ids)
            labels = run.predictions.set_index("id").loc[ids, "label"].to_numpy()
            titles = [f"{self.t('kind_' + explain.outcome(int(y), float(p)) + '_short')} p={p:.2f}\n"
                      f"{self.t('true_label', label=CLASS_NAMES[int(y)])}" for y, p in zip(labels, probs)]
            fig = plots.image_grid(list(images), titles, ncols=ncols, overlays=list(cams), suptitle=run.name)
            parts.append(img_html(png_bytes(fig), f"{run.name}: Grad-CAM", "figure", width=f"{15 * ncols}%"))
        _display_html("".join(parts))

    # ---- errors and calibration ---------------------------------------------------------------
    @staticmethod
    def confident_mistakes(run: Run, k: int) -> pd.DataFrame:
        """The ``k`` wrong test predictions (at 0.5) farthest from their true label's probability."""
        df = run.predictions.copy()
        wrong = df[df["prediction"] != df["label"]].copy()
        wrong["confidence"] = (wrong["p_pneumonia"] - wrong["label"]).abs()
        return wrong.sort_values(["confidence", "id"], ascending=[False, True]).head(k)

    def show_errors(self, k: int = 6) -> None:
        from .. import explain, plots

        parts = [heading(self.t("h_errors"), 2, "errors"), paragraph(self.t("errors_intro", k=k))]
        for run in self.runs:
            wrong = self.confident_mistakes(run, k)
            parts.append(heading(run.name, 3))
            if wrong.empty:
                parts.append(paragraph(self.t("no_mistakes", run=run.name)))
                continue
            images = explain.test_images(run.config, list(wrong["id"]))
            titles = [f"{self.t('true_label', label=CLASS_NAMES[int(y)])}\n{self.t('p_label', p=f'{p:.2f}')}"
                      for y, p in zip(wrong["label"], wrong["p_pneumonia"])]
            fig = plots.image_grid(list(images), titles, ncols=k)
            parts.append(img_html(png_bytes(fig), f"{run.name}: most confident mistakes", "figure",
                                  width=f"{100 * len(wrong) / k:.0f}%"))
        _display_html("".join(parts))

    def calibration_rows(self, bins: int = 10) -> list[dict]:
        from .. import evaluate

        rows = []
        for run in self.runs:
            c = evaluate.calibration(run.y, run.p, n_bins=bins)
            rows.append({"run": run.name, "brier": float(c["brier"]), "ece": float(c["ece"])})
        return rows

    def show_calibration(self, bins: int = 10) -> None:
        from .. import plots

        rows = self.calibration_rows(bins)
        shown = [{"run": r["run"], "brier": fmt_num(r["brier"]), "ece": fmt_num(r["ece"])} for r in rows]
        cols = [("run", self.t("col_run")), ("brier", self.t("col_brier")), ("ece", self.t("col_ece"))]
        fig = plots.reliability({r.name: (r.y, r.p) for r in self.runs})
        _display_html(heading(self.t("h_calibration"), 2, "calibration")
                      + paragraph(self.t("calibration_intro", bins=bins))
                      + table_html(shown, cols, "calibration")
                      + img_html(png_bytes(fig), "reliability diagram")
                      + paragraph(self.calibration_sentence(rows)))

    def calibration_sentence(self, rows: list[dict]) -> str:
        best = min(rows, key=lambda r: (r["ece"], r["run"]))
        worst = max(rows, key=lambda r: (r["ece"], r["run"]))
        return self.t("calibration_best", run=best["run"], ece=fmt_num(best["ece"]), brier=fmt_num(best["brier"]),
                      worst=worst["run"], worst_ece=fmt_num(worst["ece"]))

    # ---- findings -----------------------------------------------------------------------------
    def best_run_sentences(self, metric: str, lower_is_better: bool = False) -> list[str]:
        """Who is best on ``metric`` (test, 0.5), and whether the lead exceeds the 95% intervals."""
        def value(r: Run) -> float:
            return r.metrics["test"][metric]

        def ci(r: Run) -> list[float]:
            return r.metrics["test"].get("ci", {}).get(metric) or [np.nan, np.nan]

        ranked = sorted(self.runs, key=lambda r: (value(r) if lower_is_better else -value(r), r.name))
        best = ranked[0]
        label = self.t(f"metric_{metric}")
        tied = [r.name for r in ranked if fmt_metric(metric, value(r)) == fmt_metric(metric, value(best))]
        if len(tied) > 1:
            return [self.t("tie", runs=self.t("list_sep").join(tied), metric=label,
                           value=fmt_metric(metric, value(best)))]
        lo, hi = ci(best)
        key = "best_lowest_loss" if lower_is_better else "best_metric"
        out = [self.t(key, metric=label, run=best.name, value=fmt_metric(metric, value(best)),
                      lo=fmt_metric(metric, lo), hi=fmt_metric(metric, hi))]
        second = ranked[1]
        lo2, hi2 = ci(second)
        separated = (lo > hi2) if not lower_is_better else (hi < lo2)
        out.append(self.t("lead_exceeds" if separated else "lead_within", run=second.name,
                          value=fmt_metric(metric, value(second)), lo=fmt_metric(metric, lo2),
                          hi=fmt_metric(metric, hi2)))
        if metric == "accuracy":  # accuracy also has the paired test, more sensitive than overlapping CIs
            out.append(self.paired_sentence(best.name, second.name))
        return [" ".join(out)]

    def verdict(self, p_holm: float) -> str:
        return self.t("significant" if p_holm < ALPHA else "not_significant")

    def pair(self, a: str, b: str) -> tuple[pd.Series, int]:
        """The pairwise row of runs ``a`` and ``b`` and the sign that makes its difference a minus b."""
        df = self.pairwise()
        row = df[(df["a"] == a) & (df["b"] == b)]
        if not row.empty:
            return row.iloc[0], 1
        return df[(df["a"] == b) & (df["b"] == a)].iloc[0], -1  # stored the other way round

    def paired_sentence(self, a: str, b: str) -> str:
        r, sign = self.pair(a, b)
        lo, hi = sorted((sign * r["diff_lo"], sign * r["diff_hi"]))
        return self.t("lead_paired", run=a, second=b, diff=fmt_pp(sign * r["diff"]), lo=fmt_pp(lo), hi=fmt_pp(hi),
                      p=fmt_p_is(r["p_holm"]), verdict=self.verdict(r["p_holm"]))

    def mode_sentences(self) -> list[str]:
        """Per backbone, each pair of modes (fine-tune vs frozen, ...) with the paired test's verdict."""
        out = []
        for backbone in dict.fromkeys(r.config.backbone for r in self.runs):
            same = [r for r in self.runs if r.config.backbone == backbone]
            for i in range(len(same)):
                for j in range(i + 1, len(same)):
                    a, b = same[i], same[j]
                    p = float(self.pair(a.name, b.name)[0]["p_holm"])
                    verdict = f"{self.verdict(p)}, {fmt_p_is(p)}"
                    out.append(self.t("mode_effect", backbone=backbone, mode_a=self.mode_label(a.config.mode),
                                      mode_b=self.mode_label(b.config.mode),
                                      acc_a=fmt_pct(a.metrics["test"]["accuracy"]),
                                      acc_b=fmt_pct(b.metrics["test"]["accuracy"]), verdict=verdict))
        return out

    def reference_sentence(self) -> str | None:
        if self.reference is None:
            return None
        ref = self.reference
        accs = [r.metrics["test"]["accuracy"] for r in self.runs]
        los = [(r.metrics["test"].get("ci", {}).get("accuracy") or [np.nan])[0] for r in self.runs]
        return self.t("reference_compare", ref=fmt_pct(ref.accuracy), ref_loss=fmt_num(ref.loss),
                      above=sum(a > ref.accuracy for a in accs), n=len(accs),
                      sure=sum(lo > ref.accuracy for lo in los))

    def youden_sentence(self) -> str:
        shifts = [r.metrics["test_youden"]["sensitivity"] - r.metrics["test"]["sensitivity"] for r in self.runs]
        return self.t("youden_shift", lo=fmt_pp(min(shifts)), hi=fmt_pp(max(shifts)))

    def findings(self) -> list[str]:
        if len(self.runs) < 2:
            out = [self.t("one_run")]
        else:
            out = []
            for metric in FINDING_METRICS:
                out += self.best_run_sentences(metric)
            out += self.best_run_sentences("loss", lower_is_better=True)
            df = self.pairwise()
            out.append(self.t("pair_summary", k=int((df["p_holm"] < ALPHA).sum()), m=len(df)))
            out += self.mode_sentences()
        ref = self.reference_sentence()
        if ref:
            out.append(ref)
        out.append(self.youden_sentence())
        return out

    def show_findings(self) -> None:
        items = "".join(f"<li>{html.escape(s)}</li>" for s in self.findings())
        banner = (f'<div class="xray-banner">{html.escape(self.t("synthetic_banner"))}</div>'
                  if self.is_synthetic() else "")
        _display_html(heading(self.t("h_findings"), 2, "findings") + banner
                      + f'<ul class="xray-findings">{items}</ul>')


def _device_name(device: str) -> str:
    import platform

    import torch

    if device.startswith("cuda") and torch.cuda.is_available():
        return torch.cuda.get_device_name(0)
    return f"CPU, {platform.processor() or platform.machine()}, {torch.get_num_threads()} threads"
