"""The report pipeline: run the numbered notebooks headless, then render reports/report.html and .pdf.

    00_data_exploration          -> <out>/00_data_exploration.ipynb
    01 / 02 per (backbone, mode) -> <out>/runs/<backbone>-<mode>/ (run artifacts + the executed notebook)
    03_task_d_e_analysis         -> <out>/03_task_d_e_analysis.ipynb, over exactly the grid's runs
    nbconvert (code hidden)      -> <out>/report.html, one self-contained file (figures are base64 PNGs)
    headless Chromium            -> <out>/report.pdf (skipped, and said so, where no browser is installed)

Each notebook is executed by papermill with injected parameters, so what the report shows is what a
person gets by opening the notebook in JupyterLab and running it. A complete run with the same settings
is reused (``force`` retrains it); an unfinished one is executed again and ``train.fit`` resumes it.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from . import atomic
from .config import BACKBONES, DATASETS, MODES, RunConfig, default_project_dir
from .errors import ConfigError, DataError, XrayError
from .report_text import LANGS, text
from .runs import RunDir

NOTEBOOK_DATA = "00_data_exploration.ipynb"
NOTEBOOK_FINETUNE = "01_task_b_finetune.ipynb"
NOTEBOOK_FROZEN = "02_task_c_feature_extractor.ipynb"
NOTEBOOK_ANALYSIS = "03_task_d_e_analysis.ipynb"
# scratch is the fine-tuning notebook started from random weights (the control for "does ImageNet help?")
NOTEBOOK_FOR_MODE = {"finetune": NOTEBOOK_FINETUNE, "scratch": NOTEBOOK_FINETUNE, "frozen": NOTEBOOK_FROZEN}

DEFAULT_BACKBONES = ("resnet18", "squeezenet1_1")
DEFAULT_MODES = ("finetune", "frozen")
DEFAULT_KERNEL = "cxr-transfer"  # registered by make (see Makefile); the notebooks name it

# `xray demo`: the whole pipeline on synthetic phantoms, offline, in a couple of minutes on two CPU cores.
DEMO_SETTINGS = dict(dataset="synthetic", img_size=56, epochs=8, weights="none")
DEMO_EXTRA = {"synthetic_train": 200, "synthetic_test": 100, "lr": 1e-3, "batch_size": 32, "num_workers": 0}

BROWSERS = ("/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome")
BROWSER_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage",  # containers give /dev/shm 64 MB, too little for a long page
)


def notebooks_dir() -> Path:
    return default_project_dir() / "notebooks"


# ----------------------------------------------------------------------------------------------------
# settings shared by the notebooks and the pipeline (both must build the very same RunConfig)


def resolve_dataset(dataset: str | None, data_dir: str | None) -> tuple[str, str | None]:
    """("folder" | "pneumoniamnist" | "synthetic", data_dir) for ``dataset`` None/"auto".

    The homework's folder (``data/chest_xray``, the Kaggle layout) when it exists, else PneumoniaMNIST,
    which ``data`` downloads into ``data/`` (or finds there).
    """
    if dataset not in (None, "", "auto"):
        return dataset, data_dir
    if data_dir:
        p = Path(data_dir).expanduser()
        npz = p.suffix == ".npz" or (p.is_dir() and any(p.glob("*.npz")))
        return ("pneumoniamnist" if npz else "folder"), data_dir
    folder = default_project_dir() / "data" / "chest_xray"
    if folder.is_dir():
        return "folder", str(folder)
    return "pneumoniamnist", None


def parse_extra(extra_config: str | dict | None) -> dict:
    """The notebooks' ``extra_config`` parameter: a JSON object of further RunConfig fields."""
    if extra_config in (None, ""):
        return {}
    if isinstance(extra_config, dict):
        return dict(extra_config)
    try:
        extra = json.loads(extra_config)
    except json.JSONDecodeError as e:
        raise ConfigError(f"extra_config is not valid JSON: {e}",
                          'pass a JSON object, e.g. \'{"scheduler": "cosine", "class_weights": true}\'') from None
    if not isinstance(extra, dict):
        raise ConfigError(f"extra_config must be a JSON object of settings, got {extra_config!r}")
    return extra


