"""Data sources, the patient split, transforms, the decode cache and every bad input a user meets."""

import os
import pickle
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torchvision.transforms import v2

from xray_utils import data
from xray_utils.config import RunConfig
from xray_utils.errors import DataError

CFG = dict(img_size=32, progress=False, num_workers=0)


def phantom(pneumonia: bool, size: int = 64, seed: int = 0) -> Image.Image:
    return Image.fromarray(data.synthetic_phantom(np.random.default_rng(seed), size, pneumonia))


def folder_cfg(root: Path, **kw) -> RunConfig:
    return RunConfig(dataset="folder", data_dir=str(root), **{**CFG, **kw})


def load_quietly(cfg: RunConfig) -> data.Splits:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return data.load_splits(cfg)


# ---- folder source and the patient split ------------------------------------------------------------

@pytest.mark.parametrize("name, patient", [
    ("person123_bacteria_456.jpeg", "person123"), ("person1261_virus_2147.jpeg", "person1261"),
    ("IM-0115-0001.jpeg", "IM-0115"), ("IM-0011-0001-0002.jpeg", "IM-0011"),
    ("NORMAL2-IM-0427-0001.jpeg", "NORMAL2-IM-0427"), ("scan.png", "scan"),
])
def test_patient_id(name, patient):
    assert data.patient_id(name) == patient


def test_folder_split_is_patient_grouped_stratified_and_fixed(tiny_folder):
    root = tiny_folder(n=20)
    splits = data.load_splits(folder_cfg(root, val_fraction=0.2))
    assert len(splits.train) + len(splits.val) == 40 and len(splits.test) == 40
    assert not set(splits.train.patients) & set(splits.val.patients)
    assert np.bincount(splits.val.labels).tolist() == [4, 4]  # 20% of each class, whole patients
    assert all(i.startswith("train/") for i in splits.train.ids + splits.val.ids)
    assert "by patient" in splits.source and splits.skipped == []
    # the split does not depend on the training seed: every run of a report sees the same one
    assert data.load_splits(folder_cfg(root, val_fraction=0.2, seed=7)).val.ids == splits.val.ids


def test_patient_split_pools_the_folders_val(tiny_folder):
    root = tiny_folder(n=10, splits=("train", "val", "test"))
    splits = data.load_splits(folder_cfg(root))
    ids = splits.train.ids + splits.val.ids
    assert len(ids) == 40 and any(i.startswith("val/") for i in ids)


def test_given_val_split_keeps_the_folder(tiny_folder):
    splits = data.load_splits(folder_cfg(tiny_folder(n=4, splits=("train", "val", "test")), val_split="given"))
    assert all(i.startswith("val/") for i in splits.val.ids) and len(splits.val) == 8
    with pytest.raises(DataError, match="needs a val/ folder"):
        data.load_splits(folder_cfg(tiny_folder("noval", n=4), val_split="given"))


def test_kagglehub_download_folder_is_accepted(tiny_folder, tmp_path):
    # kagglehub unpacks to .../versions/2/chest_xray/{train,test,val}: the folder above works too
    tiny_folder("versions/2/chest_xray", n=4)
    splits = data.load_splits(folder_cfg(tmp_path / "versions" / "2"))
    assert len(splits.test) == 8 and "chest_xray" in splits.source



def test_shared_patients_names_each_pair_of_splits_that_share_one(tiny_folder):
    splits = data.load_splits(folder_cfg(tiny_folder(n=20)))
    shared = data.shared_patients(splits)
    # the phantom folder reuses Kaggle-style names in train and test; the carved val never shares with train
    assert ("train", "test") in shared and ("train", "val") not in shared
    assert shared[("train", "test")] == sorted(set(splits.train.patients) & set(splits.test.patients))
    assert data.class_counts(splits.test.labels) == {"NORMAL": 20, "PNEUMONIA": 20}
    assert data.class_counts(np.ones(3)) == {"NORMAL": 0, "PNEUMONIA": 3}


# ---- the training fraction (learning curves) ------------------------------------------------------------

