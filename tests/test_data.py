"""Data sources, the patient split, transforms, the decode cache and every bad input a user meets."""

import io
import os
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from xray_utils import data
from xray_utils.config import RunConfig
from xray_utils.errors import DataError

CFG = dict(img_size=32, progress=False, num_workers=0)


def phantom(pneumonia: bool, size: int = 96, seed: int = 0) -> Image.Image:
    return Image.fromarray(data.synthetic_phantom(np.random.default_rng(seed), size, pneumonia), mode="L")


def write_folder(root: Path, n: int = 6, splits=("train", "test"), classes=("NORMAL", "PNEUMONIA")) -> Path:
    """A tiny Kaggle-layout folder: n images per class and split, two images per patient."""
    for split in splits:
        for label, cls in enumerate(classes):
            d = root / split / cls
            d.mkdir(parents=True, exist_ok=True)
            for i in range(n):
                name = f"IM-{i // 2:04d}-{i % 2:04d}.jpeg" if label == 0 else f"person{i // 2}_bacteria_{i}.jpeg"
                phantom(label == 1, seed=hash((split, label, i)) % 1000).save(d / name)
    return root


def folder_cfg(root: Path, **kw) -> RunConfig:
    return RunConfig(dataset="folder", data_dir=str(root), **{**CFG, **kw})


@pytest.mark.parametrize("name, patient", [
    ("person123_bacteria_456.jpeg", "person123"), ("person1261_virus_2147.jpeg", "person1261"),
    ("IM-0115-0001.jpeg", "IM-0115"), ("IM-0011-0001-0002.jpeg", "IM-0011"),
    ("NORMAL2-IM-0427-0001.jpeg", "NORMAL2-IM-0427"), ("scan.png", "scan"),
])
def test_patient_id(name, patient):
    assert data.patient_id(name) == patient


def test_folder_split_is_patient_grouped_and_stratified(tmp_path):
    root = write_folder(tmp_path / "xr", n=20)
    splits = data.load_splits(folder_cfg(root, val_fraction=0.2))
    assert len(splits.train) + len(splits.val) == 40 and len(splits.test) == 40
    assert not set(splits.train.patients) & set(splits.val.patients)
    assert set(splits.val.labels.tolist()) == {0, 1}
    # the split does not depend on the training seed: every run of a report sees the same one
    assert data.load_splits(folder_cfg(root, val_fraction=0.2, seed=7)).val.ids == splits.val.ids


def test_given_val_split_keeps_the_folder(tmp_path):
    root = write_folder(tmp_path / "xr", n=4, splits=("train", "val", "test"))
    splits = data.load_splits(folder_cfg(root, val_split="given"))
    assert all(i.startswith("val/") for i in splits.val.ids) and len(splits.val) == 8


def test_cached_and_uncached_tensors_are_equal(tmp_path):
    root = write_folder(tmp_path / "xr", n=4)
    for augment in (False, True):
        cfg = folder_cfg(root, augment=augment)
        cached = data.make_dataset(data.load_splits(cfg).test, cfg, train=True)
        plain = data.make_dataset(data.load_splits(cfg.replace(decode_cache=False)).test,
                                  cfg.replace(decode_cache=False), train=True)
        for i in range(len(cached)):
            torch.manual_seed(i)
            a, ya = cached[i]
            torch.manual_seed(i)
            b, yb = plain[i]
            assert ya == yb and a.shape == (3, 32, 32)
            assert torch.equal(a, b)


def test_transform_is_the_homeworks(tmp_path):
    t = data.build_transforms(RunConfig(), train=False)
    x = t(Image.new("L", (300, 200), 128))
    assert x.shape == (3, 224, 224)
    assert torch.allclose(x[:, 0, 0], (torch.tensor(128 / 255) - torch.tensor(data.IMAGENET_MEAN)) /
                          torch.tensor(data.IMAGENET_STD), atol=1e-6)


