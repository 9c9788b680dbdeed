"""`xray render --out DIR` alone re-renders a handed-in report folder with the options that made it.

The notebooks and the browser are replaced by recorders (what runs them is tested in test_pipeline.py): here
only what is rendered, from which runs, with which options, counts.
"""

import json
from pathlib import Path

import pytest

from xray_utils import cli, pipeline
from xray_utils.pipeline import build, grid, notebooks, render

FLAGS = ["--backbones", "squeezenet1_1", "--modes", "finetune,frozen", "--seeds", "0,1", "--dataset", "synthetic",
         "--img-size", "32", "--epochs", "2", "--weights", "none", "--lr", "0.003", "--lang", "zh-TW", "--no-pdf"]
RUNS = ["squeezenet1_1-finetune", "squeezenet1_1-finetune-seed1", "squeezenet1_1-frozen",
        "squeezenet1_1-frozen-seed1"]


@pytest.fixture
def rendered(monkeypatch):
    """Each rendering's analysis parameters (03's), instead of executing notebooks and printing PDFs."""
    seen = []

    def execute(nb, output, parameters, kernel, stream=None, detail=None):
        if Path(nb).name == grid.NOTEBOOK_ANALYSIS:
            seen.append(parameters)
        Path(output).parent.mkdir(parents=True, exist_ok=True)
        Path(output).write_text("{}")
        return output

    def html(executed, target, lang="en", title=None):
        Path(target).write_text(f"<html lang={lang}></html>")
        return Path(target)

    monkeypatch.setattr(notebooks, "check_kernel", lambda kernel: None)
    monkeypatch.setattr(notebooks, "execute_notebook", execute)
    monkeypatch.setattr(build, "check_data_and_weights", lambda cfgs: "synthetic phantoms")
    monkeypatch.setattr(build, "run_sequential_plans", lambda plans, *a: [finish(p) for p in plans])
    # report.json's entries that read the runs' results (fake here) are other tests' business
    monkeypatch.setattr(build, "_banners", lambda plans: [], raising=False)
    monkeypatch.setattr(build, "_audit", lambda plans: {}, raising=False)
    monkeypatch.setattr(render, "render_html", html)
    return seen


def finish(plan) -> None:
    """The run directory a finished run leaves (what the report reads is tested elsewhere)."""
    plan.run_dir.mkdir(parents=True, exist_ok=True)
    plan.cfg.save(plan.run_dir / "config.json")
    (plan.run_dir / "metrics.json").write_text(json.dumps({"run": plan.name, "n": {"test": 1},
                                                           "data_source": "synthetic phantoms"}))
    (plan.run_dir / "predictions.csv").write_text("id,label,p\nx,1,0.9\n")
    (plan.run_dir / "COMPLETE").write_text("{}")


def test_render_with_only_out_rerenders_every_run_with_the_recorded_options(rendered, tmp_path):
    out = tmp_path / "handed-in"
    assert cli.main(["-q", "report", *FLAGS, "--out", str(out)]) == 0
    meta = json.loads((out / "report.json").read_text())
    assert meta["command"].startswith("xray -q report --backbones squeezenet1_1") and "--lr 0.003" in meta["command"]
    assert meta["options"]["lr"] == 0.003 and meta["options"]["seeds"] == "0,1" and meta["options"]["lang"] == "zh-TW"
    assert rendered[-1]["runs"].split(",") == RUNS

    # what a TA does with the folder: no flags but --out
    assert cli.main(["-q", "render", "--out", str(out)]) == 0
    assert rendered[-1]["runs"].split(",") == RUNS and rendered[-1]["lang"] == "zh-TW"
    assert json.loads((out / "report.json").read_text())["command"] == f"xray -q render --out {out}"
    assert cli.main(["-q", "render", "--out", str(out), "--lang", "en"]) == 0  # a language is no grid flag
    assert rendered[-1]["runs"].split(",") == RUNS and rendered[-1]["lang"] == "en"


def test_a_report_json_without_options_rerenders_from_the_runs_configs(rendered, tmp_path, capsys):
    out = tmp_path / "older"
    assert cli.main(["-q", "report", *FLAGS, "--out", str(out)]) == 0
    meta = json.loads((out / "report.json").read_text())
    del meta["options"]  # as an earlier version wrote it
    (out / "report.json").write_text(json.dumps(meta))
    assert cli.main(["render", "--out", str(out)]) == 0
    assert sorted(rendered[-1]["runs"].split(",")) == sorted(RUNS)
    assert "config.json" in capsys.readouterr().out  # it says whose settings it took


def test_render_with_grid_flags_uses_those_not_the_recorded_ones(rendered, tmp_path, capsys):
    out = tmp_path / "r"
    assert cli.main(["-q", "report", *FLAGS, "--out", str(out)]) == 0
    assert cli.main(["render", "--out", str(out), "--epochs", "3"]) == 1  # another grid: none of it there
    assert "none of the grid's" in capsys.readouterr().err


def test_recorded_options_rebuild_the_same_grid(tmp_path):
    options = build.record_options(backbones="resnet18", modes="frozen", seeds=None, fractions="0.5,1",
                                   preset="quick", config_file=None, extra='{"scheduler": "cosine"}', base=None,
                                   lang="en", dataset="synthetic", weights="none")
    back = json.loads(json.dumps(options))
    a = pipeline.plan_grid(runs_root=tmp_path, **{k: v for k, v in back.items() if k != "lang"})
    b = pipeline.plan_grid(runs_root=tmp_path, backbones="resnet18", modes="frozen", fractions="0.5,1",
                           preset="quick", extra='{"scheduler": "cosine"}', dataset="synthetic", weights="none")
    assert [p.cfg for p in a] == [p.cfg for p in b]
