"""Grad-CAM cases and maps: the same images for every run, maps that match the images and the model."""

import numpy as np
import pandas as pd
import pytest

from xray_utils import explain
from xray_utils.config import RunConfig
from xray_utils.errors import XrayError
from xray_utils.training import train

# fp32 (amp off): Grad-CAM runs the rebuilt model in fp32, and its probabilities are compared with the run's
TINY = dict(dataset="synthetic", synthetic_train=40, synthetic_test=16, img_size=48, batch_size=16,
            weights="none", progress=False, num_workers=0, lr=1e-3, epochs=1, amp="off")


def predictions(labels, probs, ids=None):
    ids = ids or [f"test/{i:05d}" for i in range(len(labels))]
    p = np.asarray(probs, dtype=float)
    return pd.DataFrame({"id": ids, "label": labels, "p_pneumonia": p, "prediction": (p >= 0.5).astype(int)})


def test_select_cases_covers_every_outcome_most_confident_first():
    labels = [1, 1, 1, 1, 0, 0, 0, 0]
    a = predictions(labels, [0.99, 0.8, 0.3, 0.1, 0.9, 0.6, 0.2, 0.01])
    b = predictions(labels, [0.97, 0.7, 0.2, 0.2, 0.8, 0.7, 0.1, 0.02])
    ids = explain.select_cases({"a": a, "b": b}, per_kind=1)
    # TP: the most confident pneumonia; FN: pneumonia called normal most surely; FP, TN likewise
    assert ids == ["test/00000", "test/00003", "test/00004", "test/00007"]
    kinds = [explain.outcome(y, p) for y, p in zip(a.set_index("id").loc[ids, "label"],
                                                     a.set_index("id").loc[ids, "p_pneumonia"], strict=True)]
    assert kinds == ["tp", "fn", "fp", "tn"]


def test_select_cases_is_the_same_whatever_the_order_of_runs():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 50)
    tables = {f"run{k}": predictions(labels, rng.random(50)) for k in range(4)}
    forward = explain.select_cases(tables, per_kind=2)
    backward = explain.select_cases(dict(reversed(list(tables.items()))), per_kind=2)
    assert forward == backward == explain.select_cases(list(tables.values())[::-1], per_kind=2)
    assert len(forward) == len(set(forward)) == 8
    for table in tables.values():
        assert set(forward) <= set(table["id"])


def test_easy_test_set_fills_missing_kinds_with_disputed_images():
    labels = [1, 1, 1, 0, 0, 0]
    a = predictions(labels, [0.9, 0.8, 0.7, 0.1, 0.2, 0.3])
    b = predictions(labels, [0.9, 0.4, 0.7, 0.1, 0.6, 0.3])  # b gets images 1 and 4 wrong
    ids = explain.select_cases({"a": a, "b": b}, per_kind=1)
    assert len(ids) == 4
    assert {"test/00001", "test/00004"} <= set(ids)  # no consensus mistakes: the disputed ones stand in


def test_select_cases_uses_only_images_every_run_has():
    a = predictions([1, 0, 1], [0.9, 0.1, 0.8], ids=["x", "y", "z"])
    b = predictions([1, 0], [0.9, 0.1], ids=["x", "y"])
    assert set(explain.select_cases([a, b])) <= {"x", "y"}
    with pytest.raises(XrayError, match="share no test image"):
        explain.select_cases([a, predictions([1], [0.5], ids=["w"])])


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("cam")
    dirs = {}
    for mode in ("finetune", "frozen"):
        cfg = RunConfig(**TINY, backbone="squeezenet1_1", mode=mode)
        train.fit(cfg, root / mode, log=lambda _m: None)
        dirs[mode] = root / mode
    return dirs


@pytest.mark.parametrize("mode", ["finetune", "frozen"])
def test_grad_cam_maps_have_the_image_shape_and_show_structure(trained, mode):
    run_dir = trained[mode]
    preds = pd.read_csv(run_dir / "predictions.csv", dtype={"id": str})
    ids = list(preds["id"][:6])
    images, cams, probs = explain.compute_cams(run_dir, ids)
    assert images.shape == cams.shape == (6, 48, 48)
    assert 0 <= images.min() and images.max() <= 1 and images.std() > 0.05
    assert np.isfinite(cams).all() and cams.min() >= 0 and cams.max() <= 1 + 1e-6
    assert max(float(c.std()) for c in cams) > 0.01  # not a constant map
    # the model rebuilt from best.pt, on images rebuilt from config.json, reproduces the run's predictions
    np.testing.assert_allclose(probs, preds["p_pneumonia"][:6].to_numpy(), atol=1e-4)


def test_unknown_test_image_is_a_clear_error(trained):
    with pytest.raises(XrayError, match="not found in test split"):
        explain.compute_cams(trained["finetune"], ["test/99999"])
