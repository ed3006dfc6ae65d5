"""Binary (gender) classification metrics (paper 004, equations 3-8), via scikit-learn.

Convention: label 1 = male = the positive class, 0 = female (CelebA's ``Male`` attribute).
Precision, recall and F1 are those of the male class, as in paper 004's equations 4-6.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    precision_recall_fscore_support,
    roc_auc_score,
)

from faceattr.metrics._validation import as_labels, as_scores
from faceattr.metrics.attributes import ZERO_DIVISION
from faceattr.metrics.thresholds import DEFAULT_THRESHOLD


def binary_metrics(y_true: ArrayLike, y_score: ArrayLike, *,
                   threshold: float = DEFAULT_THRESHOLD) -> dict[str, Any]:
    """Accuracy, precision, recall, F1, ROC AUC and confusion matrix of one binary task.

    Parameters
    ----------
    y_true : array-like of shape (N,)
        True labels, 1 = male (positive), 0 = female. NaN marks a missing label; those rows
        are skipped by every metric.
    y_score : array-like of shape (N,)
        Predicted probability of the positive class (male). Must be finite.
    threshold : float, default=0.5
        Predicted male when ``y_score > threshold`` (strictly). For a two-way softmax this is
        the arg-max rule: a 0.5/0.5 tie goes to class 0, as ``torch.argmax`` picks the first
        maximum.

    Returns
    -------
    metrics : dict
        - ``accuracy``: ``(TP + TN) / N`` (equation 3).
        - ``precision``: ``TP / (TP + FP)`` (equation 4); 0.0 when nothing is predicted male.
        - ``recall``: ``TP / (TP + FN)`` (equations 5 and 7, the TPR); 0.0 with no male image.
        - ``f1``: ``2 TP / (2 TP + FP + FN)`` (equation 6); 0.0 when that denominator is 0.
        - ``roc_auc``: area under the ROC curve of the raw scores (threshold-free); NaN when
          only one class is present.
        - ``confusion_matrix``: ``[[TN, FP], [FN, TP]]`` as nested lists of int (rows = true
          class 0, 1; columns = predicted class 0, 1, scikit-learn's layout).
        - ``support``: number of positive (male) images among the observed rows.

    See Also
    --------
    sklearn.metrics.precision_recall_fscore_support, sklearn.metrics.roc_auc_score,
    sklearn.metrics.confusion_matrix, attribute_metrics

    Notes
    -----
    ``zero_division`` is 0.0, as in :func:`attribute_metrics`. The counts in
    ``confusion_matrix`` add up to the number of observed rows.

    Examples
    --------
    >>> m = binary_metrics([1, 0, 1, 0], [0.9, 0.4, 0.3, 0.2])
    >>> m["accuracy"], m["precision"], m["recall"], m["confusion_matrix"]
    (0.75, 1.0, 0.5, [[2, 0], [1, 1]])
    """
    truth = as_labels(y_true, ndim=1)
    scores = as_scores(y_score, truth.shape)
    if np.isnan(float(threshold)):
        raise ValueError("threshold must not be NaN")
    seen = ~np.isnan(truth)
    truth_i, scores = truth[seen].astype(np.int64), scores[seen]
    if truth_i.size == 0:
        raise ValueError("y_true has no observed label")
    pred = (scores > threshold).astype(np.int64)
    precision, recall, f1, _ = precision_recall_fscore_support(
        truth_i, pred, average="binary", pos_label=1, zero_division=ZERO_DIVISION)
    both = 0 < truth_i.sum() < truth_i.size
    return {
        "accuracy": float(accuracy_score(truth_i, pred)),
        "precision": float(precision),
        "recall": float(recall),
        "f1": float(f1),
        "roc_auc": float(roc_auc_score(truth_i, scores)) if both else float("nan"),
        "confusion_matrix": confusion_matrix(truth_i, pred, labels=[0, 1]).tolist(),
        "support": int(truth_i.sum()),
    }
