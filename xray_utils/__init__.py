"""cxr-transfer: transfer learning on pediatric chest X-rays (NORMAL vs PNEUMONIA).

The numbered notebooks in ``notebooks/`` are thin; everything they do lives here:
config -> data, weights -> models -> evaluate -> runs -> train -> explain, plots -> report, pipeline -> cli.
"""

__version__ = "0.1.0"
