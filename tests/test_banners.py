"""What a reader must not miss: random weights on real data, degenerate runs, and every homework setting.

Runs are built in memory from chosen predictions (no training): the banners, Task E's warning column, the
Findings' sentences, the settings the report lists, and report.json's "banners".
"""

import re
import warnings
from html import escape as html_escape
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from xray_utils import evaluate, report
from xray_utils.config import RunConfig
from xray_utils.report import banners, run_view, settings_view
from xray_utils.report import html as report_html
from xray_utils.report_text import text
from xray_utils.runs import Run

LABELS = np.array([0] * 20 + [1] * 30)
BASE = dict(dataset="folder", data_dir="/data/chest_xray", img_size=32, weights="none", backbone="squeezenet1_1",
            progress=False, num_workers=0)


def run_of(p, tmp: Path = Path("/nonexistent"), ci=None, metrics_extra=None, **config) -> Run:
    """A finished run whose test predictions are ``p`` on LABELS (metrics as evaluate computes them)."""
    cfg = RunConfig(**{**BASE, "mode": "finetune", **config})
    p = np.asarray(p, dtype=float)
    test = evaluate.classification_metrics(LABELS, p, threshold=0.5)
    test["ci"] = ci if ci is not None else {"roc_auc": [max(0.0, test["roc_auc"] - 0.1), test["roc_auc"] + 0.1],
                                            "accuracy": [test["accuracy"] - 0.1, test["accuracy"] + 0.1]}
    ids = [f"test/{i:04d}" for i in range(len(p))]
    metrics = {"run": cfg.run_name, "data_source": "chest X-ray folder /data/chest_xray (val: 10% of train+val, "
               "by patient)", "weights": cfg.resolved_weights, "n": {"train": 40, "val": 8, "test": len(p)},
               "test": test, "test_youden": test, "epochs_run": 2, "best_epoch": 2, "train_seconds": 10.0,
               "timings": {"feature_extraction_s": 200.0 if cfg.mode == "frozen" else 0.0, "total_s": 230.0},
               "compute_dtype": "fp32", "train_images_per_s": 4.0, **(metrics_extra or {})}
    predictions = pd.DataFrame({"id": ids, "patient": ids, "label": LABELS, "p_pneumonia": p,
                                "prediction": (p >= 0.5).astype(int)})
    history = pd.DataFrame({"epoch": [1, 2], "train_loss": [0.7, 0.6], "train_acc": [0.5, 0.6],
                            "val_loss": [0.69, 0.65], "val_acc": [0.5, 0.55], "lr": [1e-3, 1e-3], "seconds": [5, 5]})
    return Run(path=tmp / cfg.run_name, name=cfg.run_name, config=cfg, metrics=metrics, history=history,
               predictions=predictions, val_predictions=predictions.copy())


def good(seed=0):
    rng = np.random.default_rng(seed)
    return np.clip(0.25 + 0.5 * LABELS + rng.normal(0, 0.15, len(LABELS)), 0.01, 0.99)


@pytest.fixture
def shown(monkeypatch):
    out = []
    monkeypatch.setattr(report_html, "display", out.append)
    return out


def page(outputs) -> str:
    return "".join(o.data for o in outputs if hasattr(o, "data") and isinstance(o.data, str))


# ----------------------------------------------------------------------------------------------------
# degenerate runs


def test_a_run_is_degenerate_when_it_predicts_one_class_or_ranks_below_chance_with_its_interval():
    assert banners.degenerate_reasons({"sensitivity": 1.0, "specificity": 0.0, "roc_auc": 0.6}) == ["single_class"]
    assert banners.degenerate_reasons({"sensitivity": 0.0, "specificity": 1.0}) == ["single_class"]
    below = {"sensitivity": 0.4, "specificity": 0.3, "roc_auc": 0.28, "ci": {"roc_auc": [0.2, 0.36]}}
    assert banners.degenerate_reasons(below) == ["below_chance"]
    # below 0.5 but its interval reaches 0.5: chance is not ruled out, so not flagged
    assert banners.degenerate_reasons({**below, "ci": {"roc_auc": [0.2, 0.55]}}) == []
    assert banners.degenerate_reasons({"sensitivity": 0.8, "specificity": 0.7, "roc_auc": 0.8}) == []
    assert banners.degenerate_reasons({"sensitivity": None, "specificity": None, "roc_auc": None}) == []


