"""The `xray` command: train | evaluate | data-check | report | render | demo | predict.

Every problem a user can fix ends as one message on stderr, never a traceback. Also runs as
`python -m xray_utils.cli ...`, which is how torchrun launches it.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import threading
import warnings

from . import __version__, settings
from .config import (
    AMP_CHOICES,
    BACKBONES,
    DATASETS,
    DEVICES,
    MNIST_SIZES,
    MODES,
    OPTIMIZERS,
    RESIZE_MODES,
    SCHEDULERS,
    SELECT_RULES,
    VAL_SPLITS,
    RunConfig,
)
from .errors import ConfigError, Terminated, XrayError, raise_on_sigterm, stop_line
from .report_text import LANGS

EXIT_OK, EXIT_FAILURE, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
EXIT_TERMINATED = 143  # SIGTERM: 128 + 15, as a shell reports a process the signal ended
EPILOG = """exit codes:
  0    success
  1    a runtime failure: data, weights, training or a notebook failed (the message says what to fix)
  2    a usage error: an unknown flag or an invalid setting
  130  interrupted (Ctrl-C): rerun the same command to resume from the last finished epoch
  143  terminated (SIGTERM, as sent by timeout, SLURM or Kubernetes): rerun the same command to resume
"""



def _d(field: str) -> str:
    """RunConfig's default of ``field``, as a flag's help shows it (the defaults are written once, in config.py)."""
    value = RunConfig.__dataclass_fields__[field].default
    return f"{value:g}" if isinstance(value, float) else str(value)


# One definition of a run's settings for every command: (flag, RunConfig field, argparse kwargs). A flag
# left out keeps the value of the layers below it (RunConfig's defaults < --preset < --config FILE).
RUN_FLAGS = [
    ("--dataset", "dataset", dict(choices=(settings.AUTO, *DATASETS),
                                  help="data source (default auto: data/chest_xray when present, else "
                                       "PneumoniaMNIST, downloaded)")),
    ("--data-dir", "data_dir", dict(metavar="PATH", help="data folder, npz file or folder")),
    ("--weights", "weights", dict(metavar="{imagenet,none,PATH}",
                                  help="initial weights (default imagenet; none for scratch); PATH: a state_dict "
                                       "or a folder of torchvision's .pth files")),
    ("--epochs", "epochs", dict(type=int, metavar="N", help=f"default {_d('epochs')}")),
    ("--img-size", "img_size", dict(type=int, metavar="N",
                                    help=f"crop size (default {_d('img_size')}); resize scales with it "
                                         "(N*256/224)")),
    ("--resize", "resize_mode", dict(choices=RESIZE_MODES, help="square: Resize((R, R)), the homework's; "
                                                                "shorter-side: keep the aspect ratio (default "
                                                                f"{_d('resize_mode')})")),
    ("--batch-size", "batch_size", dict(type=int, metavar="N", help=f"global batch (default {_d('batch_size')})")),
    ("--lr", "lr", dict(type=float, help=f"learning rate (default {_d('lr')})")),
    ("--weight-decay", "weight_decay", dict(type=float, metavar="WD", help=f"default {_d('weight_decay')}")),
    ("--dropout", "dropout", dict(type=float, metavar="P", help=f"before the new head (default {_d('dropout')})")),
    ("--optimizer", "optimizer", dict(choices=OPTIMIZERS, help=f"default {_d('optimizer')}")),
    ("--scheduler", "scheduler", dict(choices=SCHEDULERS, help=f"learning-rate schedule (default {_d('scheduler')})")),
    ("--early-stopping", "early_stopping", dict(type=int, metavar="PATIENCE",
                                                help="stop after PATIENCE epochs without a better val loss")),
    ("--select", "select", dict(choices=SELECT_RULES, help="weights evaluated: best = lowest validation loss; last "
                                                           "= after the last epoch (the homework; default "
                                                           f"{_d('select')})")),
    ("--val-split", "val_split", dict(choices=VAL_SPLITS, help="patient: re-split train+val by patient "
                                                                f"({_d('val_fraction')} to val); given: keep the "
                                                                f"data's own val (default {_d('val_split')})")),
    ("--mnist-size", "mnist_size", dict(type=int, choices=MNIST_SIZES, help="PneumoniaMNIST npz size")),
    ("--feature-views", "feature_views", dict(type=int, metavar="K",
                                              help="frozen mode: augmented views of each train image cached")),
    ("--device", "device", dict(choices=DEVICES, help=f"default {_d('device')}")),
    ("--num-workers", "num_workers", dict(type=int, metavar="N", help="DataLoader workers (default: by CPU count)")),
    ("--amp", "amp", dict(choices=AMP_CHOICES, help="mixed precision: auto uses bf16/fp16 where the hardware "
                                                    f"has it; on; off = fp32 (default {_d('amp')})")),
    ("--cache-dir", "cache_dir", dict(metavar="PATH", help="decode cache (default data/cache or $XRAY_CACHE_DIR)")),
]
RUN_SWITCHES = [  # (flag, field, value stored, help)
    ("--class-weights", "class_weights", True, "weight the loss by inverse class frequency"),
    ("--no-augment", "augment", False, "no ColorJitter on train"),
    ("--no-decode-cache", "decode_cache", False, "decode and resize every image every epoch"),
    ("--no-feature-cache", "feature_cache", False, "frozen mode: run the backbone every epoch (the homework's way)"),
    ("--no-sync-bn", "sync_bn", False, "under torchrun: BatchNorm per rank instead of over the global batch"),
    ("--nondeterministic", "deterministic", False, "allow nondeterministic (faster) algorithms"),
    ("--strict", "strict", True, "unreadable images are an error instead of skipped with a warning"),
    ("--no-progress", "progress", False, "no progress bars or progress lines"),
]
# what one run is (xray train) ...
CELL_FLAGS = [
    ("--backbone", "backbone", dict(choices=BACKBONES, help=f"torchvision architecture (default {_d('backbone')})")),
    ("--mode", "mode", dict(choices=MODES, help="finetune: all weights train; frozen: only the head; scratch: "
                                                f"random init, all train (default {_d('mode')})")),
    ("--seed", "seed", dict(type=int, metavar="N", help=f"default {_d('seed')}")),
    ("--train-fraction", "train_fraction", dict(type=float, metavar="F", help="share of the training images, "
                                                f"whole patients, both classes (default {_d('train_fraction')})")),
]
FIELDS = [f for _, f, _ in RUN_FLAGS] + [f for _, f, _, _ in RUN_SWITCHES] + [f for _, f, _ in CELL_FLAGS]


# what `xray data-check` reads of a run's settings (the training flags would change nothing it reports)
DATA_FIELDS = frozenset({"dataset", "data_dir", "val_split", "mnist_size", "num_workers", "cache_dir", "strict",
                         "progress"})


def add_run_arguments(p: argparse.ArgumentParser, cell: bool = True, fields: frozenset | None = None) -> None:
    """The settings of a run: --preset, --config FILE, every training flag, --extra-config JSON.

    ``fields``: only these RunConfig fields' flags (and no --preset), for a command that reads only them."""
    def wanted(field: str) -> bool:
        return fields is None or field in fields

    title = "run settings (later ones win: preset < --config < flags < --extra-config)" if fields is None \
        else "data settings (later ones win: --config < flags < --extra-config)"
    g = p.add_argument_group(title)
    if fields is None:
        g.add_argument("--preset", choices=tuple(settings.PRESETS), help=f"{settings.describe_presets()}")
    g.add_argument("--config", metavar="FILE", help="a config.json (or a part of one) to start from")
    for flag, field, kw in RUN_FLAGS + (CELL_FLAGS if cell else []):
        if wanted(field):
            g.add_argument(flag, dest=field, default=None, **kw)
    for flag, field, value, text in RUN_SWITCHES:
        if wanted(field):
            g.add_argument(flag, dest=field, action="store_const", const=value, default=None, help=text)
    g.add_argument("--extra-config", metavar="JSON", help='further settings, e.g. \'{"scheduler": "cosine"}\'')


