"""One notebook in a worker process: ``python -m xray_utils.pipeline.worker SPEC_JSON`` (xray report --jobs N).

Prints the notebook's output line by line; a failure ends with one line ``ERROR_MARK {json}`` that the grid
turns back into the error (see notebooks.parse_error). Not imported by the package, so ``-m`` runs it cleanly.
"""

from __future__ import annotations

import json
import signal
import sys
from pathlib import Path

from ..errors import ConfigError, XrayError
from .notebooks import ERROR_MARK, execute_notebook


def main(spec_json: str) -> int:
    # SIGTERM (the grid stopping after another run failed) unwinds papermill, which shuts its kernel down
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    spec = json.loads(spec_json)

    def say(line: str) -> None:
        print(line, flush=True)

    try:
        execute_notebook(Path(spec["notebook"]), Path(spec["output"]), spec["parameters"], spec["kernel"], say)
    except XrayError as e:
        kind = "ConfigError" if isinstance(e, ConfigError) else "XrayError"
        print(ERROR_MARK + " " + json.dumps({"kind": kind, "message": e.message, "hint": e.hint}), flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
