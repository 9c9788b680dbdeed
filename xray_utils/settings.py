"""One run's settings, built the same way by the command line, the report grid and the notebooks.

Layers, each overriding the ones before it:

    RunConfig's defaults (the homework's)  <  preset  <  config file  <  notebook parameters or CLI flags
    <  extra JSON (``--extra-config`` / the notebooks' ``extra_config``)

Parameters and flags left at None keep the value of the layers below. The dataset "auto" (the default
everywhere) is the homework's Kaggle folder ``data/chest_xray`` when it exists, else PneumoniaMNIST. Paths
are made absolute, so a config.json stays valid from any working directory and a run started in a
notebook (whose kernel works in notebooks/) is the same run as one started by ``xray``.

This module imports nothing heavy: the notebooks import it to build their RunConfig.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path
from typing import Any

from .config import DATASETS, RunConfig, default_project_dir
from .errors import ConfigError

AUTO = "auto"
# homework: the homework's settings, RunConfig's defaults (ImageNet weights, 224 px, 10 epochs);
# quick: the same grid small enough to finish within 10 minutes on a 2-core CPU in fp32 (README has the measured
# time): 64 px instead of 224 (12x fewer pixels), 2 epochs instead of 10, and a quarter of the training patients
# (whole patients, both classes; validation and test stay whole). For trying things out, not for results.
PRESETS: dict[str, dict[str, Any]] = {
    "homework": {},
    "quick": {"img_size": 64, "epochs": 2, "train_fraction": 0.25},
}
# `xray demo`: the whole report on synthetic phantoms, offline, in a couple of minutes on two CPU cores
# (a layer between RunConfig's defaults and the preset: flags still override it)
DEMO_SETTINGS: dict[str, Any] = dict(dataset="synthetic", img_size=56, epochs=8, weights="none",
                                     synthetic_train=200, synthetic_test=100, lr=1e-3, batch_size=32, num_workers=0)
FIELDS = frozenset(f.name for f in dataclasses.fields(RunConfig))
_PATH_FIELDS = ("data_dir", "cache_dir")


def default_reports_dir() -> Path:
    """Where ``xray report`` writes report.html and the executed notebooks."""
    return default_project_dir() / "reports"


def checkout_of(path: Path) -> Path | None:
    """The project checkout that holds ``path`` (a folder with pyproject.toml and xray_utils/), if any."""
    for folder in (path, *path.parents):
        if (folder / "pyproject.toml").is_file() and (folder / "xray_utils" / "__init__.py").is_file():
            return folder
    return None


def other_checkout_warning(cwd: str | Path | None = None) -> str | None:
    """A warning when a notebook of one checkout runs on a kernel that imports another checkout's package.

    `make` installs the kernel "cxr-transfer" into each checkout's .venv and `make lab` offers that one, but a
    JupyterLab started otherwise may offer another clone's (or a user-wide one an older `make` registered):
    its notebooks would then run that clone's code and write into that clone's reports/.
    """
    here = checkout_of(Path(cwd or Path.cwd()).resolve())
    package = default_project_dir().resolve()
    if here is None or here == package:
        return None
    return (f"warning: this kernel runs xray_utils from {package}, not from this checkout ({here}), so runs, "
            f"caches and reports go to {package}. Start JupyterLab with `make lab` in {here} (it offers that "
            "checkout's own kernel).")


def warn_if_other_checkout() -> None:
    """The notebooks' guard cell: one line on stderr when other_checkout_warning has something to say."""
    message = other_checkout_warning()
    if message:
        print(message, file=sys.stderr)


def default_runs_root() -> Path:
    """Where runs go when no folder is named: one sub-folder per run (``cfg.run_name``)."""
    return default_reports_dir() / "runs"


def run_dir_for(cfg: RunConfig, out: str | Path | None = None, root: str | Path | None = None) -> Path:
    """The run directory of ``cfg``: ``out`` when given, else ``root`` (default: reports/runs) / run_name."""
    if out:
        return Path(out).expanduser().resolve()
    return (Path(root).expanduser() if root else default_runs_root()).resolve() / cfg.run_name


