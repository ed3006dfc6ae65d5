"""Five-point landmark metrics: NME, FR@0.1, CED-AUC and the operating curve (paper 004).

Landmarks are ``(N, 5, 2)`` arrays of ``(x, y)`` pixel coordinates in the order left eye, right
eye, nose, left mouth corner, right mouth corner (:data:`LANDMARK_NAMES`). Prediction and ground
truth must be in the same pixel frame. All errors are fractions of the normaliser, not
percentages: paper 004 multiplies by 100, so its "NME 6.26 %" is 0.0626 here. Every value
returned is a ``*_error`` (lower is better) except ``ced_auc`` and ``operating_curve_auc``
(higher is better).

Equations of paper 004, with K images, N_L = 5 points and d_k the normaliser of image k:

- (15) ``NME_k = 1/N_L * sum_i ||Y_i - Y^_i||_2 / d_k``, the Euclidean error of each point;
- (14) ``NME = 1/K * sum_k NME_k``, normalised per image, then averaged over images;
- (16) ``FR_0.1 = 1/K * sum_k [NME_k > 0.1]``, a strict inequality.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from faceattr.metrics._validation import as_landmarks

#: Point order of the (N, 5, 2) arrays (same as ``faceattr.data.LANDMARK_NAMES``).
LANDMARK_NAMES = ("left_eye", "right_eye", "nose", "left_mouth", "right_mouth")
Normalization = Literal["inter_ocular", "inter_pupil", "bbox", "diagonal"]
NORMALIZATIONS: tuple[str, ...] = ("inter_ocular", "inter_pupil", "bbox", "diagonal")
#: FR threshold of paper 004 (equation 16) and upper limit of the CED-AUC.
FAILURE_THRESHOLD = 0.10
#: Points of the CED curve on [0, max_error] (a step of max_error / 1000).
CED_STEPS = 1001
#: Points of the operating curve: NME thresholds 0, 1, ..., 100 % of the normaliser.
OPERATING_CURVE_STEPS = 101


def _normalizer(truth: np.ndarray, normalization: str, boxes: ArrayLike | None) -> np.ndarray:
    """Per-image normaliser d (N,) from the ground truth (NaN where it cannot be computed)."""
    if normalization in ("inter_ocular", "inter_pupil"):
        return np.linalg.norm(truth[:, 0] - truth[:, 1], axis=1)
    if normalization not in ("bbox", "diagonal"):
        raise ValueError(f"unknown normalization {normalization!r}; expected one of "
                         f"{NORMALIZATIONS}")
    if boxes is None:
        with np.errstate(invalid="ignore"):
            w = truth[:, :, 0].max(axis=1) - truth[:, :, 0].min(axis=1)
            h = truth[:, :, 1].max(axis=1) - truth[:, :, 1].min(axis=1)
    else:
        b = np.asarray(boxes, dtype=np.float64)
        if b.shape != (truth.shape[0], 4):
            raise ValueError(f"boxes must have shape ({truth.shape[0]}, 4) as x, y, width, "
                             f"height, got {b.shape}")
        w, h = b[:, 2], b[:, 3]
    return np.sqrt(w * h) if normalization == "bbox" else np.hypot(w, h)


def _point_errors(y_true: ArrayLike, y_pred: ArrayLike, normalization: str,
                  boxes: ArrayLike | None) -> np.ndarray:
    """Per-point normalised errors (N, 5); rows without ground truth are NaN."""
    truth = as_landmarks(y_true, name="y_true")
    pred = as_landmarks(y_pred, name="y_pred")
    if pred.shape != truth.shape:
        raise ValueError(f"y_pred has shape {pred.shape}, y_true {truth.shape}")
    if not np.isfinite(pred).all():
        raise ValueError("y_pred must be finite (a missing *ground truth* is NaN in y_true)")
    d = _normalizer(truth, normalization, boxes)
    missing = np.isnan(truth).any(axis=(1, 2)) | np.isnan(d)
    bad = ~missing & ~(d > 0)
    if bad.any():
        raise ValueError(f"{normalization} normaliser is zero for image {int(np.argmax(bad))}"
                         " (coincident ground-truth points)")
    err = np.linalg.norm(pred - truth, axis=2) / np.where(missing, 1.0, d)[:, None]
    err[missing] = np.nan
    return err


def nme_per_image(y_true: ArrayLike, y_pred: ArrayLike, *,
                  normalization: Normalization = "inter_ocular",
                  boxes: ArrayLike | None = None) -> NDArray[np.float64]:
    """Normalised mean error of each image (paper 004, equation 15, as a fraction).

    Parameters
    ----------
    y_true : array-like of shape (N, 5, 2)
        Ground-truth ``(x, y)`` pixels. An image with any NaN coordinate has no ground truth:
        its NME is NaN, and :func:`landmark_metrics` skips it.
    y_pred : array-like of shape (N, 5, 2)
        Predicted ``(x, y)`` pixels in the same frame. Must be finite.
    normalization : {"inter_ocular", "inter_pupil", "bbox", "diagonal"}, default="inter_ocular"
        The normaliser d, always taken from the ground truth.

        - ``"inter_ocular"``: distance between the two annotated eye points. In 5-point
          annotations (CelebA, MTFL) those points are the eye centres, so this is the
          **inter-pupil** distance. The outer-eye-corner distance that 68-point benchmarks
          (e.g. 300W) call inter-ocular cannot be computed from 5 points. It is larger, so NMEs
          here are larger than corner-normalised NMEs for the same pixel errors and the two are
          not comparable.
        - ``"inter_pupil"``: the same value, under its precise name.
        - ``"bbox"``: ``sqrt(width * height)`` of ``boxes`` if given, else of the tight box
          around the 5 ground-truth points.
        - ``"diagonal"``: ``sqrt(width**2 + height**2)`` of the same box.

        The tight 5-point box is much smaller than a face-detector box. Pass ``boxes`` to
        normalise by a face box.
    boxes : array-like of shape (N, 4), default=None
        Face boxes as ``x, y, width, height`` in the landmarks' pixel frame, for ``"bbox"`` and
        ``"diagonal"``; NaN rows count as missing ground truth. Ignored by the eye normalisers.

    Returns
    -------
    nme : ndarray of shape (N,)
        ``mean_i ||y_true[n, i] - y_pred[n, i]||_2 / d_n``; NaN where there is no ground truth.

    Raises
    ------
    ValueError
        If a ground-truth image has a zero normaliser (coincident points).

    Examples
    --------
    >>> truth = [[[0, 0], [10, 0], [5, 5], [2, 9], [8, 9]]]
    >>> pred = [[[3, 4], [10, 0], [5, 5], [2, 9], [8, 9]]]
    >>> nme_per_image(truth, pred).tolist()  # one point off by 5 px, d = 10 px
    [0.1]
    """
    return _point_errors(y_true, y_pred, normalization, boxes).mean(axis=1)


def _finite(nme: ArrayLike) -> np.ndarray:
    values = np.asarray(nme, dtype=np.float64).ravel()
    values = values[~np.isnan(values)]
    if values.size == 0:
        raise ValueError("no image with an NME (all NaN or empty)")
    if (values < 0).any():
        raise ValueError("NME values must be >= 0")
    return values


def ced_curve(nme: ArrayLike, *, max_error: float = FAILURE_THRESHOLD,
              steps: int = CED_STEPS) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Cumulative error distribution: fraction of images with ``NME <= x``.

    Parameters
    ----------
    nme : array-like of shape (N,)
        Per-image NMEs (fractions), e.g. from :func:`nme_per_image`; NaN entries are skipped.
    max_error : float, default=0.10
        Right end of the curve. ``max_error=1.0, steps=101`` gives paper 004's operating curve
        (success rate at NME thresholds 0, 1, ..., 100 %).
    steps : int, default=1001
        Number of equally spaced thresholds from 0 to ``max_error``, both included.

    Returns
    -------
    x : ndarray of shape (steps,)
        NME thresholds ``linspace(0, max_error, steps)``.
    y : ndarray of shape (steps,)
        Fraction of images with NME less than or equal to each threshold (``1 - FR_x``).

    Examples
    --------
    >>> x, y = ced_curve([0.02, 0.05, 0.2], max_error=0.1, steps=3)
    >>> x.tolist(), y.round(3).tolist()
    ([0.0, 0.05, 0.1], [0.0, 0.667, 0.667])
    """
    values = np.sort(_finite(nme))
    if not max_error > 0 or steps < 2:
        raise ValueError("need max_error > 0 and steps >= 2")
    x = np.linspace(0.0, float(max_error), int(steps))
    return x, np.searchsorted(values, x, side="right") / values.size


