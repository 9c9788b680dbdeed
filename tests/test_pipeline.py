"""The report pipeline: the grid, the notebook runner, N jobs at once, rendering, and the whole thing end to end
on tiny synthetic phantoms (CPU).

One grid (squeezenet1_1: finetune and frozen at 32 px) is built once per module and checked from several sides:
run directories, the HTML's tables, figures and markdown, the browser's view, the PDF, the zh-TW version,
reuse of finished runs and resuming of unfinished ones, `--jobs 2` against `--jobs 1`, and `xray render`.
"""

import html.parser
import io
import json
import re
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import papermill
import pytest

from xray_utils import pipeline, report, settings
from xray_utils.config import RunConfig, default_project_dir
from xray_utils.errors import ConfigError, XrayError
from xray_utils.pipeline import build, grid, jobs, notebooks, render
from xray_utils.report_text import text
from xray_utils.runs import RunDir

NOTEBOOKS = default_project_dir() / "notebooks"
TINY = {"synthetic_train": 60, "synthetic_test": 40, "batch_size": 16, "num_workers": 0, "lr": 1e-3}
RUN_PARAMETERS = {"preset", "backbone", "mode", "dataset", "data_dir", "epochs", "img_size", "weights", "run_dir",
                  "batch_size", "lr", "seed", "train_fraction", "force", "lang", "extra_config"}
BROWSER = render.find_browser()
needs_browser = pytest.mark.skipif(BROWSER is None, reason="no Chromium installed (CI installs it via .ci/run)")
GRID = dict(backbones="squeezenet1_1", modes="finetune,frozen", dataset="synthetic", img_size=32, epochs=2,
            weights="none", extra=TINY)


def tiny_grid(out: Path, lang: str = "en", **kw):
    lines: list[str] = []
    result = pipeline.build_report(log=lines.append, lang=lang, out=out, **{**GRID, **kw})
    return result, lines


def plan(tmp_path, **kw):
    return pipeline.plan_grid(runs_root=tmp_path / "runs", **{**GRID, **kw})


class Tables(html.parser.HTMLParser):
    """{table id: {(data-run, data-metric): cell text}} of the report's metric tables."""

    def __init__(self):
        super().__init__()
        self.tables, self._table, self._cell, self._text = {}, None, None, []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "table" and "id" in a:
            self._table = self.tables.setdefault(a["id"], {})
        elif tag == "td" and self._table is not None and "data-run" in a:
            self._cell, self._text = (a["data-run"], a["data-metric"]), []

    def handle_endtag(self, tag):
        if tag == "td" and self._cell is not None:
            self._table[self._cell] = "".join(self._text)
            self._cell = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data):
        if self._cell is not None:
            self._text.append(data)


def parse_tables(page: str) -> dict:
    parser = Tables()
    parser.feed(page)
    return parser.tables


def metrics_of(runs: list[Path]) -> dict:
    """Every run's test and validation numbers (what a report shows), by run name."""
    out = {}
    for run_dir in runs:
        m = json.loads((run_dir / "metrics.json").read_text())
        out[run_dir.name] = {k: m[k] for k in ("test", "val", "best_epoch") if k in m}
    return out


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    t0 = time.perf_counter()
    result, lines = tiny_grid(out)
    seconds = time.perf_counter() - t0
    print(f"\nend-to-end build_report (2 runs): {seconds:.1f} s")
    # keep the English report: a later test renders zh-TW into the same folder
    saved = {name: (out / name).read_bytes() for name in ("report.html",) + (("report.pdf",) if result.pdf else ())}
    return result, lines, saved, metrics_of(result.runs)


# ----------------------------------------------------------------------------------------------------
# the grid and each run's parameters


def test_run_notebooks_take_the_documented_parameters():
    for name in (pipeline.NOTEBOOK_FINETUNE, pipeline.NOTEBOOK_FROZEN):
        assert set(papermill.inspect_notebook(str(NOTEBOOKS / name))) == RUN_PARAMETERS
    frozen = papermill.inspect_notebook(str(NOTEBOOKS / pipeline.NOTEBOOK_FROZEN))
    assert frozen["mode"]["default"].strip("'\"") == "frozen"
    assert frozen["preset"]["default"].strip("'\"") == "homework"


