"""The `xray` command: train | evaluate | data-check | report | demo.

Every problem a user can fix ends as one message on stderr and exit code 2, never a traceback.
Also runs as `python -m xray_utils.cli ...`, which is how torchrun launches it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import __version__
from .config import BACKBONES, DATASETS, MODES, OPTIMIZERS, SCHEDULERS, VAL_SPLITS, RunConfig, default_project_dir
from .errors import XrayError

# (flag, RunConfig field, argparse kwargs): flags left out keep the config file's or the default value.
TRAIN_FLAGS = [
    ("--dataset", "dataset", dict(choices=DATASETS, help="data source (default folder)")),
    ("--data-dir", "data_dir", dict(metavar="PATH", help="data folder, npz file or folder")),
    ("--backbone", "backbone", dict(choices=BACKBONES, help="torchvision architecture (default resnet18)")),
    ("--mode", "mode", dict(choices=MODES, help="finetune: all weights train (default); frozen: only the head; "
                                                 "scratch: random init, all train")),
    ("--weights", "weights", dict(metavar="{imagenet,none,PATH}",
                                  help="initial weights (default imagenet; none for scratch); PATH: a state_dict")),
    ("--epochs", "epochs", dict(type=int, help="default 10")),
    ("--img-size", "img_size", dict(type=int, help="crop size (default 224); resize scales with it (N*256/224)")),
    ("--batch-size", "batch_size", dict(type=int, help="global batch (default 32)")),
    ("--lr", "lr", dict(type=float, help="learning rate (default 1e-4)")),
    ("--weight-decay", "weight_decay", dict(type=float, help="default 0.002")),
    ("--dropout", "dropout", dict(type=float, help="before the new head (default 0.5)")),
    ("--optimizer", "optimizer", dict(choices=OPTIMIZERS, help="default adamw")),
    ("--scheduler", "scheduler", dict(choices=SCHEDULERS, help="learning-rate schedule (default none)")),
    ("--early-stopping", "early_stopping", dict(type=int, metavar="PATIENCE",
                                                help="stop after PATIENCE epochs without a better val loss")),
    ("--val-split", "val_split", dict(choices=VAL_SPLITS, help="patient: re-split train+val 10%% by patient "
                                                                "(default); given: keep the data's own val")),
    ("--mnist-size", "mnist_size", dict(type=int, choices=(28, 64, 128, 224), help="PneumoniaMNIST npz size")),
    ("--feature-views", "feature_views", dict(type=int, metavar="K",
                                              help="frozen mode: augmented views of each train image cached")),
    ("--seed", "seed", dict(type=int, help="default 0")),
    ("--device", "device", dict(choices=("auto", "cpu", "cuda", "mps"), help="default auto")),
    ("--num-workers", "num_workers", dict(type=int, help="DataLoader workers (default: by CPU count)")),
    ("--amp", "amp", dict(choices=("auto", "on", "off"), help="mixed precision on CUDA (default auto)")),
    ("--cache-dir", "cache_dir", dict(metavar="PATH", help="decode cache (default data/cache or $XRAY_CACHE_DIR)")),
]
TRAIN_SWITCHES = [  # (flag, field, value stored, help)
    ("--class-weights", "class_weights", True, "weight the loss by inverse class frequency"),
    ("--no-augment", "augment", False, "no ColorJitter on train"),
    ("--no-decode-cache", "decode_cache", False, "decode and resize every image every epoch"),
    ("--no-feature-cache", "feature_cache", False, "frozen mode: run the backbone every epoch (the homework's way)"),
    ("--nondeterministic", "deterministic", False, "allow nondeterministic (faster) algorithms"),
    ("--strict", "strict", True, "unreadable images are an error instead of skipped with a warning"),
    ("--no-progress", "progress", False, "no progress bars"),
]


def add_config_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", metavar="FILE", help="a config.json to start from (flags override it)")
    for flag, field, kw in TRAIN_FLAGS:
        p.add_argument(flag, dest=field, default=None, **kw)
    for flag, field, value, help in TRAIN_SWITCHES:
        p.add_argument(flag, dest=field, action="store_const", const=value, default=None, help=help)


def config_from_args(args: argparse.Namespace) -> RunConfig:
    base = RunConfig.load(args.config).to_dict() if args.config else RunConfig().to_dict()
    fields = [f for _, f, _ in TRAIN_FLAGS] + [f for _, f, _, _ in TRAIN_SWITCHES]
    changes = {f: getattr(args, f) for f in fields if getattr(args, f, None) is not None}
    # absolute paths, as the notebooks store them: config.json stays valid from any working directory, and
    # a run started here is the same run as one started by `xray report`
    if changes.get("weights") not in (None, "imagenet", "none"):
        changes["weights"] = str(Path(changes["weights"]).expanduser().resolve())
    if changes.get("data_dir"):
        changes["data_dir"] = str(Path(changes["data_dir"]).expanduser().resolve())
    return RunConfig.from_dict({**base, **changes}, source="command line")


def cmd_train(args: argparse.Namespace) -> int:
    from . import distributed, train

    cfg = config_from_args(args)
    out = args.out or str(default_project_dir() / "reports" / "runs" / cfg.run_name)
    train.fit(cfg, out, force=args.force)
    if distributed.launched_rank() == 0:  # under torchrun only rank 0 speaks
        print(f"run directory: {out}")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from . import train

    metrics = train.evaluate_saved(args.run_dir)
    print(train.summary_table(metrics))
    return 0


def cmd_data_check(args: argparse.Namespace) -> int:
    from . import data

    report = data.data_check(config_from_args(args))
    print(report.render())
    return 0 if report.ok else 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="xray", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"cxr-transfer {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("train", help="train and evaluate one (backbone, mode) run")
    add_config_arguments(p)
    p.add_argument("--out", metavar="RUN_DIR", help="run directory (default reports/runs/<backbone>-<mode>)")
    p.add_argument("--force", action="store_true", help="discard an existing run in RUN_DIR and start again")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("evaluate", help="re-evaluate a run's best checkpoint and rewrite its metrics")
    p.add_argument("run_dir", metavar="RUN_DIR")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("data-check", help="count splits, classes and patients; list every problem found")
    add_config_arguments(p)
    p.set_defaults(func=cmd_data_check)

    try:
        from . import pipeline
    except ImportError:  # the report commands arrive with the notebooks
        pipeline = None
    if pipeline is not None:
        p = sub.add_parser("report", help="run the notebook grid and render reports/report.html and .pdf")
        pipeline.add_report_arguments(p)
        p.set_defaults(func=pipeline.run_from_args)
        p = sub.add_parser("demo", help="the whole report offline on synthetic phantoms, in a few minutes")
        pipeline.add_demo_arguments(p)
        p.set_defaults(func=pipeline.run_demo_from_args)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except XrayError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\ninterrupted: rerun the same command to resume from the last finished epoch", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