def test_train_fraction_keeps_whole_patients_and_both_classes_and_leaves_val_and_test(tiny_folder):
    root = tiny_folder(n=20)
    full = data.load_splits(folder_cfg(root))
    part = data.load_splits(folder_cfg(root, train_fraction=0.25))
    assert part.val.ids == full.val.ids and part.test.ids == full.test.ids
    assert part.full_train.ids == full.train.ids
    assert part.train.ids == [full.train.ids[i] for i in part.train_rows]
    kept = set(part.train.patients)
    whole = [i for i, p in zip(full.train.ids, full.train.patients, strict=True) if p in kept]
    assert sorted(part.train.ids) == sorted(whole)  # every image of a kept patient, nothing else
    have, had = np.bincount(part.train.labels, minlength=2), np.bincount(full.train.labels, minlength=2)
    assert (have >= np.ceil(0.25 * had)).all() and (have > 0).all() and have.sum() < 0.5 * had.sum()
    assert "train fraction 0.25" in part.source and "train fraction" not in full.source
    assert len(full.train_rows) == len(full.train) == len(full.full_train)


def test_train_fraction_is_fixed_per_seed_and_nested_across_fractions(tiny_folder):
    root = tiny_folder(n=20)
    rows = {(f, s): data.load_splits(folder_cfg(root, train_fraction=f, seed=s)).train_rows
            for f in (0.25, 0.5) for s in (0, 1)}
    assert np.array_equal(rows[0.25, 0], data.load_splits(folder_cfg(root, train_fraction=0.25)).train_rows)
    assert not np.array_equal(rows[0.25, 0], rows[0.25, 1])
    for s in (0, 1):  # a learning curve's smaller training sets are parts of its larger ones
        assert set(rows[0.25, s]) <= set(rows[0.5, s])


def test_fraction_subset_keeps_a_class_held_only_by_patients_of_the_other():
    # patient "a" is mostly PNEUMONIA but holds the only NORMAL image; every draw must keep a NORMAL image
    patients = ["a", "a", "a", "b", "b", "c", "c", "d", "e"]
    labels = np.array([1, 1, 0, 1, 1, 1, 1, 1, 1])
    split = data.Split("train", [f"x{i}" for i in range(9)], labels, patients)
    for seed in range(20):
        rows = data.fraction_subset(split, 0.1, seed)
        assert set(labels[rows]) == {0, 1}
        assert all(set(np.flatnonzero(np.isin(patients, [patients[r]]))) <= set(rows) for r in rows)
    assert np.array_equal(data.fraction_subset(split, 1.0, 3), np.arange(9))
    with pytest.raises(ValueError):
        data.fraction_subset(split, 0.0, 0)


def test_data_check_ignores_the_train_fraction(tiny_folder):
    root = tiny_folder(n=10)
    assert data.data_check(folder_cfg(root, train_fraction=0.25)).counts == data.data_check(folder_cfg(root)).counts

# ---- transforms and the decode cache ----------------------------------------------------------------

def test_transform_is_the_homeworks():
    t = data.build_transforms(RunConfig(), train=False)
    x = t(Image.new("L", (300, 200), 128))
    assert x.shape == (3, 224, 224) and x.dtype == torch.float32
    expected = (128 / 255 - torch.tensor(data.IMAGENET_MEAN)) / torch.tensor(data.IMAGENET_STD)
    assert torch.allclose(x[:, 0, 0], expected, atol=1e-6)
    # train: ColorJitter changes the pixels, eval does not
    img = phantom(True)
    torch.manual_seed(0)
    assert not torch.equal(data.build_transforms(RunConfig(img_size=32), True)(img),
                           data.build_transforms(RunConfig(img_size=32), False)(img))


def homework_pipeline(resize, crop):
    """The homework's eval transform, written with torchvision's classic API exactly as the homework did."""
    from torchvision import transforms as T

    return T.Compose([T.Resize(resize, interpolation=T.InterpolationMode.BICUBIC), T.CenterCrop(crop),
                      T.Grayscale(num_output_channels=3), T.ToTensor(),
                      T.Normalize(data.IMAGENET_MEAN, data.IMAGENET_STD)])


