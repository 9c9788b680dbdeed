"""`xray predict`: classify new chest X-rays with a finished run's model.

The run's selected weights (best.pt) and the run's own evaluation preprocessing (``data.open_image``, which
turns 16-bit, RGBA, palette and CMYK files into 8-bit grey, then ``data.build_transforms(cfg, train=False)``)
and precision, so an image gets the probability the run's evaluation would give it. Each image is labelled at
0.5 and at the run's validation threshold (Youden's J, chosen on validation, metrics.json). An unreadable file
is named and skipped, the others still classified; ``strict`` makes it an error.
"""

from __future__ import annotations

import io
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence

import numpy as np
import pandas as pd
import torch
from PIL import Image

from . import atomic, data, evaluate, models
from .compute import Compute
from .config import CLASS_NAMES
from .errors import XrayError
from .training import checkpoint

PNEUMONIA = 1


@dataclass(frozen=True)
class Prediction:
    file: Path
    p_pneumonia: float
    threshold: float  # the run's validation (Youden) threshold
    overlay: Path | None = None  # the Grad-CAM PNG, when asked for

    @property
    def label(self) -> str:
        """The class at 0.5."""
        return CLASS_NAMES[int(self.p_pneumonia >= 0.5)]

    @property
    def label_at_threshold(self) -> str:
        return CLASS_NAMES[int(self.p_pneumonia >= self.threshold)]


@dataclass
class Predictions:
    items: list[Prediction]
    skipped: list[data.UnreadableImage]  # files that could not be decoded, with why
    threshold: float
    warnings: list[str] = field(default_factory=list)  # what the run's model is not (run_warnings)


def run_warnings(cfg, threshold: float) -> list[str]:
    """One line each for what makes a run's probabilities meaningless or odd on real X-rays."""
    said = []
    if cfg.dataset == "synthetic":
        said.append("warning: this run was trained on synthetic phantoms, not chest X-rays: its probabilities say "
                    "nothing about real images (train a run on the Kaggle images or PneumoniaMNIST)")
    if cfg.resolved_weights == "none":
        said.append(f"warning: this run started from random weights (weights none, mode {cfg.mode}), not from "
                    "ImageNet: it is not a transfer-learning model")
    if not 0.0 < threshold < 1.0:
        label = CLASS_NAMES[0] if threshold >= 1.0 else CLASS_NAMES[1]
        said.append(f"warning: the validation threshold is {threshold:.3f}, so that column calls every image {label}")
    return said


def find_images(paths: Iterable[str | Path]) -> list[tuple[Path, Path]]:
    """(file, its name for outputs) for every file given and every image file under every folder given.

    A file named on the command line is taken whatever its extension (the user asked for it; if it is not an
    image it is reported as unreadable); folders are walked for image extensions, in sorted order. The output
    name is relative to the folder given, so overlays of folder/NORMAL/x.jpeg and folder/PNEUMONIA/x.jpeg
    do not collide.
    """
    found: list[tuple[Path, Path]] = []
    for given in map(Path, paths):
        if given.is_dir():
            files = sorted(f for f in given.rglob("*") if f.is_file() and f.suffix.lower() in data.IMAGE_EXTENSIONS)
            if not files:
                raise XrayError(f"no image files in {given}",
                                f"give image files or a folder holding {', '.join(sorted(data.IMAGE_EXTENSIONS))}")
            found += [(f, f.relative_to(given)) for f in files]
        elif given.exists():
            found.append((given, Path(given.name)))
        else:
            raise XrayError(f"no such file or folder: {given}", "check the path")
    return found


def validation_threshold(run_dir: str | Path) -> float:
    """The threshold the run chose on its validation split (metrics.json ``threshold_youden``)."""
    metrics = Path(run_dir) / "metrics.json"
    if not metrics.exists():
        raise XrayError(f"{run_dir} has no metrics.json: the run has not finished",
                        "finish the run first (rerun its xray train command: it resumes)")
    try:
        return float(json.loads(metrics.read_text())["threshold_youden"])
    except (ValueError, KeyError, TypeError) as e:
        raise XrayError(f"{metrics} has no readable threshold_youden ({type(e).__name__}: {e})",
                        "re-evaluate the run: xray evaluate RUN_DIR") from None