# ----------------------------------------------------------------------------------------------------
# the banners: report top, Findings, report.json


def test_random_weights_on_real_data_show_a_banner_at_the_top_and_above_the_findings(shown, monkeypatch):
    from xray_utils.report import shortcut_view

    monkeypatch.setattr(shortcut_view, "finding_sentences", lambda _r: [])  # it reads checkpoints these runs lack
    runs = [run_of(good(0), mode="finetune"), run_of(good(1), mode="frozen")]
    r = report.Report(runs, lang="en")
    assert banners.shown(r.all_runs) == ["random_weights"]
    r.show_header()
    r.show_findings()
    html = page(shown)
    banner_html = banners.banners_html("en", r.all_runs)
    assert 'class="xray-banner"' in banner_html and html.count(banner_html) == 2
    top = html.index(banner_html)
    assert top < html.index("Data:")  # above the header lines, as the synthetic banner
    assert html.index(banner_html, top + 1) > html.index('id="findings"')
    # the findings' fine-tune vs frozen sentence says what the comparison is
    (sentence,) = [s for s in r.findings() if s.startswith("squeezenet1_1, ")]
    assert "training from scratch" in sentence and "random fixed feature extractor" in sentence


def test_imagenet_weights_or_synthetic_data_show_no_random_weights_banner():
    pretrained = [run_of(good(0), weights="imagenet"), run_of(good(1), mode="frozen", weights="imagenet")]
    assert banners.shown(pretrained) == []
    synthetic = [run_of(good(0), dataset="synthetic", data_dir=None),
                 run_of(good(1), mode="frozen", dataset="synthetic", data_dir=None)]
    assert banners.shown(synthetic) == ["synthetic"]
    scratch_only = [run_of(good(0), mode="scratch")]  # scratch is random by design: a control, not a mistake
    assert banners.shown(scratch_only) == []
    findings = report.Report(pretrained).findings()
    assert not any("random" in s for s in findings)


def test_degenerate_runs_are_flagged_in_task_e_and_the_findings_in_both_languages(shown):
    constant = np.full(len(LABELS), 0.9)  # calls every image PNEUMONIA: specificity 0
    inverted = 1 - good(2)  # ranks below chance
    runs = [run_of(good(0)), run_of(constant, mode="frozen"),
            run_of(inverted, mode="scratch", ci={"roc_auc": [0.0, 0.1]})]
    for lang in ("en", "zh-TW"):
        shown.clear()
        r = report.Report(runs, lang=lang)
        assert banners.degenerate_runs(r.runs) == {"squeezenet1_1-frozen": ["single_class"],
                                                   "squeezenet1_1-scratch": ["below_chance"]}
        assert banners.shown(r.all_runs) == ["random_weights", "degenerate_runs"]
        r.show_task_e()
        html = page(shown)
        assert text(lang, "col_degenerate") in html
        assert html.count("⚠ " + text(lang, "degenerate_short_single_class")) == 2  # Task E's two tables
        assert html.count("⚠ " + text(lang, "degenerate_short_below_chance")) == 2
        assert text(lang, "degenerate_short_below_chance") in html
        findings = r.findings()
        assert findings[0] == text(lang, "degenerate_run", run="squeezenet1_1-frozen",
                                   why=text(lang, "degenerate_single_class"))
        assert findings[1].startswith(text(lang, "degenerate_run", run="squeezenet1_1-scratch", why="")[:20])


def test_report_json_lists_the_banners_of_the_run_directories(tmp_path):
    from xray_utils.training import train

    cfg = RunConfig(dataset="synthetic", synthetic_train=40, synthetic_test=30, img_size=32, batch_size=16,
                    weights="none", progress=False, num_workers=0, epochs=1, backbone="squeezenet1_1")
    train.fit(cfg, tmp_path / cfg.run_name, log=lambda _m: None)
    shown_here = banners.shown_for([tmp_path / cfg.run_name, tmp_path / "missing"])
    assert shown_here[0] == "synthetic" and set(shown_here) <= set(banners.BANNERS)
    assert banners.shown_for([tmp_path / "missing"]) == []


