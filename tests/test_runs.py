import os

import pytest

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