def run_config(backbone: str = "resnet18", mode: str = "finetune", dataset: str | None = "auto",
               data_dir: str | None = None, epochs: int | None = None, img_size: int | None = None,
               weights: str | None = None, batch_size: int | None = None, lr: float | None = None,
               seed: int | None = None, extra_config: str | dict | None = None) -> RunConfig:
    """The RunConfig of one notebook run; None keeps RunConfig's (the homework's) default."""
    dataset, data_dir = resolve_dataset(dataset, data_dir)
    settings = dict(backbone=backbone, mode=mode, dataset=dataset, data_dir=data_dir, epochs=epochs,
                    img_size=img_size, weights=weights, batch_size=batch_size, lr=lr, seed=seed)
    d = {k: v for k, v in settings.items() if v is not None}
    # absolute paths: the kernel that runs a notebook works in notebooks/, not where the command was typed
    if d.get("weights") not in (None, "imagenet", "none"):
        d["weights"] = str(Path(d["weights"]).expanduser().resolve())
    if d.get("data_dir"):
        d["data_dir"] = str(Path(d["data_dir"]).expanduser().resolve())
    d.update(parse_extra(extra_config))
    return RunConfig.from_dict({**RunConfig().to_dict(), **d}, source="notebook parameters")


def default_run_dir(cfg: RunConfig) -> Path:
    return default_project_dir() / "reports" / "runs" / cfg.run_name


# ----------------------------------------------------------------------------------------------------
# checks made before anything long starts


def check_kernel(kernel: str) -> None:
    """The Jupyter kernel exists and its Python can import this package."""
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    manager = KernelSpecManager()
    try:
        spec = manager.get_kernel_spec(kernel)
    except NoSuchKernel:
        known = ", ".join(sorted(manager.find_kernel_specs())) or "none"
        raise XrayError(
            f"Jupyter kernel {kernel!r} not found (installed kernels: {known})",
            f"install it into the project's environment: .venv/bin/python -m ipykernel install --sys-prefix "
            f"--name {kernel} (make does this), or pass --kernel NAME",
        ) from None
    python = spec.argv[0] if spec.argv else ""
    if spec.language.lower() != "python" or not python:
        raise XrayError(f"Jupyter kernel {kernel!r} runs {spec.language}, not Python",
                        "pass --kernel with a Python kernel of this project's environment")
    probe = subprocess.run([python, "-c", "import xray_utils"], capture_output=True, text=True)
    if probe.returncode != 0:
        raise XrayError(
            f"Jupyter kernel {kernel!r} runs {python}, which cannot import xray_utils",
            f"install the kernel from this project's .venv: .venv/bin/python -m ipykernel install "
            f"--sys-prefix --name {kernel} (make does this)",
        )


def check_parameters(notebook: Path, parameters: dict) -> None:
    """Every injected parameter exists in the notebook's `parameters` cell (papermill would add it silently)."""
    import papermill

    if not notebook.exists():
        raise XrayError(f"notebook not found: {notebook}", "run from a complete checkout of the project")
    known = papermill.inspect_notebook(str(notebook))
    unknown = sorted(set(parameters) - set(known))
    if unknown:
        raise ConfigError(
            f"{notebook.name} has no parameter(s) {', '.join(unknown)}",
            f"its parameters are: {', '.join(known)}",
        )


def check_data_and_weights(cfgs: list[RunConfig]) -> str:
    """Load the splits and the pretrained weights once, before hours of training; return the data source."""
    from . import data, weights

    try:
        splits = data.load_splits(cfgs[0])
    except DataError as e:
        if cfgs[0].dataset == "synthetic" or "README" in (e.hint or ""):
            raise
        raise DataError(
            f"no usable data: {e.message}",
            (e.hint + "; " if e.hint else "") + "see data/README.md for where to put the Kaggle folder or "
            "the PneumoniaMNIST file, pass --data-dir PATH, or try `make demo` (offline, synthetic)",
        ) from None
    for backbone in sorted({c.backbone for c in cfgs if c.resolved_weights != "none"}):
        weights.resolve_state_dict(backbone, next(c for c in cfgs if c.backbone == backbone).resolved_weights)
    return splits.source


