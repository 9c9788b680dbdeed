"""Statistics of the test set: metrics, intervals, paired tests and calibration on constructed cases."""

import math
import warnings

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from xray_utils import evaluate
from xray_utils.compute import Compute
from xray_utils.errors import XrayError

CPU = Compute.decide("cpu", "off")


@pytest.fixture
def hand_case():
    # 4 PNEUMONIA, 6 NORMAL. At 0.5: tp = 3 (.9 .8 .6), fn = 1 (.3), fp = 1 (.7), tn = 5.
    y = np.array([1, 1, 1, 1, 0, 0, 0, 0, 0, 0])
    p = np.array([0.9, 0.8, 0.6, 0.3, 0.7, 0.2, 0.1, 0.4, 0.45, 0.05])
    return y, p


def noisy_scores(n, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    p = np.clip(0.5 + (y - 0.5) * 0.4 + rng.normal(0, 0.25, n), 0, 1)
    return y, p


# ---- classification_metrics -------------------------------------------------------------------


def test_metrics_match_hand_computed_confusion_numbers(hand_case):
    y, p = hand_case
    m = evaluate.classification_metrics(y, p)
    assert m["confusion_matrix"] == [[5, 1], [1, 3]]
    assert m["n"] == 10 and m["threshold"] == 0.5
    assert m["accuracy"] == pytest.approx(0.8)
    assert m["sensitivity"] == pytest.approx(3 / 4)
    assert m["specificity"] == pytest.approx(5 / 6)
    assert m["precision"] == pytest.approx(3 / 4)
    assert m["npv"] == pytest.approx(5 / 6)
    assert m["f1"] == pytest.approx(2 * 3 / (2 * 3 + 1 + 1))
    assert m["roc_auc"] == pytest.approx(20 / 24)  # positive-negative pairs ranked correctly
    expected_loss = -np.mean(np.where(y == 1, np.log(p), np.log(1 - p)))
    assert m["loss"] == pytest.approx(expected_loss)
    assert m["brier"] == pytest.approx(np.mean((p - y) ** 2))
    assert 0 < m["pr_auc"] <= 1


def test_threshold_is_inclusive_and_changes_the_confusion_matrix(hand_case):
    y, p = hand_case
    m = evaluate.classification_metrics(y, p, threshold=0.3)
    # p >= 0.3 is PNEUMONIA: all 4 positives and .7 .4 .45 among the negatives
    assert m["confusion_matrix"] == [[3, 3], [0, 4]]
    assert m["sensitivity"] == 1.0
    assert m["loss"] == evaluate.classification_metrics(y, p)["loss"]  # the loss ignores the threshold


def test_undefined_metrics_are_none_without_warnings():
    y = np.zeros(6, dtype=int)
    p = np.array([0.1, 0.2, 0.3, 0.4, 0.2, 0.1])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        m = evaluate.classification_metrics(y, p)
        ci = evaluate.bootstrap_ci(y, p, n_boot=50)
        assert evaluate.youden_threshold(y, p) == 0.5
    assert m["roc_auc"] is None and m["sensitivity"] is None and m["precision"] is None and m["f1"] is None
    assert m["pr_auc"] is None
    assert m["accuracy"] == 1.0 and m["specificity"] == 1.0
    assert ci["roc_auc"] is None and ci["sensitivity"] is None
    # 6 of 6 right: not the percentile bootstrap's [100%, 100%] but the Wilson interval n / (n + z^2) .. 1
    z2 = 1.959963984540054 ** 2
    assert ci["accuracy"] == pytest.approx([6 / (6 + z2), 1.0])


def test_bad_inputs_are_clear_errors():
    with pytest.raises(XrayError, match="same length"):
        evaluate.classification_metrics([0, 1, 1], [0.2, 0.8])
    with pytest.raises(XrayError, match=r"\[0, 1\]"):
        evaluate.classification_metrics([0, 1], [0.2, 1.3])
    with pytest.raises(XrayError, match="0 \\(NORMAL\\) or 1"):
        evaluate.classification_metrics([0, 2], [0.2, 0.3])


# ---- bootstrap_ci -----------------------------------------------------------------------------


def test_bootstrap_ci_contains_the_estimate_is_deterministic_and_narrows_with_n():
    y, p = noisy_scores(200)
    point = evaluate.classification_metrics(y, p)
    ci = evaluate.bootstrap_ci(y, p, n_boot=500, seed=3)
    assert set(ci) == set(evaluate.BOOTSTRAP_METRICS)
    for name, (lo, hi) in ci.items():
        assert lo <= point[name] <= hi, name
        assert lo < hi, name
    assert evaluate.bootstrap_ci(y, p, n_boot=500, seed=3) == ci
    assert evaluate.bootstrap_ci(y, p, n_boot=500, seed=4) != ci

    y_big, p_big = noisy_scores(5000, seed=1)
    ci_big = evaluate.bootstrap_ci(y_big, p_big, n_boot=500, seed=3)
    for name in ci:
        assert ci_big[name][1] - ci_big[name][0] < ci[name][1] - ci[name][0], name


def test_bootstrap_metrics_of_a_resample_equal_the_metrics_of_its_repeated_images():
    # a resample is a row of weights (times each image was drawn): it must score like the images repeated
    from sklearn.metrics import roc_auc_score

    y, p = noisy_scores(60, seed=5)
    p = np.round(p, 1)  # many ties
    counts = np.random.default_rng(0).integers(0, 4, (3, 60)).astype(float)
    weights = np.vstack([np.ones(60), counts])  # the first row draws every image once
    names = ["roc_auc", "accuracy", "loss", "sensitivity", "specificity", "f1", "brier"]
    out = evaluate._boot_metrics(y, p, 0.5, weights, names)
    for row, w in enumerate(weights):
        keep = np.repeat(np.arange(60), w.astype(int))
        expected = evaluate.classification_metrics(y[keep], p[keep])
        for name in names:
            assert out[name][row] == pytest.approx(expected[name]), (row, name)
    assert out["roc_auc"][0] == pytest.approx(roc_auc_score(y, p))


# ---- patients: clustered bootstrap ----------------------------------------------------------------


def clustered_scores(n_patients=80, per_patient=5, seed=0):
    """Every patient has ``per_patient`` near-identical images (same label, almost the same p)."""
    rng = np.random.default_rng(seed)
    y_patient = (np.arange(n_patients) % 2).astype(int)
    p_patient = np.clip(0.5 + (y_patient - 0.5) * 0.3 + rng.normal(0, 0.3, n_patients), 0.01, 0.99)
    y = np.repeat(y_patient, per_patient)
    p = np.clip(np.repeat(p_patient, per_patient) + rng.normal(0, 0.005, len(y)), 0, 1)
    groups = np.repeat([f"person{i}" for i in range(n_patients)], per_patient)
    return y, p, groups


def width(interval):
    return interval[1] - interval[0]


def test_repeated_images_of_a_patient_widen_the_intervals():
    y, p, groups = clustered_scores()
    as_images = evaluate.bootstrap_ci(y, p, n_boot=1000, seed=1)
    as_patients = evaluate.bootstrap_ci(y, p, n_boot=1000, seed=1, groups=groups)
    for name in evaluate.BOOTSTRAP_METRICS:
        # 5 copies of each patient carry the information of one: about sqrt(5) = 2.2 times wider
        assert width(as_patients[name]) > 1.6 * width(as_images[name]), name
        point = evaluate.classification_metrics(y, p)[name]
        assert as_patients[name][0] <= point <= as_patients[name][1], name

    diff_images = evaluate.paired_bootstrap_diff(y, p, 1 - p, n_boot=1000)
    diff_patients = evaluate.paired_bootstrap_diff(y, p, 1 - p, n_boot=1000, groups=groups)
    assert diff_patients["diff"] == diff_images["diff"]
    assert diff_patients["hi"] - diff_patients["lo"] > 1.6 * (diff_images["hi"] - diff_images["lo"])


def test_one_image_per_patient_is_the_image_bootstrap():
    y, p = noisy_scores(300, seed=2)
    plain = evaluate.bootstrap_ci(y, p, n_boot=500, seed=3)
    ids = np.array([f"person{i}" for i in range(300)])
    # the same resamples, not merely the same distribution: ids change nothing when no patient repeats
    assert evaluate.bootstrap_ci(y, p, n_boot=500, seed=3, groups=ids) == plain
    assert evaluate.paired_bootstrap_diff(y, p, p ** 2, groups=ids) == evaluate.paired_bootstrap_diff(y, p, p ** 2)
    assert evaluate.bootstrap_method(ids, 500)["unit"] == "image"


def test_resamples_keep_every_class_and_draw_whole_patients():
    # 1 PNEUMONIA image among 30 (unstratified, a third of resamples would miss it), and one patient whose
    # two images carry both labels
    y = np.array([1] + [0] * 29 + [0, 1])
    groups = np.array([f"n{i}" for i in range(30)] + ["mixed", "mixed"])
    units = evaluate._units(groups, len(y))
    for w in evaluate._resample_weights(y, units, n_boot=400, seed=0, max_cells=3000):  # several chunks
        assert (w[:, y == 1].sum(1) >= 1).all() and (w[:, y == 0].sum(1) >= 1).all()
        assert (w[:, 0] == 1).all() and (w[:, 30] == 1).all()  # the PNEUMONIA and the mixed stratum
        assert (w[:, 30] == w[:, 31]).all()  # a drawn patient brings all of their images
        assert (w[:, 1:30].sum(1) == 29).all()  # the NORMAL stratum draws as many patients as it holds
    ci = evaluate.bootstrap_ci(y, np.linspace(0.1, 0.9, len(y)), n_boot=200, groups=groups)
    assert ci["sensitivity"] is not None and ci["roc_auc"] is not None


def test_clustered_bootstrap_is_deterministic_by_seed():
    y, p, groups = clustered_scores(n_patients=30, per_patient=3)
    a = evaluate.bootstrap_ci(y, p, n_boot=300, seed=7, groups=groups)
    assert evaluate.bootstrap_ci(y, p, n_boot=300, seed=7, groups=groups) == a
    assert evaluate.bootstrap_ci(y, p, n_boot=300, seed=8, groups=groups) != a
    d = evaluate.paired_bootstrap_diff(y, p, p ** 2, n_boot=300, seed=7, groups=groups)
    assert evaluate.paired_bootstrap_diff(y, p, p ** 2, n_boot=300, seed=7, groups=groups) == d


def test_images_without_a_patient_id_are_their_own_patients():
    units = evaluate._units(["a", None, "a", float("nan"), "", "b"], 6)
    assert units[0] == units[2] and len(set(units.tolist())) == 5
    with pytest.raises(XrayError, match="3 patient ids for 4 images"):
        evaluate.bootstrap_ci([0, 1, 0, 1], [0.1, 0.9, 0.2, 0.8], groups=["a", "b", "c"])


def test_bootstrap_method_names_the_unit():
    _, _, groups = clustered_scores(n_patients=10, per_patient=3)
    method = evaluate.bootstrap_method(groups, n_boot=1000)
    assert method["unit"] == "patient" and method["n_units"] == 10 and method["n_resamples"] == 1000
    assert "patients resampled" in method["method"] and "within class" in method["method"]
    assert "patients" in method["paired_test"]
    plain = evaluate.bootstrap_method(None, n_boot=500, n_images=624)
    assert (plain["unit"], plain["n_units"], plain["n_resamples"]) == ("image", 624, 500)
    assert "images resampled" in plain["method"]


# ---- Youden --------------------------------------------------------------------------------------


def test_youden_threshold_is_the_best_roc_point():
    # threshold 0.6: sensitivity 4/5, specificity 1 (J = .8); 0.35: 1 and 3/4 (J = .75); others lower
    y = np.array([0, 0, 0, 0, 1, 1, 1, 1, 1])
    p = np.array([0.1, 0.2, 0.3, 0.4, 0.35, 0.6, 0.7, 0.8, 0.9])
    t = evaluate.youden_threshold(y, p)
    assert t == pytest.approx(0.5)  # halfway between the best point's score 0.6 and the next lower one, 0.4
    m = evaluate.classification_metrics(y, p, threshold=t)
    assert (m["sensitivity"], m["specificity"]) == (pytest.approx(0.8), 1.0)


def test_youden_threshold_is_a_midpoint_that_can_be_told_from_one():
    # the best point is at a saturated score: p == 1.0 for 3 PNEUMONIA images; next lower 0.9999
    y = np.array([0, 0, 0, 1, 1, 1, 1])
    p = np.array([0.2, 0.3, 0.99995, 1.0, 1.0, 1.0, 0.9999])
    t = evaluate.youden_threshold(y, p)
    assert t == pytest.approx((1.0 + 0.99995) / 2) and t < 1.0
    assert evaluate.classification_metrics(y, p, t)["confusion_matrix"] == [[3, 0], [1, 3]]
    assert evaluate.youden_basis(y) == {"normal": 3, "pneumonia": 4, "few": True}
    assert not evaluate.youden_basis(np.r_[np.zeros(50), np.ones(60)])["few"]


def test_youden_threshold_is_a_probability_even_when_nothing_separates():
    y = np.array([0, 1, 0, 1])
    p = np.array([0.9, 0.1, 0.95, 0.2])  # perfectly wrong: the best J is at the +inf threshold
    assert 0.0 <= evaluate.youden_threshold(y, p) <= 1.0


# ---- McNemar, paired bootstrap, Holm --------------------------------------------------------------


def mcnemar_case(b, c, both_right=20, both_wrong=5):
    a = [True] * b + [False] * c + [True] * both_right + [False] * both_wrong
    bb = [False] * b + [True] * c + [True] * both_right + [False] * both_wrong
    return np.array(a), np.array(bb)


def test_mcnemar_exact_known_value_and_symmetry():
    a, b = mcnemar_case(10, 2)
    out = evaluate.mcnemar_exact(a, b)
    # two-sided exact binomial: 2 * P(X >= 10 | n = 12, 1/2) = 2 * (66 + 12 + 1) / 4096
    assert (out["b"], out["c"]) == (10, 2)
    assert out["pvalue"] == pytest.approx(2 * 79 / 4096)
    swapped = evaluate.mcnemar_exact(b, a)
    assert (swapped["b"], swapped["c"]) == (2, 10)
    assert swapped["pvalue"] == pytest.approx(out["pvalue"])
    assert evaluate.mcnemar_exact(*mcnemar_case(6, 6))["pvalue"] == pytest.approx(1.0)


def test_mcnemar_without_discordant_pairs_is_one():
    same = np.array([True, False, True, True])
    assert evaluate.mcnemar_exact(same, same) == {"b": 0, "c": 0, "pvalue": 1.0}


def predictions_with_accuracy(y, right):
    """Probabilities whose 0.5-threshold calls are right exactly where ``right`` is True."""
    return np.where(right, np.where(y == 1, 0.8, 0.2), np.where(y == 1, 0.2, 0.8))


def test_paired_bootstrap_diff_contains_the_true_difference():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 400)
    right_a = np.arange(400) < 320  # 80 %
    right_b = np.roll(right_a, 40)  # also 80 %, partly on other images
    right_b[40:80] = False  # now 70 %: A alone is right on 80 images, B alone on 40
    p_a, p_b = predictions_with_accuracy(y, right_a), predictions_with_accuracy(y, right_b)
    out = evaluate.paired_bootstrap_diff(y, p_a, p_b, n_boot=1000)
    assert out["diff"] == pytest.approx(right_a.mean() - right_b.mean())
    assert out["lo"] < out["diff"] < out["hi"]
    assert out["lo"] > 0  # 10 points on 400 images is clearly positive
    assert evaluate.paired_bootstrap_diff(y, p_a, p_b, n_boot=1000) == out