def ced_auc(nme: ArrayLike, *, max_error: float = FAILURE_THRESHOLD,
            steps: int = CED_STEPS) -> float:
    """Area under :func:`ced_curve` on ``[0, max_error]``, divided by ``max_error`` (in [0, 1]).

    The area is the trapezoid rule over the ``steps`` points of the curve. Without
    discretisation the normalised area would be ``mean(max(0, 1 - nme / max_error))``. The
    trapezoid rule differs from that by at most ``1 / (2 * (steps - 1))``: 0.0005 for the
    default CED and 0.005 for the 1 %-step operating curve.

    Parameters
    ----------
    nme : array-like of shape (N,)
        Per-image NMEs (fractions); NaN entries are skipped.
    max_error : float, default=0.10
        Upper integration limit (the failure threshold; 1.0 for the operating curve).
    steps : int, default=1001
        Points of the curve, as in :func:`ced_curve`.

    Returns
    -------
    auc : float
        1.0 when every NME is 0; 0.0 when every NME is above ``max_error``.

    Examples
    --------
    >>> round(ced_auc([0.0, 0.05, 0.2]), 3)  # continuous area: (1 + 0.5 + 0) / 3
    0.5
    """
    x, y = ced_curve(nme, max_error=max_error, steps=steps)
    return float(np.trapezoid(y, x) / float(max_error))


