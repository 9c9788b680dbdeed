"""`xray predict`: new images through a finished run's model, as the run's own evaluation would see them."""

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from xray_utils import cli, data, predict
from xray_utils.config import RunConfig
from xray_utils.errors import XrayError
from xray_utils.training import train

TINY = dict(dataset="synthetic", synthetic_train=40, synthetic_test=16, img_size=32, batch_size=16,
            weights="none", progress=False, num_workers=0, lr=1e-3, epochs=1, backbone="squeezenet1_1")


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("predict") / "run"
    train.fit(RunConfig(**TINY), out, log=lambda _m: None)
    return out


def phantom(size=(120, 96), seed=0) -> np.ndarray:
    """A non-square 8-bit grey radiograph-like image (resized and cropped like an original)."""
    rng = np.random.default_rng(seed)
    square = data.synthetic_phantom(rng, max(size), pneumonia=True)
    return np.asarray(Image.fromarray(square).resize(size))


@pytest.fixture
def images(tmp_path):
    """A JPEG, the same picture as 8-bit PNG, 16-bit PNG and opaque RGBA PNG, and a junk .jpeg."""
    folder = tmp_path / "images"
    folder.mkdir()
    grey = phantom()
    Image.fromarray(grey).save(folder / "a.jpeg", quality=90)
    Image.fromarray(grey).save(folder / "grey8.png")
    Image.fromarray(grey.astype(np.uint16) * 257).save(folder / "grey16.png")  # 0..65535: scaled back exactly
    rgba = np.dstack([grey, grey, grey, np.full_like(grey, 255)])
    Image.fromarray(rgba, mode="RGBA").save(folder / "rgba.png")
    (folder / "junk.jpeg").write_bytes(b"this is not an image\n")
    return folder


def test_predict_classifies_images_names_the_junk_file_and_writes_overlays(run_dir, images, tmp_path, capsys):
    files = [images / n for n in ("a.jpeg", "grey16.png", "rgba.png", "junk.jpeg")]
    cams, csv = tmp_path / "cams", tmp_path / "out" / "predictions.csv"
    code = cli.main(["predict", "--run", str(run_dir), *map(str, files), "--cam", str(cams), "--csv", str(csv)])
    out, err = capsys.readouterr()
    assert code == 0
    rows = [line for line in out.splitlines() if line.rstrip().endswith((".jpeg", ".png"))]
    assert [r.split()[-1] for r in rows] == [str(f) for f in files[:3]]  # one line per image, in order
    assert "junk.jpeg" in err and "skipped" in err and "Traceback" not in out + err
    assert sorted(p.name for p in cams.iterdir()) == ["a.png", "grey16.png", "rgba.png"]
    height, width = phantom().shape
    for png in cams.iterdir():  # the original at its own size, with a title and a colour bar beside it
        with Image.open(png) as im:
            assert im.format == "PNG" and im.mode == "RGB" and im.width > width and im.height > height
    assert "validation threshold (chosen on the run's validation images" in out and "(val)" not in out
    assert "synthetic phantoms" in err and "random weights" in err  # this run is both
    table = pd.read_csv(csv)
    assert list(table["file"]) == [str(f) for f in files[:3]]
    assert table["p_pneumonia"].between(0, 1).all()
    threshold = table["val_threshold"].iloc[0]
    assert (table["label_at_0.5"] == np.where(table["p_pneumonia"] >= 0.5, "PNEUMONIA", "NORMAL")).all()
    assert (table["label_at_val_threshold"] ==
            np.where(table["p_pneumonia"] >= threshold, "PNEUMONIA", "NORMAL")).all()
    assert [p.name for p in csv.parent.iterdir()] == ["predictions.csv"]  # written atomically: no temp left