def test_paired_bootstrap_diff_of_a_run_with_itself_is_exactly_zero():
    y, p = noisy_scores(100)
    assert evaluate.paired_bootstrap_diff(y, p, p, n_boot=200) == {"diff": 0.0, "lo": 0.0, "hi": 0.0}


def test_sign_flip_test_is_mcnemar_with_one_image_per_patient():
    rng = np.random.default_rng(4)
    for _ in range(5):
        a, b = rng.random(60) < 0.8, rng.random(60) < 0.6
        expected = evaluate.mcnemar_exact(a, b)["pvalue"]
        assert evaluate.cluster_sign_flip_test(a, b)["pvalue"] == pytest.approx(expected, rel=1e-9)
        ids = [f"p{i}" for i in range(60)]
        assert evaluate.cluster_sign_flip_test(a, b, ids)["pvalue"] == pytest.approx(expected, rel=1e-9)


def test_sign_flip_test_counts_patients_not_images():
    # 7 discordant patients of 5 images each: 6 favour A, 1 favours B. McNemar sees 30 vs 5 images;
    # flipping whole patients, |sum| >= 25 needs 6 or 7 signs alike: 2 * (7 + 1) / 2**7 = 0.125
    per_patient = np.array([5] * 6 + [-5])
    right_a, right_b = np.repeat(per_patient > 0, 5), np.repeat(per_patient < 0, 5)
    groups = np.repeat(np.arange(7), 5)
    out = evaluate.cluster_sign_flip_test(right_a, right_b, groups)
    assert out == {"diff_images": 25, "discordant_patients": 7, "pvalue": pytest.approx(0.125)}
    assert evaluate.mcnemar_exact(right_a, right_b)["pvalue"] < 1e-4
    # patients with different sizes: enumerate all 2**5 sign patterns by hand
    d = np.array([3, 1, 2, -1, 2])
    a = np.concatenate([np.ones(abs(v), bool) if v > 0 else np.zeros(abs(v), bool) for v in d])
    groups = np.repeat(np.arange(5), np.abs(d))
    signs = np.array([[1 if (k >> i) & 1 else -1 for i in range(5)] for k in range(32)])
    expected = np.mean(np.abs(signs @ np.abs(d)) >= abs(d.sum()))
    assert evaluate.cluster_sign_flip_test(a, ~a, groups)["pvalue"] == pytest.approx(expected)
    assert evaluate.cluster_sign_flip_test(a, a, groups) == {"diff_images": 0, "discordant_patients": 0,
                                                             "pvalue": 1.0}


