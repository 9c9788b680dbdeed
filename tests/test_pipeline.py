"""The notebooks and the report pipeline, end to end on tiny synthetic phantoms (CPU).

One grid (squeezenet1_1: finetune and frozen at 32 px) is built once per module and checked from
several sides: run directories, the HTML's tables and figures, the browser's view, the PDF, the zh-TW
version, reuse of finished runs and resuming of unfinished ones.
"""

import base64
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

from xray_utils import pipeline, report
from xray_utils.config import default_project_dir
from xray_utils.errors import ConfigError, XrayError
from xray_utils.report_text import text

NOTEBOOKS = default_project_dir() / "notebooks"
TINY = {"synthetic_train": 60, "synthetic_test": 40, "batch_size": 16, "num_workers": 0, "lr": 1e-3}
RUN_PARAMETERS = {"backbone", "mode", "dataset", "data_dir", "epochs", "img_size", "weights", "run_dir",
                  "batch_size", "lr", "seed", "force", "lang", "extra_config"}
BROWSER = pipeline.find_browser()
needs_browser = pytest.mark.skipif(BROWSER is None, reason="no Chromium installed (CI installs it via .ci/run)")


def tiny_grid(out: Path, lang: str = "en", **kw):
    lines: list[str] = []
    options = dict(backbones="squeezenet1_1", modes="finetune,frozen", dataset="synthetic",
                   img_size=32, epochs=2, weights="none", extra=TINY, lang=lang, out=out)
    options.update(kw)
    result = pipeline.build_report(log=lines.append, **options)
    return result, lines


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


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    t0 = time.perf_counter()
    result, lines = tiny_grid(out)
    seconds = time.perf_counter() - t0
    print(f"\nend-to-end build_report (2 runs): {seconds:.1f} s")
    # keep the English report: a later test renders zh-TW into the same folder
    saved = {name: (out / name).read_bytes() for name in ("report.html",) + (("report.pdf",) if result.pdf else ())}
    return result, lines, saved


# ----------------------------------------------------------------------------------------------------
# the notebooks as committed


@pytest.mark.parametrize("name", sorted(p.name for p in NOTEBOOKS.glob("*.ipynb")))
def test_notebooks_are_committed_clean_with_a_parameters_cell(name):
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata.kernelspec.name == "cxr-transfer"
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, f"{name} has outputs"


def test_run_notebooks_take_the_documented_parameters():
    for name in (pipeline.NOTEBOOK_FINETUNE, pipeline.NOTEBOOK_FROZEN):
        assert set(papermill.inspect_notebook(str(NOTEBOOKS / name))) == RUN_PARAMETERS
    frozen = papermill.inspect_notebook(str(NOTEBOOKS / pipeline.NOTEBOOK_FROZEN))
    assert frozen["mode"]["default"].strip("'\"") == "frozen"


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


