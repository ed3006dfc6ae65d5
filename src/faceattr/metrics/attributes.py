"""Multi-label attribute metrics (paper 000, section 4.2), computed with scikit-learn.

Names follow scikit-learn: every value returned here is a ``*_score``-style quantity, higher
is better, in [0, 1] (fractions, not percentages).

Which "accuracy" the thesis reports
-----------------------------------
Section 4.2 of the thesis calls its accuracy "subset accuracy" and defines it as "the ratio of
the correctly predicted labels to all of the labels". The two readings differ:

- scikit-learn's *subset accuracy* (``accuracy_score`` on a multi-label matrix) is exact match:
  an image counts only if all 40 labels are right. That is ``exact_match`` here.
- The definition's wording is label-level accuracy: correct labels / all labels, i.e.
  ``1 - hamming_loss``, which is ``hamming_accuracy`` here. With no missing label it equals the
  mean of the label-wise accuracies, ``mean_accuracy``.

The thesis' numbers must be the label-level reading. EfficientNet-B0 scores 88.63%, and
predicting each attribute's majority class already gives about 80% label-level accuracy on
CelebA (0.8045 on the 2,265 official-test images of the local partial download). Getting all
40 labels right at once is rare, so exact match sits far below 88% for such models. For
example, per-attribute logistic regressions on the other 39 true labels reach 0.875
label-level accuracy but 0.005 exact match on those images. Compare the thesis' "Accuracy"
with ``mean_accuracy``.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    precision_recall_fscore_support,
    roc_auc_score,
)

from faceattr.metrics._validation import as_labels, as_names, as_scores
from faceattr.metrics.thresholds import DEFAULT_THRESHOLD, apply_thresholds, resolve_thresholds

#: Value of precision, recall and F1 when their denominator is zero (as sklearn's argument).
ZERO_DIVISION = 0.0


def _label_report(truth: np.ndarray, pred: np.ndarray, score: np.ndarray) -> dict[str, Any]:
    """Metrics of one attribute on its observed rows (1-D int arrays, same length)."""
    if truth.size == 0:
        nan = float("nan")
        return {"accuracy": nan, "precision": nan, "recall": nan, "f1": nan, "roc_auc": nan,
                "balanced_accuracy": nan, "support": 0}
    precision, recall, f1, _ = precision_recall_fscore_support(
        truth, pred, average="binary", pos_label=1, zero_division=ZERO_DIVISION)
    both = 0 < truth.sum() < truth.size
    with warnings.catch_warnings():
        # one class only: sklearn warns and returns the recall of the present class
        warnings.simplefilter("ignore", UserWarning)
        balanced = balanced_accuracy_score(truth, pred)
    return {
        "accuracy": float(accuracy_score(truth, pred)),
        "precision": float(precision),
        "recall": float(recall),
        "f1": float(f1),
        "roc_auc": float(roc_auc_score(truth, score)) if both else float("nan"),
        "balanced_accuracy": float(balanced),
        "support": int(truth.sum()),
    }


def _weighted(values: list[float], weights: list[int]) -> float:
    """Support-weighted mean; 0.0 when no attribute has a positive (sklearn's behaviour)."""
    v, w = np.asarray(values, dtype=np.float64), np.asarray(weights, dtype=np.float64)
    keep = ~np.isnan(v)  # an attribute with no observed label (support 0 anyway)
    if w[keep].sum() == 0:
        return ZERO_DIVISION
    return float(np.average(v[keep], weights=w[keep]))


def _mean(values: list[float]) -> float:
    """Mean over the attributes that have observed labels (NaN entries skipped)."""
    v = np.asarray(values, dtype=np.float64)
    v = v[~np.isnan(v)]
    return float(v.mean()) if v.size else float("nan")


def attribute_metrics(y_true: ArrayLike, y_score: ArrayLike, *,
                      thresholds: float | ArrayLike = DEFAULT_THRESHOLD,
                      names: list[str] | tuple[str, ...] | None = None) -> dict[str, Any]:
    """Multi-label metrics of attribute probabilities, per attribute and averaged.

    Parameters
    ----------
    y_true : array-like of shape (N, A)
        True labels, 1 (present) / 0 (absent). NaN marks a missing label. A missing entry is
        skipped by every metric: per attribute only its observed rows count, and the pooled
        metrics pool observed entries (``exact_match`` uses only fully labelled images).
    y_score : array-like of shape (N, A)
        Predicted probabilities (sigmoid outputs). Must be finite.
    thresholds : float or array-like of shape (A,), (N, 1) or (N, A), default=0.5
        Decision rule ``label = score > threshold`` (see :func:`apply_thresholds`). A float is
        global (the thesis uses 0.5). ``(A,)`` is label-wise, e.g. from
        :func:`tune_labelwise_thresholds` on the *validation* split. ``(N, 1)`` is
        instance-wise, e.g. from :func:`instancewise_thresholds`, and ``(N, A)`` is per entry.
        Thresholds are never tuned here, so the rows passed in are only evaluated.
    names : sequence of str of length A, default=None
        Attribute names for ``per_attribute``; ``None`` gives ``attr_0``, ``attr_1``, ...

    Returns
    -------
    metrics : dict
        Keys, in this order:

        - ``mean_accuracy``: mean over attributes of the label-wise accuracy (each on its
          observed rows). This is the thesis' "Accuracy".
        - ``exact_match``: fraction of images with every label right (scikit-learn's subset
          accuracy), over the images with no missing label; NaN if there are none.
        - ``hamming_accuracy``: correct entries / observed entries, ``1 - hamming_loss``. It
          equals ``mean_accuracy`` when no label is missing.
        - ``precision_weighted``, ``recall_weighted``, ``f1_weighted``: per-attribute scores of
          the positive class averaged with weights = support (each attribute's number of
          observed positives), as ``average="weighted"`` in scikit-learn and the thesis' precision,
          recall and F1. 0.0 if no attribute has a positive.
        - ``f1_macro``: unweighted mean of the per-attribute F1 (``average="macro"``).
        - ``mean_balanced_accuracy``: mean of the per-attribute balanced accuracy,
          ``(TPR + TNR) / 2`` (``balanced_accuracy_score``), insensitive to label imbalance.
        - ``per_attribute``: ``{name: {"accuracy", "precision", "recall", "f1", "roc_auc",
          "support", "threshold"}}``. ``support`` is the number of observed positives.
          ``roc_auc`` uses the raw scores and is NaN when the observed rows hold only one
          class. ``threshold`` is the attribute's threshold as a float, or ``None`` for
          instance-wise/per-entry thresholds.

        Averages over attributes skip an attribute with no observed label.

    See Also
    --------
    sklearn.metrics.precision_recall_fscore_support, sklearn.metrics.hamming_loss,
    tune_labelwise_thresholds, instancewise_thresholds

    Notes
    -----
    ``zero_division`` is 0.0 throughout: precision is 0.0 for an attribute that is never
    predicted positive, recall is 0.0 for one with no positives, and F1 is 0.0 when both
    precision and recall are 0.0. Such attributes still count in ``f1_macro`` (with 0.0).
    They do not move the weighted averages when their support is 0.

    Examples
    --------
    >>> y = [[1, 0], [0, 0], [1, 1], [0, 1]]
    >>> p = [[0.9, 0.2], [0.6, 0.1], [0.8, 0.4], [0.3, 0.7]]
    >>> m = attribute_metrics(y, p, names=["Smiling", "Male"])
    >>> m["mean_accuracy"], m["exact_match"], m["per_attribute"]["Male"]["recall"]
    (0.75, 0.5, 0.5)
    """
    truth = as_labels(y_true, ndim=2)
    scores = as_scores(y_score, truth.shape)
    pred = apply_thresholds(scores, thresholds)
    label_names = as_names(names, truth.shape[1])
    resolved = resolve_thresholds(thresholds, truth.shape)
    if resolved.ndim == 2 and resolved.shape[0] != 1:
        per_label: list[float | None] = [None] * truth.shape[1]
    else:
        per_label = [float(v) for v in np.broadcast_to(resolved, (1, truth.shape[1]))[0]]

    observed = ~np.isnan(truth)
    reports = []
    for j in range(truth.shape[1]):
        rows = observed[:, j]
        reports.append(_label_report(truth[rows, j].astype(np.int64), pred[rows, j].astype(
            np.int64), scores[rows, j]))
    support = [r["support"] for r in reports]
    complete = observed.all(axis=1)
    exact = (float(accuracy_score(truth[complete].astype(np.int64), pred[complete]))
             if complete.any() else float("nan"))
    hamming = (float((pred[observed] == truth[observed]).mean())
               if observed.any() else float("nan"))

    def col(key: str) -> list[float]:
        return [r[key] for r in reports]

    return {
        "mean_accuracy": _mean(col("accuracy")),
        "exact_match": exact,
        "hamming_accuracy": hamming,
        "precision_weighted": _weighted(col("precision"), support),
        "recall_weighted": _weighted(col("recall"), support),
        "f1_weighted": _weighted(col("f1"), support),
        "f1_macro": _mean(col("f1")),
        "mean_balanced_accuracy": _mean(col("balanced_accuracy")),
        "per_attribute": {
            name: {"accuracy": r["accuracy"], "precision": r["precision"],
                   "recall": r["recall"], "f1": r["f1"], "roc_auc": r["roc_auc"],
                   "support": r["support"], "threshold": per_label[j]}
            for j, (name, r) in enumerate(zip(label_names, reports, strict=True))
        },
    }