def test_holm_known_vector():
    # sorted: .005*4 = .02, .01*3 = .03, .03*2 = .06, .04*1 = .04 -> running max .02 .03 .06 .06
    assert evaluate.holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert evaluate.holm([0.5, 0.6]) == [1.0, 1.0]  # capped at 1, still monotone
    assert evaluate.holm([0.2]) == [0.2]
    assert evaluate.holm([]) == []


def test_pairwise_comparisons_one_row_per_pair_with_holm():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 300)
    runs = {name: (y, predictions_with_accuracy(y, rng.random(300) < acc), 0.5)
            for name, acc in (("resnet18-finetune", 0.95), ("resnet18-frozen", 0.8), ("squeezenet1_1-frozen", 0.6))}
    df = evaluate.pairwise_comparisons(runs, n_boot=300)
    assert list(zip(df["a"], df["b"], strict=True)) == [("resnet18-finetune", "resnet18-frozen"),
                                           ("resnet18-finetune", "squeezenet1_1-frozen"),
                                           ("resnet18-frozen", "squeezenet1_1-frozen")]
    assert df["p_holm"].tolist() == pytest.approx(evaluate.holm(df["p_cluster"].tolist()))
    assert df["p"].tolist() == df["p_cluster"].tolist()
    assert df["p_cluster"].tolist() == pytest.approx(df["p_mcnemar"].tolist())  # one image per patient
    assert df["diff"].tolist() == pytest.approx((df["acc_a"] - df["acc_b"]).tolist())
    assert (df["ci_lo"] <= df["diff"]).all() and (df["diff"] <= df["ci_hi"]).all()
    assert df["significant"].tolist() == (df["p_holm"] < 0.05).tolist()
    assert bool(df["significant"].iloc[1])  # 95 % vs 60 % on 300 images
    row = df.iloc[0]
    right_a = (runs[row.a][1] >= 0.5) == y
    right_b = (runs[row.b][1] >= 0.5) == y
    assert row.only_a_right == (right_a & ~right_b).sum() and row.only_b_right == (~right_a & right_b).sum()