def test_the_notebooks_rebuild_exactly_the_grids_config(tmp_path):
    plans = plan(tmp_path, with_scratch=True, seeds="0,3", fractions="0.5,1", preset="quick",
                 extra={**TINY, "scheduler": "cosine", "resize_mode": "shorter-side"}, img_size=None)
    assert len(plans) == 3 * 2 * 2
    for p in plans:
        q = dict(p.parameters)  # what papermill injects; the config cell of 01/02 does the rest:
        cfg = settings.build_config(preset=q.pop("preset"), extra=q.pop("extra_config"), source="notebook parameters",
                                    **{k: q[k] for k in grid.RUN_PARAMETERS})
        assert cfg == p.cfg, p.name
        assert settings.run_dir_for(cfg, q["run_dir"]) == p.run_dir == tmp_path / "runs" / p.name
    assert plans[0].cfg.img_size == 64  # the preset, where no flag says otherwise
    assert [p.cfg.resolved_weights for p in plans if p.cfg.mode == "scratch"] == ["none"] * 4


def test_grid_names_are_kind_seed_and_fraction(tmp_path):
    names = [p.name.removeprefix("squeezenet1_1-") for p in plan(tmp_path, seeds="0,1", fractions="0.25,1")]
    assert names == ["finetune-frac0.25", "finetune", "finetune-seed1-frac0.25", "finetune-seed1",
                     "frozen-frac0.25", "frozen", "frozen-seed1-frac0.25", "frozen-seed1"]
    assert [p.notebook.name for p in plan(tmp_path)] == [pipeline.NOTEBOOK_FINETUNE, pipeline.NOTEBOOK_FROZEN]
    for bad, word in (({"seeds": "0,x"}, "seeds"), ({"fractions": "1.5"}, "train_fraction"),
                      ({"backbones": "vgg"}, "backbone"), ({"modes": "thaw"}, "mode")):
        with pytest.raises(ConfigError, match=word):
            plan(tmp_path, **bad)


def test_the_grids_data_source_is_the_whole_training_set_not_its_first_runs_share(tmp_path):
    plans = plan(tmp_path, fractions="0.5,1", extra=TINY, weights="none")
    assert plans[0].cfg.train_fraction == 0.5  # the grid lists a kind's smaller fractions first
    source = build.check_data_and_weights([p.cfg for p in plans])
    assert "synthetic" in source and "fraction" not in source  # report.json and the log describe the data


def test_data_exploration_gets_the_data_settings_only(tmp_path):
    p = plan(tmp_path, fractions="0.5", extra={**TINY, "val_split": "given", "scheduler": "cosine"})[0]
    params = grid.data_parameters(p.cfg, "en")
    assert set(params) == set(papermill.inspect_notebook(str(NOTEBOOKS / pipeline.NOTEBOOK_DATA))) - {
        "n_samples", "max_size_images"}
    extra = json.loads(params["extra_config"])
    assert extra["val_split"] == "given" and extra["synthetic_train"] == 60
    assert "train_fraction" not in extra and "scheduler" not in extra  # 00 explores the whole data


def test_only_picks_cells_by_name_or_position(tmp_path):
    plans = plan(tmp_path, seeds="0,1")
    assert [p.name for p in grid.select(plans, "squeezenet1_1-frozen-seed1,0")] == [
        "squeezenet1_1-finetune", "squeezenet1_1-frozen-seed1"]
    assert grid.select(plans, None) == plans
    with pytest.raises(ConfigError, match="not a run of this grid") as e:
        grid.select(plans, "resnet18-frozen")
    assert "squeezenet1_1-frozen-seed1" in e.value.hint
    with pytest.raises(ConfigError, match="positions 0 to 3"):
        grid.select(plans, "4")


def test_unknown_notebook_parameter_is_refused_with_the_known_ones():
    with pytest.raises(ConfigError) as e:
        pipeline.check_parameters(NOTEBOOKS / pipeline.NOTEBOOK_FINETUNE, {"backbone": "resnet18", "colour": 1})
    assert "colour" in e.value.message and "extra_config" in e.value.hint


def test_unknown_report_option_stops_before_any_training(tmp_path):
    with pytest.raises(ConfigError, match="reference_colour"):
        tiny_grid(tmp_path, reference={"reference_colour": "red"})
    assert not (tmp_path / "runs").exists()


def test_missing_kernel_is_a_clear_error(tmp_path):
    with pytest.raises(XrayError) as e:
        tiny_grid(tmp_path, kernel="no-such-kernel")
    assert "no-such-kernel" in e.value.message and "cxr-transfer" in e.value.message  # lists installed kernels
    assert "ipykernel install" in e.value.hint


