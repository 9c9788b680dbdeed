"""Run folders are data: reading one never runs code, writing one never follows a link, and ``--out`` never
touches a file the tool did not write (issue 20)."""

import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from xray_utils import atomic, cli, progress
from xray_utils.config import RunConfig
from xray_utils.errors import XrayError
from xray_utils.runs import RunDir
from xray_utils.training import checkpoint

TINY_FLAGS = ["--dataset", "synthetic", "--backbone", "squeezenet1_1", "--mode", "frozen", "--weights", "none",
              "--epochs", "1", "--img-size", "32", "--batch-size", "16", "--no-progress", "--num-workers", "0",
              "--extra-config", '{"synthetic_train": 40, "synthetic_test": 8}']
TINY = dict(dataset="synthetic", backbone="squeezenet1_1", mode="frozen", weights="none", epochs=1, img_size=32,
            batch_size=16, progress=False, num_workers=0, synthetic_train=40, synthetic_test=8)


class Touch:
    """Unpickling this object creates ``path``: what a crafted checkpoint would do (any code could run)."""

    def __init__(self, path: Path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


def crafted_run(tmp_path: Path, which: str) -> tuple[Path, Path]:
    """A run folder whose ``which`` checkpoint (best.pt or last.pt) runs code when unpickled unsafely."""
    run, touched = tmp_path / "run", tmp_path / "touched"
    rd = RunDir(run)
    rd.prepare(RunConfig(**TINY))
    payload = {"model": {"weight": Touch(touched)}, "epoch": 1} if which == "best.pt" else \
        {"format": checkpoint.FORMAT, "state": {"epoch": 1}, "rng": Touch(touched)}
    torch.save(payload, run / which)
    if which == "best.pt":
        atomic.write_json(rd.metrics, {"threshold_youden": 0.5})
        rd.mark_complete(run="crafted")
    return run, touched


def test_a_crafted_best_pt_is_refused_by_every_reader(tmp_path, capsys):
    run, touched = crafted_run(tmp_path, "best.pt")
    image = tmp_path / "x.png"
    Image.fromarray(np.zeros((40, 40), np.uint8)).save(image)
    assert cli.main(["evaluate", str(run)]) == 1  # xray evaluate
    assert cli.main(["predict", "--run", str(run), str(image)]) == 1  # xray predict --run
    with pytest.raises(checkpoint.UnsafeCheckpoint):  # the report's Grad-CAM (explain) loads best.pt so
        checkpoint.load_best_model(run)
    err = capsys.readouterr().err
    assert "best.pt holds objects that are not weights; it was not loaded: retrain or delete it" in err
    assert "Traceback" not in err
    assert not touched.exists()


def test_a_crafted_last_pt_is_refused_on_resume(tmp_path, capsys):
    run, touched = crafted_run(tmp_path, "last.pt")
    assert cli.main(["train", *TINY_FLAGS, "--out", str(run)]) == 1  # resumes: reads last.pt
    err = capsys.readouterr().err
    assert "last.pt holds objects that are not weights; it was not loaded" in err and "Traceback" not in err
    assert not touched.exists()


def test_checkpoints_hold_only_data_and_the_rng_states_round_trip(tmp_path):
    torch.manual_seed(1)
    np.random.seed(2)
    state = checkpoint.rng_state()
    torch.save(state, tmp_path / "rng.pt")
    expected = (torch.rand(3), np.random.rand(3))
    checkpoint.set_rng_state(checkpoint.load(tmp_path / "rng.pt"))
    assert torch.equal(torch.rand(3), expected[0]) and np.array_equal(np.random.rand(3), expected[1])


def test_a_checkpoint_of_an_earlier_version_is_refused_as_such_without_loading(tmp_path):
    torch.save({"format": 2, "rng": {"numpy": np.random.get_state()}}, tmp_path / "last.pt")
    with pytest.raises(XrayError, match="older version") as e:
        checkpoint.load(tmp_path / "last.pt")
    assert not isinstance(e.value, checkpoint.UnsafeCheckpoint)


# ---- no write follows a link --------------------------------------------------------------------------


@pytest.fixture
def victim(tmp_path):
    v = tmp_path / "victim.txt"
    v.write_text("precious\n")
    return v


def test_a_symlinked_lock_is_refused_and_its_target_untouched(tmp_path, victim, capsys):
    run = tmp_path / "run"
    RunDir(run).prepare(RunConfig(**TINY))
    (run / ".lock").symlink_to(victim)
    with pytest.raises(XrayError, match="symbolic link"):
        RunDir(run).acquire()
    assert cli.main(["train", *TINY_FLAGS, "--out", str(run)]) == 1
    assert "symbolic link" in capsys.readouterr().err
    assert victim.read_text() == "precious\n"


def test_a_hard_linked_lock_is_refused(tmp_path, victim):
    run = tmp_path / "run"
    RunDir(run).prepare(RunConfig(**TINY))
    os.link(victim, run / ".lock")
    with pytest.raises(XrayError, match="not a plain file"):
        RunDir(run).acquire()
    assert victim.read_text() == "precious\n"


def test_the_writability_probe_and_atomic_writes_never_write_through_a_link(tmp_path, victim):
    run = tmp_path / "run"
    RunDir(run).prepare(RunConfig(**TINY))
    (run / ".write-test").symlink_to(victim)
    (run / "metrics.json").symlink_to(victim)
    with RunDir(run).acquire():
        RunDir(run).prepare(RunConfig(**TINY))
        atomic.write_json(run / "metrics.json", {"accuracy": 1.0})
    assert victim.read_text() == "precious\n"
    assert not (run / "metrics.json").is_symlink() and json.loads((run / "metrics.json").read_text())
    (run / "train.log").symlink_to(victim)
    with pytest.raises(XrayError, match="symbolic link"), progress.RunLog(run / "train.log"):
        pass
    assert victim.read_text() == "precious\n"


# ---- --out touches only what the tool wrote ------------------------------------------------------------


def users_folder(root: Path) -> dict[str, bytes]:
    files = {"metrics.json": b'{"mine": 1}\n', "notes.txt": b"my notes\n", "config.json": b'{"lr": 0.5}\n',
             "figures/plot.png": b"\x89PNG not really"}
    for name, content in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(content)
    return files


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("force", [[], ["--force"]])
def test_out_on_a_users_folder_is_refused_with_or_without_force(tmp_path, capsys, force):
    folder = tmp_path / "mine"
    files = users_folder(folder)
    assert cli.main(["train", *TINY_FLAGS, "--out", str(folder), *force]) == 2
    err = capsys.readouterr().err
    assert "holds no run of this tool" in err and "config.json" in err
    assert "--force" not in err.split("fix:")[1] and "Traceback" not in err
    assert tree(folder) == files  # byte for byte, and nothing added


def test_force_on_a_run_folder_deletes_only_the_files_the_run_wrote(tmp_path):
    rd = RunDir(tmp_path / "run")
    rd.prepare(RunConfig(**TINY))
    for f in (rd.history, rd.last_checkpoint, rd.metrics):
        atomic.write_text(f, "x")
    atomic.write_bytes(rd.figures / "curves.png", b"png")  # what notebooks' save_run_figures writes
    rd.mark_complete()
    (rd.path / "notes.txt").write_text("mine")  # the user's, put in the run folder afterwards
    (rd.figures / "plot.png").write_bytes(b"mine too")
    assert rd.prepare(RunConfig(**TINY, lr=0.5), force=True) == "new"
    left = {p.relative_to(rd.path).as_posix() for p in rd.path.rglob("*") if p.is_file()}
    assert left == {"notes.txt", "figures/plot.png", "config.json", ".xray-run"}


# ---- a failed first try does not block the corrected one ---------------------------------------------


def test_a_first_try_with_a_wrong_data_dir_does_not_block_the_right_one(tmp_path, tiny_folder, capsys):
    root, run = tiny_folder(n=8, size=40), tmp_path / "run"
    flags = [*TINY_FLAGS[:TINY_FLAGS.index("--extra-config")]]
    flags[flags.index("synthetic")] = "folder"
    assert cli.main(["train", *flags, "--data-dir", str(tmp_path / "missing"), "--out", str(run)]) != 0
    assert (run / "config.json").exists()  # the failed try left its config behind
    assert cli.main(["train", *flags, "--data-dir", str(root), "--out", str(run)]) == 0
    assert "replaced an unfinished run" in capsys.readouterr().out
    assert RunDir(run).is_complete()
    assert RunConfig.load(run / "config.json").data_dir == str(root)


def test_settings_that_are_not_finite_numbers_stop_before_anything_is_written(tmp_path, capsys):
    out = tmp_path / "run"
    assert cli.main(["train", "--lr", "nan", "--out", str(out)]) == 2
    for value in ("NaN", "Infinity"):
        (tmp_path / "c.json").write_text(f'{{"lr": {value}}}')
        assert cli.main(["train", "--config", str(tmp_path / "c.json"), "--out", str(out)]) == 2
    assert cli.main(["train", "--img-size", "10000", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("must be a finite number") == 3 and "must be <= 1024" in err and "Traceback" not in err
    assert not out.exists()


def test_sigterm_stops_a_run_like_ctrl_c_with_one_line_in_the_console_and_train_log(tmp_path):
    import signal
    import subprocess
    import sys

    out = tmp_path / "run"
    flags = [f if f != "1" else "50" for f in TINY_FLAGS]  # --epochs 50: still training when the signal comes
    proc = subprocess.Popen([sys.executable, "-m", "xray_utils.cli", "train", *flags, "--out", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for line in proc.stdout:
        if line.startswith("epoch 1/"):
            break
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 143
    assert err.strip() == "terminated: rerun the same command to resume"
    assert "terminated: rerun the same command to resume" in (out / "train.log").read_text()
    assert checkpoint.load(out / "last.pt")["state"]["epoch"] >= 1  # the finished epochs are kept


@pytest.mark.parametrize("force", [[], ["--force"]])
def test_report_out_on_a_users_folder_is_refused_before_any_work(tmp_path, capsys, force):
    folder = tmp_path / "mine"
    files = users_folder(folder)
    assert cli.main(["report", "--dataset", "synthetic", "--out", str(folder), *force]) == 2
    err = capsys.readouterr().err
    assert "holds no report of this tool" in err and "--force" not in err.split("fix:")[1]
    assert tree(folder) == files


def test_report_out_that_cannot_be_written_stops_before_any_work(tmp_path):
    from xray_utils.runs import check_report_folder

    (tmp_path / "file").write_text("a file")
    with pytest.raises(XrayError, match="cannot write|is a file"):
        check_report_folder(tmp_path / "file" / "reports")
    check_report_folder(tmp_path / "new")  # a new folder becomes a report folder
    assert atomic.read_manifest(tmp_path / "new")["kind"] == "report"


def test_evaluate_rewrites_an_unreadable_metrics_json_with_a_warning(tmp_path, capsys):
    run = tmp_path / "run"
    assert cli.main(["train", *TINY_FLAGS, "--out", str(run)]) == 0
    (run / "metrics.json").write_text("{ damaged")
    capsys.readouterr()
    with pytest.warns(UserWarning, match="could not be read"):
        assert cli.main(["evaluate", str(run)]) == 0
    assert "Traceback" not in capsys.readouterr().err
    assert "test" in json.loads((run / "metrics.json").read_text())


def test_a_data_dir_that_is_a_file_is_named_as_such(tmp_path, capsys):
    (tmp_path / "x.npz").write_bytes(b"PK")
    assert cli.main(["train", *TINY_FLAGS[:TINY_FLAGS.index("--extra-config")], "--dataset", "folder",
                     "--data-dir", str(tmp_path / "x.npz"), "--out", str(tmp_path / "run")]) != 0
    err = capsys.readouterr().err
    assert "is a file" in err and "--dataset pneumoniamnist" in err and "Kaggle" not in err


@pytest.mark.parametrize("raised", [torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB"),
                                    RuntimeError("[enforce fail at alloc_cpu.cpp:117] DefaultCPUAllocator: can't "
                                                 "allocate memory: you tried to allocate 40000000000 bytes"),
                                    MemoryError()])
def test_running_out_of_memory_is_one_line_naming_the_sizes(raised):
    from xray_utils.training import train

    cfg = RunConfig(img_size=1024, batch_size=64)
    with pytest.raises(XrayError, match="out of memory at img_size 1024, batch 64") as e, \
            train.out_of_memory_is_an_error(cfg):
        raise raised
    assert "--batch-size" in e.value.hint and "--img-size" in e.value.hint
    with pytest.raises(RuntimeError, match="something else"), train.out_of_memory_is_an_error(cfg):
        raise RuntimeError("something else")  # any other error stays what it is


def test_a_full_disk_inside_torch_saves_zip_writer_is_one_line(tmp_path, monkeypatch):
    import errno

    def full_disk(obj, f):
        try:
            raise OSError(errno.ENOSPC, "No space left on device")
        except OSError:  # torch's zip writer turns it into this on closing the archive
            raise RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 347328 vs 347216")  # noqa: B904

    monkeypatch.setattr(torch, "save", full_disk)
    (tmp_path / "best.pt").write_bytes(b"previous")
    with pytest.raises(XrayError, match=f"cannot write best.pt: no space left on {tmp_path}"):
        atomic.torch_save({"x": 1}, tmp_path / "best.pt")
    assert (tmp_path / "best.pt").read_bytes() == b"previous"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["best.pt"]  # no temporary file left


def test_an_error_that_stops_a_run_is_kept_in_its_train_log(tmp_path):
    with pytest.raises(XrayError), progress.RunLog(tmp_path / "train.log", out=lambda _m: None):
        raise XrayError("cannot write best.pt: no space left on here", "free some space")
    assert "error: cannot write best.pt: no space left on here" in (tmp_path / "train.log").read_text()


def test_evaluate_s_data_fix_names_no_training_flag(tmp_path, monkeypatch, capsys):
    """xray evaluate has no --data-dir: a missing dataset's fix points at the run's config.json instead."""
    from xray_utils import training
    from xray_utils.errors import DataError

    def missing(_run_dir):
        raise DataError("data/chest_xray not found", "pass --data-dir PATH, or download the Kaggle data")

    monkeypatch.setattr(training, "evaluate_saved", missing)
    assert cli.main(["evaluate", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "data/chest_xray not found" in err and "config.json" in err and "--data-dir" not in err
