"""The report's numbers, tables and generated sentences.

Real (tiny) runs where the run directory matters (loading, figures, the paired tests on real predictions);
runs built in memory from chosen predictions elsewhere (seeds, settings, the HW3 rule); and the findings as
pure functions of a ``Comparison``.
"""

import copy
import string
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from xray_utils import evaluate, plots, report, report_text
from xray_utils.config import RunConfig
from xray_utils.errors import ConfigError, XrayError
from xray_utils.report import (
    findings,
    gradcam_view,
    learning_view,
    overfitting_view,
    settings_view,
    statistics_view,
    task_e,
    tasks_view,
)
from xray_utils.report import html as report_html
from xray_utils.report.findings import Comparison, PairTest, RunResult
from xray_utils.report_text import text
from xray_utils.runs import Run, RunDir
from xray_utils.training import train

TINY = dict(dataset="synthetic", synthetic_train=40, synthetic_test=30, img_size=32, batch_size=16,
            weights="none", progress=False, num_workers=0, lr=1e-3, epochs=1)
REFERENCE = dict(name="HW3", accuracy=0.8393, loss=0.3490)


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    for mode in ("finetune", "frozen", "scratch"):
        cfg = RunConfig(**TINY, backbone="squeezenet1_1", mode=mode)
        train.fit(cfg, root / cfg.run_name, log=lambda _m: None)
    return root


@pytest.fixture
def shown(monkeypatch):
    """Every object the report displays, in order (instead of a notebook's outputs)."""
    out = []
    monkeypatch.setattr(report_html, "display", out.append)
    return out


# ----------------------------------------------------------------------------------------------------
# runs built in memory


def make_run(tmp: Path, y, p, patients=None, metrics_extra=None, **config) -> Run:
    """A finished run with the given test labels and probabilities; metrics computed as training does."""
    cfg = RunConfig(**{**TINY, "backbone": "squeezenet1_1", "mode": "finetune", **config})
    y, p = np.asarray(y), np.asarray(p, dtype=float)
    ids = [f"test/{i:04d}" for i in range(len(y))]
    patients = ids if patients is None else list(patients)

    def at(t):
        m = evaluate.classification_metrics(y, p, threshold=t)
        m["ci"] = evaluate.bootstrap_ci(y, p, threshold=t, n_boot=200, seed=cfg.seed, groups=patients)
        return m

    metrics = {"run": cfg.run_name, "data_source": "test data", "weights": cfg.resolved_weights,
               "n": {"train": 40, "val": 8, "test": len(y)}, "threshold_youden": 0.5, "test": at(0.5),
               "test_youden": at(0.5), "epochs_run": 1, "best_epoch": 1, "train_seconds": 1.0,
               "compute_dtype": "fp32", "train_images_per_s": 40.0, **(metrics_extra or {})}
    predictions = pd.DataFrame({"id": ids, "patient": patients, "label": y, "p_pneumonia": p,
                                "prediction": (p >= 0.5).astype(int)})
    history = pd.DataFrame({"epoch": [1, 2], "train_loss": [0.7, 0.6], "train_acc": [0.5, 0.6],
                            "val_loss": [0.69, 0.65], "val_acc": [0.5, 0.55], "lr": [1e-3, 1e-3],
                            "seconds": [1.0, 1.0]})
    return Run(path=tmp / cfg.run_name, name=cfg.run_name, config=cfg, metrics=metrics, history=history,
               predictions=predictions, val_predictions=predictions.copy())


def noisy(y, accuracy: float, seed: int) -> np.ndarray:
    """Probabilities right on about ``accuracy`` of the images."""
    rng = np.random.default_rng(seed)
    right = rng.random(len(y)) < accuracy
    confidence = rng.uniform(0.55, 0.95, len(y))
    return np.where(right == (np.asarray(y) == 1), confidence, 1 - confidence)


LABELS = np.array([0] * 20 + [1] * 30)


# ----------------------------------------------------------------------------------------------------
# texts and numbers


def fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_both_languages_have_every_text_with_the_same_placeholders():
    en, zh = report_text.TEXTS["en"], report_text.TEXTS["zh-TW"]
    assert set(en) == set(zh)
    for key in en:
        assert fields(en[key]) == fields(zh[key]), key  # a translation must not drop or invent a number
    with pytest.raises(ConfigError, match="fr"):
        text("fr", "title")


def test_every_disclosed_setting_has_a_name_and_a_sentence_in_both_languages():
    for setting in settings_view._all_settings():
        for prefix in ("set_", "eff_"):
            assert report_text.has_text(prefix + setting.key), prefix + setting.key


def test_a_frozen_run_on_stored_features_has_its_training_speed_marked(tmp_path):
    y = LABELS
    extracted = make_run(tmp_path, y, noisy(y, 0.8, 0), mode="frozen", metrics_extra={"features_reused": 0})
    stored = make_run(tmp_path, y, noisy(y, 0.8, 1), mode="frozen", train_fraction=0.5,
                      metrics_extra={"features_reused": 3, "train_images_per_s": 9000.0})
    rows = {r["run"]: r["speed"] for r in settings_view.settings_rows(report.Report([extracted, stored]))}
    assert rows[extracted.name] == "40.0"
    assert rows[stored.name] == "9000.0 (" + text("en", "speed_stored_features") + ")"


def test_numbers_are_formatted_one_way():
    assert report.fmt_pct(0.8393) == "83.93%"
    assert report.fmt_num(0.349) == "0.3490"
    assert report.fmt_metric("accuracy", 0.5) == "50.00%" and report.fmt_metric("roc_auc", 0.5) == "0.5000"
    assert report.fmt_ci("sensitivity", [0.81, 0.9]) == "[81.0%, 90.0%]"  # bounds to the resampling's precision
    assert report.fmt_ci("roc_auc", [0.91234, 1.0]) == "[0.912, 1.000]"
    from xray_utils.report.html import fmt_threshold
    assert (fmt_threshold(0.5), fmt_threshold(0.99995), fmt_threshold(1.0)) == ("0.500", "0.9999500", "1.000")
    assert report.fmt_p(0.00001) == "< 0.0001" and report.fmt_p(0.04567) == "0.0457"
    assert report.fmt_pp(-0.0123) == "-1.23" and report.fmt_metric("f1", None) == "n/a"
    # a difference that rounds to zero has no sign to give: "-0.00 pp" read as "slightly worse" in the report
    assert report.fmt_pp(-0.00001) == "+0.00" and learning_view.fmt_diff("accuracy", -1e-7) == "+0.00 pp"
    assert overfitting_view.fmt_gap_pp(-0.0001) == "+0.0 pp"
    assert learning_view.fmt_diff("roc_auc", -0.00512) == "-0.0051"
    assert report.fmt_mean_sd("accuracy", 0.85, 0.012) == "85.00% ± 1.20 pp"
    assert report.fmt_mean_sd("loss", 0.35, 0.0123) == "0.3500 ± 0.0123"
    assert report.fmt_mean_sd("accuracy", 0.85, None) == "85.00%"  # one seed: no spread to show


# ----------------------------------------------------------------------------------------------------
# real runs on disk


def test_load_picks_the_named_runs_and_refuses_unfinished_ones(root):
    r = report.Report.load(root, "squeezenet1_1-frozen,squeezenet1_1-finetune", reference=REFERENCE)
    assert r.names == ["squeezenet1_1-frozen", "squeezenet1_1-finetune"]
    assert len(report.Report.load(root).runs) == 3
    with pytest.raises(XrayError, match="not a complete run"):
        report.Report.load(root, "resnet18-finetune")
    with pytest.raises(XrayError, match="no complete runs"):
        report.Report.load(root / "nothing-here")


