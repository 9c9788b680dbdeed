"""cxr-transfer: transfer learning on pediatric chest X-rays (NORMAL vs PNEUMONIA).

The numbered notebooks in ``notebooks/`` are thin; everything they do lives here:
errors, atomic, config, precision -> settings, data, models, evaluate, runs -> checkpoint -> train -> explain,
predict, plots -> report -> pipeline -> cli (docs/architecture.md draws the layers).
"""

__version__ = "0.1.0"