def describe_presets() -> str:
    """"homework (RunConfig's defaults); quick (img_size 64, epochs 3)": for help texts."""
    def one(name: str, values: dict) -> str:
        inside = ", ".join(f"{k} {v}" for k, v in values.items()) or "the homework's settings"
        return f"{name} ({inside})"

    return "; ".join(one(n, v) for n, v in PRESETS.items())


def resolve_dataset(dataset: str | None, data_dir: str | None) -> tuple[str, str | None]:
    """("folder" | "pneumoniamnist" | "synthetic", data_dir) for ``dataset`` None/"auto".

    The homework's folder (``data/chest_xray``, the Kaggle layout) when it exists, else PneumoniaMNIST,
    which ``data`` downloads into ``data/`` (or finds there). A data_dir given with "auto" decides by what
    it holds: an .npz file (or a folder of them) is PneumoniaMNIST, anything else a Kaggle-layout folder.
    """
    if dataset not in (None, "", AUTO):
        return dataset, data_dir
    if data_dir:
        p = Path(data_dir).expanduser()
        npz = p.suffix == ".npz" or (p.is_dir() and any(p.glob("*.npz")))
        return ("pneumoniamnist" if npz else "folder"), data_dir
    folder = default_project_dir() / "data" / "chest_xray"
    if folder.is_dir():
        return "folder", str(folder)
    return "pneumoniamnist", None


def parse_extra(extra: str | dict | None, source: str = "extra_config") -> dict:
    """A JSON object (or dict) of further RunConfig fields; "" and None are no settings."""
    if extra in (None, ""):
        return {}
    if isinstance(extra, dict):
        value = dict(extra)
    else:
        try:
            value = json.loads(extra)
        except json.JSONDecodeError as e:
            raise ConfigError(f"{source} is not valid JSON: {e}",
                              'pass a JSON object, e.g. \'{"scheduler": "cosine", "class_weights": true}\'') from None
        if not isinstance(value, dict):
            raise ConfigError(f"{source} must be a JSON object of settings, got {extra!r}")
    _check_fields(value, source)
    return value


def read_config_file(path: str | Path) -> dict:
    """The settings a config file names (a run's config.json, or a hand-written subset of it)."""
    RunConfig.load(path)  # its messages for a missing, broken or invalid file
    return json.loads(Path(path).read_text(encoding="utf-8"))


def preset_settings(preset: str | None) -> dict:
    if preset in (None, ""):
        return {}
    if preset not in PRESETS:
        raise ConfigError(f"unknown preset {preset!r}", f"use one of: {describe_presets()}")
    return dict(PRESETS[preset])


def build_config(*, preset: str | None = None, config_file: str | Path | None = None,
                 extra: str | dict | None = None, base: dict | None = None, source: str = "settings",
                 **params: Any) -> RunConfig:
    """The RunConfig of one run from its layers (see the module docstring); None params are ignored.

    ``base``: settings between RunConfig's defaults and the preset (``xray demo``'s synthetic setup).
    ``source`` names the layer of ``params`` in error messages ("command line", "notebook parameters").
    """
    _check_fields(params, source)
    merged = RunConfig().to_dict()
    merged["dataset"] = AUTO  # RunConfig's own default is "folder"; everywhere else the default is auto
    for layer in (base or {}, preset_settings(preset), read_config_file(config_file) if config_file else {},
                  {k: v for k, v in params.items() if v is not None}, parse_extra(extra)):
        merged.update(layer)
    if merged["dataset"] not in (AUTO, None, "", *DATASETS):
        raise ConfigError(f"unknown dataset {merged['dataset']!r}", f"use one of: {AUTO}, {', '.join(DATASETS)}")
    merged["dataset"], merged["data_dir"] = resolve_dataset(merged["dataset"], merged["data_dir"])
    for name in _PATH_FIELDS:
        if merged.get(name):
            merged[name] = str(Path(merged[name]).expanduser().resolve())
    if merged.get("weights") not in (None, "imagenet", "none"):
        merged["weights"] = str(Path(merged["weights"]).expanduser().resolve())
    return RunConfig.from_dict(merged, source=source)


def _check_fields(values: dict, source: str) -> None:
    unknown = sorted(set(values) - FIELDS)
    if unknown:
        raise ConfigError(f"{source}: unknown setting(s) {', '.join(unknown)}",
                          f"known settings: {', '.join(sorted(FIELDS))}")