def test_quiet_prints_the_table_and_the_warnings_but_not_where_files_went(run_dir, images, tmp_path, capsys):
    files = [images / "a.jpeg", images / "junk.jpeg"]
    code = cli.main(["predict", "-q", "--run", str(run_dir), *map(str, files), "--cam", str(tmp_path / "cams"),
                     "--csv", str(tmp_path / "p.csv")])
    out, err = capsys.readouterr()
    assert code == 0 and out.rstrip().endswith("a.jpeg")  # the table is the result
    assert "predictions:" not in out and "Grad-CAM overlays" not in out
    assert "junk.jpeg" in err and (tmp_path / "p.csv").exists() and (tmp_path / "cams" / "a.png").exists()


def test_strict_makes_an_unreadable_file_an_error(run_dir, images, capsys):
    code = cli.main(["predict", "--run", str(run_dir), str(images / "a.jpeg"), str(images / "junk.jpeg"),
                     "--strict"])
    out, err = capsys.readouterr()
    assert code == 1
    assert "junk.jpeg" in err and "Traceback" not in err


def test_16_bit_and_rgba_get_the_probability_of_the_same_8_bit_image(run_dir, images):
    result = predict.predict(run_dir, [images / "grey8.png", images / "grey16.png", images / "rgba.png"])
    p = [r.p_pneumonia for r in result.items]
    assert p[1] == pytest.approx(p[0], abs=1e-6) and p[2] == pytest.approx(p[0], abs=1e-6)


def test_probabilities_match_the_runs_own_evaluation(run_dir, tmp_path):
    # the run's test images saved as lossless PNGs: predict must give what evaluation wrote
    test = data.load_splits(RunConfig(**TINY)).test
    folder = tmp_path / "test"
    folder.mkdir()
    names = []
    for k, image_id in enumerate(test.ids):
        name = image_id.replace("/", "_") + ".png"
        test.load(k).save(folder / name)
        names.append(name)
    got = {r.file.name: r.p_pneumonia for r in predict.predict(run_dir, [folder]).items}
    expected = pd.read_csv(run_dir / "predictions.csv").set_index("id")["p_pneumonia"]
    assert np.allclose([got[n] for n in names], expected.loc[list(test.ids)].to_numpy(), atol=1e-4)


def test_folders_are_walked_for_images_and_same_names_do_not_collide(run_dir, tmp_path):
    root = tmp_path / "data"
    for cls in ("NORMAL", "PNEUMONIA"):
        (root / cls).mkdir(parents=True)
        Image.fromarray(phantom(seed=len(cls))).save(root / cls / "x.jpeg")
    (root / "notes.txt").write_text("not an image, not looked at")
    result = predict.predict(run_dir, [root], cam_dir=tmp_path / "cams")
    assert [r.file for r in result.items] == [root / "NORMAL" / "x.jpeg", root / "PNEUMONIA" / "x.jpeg"]
    assert not result.skipped
    assert sorted(str(p.relative_to(tmp_path / "cams")) for p in (tmp_path / "cams").rglob("*.png")) == \
        ["NORMAL/x.png", "PNEUMONIA/x.png"]


def test_a_missing_path_or_an_unfinished_run_is_a_clear_error(run_dir, tmp_path):
    with pytest.raises(XrayError, match="no such file"):
        predict.predict(run_dir, [tmp_path / "nope.jpeg"])
    with pytest.raises(XrayError, match="best.pt"):
        predict.predict(tmp_path, [run_dir / "config.json"])


def test_only_unreadable_files_is_an_error(run_dir, images):
    with pytest.raises(XrayError, match="none of the 1 file"):
        predict.predict(run_dir, [images / "junk.jpeg"])


def test_real_full_size_originals(run_dir, shared_data, tmp_path):
    originals = sorted((shared_data / "chest_xray_originals" / "test").glob("*/*.jpeg"))
    if not originals:
        pytest.skip("no original test JPEGs in the shared data")
    result = predict.predict(run_dir, originals, cam_dir=tmp_path / "cams")
    assert len(result.items) == len(originals) and not result.skipped
    assert len(list((tmp_path / "cams").glob("*.png"))) == len(originals)