def test_a_folder_holding_a_run_with_other_settings_is_refused_before_anything_runs(tmp_path):
    p = plan(tmp_path, modes="finetune")[0]
    RunDir(p.run_dir).prepare(p.cfg.replace(epochs=5))
    (p.run_dir / "last.pt").write_bytes(b"x")  # a finished epoch: not discarded without --force
    with pytest.raises(ConfigError) as e:
        tiny_grid(tmp_path, modes="finetune")
    assert "epochs: 5 -> 2" in e.value.message and "--force" in e.value.hint
    assert not (tmp_path / pipeline.NOTEBOOK_DATA).exists()


def test_without_data_offline_the_error_says_where_to_put_it(monkeypatch, tmp_path):
    from xray_utils import data
    from xray_utils.errors import DataError

    def offline(cfg):
        raise DataError("PneumoniaMNIST not found in data/ and the download failed")

    monkeypatch.setattr(data, "load_splits", offline)
    monkeypatch.setattr(notebooks, "check_kernel", lambda kernel: None)
    with pytest.raises(DataError) as e:
        pipeline.build_report(dataset="pneumoniamnist", out=tmp_path, log=lambda _m: None)
    assert "data/README.md" in e.value.hint and "--data-dir" in e.value.hint and "make demo" in e.value.hint


# ----------------------------------------------------------------------------------------------------
# what runs: --only, --render-only (without executing notebooks)


@pytest.fixture
def recorder(monkeypatch):
    """Notebook executions, runs trained and renders, recorded instead of done."""
    seen = {"executed": [], "trained": [], "rendered": None}

    def execute(nb, output, parameters, kernel, stream=None, detail=None):
        seen["executed"].append(Path(nb).name)
        return output

    def analyse(result, plans, *args, **kw):
        seen["rendered"] = [p.name for p in plans]
        return result

    monkeypatch.setattr(notebooks, "check_kernel", lambda kernel: None)
    monkeypatch.setattr(notebooks, "execute_notebook", execute)
    monkeypatch.setattr(build, "check_data_and_weights", lambda cfgs: "synthetic phantoms")
    monkeypatch.setattr(build, "run_sequential_plans", lambda plans, *a: seen["trained"].extend(p.name for p in plans))
    monkeypatch.setattr(build, "run_parallel_plans", lambda plans, *a: seen["trained"].extend(p.name for p in plans))
    monkeypatch.setattr(build, "_analyse_and_render", analyse)
    return seen


def fake_run(p, complete: bool = True, executed: bool = True) -> None:
    """A run directory as a finished (or interrupted) run of plan ``p`` leaves it."""
    RunDir(p.run_dir).adopt()  # a run folder: its manifest lists what the tool wrote
    p.cfg.save(p.run_dir / "config.json")
    if complete:
        (p.run_dir / "metrics.json").write_text('{"n": {"test": 1, "val": 1}}')
        for f in ("predictions.csv", "val_predictions.csv"):
            (p.run_dir / f).write_text("id,label,p_pneumonia\na,1,0.9\n")
        (p.run_dir / "COMPLETE").write_text("{}")
        (p.run_dir / "figures").mkdir(exist_ok=True)
        for f in ("curves.png", "confusion.png"):
            (p.run_dir / "figures" / f).write_bytes(b"\x89PNG")
    if executed:
        p.executed.write_text("{}")


def test_only_trains_the_named_cells_and_renders_nothing(recorder, tmp_path):
    result, lines = tiny_grid(tmp_path, seeds="0,1", only="squeezenet1_1-frozen-seed1,1")
    assert recorder["trained"] == ["squeezenet1_1-finetune-seed1", "squeezenet1_1-frozen-seed1"]
    assert recorder["executed"] == [] and recorder["rendered"] is None  # no 00, no 03, no HTML
    assert result.html is None and any("xray render" in line for line in lines)


def test_complete_runs_are_reused_and_the_rest_trained(recorder, tmp_path):
    plans = plan(tmp_path, seeds="0,1")
    fake_run(plans[0])  # complete, shown in its notebook: reused
    fake_run(plans[1], executed=False)  # complete (e.g. by xray train), never shown in a notebook: shown now
    fake_run(plans[2], complete=False)  # interrupted: resumed
    tiny_grid(tmp_path, seeds="0,1", jobs=2)
    assert recorder["trained"] == [p.name for p in plans[1:]]
    assert recorder["executed"] == [pipeline.NOTEBOOK_DATA]
    assert recorder["rendered"] == [p.name for p in plans]