def test_task_e_rows_carry_each_runs_metrics(root):
    r = report.Report.load(root, reference=REFERENCE)
    rows = task_e.task_e_rows(r, "test")
    assert [row["run"] for row in rows] == r.names  # synthetic data: no HW3 row
    for run, row in zip(r.runs, rows, strict=True):
        assert row["accuracy"].startswith(f'<span class="value">{100 * run.metrics["test"]["accuracy"]:.2f}%')
    youden = task_e.task_e_rows(r, "test_youden")
    assert youden[0]["threshold"] == report.html.fmt_threshold(r.runs[0].metrics["threshold_youden"])


def test_header_says_plainly_when_weights_were_not_pretrained(root):
    r = report.Report.load(root)
    assert r.is_synthetic()
    assert "NOT ImageNet-pretrained" in settings_view.weights_sentence(r)
    assert any("*-scratch" in line for line in settings_view.header_lines(r))
    assert "並未使用 ImageNet" in settings_view.weights_sentence(report.Report(r.runs, "zh-TW"))


def test_figures_are_png_outputs_and_reading_a_run_writes_nothing(root, shown, monkeypatch):
    r = report.Report.load(root)
    r.show_task_bc()
    images = [o for o in shown if type(o).__name__ == "Image"]
    assert len(images) == 2 * len(r.runs) and all(o.format == "png" for o in images)
    assert all(o.data.startswith(b"\x89PNG") for o in images)
    assert not any(RunDir(run.path).figures.exists() for run in r.runs)  # drawn in memory, not saved
    # the training notebooks' explicit call saves them (in the notebook's language); the report still draws
    # its own from the run's data, in the report's language
    curves, confusion = report.save_run_figures(r.runs[0].path)
    drawn = []
    real = plots.training_curves
    monkeypatch.setattr(plots, "training_curves", lambda *a, **k: drawn.append(k["lang"]) or real(*a, **k))
    shown.clear()
    report.Report.load(root, lang="zh-TW").show_task_bc()
    assert drawn == ["zh-TW"] * len(r.runs)
    assert curves.read_bytes() not in [o.data for o in shown if type(o).__name__ == "Image"]


def test_roc_legend_quotes_the_tables_auc(root):
    r = report.Report.load(root)
    labels = tasks_view.legend_labels(r)
    rows = {row["run"]: row for row in task_e.task_e_rows(r, "test")}
    for run in r.runs:
        auc = report.fmt_num(run.metrics["test"]["roc_auc"])
        assert labels[run.config.run_kind][0] == f"{run.config.run_kind} (AUC {auc})"
        assert f'<span class="value">{auc}</span>' in rows[run.name]["roc_auc"]
    fig = plots.roc_pr_spread({kind: [(run.y, run.p) for run in runs] for kind, runs in r.kinds.items()}, labels)
    roc_axes = fig.axes[0]
    assert [t.get_text() for t in roc_axes.get_legend().get_texts()] == [labels[kind][0] for kind in r.kinds]


def test_pairwise_sentences_follow_the_holm_corrected_paired_p_values(root):
    r = report.Report.load(root)
    df = r.pairwise()
    assert len(df) == 3
    cmp = r.comparison()
    for row, sentence in zip(df.itertuples(index=False), findings.pair_sentences(cmp), strict=True):
        assert sentence.startswith(f"{row.a} vs {row.b}")
        assert sentence.endswith(("not significant at 0.05." if row.p_holm >= 0.05 else "significant at 0.05."))
    joined = " ".join(r.findings())
    assert f"{int((df['p_holm'] < 0.05).sum())} of 3 pairwise differences are significant" in joined
    assert any(s.startswith("squeezenet1_1: fine-tune reached") for s in r.findings())
    assert text("en", "one_seed") in joined


def test_findings_in_traditional_chinese(root):
    joined = "".join(report.Report.load(root, lang="zh-TW", reference=REFERENCE).findings())
    assert "準確率最佳" in joined or "準確率同為" in joined


def test_confident_mistakes_are_wrong_and_sorted(root):
    run = report.Report.load(root).runs[0]
    wrong = gradcam_view.confident_mistakes(run, 5)
    assert (wrong["prediction"] != wrong["label"]).all()
    confidence = (wrong["p_pneumonia"] - wrong["label"]).abs().to_list()
    assert confidence == sorted(confidence, reverse=True)
    assert len(wrong) == min(5, int((run.predictions["prediction"] != run.predictions["label"]).sum()))


