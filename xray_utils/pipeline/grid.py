"""The report's grid: every (backbone, mode) once per seed and training fraction, one notebook run each.

A cell's name is its run directory's name, ``cfg.run_name``: "<backbone>-<mode>" plus "-seedN" for a seed
other than 0 and "-fracF" for a training fraction below 1. ``--only`` picks cells by that name (or by their
0-based position in the grid, as a SLURM array task id).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from .. import settings
from ..config import BACKBONES, MODES, RunConfig, default_project_dir
from ..errors import NOTEBOOK_PARAMETERS, ConfigError

NOTEBOOK_DATA = "00_data_exploration.ipynb"
NOTEBOOK_FINETUNE = "01_task_b_finetune.ipynb"
NOTEBOOK_FROZEN = "02_task_c_feature_extractor.ipynb"
NOTEBOOK_ANALYSIS = "03_task_d_e_analysis.ipynb"
# scratch is the fine-tuning notebook started from random weights (the control for "does ImageNet help?")
NOTEBOOK_FOR_MODE = {"finetune": NOTEBOOK_FINETUNE, "scratch": NOTEBOOK_FINETUNE, "frozen": NOTEBOOK_FROZEN}

DEFAULT_BACKBONES = ("resnet18", "squeezenet1_1")
DEFAULT_MODES = ("finetune", "frozen")
# the settings 01/02 take as parameters of their own (errors.NOTEBOOK_PARAMETERS, the one list of their
# parameters cell); every other setting travels in extra_config
RUN_PARAMETERS = tuple(name for name in RunConfig.__dataclass_fields__ if name in NOTEBOOK_PARAMETERS)
DATA_PARAMETERS = ("dataset", "data_dir", "img_size", "seed")  # 00's
# the further settings that change what 00 shows of the data (the training settings do not)
DATA_SETTINGS = ("val_split", "val_fraction", "mnist_size", "synthetic_train", "synthetic_test", "resize",
                 "resize_mode", "augment", "jitter", "decode_cache", "cache_dir", "strict", "num_workers")


def notebooks_dir() -> Path:
    return default_project_dir() / "notebooks"


@dataclass
class RunPlan:
    cfg: RunConfig
    notebook: Path
    run_dir: Path
    parameters: dict

    @property
    def name(self) -> str:
        return self.cfg.run_name

    @property
    def executed(self) -> Path:
        return self.run_dir / self.notebook.name


def split_names(value: str | list | tuple | None, default: tuple, allowed: tuple, what: str) -> list[str]:
    if value is None or value == "":
        return list(default)
    items = [v.strip() for v in value.split(",")] if isinstance(value, str) else [str(v) for v in value]
    items = [v for v in items if v]
    bad = [v for v in items if v not in allowed]
    if bad or not items:
        raise ConfigError(f"unknown {what} {', '.join(bad) or '(empty)'}", f"use some of: {', '.join(allowed)}")
    return list(dict.fromkeys(items))  # keep order, drop repeats


def split_numbers(value: str | list | tuple | int | float | None, kind: type, what: str) -> list:
    """"0,1,2" -> [0, 1, 2]; None -> [None] (the setting's value from the lower layers)."""
    if value is None or value == "":
        return [None]
    items = value.split(",") if isinstance(value, str) else value if isinstance(value, (list, tuple)) else [value]
    try:
        numbers = [kind(str(v).strip()) for v in items if str(v).strip()]
    except ValueError:
        raise ConfigError(f"invalid {what} {value!r}", f"a comma-separated list, e.g. "
                          f"{'0,1,2' if kind is int else '0.1,0.25,0.5,1'}") from None
    if not numbers:
        raise ConfigError(f"invalid {what} {value!r}: empty")
    return list(dict.fromkeys(numbers))


def notebook_parameters(cfg: RunConfig, preset: str | None, run_dir: Path, force: bool, lang: str) -> dict:
    """01/02's parameters that rebuild exactly ``cfg`` through settings.build_config, as the notebook does:
    the settings they name, plus every other setting that differs from the preset in extra_config."""
    baseline = {**RunConfig().to_dict(), **settings.preset_settings(preset)}
    values = cfg.to_dict()
    extra = {k: v for k, v in values.items() if k not in RUN_PARAMETERS and v != baseline[k]}
    return dict(preset=preset or "homework", **{k: values[k] for k in RUN_PARAMETERS}, run_dir=str(run_dir),
                force=force, lang=lang, extra_config=json.dumps(extra, sort_keys=True))


def data_parameters(cfg: RunConfig, lang: str) -> dict:
    """00's parameters: the grid's data (dataset, resolution, seed, and data settings such as val_split).

    The training settings (backbone, epochs, training fraction, ...) stay out: 00 explores the whole data.
    """
    values, defaults = cfg.to_dict(), RunConfig().to_dict()
    extra = {k: values[k] for k in DATA_SETTINGS if values[k] != defaults[k]}
    return dict(**{k: values[k] for k in DATA_PARAMETERS}, lang=lang, extra_config=json.dumps(extra, sort_keys=True))


def plan_grid(*, runs_root: Path, backbones=None, modes=None, with_scratch: bool = False, seeds=None,
              fractions=None, preset: str | None = None, config_file: str | Path | None = None,
              extra: str | dict | None = None, base: dict | None = None, force: bool = False, lang: str = "en",
              **params) -> list[RunPlan]:
    """One RunPlan per (backbone, mode, seed, fraction), in that order; ``params``: RunConfig fields (flags)."""
    backbones = split_names(backbones, DEFAULT_BACKBONES, BACKBONES, "backbone(s)")
    modes = split_names(modes, DEFAULT_MODES, MODES, "mode(s)")
    if with_scratch and "scratch" not in modes:
        modes.append("scratch")
    seeds = split_numbers(seeds, int, "seeds")
    fractions = split_numbers(fractions, float, "fractions")
    plans: dict[str, RunPlan] = {}
    for backbone in backbones:
        for mode in modes:
            for seed in seeds:
                for fraction in fractions:
                    cell = dict(params, backbone=backbone, mode=mode, seed=seed, train_fraction=fraction)
                    if mode == "scratch":  # the control starts from random weights whatever the others use
                        cell["weights"] = "none"
                    cfg = settings.build_config(preset=preset, config_file=config_file, extra=extra, base=base,
                                                source="command line", **cell)
                    run_dir = settings.run_dir_for(cfg, root=runs_root)
                    plans.setdefault(cfg.run_name, RunPlan(
                        cfg, notebooks_dir() / NOTEBOOK_FOR_MODE[mode], run_dir,
                        notebook_parameters(cfg, preset, run_dir, force, lang)))
    return list(plans.values())


def select(plans: list[RunPlan], only: str | list | None) -> list[RunPlan]:
    """The cells ``only`` names (run names or 0-based positions, comma-separated), in grid order."""
    if only is None or only == "":
        return plans
    wanted = [v.strip() for v in only.split(",")] if isinstance(only, str) else [str(v) for v in only]
    by_name = {p.name: p for p in plans}
    chosen = []
    for item in filter(None, wanted):
        if item.isdigit() and item not in by_name:
            if int(item) >= len(plans):
                raise ConfigError(f"--only {item}: the grid has {len(plans)} runs (positions 0 to {len(plans) - 1})",
                                  "list them with --list")
            item = plans[int(item)].name
        if item not in by_name:
            raise ConfigError(f"--only {item}: not a run of this grid", "its runs: " + ", ".join(by_name))
        chosen.append(item)
    return [p for p in plans if p.name in chosen]
