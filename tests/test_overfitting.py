"""The overfitting rule on synthetic histories, and the sentences and table the report makes of it."""

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from xray_utils import overfitting as of
from xray_utils.config import RunConfig
from xray_utils.report import overfitting_view as view


def history(val_loss, train_loss=None, train_acc=None, val_acc=None):
    """A history.csv frame; training loss falls as 1/epoch unless given."""
    val_loss = np.asarray(val_loss, dtype=float)
    e = np.arange(1, len(val_loss) + 1)
    return pd.DataFrame({
        "epoch": e, "train_loss": 1.0 / e if train_loss is None else train_loss,
        "train_acc": 0.6 + 0.03 * e if train_acc is None else train_acc,
        "val_loss": val_loss, "val_acc": 0.6 + 0.01 * e if val_acc is None else val_acc, "lr": 1e-4, "seconds": 1.0})


# validation loss bottoms out at epoch 4 (0.40) and climbs 0.1 per epoch for six epochs, as ResNet18 is said to
RISING = [0.9, 0.7, 0.5, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]


def fake_run(name_seed=0, val_loss=RISING, fraction=1.0, test_acc=0.8, **cfg):
    config = RunConfig(backbone="resnet18", mode="finetune", seed=name_seed, train_fraction=fraction, **cfg)
    h = history(val_loss)
    return SimpleNamespace(name=config.run_name, config=config, history=h,
                           metrics={"best_epoch": int(h["epoch"][h["val_loss"].idxmin()]),
                                    "test": {"accuracy": test_acc}})


def test_a_rising_validation_loss_is_flagged_with_its_epoch_and_rise():
    s = of.measure(history(RISING), selected_epoch=4, test_acc=0.75)
    assert s.min_epoch == 4 and s.min_val_loss == pytest.approx(0.4)
    assert s.epochs_after == 6 and s.window == of.WINDOW
    assert s.rise == pytest.approx(0.9 - 0.4)  # mean of the last three epochs (0.8, 0.9, 1.0) minus the minimum
    assert s.rise_pct == pytest.approx(0.5 / 0.4)
    assert s.train_change == pytest.approx(1 / 10 - 1 / 4)  # training loss kept falling
    assert (s.status, s.grade, s.overfits) == ("rising", "strong", True)


def test_a_small_rise_is_mild_and_a_smaller_one_is_not_overfitting():
    mild = [1.0, 0.8, 0.6, 0.5, 0.52, 0.55, 0.58, 0.6]  # last three average 0.5767: +15%
    assert of.measure(history(mild)).grade == "mild"
    flat = [1.0, 0.8, 0.6, 0.5, 0.51, 0.52, 0.51, 0.52]  # +3%: noise around the minimum
    s = of.measure(history(flat))
    assert (s.status, s.grade, s.overfits) == ("flat", "none", False)
    assert s.min_epoch == 4 and s.rise_pct == pytest.approx((0.52 + 0.51 + 0.52) / 3 / 0.5 - 1)


def test_a_still_falling_validation_loss_is_not_overfitting():
    s = of.measure(history([0.9, 0.7, 0.6, 0.55, 0.5]))
    assert (s.min_epoch, s.epochs_after, s.status, s.grade) == (5, 0, "improving", "none")
    assert s.rise == 0


def test_a_rise_while_training_loss_also_rises_is_unstable_not_overfitting():
    train = [0.9, 0.7, 0.5, 0.6, 0.8, 1.0]
    s = of.measure(history([0.9, 0.7, 0.5, 0.7, 0.9, 1.1], train_loss=train))
    assert (s.status, s.grade) == ("unstable", "none")


def test_one_epoch_after_the_minimum_is_too_few_to_call():
    s = of.measure(history([0.9, 0.7, 0.5, 0.9]))
    assert (s.status, s.grade, s.overfits) == ("too_short", "n/a", False)


def test_a_history_of_one_epoch_or_none_or_only_nan_does_not_crash():
    one = of.measure(history([0.7]), selected_epoch=1, test_acc=0.7)
    assert (one.epochs, one.min_epoch, one.status, one.grade) == (1, 1, "too_short", "n/a")
    assert one.selected.epoch == 1 and one.last.epoch == 1
    empty = of.measure(history([]))
    assert (empty.epochs, empty.min_epoch, empty.grade, empty.selected) == (0, None, "n/a", None)
    nan = of.measure(history([np.nan, np.nan]))
    assert nan.min_epoch is None and nan.grade == "n/a"
    for s in (one, empty, nan):  # and every sentence renders
        assert view.run_sentence("r", s, "en") and view.run_sentence("r", s, "zh-TW")