def wide_radiograph() -> Image.Image:
    """A non-square 8-bit image (3:2, like 1857x1317 originals) whose outer columns differ from its centre."""
    rng = np.random.default_rng(7)
    pixels = rng.integers(0, 256, size=(200, 300), dtype=np.uint8)
    pixels[:, :40] = 20  # dark outer "lung field" columns: cropped away by a shorter-side resize only
    return Image.fromarray(pixels, mode="L")


def test_default_transform_equals_the_homeworks_square_resize_on_a_non_square_image():
    img = wide_radiograph()
    ours = data.build_transforms(RunConfig(), train=False)(img)
    assert torch.allclose(ours, homework_pipeline((256, 256), 224)(img), atol=1e-6)
    # the aspect-preserving option equals torchvision's Resize(256) (shorter side), and differs
    shorter = data.build_transforms(RunConfig(resize_mode="shorter-side"), train=False)(img)
    assert torch.allclose(shorter, homework_pipeline(256, 224)(img), atol=1e-6)
    assert not torch.allclose(ours, shorter, atol=1e-3)
    # --img-size N scales resize and crop together: 128 -> Resize((146, 146)), CenterCrop(128)
    small = data.build_transforms(RunConfig(img_size=128), train=False)(img)
    assert torch.allclose(small, homework_pipeline((146, 146), 128)(img), atol=1e-6)


def test_default_transform_on_a_real_full_size_original(shared_data):
    path = shared_data / "chest_xray_originals" / "test" / "NORMAL" / "IM-0001-0001.jpeg"
    img = Image.open(path)
    assert img.mode == "L" and img.size[0] != img.size[1]
    assert torch.allclose(data.build_transforms(RunConfig(), train=False)(img),
                          homework_pipeline((256, 256), 224)(img), atol=1e-6)


def test_decode_cache_is_keyed_by_the_resize_mode(tiny_folder):
    root = tiny_folder(n=4, size=60)
    square = RunConfig(dataset="folder", data_dir=str(root), img_size=32, num_workers=0, progress=False)
    shorter = square.replace(resize_mode="shorter-side")
    split = data.load_splits(square).test
    assert data.cache_file(split, square) != data.cache_file(split, shorter)


def test_cached_and_uncached_tensors_are_equal(tiny_folder):
    root = tiny_folder(n=4)
    for augment in (False, True):
        cfg = folder_cfg(root, augment=augment)
        cached = data.make_dataset(data.load_splits(cfg).test, cfg, train=True)
        plain_cfg = cfg.replace(decode_cache=False)
        plain = data.make_dataset(data.load_splits(plain_cfg).test, plain_cfg, train=True)
        assert isinstance(cached, data.CachedDataset) and isinstance(plain, data.DecodingDataset)
        for i in range(len(cached)):
            torch.manual_seed(i)
            a, ya = cached[i]
            torch.manual_seed(i)
            b, yb = plain[i]
            assert ya == yb and a.shape == (3, 32, 32)
            assert torch.equal(a, b)


def test_datasets_pickle_for_spawned_workers_without_copying_the_cache(tiny_folder):
    cfg = folder_cfg(tiny_folder(n=4))
    splits = data.load_splits(cfg)
    for ds in (data.make_dataset(splits.test, cfg, train=False),
               data.make_dataset(splits.test, cfg.replace(decode_cache=False), train=False)):
        ds[0]  # opens the memmap: it must not travel with the pickle
        blob = pickle.dumps(ds)
        assert torch.equal(pickle.loads(blob)[3][0], ds[3][0])
        assert len(blob) < 20_000
    assert pickle.loads(pickle.dumps(data.build_transforms(cfg, train=True)))(phantom(False)).shape == (3, 32, 32)


def test_decode_cache_is_reused_and_invalidated_when_a_file_changes(tiny_folder):
    cfg = folder_cfg(tiny_folder(n=4))
    split = data.load_splits(cfg).test
    first, _ = data.ensure_decode_cache(split, cfg)
    again, _ = data.ensure_decode_cache(data.load_splits(cfg).test, cfg)
    assert first.filename == again.filename
    target = split.paths[0]
    Image.new("L", (64, 64), 255).save(target)
    os.utime(target, ns=(time.time_ns(), time.time_ns() + 10**9))
    changed, _ = data.ensure_decode_cache(data.load_splits(cfg).test, cfg)
    assert changed.filename != first.filename and changed[0].min() == 255
    assert data.make_dataset(data.load_splits(cfg).test, cfg, train=False)[0][0].min() > 2  # white, normalised