# ----------------------------------------------------------------------------------------------------
# settings: every homework setting, times, the data line


def test_every_homework_setting_is_shown_per_run_or_as_the_same_for_every_run(shown):
    runs = [run_of(good(0)), run_of(good(1), mode="frozen")]
    r = report.Report(runs, lang="en")
    r.show_settings()
    html = page(shown)
    for expected in ("weight decay 0.002", "Resize((37, 37)) bicubic + CenterCrop(32)",
                     "ColorJitter(brightness 0.2, contrast 0.2, saturation 0.2, hue 0.1)", "optimizer adamw",
                     "dropout 0.5"):
        assert expected in html, expected
    rows = {row["run"]: row for row in settings_view.settings_rows(r)}
    assert rows["squeezenet1_1-frozen"]["train_time"] == "3.5 min"  # 10 s of epochs + 200 s extracting features
    assert rows["squeezenet1_1-finetune"]["train_time"] == "10.0 s"
    assert html_escape(text("en", "total_time", n=2, total="7.7 min")) in html  # 2 x 230 s
    shorter = run_of(good(2), mode="frozen", resize_mode="shorter-side", augment=False, seed=1)
    assert settings_view.resize_recipe(shorter.config) == "Resize(37) bicubic + CenterCrop(32)"
    assert settings_view.augment_recipe(shorter.config, r) == "no"


def test_the_data_line_is_in_the_reports_language():
    source = ("chest X-ray folder /data/chest_xray (val: 10% of train+val, by patient); train fraction 0.25: "
              "1,000 of 4,000 images, 100 of 400 patients (seed 0)")
    assert settings_view.data_line("en", source) == source
    zh = settings_view.data_line("zh-TW", source)
    assert "/data/chest_xray" in zh and "1,000" in zh and "400" in zh
    assert not re.search(r"[A-Za-z]{4,}", zh.replace("/data/chest_xray", "")), zh  # no English words left
    mnist = settings_view.data_line("zh-TW", "PneumoniaMNIST 28x28 px from /d/p.npz, upscaled to 224 px "
                                             "(official train/val/test splits)")
    assert text("zh-TW", "src_upscaled", size=224) in mnist and "official" not in mnist


def test_show_config_lists_only_the_settings_that_apply():
    plain = [row["setting"] for row in run_view.config_rows(RunConfig())]
    for absent in ("momentum", "step_size", "gamma", "mnist_size", "synthetic_train", "feature_views", "sync_bn",
                   "progress", "num_workers", "cache_dir", "strict"):
        assert absent not in plain, absent
    assert {"weight_decay", "jitter", "dropout", "optimizer", "resize"} <= set(plain)
    assert len(plain) < len(RunConfig().to_dict()) - 10
    sgd = [row["setting"] for row in run_view.config_rows(RunConfig(optimizer="sgd", scheduler="step"))]
    assert {"momentum", "step_size", "gamma"} <= set(sgd)
    values = {row["setting"]: row["value"] for row in run_view.config_rows(RunConfig(mode="scratch"))}
    assert values["weights"] == "none" and values["resize"] == 256


def test_a_small_pneumoniamnist_file_upscaled_to_the_crop_size_is_warned_about(tmp_path):
    from xray_utils import data

    rng = np.random.default_rng(0)
    arrays = {f"{s}_images": rng.integers(0, 255, (10, 28, 28), dtype=np.uint8) for s in ("train", "val", "test")}
    arrays |= {f"{s}_labels": (np.arange(10) % 2).reshape(-1, 1).astype(np.uint8) for s in ("train", "val", "test")}
    np.savez(tmp_path / "pneumoniamnist.npz", **arrays)
    cfg = RunConfig(dataset="pneumoniamnist", data_dir=str(tmp_path), img_size=64, progress=False, num_workers=0)
    with pytest.warns(UserWarning, match=r"28x28 px images, upscaled to 64 px.*--mnist-size 64"):
        splits = data.load_splits(cfg)
    assert "upscaled to 64 px" in splits.source
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # at its own size: no warning
        assert "upscaled" not in data.load_splits(cfg.replace(img_size=28)).source