def test_every_backbone_has_a_traditional_chinese_description():
    from xray_utils import models
    from xray_utils.report_text import DESCRIPTIONS_ZH_TW, description

    assert set(DESCRIPTIONS_ZH_TW) == set(models.SPECS)
    assert description("en", "resnet18", models.SPECS["resnet18"].description) == models.SPECS["resnet18"].description
    assert "殘差" in description("zh-TW", "resnet18", models.SPECS["resnet18"].description)


# ----------------------------------------------------------------------------------------------------
# runs in memory: grouping, seeds, settings, the reference, patients


def test_runs_on_different_test_sets_are_not_compared(tmp_path):
    a = make_run(tmp_path, LABELS, noisy(LABELS, 0.8, 0))
    b = make_run(tmp_path, LABELS[:40], noisy(LABELS[:40], 0.8, 1), mode="frozen")
    with pytest.raises(XrayError, match="different images"):
        report.Report([a, b])


def test_learning_curve_runs_stay_out_of_tasks_b_to_e(tmp_path):
    full = make_run(tmp_path, LABELS, noisy(LABELS, 0.8, 0))
    part = make_run(tmp_path, LABELS, noisy(LABELS, 0.7, 1), train_fraction=0.5)
    r = report.Report([full, part])
    assert r.names == [full.name] and [x.name for x in r.learning_runs] == [part.name]
    assert [x.name for x in r.all_runs] == [full.name, part.name]
    assert [row["run"] for row in task_e.task_e_rows(r)] == [full.name]
    only_part = report.Report([part])  # every run on the same share (--preset quick): those are Tasks B-E's
    assert only_part.names == [part.name] and only_part.learning_runs == []


def seeded(tmp_path, accuracies: dict[str, list[float]]) -> list[Run]:
    """Runs of the given kinds ("finetune", "frozen"), one per seed, with roughly these accuracies."""
    return [make_run(tmp_path, LABELS, noisy(LABELS, acc, 10 * k + seed), mode=mode, seed=seed)
            for k, (mode, accs) in enumerate(accuracies.items()) for seed, acc in enumerate(accs)]


def test_seeds_are_repeats_shown_as_mean_sd_and_each_value(tmp_path, shown):
    r = report.Report(seeded(tmp_path, {"finetune": [0.9, 0.8, 0.85], "frozen": [0.7, 0.75]}))
    assert list(r.kinds) == ["squeezenet1_1-finetune", "squeezenet1_1-frozen"] and r.has_seeds
    assert [run.config.seed for run in r.main] == [0, 0]  # the lowest seed represents its kind
    rows = {row["kind"]: row for row in tasks_view.seed_rows(r)}
    accs = [run.metrics["test"]["accuracy"] for run in r.kinds["squeezenet1_1-finetune"]]
    cell = rows["squeezenet1_1-finetune"]["accuracy"]
    assert report.fmt_mean_sd("accuracy", np.mean(accs), np.std(accs, ddof=1)) in cell
    assert " / ".join(report.fmt_pct(a) for a in accs) in cell  # each seed's value, lowest seed first
    assert rows["squeezenet1_1-finetune"]["seeds"] == "0, 1, 2"
    r.show_seeds()
    assert any(type(o).__name__ == "Image" for o in shown)  # the dot plot
    aucs = [run.metrics["test"]["roc_auc"] for run in r.kinds["squeezenet1_1-finetune"]]
    mean, sd = report.fmt_num(np.mean(aucs)), report.fmt_num(np.std(aucs, ddof=1))
    roc_legend = tasks_view.legend_labels(r)["squeezenet1_1-finetune"][0]
    assert roc_legend == f"squeezenet1_1-finetune (AUC {mean} ± {sd}, 3 seeds)"


