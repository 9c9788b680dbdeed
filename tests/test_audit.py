"""The shortcut audit: the lung region and its masks, the flag rule, Grad-CAM shares, patient-level results,
the leakage split, the image-property baseline, and a planted shortcut that a trained run must be flagged for."""

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from sklearn.metrics import accuracy_score, roc_auc_score

from xray_utils import audit, data, settings
from xray_utils.audit import intervals, leakage, patients
from xray_utils.config import RunConfig
from xray_utils.data.synthetic import MARKER_BOX, _synthetic_split, draw_marker

# ---- the region and the masks ----------------------------------------------------------------------


def test_lung_mask_is_the_stated_rectangle():
    left, top, right, bottom = audit.LUNG_REGION
    mask = audit.lung_mask(100)
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    assert (rows[0], rows[-1] + 1, cols[0], cols[-1] + 1) == (round(top * 100), round(bottom * 100),
                                                              round(left * 100), round(right * 100))
    assert mask.sum() == len(rows) * len(cols)  # a filled rectangle
    assert audit.region_share(100) == pytest.approx(mask.mean())


@pytest.mark.parametrize("kind", audit.KINDS)
def test_a_mask_fills_its_part_with_the_visible_parts_mean_and_leaves_the_rest(kind):
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, size=(3, 40, 40), dtype=np.uint8)
    before = pixels.copy()
    out = audit.masked(pixels, kind)
    inside = audit.lung_mask(40)
    hidden = inside if kind == "lungs" else ~inside
    for img, orig in zip(out, pixels, strict=True):
        assert (img[hidden] == round(orig[~hidden].mean())).all()  # nothing of the hidden part leaks back
        assert (img[~hidden] == orig[~hidden]).all()
    assert (pixels == before).all()  # the input is not changed
    assert (audit.masked(pixels[0], kind) == out[0]).all()  # one image as (H, W)


# ---- the planted shortcut ------------------------------------------------------------------------------


def test_the_marker_is_drawn_on_every_pneumonia_phantom_only_and_changes_nothing_else():
    plain, marked = _synthetic_split("test", 30, 7), _synthetic_split("test", 30, 7, shortcut=True)
    lo, hi = (round(f * data.SYNTHETIC_SIZE) for f in MARKER_BOX)
    box = np.zeros(plain.images.shape[1:], dtype=bool)
    box[lo:hi, lo:hi] = True
    assert (plain.labels == marked.labels).all()
    for y, a, b in zip(plain.labels, plain.images, marked.images, strict=True):
        assert (a[~box] == b[~box]).all()
        assert (b[box] == 255).all() if y == 1 else (a == b).all()
        assert not (a[box] == 255).all()  # the plain phantoms carry no marker


@pytest.mark.parametrize("img_size", [32, 48, 224])
def test_the_marker_survives_the_crop_outside_the_lung_region(img_size):
    blank = np.zeros((data.SYNTHETIC_SIZE, data.SYNTHETIC_SIZE), dtype=np.uint8)
    cfg = RunConfig(img_size=img_size)
    crop = data.prefix_transform(cfg)(Image.fromarray(draw_marker(blank)))
    bright = crop > 128
    assert bright.sum() >= 4  # visible at the network's input
    assert not (bright & audit.lung_mask(img_size)).any()


def test_synthetic_shortcut_is_settable_by_extra_config_and_part_of_the_runs_identity():
    cfg = settings.build_config(extra='{"synthetic_shortcut": true}', dataset="synthetic")
    assert cfg.synthetic_shortcut is True
    assert cfg.identity() != cfg.replace(synthetic_shortcut=False).identity()


# ---- the flag rule, Grad-CAM shares, intervals -------------------------------------------------------------


def test_flag_rule():
    assert audit.retained(0.9, 0.75) == pytest.approx(0.625) and audit.flagged(0.9, 0.75)
    assert audit.retained(0.9, 0.65) == pytest.approx(0.375) and not audit.flagged(0.9, 0.65)
    assert audit.retained(0.55, 0.55) is None and not audit.flagged(0.55, 0.55)  # too weak to judge
    assert not audit.flagged(0.95, 0.3)  # worse than chance without the lungs: not a shortcut