def add_grid_arguments(p: argparse.ArgumentParser, out_default: str, render: bool = False) -> None:
    """What the report grid is made of, and how it runs (report, render, demo; render trains nothing, so it
    has no --jobs, --only, --render-only or --force)."""
    from .pipeline.grid import DEFAULT_BACKBONES, DEFAULT_MODES
    from .pipeline.notebooks import DEFAULT_KERNEL

    g = p.add_argument_group("the grid: every backbone x mode x seed x fraction is one run")
    g.add_argument("--backbones", "--backbone", metavar="A,B", help=f"default {','.join(DEFAULT_BACKBONES)}")
    g.add_argument("--modes", "--mode", metavar="A,B", help=f"default {','.join(DEFAULT_MODES)} "
                                                            f"(of {', '.join(MODES)})")
    g.add_argument("--with-scratch", action="store_true", help="add a from-scratch control run per backbone")
    g.add_argument("--seeds", "--seed", metavar="N,N", help="one run per seed, e.g. 0,1,2 (default 0)")
    g.add_argument("--fractions", "--train-fraction", metavar="F,F",
                   help="one run per training fraction, e.g. 0.1,0.25,0.5,1 (learning curves; default 1)")
    if not render:
        g.add_argument("--jobs", type=int, default=1, metavar="N",
                       help="train N runs at a time: one GPU each (round-robin over CUDA_VISIBLE_DEVICES), else "
                            "the CPU cores shared out (default 1)")
        g.add_argument("--only", metavar="RUN[,RUN]", help="train just these runs of the grid (names from --list, "
                       "or positions: a SLURM array task id) and render nothing")
    g.add_argument("--list", action="store_true", help="print the grid's runs (position, name, state) and exit")
    g = p.add_argument_group("the report")
    if not render:
        g.add_argument("--render-only", action="store_true",
                       help="train nothing: re-render from the runs that exist and list the missing ones")
    g.add_argument("--lang", choices=LANGS, default=None, help=f"report language (default {LANGS[0]})")
    if not render:
        g.add_argument("--force", action="store_true", help="retrain runs that are already complete")
    g.add_argument("--out", metavar="DIR", default=None, help=f"output folder (default {out_default})"
                   + ("; alone, it re-renders the report there with the options recorded in its report.json"
                      if render else ""))
    g.add_argument("--kernel", default=DEFAULT_KERNEL,
                   help=f"Jupyter kernel that runs the notebooks (default {DEFAULT_KERNEL}: this checkout's own "
                        "Python, whatever Jupyter's folders hold)")
    g.add_argument("--no-pdf", dest="pdf", action="store_false", help="write report.html only")