def test_pairwise_verdicts_use_the_clustered_p_with_holm():
    # 40 patients of 4 identical images; A is right on 30 patients, B on 22 (same labels)
    y_patient = np.arange(40) % 2
    right = {"A": np.arange(40) < 30, "B": (np.arange(40) < 22) | (np.arange(40) >= 36), "C": np.arange(40) < 20}
    y = np.repeat(y_patient, 4)
    groups = np.repeat([f"person{i}" for i in range(40)], 4)
    runs = {k: (y, predictions_with_accuracy(y, np.repeat(v, 4)), 0.5) for k, v in right.items()}
    clustered = evaluate.pairwise_comparisons(runs, n_boot=300, groups=groups)
    plain = evaluate.pairwise_comparisons(runs, n_boot=300)
    assert (clustered["p_cluster"] > 5 * clustered["p_mcnemar"]).all()
    assert clustered["p_mcnemar"].tolist() == plain["p_mcnemar"].tolist()  # McNemar ignores patients
    assert clustered["p_holm"].tolist() == pytest.approx(evaluate.holm(clustered["p_cluster"].tolist()))
    assert clustered["significant"].tolist() == (clustered["p_holm"] < 0.05).tolist()
    assert bool(plain["significant"].iloc[0]) and not bool(clustered["significant"].iloc[0])  # A vs B
    widths = clustered["ci_hi"] - clustered["ci_lo"], plain["ci_hi"] - plain["ci_lo"]
    assert (widths[0] > widths[1]).all()
    with pytest.raises(XrayError, match="patient ids"):
        evaluate.pairwise_comparisons(runs, groups=groups[:10])


