"""The layout docs/architecture.md promises a new maintainer: rooms with one job each, imports one way."""

import ast
import json
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "xray_utils"
NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
LIMITS = {"module": 600, "class": 200, "function": 100}  # lines; over them a piece usually holds two jobs


def sources():
    return sorted(PACKAGE.rglob("*.py"))


def module_imports(path: Path) -> set[str]:
    """Names of xray_utils modules imported at module level (not inside functions, not TYPE_CHECKING)."""
    names = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.ImportFrom) and node.level > 0:
            names.add(node.module or "")
            names.update(a.name for a in node.names if node.module is None)
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("xray_utils"):
            names.add(node.module.split(".", 1)[-1])
    return names


@pytest.mark.parametrize("path", sources(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_module_class_or_function_is_over_its_size_limit(path):
    text = path.read_text(encoding="utf-8")
    too_long = [f"module: {len(text.splitlines())} lines"] if len(text.splitlines()) > LIMITS["module"] else []
    for node in ast.walk(ast.parse(text)):
        kind = "class" if isinstance(node, ast.ClassDef) else \
            "function" if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) else None
        if kind and node.end_lineno - node.lineno + 1 > LIMITS[kind]:
            too_long.append(f"{kind} {node.name}: {node.end_lineno - node.lineno + 1} lines")
    assert not too_long, f"{path.name}: {too_long} (limits {LIMITS})"


def test_nothing_in_the_package_imports_the_cli():
    importers = [str(p.relative_to(PACKAGE)) for p in sources() if p.name != "cli.py"
                 and any(name == "cli" or name.endswith(".cli") for name in module_imports(p))]
    assert importers == []


def test_the_layers_below_the_pipeline_never_import_it():
    below = [p for p in sources() if "pipeline" not in p.parts and p.name != "cli.py"]
    importers = [str(p.relative_to(PACKAGE)) for p in below
                 if any(name.split(".")[0] == "pipeline" for name in module_imports(p))]
    assert importers == []


@pytest.mark.parametrize("name", sorted(p.name for p in NOTEBOOKS.glob("*.ipynb")))
def test_notebooks_call_the_package_not_the_papermill_pipeline(name):
    cells = json.loads((NOTEBOOKS / name).read_text(encoding="utf-8"))["cells"]
    code = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    assert "pipeline" not in code, f"{name} imports the papermill/nbconvert pipeline"