def test_one_seed_says_the_spread_is_not_measured(tmp_path, shown):
    r = report.Report(seeded(tmp_path, {"finetune": [0.9], "frozen": [0.7]}))
    r.show_seeds()
    assert text("en", "seeds_one", seeds="0") in shown[0].data


def test_disclosure_lists_what_differs_from_the_homework_with_its_effect(tmp_path):
    runs = [make_run(tmp_path, LABELS, noisy(LABELS, 0.8, 0), metrics_extra={"compute_dtype": "bf16"}),
            make_run(tmp_path, LABELS, noisy(LABELS, 0.8, 1), mode="frozen", feature_views=3, class_weights=True,
                     select="last")]
    r = report.Report(runs)
    rows = {row["key"]: row for row in settings_view.disclosure_rows(r)}
    # always shown: precision, resize, the epoch evaluated, frozen runs' feature views
    assert rows["precision"]["value"] == "bf16 (squeezenet1_1-finetune); fp32 (squeezenet1_1-frozen)"
    assert rows["precision"]["homework"] == "fp32" and rows["precision"]["differs"]
    assert rows["resize_mode"]["value"] == "square" and not rows["resize_mode"]["differs"]
    assert rows["select"]["homework"] == text("en", "select_last")  # the homework evaluated its last epoch
    assert text("en", "select_best") in rows["select"]["value"]
    assert rows["feature_views"]["value"] == text("en", "views_stored", k=3)
    assert rows["feature_views"]["homework"] == text("en", "views_fresh")
    # shown because they differ, each with its sentence
    assert rows["class_weights"]["effect"] == text("en", "eff_class_weights")
    assert rows["img_size"]["value"] == "32 / 37" and rows["img_size"]["homework"] == "224 / 256"
    assert rows["epochs"]["homework"] == "10"
    # the homework's own values are not listed
    assert "val_split" not in rows and "early_stopping" not in rows and "world" not in rows


def test_hw3_row_only_on_kaggles_test_set_at_224_px(tmp_path):
    assert findings.reference_mismatches("en", ["folder"] * 2, [224, 224], (234, 390)) == []
    why = findings.reference_mismatches("en", ["synthetic"], [64], (10, 20))
    assert len(why) == 3 and "synthetic" in why[0] and "64" in why[2]
    assert len(findings.reference_mismatches("en", ["folder"], [224], (230, 390))) == 1  # another test set

    kaggle_labels = np.array([0] * 234 + [1] * 390)
    kaggle = make_run(tmp_path, kaggle_labels, noisy(kaggle_labels, 0.85, 0), dataset="folder", img_size=224)
    r = report.Report([kaggle], reference=REFERENCE)
    ref = task_e.task_e_rows(r)[-1]
    assert ref["_reference"] and ref["accuracy"] == "83.93%" and ref["loss"] == "0.3490"
    assert ref["run"] == "the earlier homework's model (HW3), reported, not computed here"
    assert not any(row.get("_reference") for row in task_e.task_e_rows(r, "test_youden"))  # the 0.5 table only
    assert task_e.reference_left_out(r) is None
    assert any("HW3" in s for s in r.findings())

    small = report.Report([make_run(tmp_path, LABELS, noisy(LABELS, 0.85, 0))], reference=REFERENCE)
    assert not any(row.get("_reference") for row in task_e.task_e_rows(small))
    sentence = task_e.reference_left_out(small)
    assert "left out" in sentence and "83.93%" in sentence and "image size 32 px" in sentence
    assert not any("HW3" in s for s in small.findings())
    assert "from-scratch" not in " ".join(report_text.EN.values())  # the homework never says so