class Classifier:
    """A run's selected model with the run's evaluation preprocessing and precision."""

    def __init__(self, run_dir: str | Path, device: str | torch.device | None = None):
        self.model, self.cfg = checkpoint.load_best_model(run_dir)
        self.compute = Compute.decide(device or ("cuda" if torch.cuda.is_available() else "cpu"), self.cfg.amp)
        self.device = self.compute.device
        self.model = self.compute.module(self.model)
        self.transform = data.build_transforms(self.cfg, train=False)
        self.threshold = validation_threshold(run_dir)
        self.warnings = run_warnings(self.cfg, self.threshold)

    def tensor(self, file: Path) -> torch.Tensor:
        """(3, crop, crop) as the run's test images were fed; ``data.UnreadableImage`` when it cannot be decoded."""
        return self.transform(data.open_image(file))

    def probabilities(self, x: torch.Tensor) -> np.ndarray:
        """P(PNEUMONIA) per image, computed as the run's evaluation computed it (``evaluate.predict``)."""
        return evaluate.predict(self.model, [(x, torch.zeros(len(x), dtype=torch.long))], self.compute).p

    def cams(self, x: torch.Tensor) -> np.ndarray:
        """(N, crop, crop) Grad-CAM of the PNEUMONIA score in [0, 1], on ``models.cam_layer`` (as the report)."""
        from pytorch_grad_cam import GradCAM
        from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

        with GradCAM(model=self.model, target_layers=[models.cam_layer(self.model)]) as cam:
            return cam(input_tensor=x.to(self.device), targets=[ClassifierOutputTarget(PNEUMONIA)] * len(x))


def crop_box(width: int, height: int, resize: int, crop: int, mode: str = "square") -> tuple[float, ...]:
    """(left, top, right, bottom) in the original image's pixels of what the network saw: the centre crop of
    ``Resize((R, R))`` (square: the image squashed, so the box keeps the original's proportions of width and
    height, 224/256 of each) or of ``Resize(R)`` (shorter-side: aspect kept), as torchvision computes them."""
    if mode == "square":
        rw = rh = resize
    elif width <= height:
        rw, rh = resize, int(resize * height / width)
    else:
        rw, rh = int(resize * width / height), resize
    left, top = int(round((rw - crop) / 2.0)), int(round((rh - crop) / 2.0))
    sx, sy = width / rw, height / rh
    return left * sx, top * sy, (left + crop) * sx, (top + crop) * sy


def cam_on_original(cam: np.ndarray, width: int, height: int, box: tuple[float, ...]) -> np.ndarray:
    """The (crop, crop) CAM as a (height, width) map over the original image: bilinearly stretched over ``box``,
    NaN outside it (the network never saw those pixels)."""
    left, top, right, bottom = box
    x0, y0 = max(0, int(round(left))), max(0, int(round(top)))
    x1, y1 = min(width, int(round(right))), min(height, int(round(bottom)))
    full = np.full((height, width), np.nan, dtype=np.float32)
    if x1 > x0 and y1 > y0:
        stretched = Image.fromarray(cam.astype(np.float32), mode="F").resize((x1 - x0, y1 - y0), Image.BILINEAR)
        full[y0:y1, x0:x1] = np.asarray(stretched)
    return full


