"""Decision thresholds for multi-label scores (paper 000, section 2.1.2).

Three families, after Al-Otaibi, Flach and Kull, "Multi-label classification: a comparative
study on threshold selection methods" (2014), the reference the thesis cites:

- **global**: one fixed value for every label and image, :data:`DEFAULT_THRESHOLD` = 0.5 (what
  the thesis trains and evaluates with);
- **label-wise**: one value per attribute, tuned on a *validation* split with
  :func:`tune_labelwise_thresholds`;
- **instance-wise**: one value per image, from :func:`instancewise_thresholds` (a parameter-free
  rule, or a model fitted on validation by :func:`fit_instancewise`).

Every function here is pure: it sees only the arrays it is given. Tune on the validation rows
and pass the result to :func:`faceattr.metrics.attribute_metrics` for the test rows; nothing in
this package tunes on the split it reports.

The decision rule is everywhere ``label = 1 if score > threshold else 0`` (strictly greater, as
in the thesis: "if the probability ... is bigger"), implemented by :func:`apply_thresholds`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from sklearn.linear_model import Ridge

from faceattr.metrics._validation import as_labels, as_scores

#: The global fixed threshold of paper 000 (and the tie-break target of the tuners).
DEFAULT_THRESHOLD = 0.5
Criterion = Literal["accuracy", "f1", "balanced_accuracy"]
InstanceMethod = Literal["max_fraction", "regression", "cardinality"]


def apply_thresholds(y_score: ArrayLike, thresholds: float | ArrayLike = DEFAULT_THRESHOLD
                     ) -> NDArray[np.uint8]:
    """Turn scores into 1/0 labels: ``1`` where ``y_score > thresholds``.

    Parameters
    ----------
    y_score : array-like of shape (N, A)
        Scores, normally sigmoid probabilities. Must be finite.
    thresholds : float or array-like of shape (A,), (1, A), (N, 1) or (N, A), default=0.5
        A float is a global threshold. Shape ``(A,)`` or ``(1, A)`` is label-wise (one value per
        attribute). Shape ``(N, 1)`` is instance-wise (one value per image) and ``(N, A)`` gives
        every entry its own value. A 1-D array is always read as label-wise; reshape
        instance-wise values to ``(N, 1)``. NaN thresholds are rejected.

    Returns
    -------
    y_pred : ndarray of shape (N, A), dtype uint8
        ``1`` where the score is strictly greater than its threshold, else ``0``.

    Examples
    --------
    >>> apply_thresholds([[0.2, 0.7], [0.5, 0.9]], [0.1, 0.8]).tolist()
    [[1, 0], [1, 1]]
    """
    scores = np.asarray(y_score, dtype=np.float64)
    if scores.ndim != 2:
        raise ValueError(f"y_score must have shape (N, A), got {scores.shape}")
    scores = as_scores(scores, scores.shape)
    return (scores > resolve_thresholds(thresholds, scores.shape)).astype(np.uint8)


def resolve_thresholds(thresholds: float | ArrayLike, shape: tuple[int, ...]) -> np.ndarray:
    """Check ``thresholds`` against scores of ``shape`` (N, A); return a broadcastable array."""
    n, a = shape
    t = np.asarray(thresholds, dtype=np.float64)
    if t.ndim == 1:
        if t.shape[0] != a:
            raise ValueError(f"1-D thresholds are label-wise and need {a} values, got "
                             f"{t.shape[0]}; pass instance-wise thresholds as shape ({n}, 1)")
        t = t[None, :]
    elif t.ndim == 2:
        if t.shape not in {(n, 1), (1, a), (n, a)}:
            raise ValueError(f"thresholds of shape {t.shape} do not fit scores {shape}; "
                             f"expected ({a},), (1, {a}), ({n}, 1) or ({n}, {a})")
    elif t.ndim != 0:
        raise ValueError(f"thresholds must be a float or a 1-D/2-D array, got shape {t.shape}")
    if np.isnan(t).any():
        raise ValueError("thresholds must not be NaN")
    return t


def _best(candidates: np.ndarray, value: np.ndarray) -> float:
    """The candidate with the highest ``value``; ties -> closest to 0.5, then the smaller one."""
    order = np.lexsort((candidates, np.abs(candidates - DEFAULT_THRESHOLD), -value))
    return float(candidates[order[0]])


def _cut_candidates(sorted_unique: np.ndarray) -> np.ndarray:
    """Thresholds producing every distinct split of the sorted scores, plus 0.5.

    ``nextafter(min, -inf)`` (all positive), the midpoints between consecutive distinct scores,
    ``max`` (all negative), and :data:`DEFAULT_THRESHOLD`.
    """
    u = sorted_unique
    mids = (u[:-1] + u[1:]) / 2.0
    return np.concatenate([[np.nextafter(u[0], -np.inf)], mids, [u[-1], DEFAULT_THRESHOLD]])


def _criterion(scores: np.ndarray, labels: np.ndarray, candidates: np.ndarray,
               criterion: str) -> np.ndarray:
    """``criterion`` on one attribute for every candidate threshold, in O((n + c) log n)."""
    order = np.argsort(scores, kind="stable")
    s, y = scores[order], labels[order]
    cum = np.concatenate([[0], np.cumsum(y, dtype=np.int64)])
    n, pos = s.size, int(cum[-1])
    below = np.searchsorted(s, candidates, side="right")  # predicted negative: score <= t
    tp = pos - cum[below]
    tn = below - cum[below]
    if criterion == "accuracy":
        return (tp + tn).astype(np.float64)  # correct count: exact integer comparison
    fp, fn = (n - below) - tp, pos - tp
    if criterion == "f1":
        denom = 2 * tp + fp + fn
        return np.where(denom > 0, 2 * tp / np.maximum(denom, 1), 0.0)
    neg = n - pos
    tpr = tp / pos if pos else np.zeros(len(candidates))
    tnr = tn / neg if neg else np.zeros(len(candidates))
    return (tpr + tnr) / (2.0 if pos and neg else 1.0)


def tune_labelwise_thresholds(y_true: ArrayLike, y_score: ArrayLike, *,
                              criterion: Criterion = "accuracy",
                              grid: ArrayLike | None = None) -> NDArray[np.float64]:
    """Tune one threshold per attribute on a validation split.

    Parameters
    ----------
    y_true : array-like of shape (N, A)
        Validation labels, 1/0; NaN marks a missing label, which is left out of that
        attribute's search.
    y_score : array-like of shape (N, A)
        Validation scores (finite), same model as the split that will be reported.
    criterion : {"accuracy", "f1", "balanced_accuracy"}, default="accuracy"
        What each attribute's threshold maximises on these rows. ``"accuracy"``: the number of
        correct labels (the thesis' label-wise accuracy). ``"f1"``: F1 of the positive class,
        0.0 when it has no true and no predicted positives. ``"balanced_accuracy"``: the mean of
        the true-positive and true-negative rates (the one present rate if a class is absent).
    grid : array-like of shape (C,), default=None
        Candidate thresholds. ``None`` searches every distinct split of the sorted scores: the
        midpoints between consecutive distinct scores, one value just below the lowest score
        (all positive), the highest score (all negative), and 0.5. That set reaches every value
        the criterion can take, so the result is never worse than 0.5 on these rows.
        A custom grid is searched as given (add 0.5 to keep that guarantee).

    Returns
    -------
    thresholds : ndarray of shape (A,)
        Label-wise thresholds for :func:`apply_thresholds` / ``attribute_metrics``.

    See Also
    --------
    apply_thresholds, instancewise_thresholds

    Notes
    -----
    Ties are broken deterministically: among the candidates with the best criterion value the
    one closest to 0.5 wins, then the smaller one. So an attribute keeps 0.5 unless moving
    strictly improves the criterion, and a moved threshold lies mid-gap between two validation
    scores rather than on one. An attribute with no observed label keeps 0.5.

    The function sees only the rows it is given. Call it on the validation split and report
    the test split with the result; tuning on the reported split makes the numbers optimistic.

    Examples
    --------
    >>> y = [[0], [0], [1], [1]]
    >>> s = [[0.1], [0.6], [0.7], [0.9]]
    >>> tune_labelwise_thresholds(y, s).round(4).tolist()  # midway between 0.6 and 0.7
    [0.65]
    """
    truth = as_labels(y_true, ndim=2)
    scores = as_scores(y_score, truth.shape)
    if criterion not in ("accuracy", "f1", "balanced_accuracy"):
        raise ValueError(f"unknown criterion {criterion!r}")
    fixed = None
    if grid is not None:
        fixed = np.unique(np.asarray(grid, dtype=np.float64).ravel())
        if fixed.size == 0 or not np.isfinite(fixed).all():
            raise ValueError("grid must be a non-empty array of finite thresholds")
    out = np.full(truth.shape[1], DEFAULT_THRESHOLD)
    for j in range(truth.shape[1]):
        seen = ~np.isnan(truth[:, j])
        if not seen.any():
            continue
        s, y = scores[seen, j], truth[seen, j].astype(np.int64)
        candidates = _cut_candidates(np.unique(s)) if fixed is None else fixed
        out[j] = _best(candidates, _criterion(s, y, candidates, criterion))
    return out


@dataclass(frozen=True, eq=False)
class InstancewiseModel:
    """A linear instance-wise thresholding model fitted by :func:`fit_instancewise`.

    Attributes
    ----------
    method : {"regression", "cardinality"}
        What the linear map of the score vector predicts: the image's threshold, or its number
        of positive labels.
    coef : ndarray of shape (A,)
        Weights on the image's A scores.
    intercept : float
        Bias term.
    """

    method: str
    coef: NDArray[np.float64]
    intercept: float

    def predict(self, y_score: ArrayLike) -> NDArray[np.float64]:
        """The raw linear output ``y_score @ coef + intercept``, shape (N,)."""
        scores = np.asarray(y_score, dtype=np.float64)
        if scores.ndim != 2 or scores.shape[1] != self.coef.shape[0]:
            raise ValueError(f"y_score must have shape (N, {self.coef.shape[0]}), "
                             f"got {scores.shape}")
        return as_scores(scores, scores.shape) @ self.coef + self.intercept

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (for ``config.json``)."""
        return {"method": self.method, "coef": self.coef.tolist(), "intercept": self.intercept}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> InstancewiseModel:
        """Inverse of :meth:`to_dict`."""
        if data["method"] not in ("regression", "cardinality"):
            raise ValueError(f"unknown instance-wise method {data['method']!r}")
        return cls(str(data["method"]), np.asarray(data["coef"], dtype=np.float64),
                   float(data["intercept"]))


def _row_targets(truth: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """Per image, the cut with the fewest label errors (ties: nearest 0.5, then lower).

    Candidates are the image's own cuts (below its minimum, the midpoints, its maximum), not
    0.5 itself, so every target lies mid-gap and moves with the image's scores.
    """
    s = np.sort(scores, axis=1)
    cand = np.concatenate([np.nextafter(s[:, :1], -np.inf), (s[:, :-1] + s[:, 1:]) / 2.0,
                           s[:, -1:]], axis=1)
    pred = scores[:, None, :] > cand[:, :, None]  # (n, a + 1, a)
    seen = ~np.isnan(truth)[:, None, :]
    errors = ((pred != (truth[:, None, :] == 1)) & seen).sum(axis=2)
    # lexicographic (errors, |t - 0.5|, t): scale-free ranks keep it exact
    key = np.lexsort((cand, np.abs(cand - DEFAULT_THRESHOLD), errors), axis=1)[:, 0]
    return cand[np.arange(len(cand)), key]


def fit_instancewise(y_true: ArrayLike, y_score: ArrayLike, *,
                     method: Literal["regression", "cardinality"] = "regression",
                     alpha: float = 1.0) -> InstancewiseModel:
    """Fit an instance-wise threshold model on a validation split.

    Parameters
    ----------
    y_true : array-like of shape (N, A)
        Validation labels, 1/0, NaN = missing.
    y_score : array-like of shape (N, A)
        Validation scores of the model being thresholded.
    method : {"regression", "cardinality"}, default="regression"
        ``"regression"``: the threshold-prediction scheme of Elisseeff and Weston (NIPS 2001),
        also used by BP-MLL (Zhang and Zhou, 2006). Each validation image gets as target the
        threshold that minimises its number of wrong labels (missing labels do not count). The
        candidates are the midpoints between the image's sorted scores plus one value below its
        lowest and its highest score; ties go to the one nearest 0.5, then the lower. A ridge
        regression then maps the image's score vector to that target. ``"cardinality"``: a
        rank cut (RCut) with a per-image k. A ridge regression predicts the number of positive
        labels from the score vector; only images with no missing label are used, since their
        count is known.
    alpha : float, default=1.0
        Ridge penalty (``sklearn.linear_model.Ridge``).

    Returns
    -------
    model : InstancewiseModel
        Pass it to :func:`instancewise_thresholds` for the split to report.

    Examples
    --------
    >>> y = [[1, 0, 0], [1, 1, 0], [1, 1, 1], [0, 0, 0]]
    >>> s = [[0.9, 0.3, 0.1], [0.8, 0.6, 0.2], [0.9, 0.7, 0.6], [0.2, 0.1, 0.1]]
    >>> model = fit_instancewise(y, s, method="cardinality", alpha=1e-6)
    >>> instancewise_thresholds(s, model=model).ravel().round(2).tolist()
    [0.6, 0.4, 0.6, 0.2]
    """
    truth = as_labels(y_true, ndim=2)
    scores = as_scores(y_score, truth.shape)
    if method not in ("regression", "cardinality"):
        raise ValueError(f"unknown method {method!r}; expected 'regression' or 'cardinality'")
    seen = ~np.isnan(truth)
    keep = seen.any(axis=1) if method == "regression" else seen.all(axis=1)
    if not keep.any():
        raise ValueError("no usable validation image (missing labels everywhere)")
    if method == "regression":
        target = _row_targets(truth[keep], scores[keep])
    else:
        target = truth[keep].sum(axis=1)
    ridge = Ridge(alpha=alpha).fit(scores[keep], target)
    return InstancewiseModel(method, np.asarray(ridge.coef_, dtype=np.float64).ravel(),
                             float(np.asarray(ridge.intercept_).ravel()[0]))


def instancewise_thresholds(y_score: ArrayLike, *, method: InstanceMethod | None = None,
                            fraction: float = 0.5,
                            model: InstancewiseModel | None = None) -> NDArray[np.float64]:
    """One threshold per image.

    Parameters
    ----------
    y_score : array-like of shape (N, A)
        Scores of the images to threshold.
    method : {"max_fraction", "regression", "cardinality"}, default=None
        ``"max_fraction"`` needs no fitting: ``t_i = fraction * max_j y_score[i, j]``, so the
        image's top label is always kept (when its score is positive) and a label must score at
        least that fraction of the top one. ``"regression"`` and ``"cardinality"`` need a
        ``model`` of that method from :func:`fit_instancewise`. ``"regression"`` uses
        ``t_i = model.predict(y_score)[i]``. ``"cardinality"`` rounds the predicted count to
        ``k_i`` in ``[0, A]`` and places ``t_i`` midway between the image's k-th and (k+1)-th
        largest scores, which gives top-k labels. With tied scores at the cut, fewer than k
        labels come out. ``None`` means ``model.method``, or ``"max_fraction"`` without a model.
    fraction : float, default=0.5
        For ``"max_fraction"``: the fraction of the top score, in (0, 1].
    model : InstancewiseModel, default=None
        Fitted on a validation split; required by ``"regression"`` and ``"cardinality"``.

    Returns
    -------
    thresholds : ndarray of shape (N, 1)
        Instance-wise thresholds for :func:`apply_thresholds` / ``attribute_metrics``.

    Examples
    --------
    >>> instancewise_thresholds([[0.8, 0.5, 0.3], [0.4, 0.1, 0.2]]).ravel().tolist()
    [0.4, 0.2]
    """
    scores = np.asarray(y_score, dtype=np.float64)
    if scores.ndim != 2:
        raise ValueError(f"y_score must have shape (N, A), got {scores.shape}")
    scores = as_scores(scores, scores.shape)
    method = method or (model.method if model is not None else "max_fraction")
    if method == "max_fraction":
        if not 0.0 < fraction <= 1.0:
            raise ValueError(f"fraction must be in (0, 1], got {fraction}")
        return fraction * scores.max(axis=1, keepdims=True)
    if method not in ("regression", "cardinality"):
        raise ValueError(f"unknown method {method!r}")
    if model is None or model.method != method:
        raise ValueError(f"method {method!r} needs model=fit_instancewise(..., method={method!r})"
                         " fitted on a validation split")
    raw = model.predict(scores)
    if method == "regression":
        return raw[:, None]
    a = scores.shape[1]
    k = np.clip(np.rint(raw), 0, a).astype(np.int64)
    desc = np.concatenate([np.full((len(k), 1), np.inf), -np.sort(-scores, axis=1),
                           np.full((len(k), 1), -np.inf)], axis=1)
    upper, lower = desc[np.arange(len(k)), k], desc[np.arange(len(k)), k + 1]
    t = np.where(np.isinf(upper), lower, np.where(np.isinf(lower), np.nextafter(upper, -np.inf),
                                                  (upper + lower) / 2.0))
    return t[:, None]
