"""`xray report`, `xray render` and `xray demo`: the grid's notebooks, then 03 and the rendered report.

    00_data_exploration          -> <out>/00_data_exploration.ipynb
    01 / 02 per grid cell        -> <out>/runs/<run name>/ (run artifacts + the executed notebook)
    03_task_d_e_analysis         -> <out>/03_task_d_e_analysis.ipynb, over exactly the grid's runs
    nbconvert                    -> <out>/report.html (see render.py)
    headless Chromium            -> <out>/report.pdf (skipped, and said so, where no browser is installed)

A complete run with the same settings is reused (``force`` retrains it); an unfinished one is executed
again and ``train.fit`` resumes it. ``only`` runs some cells and renders nothing (one SLURM array task);
``render_only`` trains nothing and renders from the cells that are complete, naming the missing ones.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from .. import atomic, settings
from ..config import RunConfig
from ..errors import ConfigError, DataError, XrayError
from ..report_text import LANGS, text
from ..runs import RunDir, check_report_folder, damage
from . import grid, jobs, notebooks, render
from .grid import NOTEBOOK_ANALYSIS, NOTEBOOK_DATA, RunPlan

Log = Callable[[str], None]
DEFAULT_KERNEL = notebooks.DEFAULT_KERNEL  # this checkout's own interpreter (see notebooks.py)
DEMO_SETTINGS = settings.DEMO_SETTINGS  # `xray demo`'s layer under the preset and the flags (settings.py)


def _quiet(_line: str) -> None:
    pass


@dataclass
class ReportResult:
    out: Path
    html: Path | None
    pdf: Path | None
    runs: list[Path] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    options: dict = field(default_factory=dict)  # the grid's options, recorded in report.json (see record_options)


def check_data_and_weights(cfgs: list[RunConfig]) -> str:
    """Load the splits and the pretrained weights once, before hours of training; return the data source
    (the whole training set's: with --fractions, the first run's share would describe only that run)."""
    from .. import data, weights

    try:
        splits = data.load_splits(cfgs[0].replace(train_fraction=1.0))
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


def cell_state(plan: RunPlan, force: bool) -> str:
    """"reused" (complete, with its executed notebook and figures), else what running it will do."""
    state = RunDir(plan.run_dir).reuse_state(plan.cfg, force=force, caller="cli")
    if state == "complete" and plan.executed.exists() and all(f.exists() for f in RunDir(plan.run_dir).figure_files):
        return "reused"
    return "resuming" if state == "resume" else "training" if state != "complete" else "showing"


def grid_status(plans: list[RunPlan]) -> dict[str, str]:
    """Every cell's state without raising: "complete", "unfinished", "not trained" or "other settings: ..."."""
    status = {}
    for plan in plans:
        try:
            state = RunDir(plan.run_dir).reuse_state(plan.cfg, caller="cli")
        except ConfigError as e:
            status[plan.name] = f"other settings ({e.message})"
            continue
        status[plan.name] = {"complete": "complete", "new": "not trained", "replace": "not trained"}.get(
            state, "unfinished")
        problem = damage(plan.run_dir) if state == "complete" else None
        if problem:  # named and left out, never read as a run tested on other images
            status[plan.name] = f"damaged ({problem}: rerun it with xray report --force)"
    return status