def test_render_only_trains_nothing_and_names_the_missing_runs(recorder, tmp_path):
    plans = plan(tmp_path, seeds="0,1")
    fake_run(plans[0])
    fake_run(plans[1])
    fake_run(plans[2], complete=False)
    RunDir(plans[3].run_dir).prepare(plans[3].cfg.replace(epochs=9))
    (plans[3].run_dir / "last.pt").write_bytes(b"x")  # a finished epoch of other settings
    result, lines = tiny_grid(tmp_path, seeds="0,1", render_only=True)
    assert recorder["trained"] == [] and recorder["executed"] == []
    assert recorder["rendered"] == [plans[0].name, plans[1].name]
    assert result.missing == [f"{plans[2].name}: unfinished", f"{plans[3].name}: other settings "
                              f"({plans[3].run_dir} already holds a run with a different config (epochs: 9 -> 2))"]
    assert sum(line.startswith("missing ") for line in lines) == 2
    (plans[1].run_dir / "predictions.csv").write_text("id,label,p_pneumonia\n")  # truncated: named, left out
    result, lines = tiny_grid(tmp_path, seeds="0,1", render_only=True)
    assert recorder["rendered"] == [plans[0].name]
    assert f"{plans[1].name}: damaged (predictions.csv has 0 rows, metrics say 1: rerun it with xray report " \
           "--force)" in result.missing
    for p in plans:
        p.run_dir.joinpath("COMPLETE").unlink(missing_ok=True)
    with pytest.raises(XrayError, match="none of the grid's 4 runs is complete"):
        tiny_grid(tmp_path, seeds="0,1", render_only=True)


# ----------------------------------------------------------------------------------------------------
# N jobs at once


def test_slots_pin_gpus_round_robin_and_share_the_cpu_cores():
    slots = jobs.make_slots(3, ["0", "1"], list(range(8)))
    assert [s.gpu for s in slots] == ["0", "1", "0"]
    assert [s.env()["CUDA_VISIBLE_DEVICES"] for s in slots] == ["0", "1", "0"]
    assert [s.threads for s in slots] == [2, 2, 2]  # threads that feed a GPU: cores / N
    # on the CPU each job gets its share of the cores but a single run's thread count, so it computes exactly
    # what --jobs 1 computes (CPU kernels split their work by thread count); the threads wait passively
    cpu = jobs.make_slots(2, [], [0, 1, 2, 3])
    assert [(s.gpu, s.cpus, s.threads) for s in cpu] == [(None, (0, 1), 4), (None, (2, 3), 4)]
    assert cpu[0].env()["OMP_NUM_THREADS"] == cpu[0].env()["MKL_NUM_THREADS"] == "4"
    assert cpu[0].env()["OMP_WAIT_POLICY"] == "PASSIVE"
    more = jobs.make_slots(3, [], [0, 1])  # more jobs than cores: cores shared in turn
    assert [(s.cpus, s.threads) for s in more] == [((0,), 2), ((1,), 2), ((0,), 2)]


def test_visible_gpus_follow_cuda_visible_devices(monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "2,5")
    assert jobs.visible_gpus() == ["2", "5"]
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    assert jobs.visible_gpus() == []


def _fake_worker(script: str):
    """A worker_command that runs ``script`` (with NAME set to the run's name) instead of a notebook."""
    def command(notebook, output, parameters, kernel):
        return [sys.executable, "-c", f"NAME = {Path(parameters['run_dir']).name!r}\n" + script]
    return command


def test_a_failed_job_stops_the_others_and_names_its_notebook(monkeypatch, tmp_path):
    script = (
        "import json, sys, time\n"
        "print(f'{NAME} epoch 1/2 batch 3/9 eta 0:01', flush=True)\n"
        "if NAME.endswith('finetune'):\n"
        "    time.sleep(0.5)\n"
        f"    print({notebooks.ERROR_MARK!r} + ' ' + json.dumps(dict(kind='XrayError', message='cell [5] failed', "
        "hint='see the notebook')), flush=True)\n"
        "    sys.exit(1)\n"
        "time.sleep(120)\n")
    monkeypatch.setattr(notebooks, "worker_command", _fake_worker(script))
    plans = plan(tmp_path, seeds="0,1")
    shown, logged = [], []
    t0 = time.perf_counter()
    with pytest.raises(XrayError) as e:
        jobs.run_parallel(plans, 3, "k", logged.append, shown.append, slots=jobs.make_slots(3, [], [0]))
    assert time.perf_counter() - t0 < 60  # the sleeping jobs were stopped, not waited for
    assert e.value.message == "squeezenet1_1-finetune: cell [5] failed"
    assert "see the notebook" in e.value.hint and "squeezenet1_1-frozen" in e.value.hint and "resume" in e.value.hint
    # every running job's lines were shown under its name; the fourth run never started
    assert {line.split("]")[0] for line in shown} == {"[squeezenet1_1-finetune", "[squeezenet1_1-finetune-seed1",
                                                     "[squeezenet1_1-frozen"}
    assert sum("stopping" in line for line in logged) == 2


