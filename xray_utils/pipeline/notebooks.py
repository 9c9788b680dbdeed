"""Executing the numbered notebooks headless with papermill, and the checks made before anything long starts.

``xray report --jobs N`` runs each notebook in a worker process (``python -m xray_utils.pipeline.worker``),
which prints the notebook's output line by line and, when it fails, one last line ``ERROR_MARK {json}``.
"""

from __future__ import annotations

import contextlib
import functools
import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

from .. import atomic
from ..errors import ConfigError, XrayError

Log = Callable[[str], None]
ERROR_MARK = "XRAY-NOTEBOOK-ERROR"


def _quiet(_line: str) -> None:
    pass


# The name the notebooks' metadata give. xray resolves it to the Python running xray itself (this checkout's
# .venv), never by searching Jupyter's folders: a user-wide kernel of that name (older versions of `make`
# registered one, pointing at whichever clone ran it last) cannot redirect a report to another checkout.
# `make` installs the same kernel into .venv/share/jupyter for JupyterLab (`make lab` prefers it).
DEFAULT_KERNEL = "cxr-transfer"
KERNEL_DISPLAY_NAME = "Python 3 (cxr-transfer)"


def own_kernel_spec():
    """DEFAULT_KERNEL's spec: this interpreter (sys.executable) running ipykernel."""
    from jupyter_client.kernelspec import KernelSpec

    return KernelSpec(argv=[sys.executable, "-Xfrozen_modules=off", "-m", "ipykernel_launcher", "-f",
                            "{connection_file}"], display_name=KERNEL_DISPLAY_NAME, language="python",
                      metadata={"debugger": True})


def kernel_spec(kernel: str):
    """The spec papermill starts for ``kernel``: DEFAULT_KERNEL is this checkout's, any other name Jupyter's."""
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    if kernel == DEFAULT_KERNEL:
        return own_kernel_spec()
    manager = KernelSpecManager()
    try:
        return manager.get_kernel_spec(kernel)
    except NoSuchKernel:
        known = ", ".join(sorted(manager.find_kernel_specs())) or "none"
        raise XrayError(
            f"Jupyter kernel {kernel!r} not found (installed kernels: {known})",
            f"leave out --kernel to run this checkout's own environment, or install a kernel from it: "
            f"{sys.executable} -m ipykernel install --sys-prefix --name {kernel}",
        ) from None


@functools.cache
def kernel_manager_class():
    """nbclient's kernel manager with DEFAULT_KERNEL resolved by ``kernel_spec`` (papermill's kernel_manager_class)."""
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import AsyncKernelManager
    from traitlets import default

    class CheckoutKernelSpecManager(KernelSpecManager):
        def get_kernel_spec(self, kernel_name):
            return own_kernel_spec() if kernel_name == DEFAULT_KERNEL else super().get_kernel_spec(kernel_name)

    class CheckoutKernelManager(AsyncKernelManager):
        @default("kernel_spec_manager")
        def _checkout_kernel_spec_manager(self):
            return CheckoutKernelSpecManager(data_dir=self.data_dir)

        async def _async_launch_kernel(self, kernel_cmd, **kw):
            # the kernel process's own stderr carries only its log: on Ctrl-C, a 20-line "[IPKernelApp]
            # ERROR ... ZMQError" traceback as it shuts down. What a notebook prints comes over ZMQ instead.
            kw.setdefault("stderr", subprocess.DEVNULL)
            return await super()._async_launch_kernel(kernel_cmd, **kw)

    return CheckoutKernelManager


def check_kernel(kernel: str) -> None:
    """The kernel runs Python and imports this very checkout's xray_utils (not another clone's)."""
    spec = kernel_spec(kernel)
    python = spec.argv[0] if spec.argv else ""
    if spec.language.lower() != "python" or not python:
        raise XrayError(f"Jupyter kernel {kernel!r} runs {spec.language}, not Python",
                        "leave out --kernel to run this checkout's own environment")
    here = Path(__file__).resolve().parents[1]  # this checkout's xray_utils/
    where = here.parent / "notebooks"  # where the kernel will start (absent when installed without a checkout)
    probe = subprocess.run([python, "-c", "import xray_utils; print(xray_utils.__file__)"], capture_output=True,
                           text=True, cwd=where if where.is_dir() else None)
    if probe.returncode != 0:
        raise XrayError(
            f"Jupyter kernel {kernel!r} runs {python}, which cannot import xray_utils",
            "leave out --kernel to run this checkout's own environment, or install the kernel from it: "
            f"{sys.executable} -m ipykernel install --sys-prefix --name {kernel}",
        )
    lines = probe.stdout.strip().splitlines()
    theirs = Path(lines[-1]).resolve().parent if lines else None
    if theirs != here:
        raise XrayError(
            f"Jupyter kernel {kernel!r} runs {python}, which imports xray_utils from {theirs}, not from this "
            f"checkout ({here})",
            "leave out --kernel to run this checkout's own environment (its runs and caches would go elsewhere)",
        )


# what a run's train.log names as its origin when it runs in a kernel (progress.invocation reads them)
NOTEBOOK_ENV, COMMAND_ENV = "JPY_SESSION_NAME", "XRAY_COMMAND"