def test_decode_cache_is_reused_and_invalidated_when_a_file_changes(tmp_path):
    root = write_folder(tmp_path / "xr", n=4)
    cfg = folder_cfg(root)
    split = data.load_splits(cfg).test
    first, _ = data.ensure_decode_cache(split, cfg)
    again, _ = data.ensure_decode_cache(split, cfg)
    assert first.filename == again.filename
    target = split.paths[0]
    Image.new("L", (96, 96), 255).save(target)
    os.utime(target, ns=(time.time_ns(), time.time_ns() + 10**9))
    changed, _ = data.ensure_decode_cache(data.load_splits(cfg).test, cfg)
    assert changed.filename != first.filename and changed[0].min() == 255


def test_unreadable_and_stray_files_are_skipped_with_one_warning(tmp_path):
    root = write_folder(tmp_path / "xr", n=6)
    d = root / "train" / "PNEUMONIA"
    good = (d / "person0_bacteria_0.jpeg").read_bytes()
    (d / "truncated.jpeg").write_bytes(good[: len(good) // 3])
    (d / "corrupt.jpeg").write_bytes(b"this is not a jpeg at all" * 20)
    (d / "empty.jpeg").write_bytes(b"")
    (d / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")
    (d / "notes.txt").write_text("scanned on Monday")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        splits = data.load_splits(folder_cfg(root))
    messages = [str(w.message) for w in caught if "skipped" in str(w.message)]
    assert len(messages) == 1
    for name in ("truncated.jpeg", "corrupt.jpeg", "empty.jpeg", ".DS_Store", "notes.txt"):
        assert name in messages[0]
    assert len(splits.train) + len(splits.val) == 12
    with pytest.raises(DataError, match="unreadable image: .*(truncated|corrupt)"):
        data.load_splits(folder_cfg(root, strict=True))


@pytest.mark.parametrize("mode", ["RGBA", "P", "I;16", "CMYK", "RGB", "LA"])
def test_unusual_image_modes_are_converted(tmp_path, mode):
    base = phantom(True, size=64)
    if mode == "I;16":
        img = Image.fromarray(np.asarray(base, dtype=np.uint16) * 200)  # a 16-bit image
    else:
        img = base.convert(mode)
    path = tmp_path / ("x.png" if mode != "CMYK" else "x.jpeg")
    img.save(path)
    gray = data.open_image(path)
    assert gray.mode == "L" and gray.size == (64, 64)
    corr = np.corrcoef(np.asarray(gray, float).ravel(), np.asarray(base, float).ravel())[0, 1]
    assert corr > 0.95


def test_very_large_image_is_resized(tmp_path):
    path = tmp_path / "big.jpeg"
    phantom(False, size=96).resize((4000, 3000)).save(path, quality=70)
    x = data.build_transforms(RunConfig(img_size=64), train=False)(data.open_image(path))
    assert x.shape == (3, 64, 64)


def test_structural_problems_name_the_path_and_the_fix(tmp_path):
    with pytest.raises(DataError, match="data folder not found"):
        data.load_splits(folder_cfg(tmp_path / "nowhere"))
    root = write_folder(tmp_path / "nosplit", splits=("train",))
    with pytest.raises(DataError, match="test/ is missing"):
        data.load_splits(folder_cfg(root))
    root = write_folder(tmp_path / "misspelled", classes=("NORMAL", "PNEUMONNIA"))
    with pytest.raises(DataError, match=r"PNEUMONIA/ is missing \(found: .*PNEUMONNIA"):
        data.load_splits(folder_cfg(root))
    root = write_folder(tmp_path / "emptyclass")
    for f in (root / "test" / "NORMAL").iterdir():
        f.unlink()
    with pytest.raises(DataError, match="holds no images"):
        data.load_splits(folder_cfg(root))


def test_single_class_dataset_is_refused(tmp_path):
    rng = np.random.default_rng(0)
    arrays = {f"{s}_images": rng.integers(0, 255, (8, 28, 28), dtype=np.uint8) for s in ("train", "val", "test")}
    arrays |= {f"{s}_labels": np.ones((8, 1), dtype=np.uint8) for s in ("train", "val", "test")}
    np.savez(tmp_path / "pneumoniamnist.npz", **arrays)
    with pytest.raises(DataError, match="single-class"):
        data.load_splits(RunConfig(dataset="pneumoniamnist", data_dir=str(tmp_path), **CFG))


def _npz(path: Path, **override) -> Path:
    rng = np.random.default_rng(0)
    arrays = {}
    for s in ("train", "val", "test"):
        arrays[f"{s}_images"] = rng.integers(0, 255, (10, 28, 28), dtype=np.uint8)
        arrays[f"{s}_labels"] = (np.arange(10) % 2).reshape(-1, 1).astype(np.uint8)
    arrays.update(override)
    np.savez(path, **{k: v for k, v in arrays.items() if v is not None})
    return path


@pytest.mark.parametrize("override, message", [
    ({"val_labels": None}, "no 'val_labels'"),
    ({"train_images": np.zeros((10, 28), dtype=np.uint8)}, "shape"),
    ({"test_labels": np.full((10, 1), 3, dtype=np.uint8)}, "other than 0 and 1"),
    ({"train_labels": np.zeros((4, 1), dtype=np.uint8)}, "10 train images but 4 labels"),
])
def test_bad_npz_names_the_file_and_key(tmp_path, override, message):
    path = _npz(tmp_path / "bad.npz", **override)
    with pytest.raises(DataError, match=message):
        data.load_splits(RunConfig(dataset="pneumoniamnist", data_dir=str(path), **CFG))


def test_npz_loads_with_official_splits(tmp_path):
    path = _npz(tmp_path / "pneumoniamnist.npz")
    splits = data.load_splits(RunConfig(dataset="pneumoniamnist", data_dir=str(tmp_path), **CFG))
    assert [len(s) for s in splits] == [10, 10, 10]
    assert data.make_dataset(splits.train, RunConfig(**CFG), train=True)[0][0].shape == (3, 32, 32)


def test_mnist_offline_without_file_points_to_the_readme(tmp_path, monkeypatch):
    import medmnist

    def offline(*a, **k):
        raise OSError("network is unreachable")

    monkeypatch.setattr(medmnist, "PneumoniaMNIST", offline)
    monkeypatch.setattr(data, "default_project_dir", lambda: tmp_path)
    with pytest.raises(DataError, match="data/README.md"):
        data.load_splits(RunConfig(dataset="pneumoniamnist", **CFG))


def test_synthetic_is_deterministic_and_labelled():
    a = data.load_splits(RunConfig(dataset="synthetic", synthetic_train=40, synthetic_test=10, **CFG))
    b = data.load_splits(RunConfig(dataset="synthetic", synthetic_train=40, synthetic_test=10, seed=5, **CFG))
    assert np.array_equal(a.test.images, b.test.images) and a.val.ids == b.val.ids
    assert "synthetic" in a.source and "not real" in a.source
    assert 0.4 < a.train.labels.mean() < 0.9


def test_data_check_finds_cross_split_duplicates_and_unreadables(tmp_path):
    root = write_folder(tmp_path / "xr", n=4)
    leaked = root / "test" / "NORMAL" / "IM-0000-0000.jpeg"
    (root / "train" / "NORMAL" / "IM-0099-0001.jpeg").write_bytes(leaked.read_bytes())
    (root / "train" / "NORMAL" / "IM-0098-0001.jpeg").write_bytes(b"garbage")
    report = data.data_check(folder_cfg(root))
    text = report.render()
    assert not report.ok
    assert "leakage" in text and "IM-0099-0001.jpeg" in text and "IM-0098-0001.jpeg" in text
    assert report.counts["train"]["NORMAL"] == 6


def test_data_check_reports_structural_errors(tmp_path):
    report = data.data_check(folder_cfg(tmp_path / "missing"))
    assert not report.ok and "not found" in report.render()


def test_real_kaggle_sample_counts(shared_data):
    cfg = folder_cfg(shared_data / "chest_xray_sample", img_size=64)
    splits = data.load_splits(cfg)
    assert len(splits.train) + len(splits.val) == 5216 and len(splits.test) == 624
    assert not set(splits.train.patients) & set(splits.val.patients)


def test_real_originals_decode_to_the_model_size(shared_data):
    for path in (shared_data / "chest_xray_originals" / "test").rglob("*.jpeg"):
        x = data.build_transforms(RunConfig(), train=False)(data.open_image(path))
        assert x.shape == (3, 224, 224)


def test_real_pneumoniamnist_counts(shared_data):
    splits = data.load_splits(RunConfig(dataset="pneumoniamnist", data_dir=str(shared_data), **CFG))
    assert [len(s) for s in splits] == [4708, 524, 624]
