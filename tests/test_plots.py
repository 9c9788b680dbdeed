"""Every figure builds headless, has the panels the report expects, and saves as a PNG."""

import warnings

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from xray_utils import evaluate, plots
from xray_utils.errors import XrayError

RUNS = ("resnet18-finetune", "resnet18-frozen", "squeezenet1_1-finetune", "squeezenet1_1-frozen")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def history(epochs=3, shift=0.0):
    e = np.arange(1, epochs + 1)
    return pd.DataFrame({"epoch": e, "train_loss": 0.7 / e + shift, "train_acc": 0.6 + 0.1 * e / epochs,
                         "val_loss": 0.8 / e + shift, "val_acc": 0.55 + 0.1 * e / epochs, "lr": 1e-4,
                         "seconds": 1.0})


def scores(seed, n=80):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    return y, np.clip(0.5 + (y - 0.5) * 0.5 + rng.normal(0, 0.2, n), 0, 1)


def assert_saves(fig, tmp_path, name="f.png"):
    target = tmp_path / "figures" / name
    assert plots.save(fig, target) == target
    data = target.read_bytes()
    assert data.startswith(PNG_SIGNATURE) and len(data) > 1000
    assert not [p for p in target.parent.iterdir() if p.name.endswith(".tmp")]  # no temporary file left


def test_training_curves_has_loss_and_accuracy_panels(tmp_path):
    fig = plots.training_curves(history(), title="resnet18-finetune")
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    loss_ax, acc_ax = fig.axes
    assert loss_ax.get_ylabel() == "loss" and acc_ax.get_ylabel() == "accuracy"
    assert len(loss_ax.get_lines()) == 3  # train, validation, best-epoch marker
    assert_saves(fig, tmp_path)


def test_curves_spread_draws_train_and_val_per_kind_in_the_kinds_colour(tmp_path):
    fig = plots.curves_spread({name: [history(shift=0.05 * k)] for k, name in enumerate(RUNS)})
    assert len(fig.axes) == 2
    lines = fig.axes[0].get_lines()
    assert len(lines) == 2 * len(RUNS)
    assert lines[0].get_color() == lines[1].get_color() == plots.run_colour(RUNS[0])
    assert_saves(fig, tmp_path)


def test_epoch_axes_have_whole_number_ticks_only():
    for fig in (plots.training_curves(history(epochs=3)), plots.curves_spread({RUNS[0]: [history(epochs=3)]})):
        fig.canvas.draw()
        for ax in fig.axes:
            ticks = ax.get_xticks()
            assert len(ticks) and all(float(t).is_integer() for t in ticks), ticks


def test_confusion_shows_counts_and_row_percentages(tmp_path):
    fig = plots.confusion([[50, 10], [5, 95]], title="test")
    assert len(fig.axes) == 1
    texts = {t.get_text() for t in fig.axes[0].texts}
    assert {"50\n83.3%", "10\n16.7%", "5\n5.0%", "95\n95.0%"} == texts
    assert_saves(fig, tmp_path)
    with pytest.raises(XrayError, match="2x2"):
        plots.confusion([[1, 2, 3]])