def check_reusable(cfg: RunConfig, run_dir: Path, force: bool) -> bool:
    """True when ``run_dir`` already holds this run, finished; refuse a run with other settings."""
    rd = RunDir(run_dir)
    if force or not rd.config.exists():
        return False
    try:
        old = rd.saved_config()
    except ConfigError as e:
        raise ConfigError(f"{run_dir} holds a run whose config.json cannot be read ({e.message})",
                          "pass --force to retrain it, or choose another --out") from None
    if old.identity() != cfg.identity():
        a, b = old.identity(), cfg.identity()
        diff = ", ".join(f"{k}: {a.get(k)!r} -> {b.get(k)!r}" for k in sorted(a) if a.get(k) != b.get(k))
        raise ConfigError(f"{run_dir} holds a run with other settings ({diff})",
                          "pass --force to retrain it with the new settings, or choose another --out")
    return rd.is_complete()


# ----------------------------------------------------------------------------------------------------
# executing notebooks


class _LineWriter(io.TextIOBase):
    """A file-like object papermill streams cell output into; whole lines go to ``log``, indented."""

    def __init__(self, log: Callable[[str], None]):
        self.log, self.buffer = log, ""

    def write(self, text: str) -> int:
        self.buffer += text.replace("\r", "\n")
        *lines, self.buffer = self.buffer.split("\n")
        for line in lines:
            if line.strip():
                self.log(f"    {line}")
        return len(text)

    def flush(self) -> None:
        pass  # papermill flushes after every write; a partial line waits for its end

    def finish(self) -> None:
        if self.buffer.strip():
            self.log(f"    {self.buffer}")
        self.buffer = ""


def execute_notebook(notebook: Path, output: Path, parameters: dict, kernel: str, log: Callable[[str], None],
                     cwd: Path | None = None) -> Path:
    """Execute ``notebook`` with papermill into ``output``; a failing cell becomes an XrayError."""
    import papermill
    from papermill.exceptions import PapermillExecutionError

    check_parameters(notebook, parameters)
    output.parent.mkdir(parents=True, exist_ok=True)
    stream = _LineWriter(log)
    t0 = time.perf_counter()
    try:
        papermill.execute_notebook(
            str(notebook), str(output), parameters=parameters, kernel_name=kernel,
            cwd=str(cwd or notebook.parent), progress_bar=False, log_output=False,
            stdout_file=stream, stderr_file=stream, request_save_on_cell_execute=True,
            # ipykernel 7 warns on every start that its local TCP sockets are unencrypted: not news here
            extra_arguments=["--IPKernelApp.log_level=ERROR"],
        )
    except PapermillExecutionError as e:
        raise notebook_error(notebook, output, e.exec_count, e.ename, e.evalue) from None
    except Exception as e:  # the kernel died (out of memory, killed) or could not start
        if isinstance(e, XrayError):
            raise
        raise XrayError(f"{notebook.name} could not run to the end: {type(e).__name__}: {e}",
                        f"the executed notebook so far is {output}") from None
    finally:
        stream.finish()
    log(f"    ({notebook.name} ran in {time.perf_counter() - t0:.1f} s)")
    return output


def notebook_error(notebook: Path, output: Path, exec_count: Any, ename: str, evalue: str) -> XrayError:
    """The failing cell's error, as an XrayError; a notebook's own XrayError keeps its fix hint."""
    message, _, hint = str(evalue).partition("\n  fix: ")
    where = f"the executed notebook, with the traceback, is {output}"
    return XrayError(f"{notebook.name} failed in cell [{exec_count}]: {ename}: {message}",
                     f"{hint}; {where}" if hint else where)


