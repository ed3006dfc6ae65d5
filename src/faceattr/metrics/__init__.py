"""Evaluation metrics for attributes, gender and 5-point landmarks (numpy + scikit-learn).

Naming follows scikit-learn: ``*_score``/accuracy-like values are higher-better, ``*_error``
(NME, FR) lower-better. All rates are fractions in [0, 1], never percentages. Labels are 1/0
with NaN for a missing label (skipped, as each function documents); gender 1 = male is the
positive class; landmarks are ``(N, 5, 2)`` ``(x, y)`` pixels in the order left eye, right eye,
nose, left mouth corner, right mouth corner.

- :func:`attribute_metrics`: multi-label metrics of paper 000 (label-wise accuracy,
  support-weighted precision/recall/F1, exact match, Hamming accuracy, per-attribute AUC).
- :func:`binary_metrics`: gender metrics of paper 004 (accuracy, precision, recall, F1, ROC AUC,
  confusion matrix).
- :func:`apply_thresholds`, :func:`tune_labelwise_thresholds`, :func:`fit_instancewise`,
  :func:`instancewise_thresholds`: the global / label-wise / instance-wise thresholds of paper
  000. Tune on validation, report on test.
- :func:`nme_per_image`, :func:`landmark_metrics`, :func:`ced_curve`, :func:`ced_auc`: NME,
  FR@0.1, CED-AUC and the operating curve of paper 004.
"""

from faceattr.metrics.attributes import attribute_metrics
from faceattr.metrics.binary import binary_metrics
from faceattr.metrics.landmarks import (
    FAILURE_THRESHOLD,
    LANDMARK_NAMES,
    NORMALIZATIONS,
    ced_auc,
    ced_curve,
    landmark_metrics,
    nme_per_image,
)
from faceattr.metrics.thresholds import (
    DEFAULT_THRESHOLD,
    InstancewiseModel,
    apply_thresholds,
    fit_instancewise,
    instancewise_thresholds,
    tune_labelwise_thresholds,
)

__all__ = [
    "DEFAULT_THRESHOLD",
    "FAILURE_THRESHOLD",
    "LANDMARK_NAMES",
    "NORMALIZATIONS",
    "InstancewiseModel",
    "apply_thresholds",
    "attribute_metrics",
    "binary_metrics",
    "ced_auc",
    "ced_curve",
    "fit_instancewise",
    "instancewise_thresholds",
    "landmark_metrics",
    "nme_per_image",
    "tune_labelwise_thresholds",
]