def test_a_decode_cache_altered_at_the_same_size_is_rebuilt_with_a_warning(tiny_folder, tmp_path):
    from xray_utils.data import cache

    cfg = folder_cfg(tiny_folder(n=4), cache_dir=str(tmp_path / "cache"))
    split = data.load_splits(cfg).test
    built, _ = data.ensure_decode_cache(split, cfg)
    original = np.array(built)
    path = Path(built.filename)
    del built
    pixels = np.load(path)
    pixels[0] = 255 - pixels[0]  # same size, other bytes
    np.save(path, pixels)
    cache._VERIFIED.clear()  # a new run
    with pytest.warns(UserWarning, match="does not match its checksum"):
        rebuilt, _ = data.ensure_decode_cache(split, cfg)
    assert np.array_equal(np.array(rebuilt), original)


def test_a_decode_cache_deleted_during_a_run_is_still_read_by_new_workers(tiny_folder, tmp_path):
    cfg = folder_cfg(tiny_folder(n=4), cache_dir=str(tmp_path / "cache"))
    split = data.load_splits(cfg).test
    ds = data.make_dataset(split, cfg, train=False)
    expected = ds[1][0]
    for f in (tmp_path / "cache").rglob("*.npy"):
        f.unlink()  # e.g. a cleanup while the run trains
    loader = torch.utils.data.DataLoader(ds, batch_size=2, num_workers=1)  # fresh workers, as the test loader's
    first = next(iter(loader))[0]
    assert torch.equal(first[1], expected)


def test_cache_is_per_source_split_so_a_new_val_fraction_decodes_nothing(tiny_folder, tmp_path):
    cfg = folder_cfg(tiny_folder(n=10, splits=("train", "val", "test")), cache_dir=str(tmp_path / "cache"))
    splits = data.load_splits(cfg)
    for split in splits:
        data.make_dataset(split, cfg, train=False)[0]
    before = sorted(p.name for p in (tmp_path / "cache" / "decode").glob("*.npy"))
    assert [name.split("-")[0] for name in before] == ["test", "train"]  # train+val pooled, decoded once
    for split in data.load_splits(cfg.replace(val_fraction=0.25)):
        data.make_dataset(split, cfg, train=False)[0]
    assert sorted(p.name for p in (tmp_path / "cache" / "decode").glob("*.npy")) == before


def test_dataset_follows_the_image_size_of_its_config_and_leaves_the_split_alone(tiny_folder):
    cfg = folder_cfg(tiny_folder(n=4))
    split = data.load_splits(cfg).test
    bound = split.decoded
    assert data.make_dataset(split, cfg.replace(img_size=40), train=False)[0][0].shape == (3, 40, 40)
    assert split.decoded is bound and bound.crop == 32  # still bound to the 32 px cache it was loaded with
    assert data.make_dataset(split, cfg, train=False)[0][0].shape == (3, 32, 32)


# ---- bad input --------------------------------------------------------------------------------------