@contextlib.contextmanager
def kernel_environment(notebook: Path):
    """The kernel started inside inherits the notebook's name (train.log's header names it; the command that
    runs the notebooks, when xray does, is in COMMAND_ENV, set by the command line)."""
    saved = os.environ.get(NOTEBOOK_ENV)
    os.environ[NOTEBOOK_ENV] = str(notebook)
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop(NOTEBOOK_ENV, None)
        else:
            os.environ[NOTEBOOK_ENV] = saved


def check_parameters(notebook: Path, parameters: dict) -> None:
    """Every injected parameter exists in the notebook's `parameters` cell (papermill would add it silently)."""
    import papermill

    if not notebook.exists():
        raise XrayError(f"notebook not found: {notebook}", "run from a complete checkout of the project")
    known = papermill.inspect_notebook(str(notebook))
    unknown = sorted(set(parameters) - set(known))
    if unknown:
        raise ConfigError(
            f"{notebook.name} has no parameter(s) {', '.join(unknown)}",
            f"its parameters are: {', '.join(known)}",
        )


class _LineWriter(io.TextIOBase):
    """A file-like object papermill streams cell output into; whole lines go to ``log``, indented.

    A carriage return is a progress bar redrawing itself in place: the redraw replaces the pending line, so
    a bar shows once, in its final state (and not at all when it erased itself, tqdm's ``leave=False``),
    instead of one line per redraw. Training's own progress lines end in newlines and all show.
    """

    def __init__(self, log: Log):
        self.log, self.buffer = log, ""

    def write(self, text: str) -> int:
        self.buffer += text
        *lines, self.buffer = self.buffer.split("\n")
        for line in lines:
            line = line.rsplit("\r", 1)[-1]
            if line.strip():
                self.log(f"    {line}")
        return len(text)

    def flush(self) -> None:
        pass  # papermill flushes after every write; a partial line waits for its end

    def finish(self) -> None:
        last = self.buffer.rsplit("\r", 1)[-1]
        if last.strip():
            self.log(f"    {last}")
        self.buffer = ""


def execute_notebook(notebook: Path, output: Path, parameters: dict, kernel: str, stream: Log = _quiet,
                     detail: Log = _quiet, cwd: Path | None = None) -> Path:
    """Execute ``notebook`` with papermill into ``output``; a failing cell becomes an XrayError.

    ``stream`` gets every line the notebook prints (the training's progress lines among them), ``detail``
    the injected parameters and the time taken.
    """
    import papermill
    from papermill.exceptions import PapermillExecutionError

    check_parameters(notebook, parameters)
    if not output.parent.exists():  # a run's new folder: the tool's from the start (see runs.RunDir.adopt)
        output.parent.mkdir(parents=True)
        atomic.start_manifest(output.parent, "run")
    if output.is_symlink():  # papermill opens the path as it is: never write through a link
        output.unlink()
    atomic.record(output)  # a file the tool writes (the run's or report folder's manifest)
    detail(f"    parameters: {json.dumps(parameters, sort_keys=True, default=str)}")
    writer = _LineWriter(stream)
    t0 = time.perf_counter()
    try:
        with kernel_environment(notebook):
            papermill.execute_notebook(
                str(notebook), str(output), parameters=parameters, kernel_name=kernel,
                cwd=str(cwd or notebook.parent), progress_bar=False, log_output=False,
                stdout_file=writer, stderr_file=writer, request_save_on_cell_execute=True,
                kernel_manager_class=kernel_manager_class(),  # DEFAULT_KERNEL = this checkout's Python
                # ipykernel 7 warns on every start that its local TCP sockets are unencrypted: not news here
                extra_arguments=["--IPKernelApp.log_level=ERROR"],
            )
    except PapermillExecutionError as e:
        raise notebook_error(notebook, output, e.exec_count, e.ename, e.evalue) from None
    except XrayError:
        raise
    except Exception as e:  # the kernel died (out of memory, killed) or could not start
        raise XrayError(f"{notebook.name} could not run to the end: {type(e).__name__}: {e}",
                        f"the executed notebook so far is {output}") from None
    finally:
        writer.finish()
    detail(f"    ({notebook.name} ran in {time.perf_counter() - t0:.1f} s)")
    return output


def notebook_error(notebook: Path, output: Path, exec_count: Any, ename: str, evalue: str) -> XrayError:
    """The failing cell's error, as an XrayError; a notebook's own XrayError keeps its fix hint.

    A setting refused inside the notebook stays a ConfigError, so the command exits as for a usage error.
    """
    message, _, hint = str(evalue).partition("\n  fix: ")
    where = f"the executed notebook, with the traceback, is {output}"
    kind = ConfigError if ename == "ConfigError" else XrayError
    return kind(f"{notebook.name} failed in cell [{exec_count}]: {ename}: {message}",
                f"{hint}; {where}" if hint else where)


# ----------------------------------------------------------------------------------------------------
# one notebook in a worker process (xray report --jobs N)


def worker_command(notebook: Path, output: Path, parameters: dict, kernel: str) -> list[str]:
    spec = dict(notebook=str(notebook), output=str(output), parameters=parameters, kernel=kernel)
    return [sys.executable, "-m", "xray_utils.pipeline.worker", json.dumps(spec)]


def parse_error(line: str) -> XrayError | None:
    """The worker's error line back into the error it stands for (None for any other line)."""
    if not line.startswith(ERROR_MARK + " "):
        return None
    d = json.loads(line[len(ERROR_MARK) + 1:])
    kind = ConfigError if d.get("kind") == "ConfigError" else XrayError
    return kind(d["message"], d.get("hint"))