def test_parallel_jobs_run_each_plan_once_on_its_own_slot(monkeypatch, tmp_path):
    script = ("import os, pathlib\n"
              "d = pathlib.Path(os.environ['RUNS']) / NAME\n"
              "cores = sorted(os.sched_getaffinity(0))\n"
              "(d / 'COMPLETE').write_text(os.environ['OMP_NUM_THREADS'] + ' ' + str(cores))\n")
    monkeypatch.setattr(notebooks, "worker_command", _fake_worker(script))
    monkeypatch.setenv("RUNS", str(tmp_path / "runs"))
    plans = plan(tmp_path, seeds="0,1,2")
    for p in plans:
        p.run_dir.mkdir(parents=True)
    logged, cpus = [], jobs.available_cpus()[:2]
    jobs.run_parallel(plans, 2, "k", logged.append, lambda _l: None, slots=jobs.make_slots(2, [], cpus))
    assert all((p.run_dir / "COMPLETE").exists() for p in plans)
    # each job ran pinned to its own core(s), with a single run's thread count
    expected = {f"{len(cpus)} [{c}]" for c in cpus} if len(cpus) == 2 else {f"{len(cpus)} {cpus}"}
    assert {(p.run_dir / "COMPLETE").read_text() for p in plans} == expected
    assert sum(line.startswith("[done]") for line in logged) == len(plans)


# ----------------------------------------------------------------------------------------------------
# rendering


def test_render_keeps_markdown_hides_code_and_drops_notebook_only_cells(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("How to run this notebook in JupyterLab", metadata={"tags": ["notebook-only"]}),
        nbformat.v4.new_markdown_cell("My own note: the frozen runs look *underfitted*."),
        nbformat.v4.new_code_cell("R.show_task_e()", outputs=[
            nbformat.v4.new_output("display_data", data={"text/html": "<h2>Task E</h2>"}),
            nbformat.v4.new_output("stream", name="stderr", text="UserWarning: something noisy"),
        ]),
        nbformat.v4.new_code_cell("print(1)", metadata={"tags": ["notebook-only"]},
                                  outputs=[nbformat.v4.new_output("stream", name="stdout", text="only in Lab")]),
    ]
    executed = tmp_path / "03.ipynb"
    nbformat.write(nb, executed)
    page = render.render_html(executed, tmp_path / "report.html", lang="zh-TW").read_text(encoding="utf-8")
    assert "<em>underfitted</em>" in page and "<h2>Task E</h2>" in page
    assert "R.show_task_e()" not in page and "something noisy" not in page
    assert "How to run this notebook" not in page and "only in Lab" not in page
    assert '<html lang="zh-TW">' in page


# ----------------------------------------------------------------------------------------------------
# the demo


def test_demo_is_offline_synthetic_and_random_weights(monkeypatch, tmp_path):
    seen = {}
    monkeypatch.setattr(build, "build_report", lambda **kw: seen.update(kw) or build.ReportResult(None, None, None))
    pipeline.demo(epochs=1)
    assert Path(seen["out"]) == settings.default_reports_dir() / "demo"
    cfg = pipeline.plan_grid(runs_root=tmp_path, base=seen["base"], epochs=seen["epochs"])[0].cfg
    assert (cfg.dataset, cfg.resolved_weights, cfg.epochs) == ("synthetic", "none", 1)
    assert cfg.img_size <= 64 and cfg.synthetic_train <= 240