# ----------------------------------------------------------------------------------------------------
# HTML and PDF

# lab's template without the CDN scripts (require.js, MathJax, mermaid): the report uses none of them, and
# it must be one file that opens offline.
_REPORT_TEMPLATE = """{%- extends 'index.html.j2' -%}
{%- block html_head_js -%}{%- endblock html_head_js -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
"""


def render_html(executed: Path, target: Path, lang: str = "en", title: str | None = None) -> Path:
    """nbconvert the executed analysis notebook: outputs only (code and the notebook's own notes hidden)."""
    import nbformat
    from jinja2 import DictLoader
    from nbconvert import HTMLExporter

    nb = nbformat.read(executed, as_version=4)
    for cell in nb.cells:  # warnings on stderr belong in the executed notebook, not in the report
        if cell.cell_type == "code":
            cell.outputs = [o for o in cell.outputs if not (o.output_type == "stream" and o.name == "stderr")]
    exporter = HTMLExporter(
        template_name="lab", extra_loaders=[DictLoader({"xray_report.html.j2": _REPORT_TEMPLATE})],
        template_file="xray_report.html.j2", exclude_input=True, exclude_input_prompt=True,
        exclude_output_prompt=True, exclude_markdown=True, embed_images=True,
    )
    body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": title or executed.stem}})
    # nbconvert accepts only ISO 639-1 codes ("zh"); the page says which Chinese it is (zh-TW)
    body, n = re.subn(r'<html lang="[^"]*">', f'<html lang="{lang}">', body, count=1)
    if n != 1:
        raise XrayError("nbconvert's HTML template has changed: no <html lang=...> found",
                        "pin nbconvert to the version in requirements.txt")
    atomic.write_text(target, body)
    return target


def find_browser() -> str | None:
    """A Chromium-family browser already installed (never downloaded)."""
    for name in BROWSERS:
        path = name if os.path.isabs(name) and os.access(name, os.X_OK) else shutil.which(name)
        if path:
            return path
    return None


def browser_command(browser: str, profile: str, *extra: str) -> list[str]:
    return [browser, *BROWSER_FLAGS, f"--user-data-dir={profile}", *extra]


def print_pdf(html: Path, target: Path, browser: str, timeout: float = 300) -> Path:
    """Print ``html`` to ``target`` with headless Chromium (the same engine people view the report in)."""
    with tempfile.TemporaryDirectory(prefix="xray-chromium-") as profile, \
            atomic.atomic_path(target, suffix=".pdf") as tmp:
        cmd = browser_command(browser, profile, f"--print-to-pdf={tmp}", "--no-pdf-header-footer",
                              html.resolve().as_uri())
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise XrayError(f"{browser} did not finish printing {html} within {timeout:.0f} s",
                            "open report.html in a browser and print it, or pass --no-pdf") from None
        if not tmp.exists() or tmp.stat().st_size == 0 or not tmp.read_bytes().startswith(b"%PDF"):
            tail = "\n".join((proc.stderr or "").strip().splitlines()[-5:])
            raise XrayError(f"{browser} did not write a PDF of {html} (exit code {proc.returncode}): {tail}",
                            "open report.html in a browser and print it, or pass --no-pdf")
    return target


# ----------------------------------------------------------------------------------------------------
# the grid


@dataclass
class RunPlan:
    name: str
    cfg: RunConfig
    notebook: Path
    run_dir: Path
    parameters: dict

    @property
    def executed(self) -> Path:
        return self.run_dir / self.notebook.name


@dataclass
class ReportResult:
    out: Path
    html: Path
    pdf: Path | None
    runs: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0


def _split_list(value: str | list | tuple | None, default: tuple, allowed: tuple, what: str) -> list[str]:
    if value is None or value == "":
        return list(default)
    items = [v.strip() for v in value.split(",")] if isinstance(value, str) else [str(v) for v in value]
    items = [v for v in items if v]
    bad = [v for v in items if v not in allowed]
    if bad or not items:
        raise ConfigError(f"unknown {what} {', '.join(bad) or '(empty)'}", f"use some of: {', '.join(allowed)}")
    return list(dict.fromkeys(items))  # keep order, drop repeats


