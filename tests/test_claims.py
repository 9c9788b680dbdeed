"""The homework's seven claims tested on constructed runs: each verdict follows from the numbers given."""

import numpy as np
import pandas as pd
import pytest

from xray_utils import claims
from xray_utils.config import RunConfig
from xray_utils.report import claims_view
from xray_utils.runs import Run

N = 400  # test images, one per patient; half PNEUMONIA
Y = np.r_[np.zeros(N // 2, int), np.ones(N // 2, int)]
RANK = np.random.default_rng(0).permutation(N)  # a run of accuracy a is right on the images ranked below a * N

RISING = [0.9, 0.7, 0.5, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]  # overfits (strong)
FALLING = [0.9, 0.8, 0.7, 0.6, 0.55, 0.5, 0.48, 0.46, 0.45, 0.44]  # improving to the end


def fake_run(backbone, mode, accuracy, val_loss=FALLING, seed=0, fraction=1.0, dataset="synthetic", weights="none",
             val_acc=None, img_size=32):
    cfg = RunConfig(backbone=backbone, mode=mode, seed=seed, train_fraction=fraction, dataset=dataset,
                    weights=weights, img_size=img_size)
    right = RANK < round(accuracy * N)
    p = np.where(right, Y, 1 - Y) * 0.8 + 0.1
    e = np.arange(1, len(val_loss) + 1)
    history = pd.DataFrame({"epoch": e, "train_loss": 1.0 / e, "train_acc": 0.9, "val_loss": val_loss,
                            "val_acc": 0.9 if val_acc is None else val_acc, "lr": 1e-4, "seconds": 1.0})
    ids = [f"p{i}" for i in range(N)]
    preds = pd.DataFrame({"id": ids, "patient": ids, "label": Y, "p_pneumonia": p, "prediction": (p >= 0.5) * 1})
    half = 1.96 * np.sqrt(accuracy * (1 - accuracy) / N)
    test = {"accuracy": float(right.mean()), "ci": {"accuracy": [right.mean() - half, right.mean() + half]},
            "roc_auc": float(right.mean())}
    metrics = {"test": test, "n": {"train": int(1000 * fraction)},
               "best_epoch": int(np.argmin(val_loss)) + 1}
    val = pd.DataFrame({"id": ids[:40], "patient": ids[:40], "label": Y[::10], "p_pneumonia": 0.5})
    return Run(path=None, name=cfg.run_name, config=cfg, metrics=metrics, history=history, predictions=preds,
               val_predictions=val)


def homework_grid(**kw):
    return [fake_run("resnet18", "finetune", 0.95, RISING, **kw), fake_run("resnet18", "frozen", 0.80, **kw),
            fake_run("squeezenet1_1", "finetune", 0.86, **kw), fake_run("squeezenet1_1", "frozen", 0.78, **kw)]


def by_id(verdicts):
    return {v.id: v for v in verdicts}


def test_the_homework_grid_gets_a_verdict_for_each_of_the_seven_claims():
    verdicts = claims.judge(homework_grid())
    assert [v.id for v in verdicts] == list(claims.IDS)
    v = by_id(verdicts)
    assert v["resnet18_finetune_overfits"].verdict == "supported"
    assert v["squeezenet_finetune_stable"].verdict == "supported"  # 9 pp less accurate, flat, never overfits
    # ResNet18: frozen 0 of 1 vs fine-tuned 1 of 1 overfit; SqueezeNet: neither overfits, nothing to avoid
    assert v["frozen_less_overfitting"].verdict == "inconclusive"
    assert [r["state"] for r in v["frozen_less_overfitting"].evidence["backbones"]] == ["supported", "inconclusive"]
    assert v["frozen_lower_accuracy"].verdict == "supported"
    assert v["resnet18_finetune_best"].verdict == "supported"
    assert (v["squeezenet_adapts_small_data"].verdict, v["squeezenet_adapts_small_data"].needs) == \
        ("not tested", "fractions")
    assert (v["squeezenet_not_below_hw3"].verdict, v["squeezenet_not_below_hw3"].needs) == ("not tested", "kaggle_224")
    assert all(x.scratch for x in verdicts)  # weights none: training from scratch, not transfer


def test_verdicts_turn_with_the_evidence():
    runs = [fake_run("resnet18", "finetune", 0.80), fake_run("resnet18", "frozen", 0.81, RISING),
            fake_run("squeezenet1_1", "finetune", 0.95, RISING), fake_run("squeezenet1_1", "frozen", 0.94)]
    v = by_id(claims.judge(runs, reference=0.8393))
    assert v["resnet18_finetune_overfits"].verdict == "not supported"  # validation loss fell to the end
    assert v["squeezenet_finetune_stable"].verdict == "not supported"  # it overfits, and is more accurate
    assert v["frozen_less_overfitting"].verdict == "not supported"  # the frozen ResNet18 overfits, fine-tuned not
    assert v["frozen_lower_accuracy"].verdict == "inconclusive"  # 1 pp apart on 400 images
    assert v["resnet18_finetune_best"].verdict == "not supported"  # SqueezeNet is 15 pp ahead
    a_tie = [fake_run("resnet18", "finetune", 0.90, RISING), fake_run("squeezenet1_1", "finetune", 0.895)]
    assert by_id(claims.judge(a_tie))["resnet18_finetune_best"].verdict == "inconclusive"


def test_a_small_rise_within_the_noise_does_not_make_resnet18_overfit():
    tiny = [0.01, 0.001, 0.00003, 0.0002, 0.0004, 0.0005, 0.0005]
    v = by_id(claims.judge([fake_run("resnet18", "finetune", 0.95, tiny), fake_run("resnet18", "frozen", 0.9)]))
    assert v["resnet18_finetune_overfits"].verdict == "not supported"


def test_unstable_validation_accuracy_is_not_stable():
    jumpy = [0.9, 0.95, 0.9, 0.95, 0.9, 0.95, 0.85, 0.95, 0.85, 0.95]
    runs = [fake_run("resnet18", "finetune", 0.95), fake_run("squeezenet1_1", "finetune", 0.86, val_acc=jumpy)]
    v = by_id(claims.judge(runs))["squeezenet_finetune_stable"]
    assert v.verdict == "not supported" and v.evidence["stable"] == "no"


def test_learning_curves_test_the_small_data_claim():
    runs = homework_grid() + [fake_run("resnet18", "finetune", 0.70, fraction=0.1),
                              fake_run("squeezenet1_1", "finetune", 0.85, fraction=0.1)]
    v = by_id(claims.judge(runs))["squeezenet_adapts_small_data"]
    assert v.verdict == "supported"  # SqueezeNet ahead with 100 images, ResNet18 with 1000, beyond the intervals
    assert v.evidence["pairs"][0]["smallest"]["n"] == 100


def test_hw3_only_on_the_kaggle_test_folder_at_224_px():
    kaggle_y = np.r_[np.zeros(234, int), np.ones(390, int)]

    def kaggle_run(accuracy, lo, hi):
        run = fake_run("squeezenet1_1", "finetune", accuracy, dataset="folder", weights="imagenet", img_size=224)
        run.predictions = pd.DataFrame({"id": range(624), "patient": range(624), "label": kaggle_y,
                                        "p_pneumonia": kaggle_y * 0.8 + 0.1})
        run.metrics["test"]["ci"]["accuracy"] = [lo, hi]
        return run

    assert by_id(claims.judge([kaggle_run(0.88, 0.85, 0.91)]))["squeezenet_not_below_hw3"].verdict == "supported"
    assert by_id(claims.judge([kaggle_run(0.84, 0.81, 0.87)]))["squeezenet_not_below_hw3"].verdict == "inconclusive"
    assert by_id(claims.judge([kaggle_run(0.78, 0.75, 0.81)]))["squeezenet_not_below_hw3"].verdict == "not supported"
    assert not by_id(claims.judge([kaggle_run(0.88, 0.85, 0.91)]))["squeezenet_not_below_hw3"].scratch


@pytest.mark.parametrize("lang", ["en", "zh-TW"])
def test_every_verdict_is_worded_and_report_json_lists_the_seven(lang):
    runs = homework_grid() + [fake_run("resnet18", "finetune", 0.70, fraction=0.1),
                              fake_run("squeezenet1_1", "finetune", 0.85, fraction=0.1)]
    for verdicts in (claims.judge(runs), claims.judge(runs[:1])):
        said = claims.as_dicts(verdicts, claims_view.texts(lang, verdicts))
        assert [d["id"] for d in said] == list(claims.IDS)
        assert all(set(d) == {"id", "claim", "verdict", "text"} and d["verdict"] in claims.VERDICTS for d in said)
        page = claims_view.claims_html(lang, verdicts)
        assert page.count("<tr>") == 1 + 7
        assert claims_view.summary(lang, verdicts)
    not_tested = by_id(claims.judge(runs[:1]))["squeezenet_adapts_small_data"]
    assert "--fractions 0.1,0.25,0.5,1" in claims_view.evidence_text(lang, not_tested)
    assert ("scratch" if lang == "en" else "從頭訓練") in claims_view.claims_html(lang, claims.judge(runs))