def test_roc_pr_spread_puts_the_callers_labels_in_the_legend(tmp_path):
    preds = {name: [scores(k)] for k, name in enumerate(RUNS[:2])}
    labels = {name: (f"{name} ROC", f"{name} PR") for name in preds}
    fig = plots.roc_pr_spread(preds, labels)
    assert len(fig.axes) == 2
    assert f"{RUNS[0]} ROC" in [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert f"{RUNS[1]} PR" in [t.get_text() for t in fig.axes[1].get_legend().get_texts()]
    assert_saves(fig, tmp_path)


def test_reliability_reports_the_ece_of_evaluate(tmp_path):
    preds = {name: scores(k, n=300) for k, name in enumerate(RUNS[:3])}
    fig = plots.reliability(preds, n_bins=8)
    assert len(fig.axes) == 2  # diagram + histogram of predictions
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    ece = evaluate.calibration(*preds[RUNS[1]], n_bins=8)["ece"]
    assert f"{RUNS[1]} (ECE {ece:.3f})" in legend
    assert_saves(fig, tmp_path)


def test_image_grid_one_axes_per_image_with_overlays(tmp_path):
    rng = np.random.default_rng(0)
    images = [rng.integers(0, 256, (32, 32), dtype=np.uint8) for _ in range(3)] + [rng.random((32, 32))] * 2
    cams = [rng.random((7, 7)) for _ in images]  # CAM resolution differs from the image's
    fig = plots.image_grid(images, [f"image {k}" for k in range(5)], ncols=4, overlays=cams, suptitle="Grad-CAM")
    assert len(fig.axes) == 5  # the 3 empty cells of the second row are removed
    assert all(len(ax.get_images()) == 2 for ax in fig.axes)
    extent = fig.axes[0].get_images()[1].get_extent()
    assert extent == pytest.approx([-0.5, 31.5, 31.5, -0.5])  # CAM stretched over the whole image
    assert_saves(fig, tmp_path)
    plain = plots.image_grid(images[:2], ["a", "b"])
    assert len(plain.axes) == 2 and all(len(ax.get_images()) == 1 for ax in plain.axes)
    with pytest.raises(XrayError, match="must match"):
        plots.image_grid(images, ["only one title"])


def test_pvalue_matrix_from_pairwise_comparisons(tmp_path):
    y, _ = scores(0, n=120)
    rng = np.random.default_rng(1)
    preds = {name: (y, np.where(rng.random(120) < 0.9 - 0.1 * k, y * 0.6 + 0.2, 0.8 - y * 0.6), 0.5)
             for k, name in enumerate(RUNS[:3])}
    df = evaluate.pairwise_comparisons(preds, n_boot=100)
    fig = plots.pvalue_matrix(df)
    assert len(fig.axes) == 1
    cells = [t.get_text() for t in fig.axes[0].texts]
    assert len(cells) == 9 and sum(t == "—" for t in cells) == 3
    first = df.iloc[0]
    # the difference as the tables write it (+0.00, never -0.00), in percentage points
    diff = f"{round(100 * first['diff'], 2) + 0.0:+.2f}"
    assert any(t.startswith(f"p={first.p_holm:.3g}") and t.endswith(f"Δ={diff}") for t in cells)
    assert_saves(fig, tmp_path)
    empty = plots.pvalue_matrix(evaluate.pairwise_comparisons({"one": preds[RUNS[0]]}))
    assert len(empty.axes) == 1


def test_data_exploration_figures(tmp_path):
    per_image = pd.DataFrame({"split": ["train"] * 5 + ["val"] * 2 + ["test"] * 3,
                              "label": [0, 1, 1, 1, 0, 0, 1, 1, 0, 1]})
    fig = plots.class_balance(per_image)
    assert len(fig.axes) == 1
    heights = sorted(int(b.get_height()) for b in fig.axes[0].patches)
    assert heights == [1, 1, 1, 2, 2, 3]  # counted per split and class
    assert_saves(fig, tmp_path, "balance.png")
    wide = pd.DataFrame({"NORMAL": [2, 1], "PNEUMONIA": [3, 1]}, index=["train", "test"])
    assert len(plots.class_balance(wide).axes[0].patches) == 4

    rng = np.random.default_rng(0)
    fig = plots.intensity_histograms({"NORMAL": rng.integers(0, 256, 500, dtype=np.uint8),
                                      "PNEUMONIA": rng.integers(0, 256, 500, dtype=np.uint8),
                                      "empty": np.array([], dtype=np.uint8)})
    assert len(fig.axes) == 1 and len(fig.axes[0].patches) == 2
    assert_saves(fig, tmp_path, "intensity.png")

    sizes = pd.DataFrame({"split": "train", "label": [0, 1, 1, 0], "width": [1000, 1200, 900, 1100],
                          "height": [800, 900, 900, 1000]})
    fig = plots.size_distribution(sizes)
    assert len(fig.axes) == 2
    assert_saves(fig, tmp_path, "sizes.png")


def test_run_colours_are_stable_and_distinct():
    colours = [plots.run_colour(name) for name in RUNS]
    assert len(set(colours)) == len(RUNS)
    assert plots.run_colour("my-own-run") == plots.run_colour("my-own-run")


def test_cjk_labels_render_without_missing_glyph_warnings(tmp_path):
    if not plots.use_cjk_fonts():
        pytest.skip("no Noto Sans CJK font installed")
    assert plots.use_language("zh-TW")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fig = plots.confusion([[5, 1], [2, 7]], title="測試集混淆矩陣", class_names=("正常", "肺炎"))
        assert_saves(fig, tmp_path)


def test_the_validation_loss_minimum_is_starred_on_the_curves():
    h = history(6)
    h["val_loss"] = [0.9, 0.7, 0.5, 0.6, 0.7, 0.8]  # bottoms out at epoch 3
    loss_ax = plots.training_curves(h).axes[0]
    (star,) = loss_ax.collections
    assert star.get_offsets().tolist() == [[3, 0.5]]
    assert not plots.training_curves(h.assign(val_loss=np.nan)).axes[0].collections  # no minimum, no star


def _words(fig) -> set[str]:
    """Every piece of text a figure draws: titles, axis labels, legend entries, texts, tick labels."""
    fig.canvas.draw()
    out = {t.get_text() for t in fig.texts}
    for ax in fig.axes:
        out |= {ax.get_title(), ax.get_xlabel(), ax.get_ylabel(), *(t.get_text() for t in ax.texts)}
        out |= {t.get_text() for t in ax.get_xticklabels() + ax.get_yticklabels()}
        if ax.get_legend():
            out |= {t.get_text() for t in ax.get_legend().get_texts()}
    return {w for w in out if w}


def test_a_zh_tw_figure_is_labelled_in_zh_tw_and_every_glyph_renders(tmp_path):
    from xray_utils.report_text import text

    def zh(key, **values):
        return text("zh-TW", f"fig_{key}", **values)

    y, p = scores(0, n=120)
    figures = {
        "curves": (plots.training_curves(history(), title="r", lang="zh-TW"),
                   {zh("loss"), zh("accuracy"), zh("epoch"), zh("train"), zh("validation"), zh("val_minimum")}),
        "confusion": (plots.confusion([[5, 1], [2, 9]], lang="zh-TW"), {zh("predicted"), zh("true")}),
        "roc_pr": (plots.roc_pr_spread({RUNS[0]: [(y, p)]}, {RUNS[0]: ("a", "b")}, lang="zh-TW"),
                   {zh("fpr"), zh("tpr"), zh("recall"), zh("precision"), zh("roc"), zh("pr")}),
        "reliability": (plots.reliability({RUNS[0]: (y, p)}, lang="zh-TW"),
                        {zh("perfect"), zh("fraction_pos"), zh("prob_pos"), zh("images"), zh("reliability")}),
        "spread": (plots.curves_spread({RUNS[0]: [history(), history(shift=0.1)]}, lang="zh-TW"),
                   {zh("kind_seeds", kind=RUNS[0], n=2) + "（驗證）", zh("epoch"), zh("loss")}),
        "pvalues": (plots.pvalue_matrix(evaluate.pairwise_comparisons(
            {name: (y, np.clip(p + 0.1 * k, 0, 1), 0.5) for k, name in enumerate(RUNS[:2])}, n_boot=50), lang="zh-TW"),
            {zh("pvalue_title_patient", alpha=evaluate.ALPHA)}),
    }
    per_image = pd.DataFrame({"split": ["train", "test"] * 4, "label": [0, 1] * 4})
    sizes = pd.DataFrame({"width": [100, 120, 90, 110], "height": [100, 100, 80, 95], "label": [0, 1, 0, 1]})
    figures |= {
        "balance": (plots.class_balance(per_image, lang="zh-TW"), {zh("split"), zh("images")}),
        "intensity": (plots.intensity_histograms({"NORMAL": np.arange(50, dtype=np.uint8)}, lang="zh-TW"),
                      {zh("pixel_value"), zh("density")}),
        "sizes": (plots.size_distribution(sizes, lang="zh-TW"), {zh("width"), zh("height"), zh("aspect")}),
    }
    english = {"loss", "accuracy", "epoch", "split", "density", "pixel value", "train", "validation", "predicted",
               "true", "ROC curve", "precision",
               "reliability", "images", "perfect calibration"}
    for name, (fig, expected) in figures.items():
        words = _words(fig)
        assert expected <= words, (name, expected - words)
        assert not (words - {"train", "test"}) & english, (name, words & english)  # split names are data
        assert any("\u4e00" <= ch <= "\u9fff" for w in words for ch in w), name
    if plots.use_cjk_fonts():  # with a CJK font installed, no glyph is missing (no tofu boxes)
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # matplotlib warns "Glyph ... missing from font(s)"
            for name, (fig, _) in figures.items():
                plots.save(fig, tmp_path / f"{name}.png")