def test_unreadable_and_stray_files_are_skipped_with_one_warning(tiny_folder):
    root = tiny_folder(n=6)
    d = root / "train" / "PNEUMONIA"
    good = (d / "person0_bacteria_0.jpeg").read_bytes()
    (d / "truncated.jpeg").write_bytes(good[: len(good) // 3])
    (d / "corrupt.jpeg").write_bytes(b"this is not a jpeg at all" * 20)
    (d / "empty.jpeg").write_bytes(b"")
    (d / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")
    (d / "._person0_bacteria_0.jpeg").write_bytes(b"\0\5\x16\7 AppleDouble")
    (d / "notes.txt").write_text("scanned on Monday")
    for decode_cache in (True, False):  # both paths find the same files with the same decoding
        cfg = folder_cfg(root, decode_cache=decode_cache)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            splits = data.load_splits(cfg)
        messages = [str(w.message) for w in caught if "skipped" in str(w.message)]
        assert len(messages) == 1
        for name in ("truncated.jpeg", "corrupt.jpeg", "empty.jpeg", ".DS_Store", "._person0", "notes.txt"):
            assert name in messages[0]
        assert len(splits.skipped) == 6 and len(splits.train) + len(splits.val) == 12
        for split in splits:  # every item left in loads
            ds = data.make_dataset(split, cfg, train=False)
            assert all(ds[i][0].shape == (3, 32, 32) for i in range(len(ds)))
    with pytest.raises(DataError, match=r"unreadable image: .*corrupt\.jpeg") as e:
        data.load_splits(folder_cfg(root, strict=True))
    assert "--strict" in e.value.hint


@pytest.mark.parametrize("mode", ["RGBA", "P", "I;16", "CMYK", "RGB", "LA", "1"])
def test_unusual_image_modes_are_converted(tmp_path, mode):
    base = phantom(True)
    if mode == "I;16":
        img = Image.fromarray(np.asarray(base, dtype=np.uint16) * 200)  # a 16-bit image
    else:
        img = base.convert(mode)
    path = tmp_path / ("x.png" if mode != "CMYK" else "x.jpeg")
    img.save(path)
    gray = data.open_image(path)
    assert gray.mode == "L" and gray.size == (64, 64)
    corr = np.corrcoef(np.asarray(gray, float).ravel(), np.asarray(base, float).ravel())[0, 1]
    assert corr > (0.4 if mode == "1" else 0.95)  # "1" is dithered black and white
    if mode == "I;16":  # scaled by the maximum, not clipped at 255
        assert np.asarray(gray).max() == 255 and np.asarray(gray).min() < 100


def test_very_large_image_is_resized(tmp_path):
    path = tmp_path / "big.jpeg"
    phantom(False).resize((4000, 3000)).save(path, quality=70)
    x = data.build_transforms(RunConfig(img_size=64), train=False)(data.open_image(path))
    assert x.shape == (3, 64, 64)


def test_structural_problems_name_the_path_and_the_fix(tiny_folder, tmp_path):
    with pytest.raises(DataError, match="data folder not found") as e:
        data.load_splits(folder_cfg(tmp_path / "nowhere"))
    assert "README" in e.value.hint
    with pytest.raises(DataError, match=r"test/ is missing \(found: train/\)"):
        data.load_splits(folder_cfg(tiny_folder("nosplit", splits=("train",))))
    with pytest.raises(DataError, match=r"PNEUMONIA/ is missing \(found: NORMAL/, PNEUMONNIA/\)"):
        data.load_splits(folder_cfg(tiny_folder("misspelled", classes=("NORMAL", "PNEUMONNIA"))))
    root = tiny_folder("emptyclass")
    for f in (root / "test" / "NORMAL").iterdir():
        f.unlink()
    with pytest.raises(DataError, match=r"test/NORMAL holds no images"):
        data.load_splits(folder_cfg(root))
    # letter case of the folders does not matter
    lower = tiny_folder("lower", n=4, classes=("normal", "Pneumonia"))
    assert len(data.load_splits(folder_cfg(lower)).test) == 8


def test_single_class_dataset_is_refused(tmp_path, tiny_folder):
    rng = np.random.default_rng(0)
    arrays = {f"{s}_images": rng.integers(0, 255, (8, 28, 28), dtype=np.uint8) for s in ("train", "val", "test")}
    arrays |= {f"{s}_labels": np.ones((8, 1), dtype=np.uint8) for s in ("train", "val", "test")}
    np.savez(tmp_path / "pneumoniamnist.npz", **arrays)
    with pytest.raises(DataError, match="train split has no NORMAL images \\(single-class"):
        data.load_splits(RunConfig(dataset="pneumoniamnist", data_dir=str(tmp_path), **CFG))
    root = tiny_folder(n=4)  # every NORMAL image unreadable: single-class once they are skipped
    for f in (root / "train" / "NORMAL").iterdir():
        f.write_bytes(b"garbage")
    with pytest.raises(DataError, match="single-class"):
        load_quietly(folder_cfg(root))


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
    ({"val_labels": None}, "bad.npz has no 'val_labels'"),
    ({"train_images": np.zeros((10, 28), dtype=np.uint8)}, "'train_images' has shape \\(10, 28\\)"),
    ({"train_images": np.zeros((10, 28, 28), dtype=np.float32)}, "'train_images' .* dtype float32"),
    ({"val_labels": np.zeros((10, 2), dtype=np.uint8)}, "'val_labels' has shape \\(10, 2\\)"),
    ({"test_labels": np.full((10, 1), 3, dtype=np.uint8)}, "'test_labels' holds values other than 0 and 1"),
    ({"train_labels": np.zeros((4, 1), dtype=np.uint8)}, "10 train images but 'train_labels' 4 labels"),
])
def test_bad_npz_names_the_file_and_key(tmp_path, override, message):
    path = _npz(tmp_path / "bad.npz", **override)
    with pytest.raises(DataError, match=message):
        data.load_splits(RunConfig(dataset="pneumoniamnist", data_dir=str(path), **CFG))


def test_not_an_npz_is_refused(tmp_path):
    (tmp_path / "x.npz").write_text("hello")
    with pytest.raises(DataError, match="cannot read .*x.npz as an npz"):
        data.load_splits(RunConfig(dataset="pneumoniamnist", data_dir=str(tmp_path / "x.npz"), **CFG))
    with pytest.raises(DataError, match="holds no pneumoniamnist_64.npz"):
        data.load_splits(RunConfig(dataset="pneumoniamnist", data_dir=str(tmp_path), mnist_size=64, **CFG))


def test_npz_loads_with_official_splits(tmp_path):
    _npz(tmp_path / "pneumoniamnist.npz")
    rgb = np.random.default_rng(1).integers(0, 255, (10, 64, 64, 3), dtype=np.uint8)
    _npz(tmp_path / "pneumoniamnist_64.npz", train_images=rgb, val_images=rgb, test_images=rgb)
    cfg = RunConfig(dataset="pneumoniamnist", data_dir=str(tmp_path), **CFG)
    splits = data.load_splits(cfg)  # mnist_size None: the largest size in the folder
    assert [len(s) for s in splits] == [10, 10, 10] and splits.train.images.shape == (10, 64, 64)
    assert "official" in splits.source
    assert data.make_dataset(splits.train, cfg, train=True)[0][0].shape == (3, 32, 32)
    assert data.load_splits(cfg.replace(mnist_size=28)).train.images.shape == (10, 28, 28)


def test_mnist_offline_without_file_points_to_the_readme(tmp_path, monkeypatch):
    import medmnist

    def offline(*a, **k):
        raise RuntimeError("Automatic download failed!")

    monkeypatch.setattr(medmnist, "PneumoniaMNIST", offline)
    monkeypatch.setattr(data.pneumoniamnist, "default_project_dir", lambda: tmp_path)
    with pytest.raises(DataError, match="could not be downloaded") as e:
        data.load_splits(RunConfig(dataset="pneumoniamnist", **CFG))
    assert "data/README.md" in e.value.hint and "--data-dir" in e.value.hint and "make demo" in e.value.hint
    assert not list((tmp_path / "data").glob("*.npz"))  # nothing half-downloaded left behind


# ---- synthetic ----------------------------------------------------------------------------------------

def test_synthetic_is_deterministic_and_labelled():
    a = data.load_splits(RunConfig(dataset="synthetic", synthetic_train=40, synthetic_test=10, **CFG))
    b = data.load_splits(RunConfig(dataset="synthetic", synthetic_train=40, synthetic_test=10, seed=5, **CFG))
    assert np.array_equal(a.test.images, b.test.images) and a.val.ids == b.val.ids
    assert "synthetic" in a.source and "not real" in a.source
    assert a.train.images.shape[1:] == (data.SYNTHETIC_SIZE, data.SYNTHETIC_SIZE)
    assert 0.4 < np.concatenate([a.train.labels, a.val.labels]).mean() < 0.9
    assert not set(a.train.patients) & set(a.val.patients)


def test_synthetic_task_is_learnable_by_a_small_cnn():
    from sklearn.metrics import roc_auc_score

    cfg = RunConfig(dataset="synthetic", **CFG)
    splits = data.load_splits(cfg)
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 16, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
                              torch.nn.Conv2d(16, 32, 3, padding=1), torch.nn.ReLU(), torch.nn.AdaptiveAvgPool2d(1),
                              torch.nn.Flatten(), torch.nn.Linear(32, 2))
    opt = torch.optim.Adam(net.parameters(), 3e-3)
    for _ in range(2):
        for x, y in torch.utils.data.DataLoader(data.make_dataset(splits.train, cfg, True), 16, shuffle=True):
            opt.zero_grad()
            torch.nn.functional.cross_entropy(net(x), y).backward()
            opt.step()
    x, y = next(iter(torch.utils.data.DataLoader(data.make_dataset(splits.test, cfg, False), len(splits.test))))
    with torch.no_grad():
        assert roc_auc_score(y, net(x).softmax(1)[:, 1]) > 0.75  # chance is 0.5