def landmark_metrics(y_true: ArrayLike, y_pred: ArrayLike, *,
                     normalization: Normalization = "inter_ocular",
                     failure_threshold: float = FAILURE_THRESHOLD,
                     boxes: ArrayLike | None = None) -> dict[str, Any]:
    """NME, failure rate, CED-AUC and operating-curve AUC of 5-point predictions.

    Parameters
    ----------
    y_true : array-like of shape (N, 5, 2)
        Ground-truth ``(x, y)`` pixels; images with any NaN coordinate are skipped.
    y_pred : array-like of shape (N, 5, 2)
        Predicted ``(x, y)`` pixels, same frame, finite.
    normalization : {"inter_ocular", "inter_pupil", "bbox", "diagonal"}, default="inter_ocular"
        Normaliser of :func:`nme_per_image`. ``"inter_ocular"`` is the distance between the
        eye centres, i.e. the inter-pupil distance.
    failure_threshold : float, default=0.10
        An image fails when its NME is strictly greater (paper 004, equation 16). It is also
        the upper limit of ``ced_auc``.
    boxes : array-like of shape (N, 4), default=None
        Face boxes ``x, y, width, height`` for ``"bbox"`` / ``"diagonal"``.

    Returns
    -------
    metrics : dict
        - ``nme_mean``: mean per-image NME (equations 14-15), a fraction.
        - ``nme_std``: population standard deviation (ddof=0) of the per-image NMEs, the
          "+/-" of paper 004.
        - ``nme_per_point``: list of 5 floats, the mean normalised error of each point in
          :data:`LANDMARK_NAMES` order. Their mean is ``nme_mean``.
        - ``fr_10``: fraction of images with ``NME > failure_threshold`` (FR@0.1 at the
          default).
        - ``ced_auc``: :func:`ced_auc` from 0 to ``failure_threshold``, 1001 points.
        - ``operating_curve_auc``: paper 004's operating curve, the success rate
          ``1 - FR_t`` (fraction with ``NME <= t``) at ``t = 0, 0.01, ..., 1.00`` (0 to
          100 % of the normaliser, 101 points). Its area is the trapezoid rule over ``[0, 1]``.
          The curve is the CED over a range ten times wider.
        - ``normalization``: the normaliser's name as passed.
        - ``failure_threshold``: the threshold used for ``fr_10`` and ``ced_auc``.
        - ``images``: number of images evaluated (those with ground truth).

    See Also
    --------
    nme_per_image, ced_curve, ced_auc

    Notes
    -----
    Everything is per image and then averaged over images, as equations 14 and 16 are written.
    Paper 004 reports FR@0.1 = 17.6 % on a 50-image test set, which is not a multiple of 2 %,
    so its own numbers were probably averaged over mini-batches. Its operating-curve AUC of
    0.9275 at NME 6.26 % is also about 0.01 below ``1 - mean(min(NME, 1))`` (about 0.937 when
    no NME exceeds 100 %), the area of the continuous curve, which this implementation
    reproduces within 0.005. The paper does not say how it discretised the curve, so values
    from this function are not expected to match its tables to the last digit.

    Examples
    --------
    >>> truth = [[[0, 0], [10, 0], [5, 5], [2, 9], [8, 9]]]
    >>> pred = [[[1, 0], [11, 0], [6, 5], [3, 9], [9, 9]]]  # every point 1 px right
    >>> m = landmark_metrics(truth, pred)
    >>> m["nme_mean"], m["fr_10"], m["images"]
    (0.1, 0.0, 1)
    """
    if not failure_threshold > 0:
        raise ValueError("failure_threshold must be > 0")
    errors = _point_errors(y_true, y_pred, normalization, boxes)
    keep = ~np.isnan(errors).any(axis=1)
    if not keep.any():
        raise ValueError("no image has ground-truth landmarks")
    errors = errors[keep]
    nme = errors.mean(axis=1)
    return {
        "nme_mean": float(nme.mean()),
        "nme_std": float(nme.std()),
        "nme_per_point": [float(v) for v in errors.mean(axis=0)],
        "fr_10": float((nme > failure_threshold).mean()),
        "ced_auc": ced_auc(nme, max_error=failure_threshold, steps=CED_STEPS),
        "operating_curve_auc": ced_auc(nme, max_error=1.0, steps=OPERATING_CURVE_STEPS),
        "normalization": normalization,
        "failure_threshold": float(failure_threshold),
        "images": int(keep.sum()),
    }