def build_report(*, out: str | Path | None = None, lang: str = "en", kernel: str = DEFAULT_KERNEL,
                 pdf: bool = True, force: bool = False, jobs: int = 1, only: str | list | None = None,
                 render_only: bool = False, reference: dict | None = None, backbones=None, modes=None,
                 with_scratch: bool = False, seeds=None, fractions=None, preset: str | None = None,
                 config_file: str | Path | None = None, extra: str | dict | None = None, base: dict | None = None,
                 log: Log = print, stream: Log | None = None, detail: Log = _quiet, **params: Any) -> ReportResult:
    """Train the grid (reusing complete runs) and render report.html (+ report.pdf) from it.

    ``params``: RunConfig fields for every run (the command line's training flags); ``extra``: the same as
    JSON (highest precedence); ``reference``: overrides of 03's reference-row parameters; ``stream``: every
    line the notebooks print (default: ``log``); ``detail``: parameters and timings (-v).
    """
    t0 = time.perf_counter()
    stream = log if stream is None else stream
    if lang not in LANGS:
        raise ConfigError(f"unknown report language {lang!r}", f"use one of: {', '.join(LANGS)}")
    if not isinstance(jobs, int) or jobs < 1:
        raise ConfigError(f"invalid --jobs {jobs!r}: must be an integer >= 1")
    out = Path(out).expanduser().resolve() if out else settings.default_reports_dir()
    plans = grid.plan_grid(runs_root=out / "runs", backbones=backbones, modes=modes, with_scratch=with_scratch,
                           seeds=seeds, fractions=fractions, preset=preset, config_file=config_file, extra=extra,
                           base=base, force=force, lang=lang, **params)
    check_report_folder(out)  # settings checked, before any work: a folder of the user's, or one not writable
    options = record_options(backbones=backbones, modes=modes, with_scratch=with_scratch, seeds=seeds,
                             fractions=fractions, preset=preset, config_file=config_file, extra=extra, base=base,
                             lang=lang, **params)
    chosen = grid.select(plans, only)
    analysis = dict(runs_root=str(out / "runs"), lang=lang, **(reference or {}))
    nbdir = grid.notebooks_dir()
    notebooks.check_parameters(nbdir / NOTEBOOK_ANALYSIS, {**analysis, "runs": ""})
    if render_only:
        return _render_existing(plans, out, analysis, kernel, pdf, lang, t0, log, stream, detail, options)

    # the cheap checks first, then the data and weights (which may download), then hours of training
    notebooks.check_kernel(kernel)
    data_params = grid.data_parameters(plans[0].cfg, lang)
    notebooks.check_parameters(nbdir / NOTEBOOK_DATA, data_params)
    for plan in chosen:
        notebooks.check_parameters(plan.notebook, plan.parameters)
    states = {p.name: cell_state(p, force) for p in chosen}
    for p in chosen:  # existing run folders list the executed notebook about to be written into them
        if p.run_dir.exists():  # (a new one is made by notebooks.execute_notebook, when its turn comes)
            RunDir(p.run_dir).adopt([p.executed.relative_to(p.run_dir).as_posix()])
    source = check_data_and_weights([p.cfg for p in chosen])
    log(f"data: {source}")
    log(f"runs ({len(chosen)} of {len(plans)} in the grid): {', '.join(p.name for p in chosen)} -> {out / 'runs'}")
    if only is None or only == "":
        log(f"data exploration ({NOTEBOOK_DATA})")
        notebooks.execute_notebook(nbdir / NOTEBOOK_DATA, out / NOTEBOOK_DATA, data_params, kernel, stream, detail)
    todo = [p for p in chosen if states[p.name] != "reused"]
    for p in chosen:
        if states[p.name] == "reused":
            log(f"{p.name}: complete with these settings, reused (--force retrains it)")
        else:
            log(f"{p.name}: {states[p.name]}")
    if jobs > 1 and len(todo) > 1:
        jobs_run = min(jobs, len(todo))
        log(f"running {len(todo)} runs {jobs_run} at a time")
        run_parallel_plans(todo, jobs_run, kernel, log, stream)
    else:
        run_sequential_plans(todo, kernel, log, stream, detail)
    result = ReportResult(out=out, html=None, pdf=None, runs=[p.run_dir for p in chosen], options=options)
    if only not in (None, ""):
        log(f"done: {', '.join(p.name for p in chosen)}; render the report with `xray render` (same options)")
        result.seconds = time.perf_counter() - t0
        return result
    return _analyse_and_render(result, plans, analysis, kernel, pdf, lang, t0, source, log, stream, detail)


# indirections the tests replace
def run_sequential_plans(plans, kernel, log, stream, detail) -> None:
    jobs.run_sequential(plans, kernel, log, stream, detail)


def run_parallel_plans(plans, n, kernel, log, stream) -> None:
    jobs.run_parallel(plans, n, kernel, log, stream)