def test_gray_color_jitter_is_torchvisions_without_the_idle_hue_step():
    gray = torch.randint(0, 256, (1, 24, 24), dtype=torch.uint8).expand(3, -1, -1)
    for seed in range(20):
        torch.manual_seed(seed)
        ours = data.GrayColorJitter(0.2, 0.2, 0.2, 0.1)(gray)
        torch.manual_seed(seed)
        assert torch.equal(ours, v2.ColorJitter(0.2, 0.2, 0.2, 0.1)(gray))


def test_phantom_pneumonia_brightens_the_lungs():
    rng = np.random.default_rng(0)
    normal = np.mean([data.synthetic_phantom(rng, 64, False)[20:44, 8:56].mean() for _ in range(20)])
    sick = np.mean([data.synthetic_phantom(rng, 64, True)[20:44, 8:56].mean() for _ in range(20)])
    assert sick > normal + 5


# ---- data check ----------------------------------------------------------------------------------------

def test_data_check_finds_every_problem_in_one_pass(tiny_folder):
    root = tiny_folder(n=4)
    leaked = root / "test" / "NORMAL" / "IM-0000-0001.jpeg"
    (root / "train" / "NORMAL" / "IM-0099-0001.jpeg").write_bytes(leaked.read_bytes())
    (root / "train" / "NORMAL" / "IM-0098-0001.jpeg").write_bytes(b"garbage")
    (root / "train" / "PNEUMONIA" / "person9_virus_9.jpeg").write_bytes(b"more garbage")
    (root / "test" / "PNEUMONIA" / "Thumbs.db").write_bytes(b"\0")
    report = data.data_check(folder_cfg(root))
    text = report.render()
    assert not report.ok
    assert "leakage" in text and "IM-0099-0001.jpeg" in text
    assert sorted(Path(p).name for p in report.unreadable) == ["IM-0098-0001.jpeg", "person9_virus_9.jpeg"]
    assert [Path(p).name for p in report.stray] == ["Thumbs.db"]
    assert ["test/NORMAL/IM-0000-0001.jpeg", "train/NORMAL/IM-0099-0001.jpeg"] in report.duplicates
    assert report.counts["train"] == {"NORMAL": 6, "PNEUMONIA": 5}
    assert "train/test" in report.shared_patients  # Kaggle-style names repeat across splits: a warning
    assert {sev for sev, t in report.problems if "patient id" in t} == {"warning"}


