"""Usage answers: fast (no torch before the settings are checked), exact (no abbreviations), and each command's
own (its usage on a mistyped flag, its flags in its help, its one-line description)."""

import subprocess
import sys
import time

import pytest

from xray_utils import cli, progress

# a usage error, then which heavy modules had been imported when it was answered
PROBE = """
import sys
from xray_utils import cli
rc = cli.main(sys.argv[1:])
heavy = sorted(m for m in ("torch", "pandas", "papermill", "torchvision") if m in sys.modules)
print("RC", rc, "HEAVY", ",".join(heavy) or "-")
"""


@pytest.mark.parametrize("argv", [["train", "--lr", "-1"], ["report", "--epochs", "0"], ["demo", "--img-size", "-3"],
                                  ["data-check", "--dataset", "synthetic", "--extra-config", "{bad"],
                                  ["render", "--seeds", "x"]])
def test_an_invalid_setting_is_answered_before_torch_is_imported(argv):
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", PROBE, *argv], capture_output=True, text=True, timeout=60)
    seconds = time.perf_counter() - t0
    assert "RC 2 HEAVY -" in out.stdout, out.stdout + out.stderr
    assert out.stderr.startswith("error: ") and "Traceback" not in out.stderr
    assert seconds < 10  # about 0.2 s of CPU; the bound leaves room for a loaded test machine


def test_help_imports_nothing_heavy():
    code = ("import sys\nfrom xray_utils import cli\ntry:\n    cli.main(['--help'])\nexcept SystemExit:\n    pass\n"
            "print('HEAVY', [m for m in ('torch', 'pandas', 'papermill') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert "HEAVY []" in out.stdout


@pytest.mark.parametrize("command", ["train", "report", "render", "demo", "data-check"])
def test_abbreviations_are_refused(command, capsys):
    with pytest.raises(SystemExit) as e:
        cli.main([command, "--epoch", "3"] if command != "data-check" else [command, "--data", "x"])
    assert e.value.code == 2
    assert "unrecognized arguments" in capsys.readouterr().err


def test_a_mistyped_flag_shows_the_subcommands_usage(capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(["report", "--epoks", "3"])
    err = capsys.readouterr().err
    assert e.value.code == 2
    assert err.startswith("usage: xray report") and "xray report: error: unrecognized arguments: --epoks 3" in err


def help_of(*argv) -> str:
    return cli.build_parser()._subparsers._group_actions[0].choices[argv[0]].format_help()


def test_each_command_lists_only_its_flags_under_its_one_line_description():
    parser = cli.build_parser()
    commands = parser._subparsers._group_actions[0].choices
    for name, sub in commands.items():
        assert sub.description and "\n" not in sub.description.strip(), name
    check = help_of("data-check")
    assert "--data-dir" in check and "--strict" in check
    assert not any(flag in check for flag in ("--lr", "--epochs", "--backbone", "--preset", "--amp", "--jobs"))
    render = help_of("render")
    assert not any(flag in render for flag in ("--render-only", "--jobs", "--only", "--force"))
    assert "--out" in render and "--lang" in render
    report = help_of("report")
    assert all(flag in report for flag in ("--render-only", "--jobs", "--only", "--force"))


def test_train_log_names_the_command_or_the_notebook():
    assert progress.invocation(["/venv/bin/xray", "train", "--lr", "0.1"], {}) == "/venv/bin/xray train --lr 0.1"
    kernel = ["/venv/lib/python3.11/site-packages/ipykernel_launcher.py", "-f", "/run/kernel-1.json"]
    said = progress.invocation(kernel, {"JPY_SESSION_NAME": "/x/notebooks/01_task_b_finetune.ipynb",
                                        "XRAY_COMMAND": "xray report --preset quick"})
    assert said == "notebook 01_task_b_finetune.ipynb, executed by `xray report --preset quick`"
    assert "ipykernel_launcher" not in progress.invocation(kernel, {})
    assert cli.command_line(["report", "--out", "my reports"]) == "xray report --out 'my reports'"