def _render_existing(plans: list[RunPlan], out: Path, analysis: dict, kernel: str, pdf: bool, lang: str,
                     t0: float, log: Log, stream: Log, detail: Log, options: dict | None = None) -> ReportResult:
    status = grid_status(plans)
    present = [p for p in plans if status[p.name] == "complete"]
    missing = [f"{name}: {state}" for name, state in status.items() if state != "complete"]
    for line in missing:
        log(f"missing {line}")
    if not present:
        raise XrayError(f"none of the grid's {len(plans)} runs is complete under {out / 'runs'}",
                        "train them with `xray report` (same options), or pass the --out of an earlier report")
    notebooks.check_kernel(kernel)
    log(f"rendering from {len(present)} of {len(plans)} runs (nothing is trained)")
    result = ReportResult(out=out, html=None, pdf=None, runs=[p.run_dir for p in present], missing=missing,
                          options=options or {})
    return _analyse_and_render(result, present, analysis, kernel, pdf, lang, t0, _recorded_source(present), log,
                               stream, detail)


def _recorded_source(plans: list[RunPlan]) -> str | None:
    """The data the runs were trained on, as their metrics.json recorded it (rendering loads no data)."""
    sources = []
    for plan in plans:
        try:
            sources.append(json.loads(RunDir(plan.run_dir).metrics.read_text(encoding="utf-8"))["data_source"])
        except (OSError, ValueError, KeyError):
            continue
    return "; ".join(dict.fromkeys(s for s in sources if s)) or None


def _claims(plans: list[RunPlan], lang: str) -> dict:
    """report.json's "claims" and "overfitting" (``report.claims_view.report_json``)."""
    from ..report import claims_view  # the report package (IPython, torch) only once a report was rendered

    return claims_view.report_json([p.run_dir for p in plans], lang)


def _banners(plans: list[RunPlan]) -> list[str]:
    """The warnings the report shows at its top ("synthetic", "random_weights", "degenerate_runs")."""
    from ..report import banners  # the report package (IPython, torch) only once a report was rendered

    return banners.shown_for(p.run_dir for p in plans)


def _audit(plans: list[RunPlan]) -> dict:
    """report.json's "shortcut" and "patient_level" per run (``audit.report_json_entries``: read from the cache
    notebook 03 filled, computed here only for runs it did not show)."""
    from .. import audit  # torch, only once a report was rendered

    return audit.report_json_entries([p.run_dir for p in plans])


def _analyse_and_render(result: ReportResult, plans: list[RunPlan], analysis: dict, kernel: str, pdf: bool,
                        lang: str, t0: float, source: str | None, log: Log, stream: Log, detail: Log) -> ReportResult:
    out = result.out
    log(f"analysis ({NOTEBOOK_ANALYSIS})")
    executed = notebooks.execute_notebook(grid.notebooks_dir() / NOTEBOOK_ANALYSIS, out / NOTEBOOK_ANALYSIS,
                                          {**analysis, "runs": ",".join(p.name for p in plans)}, kernel, stream,
                                          detail)
    result.html = render.render_html(executed, out / "report.html", lang=lang, title=text(lang, "title"))
    log(f"report: {result.html}")
    result.pdf, note = render.publish_pdf(result.html, out, pdf, log)
    if note:
        result.notes.append(note)
        log(note)
    if result.pdf:
        log(f"report: {result.pdf}")
    result.seconds = time.perf_counter() - t0
    cfgs = [p.cfg for p in plans]
    # what this report is, for people and for `xray demo` (which must never replace a report on real data)
    atomic.write_json(out / "report.json", {
        "dataset": cfgs[0].dataset, "data_source": source, "synthetic": cfgs[0].dataset == "synthetic",
        "runs": [p.name for p in plans], "missing": result.missing,
        "seeds": sorted({c.seed for c in cfgs}), "fractions": sorted({c.train_fraction for c in cfgs}),
        "lang": lang, "html": result.html.name, "pdf": result.pdf.name if result.pdf else None,
        "seconds": round(result.seconds, 1), "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "banners": _banners(plans),
        **_claims(plans, lang),  # "claims" (the homework's seven, with verdicts) and "overfitting" (grade per run)
        **_audit(plans),  # "shortcut" (region ablation, Grad-CAM in the lungs, flag) and "patient_level" per run
        # what made it: `xray render --out DIR` alone re-renders with these (see recorded_options)
        "options": result.options, "command": os.environ.get(COMMAND_ENV) or None,
    })
    log(f"done in {result.seconds:.0f} s")
    return result


# ----------------------------------------------------------------------------------------------------
# re-rendering a report folder from what it holds (`xray render --out DIR`)

COMMAND_ENV = "XRAY_COMMAND"  # the command that made the report (set by the command line)