def test_the_demo_report_is_published_to_reports_but_never_over_a_real_report(tmp_path):
    demo_out = tmp_path / "reports" / "demo"
    demo_out.mkdir(parents=True)
    (demo_out / "report.html").write_text("<html>demo</html>")
    (demo_out / "report.pdf").write_bytes(b"%PDF demo")
    (demo_out / "report.json").write_text(json.dumps({"synthetic": True}))
    result = pipeline.ReportResult(out=demo_out, html=demo_out / "report.html", pdf=demo_out / "report.pdf")
    reports = tmp_path / "reports"
    assert pipeline.publish_demo(result, reports, log=lambda _m: None)  # fresh clone: published
    assert (reports / "report.html").read_text() == "<html>demo</html>"
    assert (reports / "report.pdf").read_bytes() == b"%PDF demo"
    (demo_out / "report.html").write_text("<html>demo 2</html>")
    assert pipeline.publish_demo(result, reports, log=lambda _m: None)  # an earlier demo's: replaced
    assert (reports / "report.html").read_text() == "<html>demo 2</html>"
    # a report on real data is never replaced by a demo
    (reports / "report.html").write_text("<html>real</html>")
    (reports / "report.json").write_text(json.dumps({"synthetic": False, "dataset": "folder"}))
    lines = []
    assert not pipeline.publish_demo(result, reports, log=lines.append)
    assert (reports / "report.html").read_text() == "<html>real</html>"
    assert "kept" in lines[0] and str(demo_out / "report.html") in lines[0]


# ----------------------------------------------------------------------------------------------------
# end to end (papermill, nbconvert, Chromium)