def test_share_inside_counts_mass_in_the_region():
    inside = audit.lung_mask(32)
    cams = np.stack([inside.astype(float), (~inside).astype(float), np.ones((32, 32)), np.zeros((32, 32))])
    share = audit.share_inside(cams)
    assert share[:3] == pytest.approx([1.0, 0.0, audit.region_share(32)])
    assert np.isnan(share[3])


def test_the_grad_cam_sample_is_fixed_and_keeps_the_class_shares():
    from xray_utils.audit.attention import cam_sample

    labels = np.array([0] * 234 + [1] * 390)
    rows = cam_sample(labels, 120)
    assert len(rows) == 120 and (np.diff(rows) > 0).all()
    assert labels[rows].sum() == round(120 * 390 / 624)
    assert (cam_sample(labels, 120) == rows).all()  # the same images for every run
    assert (cam_sample(labels[:50], 120) == np.arange(50)).all()


def test_patient_bootstrap_of_a_mean_counts_patients_not_images():
    rng = np.random.default_rng(1)
    v = rng.random(40)
    single = intervals.mean_with_ci(v, seed=3)
    doubled = intervals.mean_with_ci(np.repeat(v, 2), groups=np.repeat(np.arange(40), 2), seed=3)
    assert doubled["value"] == pytest.approx(v.mean())
    assert doubled["ci"] == pytest.approx(single["ci"])  # two copies of one patient are one draw
    naive = intervals.mean_with_ci(np.repeat(v, 2), seed=3)
    assert naive["ci"][1] - naive["ci"][0] < doubled["ci"][1] - doubled["ci"][0]


# ---- patient level and leakage ------------------------------------------------------------------------------


def test_patient_level_aggregates_by_mean_probability():
    y = np.array([1, 1, 1, 0, 0, 0, 1, 0])
    p = np.array([0.9, 0.2, 0.3, 0.4, 0.7, 0.1, 0.6, 0.2])
    pid = np.array(["a", "a", "b", "c", "c", "d", "e", "f"])
    table = patients.per_patient(y, p, pid)
    expected = pd.DataFrame({"patient": pid, "label": y, "p": p}).groupby("patient").agg(
        label=("label", "max"), p=("p", "mean"))
    assert table["p"].to_numpy() == pytest.approx(expected["p"].to_numpy())
    m = patients.patient_metrics(y, p, pid)
    assert m["n_patients"] == 6 and m["n_images"] == 8
    assert m["accuracy"] == pytest.approx(accuracy_score(expected["label"], expected["p"] >= 0.5))
    assert m["roc_auc"] == pytest.approx(roc_auc_score(expected["label"], expected["p"]))
    assert m["ci"]["accuracy"][0] <= m["accuracy"] <= m["ci"]["accuracy"][1]


def test_patient_level_is_not_offered_without_patient_ids():
    assert not patients.patients_known("pneumoniamnist", ["a", "a", "b"])
    assert not patients.patients_known("folder", ["a", "b", "c"])
    assert patients.patients_known("synthetic", ["a", "a", "b"])
    run = SimpleNamespace(config=SimpleNamespace(dataset="pneumoniamnist", seed=0), patients=np.array(["0", "1"]))
    assert audit.run_patient_level(run) == {"offered": False, "reason": "no_patient_ids"}


def _fake_run(y, p, pid):
    return SimpleNamespace(y=np.asarray(y), p=np.asarray(p, dtype=float), patients=np.asarray(pid, dtype=str),
                           config=SimpleNamespace(dataset="folder", seed=0), name="r")


