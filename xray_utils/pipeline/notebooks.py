"""Executing the numbered notebooks headless with papermill, and the checks made before anything long starts.

``xray report --jobs N`` runs each notebook in a worker process (``python -m xray_utils.pipeline.worker``),
which prints the notebook's output line by line and, when it fails, one last line ``ERROR_MARK {json}``.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

from ..errors import ConfigError, XrayError

Log = Callable[[str], None]
ERROR_MARK = "XRAY-NOTEBOOK-ERROR"


def _quiet(_line: str) -> None:
    pass


def check_kernel(kernel: str) -> None:
    """The Jupyter kernel exists and its Python can import this package."""
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    manager = KernelSpecManager()
    try:
        spec = manager.get_kernel_spec(kernel)
    except NoSuchKernel:
        known = ", ".join(sorted(manager.find_kernel_specs())) or "none"
        raise XrayError(
            f"Jupyter kernel {kernel!r} not found (installed kernels: {known})",
            f"install it into the project's environment: .venv/bin/python -m ipykernel install --user "
            f"--name {kernel} (make does this), or pass --kernel NAME",
        ) from None
    python = spec.argv[0] if spec.argv else ""
    if spec.language.lower() != "python" or not python:
        raise XrayError(f"Jupyter kernel {kernel!r} runs {spec.language}, not Python",
                        "pass --kernel with a Python kernel of this project's environment")
    probe = subprocess.run([python, "-c", "import xray_utils"], capture_output=True, text=True)
    if probe.returncode != 0:
        raise XrayError(
            f"Jupyter kernel {kernel!r} runs {python}, which cannot import xray_utils",
            f"install the kernel from this project's .venv: .venv/bin/python -m ipykernel install "
            f"--user --name {kernel} (make does this)",
        )


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
    output.parent.mkdir(parents=True, exist_ok=True)
    detail(f"    parameters: {json.dumps(parameters, sort_keys=True, default=str)}")
    writer = _LineWriter(stream)
    t0 = time.perf_counter()
    try:
        papermill.execute_notebook(
            str(notebook), str(output), parameters=parameters, kernel_name=kernel,
            cwd=str(cwd or notebook.parent), progress_bar=False, log_output=False,
            stdout_file=writer, stderr_file=writer, request_save_on_cell_execute=True,
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
