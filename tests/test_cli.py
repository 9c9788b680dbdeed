"""The `xray` command line: one set of training flags everywhere, presets, the grid options, exit codes."""

import json

import pytest

from xray_utils import cli, pipeline, settings
from xray_utils.errors import DataError, XrayError
from xray_utils.pipeline import build
from xray_utils.training import train

# the same run settings, given to every command that trains
RUN_ARGS = ["--dataset", "synthetic", "--img-size", "40", "--epochs", "2", "--weights", "none", "--lr", "0.01",
            "--batch-size", "8", "--resize", "shorter-side", "--select", "last", "--amp", "off", "--no-sync-bn",
            "--class-weights", "--extra-config", '{"scheduler": "cosine"}']


@pytest.fixture
def fit_calls(monkeypatch):
    calls = []
    monkeypatch.setattr(train, "fit", lambda cfg, out, force=False, log=print: calls.append((cfg, out, force, log)))
    return calls


@pytest.fixture
def report_calls(monkeypatch):
    calls = []
    fake = lambda **kw: calls.append(kw) or build.ReportResult(None, None, None)  # noqa: E731
    # the lazy package first: monkeypatch keeps the value it finds to restore it, and pipeline would find
    # (and keep for good) build's fake if build were patched first
    monkeypatch.setattr(pipeline, "build_report", fake)
    monkeypatch.setattr(build, "build_report", fake)
    return calls


def grid_configs(options: dict, tmp_path) -> dict:
    """The RunConfig of every grid cell build_report would train, by run name."""
    keep = {k: v for k, v in options.items() if k not in {"kernel", "pdf", "jobs", "only", "render_only", "log",
                                                           "detail", "out"}}
    return {p.name: p.cfg for p in pipeline.plan_grid(runs_root=tmp_path, **keep)}


def test_train_report_and_demo_build_the_same_run_from_the_same_flags(fit_calls, report_calls, tmp_path):
    assert cli.main(["train", "--backbone", "squeezenet1_1", "--mode", "frozen", "--seed", "2", *RUN_ARGS]) == 0
    trained = fit_calls[0][0]
    assert (trained.lr, trained.batch_size, trained.resize_mode, trained.select, trained.amp) == \
        (0.01, 8, "shorter-side", "last", "off")
    assert (trained.sync_bn, trained.class_weights, trained.scheduler) == (False, True, "cosine")
    for command in ("report", "demo"):
        assert cli.main([command, "--backbones", "squeezenet1_1", "--modes", "frozen", "--seeds", "2", *RUN_ARGS]) == 0
        options = report_calls[-1]
        base = options.pop("base", None)
        cfgs = grid_configs({**options, "base": base}, tmp_path)
        assert list(cfgs) == ["squeezenet1_1-frozen-seed2"]
        got, want = cfgs["squeezenet1_1-frozen-seed2"].identity(), trained.identity()
        if command == "demo":  # its own data sizes sit under the flags
            want |= {k: v for k, v in build.DEMO_SETTINGS.items() if k in ("synthetic_train", "synthetic_test")}
        assert got == want, command


def test_train_defaults_to_the_auto_dataset_and_takes_a_preset(fit_calls, monkeypatch, tmp_path):
    monkeypatch.setattr(settings, "default_project_dir", lambda: tmp_path)
    (tmp_path / "data" / "chest_xray").mkdir(parents=True)
    assert cli.main(["train", "--preset", "quick"]) == 0
    cfg, out, _, _ = fit_calls[0]
    assert (cfg.dataset, cfg.data_dir) == ("folder", str(tmp_path / "data" / "chest_xray"))
    assert (cfg.img_size, cfg.epochs, cfg.train_fraction) == (64, 2, 0.25)
    assert out == tmp_path / "reports" / "runs" / "resnet18-finetune-frac0.25"


def test_config_file_under_flags(fit_calls, tmp_path):
    (tmp_path / "c.json").write_text(json.dumps({"epochs": 4, "lr": 0.2, "dataset": "synthetic"}))
    assert cli.main(["train", "--config", str(tmp_path / "c.json"), "--lr", "0.3", "--out", str(tmp_path / "r")]) == 0
    cfg, out, _, _ = fit_calls[0]
    assert (cfg.epochs, cfg.lr, cfg.dataset) == (4, 0.3, "synthetic")
    assert out == tmp_path / "r"


def test_quiet_turns_progress_and_log_lines_off(fit_calls, capsys):
    assert cli.main(["train", "-q", "--dataset", "synthetic", "--weights", "none"]) == 0
    cfg, _, _, log = fit_calls[0]
    assert cfg.progress is False
    log("epoch 1/10 ...")
    assert "epoch" not in capsys.readouterr().out
    assert cli.main(["-q", "train", "--dataset", "synthetic", "--weights", "none"]) == 0  # before the command too
    assert fit_calls[1][0].progress is False