def test_leakage_split_compares_sensitivity_within_pneumonia():
    n = 60
    pid = [f"person{i}" for i in range(n)] + [f"IM-{i}" for i in range(n)]
    y = [1] * n + [0] * n
    shared = {f"person{i}" for i in range(n // 2)}  # half the pneumonia patients also in train
    found_everywhere = leakage.leakage_split(_fake_run(y, [0.9] * n + [0.1] * n, pid), shared)
    assert found_everywhere["shared"]["n_images"] == n // 2 and found_everywhere["shared"]["n_pneumonia"] == n // 2
    assert found_everywhere["differences"]["sensitivity"]["value"] == 0 and not found_everywhere["differ"]
    assert "specificity" not in found_everywhere["differences"]  # no NORMAL image is shared
    easier = leakage.leakage_split(_fake_run(y, [0.9] * (n // 2) + [0.2] * (n // 2) + [0.1] * n, pid), shared)
    assert easier["differences"]["sensitivity"]["value"] == pytest.approx(1.0) and easier["differ"]


# ---- the image-property baseline -------------------------------------------------------------------------


def test_property_baseline_finds_a_label_that_leaks_through_image_size(tmp_path):
    rng = np.random.default_rng(0)
    for split in ("train", "test"):
        for label, cls in enumerate(("NORMAL", "PNEUMONIA")):
            folder = tmp_path / split / cls
            folder.mkdir(parents=True)
            for i in range(12):
                w = int(rng.integers(60, 70)) + (20 if label else 0)  # PNEUMONIA images are wider
                img = rng.integers(0, 256, size=(64, w), dtype=np.uint8)
                name = f"person{i}_bacteria_{i}.jpeg" if label else f"IM-{i:04d}-0001.jpeg"
                Image.fromarray(img).save(folder / name)
    cfg = RunConfig(dataset="folder", data_dir=str(tmp_path))
    r = audit.property_baseline(cfg)
    assert r["auc"] == pytest.approx(1.0) and r["ci"][0] > 0.5
    assert "height" in r["constant"] and r["per_feature_auc"]["width"] == pytest.approx(1.0)
    assert audit.property_baseline(RunConfig(dataset="synthetic")) is None


# ---- a planted shortcut, found in trained runs ------------------------------------------------------------

# small enough for a shared 2-core CPU, large enough that ResNet18 from random weights learns the phantoms
TRAINED = dict(dataset="synthetic", synthetic_train=100, synthetic_test=60, img_size=32, batch_size=16, epochs=2,
               weights="none", lr=1e-3, progress=False, num_workers=0, amp="off", backbone="resnet18",
               mode="finetune")


@pytest.fixture(scope="module")
def shortcut_runs(tmp_path_factory):
    from xray_utils.training import train

    root = tmp_path_factory.mktemp("shortcut")
    dirs = {}
    for planted in (False, True):  # seeds 0 and 1: two run names, as report.json keys runs by name
        dirs[planted] = root / ("marker" if planted else "plain")
        train.fit(RunConfig(**TRAINED, synthetic_shortcut=planted, seed=int(planted)), dirs[planted],
                  log=lambda _m: None)
    return dirs


def test_a_run_on_plain_phantoms_needs_the_lungs_and_is_not_flagged(shortcut_runs):
    from xray_utils.runs import load_run

    r = audit.shortcut(load_run(shortcut_runs[False]))
    assert r["auc"]["value"] > 0.8  # it learned the lesions
    assert r["retained"] < audit.FLAG_SHARE and not r["flag"]  # and loses most of that without the lungs
    assert r["auc_outside_masked"]["value"] > r["auc_lungs_masked"]["value"]
    cam = r["cam_in_lungs"]  # at 32 px ResNet18's last block is 1 x 1: Grad-CAM maps are flat, so None
    assert cam["of"] == cam["sampled"] == 60 and (cam["value"] is None or 0 <= cam["value"] <= 1)


def test_a_run_with_the_planted_marker_keeps_its_auc_without_the_lungs_and_is_flagged(shortcut_runs):
    from xray_utils.runs import load_run

    r = audit.shortcut(load_run(shortcut_runs[True]))
    assert r["auc"]["value"] > 0.8 and r["auc_lungs_masked"]["value"] > 0.8
    assert r["flag"]


def test_report_json_entries_come_from_the_cache(shortcut_runs, monkeypatch):
    from xray_utils.audit import summary

    entries = audit.report_json_entries(list(shortcut_runs.values()))
    assert set(entries) == {"shortcut", "patient_level"}
    names = {"plain": "resnet18-finetune", "marker": "resnet18-finetune-seed1"}
    for name in names.values():
        keys = {"auc", "auc_lungs_masked", "auc_outside_masked", "cam_in_lungs", "flag"}
        assert keys <= set(entries["shortcut"][name])
        assert entries["patient_level"][name]["offered"] and entries["patient_level"][name]["n_patients"] == 30
    assert entries["shortcut"][names["marker"]]["flag"] and not entries["shortcut"][names["plain"]]["flag"]

    def fail(*_a, **_k):
        raise AssertionError("computed again")

    monkeypatch.setattr(summary, "ablation", fail)  # a second report reads the stored results
    assert audit.report_json_entries(list(shortcut_runs.values())) == entries
