"""Evaluation of a trained model: every metric of both papers, plots and a report.

``evaluate(run_dir_or_checkpoint, data_root=..., out_dir=...)`` predicts one dataset split,
computes the attribute, gender and landmark metrics of :mod:`faceattr.metrics` for the heads
the model has, and writes ``metrics.json``, ``predictions.npz``, PNG figures and
``report.md``/``report.html``. Published numbers live in :mod:`faceattr.evaluation.published`.
"""

from faceattr.evaluation.predict import EvaluationError, Predictions, dataset_spec, predict
from faceattr.evaluation.run import evaluate

__all__ = ["EvaluationError", "Predictions", "dataset_spec", "evaluate", "predict"]
