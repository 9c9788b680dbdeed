import errno
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest
import torch

from xray_utils import atomic
from xray_utils.config import RunConfig
from xray_utils.errors import ConfigError, XrayError
from xray_utils.runs import RunDir, collect, load_run


def test_atomic_write_leaves_old_file_when_writer_fails(tmp_path):
    target = tmp_path / "metrics.json"
    atomic.write_json(target, {"accuracy": 0.9})
    with pytest.raises(RuntimeError):
        with atomic.atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("crash mid-write")
    assert target.read_text().strip().startswith("{")
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.json"]  # no temp file left behind


def test_prepare_refuses_a_different_config_unless_forced(tmp_path):
    rd = RunDir(tmp_path / "run")
    assert rd.prepare(RunConfig(epochs=2)) == "new"
    assert rd.prepare(RunConfig(epochs=2, progress=False)) == "restart"  # presentation-only change is fine
    rd.last_checkpoint.write_bytes(b"x")  # a finished epoch: now worth keeping
    with pytest.raises(ConfigError, match="epochs: 2 -> 3"):
        rd.prepare(RunConfig(epochs=3))
    rd.mark_complete()
    assert rd.prepare(RunConfig(epochs=3), force=True) == "new"
    assert not rd.is_complete()


def test_prepare_marks_complete_and_resume(tmp_path):
    rd = RunDir(tmp_path / "run")
    rd.prepare(RunConfig())
    rd.last_checkpoint.write_bytes(b"x")
    assert rd.prepare(RunConfig()) == "resume"
    rd.mark_complete()
    assert rd.prepare(RunConfig()) == "complete"


def test_old_config_format_is_a_clear_error(tmp_path):
    rd = RunDir(tmp_path / "run")
    rd.path.mkdir()
    rd.config.write_text('{"backbone": "resnet18", "old_knob": 1}')
    rd.last_checkpoint.write_bytes(b"x")
    rd.lock_file.write_text("")  # an earlier version's run folder: no manifest, but its lock
    with pytest.raises(ConfigError, match="--force"):
        rd.prepare(RunConfig())
    rd.mark_complete()
    with pytest.raises(XrayError, match="older or different version"):
        load_run(rd.path)


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere")
def test_unwritable_output_directory(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    with pytest.raises(XrayError, match="cannot write"):
        RunDir(locked / "run").prepare(RunConfig())


def test_unwritable_output_directory_as_root(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(XrayError, match="cannot write"):
        RunDir(blocker / "run").prepare(RunConfig())


def test_collect_skips_incomplete_runs(tmp_path):
    RunDir(tmp_path / "a").prepare(RunConfig())
    assert collect(tmp_path) == []
    assert collect(tmp_path / "missing") == []


# ---- reuse or refuse, phrased for the caller ---------------------------------------------------------


def test_reuse_state_decides_without_writing_and_phrases_the_fix_for_the_caller(tmp_path):
    rd = RunDir(tmp_path / "run")
    assert rd.reuse_state(RunConfig(epochs=2)) == "new"
    assert not rd.path.exists()  # deciding writes nothing
    rd.prepare(RunConfig(epochs=2))
    rd.last_checkpoint.write_bytes(b"x")
    before = sorted(p.name for p in rd.path.iterdir())
    with pytest.raises(ConfigError) as cli_error:
        rd.reuse_state(RunConfig(epochs=3), caller="cli")
    assert "--force" in cli_error.value.hint and "--out" in cli_error.value.hint
    with pytest.raises(ConfigError) as nb_error:
        rd.reuse_state(RunConfig(epochs=3), caller="notebook")
    assert "force = True" in nb_error.value.hint and "run_dir" in nb_error.value.hint
    assert "--" not in nb_error.value.hint
    assert rd.reuse_state(RunConfig(epochs=3), force=True) == "new"
    assert sorted(p.name for p in rd.path.iterdir()) == before  # still nothing cleared


# ---- one owner per run directory ---------------------------------------------------------------------

HOLD = """
import sys, time
from xray_utils.runs import RunDir
lock = RunDir(sys.argv[1]).acquire()
print("locked", flush=True)
time.sleep(120)
"""


def _holder(run_dir):
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(run_dir)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "locked"
    return proc


def test_a_busy_run_directory_stops_a_second_process_at_once(tmp_path):
    run_dir = tmp_path / "run"
    proc = _holder(run_dir)
    try:
        t0 = time.perf_counter()
        with pytest.raises(XrayError) as e:
            RunDir(run_dir).acquire()
        assert time.perf_counter() - t0 < 2  # no waiting
        assert str(run_dir) in e.value.message and f"process {proc.pid}" in e.value.message
    finally:
        proc.kill()
        proc.wait()


def test_the_lock_of_a_killed_process_does_not_block(tmp_path):
    run_dir = tmp_path / "run"
    proc = _holder(run_dir)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert (run_dir / ".lock").exists()  # the file stays behind, but nobody holds it
    with RunDir(run_dir).acquire():
        with pytest.raises(XrayError, match="in use by another run"):
            RunDir(run_dir).acquire()  # held now, even against this same process
    RunDir(run_dir).acquire().release()  # and released on exit


def test_cli_train_into_a_busy_run_directory_fails_with_a_clear_message(tmp_path, capsys):
    from xray_utils import cli

    run_dir = tmp_path / "run"
    proc = _holder(run_dir)
    try:
        code = cli.main(["train", "--dataset", "synthetic", "--weights", "none", "--img-size", "32", "--epochs", "1",
                         "--no-progress", "--out", str(run_dir)])
    finally:
        proc.kill()
        proc.wait()
    err = capsys.readouterr().err
    assert code != 0 and "Traceback" not in err
    assert f"{run_dir} is in use by another run" in err and str(proc.pid) in err
    assert not (run_dir / "config.json").exists()  # the other run's folder was not touched


# ---- a disk that refuses to write ---------------------------------------------------------------------


@pytest.mark.parametrize("code, words", [(errno.ENOSPC, "no space left on"), (errno.EROFS, "read-only file system:")])
def test_a_refused_write_is_a_clear_error_and_keeps_the_old_file(tmp_path, monkeypatch, code, words):
    target = tmp_path / "last.pt"
    atomic.torch_save({"epoch": 1}, target)

    def refuse(obj, f, *args, **kwargs):
        f.write(b"partial")
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(torch, "save", refuse)
    with pytest.raises(XrayError) as e:
        atomic.torch_save({"epoch": 2}, target)
    assert e.value.message == f"cannot write last.pt: {words} {tmp_path}"
    assert "run the same command again" in e.value.hint
    assert [p.name for p in tmp_path.iterdir()] == ["last.pt"]  # no temporary file left
    assert torch.load(target, weights_only=True) == {"epoch": 1}


# ---- predictions ---------------------------------------------------------------------------------------


def test_predictions_keep_patients_and_full_precision(tmp_path):
    rd = RunDir(tmp_path / "run")
    rd.path.mkdir()
    p = np.array([0.49999971234, 0.123456789012, 0.5])
    rd.write_predictions(["a", "b", "c"], np.array([0, 1, 1]), p, patients=["007", "007", "p2"])
    df = pd.read_csv(rd.predictions, dtype={"id": str, "patient": str})
    assert list(df.columns) == ["id", "patient", "label", "p_pneumonia", "prediction"]
    np.testing.assert_allclose(df["p_pneumonia"], p, rtol=1e-9)
    assert list(df["prediction"]) == [0, 0, 1]  # 0.4999997 stays below the threshold
    assert list(df["patient"]) == ["007", "007", "p2"]
