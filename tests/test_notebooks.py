"""The notebooks as a student meets them in JupyterLab: format, kernel, the first-cell guard, clean in git."""

import sys
from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
NAMES = sorted(p.name for p in NOTEBOOKS.glob("*.ipynb"))


def read(name: str) -> nbformat.NotebookNode:
    return nbformat.read(NOTEBOOKS / name, as_version=4)


def code_cells(nb) -> list:
    return [c for c in nb.cells if c.cell_type == "code"]


def test_every_notebook_is_found():
    assert {"00_data_exploration.ipynb", "01_task_b_finetune.ipynb", "02_task_c_feature_extractor.ipynb",
            "03_task_d_e_analysis.ipynb"} <= set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_notebook_is_nbformat_4_5_on_the_project_kernel(name):
    nb = read(name)
    nbformat.validate(nb)
    assert (nb.nbformat, nb.nbformat_minor) == (4, 5)  # cell ids: JupyterLab does not rewrite the file on save
    ids = [c.get("id") for c in nb.cells]
    assert all(ids) and len(set(ids)) == len(ids)
    assert nb.metadata.kernelspec.name == "cxr-transfer"
    assert nb.metadata.kernelspec.display_name == "Python 3 (cxr-transfer)"


@pytest.mark.parametrize("name", NAMES)
def test_guard_is_the_first_code_cell_then_exactly_one_parameters_cell(name):
    cells = code_cells(read(name))
    assert "import xray_utils" in cells[0].source and "make lab" in cells[0].source
    tagged = [i for i, c in enumerate(cells) if "parameters" in c.metadata.get("tags", [])]
    assert tagged == [1]


@pytest.mark.parametrize("name", NAMES)
def test_notebook_has_no_outputs(name):
    for cell in code_cells(read(name)):
        assert cell.outputs == [] and cell.execution_count is None, f"{name} cell {cell.id} has outputs"


@pytest.mark.parametrize("name", NAMES)
def test_notebook_file_is_what_the_git_filter_writes(name):
    # byte for byte nbformat's own layout (what nbstripout --keep-id writes): `git status` stays clean
    path = NOTEBOOKS / name
    assert path.read_text(encoding="utf-8") == nbformat.writes(read(name)) + "\n"


# ----------------------------------------------------------------------------------------------------
# the guard, run in IPython as JupyterLab would run it


@pytest.fixture
def shell(monkeypatch):
    from IPython.core.interactiveshell import InteractiveShell

    sh = InteractiveShell.instance()
    yield sh
    InteractiveShell.clear_instance()


def test_guard_on_a_kernel_without_the_project_stops_with_one_line(shell, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "xray_utils", None)  # `import xray_utils` now raises ImportError
    result = shell.run_cell(code_cells(read("01_task_b_finetune.ipynb"))[0].source)
    assert not result.success and type(result.error_in_exec).__name__ == "WrongKernel"
    shown = capsys.readouterr()
    lines = [line for line in (shown.out + shown.err).splitlines() if line.strip()]
    assert len(lines) == 1 and "make lab" in lines[0], lines
    assert "Traceback" not in lines[0]


def test_guard_on_the_project_kernel_is_silent(shell, capsys):
    result = shell.run_cell(code_cells(read("01_task_b_finetune.ipynb"))[0].source)
    assert result.success
    shown = capsys.readouterr()
    assert shown.out == "" and shown.err == ""


def test_guard_in_another_checkout_warns_that_runs_go_elsewhere(shell, tmp_path, monkeypatch, capsys):
    other = tmp_path / "other-clone"  # a second clone: `make` there would point the kernel at it
    (other / "xray_utils").mkdir(parents=True)
    (other / "xray_utils" / "__init__.py").write_text("")
    (other / "pyproject.toml").write_text("[project]\nname = 'cxr-transfer'\n")
    (other / "notebooks").mkdir()
    monkeypatch.chdir(other / "notebooks")  # JupyterLab starts a kernel in the notebook's folder
    result = shell.run_cell(code_cells(read("01_task_b_finetune.ipynb"))[0].source)
    assert result.success  # a warning, not a stop: the code is this project's, only from elsewhere
    shown = capsys.readouterr()
    assert shown.out == ""
    lines = [line for line in shown.err.splitlines() if line.strip()]
    assert len(lines) == 1 and str(other) in lines[0] and str(NOTEBOOKS.parent) in lines[0] and "make" in lines[0]


def test_guard_outside_any_checkout_is_silent(shell, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # papermill run from anywhere: the package's own checkout is used, no doubt
    assert shell.run_cell(code_cells(read("01_task_b_finetune.ipynb"))[0].source).success
    assert capsys.readouterr().err == ""


# ----------------------------------------------------------------------------------------------------
# outputs never reach git: the filter `make` installs


def _git(repo: Path, *args: str) -> str:
    import subprocess

    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=True).stdout


