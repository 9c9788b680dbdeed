"""The report pipeline: run the numbered notebooks headless, then render reports/report.html and .pdf.

    grid.py       the grid of runs (backbone x mode x seed x training fraction) and each run's parameters
    notebooks.py  executing one notebook with papermill; checks of the kernel and the parameters
    jobs.py       the grid's runs one after another, or N at a time on their own GPUs or CPU cores
    worker.py     one notebook in a worker process (for jobs.py)
    render.py     nbconvert (report.html) and headless Chromium (report.pdf)
    build.py      `xray report`, `xray render` and `xray demo` put together from the above

Each notebook is executed by papermill with injected parameters, so what the report shows is what a
person gets by opening the notebook in JupyterLab and running it. The run settings come from
``xray_utils.settings``, as in the notebooks, so both build the very same RunConfig.
"""

import importlib

# Lazy (PEP 562): `xray --help` and a usage error need only grid.py's names, not pandas and papermill, so the
# package imports a submodule when one of its names is first used.
_EXPORTS = {
    "build": ("DEFAULT_KERNEL", "DEMO_SETTINGS", "ReportResult", "build_report", "check_data_and_weights", "demo",
              "list_grid", "publish_demo"),
    "grid": ("DEFAULT_BACKBONES", "DEFAULT_MODES", "NOTEBOOK_ANALYSIS", "NOTEBOOK_DATA", "NOTEBOOK_FINETUNE",
             "NOTEBOOK_FOR_MODE", "NOTEBOOK_FROZEN", "RunPlan", "notebooks_dir", "plan_grid"),
    "notebooks": ("check_kernel", "check_parameters", "execute_notebook"),
    "render": ("browser_command", "find_browser", "print_pdf", "render_html"),
}
_WHERE = {name: module for module, names in _EXPORTS.items() for name in names}
__all__ = sorted(_WHERE)


def __getattr__(name: str):
    if name in _WHERE:
        value = getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
        globals()[name] = value
        return value
    if name in _EXPORTS:  # a submodule: pipeline.notebooks without importing it first
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
