"""Learning curves: grouping runs over training fractions and seeds, who leads, whether the lines cross,
the homework's claims, and the figure."""

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from xray_utils import learning_curves as lc
from xray_utils import plots
from xray_utils.config import RunConfig
from xray_utils.errors import XrayError
from xray_utils.report import learning_view as view


def point(kind, fraction, seed=0, auc=0.9, acc=0.85, half_width=0.02, n_full=1000):
    backbone, _, mode = kind.rpartition("-")
    return lc.Point(kind, backbone, mode, fraction, seed, int(n_full * fraction) + seed,  # seeds draw other images
                    {"roc_auc": auc, "accuracy": acc},
                    {"roc_auc": [auc - half_width, auc + half_width], "accuracy": [acc - half_width, acc + half_width]})


SQ, RN = "squeezenet1_1-finetune", "resnet18-finetune"


def curves(values_a, values_b, fractions=(0.1, 0.5, 1.0), half_width=0.02):
    """A summary of two kinds with the given ROC-AUC (= accuracy) at each fraction, one seed."""
    points = [point(SQ, f, auc=a, acc=a, half_width=half_width) for f, a in zip(fractions, values_a, strict=True)]
    points += [point(RN, f, auc=b, acc=b, half_width=half_width) for f, b in zip(fractions, values_b, strict=True)]
    return lc.summarise(points)


def test_summarise_groups_kinds_and_fractions_over_seeds():
    points = [point(SQ, 0.5, seed=s, auc=a) for s, a in enumerate((0.80, 0.84, 0.88))]
    points += [point(SQ, 1.0, auc=0.9), point(RN, 1.0, auc=0.95, half_width=0.001)]
    summary = lc.summarise(points)
    assert len(summary) == 3 * len(lc.METRICS)
    row = summary[(summary.kind == SQ) & (summary.fraction == 0.5) & (summary.metric == "roc_auc")].iloc[0]
    assert (row.n_seeds, row.seeds, row.n_train) == (3, [0, 1, 2], 501)  # n_train: mean over seeds
    assert row["mean"] == pytest.approx(0.84) and row.sd == pytest.approx(0.04)
    assert (row.ci_lo, row.ci_hi) == (pytest.approx(0.82), pytest.approx(0.86))  # bootstrap bounds, averaged
    assert (row.lo, row.hi) == (pytest.approx(0.80), pytest.approx(0.88))  # +- SD is wider than the bootstrap
    single = summary[(summary.kind == RN) & (summary.metric == "roc_auc")].iloc[0]
    assert np.isnan(single.sd) and (single.lo, single.hi) == (pytest.approx(0.949), pytest.approx(0.951))
    assert lc.fractions(points) == [0.5, 1.0]


def fake_run(backbone, mode, fraction, seed=0, auc=0.9, acc=0.85, **cfg):
    config = RunConfig(backbone=backbone, mode=mode, train_fraction=fraction, seed=seed, **cfg)
    e = np.arange(1, 5)
    history = pd.DataFrame({"epoch": e, "train_loss": 1 / e, "train_acc": 0.8, "val_loss": 1 / e, "val_acc": 0.8,
                            "lr": 1e-4, "seconds": 1.0})
    metrics = {"n": {"train": int(1000 * fraction)}, "best_epoch": 4,
               "test": {"roc_auc": auc, "accuracy": acc, "ci": {"roc_auc": [auc - 0.02, auc + 0.02],
                                                               "accuracy": [acc - 0.02, acc + 0.02]}}}
    return SimpleNamespace(name=config.run_name, config=config, metrics=metrics, history=history)


def test_points_come_from_runs_and_the_same_kind_fraction_and_seed_twice_is_refused():
    runs = [fake_run("resnet18", "finetune", 0.25, seed=1), fake_run("resnet18", "frozen", 1.0)]
    p = lc.points_from_runs(runs)
    assert (p[0].kind, p[0].fraction, p[0].seed, p[0].n_train) == (RN, 0.25, 1, 250)
    assert p[0].ci["roc_auc"] == [pytest.approx(0.88), pytest.approx(0.92)]
    with pytest.raises(XrayError, match="same|both"):
        lc.points_from_runs(runs + [fake_run("resnet18", "finetune", 0.25, seed=1, img_size=64)])


def test_lines_that_cross_beyond_the_uncertainty():
    cmp = lc.compare(curves([0.85, 0.88, 0.89], [0.75, 0.88, 0.95]), SQ, RN, "roc_auc")
    assert [s.state for s in cmp.sizes] == ["a", "tie", "b"]
    assert [s.n_train for s in cmp.sizes] == [100, 500, 1000]
    assert cmp.leader(cmp.smallest) == SQ and cmp.leader(cmp.full) == RN
    assert cmp.crosses
    left, right = cmp.crossing()
    assert (left.n_train, right.n_train) == (100, 1000)  # the equal means at 500 are no side
    assert lc.claim_verdict(cmp) == "holds"


