"""Input checks shared by the metric modules (private).

Every public metric converts its inputs here, so the conventions are enforced in one place:
labels are 1/0 with NaN for a missing label, scores are finite floats, landmarks are
``(N, 5, 2)`` ``(x, y)`` pixel arrays.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

FloatArray = NDArray[np.float64]


def as_labels(y: ArrayLike, *, ndim: int, name: str = "y_true") -> FloatArray:
    """Return ``y`` as a float64 array of 1/0/NaN with ``ndim`` dimensions."""
    arr = np.asarray(y, dtype=np.float64)
    if arr.ndim != ndim:
        shape = "(N, A)" if ndim == 2 else "(N,)"
        raise ValueError(f"{name} must have shape {shape}, got {arr.shape}")
    observed = arr[~np.isnan(arr)]
    bad = (observed != 0) & (observed != 1)
    if bad.any():
        values = np.unique(observed[bad])[:5].tolist()
        raise ValueError(
            f"{name} must hold 1/0 labels (NaN = missing), found {values}; "
            "convert -1/+1 annotations with (y > 0)"
        )
    return arr


def as_scores(y_score: ArrayLike, shape: tuple[int, ...], *, name: str = "y_score") -> FloatArray:
    """Return ``y_score`` as a finite float64 array of exactly ``shape``."""
    arr = np.asarray(y_score, dtype=np.float64)
    if arr.shape != shape:
        raise ValueError(f"{name} must have the shape of y_true {shape}, got {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} must be finite (NaN/inf found); a missing *label* is NaN "
                         "in y_true, never in the scores")
    return arr


def as_landmarks(y: ArrayLike, *, name: str) -> FloatArray:
    """Return ``y`` as a float64 ``(N, 5, 2)`` array (NaN allowed; callers decide)."""
    arr = np.asarray(y, dtype=np.float64)
    if arr.ndim != 3 or arr.shape[1:] != (5, 2):
        raise ValueError(f"{name} must have shape (N, 5, 2) of (x, y) pixels, got {arr.shape}")
    return arr


def as_names(names: Any, n: int) -> list[str]:
    """Attribute names: ``names`` checked for length and uniqueness, or ``attr_0 ...``."""
    if names is None:
        return [f"attr_{j}" for j in range(n)]
    out = [str(v) for v in names]
    if len(out) != n:
        raise ValueError(f"names has {len(out)} entries for {n} attributes")
    if len(set(out)) != n:
        raise ValueError("names must be unique")
    return out