def test_example_images_are_the_runs_test_images_of_both_classes(run_dir, tmp_path):
    files = predict.example_images(run_dir, 4, tmp_path / "ex")
    test = data.load_splits(RunConfig(**TINY)).test
    label = dict(zip(test.ids, test.labels, strict=True))
    assert len(files) == 4
    assert [label[f.stem.replace("_", "/", 1)] for f in files] == [0, 1, 0, 1]


@pytest.mark.slow
def test_notebook_04_shows_predictions_and_overlays_of_a_run(run_dir, tmp_path):
    import json
    from pathlib import Path

    import nbformat
    import papermill

    notebook = Path(__file__).resolve().parents[1] / "notebooks" / "04_predict.ipynb"
    papermill.execute_notebook(str(notebook), str(tmp_path / "out.ipynb"), parameters={"run_dir": str(run_dir)},
                               kernel_name="python3", progress_bar=False, cwd=str(tmp_path))
    outputs = [o for c in nbformat.read(tmp_path / "out.ipynb", as_version=4).cells if c.cell_type == "code"
               for o in c.outputs]
    kinds = {k for o in outputs for k in o.get("data", {})}
    assert {"text/html", "image/png"} <= kinds
    assert not [o for o in outputs if o.output_type == "error" or o.get("name") == "stderr"], json.dumps(outputs)[:2000]


@pytest.mark.parametrize("mode", ["square", "shorter-side"])
@pytest.mark.parametrize("size", [(300, 200), (180, 260)])
def test_crop_box_maps_the_networks_crop_back_onto_the_original(mode, size):
    """A marker in the original lands where crop_box says: found in the preprocessed crop, mapped back."""
    width, height = size
    resize, crop = 64, 56
    left, top, right, bottom = predict.crop_box(width, height, resize, crop, mode)
    for fx, fy in ((0.3, 0.4), (0.7, 0.6)):  # a point inside the crop, in the crop's own fractions
        x, y = left + fx * (right - left), top + fy * (bottom - top)
        image = np.zeros((height, width), dtype=np.uint8)
        image[max(0, int(y) - 4):int(y) + 5, max(0, int(x) - 4):int(x) + 5] = 255
        seen = data.transforms.GrayPrefix(resize, crop, mode)(Image.fromarray(image)).astype(float)
        cy, cx = np.unravel_index(np.argmax(seen), seen.shape)
        weights = seen / seen.sum()
        mx, my = (weights.sum(axis=0) * np.arange(crop)).sum(), (weights.sum(axis=1) * np.arange(crop)).sum()
        assert abs(mx + 0.5 - fx * crop) < 1.5 and abs(my + 0.5 - fy * crop) < 1.5, (mode, size, cx, cy)
    cam = np.zeros((crop, crop), dtype=np.float32)
    cam[:, crop // 2:] = 1.0  # the right half of what the network saw
    full = predict.cam_on_original(cam, width, height, (left, top, right, bottom))
    assert full.shape == (height, width)
    if left >= 2:
        assert np.isnan(full[:, 0]).all()  # left of what the network saw: no CAM
    inside = full[int(top) + 2:int(bottom) - 2, int(left) + 2:int(right) - 2]
    assert not np.isnan(inside).any()
    mid = (left + right) / 2
    assert full[int((top + bottom) / 2), int(mid + (right - left) / 4)] > 0.9
    assert full[int((top + bottom) / 2), int(mid - (right - left) / 4)] < 0.1


def test_threshold_warning_and_plain_header():
    cfg = RunConfig(dataset="folder", weights="imagenet")
    assert predict.run_warnings(cfg, 0.4) == []
    assert "every image NORMAL" in predict.run_warnings(cfg, 1.0)[0]
    assert any("random weights" in w for w in predict.run_warnings(RunConfig(mode="scratch"), 0.5))