def test_overlapping_intervals_are_no_difference_beyond_the_uncertainty():
    cmp = lc.compare(curves([0.85, 0.86, 0.87], [0.84, 0.87, 0.88], half_width=0.03), SQ, RN, "roc_auc")
    assert {s.state for s in cmp.sizes} == {"tie"}
    assert cmp.leader(cmp.smallest) is None and not cmp.crosses
    assert cmp.crossing() is not None  # the means change order, within the uncertainty
    assert lc.claim_verdict(cmp) == "not_supported"
    sentences = view.comparison_sentences(cmp, curves([0.85, 0.86, 0.87], [0.84, 0.87, 0.88], half_width=0.03), "en")
    assert sentences[0].endswith("no difference beyond the uncertainty.")
    assert "within the uncertainty" in sentences[-1]


def test_parallel_lines_do_not_cross_and_the_claim_verdicts():
    ahead = lc.compare(curves([0.70, 0.75, 0.80], [0.80, 0.85, 0.90]), SQ, RN, "roc_auc")
    assert not ahead.crosses and ahead.crossing() is None
    assert lc.claim_verdict(ahead) == "contradicted"  # the deep network already leads with little data
    partly = lc.compare(curves([0.80, 0.85, 0.90], [0.80, 0.86, 0.95]), SQ, RN, "roc_auc")
    assert lc.claim_verdict(partly) == "partly"
    one = lc.compare(curves([0.8], [0.9], fractions=(1.0,)), SQ, RN, "roc_auc")
    assert lc.claim_verdict(one) == "one_size"
    assert lc.compare(curves([0.8], [0.9], fractions=(1.0,)), SQ, "densenet121-finetune", "roc_auc") is None


def test_the_claims_are_tested_on_the_right_pairs():
    points = [point(k, 1.0) for k in (SQ, RN, "resnet18-frozen", "squeezenet1_1-frozen", "densenet121-frozen")]
    summary = lc.summarise(points)
    assert lc.claim_pairs(summary) == [(SQ, RN), ("squeezenet1_1-frozen", "resnet18-frozen")]
    assert lc.frozen_pairs(summary) == [("resnet18-frozen", RN), ("squeezenet1_1-frozen", SQ)]
    lower = lc.compare(lc.summarise([point("resnet18-frozen", 1.0, acc=0.80), point(RN, 1.0, acc=0.90)]),
                       "resnet18-frozen", RN, "accuracy")
    assert lc.frozen_verdict(lower, (0, 4), (3, 4)) == {"accuracy": "lower", "overfitting": "avoids",
                                                         "verdict": "holds"}
    assert lc.frozen_verdict(lower, (2, 4), (1, 4))["verdict"] == "partly"


def test_the_figure_has_a_log_x_axis_and_one_line_per_kind(tmp_path):
    points = [point(k, f, seed=s, auc=0.8 + 0.1 * f + 0.01 * s) for k in (SQ, RN, "resnet18-frozen")
              for f in (0.1, 0.25, 1.0) for s in (0, 1)]
    summary = lc.summarise(points)
    fig = plots.learning_curves(summary, labels={"roc_auc": "ROC-AUC", "accuracy": "accuracy"})
    assert len(fig.axes) == 2
    for ax in fig.axes:
        assert ax.get_xscale() == "log"
        named = [line.get_label() for line in ax.get_lines() if not line.get_label().startswith("_")]
        assert sorted(named) == sorted([SQ, RN, "resnet18-frozen"])
        sizes = sorted(set(summary["n_train"]))
        assert len(sizes) == 3 and list(ax.get_xticks()) == sizes  # ticked at the sizes measured
    assert fig.axes[0].get_ylabel() == "ROC-AUC"
    plots.save(fig, tmp_path / "lc.png")
    assert (tmp_path / "lc.png").stat().st_size > 1000


def test_the_section_with_one_size_says_so_in_one_sentence():
    runs = [fake_run("resnet18", "finetune", 1.0), fake_run("squeezenet1_1", "finetune", 1.0)]
    heading, sentence = view.learning_parts(runs, "en")
    assert "--fractions 0.1,0.25,0.5,1" in sentence and "1,000 images" in sentence


def test_the_section_with_several_sizes_has_a_figure_and_findings_in_both_languages():
    runs = [fake_run(b, m, f, auc=a, acc=a)
            for b, m, f, a in [("squeezenet1_1", "finetune", 0.1, 0.85), ("resnet18", "finetune", 0.1, 0.75),
                               ("squeezenet1_1", "finetune", 1.0, 0.89), ("resnet18", "finetune", 1.0, 0.95),
                               ("resnet18", "frozen", 0.1, 0.70), ("resnet18", "frozen", 1.0, 0.85)]]
    parts = view.learning_parts(runs, "en")
    assert [type(p).__name__ for p in parts] == ["str", "str", "Figure", "str"]
    assert "10%, 100%" in parts[1]
    findings = parts[-1]
    assert "squeezenet1_1-finetune ahead beyond the uncertainty" in findings
    assert "cross beyond the uncertainty" in findings and "holds on this data" in findings
    assert "frozen vs fine-tuned" in findings
    zh = view.learning_parts(runs, "zh-TW")[-1]
    assert "超出不確定性" in zh and "在此資料上成立" in zh
    assert len(view.findings(runs, "en")) == 3  # two metrics of the backbone claim, one frozen claim