def test_data_check_passes_clean_data_and_warns_on_duplicates_within_a_split(tiny_folder):
    root = tiny_folder(n=4)
    same = root / "train" / "PNEUMONIA" / "person0_bacteria_0.jpeg"
    (root / "train" / "PNEUMONIA" / "person0_bacteria_9.jpeg").write_bytes(same.read_bytes())
    report = data.data_check(folder_cfg(root))
    assert report.ok and "result: OK" in report.render()
    assert [t for sev, t in report.problems if "identical" in t and sev == "warning"]
    assert report.counts["train (used)"]["NORMAL"] + report.counts["val (used)"]["NORMAL"] == 4


def test_data_check_lists_every_entry_it_skips(tiny_folder):
    root = tiny_folder(n=4)
    cls = root / "train" / "NORMAL"
    (cls / "x.jpeg").mkdir()  # a folder named like an image
    (cls / "loop.jpeg").symlink_to(cls / "loop.jpeg")  # a symlink to itself
    (cls / "gone.jpeg").symlink_to(root / "nowhere.jpeg")
    for i in range(12):  # more than a listing would abbreviate
        (cls / f"notes{i}.txt").write_text("x")
    report = data.data_check(folder_cfg(root))
    text = report.render()
    for name in ("x.jpeg (a folder named like an image)", "loop.jpeg (a broken or looping symbolic link)",
                 "gone.jpeg (a broken or looping symbolic link)", "notes11.txt"):
        assert name in text
    assert "more" not in text.split("stray")[1].split("\n")[0]