def run_params(args: argparse.Namespace) -> dict:
    """The RunConfig fields the command line sets (flags left out are not in it)."""
    params = {f: getattr(args, f) for f in FIELDS if getattr(args, f, None) is not None}
    if args.quiet:
        params["progress"] = False
    return params


def config_from_args(args: argparse.Namespace):
    return settings.build_config(preset=getattr(args, "preset", None), config_file=args.config,
                                 extra=args.extra_config, source="command line", **run_params(args))


COMMAND_ENV = "XRAY_COMMAND"  # read by progress.invocation (train.log) and the report.json writer


def command_line(argv: list[str] | None = None) -> str:
    """This command as typed (``xray report --preset quick ...``), quoted so it can be pasted back."""
    return shlex.join(["xray", *(sys.argv[1:] if argv is None else argv)])


def _say(args: argparse.Namespace):
    return (lambda _msg: None) if args.quiet else print


# ----------------------------------------------------------------------------------------------------
# commands


def cmd_train(args: argparse.Namespace) -> int:
    cfg = config_from_args(args)  # a usage error answers before torch is imported
    out = settings.run_dir_for(cfg, args.out)
    from .training import distributed, train

    train.fit(cfg, out, force=args.force, log=_say(args))
    if distributed.launched_rank() == 0:  # under torchrun only rank 0 speaks
        print(f"run directory: {out}")
    return EXIT_OK


def cmd_evaluate(args: argparse.Namespace) -> int:
    from . import training
    from .errors import DataError

    try:
        metrics = training.evaluate_saved(args.run_dir)
    except DataError as e:  # its fix names a training flag; evaluate reads the data the run's config.json names
        raise DataError(e.message, f"xray evaluate reads the data named in {args.run_dir}/config.json (dataset, "
                        "data_dir): put it back there") from None
    print(training.summary_table(metrics))
    return EXIT_OK


def cmd_data_check(args: argparse.Namespace) -> int:
    cfg = config_from_args(args)
    from . import data

    report = data.data_check(cfg)
    print(report.render())
    return EXIT_OK if report.ok else EXIT_FAILURE


def grid_options(args: argparse.Namespace) -> dict:
    """build_report's keyword arguments from the command line (report, render and demo)."""
    params = run_params(args)
    for field in ("backbone", "mode", "seed", "train_fraction"):  # the grid's own flags set these
        params.pop(field, None)
    return dict(backbones=args.backbones, modes=args.modes, with_scratch=args.with_scratch, seeds=args.seeds,
                fractions=args.fractions, preset=args.preset, config_file=args.config, extra=args.extra_config,
                lang=args.lang or "en", force=getattr(args, "force", False), out=args.out, **params)