def test_paired_auc_test_matches_sklearn_and_detects_a_real_difference():
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(2)
    y = rng.integers(0, 2, 400)
    good = np.clip(0.5 + (y - 0.5) * 0.6 + rng.normal(0, 0.2, 400), 0, 1)
    poor = np.clip(0.5 + (y - 0.5) * 0.1 + rng.normal(0, 0.3, 400), 0, 1)
    out = evaluate.paired_auc_test(y, good, poor, n_boot=500)
    assert out["auc_a"] == pytest.approx(roc_auc_score(y, good))
    assert out["auc_b"] == pytest.approx(roc_auc_score(y, poor))
    assert out["lo"] <= out["diff"] <= out["hi"] and out["lo"] > 0 and out["pvalue"] < 1e-4
    same = evaluate.paired_auc_test(y, good, good, n_boot=200)
    assert (same["diff"], same["pvalue"]) == (0.0, 1.0)
    # with patients of 4 identical images the same difference is less certain
    groups = np.repeat(np.arange(100), 4)
    y4, a4, b4 = (np.repeat(v[:100], 4) for v in (y, good, poor))
    assert evaluate.paired_auc_test(y4, a4, b4, n_boot=500, groups=groups)["pvalue"] > \
        evaluate.paired_auc_test(y4, a4, b4, n_boot=500)["pvalue"]
    runs = {"good": (y, good, 0.5), "poor": (y, poor, 0.5), "mid": (y, (good + poor) / 2, 0.5)}
    df = evaluate.pairwise_comparisons(runs, n_boot=200)
    assert df["p_mcnemar_holm"].tolist() == pytest.approx(evaluate.holm(df["p_mcnemar"].tolist()))
    assert df["p_auc_holm"].tolist() == pytest.approx(evaluate.holm(df["p_auc"].tolist()))
    assert bool(df["auc_significant"].iloc[0])