def test_report_wires_the_grid_options(report_calls):
    assert cli.main(["report", "--backbones", "resnet18,squeezenet1_1", "--modes", "frozen", "--with-scratch",
                     "--seeds", "0,1,2", "--fractions", "0.1,1", "--jobs", "3", "--only", "resnet18-frozen",
                     "--dataset", "synthetic", "--lang", "zh-TW", "--force", "--out", "x", "--kernel", "k",
                     "--no-pdf", "--preset", "quick"]) == 0
    kw = report_calls[0]
    assert {k: kw[k] for k in ("backbones", "modes", "with_scratch", "seeds", "fractions", "jobs", "only",
                               "lang", "force", "out", "kernel", "pdf", "preset", "render_only")} == dict(
        backbones="resnet18,squeezenet1_1", modes="frozen", with_scratch=True, seeds="0,1,2", fractions="0.1,1",
        jobs=3, only="resnet18-frozen", lang="zh-TW", force=True, out="x", kernel="k", pdf=False, preset="quick",
        render_only=False)
    assert kw["dataset"] == "synthetic" and "seed" not in kw and "backbone" not in kw
    assert cli.main(["render", "--seeds", "0,1"]) == 0
    assert report_calls[1]["render_only"] is True and report_calls[1]["seeds"] == "0,1"
    assert cli.main(["report", "--render-only"]) == 0
    assert report_calls[2]["render_only"] is True


def test_list_prints_each_cell_with_its_position_and_state(capsys, tmp_path):
    args = ["report", "--list", "--out", str(tmp_path), "--dataset", "synthetic", "--backbones", "squeezenet1_1",
            "--modes", "finetune", "--seeds", "0,1", "--fractions", "0.5,1"]
    assert cli.main(args) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines == ["0\tsqueezenet1_1-finetune-frac0.5\tnot trained", "1\tsqueezenet1_1-finetune\tnot trained",
                     "2\tsqueezenet1_1-finetune-seed1-frac0.5\tnot trained",
                     "3\tsqueezenet1_1-finetune-seed1\tnot trained"]


def test_exit_codes(monkeypatch, capsys, fit_calls):
    # 2: a usage error, from argparse or from a setting
    with pytest.raises(SystemExit) as e:
        cli.main(["train", "--no-such-flag"])
    assert e.value.code == 2
    assert cli.main(["train", "--dataset", "synthetic", "--lr", "-1"]) == 2
    assert "invalid lr" in capsys.readouterr().err
    assert cli.main(["demo", "--dataset", "folder"]) == 2
    assert "synthetic" in capsys.readouterr().err

    # 1: a runtime failure; 130: Ctrl-C
    def fail(*_a, **_k):
        raise DataError("the data folder is empty", "put images in it")

    monkeypatch.setattr(train, "fit", fail)
    assert cli.main(["train", "--dataset", "synthetic"]) == 1
    err = capsys.readouterr().err
    assert "error: the data folder is empty" in err and "fix: put images in it" in err and "Traceback" not in err

    def interrupt(*_a, **_k):
        raise KeyboardInterrupt

    monkeypatch.setattr(train, "fit", interrupt)
    assert cli.main(["train", "--dataset", "synthetic"]) == 130
    assert "resume" in capsys.readouterr().err


def test_help_documents_the_exit_codes(capsys):
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    out = capsys.readouterr().out
    for code in ("0 ", "1 ", "2 ", "130"):
        assert f"\n  {code}" in out
    with pytest.raises(SystemExit):
        cli.main(["report", "--help"])
    out = " ".join(capsys.readouterr().out.split())  # as one line, whatever the terminal's width
    assert "130 interrupted" in out and "--preset" in out
    assert "quick (img_size 64, epochs 2, train_fraction 0.25)" in out


def test_every_runconfig_flag_reaches_the_config(fit_calls):
    # each flag of RUN_FLAGS/RUN_SWITCHES maps to a RunConfig field that build_config accepts
    assert set(cli.FIELDS) <= settings.FIELDS
    assert cli.main(["train", "--dataset", "synthetic", "--no-augment", "--strict", "--no-feature-cache",
                     "--train-fraction", "0.5", "--early-stopping", "2"]) == 0
    cfg = fit_calls[0][0]
    assert (cfg.augment, cfg.strict, cfg.feature_cache, cfg.train_fraction, cfg.early_stopping) == \
        (False, True, False, 0.5, 2)


def test_xray_error_from_a_report_exits_1(report_calls, monkeypatch):
    def broken(**_kw):
        raise XrayError("01_task_b_finetune.ipynb failed in cell [5]: RuntimeError: boom")

    monkeypatch.setattr(pipeline, "build_report", broken)
    assert cli.main(["report", "--dataset", "synthetic"]) == 1