GRID_SHAPE = ("backbones", "modes", "with_scratch", "seeds", "fractions", "preset", "config", "extra_config")


def _shapes_nothing(args: argparse.Namespace) -> bool:
    """No flag that says which runs the report is over (only --out, --lang, --kernel, --no-pdf, -q/-v)."""
    flags = [f for f in FIELDS if getattr(args, f, None) is not None]  # (-q's progress=False is no setting)
    return not any(getattr(args, a, None) for a in GRID_SHAPE) and not flags


def _check_grid(options: dict, base: dict | None) -> None:
    """Every run's settings checked before anything heavy is imported (pandas, papermill, torch)."""
    from .pipeline import grid

    keep = {k: v for k, v in options.items() if k not in ("out", "base")}
    grid.plan_grid(runs_root=settings.default_reports_dir() / "runs", base=base, **keep)


def _run_grid(args: argparse.Namespace, demo: bool) -> int:
    options = grid_options(args)
    base = settings.DEMO_SETTINGS if demo else None
    say = _say(args)
    if args.command == "render" and _shapes_nothing(args):
        from .pipeline import build

        recorded = build.recorded_options(args.out or settings.default_reports_dir(), log=say)
        if recorded is not None:
            base = recorded.pop("base", None)
            options = {**recorded, "lang": args.lang or recorded.get("lang") or "en", "out": args.out}
    _check_grid(options, base)
    saved = os.environ.get(COMMAND_ENV)
    os.environ[COMMAND_ENV] = command_line(getattr(args, "argv", None))  # for train.log and report.json
    try:
        return _grid_command(args, demo, options, base, say)
    finally:
        if saved is None:
            os.environ.pop(COMMAND_ENV, None)
        else:
            os.environ[COMMAND_ENV] = saved


def _grid_command(args: argparse.Namespace, demo: bool, options: dict, base: dict | None, say) -> int:
    from . import pipeline

    if args.list:
        out = options.pop("out") or (settings.default_reports_dir() / "demo" if demo else None)
        for i, (name, state) in enumerate(pipeline.list_grid(out=out, base=base, **options)):
            print(f"{i}\t{name}\t{state}")
        return EXIT_OK
    detail = print if args.verbose else (lambda _msg: None)
    if base is not None and not demo:
        options["base"] = base
    run = dict(kernel=args.kernel, pdf=args.pdf, jobs=getattr(args, "jobs", 1), only=getattr(args, "only", None),
               render_only=getattr(args, "render_only", False) or args.command == "render", log=say, detail=detail,
               **options)
    result = pipeline.demo(**run) if demo else pipeline.build_report(**run)
    if args.quiet and result is not None and getattr(result, "html", None) is not None:
        print(f"report: {result.html}")
    return EXIT_OK


def cmd_report(args: argparse.Namespace) -> int:
    return _run_grid(args, demo=False)


def cmd_demo(args: argparse.Namespace) -> int:
    return _run_grid(args, demo=True)


# ----------------------------------------------------------------------------------------------------
# the parser: one function per command (a new command adds its own and one line in COMMANDS)