def test_make_installs_a_filter_that_stages_notebooks_without_outputs(tmp_path):
    import shutil
    import subprocess

    root = NOTEBOOKS.parent
    venv = Path(sys.executable).parent.parent
    if not (venv / "bin" / "nbstripout").exists():
        pytest.skip("nbstripout is not installed in this environment (make installs it)")
    clone = tmp_path / "clone"  # a fresh repository: no filter in its .git/config yet
    clone.mkdir()
    _git(clone, "init", "-q")
    for name in ("Makefile", ".gitattributes", "requirements.txt", "pyproject.toml"):
        shutil.copy(root / name, clone / name)
    stamp = tmp_path / "installed"
    stamp.touch()  # the venv is already installed: make only installs the filter
    subprocess.run(["make", "-s", "-C", str(clone), "git-filter", f"VENV={venv}", f"STAMP={stamp}"],
                   check=True, capture_output=True, timeout=120)
    assert (clone / ".gitattributes").read_bytes() == (root / ".gitattributes").read_bytes()  # nothing added

    nb = read("01_task_b_finetune.ipynb")  # executed: outputs and counts in every code cell
    for n, cell in enumerate(code_cells(nb), 1):
        cell.execution_count = n
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=f"out {n}\n")]
    nbformat.write(nb, clone / "executed.ipynb")
    _git(clone, "add", "executed.ipynb")

    staged = nbformat.reads(_git(clone, "show", ":executed.ipynb"), as_version=4)
    assert all(c.outputs == [] and c.execution_count is None for c in code_cells(staged))
    assert [c.id for c in staged.cells] == [c.id for c in nb.cells]  # ids kept: no churn in diffs
    assert [c.source for c in staged.cells] == [c.source for c in nb.cells]
    assert "out 1" in (clone / "executed.ipynb").read_text()  # the student's file keeps its outputs


# ----------------------------------------------------------------------------------------------------
# errors in a notebook: the message and the parameter to set, not a traceback


@pytest.mark.parametrize("hint, fix", [
    ("pass --data-dir PATH", 'set data_dir = "PATH" in the parameters cell'),
    ("pass --force to retrain it, or choose another --out",
     "set force = True in the parameters cell to retrain it, or choose another run_dir"),
    ("use --img-size 17 or more", "use img_size = 17 or more (in the parameters cell)"),
    ("use --weights none with --mode scratch", 'use weights = "none" with mode = "scratch" (in the parameters cell)'),
    ("or use --val-split given", "or use extra_config = '{\"val_split\": \"given\"}' (in the parameters cell)"),
    ("try `make demo` or xray train ... --out RUN_DIR", "try `make demo` or xray train ... --out RUN_DIR"),
    ("pass --no-pdf", "pass --no-pdf"),  # no notebook has it: left as it is
])
def test_cli_hint_becomes_the_notebook_parameter_to_set(hint, fix):
    from xray_utils.errors import notebook_fix

    assert notebook_fix(hint) == fix


def test_error_keeps_its_text_and_renders_for_a_notebook():
    from xray_utils.errors import ConfigError

    e = ConfigError("epochs must be >= 1", "pass --epochs 2")
    assert str(e) == "epochs must be >= 1\n  fix: pass --epochs 2"  # what the pipeline parses
    assert e._render_traceback_() == ["error: epochs must be >= 1",
                                      "fix: set epochs = 2 in the parameters cell"]
    given = ConfigError("bad", "pass --x", notebook_hint="set x in the parameters cell")
    assert given._render_traceback_() == ["error: bad", "fix: set x in the parameters cell"]
    assert ConfigError("bad")._render_traceback_() == ["error: bad"]


@pytest.mark.slow
def test_error_in_a_real_kernel_shows_message_and_notebook_fix_without_traceback(tmp_path):
    import papermill
    from papermill.exceptions import PapermillExecutionError

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(f'data_dir = "{tmp_path / "missing"}"', metadata={"tags": ["parameters"]}),
                nbformat.v4.new_code_cell("from xray_utils import data\nfrom xray_utils.config import RunConfig\n"
                                          "data.load_splits(RunConfig(dataset='folder', data_dir=data_dir))")]
    nbformat.write(nb, tmp_path / "in.ipynb")
    with pytest.raises(PapermillExecutionError) as e:
        papermill.execute_notebook(str(tmp_path / "in.ipynb"), str(tmp_path / "out.ipynb"), kernel_name="python3",
                                   progress_bar=False, cwd=str(tmp_path))
    assert e.value.ename == "DataError" and "\n  fix: " in e.value.evalue and "--data-dir" in e.value.evalue
    executed = nbformat.read(tmp_path / "out.ipynb", as_version=4)
    errors = [o for c in code_cells(executed) for o in c.outputs if o.output_type == "error"]
    assert len(errors) == 1
    shown = errors[0].traceback
    assert shown[0] == f"error: data folder not found: {tmp_path / 'missing'}"
    assert shown[1].startswith("fix: ") and 'set data_dir = "ROOT" in the parameters cell' in shown[1]
    assert "--data-dir" not in shown[1]
    text = "\n".join(shown)
    assert "Traceback" not in text and "File " not in text and "---->" not in text and len(shown) == 2


# ----------------------------------------------------------------------------------------------------
# notebook 03: headings come from the show_* functions (translated), never twice


def test_report_notebook_markdown_has_no_headings():
    nb = read("03_task_d_e_analysis.ipynb")
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            assert not [line for line in cell.source.splitlines() if line.lstrip().startswith("#")], cell.id


def test_report_notebook_intro_is_for_the_notebook_user_only():
    # the intro (papermill, xray report) is left out of report.html; a student's own markdown is not tagged
    first = read("03_task_d_e_analysis.ipynb").cells[0]
    assert first.cell_type == "markdown" and "notebook-only" in first.metadata.get("tags", [])