@pytest.mark.slow
def test_papermill_runs_a_run_notebook_with_the_quick_preset(tmp_path):
    # the command line of the README (the pipeline runs 01 and 02 through papermill's API, tested below)
    run_dir, executed = tmp_path / "r", tmp_path / "out.ipynb"
    cmd = [str(Path(sys.executable).parent / "papermill"), str(NOTEBOOKS / pipeline.NOTEBOOK_FINETUNE),
           str(executed), "-p", "preset", "quick", "-p", "backbone", "squeezenet1_1", "-p", "dataset", "synthetic",
           "-p", "weights", "none", "-p", "img_size", "32", "-p", "epochs", "1", "-p", "run_dir", str(run_dir),
           "-p", "extra_config", json.dumps(TINY), "--no-progress-bar"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert (run_dir / "COMPLETE").exists()
    cfg = RunConfig.load(run_dir / "config.json")
    assert (cfg.backbone, cfg.mode, cfg.weights, cfg.img_size, cfg.epochs) == ("squeezenet1_1", "finetune", "none",
                                                                                32, 1)
    shown = json.dumps([c.get("outputs", []) for c in nbformat.read(executed, as_version=4).cells])
    assert "image/png" in shown


@pytest.mark.slow
def test_a_failing_notebook_stops_the_grid_quoting_its_error(tmp_path):
    # 16 px passes RunConfig validation but is too small for SqueezeNet: train.fit refuses inside the notebook
    with pytest.raises(ConfigError) as e:
        tiny_grid(tmp_path, backbones="squeezenet1_1,resnet18", modes="finetune", img_size=16)
    executed = tmp_path / "runs" / "squeezenet1_1-finetune" / pipeline.NOTEBOOK_FINETUNE
    assert "ConfigError" in e.value.message and "too small for squeezenet1_1" in e.value.message
    assert str(executed) in e.value.hint
    assert executed.exists()
    assert not (tmp_path / "runs" / "resnet18-finetune").exists()  # the grid stopped at the failure


@pytest.mark.slow
def test_every_run_directory_is_complete(built):
    result, lines, _, _ = built
    names = [p.name for p in result.runs]
    assert names == ["squeezenet1_1-finetune", "squeezenet1_1-frozen"]
    for run_dir in result.runs:
        assert (run_dir / "COMPLETE").exists() and (run_dir / "metrics.json").exists()
        executed = run_dir / pipeline.NOTEBOOK_FOR_MODE[run_dir.name.split("-")[1]]
        assert executed.exists()
    assert (result.out / pipeline.NOTEBOOK_DATA).exists() and (result.out / pipeline.NOTEBOOK_ANALYSIS).exists()
    assert any("[run 1/2] squeezenet1_1-finetune" in line for line in lines)
    assert any("epoch 2/2" in line for line in lines)  # the training's own lines are streamed
    meta = json.loads((result.out / "report.json").read_text())
    assert meta["synthetic"] is True and meta["runs"] == names and meta["dataset"] == "synthetic"
    assert meta["seeds"] == [0] and meta["fractions"] == [1.0] and meta["missing"] == []
    assert meta["data_source"] and "synthetic" in meta["data_source"].lower()


@pytest.mark.slow
def test_task_e_table_holds_each_runs_numbers_as_in_metrics_json(built):
    result, _, saved, _ = built
    tables = parse_tables(saved["report.html"].decode())
    for run_dir in result.runs:
        m = json.loads((run_dir / "metrics.json").read_text())
        cell = tables["task-e-05"][(m["run"], "accuracy")]
        assert cell.startswith(f"{100 * m['test']['accuracy']:.2f}%")
        lo, hi = m["test"]["ci"]["accuracy"]
        assert f"[{100 * lo:.1f}%, {100 * hi:.1f}%]" in cell  # bounds to 0.1 pp: what the resampling supports
        assert tables["task-e-05"][(m["run"], "loss")].startswith(f"{m['test']['loss']:.4f}")


@pytest.mark.slow
def test_report_is_one_file_with_every_figure_embedded_markdown_kept_and_code_hidden(built):
    result, _, saved, _ = built
    page = saved["report.html"].decode()
    assert "SYNTHETIC DATA" in page and "NOT ImageNet-pretrained" in page
    assert not re.search(r'<(script|link)[^>]+(src|href)="https?://', page)  # nothing fetched from the web
    assert not re.search(r'<img[^>]+src="(?!data:)', page)  # every image inline
    pngs = re.findall(r'src="data:image/png;base64,([^"]+)"', page)
    assert len(pngs) == page.count("<img ")
    assert len(pngs) >= 2 * len(result.runs) + 5
    assert "R.show_task_e()" not in page and "report.setup(lang)" not in page  # code cells are hidden
    # 03's markdown reaches the page (the student's notes), except the cells tagged notebook-only
    nb = nbformat.read(NOTEBOOKS / pipeline.NOTEBOOK_ANALYSIS, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "markdown" and cell.source.strip():
            words = re.sub(r"[`*_#\[\]]", "", cell.source.strip().splitlines()[-1])[:40]
            shown = words in re.sub(r"<[^>]+>", "", page)
            assert shown != ("notebook-only" in cell.metadata.get("tags", [])), cell.source[:80]
    headings = [re.sub(r"<[^>]+>|¶", "", h).strip() for h in re.findall(r"<h[12][^>]*>(.*?)</h[12]>", page, re.S)]
    assert len(headings) == len(set(headings)), headings  # no heading twice


@pytest.mark.slow
def test_two_jobs_give_the_same_runs_and_numbers_as_one(built, tmp_path):
    result, _, saved, numbers = built
    parallel, lines = tiny_grid(tmp_path, jobs=2, pdf=False)
    assert [p.name for p in parallel.runs] == [p.name for p in result.runs]
    assert metrics_of(parallel.runs) == numbers
    table = parse_tables(parallel.html.read_text(encoding="utf-8"))["task-e-05"]
    assert table == parse_tables(saved["report.html"].decode())["task-e-05"]  # the report's numbers, too
    assert any("2 at a time" in line for line in lines)
    assert {line.split("]")[0] for line in lines if line.startswith("[squeezenet")} == {
        "[squeezenet1_1-finetune", "[squeezenet1_1-frozen"}  # each job's lines under its name


@pytest.mark.slow
@needs_browser
def test_chromium_loads_the_report_without_broken_images(built, tmp_path):
    page = built[2]["report.html"].decode()
    probe = ('<script>window.addEventListener("load", function () {'
             ' var imgs = Array.from(document.images);'
             ' var broken = imgs.filter(function (i) { return !i.complete || i.naturalWidth === 0; });'
             ' document.body.setAttribute("data-images", imgs.length);'
             ' document.body.setAttribute("data-broken", broken.length); });</script>')
    target = tmp_path / "probe.html"
    target.write_text(page.replace("</body>", probe + "</body>"), encoding="utf-8")
    dom = subprocess.run(render.browser_command(BROWSER, str(tmp_path / "profile"), "--virtual-time-budget=10000",
                                                "--dump-dom", target.as_uri()),
                         capture_output=True, text=True, timeout=120).stdout
    body = re.search(r"<body[^>]*>", dom).group(0)
    assert int(re.search(r'data-images="(\d+)"', body).group(1)) == page.count("<img ")
    assert re.search(r'data-broken="(\d+)"', body).group(1) == "0"


@pytest.mark.slow
@needs_browser
def test_pdf_is_printed_by_chromium(built):
    from pypdf import PdfReader

    result, _, saved, _ = built
    assert result.pdf is not None and result.pdf.name == "report.pdf"
    reader = PdfReader(io.BytesIO(saved["report.pdf"]))
    assert len(reader.pages) >= 2
    assert "Task E" in "".join(page.extract_text() for page in reader.pages)


@pytest.mark.slow
def test_zh_tw_report_reuses_finished_runs_and_resumes_an_unfinished_one(built, monkeypatch):
    result, _, _, _ = built
    finished = {p.name: (p / "metrics.json").stat().st_mtime_ns for p in result.runs}
    unfinished = result.runs[1]
    (unfinished / "COMPLETE").unlink()
    monkeypatch.setattr(render, "find_browser", lambda: None)  # as on a machine without Chromium
    zh, lines = tiny_grid(result.out, lang="zh-TW")
    assert zh.pdf is None and any("no PDF" in note for note in zh.notes)
    assert not (result.out / "report.pdf").exists()  # the English PDF would contradict the new HTML
    for p in zh.runs:
        assert (p / "COMPLETE").exists()
        changed = (p / "metrics.json").stat().st_mtime_ns != finished[p.name]
        assert changed == (p == unfinished), p.name
    assert sum("reused" in line for line in lines) == 1
    assert any(unfinished.name in line and "resuming" in line for line in lines)
    page = zh.html.read_text(encoding="utf-8")
    assert '<html lang="zh-TW">' in page
    for key in ("h_task_a", "h_task_e", "h_findings", "synthetic_banner"):
        assert text("zh-TW", key) in page


@pytest.mark.slow
def test_render_only_rerenders_from_the_runs_there(built, monkeypatch):
    result, _, _, _ = built
    monkeypatch.setattr(render, "find_browser", lambda: None)
    before = {p.name: (p / "metrics.json").stat().st_mtime_ns for p in result.runs}
    again, lines = tiny_grid(result.out, render_only=True, seeds="0,1")
    assert [p.name for p in again.runs] == [p.name for p in result.runs]  # seed 1 was never trained
    assert again.missing == ["squeezenet1_1-finetune-seed1: not trained", "squeezenet1_1-frozen-seed1: not trained"]
    assert {p.name: (p / "metrics.json").stat().st_mtime_ns for p in result.runs} == before
    assert again.html.exists() and not any("epoch" in line for line in lines)
    recorded = json.loads((result.runs[0] / "metrics.json").read_text())["data_source"]
    assert json.loads((again.out / "report.json").read_text())["data_source"] == recorded  # loads no data


@needs_browser
def test_cjk_headings_render_with_a_cjk_font(tmp_path):
    fonts = subprocess.run(["fc-list", ":lang=zh-tw", "family"], capture_output=True, text=True).stdout
    assert fonts.strip(), "no Traditional Chinese font installed (Debian: fonts-noto-cjk)"
    # Two different headings drawn with the report's CSS: a missing font draws both as identical boxes.
    shots = []
    for i, key in enumerate(("h_task_e", "h_findings")):
        page = tmp_path / f"h{i}.html"
        page.write_text(f'<html lang="zh-TW"><head><meta charset="utf-8">{report.css()}</head>'
                        f'<body class="jp-Notebook"><h1>{text("zh-TW", key)[:4]}</h1></body></html>',
                        encoding="utf-8")
        shot = tmp_path / f"h{i}.png"
        subprocess.run(render.browser_command(BROWSER, str(tmp_path / f"p{i}"), f"--screenshot={shot}",
                                              "--window-size=400,120", page.as_uri()),
                       capture_output=True, timeout=60)
        shots.append(shot.read_bytes())
    from PIL import Image, ImageChops

    a, b = (Image.open(io.BytesIO(s)).convert("L") for s in shots)
    assert ImageChops.difference(a, b).getbbox() is not None
    assert a.getextrema()[0] < 100  # something dark was drawn at all (not a blank page)


def test_streamed_notebook_output_shows_a_progress_bar_once_in_its_final_state():
    from xray_utils.pipeline.notebooks import _LineWriter

    lines = []
    writer = _LineWriter(lines.append)
    writer.write("checking train:  10%|#  | 1/10\rchecking train:  50%|#####| 5/10")
    writer.write("\rchecking train: 100%|##########| 10/10\n")
    writer.write("decode:  50%\r" + " " * 20 + "\r")  # a bar that erases itself (tqdm leave=False)
    writer.write("epoch 1/3: train loss 0.41\nrun resnet18-finetune: epoch 2/3 batch 40/147, ETA 3 min")
    writer.finish()
    assert lines == ["    checking train: 100%|##########| 10/10", "    epoch 1/3: train loss 0.41",
                     "    run resnet18-finetune: epoch 2/3 batch 40/147, ETA 3 min"]