def test_gaps_at_the_selected_and_last_epochs_and_train_versus_test():
    train_acc = np.linspace(0.7, 0.99, 10)
    val_acc = np.linspace(0.65, 0.80, 10)
    s = of.measure(history(RISING, train_acc=train_acc, val_acc=val_acc), selected_epoch=4, test_acc=0.70)
    assert s.selected.epoch == 4 and s.last.epoch == 10
    assert s.selected.loss == pytest.approx(0.4 - 1 / 4)  # validation minus training loss
    assert s.selected.acc == pytest.approx(train_acc[3] - val_acc[3])  # training minus validation accuracy
    assert s.last.loss == pytest.approx(1.0 - 0.1) and s.last.acc == pytest.approx(0.99 - 0.80)
    assert s.train_test_gap == pytest.approx(train_acc[3] - 0.70)


def test_the_evaluated_epoch_follows_metrics_and_the_select_rule():
    assert of.selected_epoch({"selected_epoch": 7, "best_epoch": 4}, "best", 10) == 7
    assert of.selected_epoch({"best_epoch": 4}, "best", 10) == 4
    assert of.selected_epoch({"best_epoch": 4}, "last", 10) == 10
    run = fake_run()
    run.config = run.config.replace(select="last")
    assert of.from_run(run).selected.epoch == 10


def test_seeds_are_grouped_apart_from_fractions_and_from_other_settings():
    runs = [fake_run(2), fake_run(0), fake_run(1), fake_run(0, fraction=0.5), fake_run(1, fraction=0.5),
            fake_run(3, img_size=64)]
    groups = of.group_by_seed(runs)
    assert list(groups) == ["resnet18-finetune", "resnet18-finetune-frac0.5", "resnet18-finetune (2)"]
    assert [r.config.seed for r in groups["resnet18-finetune"]] == [0, 1, 2]
    assert [r.config.seed for r in groups["resnet18-finetune (2)"]] == [3]


def test_the_seed_summary_counts_and_spreads():
    stats = [of.measure(history(RISING), test_acc=0.8), of.measure(history([1.0, 0.8, 0.6, 0.5, 0.58, 0.6, 0.6])),
             of.measure(history([0.9, 0.8, 0.7]))]
    g = of.summarise_seeds(stats)
    assert (g.n, g.n_overfit, g.n_strong, g.n_mild, g.n_unknown) == (3, 2, 1, 1, 0)
    rises = [s.rise_pct for s in stats]
    assert g.rise_pct.mean == pytest.approx(np.mean(rises)) and g.rise_pct.sd == pytest.approx(np.std(rises, ddof=1))
    assert g.min_epoch.mean == pytest.approx(np.mean([4, 4, 3]))
    assert g.train_test_gap.n == 1  # only the first knows its test accuracy


def test_the_rule_sentence_is_generated_from_the_thresholds(monkeypatch):
    assert "10%" in view.rule_sentence("en") and "25%" in view.rule_sentence("en")
    monkeypatch.setattr(of, "MILD_RISE", 0.05)
    monkeypatch.setattr(of, "STRONG_RISE", 0.4)
    monkeypatch.setattr(of, "WINDOW", 4)
    en, zh = view.rule_sentence("en"), view.rule_sentence("zh-TW")
    assert "5%" in en and "40%" in en and "last 4 epochs" in en
    assert "5%" in zh and "40%" in zh and "最後 4 個 epoch" in zh
    assert of.measure(history([1.0, 0.8, 0.6, 0.5, 0.52, 0.55, 0.58, 0.6])).grade == "mild"  # +10% now mild only


def test_one_sentence_per_run_and_the_spread_across_seeds():
    run = fake_run()
    sentence = view.sentences([run], "en")
    assert len(sentence) == 1
    assert "epoch 4 of 10" in sentence[0] and "(125.0%)" in sentence[0] and "strong overfitting" in sentence[0]
    assert "明顯過擬合" in view.sentences([run], "zh-TW")[0]
    seeds = [fake_run(0), fake_run(1), fake_run(2, val_loss=[0.9, 0.8, 0.7, 0.6, 0.5, 0.45, 0.44, 0.43, 0.42, 0.41])]
    (group,) = view.sentences(seeds, "en")
    assert group.startswith("resnet18-finetune, 3 seeds: overfits in 2 of 3 (strong in 2, mild in 0)")
    assert "±" in group
    assert view.summary_sentence(seeds, "en") == (
        "By this rule, 2 of 3 runs overfit: resnet18-finetune, resnet18-finetune-seed1.")


