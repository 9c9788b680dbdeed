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


def module_name(path: Path) -> str:
    """xray_utils/report/core.py -> "xray_utils.report.core"; a package's __init__.py is the package."""
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sources()}


def _module_of(name: str) -> str | None:
    """The package module a dotted name lives in: xray_utils.training.fit -> xray_utils.training."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def every_import(path: Path) -> set[str]:
    """The xray_utils modules ``path`` imports anywhere: module level, inside functions, under TYPE_CHECKING.

    Relative imports are resolved. ``from pkg import name`` counts as an import of ``pkg.name`` when that is
    a module, else of ``pkg`` itself (its ``__init__``, which re-exports the name from the module it imports).
    A package ``__init__`` that names one of its submodules in a string (a lazy re-export through
    ``importlib``, PEP 562) counts as importing it.
    """
    me = module_name(path)
    package = me if path.name == "__init__.py" else me.rpartition(".")[0]
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if path.name == "__init__.py" and isinstance(node, ast.Constant) and f"{me}.{node.value}" in MODULES:
            names.add(f"{me}.{node.value}")
        elif isinstance(node, ast.Import):
            names.update(a.name for a in node.names if a.name.split(".")[0] == "xray_utils")
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                up = package.split(".")[:len(package.split(".")) - (node.level - 1)]
                base = ".".join(up + ([node.module] if node.module else []))
            elif (node.module or "").split(".")[0] == "xray_utils":
                base = node.module
            else:
                continue
            names.update(f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names)
    return {m for m in map(_module_of, names) if m and m != me}


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan): each is an import cycle."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while not component or component[-1] != v:
                component.append(stack.pop())
            if len(component) > 1:
                cycles.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return cycles


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


def test_the_cycle_finder_finds_cycles_and_only_cycles():
    graph = {"xray_utils.a": {"xray_utils.b"}, "xray_utils.b": {"xray_utils.a"}, "xray_utils.c": set()}
    assert import_cycles(graph) == [["xray_utils.a", "xray_utils.b"]]
    assert import_cycles({"x": {"y"}, "y": set()}) == []
    assert import_cycles({"x": {"y"}, "y": {"z"}, "z": {"x"}, "w": {"x"}}) == [["x", "y", "z"]]


def test_every_import_is_counted_function_level_type_checking_and_package_reexports():
    graph = {name: every_import(path) for name, path in MODULES.items()}
    assert "xray_utils.config" in graph["xray_utils.settings"]
    assert "xray_utils.training" in graph["xray_utils.cli"]  # in a function: from . import training
    assert graph["xray_utils.training"] >= {"xray_utils.training.train", "xray_utils.training.evaluation"}
    assert "xray_utils.runs" in graph["xray_utils.training.checkpoint"]  # from ..runs import RunDir
    assert "xray_utils.pipeline.build" in graph["xray_utils.pipeline"]  # a lazy re-export (PEP 562)


def test_no_import_cycles_anywhere_in_the_package():
    """Counting every import: at module level, in functions and under TYPE_CHECKING (a cycle there is still
    two modules that each need the other to be understood)."""
    graph = {name: every_import(path) for name, path in MODULES.items()}
    assert import_cycles(graph) == []


def test_the_report_model_imports_no_section():
    model = every_import(MODULES["xray_utils.report.core"])
    sections = ("_view", "sections", "task_a", "task_e", "explore")
    views = {m for m in MODULES if m.startswith("xray_utils.report.") and m.endswith(sections)}
    assert not model & views, f"report/core.py imports {sorted(model & views)}"


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


def _parameters_cell(name: str) -> set[str]:
    cells = json.loads((NOTEBOOKS / name).read_text(encoding="utf-8"))["cells"]
    source = next("".join(c["source"]) for c in cells if "parameters" in c.get("metadata", {}).get("tags", []))
    return {t.id for node in ast.parse(source).body if isinstance(node, ast.Assign) for t in node.targets}


@pytest.mark.parametrize("name", ["01_task_b_finetune.ipynb", "02_task_c_feature_extractor.ipynb"])
def test_the_one_list_of_the_training_notebooks_parameters_is_their_parameters_cell(name):
    """errors.NOTEBOOK_PARAMETERS (how a fix is phrased in a notebook; the grid's parameters derive from it)."""
    from xray_utils.errors import NOTEBOOK_PARAMETERS
    from xray_utils.pipeline.grid import RUN_PARAMETERS

    assert NOTEBOOK_PARAMETERS | {"extra_config"} == _parameters_cell(name)
    assert set(RUN_PARAMETERS) == NOTEBOOK_PARAMETERS - {"preset", "run_dir", "force", "lang"}


def test_the_cli_flags_defaults_are_runconfigs():
    """A flag's help quotes RunConfig's default, never a copy that could drift (``--dataset``: the CLI's own
    "auto" layer, settings.resolve_dataset, sits above RunConfig's)."""
    import re

    from xray_utils import cli
    from xray_utils.config import RunConfig

    quoted = {field: re.search(r"default ([^);,]+)", kw.get("help", ""))
              for _, field, kw in cli.RUN_FLAGS + cli.CELL_FLAGS if field != "dataset"}
    defaults = {f.name: f.default for f in RunConfig.__dataclass_fields__.values()}
    checked = 0
    for field, m in quoted.items():
        if m and defaults[field] is not None:
            value = defaults[field]
            assert m.group(1) == (f"{value:g}" if isinstance(value, float) else str(value)), field
            checked += 1
    assert checked >= 15
