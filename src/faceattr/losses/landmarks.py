"""Landmark regression losses on normalised coordinates, NaN = missing landmarks.

Units: predictions and targets are ``(N, 5, 2)`` ``(x, y)`` coordinates *normalised* by the
network-input width and height, so a face crop spans [0, 1] (pixels ``/ W`` and ``/ H``; how
they are normalised is the caller's business, the losses only assume this scale). On aligned
CelebA the inter-ocular distance is about 0.22 of the width, so the FR@0.1 failure threshold
(10 % of it) is an error of about 0.02.

Missing data: an image without landmarks has NaN in all of its 10 target values (CelebA images
absent from the landmark file). NaN entries are masked element-wise, so a partly-NaN row would
keep its observed values. Every loss is the **mean** over observed coordinates (``x`` and ``y``
count separately) and is 0, with a zero gradient, when nothing is observed. NaN in the
*prediction* is not masked.

Element-wise definitions (``x = pred - target``; paper 004, eqs. 9-13):

* ``l2``  (eq. 9): ``x**2`` (``F.mse_loss``).
* ``l1``  (eq. 10): ``|x|`` (``F.l1_loss``).
* ``smooth_l1`` (eq. 11): ``0.5 x**2 / beta`` if ``|x| < beta`` else ``|x| - 0.5 beta``
  (``F.smooth_l1_loss``); equals ``huber / beta`` with ``delta = beta``.
* ``huber`` (eq. 12): ``0.5 x**2`` if ``|x| < delta`` else ``delta (|x| - 0.5 delta)``
  (``F.huber_loss``; the paper's eq. 12 drops the absolute value in the linear branch).
* ``wing`` (eq. 13; Feng et al., CVPR 2018): ``w ln(1 + |x| / epsilon)`` if ``|x| < w`` else
  ``|x| - C`` with ``C = w - w ln(1 + w / epsilon)``, which makes it continuous at ``|x| = w``.

Paper 004 writes eqs. 9-10 as sums over the ``D`` coordinates; these are means (sum / D, and
over the batch), so multiply by 10 for the per-image sum. Its reported loss values (L1 about
0.02, L2 about 0.001) are of the size of means over normalised coordinates too.

Defaults, scaled for normalised coordinates (torch's ``beta = delta = 1`` would make smooth L1
and Huber purely quadratic here, i.e. ``0.5 * l2``, since every error is below 1):

* ``beta = delta = 0.02``: quadratic only below about the FR@0.1 failure error, L1 beyond.
* ``w = 0.05, epsilon = 0.01``: the log region covers errors up to about a quarter of the
  inter-ocular distance, where a converging model's errors lie (Feng et al. recommend ``w=10,
  epsilon=2`` for coordinates in pixels; kept here is their shape ratio ``w / epsilon = 5``).
  With the pixel defaults applied to [0, 1] coordinates every error falls in the log branch
  and Wing degenerates to about ``(w / epsilon) * l1``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from faceattr.losses._masking import check_same_shape, masked_mean, split_missing

LandmarkKind = Literal["l1", "l2", "smooth_l1", "huber", "wing"]
#: Default ``beta`` of smooth L1 and ``delta`` of Huber, in normalised coordinates.
DEFAULT_BETA = 0.02
DEFAULT_DELTA = 0.02
#: Default Wing parameters, in normalised coordinates.
DEFAULT_WING_W = 0.05
DEFAULT_WING_EPSILON = 0.01


def _masked(elementwise: Callable[[Tensor, Tensor], Tensor], pred: Tensor,
            target: Tensor, what: str) -> Tensor:
    """Mean of ``elementwise(pred, target)`` over the observed (non-NaN) target entries."""
    check_same_shape(pred, target, what)
    filled, mask = split_missing(target, fill=pred.detach())
    return masked_mean(elementwise(pred, filled), mask)


def l1(pred: Tensor, target: Tensor) -> Tensor:
    """Mean absolute error over observed coordinates (paper 004 eq. 10, as a mean)."""
    return _masked(lambda p, t: F.l1_loss(p, t, reduction="none"), pred, target, "l1")


def l2(pred: Tensor, target: Tensor) -> Tensor:
    """Mean squared error over observed coordinates (paper 004 eq. 9, as a mean)."""
    return _masked(lambda p, t: F.mse_loss(p, t, reduction="none"), pred, target, "l2")


def smooth_l1(pred: Tensor, target: Tensor, beta: float = DEFAULT_BETA) -> Tensor:
    """Smooth L1 (paper 004 eq. 11) with threshold ``beta`` (>= 0; 0 gives L1)."""
    if not beta >= 0:
        raise ValueError(f"beta must be >= 0, got {beta}")
    return _masked(lambda p, t: F.smooth_l1_loss(p, t, reduction="none", beta=beta),
                   pred, target, "smooth_l1")


def huber(pred: Tensor, target: Tensor, delta: float = DEFAULT_DELTA) -> Tensor:
    """Huber loss (paper 004 eq. 12) with threshold ``delta`` (> 0)."""
    if not delta > 0:
        raise ValueError(f"delta must be > 0, got {delta}")
    return _masked(lambda p, t: F.huber_loss(p, t, reduction="none", delta=delta),
                   pred, target, "huber")


def wing_elementwise(x: Tensor, w: float = DEFAULT_WING_W,
                     epsilon: float = DEFAULT_WING_EPSILON) -> Tensor:
    """Wing of the errors ``x``: ``w ln(1 + |x|/epsilon)`` if ``|x| < w`` else ``|x| - C``."""
    if not (w > 0 and epsilon > 0):
        raise ValueError(f"wing needs w > 0 and epsilon > 0, got w={w}, epsilon={epsilon}")
    c = w - w * math.log1p(w / epsilon)
    ax = x.abs()
    return torch.where(ax < w, w * torch.log1p(ax / epsilon), ax - c)


def wing(pred: Tensor, target: Tensor, w: float = DEFAULT_WING_W,
         epsilon: float = DEFAULT_WING_EPSILON) -> Tensor:
    """Wing loss (Feng et al. 2018; paper 004 eq. 13), mean over observed coordinates."""
    wing_elementwise(pred.new_zeros(()), w, epsilon)  # validate before masking
    return _masked(lambda p, t: wing_elementwise(p - t, w, epsilon), pred, target, "wing")


_LOSSES: dict[str, tuple[Callable[..., Tensor], dict[str, float]]] = {
    "l1": (l1, {}),
    "l2": (l2, {}),
    "smooth_l1": (smooth_l1, {"beta": DEFAULT_BETA}),
    "huber": (huber, {"delta": DEFAULT_DELTA}),
    "wing": (wing, {"w": DEFAULT_WING_W, "epsilon": DEFAULT_WING_EPSILON}),
}
LANDMARK_KINDS = tuple(_LOSSES)


class LandmarkLoss(nn.Module):
    """One of the landmark losses of this module as an ``nn.Module``.

    Parameters
    ----------
    kind : {"l1", "l2", "smooth_l1", "huber", "wing"}, default="l1"
        L1 is the default: it was the best of the five in paper 004 (Table II).
    **params
        ``beta`` (smooth_l1, default 0.02), ``delta`` (huber, default 0.02), ``w`` and
        ``epsilon`` (wing, defaults 0.05 and 0.01); all in normalised coordinates. Any other
        name raises ``TypeError``.

    ``forward(pred, target)`` takes ``(N, 5, 2)`` tensors (any equal shapes work) and returns
    the mean over observed coordinates; see the module docstring.
    """

    def __init__(self, kind: LandmarkKind = "l1", **params: float) -> None:
        super().__init__()
        if kind not in _LOSSES:
            raise ValueError(f"unknown landmark loss {kind!r}; expected one of "
                             f"{list(LANDMARK_KINDS)}")
        fn, defaults = _LOSSES[kind]
        unknown = set(params) - set(defaults)
        if unknown:
            raise TypeError(f"landmark loss {kind!r} takes {sorted(defaults) or 'no'} "
                            f"parameters, got {sorted(unknown)}")
        self.kind = kind
        self.params: dict[str, float] = {**defaults, **{k: float(v) for k, v in params.items()}}
        self._fn = fn
        # validate the parameters now rather than at the first batch
        fn(torch.zeros(1), torch.zeros(1), **self.params)

    def forward(self, pred: Tensor, target: Tensor) -> Tensor:
        return self._fn(pred, target, **self.params)

    def extra_repr(self) -> str:
        params = ", ".join(f"{k}={v}" for k, v in self.params.items())
        return f"kind={self.kind!r}" + (f", {params}" if params else "")