class CommandParser(argparse.ArgumentParser):
    """A subcommand's parser: no abbreviations (``--epoch 3`` is not ``--epochs 3``), and an unknown flag is
    reported with this command's usage (argparse would leave it to the top level's, which names no flag)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("allow_abbrev", False)
        kwargs.setdefault("formatter_class", argparse.RawDescriptionHelpFormatter)
        super().__init__(*args, **kwargs)

    def parse_known_args(self, args=None, namespace=None):
        namespace, extras = super().parse_known_args(args, namespace)
        if extras:
            self.error(f"unrecognized arguments: {' '.join(extras)}")
        return namespace, extras


def _verbosity() -> argparse.ArgumentParser:
    # given before or after the command: SUPPRESS keeps a subcommand from resetting the top level's value
    parent = argparse.ArgumentParser(add_help=False)
    g = parent.add_mutually_exclusive_group()
    g.add_argument("-q", "--quiet", action="store_true", default=argparse.SUPPRESS,
                   help="errors and the result only")
    g.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS,
                   help="also each notebook's parameters and timings")
    return parent


def command(sub, name: str, common, text: str) -> argparse.ArgumentParser:
    """One subcommand: ``text`` is its line in `xray --help` and the first line of `xray NAME --help`."""
    return sub.add_parser(name, parents=[common], help=text, description=text, epilog=EPILOG)


def add_train(sub, common) -> None:
    p = command(sub, "train", common, "train and evaluate one (backbone, mode) run")
    add_run_arguments(p)
    p.add_argument("--out", metavar="RUN_DIR", help="run directory (default reports/runs/<run name>)")
    p.add_argument("--force", action="store_true", help="discard an existing run in RUN_DIR and start again")
    p.set_defaults(func=cmd_train)


def add_evaluate(sub, common) -> None:
    p = command(sub, "evaluate", common, "re-evaluate a run's checkpoint and rewrite its metrics")
    p.add_argument("run_dir", metavar="RUN_DIR")
    p.set_defaults(func=cmd_evaluate)


def add_data_check(sub, common) -> None:
    p = command(sub, "data-check", common, "count splits, classes and patients; list every problem found")
    add_run_arguments(p, cell=False, fields=DATA_FIELDS)
    p.set_defaults(func=cmd_data_check)


def add_report(sub, common) -> None:
    for name, text in (("report", "train the notebook grid (reusing complete runs) and render reports/report.html "
                                  "and .pdf"),
                       ("render", "re-render the report from the runs that exist, training nothing (--out DIR "
                                  "alone: with the options DIR/report.json recorded)")):
        p = command(sub, name, common, text)
        add_run_arguments(p, cell=False)
        add_grid_arguments(p, "reports", render=name == "render")
        p.set_defaults(func=cmd_report)


def add_demo(sub, common) -> None:
    p = command(sub, "demo", common, "the whole report offline on synthetic phantoms, in a few minutes")
    add_run_arguments(p, cell=False)
    add_grid_arguments(p, "reports/demo")
    p.set_defaults(func=cmd_demo)


def cmd_predict(args: argparse.Namespace) -> int:
    from . import predict

    return predict.run_cli(args.run, args.images, csv=args.csv, cam=args.cam, strict=args.strict,
                           quiet=args.quiet)


def add_predict(sub, common) -> None:
    p = command(sub, "predict", common, "classify images with a finished run's model (P(PNEUMONIA), labels, "
                "Grad-CAM)")
    p.add_argument("images", nargs="+", metavar="IMAGE_OR_FOLDER", help="image files, or folders searched for images")
    p.add_argument("--run", required=True, metavar="RUN_DIR", help="a finished run directory (best.pt, metrics.json)")
    p.add_argument("--csv", metavar="FILE", help="also write the predictions to FILE")
    p.add_argument("--cam", metavar="DIR", help="write a Grad-CAM overlay PNG per image into DIR")
    p.add_argument("--strict", action="store_true", help="an unreadable file is an error (default: named, skipped)")
    p.set_defaults(func=cmd_predict)


COMMANDS = [add_train, add_evaluate, add_data_check, add_report, add_demo, add_predict]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="xray", description=__doc__.splitlines()[0], epilog=EPILOG,
                                     formatter_class=argparse.RawDescriptionHelpFormatter, allow_abbrev=False)
    parser.add_argument("--version", action="version", version=f"cxr-transfer {__version__}")
    parser.add_argument("-q", "--quiet", action="store_true", help="errors and the result only")
    parser.add_argument("-v", "--verbose", action="store_true", help="also each notebook's parameters and timings")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=CommandParser)
    common = _verbosity()
    for add in COMMANDS:
        add(sub, common)
    return parser


def _one_line_warning(message, category, filename, lineno, line=None) -> str:
    """A warning on the command line is one line, "warning: ...", not the source line that raised it."""
    return f"warning: {message}\n"


def main(argv: list[str] | None = None) -> int:
    """Run one command; return its exit code (see EPILOG). argparse exits 2 itself on a usage error."""
    args = build_parser().parse_args(argv)
    args.argv = sys.argv[1:] if argv is None else list(argv)  # the command as typed, for report.json
    if args.quiet and args.verbose:
        print("error: -q and -v contradict each other", file=sys.stderr)
        return EXIT_USAGE
    if threading.current_thread() is threading.main_thread():
        raise_on_sigterm()  # stops like Ctrl-C: one line, the lock released, exit 143
    warnings.formatwarning = _one_line_warning
    try:
        return int(args.func(args) or EXIT_OK)
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_USAGE
    except XrayError as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt as e:  # Ctrl-C, or SIGTERM (errors.Terminated)
        print("\n" + stop_line(e), file=sys.stderr)
        return EXIT_TERMINATED if isinstance(e, Terminated) else EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
