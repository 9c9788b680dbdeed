"""The metric registry: one formula per metric for estimate and bootstrap, intervals that hold at 0 and 1."""

import numpy as np
import pytest
import torch
from scipy import stats
from sklearn import metrics as skm

from xray_utils import metrics

PROPORTIONS = ["accuracy", "sensitivity", "specificity", "precision", "npv"]


def noisy(n, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    return y, np.round(np.clip(0.5 + (y - 0.5) * 0.4 + rng.normal(0, 0.25, n), 0, 1), 2)


def test_weighted_formulas_equal_sklearn_with_sample_weight():
    y, p = noisy(80, seed=3)
    w = np.random.default_rng(1).integers(0, 4, (4, 80)).astype(float)
    for row in w:
        got = metrics.values(y, p, 0.5, row[None], ["roc_auc", "pr_auc", "brier", "accuracy", "f1"])
        assert got["roc_auc"][0] == pytest.approx(skm.roc_auc_score(y, p, sample_weight=row))
        assert got["pr_auc"][0] == pytest.approx(skm.average_precision_score(y, p, sample_weight=row))
        assert got["brier"][0] == pytest.approx(skm.brier_score_loss(y, p, sample_weight=row))
        assert got["accuracy"][0] == pytest.approx(skm.accuracy_score(y, p >= 0.5, sample_weight=row))
        assert got["f1"][0] == pytest.approx(skm.f1_score(y, p >= 0.5, sample_weight=row))


def test_loss_from_logits_is_torch_cross_entropy_and_a_confident_mistake_counts_in_full():
    logits = np.array([[0.0, 40.0], [3.0, -1.0], [-2.0, 2.5], [0.1, 0.0]])
    y = np.array([0, 0, 1, 1])
    p = torch.softmax(torch.tensor(logits, dtype=torch.float32), 1)[:, 1].double().numpy()
    m = metrics.point(y, p, logits=logits)
    expected = float(torch.nn.CrossEntropyLoss()(torch.tensor(logits), torch.tensor(y)))
    assert m["loss"] == pytest.approx(expected, rel=1e-12)
    assert metrics.cross_entropy(y, p, logits)[0] == pytest.approx(40.0, rel=1e-12)  # not 34.54 from p = 1
    assert metrics.point(y, p)["loss"] < m["loss"] - 1  # the clipped-p loss undercounts the mistake


@pytest.mark.parametrize("k,n", [(35, 35), (0, 35), (13, 20)])
def test_intervals_hold_their_estimate_and_never_have_zero_width(k, n):
    y = np.zeros(n, dtype=int)
    p = np.r_[np.full(k, 0.1), np.full(n - k, 0.9)]  # k NORMAL images called NORMAL
    s = metrics.summarize(y, p, n_boot=300)
    lo, hi = s["ci"]["specificity"]
    assert lo <= s["specificity"] <= hi and hi - lo > 0.02
    if k == n:  # an exact (Clopper-Pearson) interval for 35/35 is [90.0%, 100%]
        assert lo == pytest.approx(stats.binomtest(35, 35).proportion_ci().low, abs=0.01) and hi == 1.0


def test_auc_interval_does_not_collapse_at_one():
    y = np.r_[np.zeros(30, int), np.ones(40, int)]
    p = np.r_[np.linspace(0.0, 0.4, 30), np.linspace(0.6, 1.0, 40)]
    groups = np.r_[np.arange(30), 30 + np.arange(40) // 2]  # PNEUMONIA patients with two images each
    s = metrics.summarize(y, p, groups=groups, n_boot=300)
    assert s["roc_auc"] == 1.0
    lo, hi = s["ci"]["roc_auc"]
    assert hi == 1.0 and lo == pytest.approx(20 / (20 + 1.959964 ** 2))  # Wilson on Kish's 20 PNEUMONIA patients


def test_a_metric_added_through_the_registry_alone_gets_its_value_and_interval():
    value, counts = metrics.proportion(lambda c: c["fp"], lambda c: c["fp"] + c["tn"])
    metrics.register(metrics.Metric("fpr", "metric_fpr", "pct", "proportion", True, False, value, counts))
    try:
        y, p = noisy(100)
        s = metrics.summarize(y, p, n_boot=200)
        assert s["fpr"] == pytest.approx(1 - s["specificity"])
        assert s["ci"]["fpr"][0] < s["fpr"] < s["ci"]["fpr"][1]
        assert "fpr" in [m.name for m in metrics.table_metrics()]
    finally:
        metrics.unregister("fpr")
    assert "fpr" not in metrics.METRICS


def kaggle_shaped(rng):
    """About 390 PNEUMONIA images of 200 patients (1-4 each) and 234 NORMAL images, mostly one each."""
    sizes = np.r_[rng.choice([1, 2, 3, 4], 200, p=[0.4, 0.3, 0.2, 0.1]), np.full(20, 2), np.ones(194, int)]
    units = np.repeat(np.arange(len(sizes)), sizes)
    y = (units < 200).astype(int)
    return y, units


@pytest.mark.parametrize("true", [0.90, 0.97, 0.99, 1.0])
def test_proportion_intervals_cover_under_patient_clustering(true):
    """Patients' own rates of being right vary (beta, intra-patient correlation 0.3): the images of one
    patient are right or wrong together more often than chance. Coverage of the true value >= 0.93."""
    rng = np.random.default_rng(int(true * 100))
    y, units = kaggle_shaped(np.random.default_rng(0))
    n_pos, n_neg = y.sum(), len(y) - y.sum()
    rho, reps = 0.3, 300
    truth = {"accuracy": true, "sensitivity": true, "specificity": true,
             "precision": true * n_pos / (true * n_pos + (1 - true) * n_neg),
             "npv": true * n_neg / (true * n_neg + (1 - true) * n_pos)}
    covered = dict.fromkeys(PROPORTIONS, 0)
    for r in range(reps):
        q = np.ones(units.max() + 1) if true == 1 else rng.beta(true * (1 - rho) / rho, (1 - true) * (1 - rho) / rho,
                                                                 units.max() + 1)
        right = rng.random(len(y)) < q[units]
        p = np.where(right, y, 1 - y) * 0.8 + 0.1
        ci = metrics.intervals(y, p, 0.5, groups=units, seed=r, n_boot=200, names=PROPORTIONS)
        for name in PROPORTIONS:
            assert ci[name][1] > ci[name][0]
            covered[name] += ci[name][0] <= truth[name] <= ci[name][1]
    coverage = {k: v / reps for k, v in covered.items()}
    assert min(coverage.values()) >= 0.93, coverage
