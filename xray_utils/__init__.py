"""cxr-transfer: transfer learning on pediatric chest X-rays (NORMAL vs PNEUMONIA).

The numbered notebooks in ``notebooks/`` are thin; everything they do lives here:
errors, atomic, config, compute -> settings, data, models, metrics, evaluate, runs -> training/ -> explain,
predict, plots -> report -> pipeline -> cli (docs/architecture.md draws the layers).
"""

# config tells errors RunConfig's setting names (errors.register_settings: errors, below it, never imports it),
# so that any error's hint, wherever it is raised, names a setting as a notebook's parameter.
from . import config as _config  # noqa: F401

__version__ = "0.1.0"