def test_pairwise_comparisons_refuses_runs_on_different_images():
    y, p = noisy_scores(50)
    other = y.copy()
    other[0] = 1 - other[0]
    with pytest.raises(ValueError, match="not evaluated on the same test images"):
        evaluate.pairwise_comparisons({"a": (y, p, 0.5), "b": (other, p, 0.5)})
    with pytest.raises(XrayError, match="'a' and 'b'"):
        evaluate.pairwise_comparisons({"a": (y, p, 0.5), "b": (y[:40], p[:40], 0.5)})


def test_pairwise_comparisons_of_one_run_is_empty():
    y, p = noisy_scores(20)
    df = evaluate.pairwise_comparisons({"only": (y, p, 0.5)})
    assert df.empty and "p_holm" in df.columns


# ---- seeds ---------------------------------------------------------------------------------------


def test_seed_summary_is_mean_and_sample_sd():
    out = evaluate.seed_summary([0.8, 0.9, 1.0])
    assert out["mean"] == pytest.approx(0.9) and out["sd"] == pytest.approx(0.1)  # ddof=1: sqrt(0.02 / 2)
    assert out["n"] == 3 and out["values"] == [0.8, 0.9, 1.0]
    assert evaluate.seed_summary([0.7]) == {"mean": 0.7, "sd": None, "n": 1, "values": [0.7]}
    assert evaluate.seed_summary([0.5, None, float("nan"), 0.7])["n"] == 2
    assert evaluate.seed_summary([]) == {"mean": None, "sd": None, "n": 0, "values": []}


