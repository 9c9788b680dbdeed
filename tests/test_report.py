"""The report's numbers, tables and generated sentences, on real (tiny) runs."""

import copy
import string

import pytest

from xray_utils import report, report_text, train
from xray_utils.config import RunConfig
from xray_utils.errors import ConfigError, XrayError
from xray_utils.report_text import text

TINY = dict(dataset="synthetic", synthetic_train=40, synthetic_test=30, img_size=32, batch_size=16,
            weights="none", progress=False, num_workers=0, lr=1e-3, epochs=1)
REFERENCE = dict(name="from-scratch CNN", accuracy=0.8393, loss=0.3490)


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    for mode in ("finetune", "frozen", "scratch"):
        cfg = RunConfig(**TINY, backbone="squeezenet1_1", mode=mode)
        train.fit(cfg, root / cfg.run_name, log=lambda _m: None)
    return root


def fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_both_languages_have_every_text_with_the_same_placeholders():
    en, zh = report_text.TEXTS["en"], report_text.TEXTS["zh-TW"]
    assert set(en) == set(zh)
    for key in en:
        assert fields(en[key]) == fields(zh[key]), key  # a translation must not drop or invent a number
    with pytest.raises(ConfigError, match="fr"):
        text("fr", "title")


def test_numbers_are_formatted_one_way():
    assert report.fmt_pct(0.8393) == "83.93%"
    assert report.fmt_num(0.349) == "0.3490"
    assert report.fmt_metric("accuracy", 0.5) == "50.00%" and report.fmt_metric("roc_auc", 0.5) == "0.5000"
    assert report.fmt_ci("sensitivity", [0.81, 0.9]) == "[81.00%, 90.00%]"
    assert report.fmt_p(0.00001) == "< 0.0001" and report.fmt_p(0.04567) == "0.0457"
    assert report.fmt_pp(-0.0123) == "-1.23" and report.fmt_metric("f1", None) == "n/a"


def test_load_picks_the_named_runs_and_refuses_unfinished_ones(root):
    r = report.Report.load(root, "squeezenet1_1-frozen,squeezenet1_1-finetune", reference=REFERENCE)
    assert r.names == ["squeezenet1_1-frozen", "squeezenet1_1-finetune"]
    assert len(report.Report.load(root).runs) == 3
    with pytest.raises(XrayError, match="not a complete run"):
        report.Report.load(root, "resnet18-finetune")
    with pytest.raises(XrayError, match="no complete runs"):
        report.Report.load(root / "nothing-here")


def test_task_e_rows_carry_each_runs_metrics_and_the_reference(root):
    r = report.Report.load(root, reference=REFERENCE)
    rows = r.task_e_rows("test")
    assert [row["run"] for row in rows[:-1]] == r.names
    for run, row in zip(r.runs, rows):
        assert row["accuracy"].startswith(f'<span class="value">{100 * run.metrics["test"]["accuracy"]:.2f}%')
    ref = rows[-1]
    assert ref["_reference"] and ref["accuracy"] == "83.93%" and ref["loss"] == "0.3490"
    assert text("en", "reference_note") in ref["run"]
    youden = r.task_e_rows("test_youden")
    assert youden[0]["threshold"] == f'{r.runs[0].metrics["threshold_youden"]:.3f}'


def test_header_says_plainly_when_weights_were_not_pretrained(root):
    r = report.Report.load(root)
    assert r.is_synthetic()
    assert "NOT ImageNet-pretrained" in r.weights_sentence()
    assert any("*-scratch" in line for line in r.header_lines())
    assert "並未使用 ImageNet" in report.Report(r.runs, "zh-TW").weights_sentence()


def with_accuracy(run, value, lo, hi):
    run = copy.deepcopy(run)
    run.metrics["test"]["accuracy"] = value
    run.metrics["test"]["ci"]["accuracy"] = [lo, hi]
    return run


def test_findings_name_the_best_run_and_judge_the_gap_against_the_intervals(root):
    base = report.Report.load(root).runs
    apart = report.Report([with_accuracy(base[0], 0.95, 0.92, 0.98), with_accuracy(base[1], 0.80, 0.75, 0.85)])
    (sentence,) = apart.best_run_sentences("accuracy")
    assert sentence.startswith(f"Best accuracy: {base[0].name} with 95.00%")
    assert "exceeds the sampling uncertainty" in sentence and base[1].name in sentence
    close = report.Report([with_accuracy(base[0], 0.90, 0.84, 0.95), with_accuracy(base[1], 0.88, 0.82, 0.93)])
    assert "intervals cannot tell them apart" in close.best_run_sentences("accuracy")[0]
    tied = report.Report([with_accuracy(base[0], 0.9, 0.8, 1.0), with_accuracy(base[1], 0.9, 0.8, 1.0)])
    assert "tie" in tied.best_run_sentences("accuracy")[0]


def test_pairwise_sentences_follow_the_holm_corrected_p_values(root):
    r = report.Report.load(root)
    df = r.pairwise()
    assert len(df) == 3
    for row, sentence in zip(df.itertuples(index=False), r.pair_sentences()):
        assert sentence.startswith(f"{row.a} vs {row.b}")
        assert sentence.endswith(("not significant at 0.05." if row.p_holm >= 0.05 else "significant at 0.05."))
    findings = r.findings()
    k = int((df["p_holm"] < 0.05).sum())
    assert f"{k} of 3 pairwise differences are significant" in " ".join(findings)
    assert any(s.startswith("squeezenet1_1: fine-tune reached") for s in findings)


def test_findings_in_traditional_chinese(root):
    r = report.Report.load(root, lang="zh-TW", reference=REFERENCE)
    joined = "".join(r.findings())
    assert "準確率最佳" in joined or "準確率同為" in joined
    assert "先前從頭訓練的 CNN" in joined


def test_confident_mistakes_are_wrong_and_sorted(root):
    run = report.Report.load(root).runs[0]
    wrong = report.Report.confident_mistakes(run, 5)
    assert (wrong["prediction"] != wrong["label"]).all()
    confidence = (wrong["p_pneumonia"] - wrong["label"]).abs().to_list()
    assert confidence == sorted(confidence, reverse=True)
    assert len(wrong) == min(5, int((run.predictions["prediction"] != run.predictions["label"]).sum()))


def test_runs_on_different_test_sets_are_not_compared(root, tmp_path):
    other = RunConfig(**{**TINY, "synthetic_test": 20}, backbone="squeezenet1_1", mode="frozen")
    train.fit(other, tmp_path / "other", log=lambda _m: None)
    from xray_utils.runs import load_run

    with pytest.raises(XrayError, match="different images"):
        report.Report([report.Report.load(root).runs[0], load_run(tmp_path / "other")])


def test_every_backbone_has_a_traditional_chinese_description():
    from xray_utils import models
    from xray_utils.report_text import DESCRIPTIONS_ZH_TW, description

    assert set(DESCRIPTIONS_ZH_TW) == set(models.DESCRIPTIONS)
    assert description("en", "resnet18", models.DESCRIPTIONS["resnet18"]) == models.DESCRIPTIONS["resnet18"]
    assert "殘差" in description("zh-TW", "resnet18", models.DESCRIPTIONS["resnet18"])
