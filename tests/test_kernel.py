"""One checkout, one kernel: two clones side by side each run their own Python, whatever the other's `make` did.

Each clone here is a copy of this checkout's package, Makefile and notebooks with a virtual environment of its
own (made in a second: the dependencies are this environment's, put on its path; its own xray_utils first).
Its kernel is installed by `make kernel`, as `make` does. A user-wide kernel of the same name pointing at the
other clone (what older versions of `make` left behind) is planted in a private Jupyter data folder.
"""

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import nbformat
import pytest

from xray_utils.errors import XrayError
from xray_utils.pipeline import notebooks

ROOT = Path(__file__).resolve().parents[1]
PROBE = "import sys, xray_utils; print('PYTHON', sys.executable); print('PACKAGE', xray_utils.__file__)"


def make_clone(where: Path) -> Path:
    where.mkdir(parents=True)
    shutil.copytree(ROOT / "xray_utils", where / "xray_utils", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "notebooks", where / "notebooks", ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    for name in ("Makefile", "pyproject.toml", "requirements.txt"):
        shutil.copy2(ROOT / name, where / name)
    venv = where / ".venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    site = Path(subprocess.run([str(venv / "bin" / "python"), "-c", "import sysconfig; "
                                "print(sysconfig.get_paths()['purelib'])"], capture_output=True, text=True,
                               check=True).stdout.strip())
    (site / "00_checkout.pth").write_text(f"{where}\n")  # its own package first, like `pip install -e .`
    (site / "zz_deps.pth").write_text(f"{sysconfig.get_paths()['purelib']}\n")  # the dependencies
    (venv / ".installed").touch()  # make's stamp: the requirements are there
    return where


@pytest.fixture(scope="module")
def clones(tmp_path_factory):
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    tmp = tmp_path_factory.mktemp("clones")
    a, b = make_clone(tmp / "a"), make_clone(tmp / "b")
    user = tmp / "user-jupyter"  # the user's Jupyter data folder, where an old `make` in clone a registered
    spec = user / "kernels" / notebooks.DEFAULT_KERNEL  # the shared kernel name, pointing at a's Python
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [str(a / ".venv" / "bin" / "python"), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (cxr-transfer)", "language": "python"}))
    env = {**os.environ, "JUPYTER_DATA_DIR": str(user)}
    env.pop("JUPYTER_PATH", None)
    lines = {}
    for clone in (a, b):
        out = subprocess.run(["make", "-s", "-C", str(clone), "kernel"], capture_output=True, text=True, env=env)
        assert out.returncode == 0, out.stderr
        lines[clone] = out.stdout
    return a, b, env, lines


def test_make_kernel_installs_into_the_checkouts_venv_and_lab_offers_it(clones):
    a, b, _, lines = clones
    for clone in (a, b):
        installed = json.loads((clone / ".venv/share/jupyter/kernels/cxr-transfer/kernel.json").read_text())
        assert installed["argv"][0] == str(clone / ".venv" / "bin" / "python")
        # what JupyterLab started by `make lab` resolves the notebooks' kernel name to
        line = next(x for x in lines[clone].splitlines() if x.startswith("cxr-transfer:"))
        assert f"{clone}/.venv/share/jupyter/kernels/cxr-transfer runs {clone}/.venv/bin/python" in line


def test_each_clone_executes_notebooks_with_its_own_python(clones):
    a, b, env, _ = clones
    # b without its venv kernel (as after `pip install -e .` alone): Jupyter's own search would find the user-wide
    # kernel of that name, which runs a's Python; xray must still run b's
    shutil.rmtree(b / ".venv/share/jupyter/kernels/cxr-transfer")
    for clone in (b, a):
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(PROBE)])
        nb.metadata.kernelspec = {"name": "cxr-transfer", "display_name": "Python 3 (cxr-transfer)",
                                  "language": "python"}
        nbformat.write(nb, clone / "notebooks" / "probe.ipynb")
        script = ("from pathlib import Path; from xray_utils.pipeline import notebooks as n; "
                  f"nb = Path({str(clone / 'notebooks' / 'probe.ipynb')!r}); n.check_kernel(n.DEFAULT_KERNEL); "
                  "n.execute_notebook(nb, nb.with_name('probe.out.ipynb'), {}, n.DEFAULT_KERNEL)")
        run = subprocess.run([str(clone / ".venv" / "bin" / "python"), "-c", script], capture_output=True, text=True,
                             env=env, cwd=clone, timeout=300)
        assert run.returncode == 0, run.stderr
        executed = nbformat.read(clone / "notebooks" / "probe.out.ipynb", as_version=4)
        text = "".join(o.get("text", "") for o in executed.cells[0].outputs)
        assert f"PYTHON {clone}/.venv/bin/python" in text
        assert f"PACKAGE {clone}/xray_utils/__init__.py" in text


def test_a_kernel_of_another_checkout_is_refused_naming_both(clones, monkeypatch):
    a, _, env, _ = clones
    monkeypatch.setenv("JUPYTER_DATA_DIR", env["JUPYTER_DATA_DIR"])
    (Path(env["JUPYTER_DATA_DIR"]) / "kernels" / "other").mkdir(exist_ok=True)
    (Path(env["JUPYTER_DATA_DIR"]) / "kernels" / "other" / "kernel.json").write_text(json.dumps({
        "argv": [str(a / ".venv" / "bin" / "python"), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "other", "language": "python"}))
    with pytest.raises(XrayError) as e:
        notebooks.check_kernel("other")  # this checkout asked to run clone a's Python
    assert f"from {a}/xray_utils, not from this checkout ({ROOT}/xray_utils)" in e.value.message
    notebooks.check_kernel(notebooks.DEFAULT_KERNEL)  # its own is fine, whatever the user folder says


def test_the_default_kernel_is_the_running_interpreter():
    spec = notebooks.kernel_spec(notebooks.DEFAULT_KERNEL)
    assert spec.argv[0] == sys.executable and spec.language == "python"