@pytest.mark.slow
def test_papermill_runs_a_run_notebook_with_injected_parameters(tmp_path):
    # the command line of the README (the pipeline runs 01 and 02 through papermill's API, tested below)
    run_dir, executed = tmp_path / "r", tmp_path / "out.ipynb"
    extra = json.dumps({**TINY, "progress": False})
    cmd = [str(Path(sys.executable).parent / "papermill"), str(NOTEBOOKS / pipeline.NOTEBOOK_FINETUNE),
           str(executed), "-p", "backbone", "squeezenet1_1", "-p", "dataset", "synthetic", "-p", "epochs", "1",
           "-p", "img_size", "32", "-p", "weights", "none", "-p", "run_dir", str(run_dir), "-p", "extra_config", extra,
           "--no-progress-bar"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert (run_dir / "COMPLETE").exists()
    cfg = json.loads((run_dir / "config.json").read_text())
    assert (cfg["backbone"], cfg["mode"], cfg["weights"], cfg["img_size"], cfg["epochs"]) == \
        ("squeezenet1_1", "finetune", "none", 32, 1)
    for figure in ("curves.png", "confusion.png"):
        assert (run_dir / "figures" / figure).read_bytes().startswith(b"\x89PNG")
    shown = json.dumps([c.get("outputs", []) for c in nbformat.read(executed, as_version=4).cells])
    assert base64.b64encode((run_dir / "figures" / "curves.png").read_bytes()).decode() in shown


@pytest.mark.slow
def test_a_failing_notebook_stops_the_grid_quoting_its_error(tmp_path):
    # 16 px passes RunConfig validation but is too small for SqueezeNet: train.fit refuses inside the notebook
    with pytest.raises(XrayError) as e:
        tiny_grid(tmp_path, backbones="squeezenet1_1,resnet18", modes="finetune", with_scratch=False, img_size=16)
    executed = tmp_path / "runs" / "squeezenet1_1-finetune" / pipeline.NOTEBOOK_FINETUNE
    assert "ConfigError" in e.value.message and "too small for squeezenet1_1" in e.value.message
    assert str(executed) in e.value.hint and "--img-size 17" in e.value.hint
    assert executed.exists()
    assert not (tmp_path / "runs" / "resnet18-finetune").exists()  # the grid stopped at the failure


# ----------------------------------------------------------------------------------------------------
# the tiny grid, end to end


@pytest.mark.slow
def test_every_run_directory_is_complete(built):
    result, lines, _ = built
    names = [p.name for p in result.runs]
    assert names == ["squeezenet1_1-finetune", "squeezenet1_1-frozen"]
    for run_dir in result.runs:
        assert (run_dir / "COMPLETE").exists() and (run_dir / "metrics.json").exists()
        executed = run_dir / pipeline.NOTEBOOK_FOR_MODE[run_dir.name.split("-")[1]]
        assert executed.exists()
    assert (result.out / pipeline.NOTEBOOK_DATA).exists() and (result.out / pipeline.NOTEBOOK_ANALYSIS).exists()
    assert any("[2/4] squeezenet1_1-finetune" in line for line in lines)
    assert any("epoch 2/2" in line for line in lines)  # epoch progress is streamed
    meta = json.loads((result.out / "report.json").read_text())
    assert meta["synthetic"] is True and meta["runs"] == names and meta["dataset"] == "synthetic"


@pytest.mark.slow
def test_task_e_table_holds_each_runs_numbers_as_in_metrics_json(built):
    result, _, saved = built
    tables = parse_tables(saved["report.html"].decode())
    for run_dir in result.runs:
        m = json.loads((run_dir / "metrics.json").read_text())
        cell = tables["task-e-05"][(m["run"], "accuracy")]
        assert cell.startswith(f"{100 * m['test']['accuracy']:.2f}%")
        lo, hi = m["test"]["ci"]["accuracy"]
        assert f"[{100 * lo:.2f}%, {100 * hi:.2f}%]" in cell
        assert tables["task-e-05"][(m["run"], "loss")].startswith(f"{m['test']['loss']:.4f}")
        assert tables["task-e-youden"][(m["run"], "accuracy")].startswith(
            report.fmt_pct(m["test_youden"]["accuracy"]))
    page = saved["report.html"].decode()
    assert "83.93%" in page and "0.3490" in page and text("en", "reference_note") in page


@pytest.mark.slow
def test_report_is_one_file_with_every_runs_figures_embedded(built):
    result, _, saved = built
    page = saved["report.html"].decode()
    assert "SYNTHETIC DATA" in page and "NOT ImageNet-pretrained" in page
    assert not re.search(r'<(script|link)[^>]+(src|href)="https?://', page)  # nothing fetched from the web
    assert not re.search(r'<img[^>]+src="(?!data:)', page)  # every image inline
    pngs = re.findall(r'src="data:image/png;base64,([^"]+)"', page)
    assert len(pngs) == page.count("<img ")
    for run_dir in result.runs:
        for figure in ("curves.png", "confusion.png"):
            assert base64.b64encode((run_dir / "figures" / figure).read_bytes()).decode() in pngs
    # per run curves + confusion, plus overlays, ROC/PR, p-values, Grad-CAM, galleries, reliability
    assert len(pngs) >= 2 * len(result.runs) + 5
    assert "R.show_task_e()" not in page and "report.setup(lang)" not in page  # code cells are hidden


@pytest.mark.slow
@needs_browser
def test_chromium_loads_the_report_without_broken_images(built, tmp_path):
    _, _, saved = built
    probe = ('<script>window.addEventListener("load", function () {'
             ' var imgs = Array.from(document.images);'
             ' var broken = imgs.filter(function (i) { return !i.complete || i.naturalWidth === 0; });'
             ' document.body.setAttribute("data-images", imgs.length);'
             ' document.body.setAttribute("data-broken", broken.length); });</script>')
    page = saved["report.html"].decode().replace("</body>", probe + "</body>")
    target = tmp_path / "probe.html"
    target.write_text(page, encoding="utf-8")
    dom = subprocess.run(pipeline.browser_command(BROWSER, str(tmp_path / "profile"), "--virtual-time-budget=10000",
                                                  "--dump-dom", target.as_uri()),
                         capture_output=True, text=True, timeout=120).stdout
    body = re.search(r"<body[^>]*>", dom).group(0)
    assert int(re.search(r'data-images="(\d+)"', body).group(1)) == page.count("<img ")
    assert re.search(r'data-broken="(\d+)"', body).group(1) == "0"


@pytest.mark.slow
@needs_browser
def test_pdf_is_printed_by_chromium(built):
    from pypdf import PdfReader

    result, _, saved = built
    assert result.pdf is not None and result.pdf.name == "report.pdf"
    pdf = saved["report.pdf"]
    assert pdf.startswith(b"%PDF")
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) >= 2
    assert "Task E" in "".join(page.extract_text() for page in reader.pages)