def test_a_validation_split_without_a_class_is_named(tiny_folder, monkeypatch):
    msg = "no threshold can be chosen on validation"
    val = data.Split("val", ["a", "b"], np.array([1, 1]), ["p1", "p2"])
    assert msg in data.check.validation_lacks(val) and "NORMAL" in data.check.validation_lacks(val)
    assert data.check.validation_lacks(data.Split("val", ["a", "b"], np.array([0, 1]), ["p", "q"])) is None
    # data-check says so for the validation split training would use
    used = []
    real_arrange = data.check.arrange

    def one_class_val(units, cfg):
        train, val, test = real_arrange(units, cfg)
        used.append(val)
        return train, val.subset(np.flatnonzero(val.labels == 1)), test

    monkeypatch.setattr(data.check, "arrange", one_class_val)
    report = data.data_check(folder_cfg(tiny_folder(n=8)))
    assert any(sev == "warning" and msg in t for sev, t in report.problems) and used


def test_data_check_reports_structural_errors(tmp_path, tiny_folder):
    report = data.data_check(folder_cfg(tmp_path / "missing"))
    assert not report.ok and "not found" in report.render()
    report = data.data_check(folder_cfg(tiny_folder(n=4), val_split="given"))
    assert not report.ok and "val/ folder" in report.render()


# ---- the real data beside the checkout (skipped where absent) -----------------------------------------

def test_real_kaggle_sample_counts(shared_data):
    cfg = folder_cfg(shared_data / "chest_xray_sample", img_size=64, num_workers=2)
    splits = data.load_splits(cfg)
    assert len(splits.train) + len(splits.val) == 5216 and len(splits.test) == 624
    assert not set(splits.train.patients) & set(splits.val.patients)
    assert 0.08 < len(splits.val) / 5216 < 0.12 and splits.skipped == []
    x, y = data.make_dataset(splits.test, cfg, train=False)[0]
    assert x.shape == (3, 64, 64) and y in (0, 1)


def test_real_originals_decode_to_the_model_size(shared_data):
    paths = sorted((shared_data / "chest_xray_originals" / "test").rglob("*.jpeg"))
    assert paths
    for path in paths:
        x = data.build_transforms(RunConfig(), train=False)(data.open_image(path))
        assert x.shape == (3, 224, 224)


def test_real_pneumoniamnist_counts_and_check(shared_data):
    cfg = RunConfig(dataset="pneumoniamnist", data_dir=str(shared_data), **CFG)
    splits = data.load_splits(cfg)
    assert [len(s) for s in splits] == [4708, 524, 624]
    assert np.bincount(splits.test.labels).tolist() == [234, 390]
    report = data.data_check(cfg)
    assert report.ok  # duplicates exist, but none reaches the test set
    assert not any("test" in " ".join(group) and "train" in " ".join(group) for group in report.duplicates)


def test_worker_processes_build_the_same_cache(tiny_folder, tmp_path):
    cfg = folder_cfg(tiny_folder(n=35), val_fraction=0.2)  # 70 files per split: decoded in worker processes
    one = data.load_splits(cfg.replace(cache_dir=str(tmp_path / "c0")))
    two = data.load_splits(cfg.replace(cache_dir=str(tmp_path / "c2"), num_workers=2))
    a, _ = data.ensure_decode_cache(one.test, cfg.replace(cache_dir=str(tmp_path / "c0")))
    b, _ = data.ensure_decode_cache(two.test, cfg.replace(cache_dir=str(tmp_path / "c2"), num_workers=2))
    assert a.filename != b.filename and np.array_equal(a, b) and two.val.ids == one.val.ids