def plan_runs(backbones, modes, with_scratch: bool, out: Path, settings: dict, extra: dict,
              force: bool, lang: str) -> list[RunPlan]:
    backbones = _split_list(backbones, DEFAULT_BACKBONES, BACKBONES, "backbone(s)")
    modes = _split_list(modes, DEFAULT_MODES, MODES, "mode(s)")
    if with_scratch and "scratch" not in modes:
        modes.append("scratch")
    extra_json = json.dumps(extra, sort_keys=True)
    plans = []
    for backbone in backbones:
        for mode in modes:
            # the control trains from random weights whatever --weights says for the transfer runs
            weights = "none" if mode == "scratch" else settings["weights"]
            cfg = run_config(backbone=backbone, mode=mode, dataset=settings["dataset"],
                             data_dir=settings["data_dir"], epochs=settings["epochs"],
                             img_size=settings["img_size"], weights=weights, extra_config=extra)
            run_dir = (out / "runs" / cfg.run_name).resolve()
            parameters = dict(backbone=backbone, mode=mode, dataset=cfg.dataset, data_dir=cfg.data_dir,
                              epochs=cfg.epochs, img_size=cfg.img_size, weights=cfg.resolved_weights,
                              batch_size=cfg.batch_size, lr=cfg.lr, seed=cfg.seed, run_dir=str(run_dir),
                              force=force, lang=lang, extra_config=extra_json)
            plans.append(RunPlan(cfg.run_name, cfg, notebooks_dir() / NOTEBOOK_FOR_MODE[mode], run_dir, parameters))
    return plans