# ---- calibration ---------------------------------------------------------------------------------


def test_ece_is_near_zero_when_calibrated_and_large_when_overconfident():
    rng = np.random.default_rng(0)
    p = rng.random(20000)
    y = (rng.random(20000) < p).astype(int)  # labels drawn with exactly the predicted probability
    good = evaluate.calibration(y, p, n_bins=10)
    assert good["ece"] < 0.02
    assert good["counts"].sum() == len(y)
    assert len(good["prob_true"]) == len(good["prob_pred"]) == len(good["counts"])
    assert np.allclose(good["prob_true"], good["prob_pred"], atol=0.05)
    assert good["brier"] == pytest.approx(np.mean((p - y) ** 2))
    assert len(good["bin_edges"]) == 11

    overconfident = np.where(p > 0.5, 0.99, 0.01)
    assert evaluate.calibration(y, overconfident)["ece"] > 0.2


def test_ece_counts_only_nonempty_bins_and_agrees_with_hand_computation():
    y = np.array([0, 1, 1, 1])
    p = np.array([0.05, 0.05, 0.95, 0.95])  # bins [0, .1): 1 of 2 positive at p=.05; [.9, 1]: 2 of 2 at .95
    c = evaluate.calibration(y, p, n_bins=10)
    assert c["counts"].tolist() == [2, 2]
    assert c["ece"] == pytest.approx((2 * abs(0.5 - 0.05) + 2 * abs(1.0 - 0.95)) / 4)


# ---- predict ---------------------------------------------------------------------------------------


def linear_model():
    model = nn.Linear(3, 2)
    with torch.no_grad():
        model.weight.copy_(torch.tensor([[0.0, 0.0, 0.0], [1.0, -2.0, 0.5]]))
        model.bias.copy_(torch.tensor([0.0, 0.25]))
    return model  # logit difference = x0 - 2 x1 + 0.5 x2 + 0.25, so p = sigmoid of that


