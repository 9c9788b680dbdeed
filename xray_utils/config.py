"""RunConfig: every knob of one experiment, with the homework's defaults.

One run = one (backbone, mode) on one dataset. The config is saved as ``config.json`` in the run
directory; rerunning with a different config on the same directory is refused (see ``runs``), so the
fields that do not change results (progress bars, worker count, device) are listed in
``NON_IDENTITY_FIELDS``.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import errors
from .errors import ConfigError

# the largest crop and resize accepted: a bigger one would only run out of memory (ResNet18 at 1024 px and
# batch 32 needs ~40 GB of activations); the homework crops 224 px from 256
MAX_IMG_SIZE = 1024
MAX_RESIZE = 2048

BACKBONES = (
    "resnet18",
    "squeezenet1_1",
    "squeezenet1_0",
    "densenet121",
    "mobilenet_v3_small",
    "efficientnet_b0",
)
MODES = ("finetune", "frozen", "scratch")
DATASETS = ("folder", "pneumoniamnist", "synthetic")
VAL_SPLITS = ("patient", "given")
OPTIMIZERS = ("adamw", "sgd")
SCHEDULERS = ("none", "cosine", "step")
RESIZE_MODES = ("square", "shorter-side")
SELECT_RULES = ("best", "last")
AMP_CHOICES = ("auto", "on", "off")
DEVICES = ("auto", "cpu", "cuda", "mps")
MNIST_SIZES = (28, 64, 128, 224)
CLASS_NAMES = ("NORMAL", "PNEUMONIA")  # label 0, label 1 everywhere

# Fields that do not change what a run computes: a rerun that differs only here is the same run.
NON_IDENTITY_FIELDS = frozenset({"progress", "num_workers", "device", "strict", "cache_dir", "world_size"})


@dataclass
class RunConfig:
    # what is trained
    backbone: str = "resnet18"
    mode: str = "finetune"  # finetune: all weights train; frozen: only the head; scratch: random init
    weights: str | None = None  # "imagenet" | "none" | path to a state_dict; None = imagenet (scratch: none)
    # data
    dataset: str = "folder"
    data_dir: str | None = None  # folder root, npz file/folder; None = the dataset's default location
    val_split: str = "patient"  # patient: re-split train(+val) by patient; given: keep the data's own val
    val_fraction: float = 0.1
    mnist_size: int | None = None  # PneumoniaMNIST npz size (28, 64, 128, 224); None = largest found, else 224
    synthetic_train: int = 240  # synthetic phantoms: images in train (val is carved out of it)
    synthetic_test: int = 120
    # synthetic phantoms: a small bright square in the top-left corner of every PNEUMONIA phantom (train and
    # test), a planted shortcut that the shortcut audit must flag
    synthetic_shortcut: bool = False
    # preprocessing (homework: Resize 256 bicubic, CenterCrop 224, Grayscale(3), ColorJitter, Normalize)
    img_size: int = 224  # crop size; the resize size scales with it (256/224)
    resize: int | None = None  # None = round(img_size * 256 / 224)
    # square: Resize((R, R)) squashes the whole image to a square, the homework's transform; shorter-side:
    # Resize(R) keeps the aspect ratio, so the centre crop cuts the outer lung fields of a wide radiograph
    resize_mode: str = "square"
    augment: bool = True  # ColorJitter on train
    jitter: tuple[float, float, float, float] = (0.2, 0.2, 0.2, 0.1)
    # optimisation
    epochs: int = 10
    batch_size: int = 32
    lr: float = 1e-4
    weight_decay: float = 0.002
    dropout: float = 0.5
    optimizer: str = "adamw"
    momentum: float = 0.9  # sgd only
    scheduler: str = "none"
    step_size: int = 5  # step scheduler: epochs per decay
    gamma: float = 0.1
    class_weights: bool = False  # weight the loss by inverse class frequency
    early_stopping: int = 0  # patience in epochs on validation loss; 0 = off
    # which epoch's weights are evaluated: best = lowest validation loss; last = after the final epoch,
    # as the homework did
    select: str = "best"
    # share of the training images used (learning curves): whole patients, both classes, fixed per seed;
    # validation and test are never touched
    train_fraction: float = 1.0
    # speed
    decode_cache: bool = True  # decode + resize each image once into data/cache
    feature_cache: bool = True  # frozen mode: run the backbone once per split, train the head on features
    feature_views: int = 1  # frozen + augment: augmented views of each train image cached
    # auto: CUDA bf16/fp16 autocast, CPU bf16 autocast + channels_last where the CPU has native bf16
    # (AMX or AVX512-BF16), else fp32 | on: the same, also asked where it is emulated | off: fp32 everywhere.
    # Weights and optimiser state stay fp32 in every case.
    amp: str = "auto"
    # DistributedDataParallel: BatchNorm statistics over the global batch (SyncBatchNorm), so a run means
    # the same at any world size; only used when world size > 1 and BatchNorm layers train
    sync_bn: bool = True
    # reproducibility and environment
    seed: int = 0
    deterministic: bool = True
    device: str = "auto"
    num_workers: int | None = None  # None = auto
    cache_dir: str | None = None  # None = data/cache under the project (or XRAY_CACHE_DIR)
    strict: bool = False  # unreadable images are errors instead of skipped with a warning
    progress: bool = True
    world_size: int = 1  # recorded by distributed runs

    # ---- derived values -------------------------------------------------------------------------
    @property
    def resize_size(self) -> int:
        return self.resize if self.resize is not None else int(round(self.img_size * 256 / 224))

    @property
    def resolved_weights(self) -> str:
        if self.weights is None:
            return "none" if self.mode == "scratch" else "imagenet"
        return self.weights

    @property
    def pretrained(self) -> bool:
        return self.resolved_weights != "none"

    @property
    def run_kind(self) -> str:
        """"<backbone>-<mode>": what a report compares; seeds and training fractions are repeats of a kind."""
        return f"{self.backbone}-{self.mode}"

    @property
    def run_name(self) -> str:
        """The run directory's name: the kind, plus -seedN for seeds other than 0 and -fracF for a training
        fraction below 1 (so a default run keeps its plain name and is reused by a seeds/fractions grid)."""
        name = self.run_kind
        if self.seed != 0:
            name += f"-seed{self.seed}"
        if self.train_fraction < 1:
            name += f"-frac{self.train_fraction:g}"
        return name

    # ---- validation -----------------------------------------------------------------------------
    def validate(self) -> "RunConfig":
        """Check every field; raise ConfigError naming the bad value and what is allowed. Returns self."""
        _validate(self)
        return self

    # ---- (de)serialisation ----------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["jitter"] = list(self.jitter)
        return d

    def identity(self) -> dict[str, Any]:
        """The fields that decide what a run computes (used to refuse reusing a run directory)."""
        return {k: v for k, v in self.to_dict().items() if k not in NON_IDENTITY_FIELDS}

    @classmethod
    def from_dict(cls, d: dict[str, Any], source: str = "config") -> "RunConfig":
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ConfigError(
                f"{source}: unknown setting(s) {', '.join(unknown)}",
                f"known settings: {', '.join(sorted(known))}",
            )
        d = dict(d)
        if "jitter" in d and d["jitter"] is not None:
            d["jitter"] = tuple(d["jitter"])
        cfg = cls(**d)
        for f in dataclasses.fields(cls):
            _check_type(cfg, f, source)
        return cfg.validate()

    def replace(self, **changes: Any) -> "RunConfig":
        return RunConfig.from_dict({**self.to_dict(), **changes})

    def save(self, path: str | os.PathLike) -> None:
        from . import atomic

        atomic.write_json(path, self.to_dict())

    @classmethod
    def load(cls, path: str | os.PathLike) -> "RunConfig":
        path = Path(path)
        try:
            d = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"config file not found: {path}") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise ConfigError(f"config file {path} is not valid JSON: {e}", "fix or delete the file") from None
        if not isinstance(d, dict):
            raise ConfigError(f"config file {path} must hold a JSON object of settings")
        return cls.from_dict(d, source=str(path))


errors.register_settings(RunConfig.__dataclass_fields__)  # a hint's --flag becomes a notebook's setting


def _validate(cfg: RunConfig) -> None:
    """RunConfig.validate's checks (kept out of the class, which is mostly its fields and their comments)."""
    for f in dataclasses.fields(cfg):  # NaN and infinity pass every comparison below: refuse them first
        values = getattr(cfg, f.name)
        for v in values if isinstance(values, (tuple, list)) else (values,):
            if isinstance(v, float) and not math.isfinite(v):
                raise ConfigError(f"invalid {f.name} {v!r}: must be a finite number",
                                  f"use a finite number (the default is {f.default!r})")

    def choice(name: str, allowed: tuple) -> None:
        value = getattr(cfg, name)
        if value not in allowed:
            raise ConfigError(
                f"unknown {name} {value!r}", f"use one of: {', '.join(map(str, allowed))}"
            )

    choice("backbone", BACKBONES)
    choice("mode", MODES)
    choice("dataset", DATASETS)
    choice("val_split", VAL_SPLITS)
    choice("optimizer", OPTIMIZERS)
    choice("scheduler", SCHEDULERS)
    choice("device", DEVICES)
    choice("amp", AMP_CHOICES)
    choice("resize_mode", RESIZE_MODES)
    choice("select", SELECT_RULES)
    if cfg.dataset == "pneumoniamnist" and cfg.mnist_size is not None:
        choice("mnist_size", MNIST_SIZES)

    def positive(name: str, integer: bool, minimum: float = 0, inclusive: bool = False) -> None:
        value = getattr(cfg, name)
        ok_type = isinstance(value, int) and not isinstance(value, bool) if integer else (
            isinstance(value, (int, float)) and not isinstance(value, bool)
        )
        if not ok_type or (value < minimum if inclusive else value <= minimum):
            bound = f">= {minimum}" if inclusive else f"> {minimum}"
            raise ConfigError(f"invalid {name} {value!r}: must be {'an integer ' if integer else ''}{bound}")

    positive("epochs", True, 1, inclusive=True)
    positive("batch_size", True, 1, inclusive=True)
    positive("img_size", True, 8, inclusive=True)
    positive("lr", False, 0)
    positive("weight_decay", False, 0, inclusive=True)
    positive("momentum", False, 0, inclusive=True)
    positive("step_size", True, 1, inclusive=True)
    positive("gamma", False, 0)
    positive("early_stopping", True, 0, inclusive=True)
    positive("feature_views", True, 1, inclusive=True)
    positive("synthetic_train", True, 20, inclusive=True)
    positive("synthetic_test", True, 4, inclusive=True)
    positive("seed", True, 0, inclusive=True)
    positive("world_size", True, 1, inclusive=True)
    if cfg.resize is not None:
        positive("resize", True, cfg.img_size, inclusive=True)
    if cfg.img_size > MAX_IMG_SIZE or (cfg.resize or 0) > MAX_RESIZE:
        name, value, bound = ("img_size", cfg.img_size, MAX_IMG_SIZE) if cfg.img_size > MAX_IMG_SIZE \
            else ("resize", cfg.resize, MAX_RESIZE)
        raise ConfigError(f"invalid {name} {value}: must be <= {bound} (the Kaggle X-rays are about 1000-2000 px; "
                          "the homework crops 224)", f"use {name} <= {bound} (the homework crops 224)")
    if not 0 <= cfg.dropout < 1:
        raise ConfigError(f"invalid dropout {cfg.dropout!r}: must be in [0, 1)")
    if not (isinstance(cfg.train_fraction, (int, float)) and not isinstance(cfg.train_fraction, bool)
            and 0 < cfg.train_fraction <= 1):
        raise ConfigError(f"invalid train_fraction {cfg.train_fraction!r}: must be in (0, 1]")
    if not 0 < cfg.val_fraction < 0.5:
        raise ConfigError(f"invalid val_fraction {cfg.val_fraction!r}: must be in (0, 0.5)")
    if cfg.num_workers is not None and (not isinstance(cfg.num_workers, int) or cfg.num_workers < 0):
        raise ConfigError(f"invalid num_workers {cfg.num_workers!r}: must be an integer >= 0")
    if len(tuple(cfg.jitter)) != 4 or any(j < 0 for j in cfg.jitter):
        raise ConfigError(f"invalid jitter {cfg.jitter!r}: "
                          "four numbers >= 0 (brightness, contrast, saturation, hue)")
    if not 0 <= cfg.jitter[3] <= 0.5:
        raise ConfigError(f"invalid jitter hue {cfg.jitter[3]!r}: must be in [0, 0.5]")
    if cfg.mode == "scratch" and cfg.resolved_weights != "none":
        raise ConfigError(
            f"mode 'scratch' trains from random initialisation, but weights={cfg.weights!r}",
            "use --weights none with --mode scratch, or --mode finetune to start from pretrained weights",
        )
    w = cfg.resolved_weights
    if w not in ("imagenet", "none") and not Path(w).expanduser().exists():
        raise ConfigError(
            f"weights file not found: {w}",
            "pass --weights imagenet, --weights none, the path of an existing .pth state_dict, or a folder "
            "of torchvision's .pth files",
        )