def build_report(backbones: str | list[str] | None = None, modes: str | list[str] | None = None,
                 with_scratch: bool = False, dataset: str | None = None, data_dir: str | None = None,
                 img_size: int | None = None, epochs: int | None = None, weights: str | None = None,
                 lang: str = "en", extra: dict | None = None, force: bool = False,
                 out: str | Path | None = None, kernel: str = DEFAULT_KERNEL, pdf: bool = True,
                 reference: dict | None = None, log: Callable[[str], None] = print) -> ReportResult:
    """Run 00, the grid of (backbone, mode) runs, and 03; render report.html (+ report.pdf).

    ``extra``: further RunConfig fields for every run (e.g. {"scheduler": "cosine"}); ``reference``:
    overrides of 03's reference-row parameters (reference_name, reference_accuracy, reference_loss).
    """
    t0 = time.perf_counter()
    if lang not in LANGS:
        raise ConfigError(f"unknown report language {lang!r}", f"use one of: {', '.join(LANGS)}")
    if dataset not in (None, "", "auto") and dataset not in DATASETS:
        raise ConfigError(f"unknown dataset {dataset!r}", f"use one of: {', '.join(DATASETS)}")
    out = Path(out).expanduser() if out else default_project_dir() / "reports"
    dataset, data_dir = resolve_dataset(dataset, data_dir)
    settings = dict(dataset=dataset, data_dir=data_dir, img_size=img_size, epochs=epochs,
                    weights=weights or "imagenet")
    extra = {"progress": False, **(extra or {})}  # the executed notebooks keep epoch lines, not bars
    plans = plan_runs(backbones, modes, with_scratch, out, settings, extra, force, lang)

    base = plans[0].cfg
    data_parameters = dict(dataset=base.dataset, data_dir=base.data_dir, img_size=base.img_size,
                           seed=base.seed, lang=lang, extra_config=json.dumps(extra, sort_keys=True))
    analysis_parameters = dict(runs_root=str((out / "runs").resolve()), runs=",".join(p.name for p in plans),
                               lang=lang, **(reference or {}))
    notebooks = notebooks_dir()
    # the cheap checks first, then the data and weights (which may download), then hours of training
    check_kernel(kernel)
    for nb, params in ((NOTEBOOK_DATA, data_parameters), (NOTEBOOK_ANALYSIS, analysis_parameters),
                       *((p.notebook.name, p.parameters) for p in plans)):
        check_parameters(notebooks / nb, params)
    reuse = {p.name: check_reusable(p.cfg, p.run_dir, force) for p in plans}
    source = check_data_and_weights([p.cfg for p in plans])
    log(f"data: {source}")
    log(f"runs: {', '.join(p.name for p in plans)} -> {out / 'runs'}")

    total = len(plans) + 2
    log(f"[1/{total}] data exploration ({NOTEBOOK_DATA})")
    execute_notebook(notebooks / NOTEBOOK_DATA, out / NOTEBOOK_DATA, data_parameters, kernel, log)
    for i, plan in enumerate(plans, start=2):
        figures = [plan.run_dir / "figures" / f for f in ("curves.png", "confusion.png")]
        if reuse[plan.name] and plan.executed.exists() and all(f.exists() for f in figures):
            log(f"[{i}/{total}] {plan.name}: complete with these settings, reused (--force retrains it)")
            continue
        state = "resuming" if RunDir(plan.run_dir).last_checkpoint.exists() and not force else "training"
        log(f"[{i}/{total}] {plan.name}: {state} ({plan.notebook.name} -> {plan.run_dir})")
        execute_notebook(plan.notebook, plan.executed, plan.parameters, kernel, log)
        if not RunDir(plan.run_dir).is_complete():
            raise XrayError(f"{plan.notebook.name} finished but {plan.run_dir} has no COMPLETE marker",
                            f"see the executed notebook {plan.executed}")
    log(f"[{total}/{total}] analysis ({NOTEBOOK_ANALYSIS})")
    executed = execute_notebook(notebooks / NOTEBOOK_ANALYSIS, out / NOTEBOOK_ANALYSIS, analysis_parameters,
                                kernel, log)

    result = ReportResult(out=out, html=out / "report.html", pdf=None, runs=[p.run_dir for p in plans])
    render_html(executed, result.html, lang=lang, title=text(lang, "title"))
    log(f"report: {result.html}")
    stale = out / "report.pdf"
    browser = find_browser() if pdf else None
    if (not pdf or browser is None) and stale.exists():
        stale.unlink()  # it showed an earlier build; an outdated PDF beside the new HTML would mislead
        log(f"removed the outdated {stale}")
    if pdf:
        if browser is None:
            note = ("no PDF: no Chromium-family browser found (looked for " + ", ".join(BROWSERS) +
                    "); install one (Debian: apt-get install chromium) or print report.html from a browser")
            result.notes.append(note)
            log(note)
        else:
            result.pdf = print_pdf(result.html, out / "report.pdf", browser)
            log(f"report: {result.pdf}")
    result.seconds = time.perf_counter() - t0
    # what this report is, for people and for `xray demo` (which must never replace a report on real data)
    atomic.write_json(out / "report.json", {
        "dataset": dataset, "data_source": source, "synthetic": dataset == "synthetic",
        "runs": [p.name for p in plans], "lang": lang, "html": result.html.name,
        "pdf": result.pdf.name if result.pdf else None, "seconds": round(result.seconds, 1),
        "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    })
    log(f"done in {result.seconds:.0f} s")
    return result


def demo(out: str | Path | None = None, force: bool = False, lang: str = "en", kernel: str = DEFAULT_KERNEL,
         pdf: bool = True, log: Callable[[str], None] = print, **options: Any) -> ReportResult:
    """The whole report offline on synthetic phantoms with random initial weights (a few minutes on CPU).

    Runs go to reports/demo/ by default, so a demo never mixes with (or is refused by) a real report's runs;
    its report.html and report.pdf are then published to reports/ (see publish_demo).
    """
    settings = {**DEMO_SETTINGS, **{k: v for k, v in options.items() if k in DEMO_SETTINGS and v is not None}}
    extra = {**DEMO_EXTRA, **(options.pop("extra", None) or {})}
    rest = {k: v for k, v in options.items() if k not in DEMO_SETTINGS}
    reports = default_project_dir() / "reports"
    result = build_report(out=Path(out).expanduser() if out else reports / "demo", force=force, lang=lang,
                          kernel=kernel, pdf=pdf, log=log, extra=extra, **settings, **rest)
    if out is None:
        publish_demo(result, reports, log)
    return result


def publish_demo(result: ReportResult, reports: Path, log: Callable[[str], None] = print) -> bool:
    """Copy the demo's report.html/.pdf to reports/, unless reports/ holds a report on real data.

    The demo's runs stay in reports/demo/ (so they never collide with real runs in reports/runs/); only
    the rendered files are published, replacing an earlier demo's but never a real report.
    """
    meta = reports / "report.json"
    if (reports / "report.html").exists():
        try:
            previous = json.loads(meta.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            previous = {}
        if previous.get("synthetic") is not True:
            log(f"kept {reports / 'report.html'} (not a demo report); the demo's report is {result.html}")
            return False
    atomic.write_bytes(reports / "report.html", result.html.read_bytes())
    log(f"report: {reports / 'report.html'} (copy of {result.html})")
    if result.pdf is not None:
        atomic.write_bytes(reports / "report.pdf", result.pdf.read_bytes())
        log(f"report: {reports / 'report.pdf'}")
    elif (reports / "report.pdf").exists():
        (reports / "report.pdf").unlink()  # an earlier demo's PDF would not match the new HTML
    atomic.write_bytes(meta, (result.out / "report.json").read_bytes())
    return True


# ----------------------------------------------------------------------------------------------------
# command line (wired into `xray report` and `xray demo` by cli.py)


def _common_arguments(parser: argparse.ArgumentParser, out_default: str) -> None:
    parser.add_argument("--backbones", metavar="A,B", help=f"default {','.join(DEFAULT_BACKBONES)}")
    parser.add_argument("--modes", metavar="A,B", help=f"default {','.join(DEFAULT_MODES)} (of {', '.join(MODES)})")
    parser.add_argument("--with-scratch", action="store_true",
                        help="add a from-scratch control run (random weights) per backbone")
    parser.add_argument("--img-size", type=int, metavar="N", help="crop size; resize scales with it")
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--lang", choices=LANGS, default="en", help="report language")
    parser.add_argument("--extra-config", metavar="JSON", default=None,
                        help='further settings for every run, e.g. \'{"scheduler": "cosine"}\'')
    parser.add_argument("--force", action="store_true", help="retrain runs that are already complete")
    parser.add_argument("--out", metavar="DIR", default=None, help=f"output folder (default {out_default})")
    parser.add_argument("--kernel", default=DEFAULT_KERNEL, help="Jupyter kernel that runs the notebooks")
    parser.add_argument("--no-pdf", dest="pdf", action="store_false", help="write report.html only")


def add_report_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dataset", choices=DATASETS,
                        help="default: data/chest_xray when present, else PneumoniaMNIST (downloaded)")
    parser.add_argument("--data-dir", metavar="PATH", help="data folder, npz file or folder")
    parser.add_argument("--weights", metavar="{imagenet,none,PATH}", help="default imagenet")
    _common_arguments(parser, "reports")


def add_demo_arguments(parser: argparse.ArgumentParser) -> None:
    _common_arguments(parser, "reports/demo")


def _options(args: argparse.Namespace) -> dict:
    return dict(backbones=args.backbones, modes=args.modes, with_scratch=args.with_scratch,
                img_size=args.img_size, epochs=args.epochs, lang=args.lang, extra=parse_extra(args.extra_config),
                force=args.force, out=args.out, kernel=args.kernel, pdf=args.pdf)


def run_from_args(args: argparse.Namespace) -> int:
    build_report(dataset=args.dataset, data_dir=args.data_dir, weights=args.weights, **_options(args))
    return 0


def run_demo_from_args(args: argparse.Namespace) -> int:
    demo(**_options(args))
    return 0