@pytest.mark.slow
def test_zh_tw_report_reuses_finished_runs_and_resumes_an_unfinished_one(built, monkeypatch):
    result, _, _ = built
    finished = {p.name: (p / "metrics.json").stat().st_mtime_ns for p in result.runs}
    unfinished = result.runs[1]
    (unfinished / "COMPLETE").unlink()
    monkeypatch.setattr(pipeline, "find_browser", lambda: None)  # as on a machine without Chromium
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
    assert "Noto Sans CJK TC" in page  # the font stack the page asks for


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
        subprocess.run(pipeline.browser_command(BROWSER, str(tmp_path / f"p{i}"), f"--screenshot={shot}",
                                                "--window-size=400,120", page.as_uri()),
                       capture_output=True, timeout=60)
        shots.append(shot.read_bytes())
    from PIL import Image, ImageChops

    a, b = (Image.open(io.BytesIO(s)).convert("L") for s in shots)
    assert ImageChops.difference(a, b).getbbox() is not None
    # and something dark was drawn at all (not a blank page)
    assert a.getextrema()[0] < 100


def test_cli_wires_report_options_into_build_report(monkeypatch):
    from xray_utils import cli

    seen = {}
    monkeypatch.setattr(pipeline, "build_report", lambda **kw: seen.update(kw))
    assert cli.main(["report", "--backbones", "resnet18,squeezenet1_1", "--modes", "frozen", "--with-scratch",
                     "--dataset", "synthetic", "--img-size", "64", "--epochs", "3", "--weights", "none",
                     "--lang", "zh-TW", "--force", "--out", "x", "--kernel", "k", "--no-pdf",
                     "--extra-config", '{"scheduler": "cosine"}']) == 0
    assert seen == dict(backbones="resnet18,squeezenet1_1", modes="frozen", with_scratch=True, dataset="synthetic",
                        data_dir=None, img_size=64, epochs=3, weights="none", lang="zh-TW",
                        extra={"scheduler": "cosine"}, force=True, out="x", kernel="k", pdf=False)


def test_without_data_offline_the_error_says_where_to_put_it(monkeypatch, tmp_path):
    from xray_utils import data
    from xray_utils.errors import DataError

    def offline(cfg):
        raise DataError("PneumoniaMNIST not found in data/ and the download failed")

    monkeypatch.setattr(data, "load_splits", offline)
    monkeypatch.setattr(pipeline, "check_kernel", lambda kernel: None)
    with pytest.raises(DataError) as e:
        pipeline.build_report(dataset="pneumoniamnist", out=tmp_path, log=lambda _m: None)
    assert "data/README.md" in e.value.hint and "--data-dir" in e.value.hint and "make demo" in e.value.hint


def test_run_config_matches_between_notebook_and_pipeline(tmp_path):
    plans = pipeline.plan_runs("squeezenet1_1", "finetune,frozen", True, tmp_path,  # with the scratch control
                               dict(dataset="synthetic", data_dir=None, img_size=32, epochs=2, weights="none"),
                               TINY, False, "en")
    for plan in plans:
        p = plan.parameters
        again = pipeline.run_config(p["backbone"], p["mode"], p["dataset"], p["data_dir"], p["epochs"],
                                    p["img_size"], p["weights"], p["batch_size"], p["lr"], p["seed"],
                                    p["extra_config"])
        assert again.identity() == plan.cfg.identity()
    assert [p.name for p in plans] == ["squeezenet1_1-finetune", "squeezenet1_1-frozen", "squeezenet1_1-scratch"]
    assert [p.notebook.name for p in plans] == [pipeline.NOTEBOOK_FINETUNE, pipeline.NOTEBOOK_FROZEN,
                                                pipeline.NOTEBOOK_FINETUNE]
    assert [p.cfg.resolved_weights for p in plans] == ["none"] * 3
    imagenet = pipeline.plan_runs("resnet18", "finetune", True, tmp_path, dict(
        dataset="synthetic", data_dir=None, img_size=32, epochs=2, weights="imagenet"), TINY, False, "en")
    # the control always starts from random weights, the transfer runs from the weights asked for
    assert [p.cfg.resolved_weights for p in imagenet] == ["imagenet", "none"]


def test_a_folder_holding_a_run_with_other_settings_is_refused_before_anything_runs(tmp_path):
    plan = pipeline.plan_runs("squeezenet1_1", "finetune", False, tmp_path,
                              dict(dataset="synthetic", data_dir=None, img_size=32, epochs=2, weights="none"),
                              TINY, False, "en")[0]
    plan.cfg.replace(epochs=5).save(plan.run_dir / "config.json")
    with pytest.raises(ConfigError) as e:
        tiny_grid(tmp_path, modes="finetune")
    assert "epochs: 5 -> 2" in e.value.message and "--force" in e.value.hint
    assert not (tmp_path / pipeline.NOTEBOOK_DATA).exists()


def test_demo_is_offline_synthetic_and_random_weights(monkeypatch):
    seen = {}
    monkeypatch.setattr(pipeline, "build_report", lambda **kw: seen.update(kw) or "result")
    monkeypatch.setattr(pipeline, "publish_demo", lambda result, reports, log: seen.update(published=reports))
    pipeline.demo(epochs=1)
    assert seen["published"] == default_project_dir() / "reports"
    assert seen["dataset"] == "synthetic" and seen["weights"] == "none" and seen["epochs"] == 1
    assert seen["img_size"] <= 64 and seen["extra"]["synthetic_train"] <= 240
    assert Path(seen["out"]) == default_project_dir() / "reports" / "demo"


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