_OPTIONAL_TYPES = {
    "weights": str, "data_dir": str, "resize": int, "num_workers": int, "cache_dir": str, "mnist_size": int,
}


def _check_type(cfg: RunConfig, f: dataclasses.Field, source: str) -> None:
    """Reject a JSON value of the wrong type (e.g. epochs "ten") with a message, not a crash later."""
    value = getattr(cfg, f.name)
    if f.name in _OPTIONAL_TYPES:
        expected, ok = _OPTIONAL_TYPES[f.name], value is None
    else:
        expected, ok = type(f.default), False
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        setattr(cfg, f.name, float(value))
        return
    ok = ok or (isinstance(value, expected) and not (expected is int and isinstance(value, bool)))
    ok = ok or (expected is tuple and isinstance(value, list))
    if not ok:
        raise ConfigError(f"{source}: setting {f.name} must be {expected.__name__}, got {value!r}")


def default_project_dir() -> Path:
    """The project root (where data/ and reports/ live): the checkout this package sits in, else cwd."""
    here = Path(__file__).resolve().parent.parent
    if (here / "pyproject.toml").exists():
        return here
    return Path.cwd()


def default_cache_dir(cfg: RunConfig | None = None) -> Path:
    if cfg is not None and cfg.cache_dir:
        return Path(cfg.cache_dir).expanduser()
    env = os.environ.get("XRAY_CACHE_DIR")
    return Path(env).expanduser() if env else default_project_dir() / "data" / "cache"