def overlay_png(original: Image.Image, cam: np.ndarray, box: tuple[float, ...], title: str) -> Image.Image:
    """The original image at its own size (grey), the CAM over the part the network saw (jet, half
    transparent), that part outlined, a title and a colour bar for the CAM's scale."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.cm import ScalarMappable
    from matplotlib.figure import Figure
    from matplotlib.patches import Rectangle

    grey = np.asarray(original.convert("L"))
    height, width = grey.shape
    heat = cam_on_original(cam, width, height, box)
    dpi, font = 100, max(8.0, min(width, height) / 45)
    title_px, bar_px, pad = int(font * 4.5), max(40, int(width * 0.06)), max(10, int(font * 5))
    fig = Figure(figsize=((width + bar_px + 2 * pad + int(font * 4)) / dpi, (height + title_px + pad) / dpi), dpi=dpi)
    FigureCanvasAgg(fig)
    fw, fh = fig.get_size_inches() * dpi
    ax = fig.add_axes((pad / fw, pad / fh, width / fw, height / fh))  # the image at 1 figure pixel per pixel
    ax.imshow(grey, cmap="gray", vmin=0, vmax=255, interpolation="nearest")
    shown = ax.imshow(np.ma.masked_invalid(heat), cmap="jet", vmin=0, vmax=1, alpha=0.45, interpolation="nearest")
    left, top, right, bottom = box
    ax.add_patch(Rectangle((left, top), right - left, bottom - top, fill=False, edgecolor="white", linestyle="--",
                           linewidth=max(1.0, font / 8)))
    ax.set_axis_off()
    ax.set_title(title, fontsize=font, loc="left")
    bar = fig.add_axes(((pad * 1.5 + width) / fw, pad / fh, bar_px * 0.4 / fw, height / fh))
    cb = fig.colorbar(ScalarMappable(norm=shown.norm, cmap=shown.cmap), cax=bar)  # opaque, unlike the overlay
    cb.set_label("Grad-CAM of P(PNEUMONIA) (0 = none, 1 = this image's strongest)", fontsize=font * 0.8)
    cb.ax.tick_params(labelsize=font * 0.8)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return Image.open(io.BytesIO(buf.getvalue())).convert("RGB")


def overlay_title(file: Path, p: float, threshold: float) -> str:
    return (f"{file.name}: P(PNEUMONIA) = {p:.3f}\nlabel at 0.5: {CLASS_NAMES[int(p >= 0.5)]}; "
            f"at the validation threshold {threshold:.3f}: {CLASS_NAMES[int(p >= threshold)]}")


def _batches(items: Sequence, size: int) -> Iterator[Sequence]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def predict(run_dir: str | Path, paths: Iterable[str | Path], cam_dir: str | Path | None = None,
            strict: bool = False, batch_size: int = 16, device: str | None = None,
            on_skip: Callable[[data.UnreadableImage], None] | None = None) -> Predictions:
    """Classify every image in ``paths`` (files, or folders walked for images) with the run in ``run_dir``.

    Images are decoded ``batch_size`` at a time, so a folder of full-size radiographs never sits in memory at
    once. With ``cam_dir``, a Grad-CAM overlay PNG per image is written there (named after the image).
    ``strict``: an unreadable file raises ``data.UnreadableImage``; otherwise it is skipped and reported
    through ``on_skip`` and in ``Predictions.skipped``.
    """
    files = find_images(paths)
    classifier = Classifier(run_dir, device)
    out = Predictions([], [], classifier.threshold, list(classifier.warnings))
    cfg = classifier.cfg
    names = _overlay_names([name for _, name in files]) if cam_dir is not None else None
    for chunk in _batches(list(enumerate(files)), batch_size):
        readable, tensors = [], []
        for k, (file, _) in chunk:
            try:
                tensors.append(classifier.tensor(file))
                readable.append((k, file))
            except data.UnreadableImage as e:
                if strict:
                    raise
                out.skipped.append(e)
                if on_skip:
                    on_skip(e)
        if not tensors:
            continue
        x = torch.stack(tensors)
        probs = classifier.probabilities(x)
        cams = classifier.cams(x) if cam_dir is not None else None
        for j, ((k, file), p) in enumerate(zip(readable, probs, strict=True)):
            overlay = None
            if cams is not None:
                overlay = Path(cam_dir) / names[k]
                original = data.open_image(file)
                box = crop_box(original.width, original.height, cfg.resize_size, cfg.img_size, cfg.resize_mode)
                image = overlay_png(original, cams[j], box, overlay_title(file, float(p), classifier.threshold))
                atomic.write_bytes(overlay, _png_bytes(image))
            out.items.append(Prediction(file, float(p), classifier.threshold, overlay))
    if not out.items:
        raise XrayError(f"none of the {len(files)} file(s) could be read as an image "
                        f"(first: {out.skipped[0].message})", "give image files (JPEG, PNG, ...)")
    return out


def _overlay_names(names: list[Path]) -> list[Path]:
    """An overlay PNG name per image, unique even when two images share a name (x.jpeg and x.png)."""
    taken: set[Path] = set()
    result = []
    for name in names:
        candidate, n = name.with_suffix(".png"), 1
        while candidate in taken:
            n += 1
            candidate = name.with_name(f"{name.stem}-{n}.png")
        taken.add(candidate)
        result.append(candidate)
    return result


def _png_bytes(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def table(result: Predictions) -> pd.DataFrame:
    """One row per classified image: file, p_pneumonia, the label at 0.5 and at the validation threshold."""
    return pd.DataFrame({
        "file": [str(p.file) for p in result.items],
        "p_pneumonia": [p.p_pneumonia for p in result.items],
        "label_at_0.5": [p.label for p in result.items],
        "label_at_val_threshold": [p.label_at_threshold for p in result.items],
        "val_threshold": [result.threshold] * len(result.items),
        "cam": [str(p.overlay) if p.overlay else "" for p in result.items],
    })


def write_csv(result: Predictions, path: str | Path) -> None:
    atomic.write_text(path, table(result).to_csv(index=False, float_format="%.10g"))


def lines(result: Predictions) -> list[str]:
    """What `xray predict` prints: the threshold in words, a header, then one line per image (file last: paths
    vary in length)."""
    head = f"{'P(PNEUMONIA)':>12}  {'label at 0.5':<12}  {'label at val threshold':<22}  file"
    return ([f"validation threshold (chosen on the run's validation images, Youden's J): {result.threshold:.3f}",
             head] + [f"{p.p_pneumonia:>12.4f}  {p.label:<12}  {p.label_at_threshold:<22}  {p.file}"
                      for p in result.items])


# ----------------------------------------------------------------------------------------------------
# for notebook 04: a run to use, a few of its test images as files, the overlays in one figure


def first_run(runs_root: str | Path | None = None) -> Path:
    """The first complete run (by name) under ``runs_root`` (default reports/runs)."""
    from . import runs, settings

    root = Path(runs_root) if runs_root else settings.default_runs_root()
    found = sorted(p.parent for p in root.glob("*/COMPLETE")) if root.is_dir() else []
    if not found:
        raise XrayError(f"no finished run under {root}", "train one first (notebook 01 or xray train), or pass "
                        "--run RUN_DIR", notebook_hint='run notebook 01 first, or set run_dir = "RUN_DIR" in '
                        "the parameters cell")
    return runs.RunDir(found[0]).path


def example_images(run_dir: str | Path, n: int = 4, folder: str | Path | None = None) -> list[Path]:
    """``n`` of the run's own test images as files, alternating NORMAL and PNEUMONIA (the first of each by id).

    A folder dataset gives its original files; array datasets (PneumoniaMNIST, synthetic) are written as PNGs
    into ``folder``.
    """
    from .config import RunConfig

    cfg = RunConfig.load(Path(run_dir) / "config.json")
    test = data.load_splits(cfg).test
    by_class = [[k for k in np.argsort(test.ids, kind="stable") if test.labels[k] == c] for c in (0, 1)]
    chosen = [k for pair in zip(*by_class, strict=False) for k in pair][:n]  # pairs while both classes last
    if test.paths is not None:
        return [test.paths[k] for k in chosen]
    if folder is None:
        raise XrayError(f"the test images of {run_dir} are arrays ({cfg.dataset}), not files",
                        "give a folder to write them into")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for k in chosen:
        file = folder / (str(test.ids[k]).replace("/", "_") + ".png")
        test.load(k).save(file)
        files.append(file)
    return files


def figure(result: Predictions, ncols: int = 2):
    """The Grad-CAM overlays in a grid, each titled with its file, P(PNEUMONIA) and labels."""
    from . import plots

    shown = [p for p in result.items if p.overlay is not None]
    images = [np.asarray(Image.open(p.overlay).convert("RGB")) for p in shown]
    titles = ["" for _ in shown]  # each overlay carries its own title and colour bar
    return plots.image_grid(images, titles, ncols=ncols, suptitle="Grad-CAM of P(PNEUMONIA) on each image")


def show(result: Predictions) -> None:
    """In a notebook: the table (HTML) and the overlays (image/png, so JupyterLab's exports keep them)."""
    from IPython.display import Image as PNG
    from IPython.display import display

    for line in result.warnings:
        print(line)
    display(table(result))
    if any(p.overlay for p in result.items):
        buf = io.BytesIO()
        figure(result).savefig(buf, format="png")
        display(PNG(buf.getvalue()))


def run_cli(run_dir: str, paths: Sequence[str], csv: str | None = None, cam: str | None = None,
            strict: bool = False, quiet: bool = False) -> int:
    """`xray predict`: print the table, write the CSV and overlays; 0 even when files were skipped (warned).

    ``quiet`` (-q) leaves the table and the warnings: the result and what went wrong, not where files went."""
    def warn(e: data.UnreadableImage) -> None:
        print(f"warning: skipped {e.message}", file=sys.stderr)

    result = predict(run_dir, paths, cam_dir=cam, strict=strict, on_skip=warn)
    for line in result.warnings:
        print(line, file=sys.stderr)
    print("\n".join(lines(result)))
    if csv:
        write_csv(result, csv)
        if not quiet:
            print(f"predictions: {csv}")
    if cam and not quiet:
        print(f"Grad-CAM overlays: {cam} ({len(result.items)} PNG)")
    if result.skipped:
        print(f"warning: {len(result.skipped)} of {len(result.skipped) + len(result.items)} files skipped "
              "(unreadable); --strict makes that an error", file=sys.stderr)
    return 0