def test_patients_come_from_the_predictions_and_set_the_statistics_unit(tmp_path):
    patients = [f"p{i // 3}" for i in range(len(LABELS))]
    runs = [make_run(tmp_path, LABELS, noisy(LABELS, 0.8, 0), patients=patients,
                     metrics_extra={"bootstrap": evaluate.bootstrap_method(patients)}),
            make_run(tmp_path, LABELS, noisy(LABELS, 0.7, 1), patients=patients, mode="frozen")]
    r = report.Report(runs)
    assert list(r.patients) == patients
    assert statistics_view.bootstrap_sentence(r) == text("en", "bootstrap_patient", units=17, n=1000)
    assert {"p_holm", "p_mcnemar"} <= set(r.pairwise().columns)
    legacy = copy.deepcopy(runs[0])
    legacy.predictions = legacy.predictions.drop(columns="patient")
    del legacy.metrics["bootstrap"]
    r = report.Report([legacy])
    assert list(r.patients) == list(legacy.predictions["id"])  # each image its own patient
    assert statistics_view.bootstrap_sentence(r) == text("en", "bootstrap_image", units=len(LABELS), n=1000)


# ----------------------------------------------------------------------------------------------------
# findings: pure functions of a Comparison


def result(name: str, accuracy: float, ci=(None, None), seed: int = 0, mode: str = "finetune", **test) -> RunResult:
    kind = f"squeezenet1_1-{mode}"
    return RunResult(name=name, kind=kind, backbone="squeezenet1_1", mode=mode, seed=seed,
                     test={"accuracy": accuracy, **test}, ci={"accuracy": list(ci)})


def test_a_lead_is_judged_against_the_intervals_with_one_seed():
    apart = Comparison("en", (result("a", 0.95, (0.92, 0.98)), result("b", 0.80, (0.75, 0.85), mode="frozen")))
    sentence = findings.best_sentence(apart, "accuracy")
    assert sentence.startswith("Best accuracy: a with 95.00% (95% CI 92.0% to 98.0%).")
    assert "exceeds the test-set sampling uncertainty" in sentence and "b (80.00%" in sentence
    close = Comparison("en", (result("a", 0.90, (0.84, 0.95)), result("b", 0.88, (0.82, 0.93), mode="frozen")))
    assert "intervals cannot tell them apart" in findings.best_sentence(close, "accuracy")
    tied = Comparison("en", (result("a", 0.9), result("b", 0.9, mode="frozen")))
    assert findings.best_sentence(tied, "accuracy") == "a, b tie on accuracy at 90.00%."


def test_a_lead_no_larger_than_the_spread_across_seeds_is_not_a_win():
    runs = (result("a", 0.80), result("a-seed1", 0.90, seed=1),  # mean 85%, SD 7.07 pp
            result("b", 0.82, mode="frozen"), result("b-seed1", 0.84, seed=1, mode="frozen"))  # mean 83%
    significant = (PairTest("a", "b", diff=-0.02, lo=-0.03, hi=-0.01, p_holm=0.001),)
    cmp = Comparison("en", runs, significant)
    sentence = findings.best_sentence(cmp, "accuracy")
    assert sentence.startswith("Best accuracy: squeezenet1_1-finetune with 85.00% ± 7.07 pp over 2 seeds.")
    assert "is 2.00 pp, no larger than the spread across seeds (SD up to 7.07 pp): not a win." in sentence
    assert findings.verdict(cmp, significant[0]) == text("en", "significant_within_seeds")  # p alone is not enough
    assert findings.pair_summary(cmp)[1] == text("en", "pair_summary_seeds", w=0, k=1)

    clear = Comparison("en", (result("a", 0.90, (0.86, 0.94)), result("a-seed1", 0.91, seed=1),
                              result("b", 0.80, (0.75, 0.85), mode="frozen"),
                              result("b-seed1", 0.81, seed=1, mode="frozen")),
                       (PairTest("a", "b", diff=0.1, lo=0.05, hi=0.15, p_holm=0.001),))
    assert "larger than the spread across seeds (SD up to 0.71 pp), and the 95% test-set intervals do not overlap" \
        in findings.best_sentence(clear, "accuracy")
    # beyond the seeds' spread but not beyond the test set's uncertainty: not a win
    close = Comparison("en", (result("a", 0.90, (0.85, 0.95)), result("a-seed1", 0.91, seed=1),
                              result("b", 0.87, (0.82, 0.92), mode="frozen"),
                              result("b-seed1", 0.88, seed=1, mode="frozen")))
    assert "within the test set's uncertainty" in findings.best_sentence(close, "accuracy")
    assert findings.verdict(clear, clear.pairs[0]) == text("en", "significant")
    assert text("en", "one_seed") not in findings.findings(clear)


