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

from .build import (
    DEFAULT_KERNEL,
    DEMO_SETTINGS,
    ReportResult,
    build_report,
    check_data_and_weights,
    demo,
    list_grid,
    publish_demo,
)
from .grid import (
    DEFAULT_BACKBONES,
    DEFAULT_MODES,
    NOTEBOOK_ANALYSIS,
    NOTEBOOK_DATA,
    NOTEBOOK_FINETUNE,
    NOTEBOOK_FOR_MODE,
    NOTEBOOK_FROZEN,
    RunPlan,
    notebooks_dir,
    plan_grid,
)
from .notebooks import check_kernel, check_parameters, execute_notebook
from .render import browser_command, find_browser, print_pdf, render_html

__all__ = [
    "DEFAULT_BACKBONES", "DEFAULT_KERNEL", "DEFAULT_MODES", "DEMO_SETTINGS", "NOTEBOOK_ANALYSIS", "NOTEBOOK_DATA",
    "NOTEBOOK_FINETUNE", "NOTEBOOK_FOR_MODE", "NOTEBOOK_FROZEN", "ReportResult", "RunPlan", "browser_command",
    "build_report", "check_data_and_weights", "check_kernel", "check_parameters", "demo", "execute_notebook",
    "find_browser", "list_grid", "notebooks_dir", "plan_grid", "print_pdf", "publish_demo", "render_html",
]