def record_options(**options: Any) -> dict:
    """The grid's options as report.json keeps them: JSON values, a config file as an absolute path."""
    recorded = {k: v for k, v in options.items() if v not in (None, "", False, {})}
    if recorded.get("config_file"):
        recorded["config_file"] = str(Path(recorded["config_file"]).expanduser().resolve())
    return json.loads(json.dumps(recorded, default=str))


def recorded_options(out: str | Path, log: Log = print) -> dict | None:
    """build_report's grid options that re-render the report in ``out``: those its report.json recorded, or
    (a report.json from before options were recorded, or a config file that is gone) the grid its complete
    runs make up, each run's config.json read back. None when ``out`` holds neither."""
    out = Path(out).expanduser().resolve()
    try:
        meta = json.loads((out / "report.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        meta = {}
    names = meta.get("runs") or []
    if names and not any((out / "runs" / n / "COMPLETE").exists() for n in names):
        return None  # a copied report.json (publish_demo) whose runs are elsewhere: not this folder's
    options = meta.get("options")
    if isinstance(options, dict) and not (options.get("config_file") and not Path(options["config_file"]).exists()):
        log(f"re-rendering with the options recorded in {out / 'report.json'}"
            + (f" (made by: {meta['command']})" if meta.get("command") else ""))
        return dict(options)
    return options_from_runs(out, meta.get("runs"), meta.get("lang"), log)


def options_from_runs(out: Path, names: list[str] | None, lang: str | None, log: Log = print) -> dict | None:
    """The grid that ``out/runs``'s complete runs (or those named) make up: their backbones, modes, seeds and
    fractions, every other setting from the config.json of a run that is not a scratch control."""
    root = out / "runs"
    folders = [root / n for n in names] if names else sorted(p.parent for p in root.glob("*/COMPLETE"))
    cfgs = []
    for folder in folders:
        if (folder / "COMPLETE").exists():
            try:
                cfgs.append((folder, RunConfig.load(folder / "config.json")))
            except XrayError:
                continue
    if not cfgs:
        return None
    base_dir = next((f for f, c in cfgs if c.mode != "scratch"), cfgs[0][0])
    log(f"re-rendering the {len(cfgs)} complete run(s) under {root}, with the settings of "
        f"{base_dir / 'config.json'}")
    return dict(backbones=list(dict.fromkeys(c.backbone for _, c in cfgs)),
                modes=list(dict.fromkeys(c.mode for _, c in cfgs)), seeds=sorted({c.seed for _, c in cfgs}),
                fractions=sorted({c.train_fraction for _, c in cfgs}), config_file=str(base_dir / "config.json"),
                lang=lang or "en")


def demo(*, out: str | Path | None = None, log: Log = print, **options: Any) -> ReportResult:
    """The whole report offline on synthetic phantoms with random initial weights (a few minutes on CPU).

    Takes build_report's options; DEMO_SETTINGS sit under the preset and the flags. Runs go to reports/demo/
    by default, so a demo never mixes with (or is refused by) a real report's runs; its report.html and
    report.pdf are then published to reports/ (see publish_demo).
    """
    dataset = options.get("dataset")
    if dataset not in (None, "synthetic"):
        raise ConfigError(f"xray demo runs on synthetic phantoms, not --dataset {dataset}",
                          f"use xray report --dataset {dataset} for a report on that data")
    reports = settings.default_reports_dir()
    result = build_report(out=Path(out).expanduser() if out else reports / "demo", log=log,
                          base={**DEMO_SETTINGS, **(options.pop("base", None) or {})}, **options)
    if out is None and result.html is not None:
        publish_demo(result, reports, log)
    return result


def publish_demo(result: ReportResult, reports: Path, log: Log = print) -> bool:
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


def list_grid(*, out: str | Path | None = None, base: dict | None = None, **options: Any) -> list[tuple[str, str]]:
    """(run name, state) of every cell, in grid order (position = the SLURM array index for --only)."""
    out = Path(out).expanduser().resolve() if out else settings.default_reports_dir()
    plans = grid.plan_grid(runs_root=out / "runs", base=base, **options)
    status = grid_status(plans)
    return [(p.name, status[p.name]) for p in plans]


__all__ = ["DEFAULT_KERNEL", "DEMO_SETTINGS", "ReportResult", "build_report", "check_data_and_weights",
           "demo", "list_grid", "publish_demo"]