def test_paired_sentence_reads_the_pair_in_either_order():
    cmp = Comparison("en", (result("a", 0.9), result("b", 0.8, mode="frozen")),
                     (PairTest("b", "a", diff=-0.1, lo=-0.15, hi=-0.05, p_holm=0.2),))
    sentence = findings.paired_sentence(cmp, "a", "b")
    assert "accuracy difference +10.00 percentage points (95% CI +5.00 to +15.00)" in sentence
    assert sentence.endswith("p = 0.2000 (Holm-corrected): not significant at 0.05.")
    assert findings.paired_sentence(cmp, "a", "c") is None


def test_reference_and_youden_sentences():
    runs = (RunResult("a", "k-finetune", "k", "finetune", 0, {"accuracy": 0.9, "sensitivity": 0.8},
                      {"accuracy": [0.85, 0.95]}, youden_sensitivity=0.9),
            RunResult("b", "k-frozen", "k", "frozen", 0, {"accuracy": 0.8, "sensitivity": 0.9},
                      {"accuracy": [0.75, 0.85]}, youden_sensitivity=0.85))
    cmp = Comparison("en", runs, reference=findings.Reference("HW3", 0.8393, 0.3490))
    assert findings.reference_sentence(cmp) == text("en", "reference_compare", name="HW3", ref="83.93%",
                                                    ref_loss="0.3490", above=1, n=2, sure=1)
    assert findings.youden_sentence(cmp) == text("en", "youden_shift", lo="-5.00", hi="+10.00")
    assert findings.reference_sentence(Comparison("en", runs)) is None


# ----------------------------------------------------------------------------------------------------
# the Task E table reads the metric registry


def test_a_metric_registered_alone_appears_in_task_e_with_its_interval(tmp_path, monkeypatch):
    """One registry entry (and its texts) is all a new metric needs: its column, value and 95% interval
    reach both Task E tables and the training notebooks' table, computed from predictions.csv."""
    from xray_utils import metrics

    p = noisy(LABELS, 0.8, 0)
    run = make_run(tmp_path, LABELS, p)
    mean_p = metrics.Metric("mean_p", "metric_mean_p", "num", "mean", True, None,
                            lambda y, p, threshold, w, logits=None: (w @ p) / w.sum(1))
    for table in (report_text.EN, report_text.ZH_TW):
        monkeypatch.setitem(table, "metric_mean_p", "mean P(pneumonia)")
    metrics.register(mean_p)
    try:
        r = report.Report([run])
        assert ("mean_p", "mean P(pneumonia)") in task_e.task_e_columns(r)
        values = r.task_e("test")[run.name]
        lo, hi = values["ci"]["mean_p"]
        # independently: the mean, and a normal interval for a mean stratified by class (the bootstrap
        # resamples within class; every image is its own patient here)
        n = len(p)
        se = np.sqrt(sum((LABELS == k).sum() ** 2 * p[LABELS == k].var(ddof=1) / (LABELS == k).sum()
                         for k in (0, 1))) / n
        assert values["mean_p"] == pytest.approx(p.mean())
        assert lo < p.mean() < hi
        assert (lo, hi) == pytest.approx((p.mean() - 1.96 * se, p.mean() + 1.96 * se), abs=0.25 * 1.96 * se)
        cell = task_e.task_e_rows(r, "test")[0]["mean_p"]
        assert f'<span class="value">{p.mean():.4f}</span>' in cell and f"[{lo:.3f}, {hi:.3f}]" in cell
        assert "[" in task_e.task_e_rows(r, "test_youden")[0]["mean_p"]
        assert 'data-metric="mean_p"' in task_e.run_table(run) and 'data-metric="mean_p"' in task_e.task_e_table(r)
    finally:
        metrics.unregister("mean_p")
    assert "mean_p" not in task_e.task_e_table(report.Report([run]))