def test_predict_gives_softmax_probabilities_labels_and_mean_loss():
    torch.manual_seed(0)
    x = torch.randn(11, 3)
    y = torch.randint(0, 2, (11,))
    model = linear_model()
    loader = DataLoader(TensorDataset(x, y), batch_size=4)  # last batch smaller
    labels, p, logits, loss = evaluate.predict(model, loader, CPU)
    assert logits == pytest.approx(model(x).detach().numpy(), abs=1e-6)
    expected = torch.sigmoid(x @ torch.tensor([1.0, -2.0, 0.5]) + 0.25)
    assert labels.dtype == np.int64 and labels.tolist() == y.tolist()
    assert p == pytest.approx(expected.numpy(), abs=1e-6)
    assert loss == pytest.approx(nn.functional.cross_entropy(model(x), y).item(), abs=1e-6)
    assert evaluate.classification_metrics(labels, p)["loss"] == pytest.approx(loss, abs=1e-5)
    assert evaluate.classification_metrics(labels, p, logits=logits)["loss"] == pytest.approx(loss, rel=1e-12)


def test_predict_loss_is_exact_for_confident_mistakes():
    # a logit gap of 40: the fp32 softmax says p = 1.0 exactly, the loss of a NORMAL image is still 40
    x, y = torch.tensor([[40.0, 0.0, 0.0], [0.0, 0.0, 0.0]]), torch.tensor([0, 1])
    model = nn.Linear(3, 2)
    with torch.no_grad():
        model.weight.copy_(torch.tensor([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0]]))
        model.bias.zero_()
    out = evaluate.predict(model, [(x, y)], CPU)
    expected = nn.CrossEntropyLoss()(model(x).double(), y).item()
    assert out.loss == pytest.approx(expected, rel=1e-12) and out.loss == pytest.approx((40 + np.log(2)) / 2)


def test_predict_switches_dropout_off_and_accepts_a_plain_callable():
    torch.manual_seed(0)
    x, y = torch.randn(8, 3), torch.randint(0, 2, (8,))
    loader = DataLoader(TensorDataset(x, y), batch_size=8)
    model = nn.Sequential(nn.Dropout(0.9), linear_model()).train()
    p1 = evaluate.predict(model, loader, CPU).p
    p2 = evaluate.predict(model, loader, CPU).p
    assert not model.training
    assert p1 == pytest.approx(p2)
    head = linear_model()
    p3 = evaluate.predict(lambda features: head(features), loader, Compute.decide("cpu", "off")).p
    assert p3 == pytest.approx(p1, abs=1e-6)


def test_predict_rejects_wrong_logits_and_empty_loaders():
    loader = DataLoader(TensorDataset(torch.randn(4, 3), torch.zeros(4, dtype=torch.long)), batch_size=2)
    with pytest.raises(XrayError, match=r"expected \(2, 2\)"):
        evaluate.predict(nn.Linear(3, 3), loader, CPU)
    with pytest.raises(XrayError, match="no batches"):
        evaluate.predict(linear_model(), [], CPU)
    assert not math.isnan(evaluate.predict(linear_model(), loader, CPU).loss)


def test_predict_in_cpu_bf16_matches_float32_and_returns_float64():
    torch.manual_seed(0)
    loader = DataLoader(TensorDataset(torch.randn(64, 3), torch.randint(0, 2, (64,))), batch_size=16)
    model = linear_model()
    _, p_bf16, _, loss_bf16 = evaluate.predict(model, loader, Compute(torch.device("cpu"), torch.bfloat16))
    _, p_fp32, _, loss_fp32 = evaluate.predict(model, loader, CPU)
    assert p_bf16.dtype == np.float64
    assert p_bf16 == pytest.approx(p_fp32, abs=2e-2)
    assert loss_bf16 == pytest.approx(loss_fp32, abs=2e-2)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_predict_with_autocast_on_cuda_matches_float32():
    torch.manual_seed(0)
    loader = DataLoader(TensorDataset(torch.randn(64, 3), torch.randint(0, 2, (64,))), batch_size=16)
    model = linear_model().cuda()
    _, p_amp, _, loss_amp = evaluate.predict(model, loader, Compute.decide("cuda", "on"))
    _, p_fp32, _, loss_fp32 = evaluate.predict(model, loader, Compute.decide("cuda", "off"))
    assert p_amp.dtype == np.float64
    assert p_amp == pytest.approx(p_fp32, abs=2e-2)
    assert loss_amp == pytest.approx(loss_fp32, abs=2e-2)