def test_the_task_d_table_has_one_row_per_run():
    runs = [fake_run(0), fake_run(1, val_loss=[0.9, 0.8]), fake_run(2, val_loss=[0.5])]
    rows = view.rows(runs, "en")
    assert [r["run"] for r in rows] == [r.name for r in runs]
    assert rows[0]["minimum"] == "0.4000 (4)" and rows[0]["rise"] == "+0.5000 (+125.0%)"
    assert [r["grade"] for r in rows] == ["strong", "none", "too few epochs"]
    page = view.overfitting_html(runs, "zh-TW")
    assert page.count("<tr>") == 1 + len(runs) and "過擬合" in page


# ---- graded against noise -------------------------------------------------------------------------


def test_a_large_relative_rise_within_the_noise_is_not_overfitting():
    # the demo's ResNet18: validation loss 0.00003 -> 0.0005 (+1683%) at 100% validation accuracy
    tiny = [0.01, 0.001, 0.00003, 0.0002, 0.0004, 0.0005, 0.0005]
    s = of.measure(history(tiny))
    assert s.rise_pct > 10 and s.rise < of.MIN_ABS_RISE
    assert (s.status, s.grade, s.overfits) == ("noise", "none", False)
    # the same relative rise on a scale above the noise is overfitting
    assert of.measure(history(np.array(tiny) * 1000)).grade == "strong"


def test_the_noise_bar_is_two_standard_errors_of_the_validation_loss():
    mild = [1.0, 0.8, 0.6, 0.5, 0.52, 0.55, 0.58, 0.6]  # rose by 0.0767 (+15%)
    assert of.measure(history(mild), val_loss_se=0.03).grade == "mild"  # 2 SE = 0.06 < 0.0767
    s = of.measure(history(mild), val_loss_se=0.05)  # 2 SE = 0.10 > 0.0767: within the noise
    assert (s.status, s.grade) == ("noise", "none") and s.noise == pytest.approx(0.1)


def test_the_validation_loss_standard_error_counts_patients_and_reads_the_logits():
    rng = np.random.default_rng(0)
    values = rng.exponential(0.3, 400)
    # one image per patient: the plain standard error of the mean (ddof=1)
    assert of.mean_se(values) == pytest.approx(values.std(ddof=1) / np.sqrt(400))
    # four identical images per patient carry one image's information: twice the standard error
    repeated = np.repeat(values[:100], 4)
    groups = np.repeat(np.arange(100), 4)
    assert of.mean_se(repeated, groups) == pytest.approx(2 * of.mean_se(repeated), rel=0.01)
    table = pd.DataFrame({"label": [0, 1, 0, 1], "patient": ["a", "b", "c", "d"], "p_pneumonia": [1.0, 1.0, 0.0, 0.5],
                          "logit_normal": [0.0, 0.0, 0.0, 0.0], "logit_pneumonia": [40.0, 40.0, -40.0, 0.0]})
    ce = np.array([40.0, 0.0, 0.0, np.log(2)]) + np.log1p(np.exp(-40.0)) * np.array([1, 1, 1, 0])
    assert of.val_loss_se(table) == pytest.approx(ce.std(ddof=1) / 2)
    assert np.isnan(of.val_loss_se(None))


def test_report_json_grades_every_run():
    runs = [fake_run(0), fake_run(1, val_loss=[0.01, 0.001, 0.00003, 0.0002, 0.0004, 0.0005, 0.0005])]
    assert of.grades(runs) == {runs[0].name: "strong", runs[1].name: "none"}


def test_the_rule_and_a_run_within_its_noise_are_said_in_both_languages():
    assert "standard errors" in view.rule_sentence("en") and "0.01" in view.rule_sentence("en")
    assert "標準誤" in view.rule_sentence("zh-TW")
    run = fake_run(0, val_loss=[0.01, 0.001, 0.00003, 0.0002, 0.0004, 0.0005, 0.0005])
    (sentence,) = view.sentences([run], "en")
    assert "within its noise (0.0100)" in sentence and "no overfitting" in sentence
    assert "雜訊" in view.sentences([run], "zh-TW")[0]
