"""The training layer: one run from a RunConfig to a complete run directory.

``fit`` (train.py) is the entry point; beside it, each in its own module: the stage that trains (stage.py),
checkpoints (checkpoint.py), frozen-mode features (features.py), seeded loaders (loaders.py), DDP
(distributed.py), seeding and device (environment.py) and the evaluation of the selected model
(evaluation.py, also `xray evaluate`).
"""

from .evaluation import evaluate_saved, summary_table
from .train import fit

__all__ = ["evaluate_saved", "fit", "summary_table"]
