"""Binary classification losses for the 40 CelebA attributes and gender, NaN = missing label.

Conventions: logits are raw scores (no sigmoid applied), targets are 1.0 (attribute present;
for gender, male) / 0.0 (absent; female) / NaN (not labelled, e.g. the 37 CelebA attributes
MTFL does not annotate). Every loss here ignores the NaN entries and averages over the observed
ones; when nothing is observed it returns 0, connected to the graph, so ``backward()`` works and
gives zero gradients.

Multi-head attribute loss (Brezovcsik 2025, paper 000, Sec. 4.3.2)
------------------------------------------------------------------
Write ``l_ij`` for the element-wise loss of sample ``i`` and attribute ``j``, ``m_ij`` for its
observed mask, ``n_j = sum_i m_ij`` and ``L_j = sum_i m_ij l_ij / n_j`` (the loss of head ``j``).

* ``concat``: one loss on the concatenated ``(N, A)`` vector, the single-head loss,
  ``L = sum_ij m_ij l_ij / sum_j n_j = sum_j (n_j / sum_k n_k) L_j``.
* ``per_head``: one loss per head, then their plain mean over the heads with at least one
  observed label ``J = {j : n_j > 0}``: ``L = (1 / |J|) sum_{j in J} L_j``.

The two are the same function of the logits (same value *and* gradient) exactly when every
observed head has the same count ``n_j`` -- in particular whenever no label is missing (``n_j =
N``), with or without ``pos_weight`` or focal modulation, since both modes normalise by counts,
not by weights. With missing labels ``concat`` weights each head by its share of observations
(in a mixed CelebA + MTFL batch the 3 MTFL heads get more weight) and ``per_head`` weights heads
equally; they then agree only by accident (``sum_j (n_j / sum_k n_k - 1/|J|) L_j = 0``, e.g. all
``L_j`` equal). Paper 000 trains on fully labelled CelebA, so its two approaches optimise the
same objective and any difference between its Figs. 14 and 15 comes from the implementation
or optimisation (e.g. per-output losses *summed* rather than averaged, a constant 40x scale
that Adam almost ignores apart from its epsilon but SGD does not; how the positive weights were
applied; initialisation, data order and run-to-run noise), not from the loss.
"""

from __future__ import annotations

import warnings
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from faceattr.losses._masking import (
    Reduction,
    check_reduction,
    check_same_shape,
    masked_mean,
    reduce_masked,
    split_missing,
)

AttributeMode = Literal["concat", "per_head"]
ATTRIBUTE_MODES = ("concat", "per_head")


def positive_weights(labels: np.ndarray | Tensor, *, max_weight: float | None = None) -> Tensor:
    """Per-attribute ``pos_weight = negatives / positives`` from a training label matrix.

    Parameters
    ----------
    labels : array-like of shape (N, A)
        1 (present) / 0 (absent) / NaN (missing, ignored) -- e.g. the ``attrs`` of the train
        rows of a :class:`~faceattr.data.celeba.CelebAIndex`. Integer (uint8) input is fine.
    max_weight : float, default=None
        If given, weights are clamped to at most this value (rare attributes such as CelebA's
        ``Bald`` get about 40 otherwise).

    Returns
    -------
    Tensor of shape (A,), float32, for ``BCEWithLogits``-style ``pos_weight``.

    Notes
    -----
    An attribute with no observed positive, or no observed negative, has no usable ratio
    (division by zero, or a weight of 0 that would silence its positives); it gets the neutral
    weight 1.0 and a ``RuntimeWarning`` names its column. Values other than 0, 1 and NaN
    (for instance CelebA's raw -1) raise ``ValueError``.
    """
    arr = labels.detach().cpu().numpy() if isinstance(labels, Tensor) else np.asarray(labels)
    arr = arr.astype(np.float64)
    if arr.ndim != 2:
        raise ValueError(f"labels must be (N, A), got shape {arr.shape}")
    observed = arr[~np.isnan(arr)]
    if not np.isin(observed, (0.0, 1.0)).all():
        bad = observed[~np.isin(observed, (0.0, 1.0))][0]
        raise ValueError(f"labels must be 1/0 (NaN = missing), found {bad:g}")
    if max_weight is not None and not max_weight > 0:
        raise ValueError(f"max_weight must be > 0, got {max_weight}")
    pos = (arr == 1.0).sum(axis=0)
    neg = (arr == 0.0).sum(axis=0)
    usable = (pos > 0) & (neg > 0)
    weights = np.ones(arr.shape[1], dtype=np.float64)
    weights[usable] = neg[usable] / pos[usable]
    if not usable.all():
        cols = np.flatnonzero(~usable).tolist()
        warnings.warn(f"attribute column(s) {cols} have no observed positive or no observed "
                      "negative; their pos_weight is set to 1.0", RuntimeWarning, stacklevel=2)
    if max_weight is not None:
        weights = np.minimum(weights, max_weight)
    return torch.as_tensor(weights, dtype=torch.float32)


def _as_pos_weight(pos_weight: Tensor | np.ndarray | float | None) -> Tensor | None:
    if pos_weight is None:
        return None
    tensor = torch.as_tensor(pos_weight, dtype=torch.float32).detach().clone()
    if tensor.ndim == 0:
        tensor = tensor.reshape(1)
    if not torch.isfinite(tensor).all() or (tensor < 0).any():
        raise ValueError("pos_weight must be finite and >= 0")
    return tensor


def _bce_terms(logits: Tensor, targets: Tensor, pos_weight: Tensor | None,
               what: str) -> tuple[Tensor, Tensor]:
    """Element-wise BCE-with-logits (NaN targets filled, not yet masked) and the mask."""
    check_same_shape(logits, targets, what)
    filled, mask = split_missing(targets)
    loss = F.binary_cross_entropy_with_logits(logits, filled, pos_weight=pos_weight,
                                              reduction="none")
    return loss, mask


def _focal_terms(logits: Tensor, targets: Tensor, gamma: float, alpha: float | None,
                 pos_weight: Tensor | None, what: str) -> tuple[Tensor, Tensor]:
    """Element-wise focal loss (NaN targets filled, not yet masked) and the mask."""
    ce, mask = _bce_terms(logits, targets, pos_weight, what)
    filled = torch.where(mask, targets, torch.zeros_like(targets))
    p = torch.sigmoid(logits)
    p_t = p * filled + (1 - p) * (1 - filled)
    loss = ce * (1 - p_t).pow(gamma)
    if alpha is not None:
        loss = loss * (alpha * filled + (1 - alpha) * (1 - filled))
    return loss, mask


class MaskedBCEWithLogits(nn.Module):
    """Binary cross-entropy with logits that ignores NaN targets.

    ``l = -[w_pos * y * log sigmoid(z) + (1 - y) * log(1 - sigmoid(z))]`` per observed entry
    (``w_pos = pos_weight``, broadcast over the last dimension; 1 when ``None``).

    Parameters
    ----------
    pos_weight : Tensor of shape (A,) or float, default=None
        Weight of the positive term per class, e.g. from :func:`positive_weights`.
    reduction : {"mean", "sum", "none"}, default="mean"
        ``mean``: average over the observed entries (0 when none is observed). ``sum``: sum over
        them. ``none``: element-wise loss with 0 at the missing entries.

    With a single logit this is also the gender loss: paper 004 uses 2-class softmax
    cross-entropy, and softmax over logits ``(a, b)`` equals a sigmoid of ``b - a``, so BCE on
    one logit is the same model and loss with one redundant parameter removed.
    """

    pos_weight: Tensor | None

    def __init__(self, pos_weight: Tensor | np.ndarray | float | None = None,
                 reduction: Reduction = "mean") -> None:
        super().__init__()
        check_reduction(reduction)
        self.reduction = reduction
        self.register_buffer("pos_weight", _as_pos_weight(pos_weight))

    def forward(self, logits: Tensor, targets: Tensor) -> Tensor:
        loss, mask = _bce_terms(logits, targets, self.pos_weight, type(self).__name__)
        return reduce_masked(loss, mask, self.reduction)

    def extra_repr(self) -> str:
        pw = None if self.pos_weight is None else tuple(self.pos_weight.shape)
        return f"pos_weight_shape={pw}, reduction={self.reduction!r}"


class FocalLoss(nn.Module):
    """Binary focal loss with logits (Lin et al., ICCV 2017) that ignores NaN targets.

    ``l = a_t * (1 - p_t) ** gamma * bce(z, y)`` per observed entry, with ``p = sigmoid(z)``,
    ``p_t = p y + (1 - p)(1 - y)``, ``a_t = alpha y + (1 - alpha)(1 - y)`` (1 when ``alpha`` is
    ``None``) and ``bce`` the (optionally ``pos_weight``-ed) BCE-with-logits. On the observed
    entries it equals ``torchvision.ops.sigmoid_focal_loss`` (whose ``alpha`` defaults to 0.25;
    here the default ``None`` means no alpha term). ``gamma=0, alpha=None`` is plain BCE.

    Parameters
    ----------
    gamma : float, default=2.0
        Focusing exponent, >= 0. Values in (0, 1) can give infinite gradients where the sigmoid
        saturates exactly (as in torchvision); use 0 or >= 1.
    alpha : float in [0, 1], default=None
        Weight of positives (``1 - alpha`` for negatives).
    pos_weight : Tensor of shape (A,) or float, default=None
        As in :class:`MaskedBCEWithLogits`, applied inside the BCE term.
    reduction : {"mean", "sum", "none"}, default="mean"
        As in :class:`MaskedBCEWithLogits`.
    """

    pos_weight: Tensor | None

    def __init__(self, gamma: float = 2.0, alpha: float | None = None,
                 pos_weight: Tensor | np.ndarray | float | None = None,
                 reduction: Reduction = "mean") -> None:
        super().__init__()
        if not gamma >= 0:
            raise ValueError(f"gamma must be >= 0, got {gamma}")
        if alpha is not None and not 0 <= alpha <= 1:
            raise ValueError(f"alpha must be in [0, 1] or None, got {alpha}")
        check_reduction(reduction)
        self.gamma = float(gamma)
        self.alpha = None if alpha is None else float(alpha)
        self.reduction = reduction
        self.register_buffer("pos_weight", _as_pos_weight(pos_weight))

    def forward(self, logits: Tensor, targets: Tensor) -> Tensor:
        loss, mask = _focal_terms(logits, targets, self.gamma, self.alpha, self.pos_weight,
                                  type(self).__name__)
        return reduce_masked(loss, mask, self.reduction)

    def extra_repr(self) -> str:
        return f"gamma={self.gamma}, alpha={self.alpha}, reduction={self.reduction!r}"


class AttributeLoss(nn.Module):
    """Loss of the ``(N, A)`` attribute logits: masked BCE (or focal), ``concat`` or ``per_head``.

    Parameters
    ----------
    pos_weight : Tensor of shape (A,), default=None
        Positive-class weights, e.g. ``positive_weights(train_labels)`` (paper 000's weighting).
    mode : {"concat", "per_head"}, default="concat"
        ``concat``: mean over all observed ``(sample, attribute)`` entries, identical to
        :class:`MaskedBCEWithLogits` (the single-head loss). ``per_head``: mean over samples per
        attribute, then mean over the attributes with at least one observed label (a head with
        none in the batch is left out, not counted as 0). See the module docstring for when
        the two coincide (always, without missing labels).
    focal_gamma : float, default=None
        If given, the element-wise loss is :class:`FocalLoss` with this gamma instead of BCE.
    focal_alpha : float, default=None
        Alpha of the focal loss (only with ``focal_gamma``).

    Returns 0 (with grad) when no label is observed.
    """

    pos_weight: Tensor | None

    def __init__(self, pos_weight: Tensor | np.ndarray | None = None,
                 mode: AttributeMode = "concat", focal_gamma: float | None = None,
                 focal_alpha: float | None = None) -> None:
        super().__init__()
        if mode not in ATTRIBUTE_MODES:
            raise ValueError(f"unknown mode {mode!r}; expected one of {list(ATTRIBUTE_MODES)}")
        if focal_gamma is not None and not focal_gamma >= 0:
            raise ValueError(f"focal_gamma must be >= 0, got {focal_gamma}")
        if focal_alpha is not None and focal_gamma is None:
            raise ValueError("focal_alpha needs focal_gamma")
        if focal_alpha is not None and not 0 <= focal_alpha <= 1:
            raise ValueError(f"focal_alpha must be in [0, 1], got {focal_alpha}")
        self.mode = mode
        self.focal_gamma = None if focal_gamma is None else float(focal_gamma)
        self.focal_alpha = None if focal_alpha is None else float(focal_alpha)
        self.register_buffer("pos_weight", _as_pos_weight(pos_weight))

    def _terms(self, logits: Tensor, targets: Tensor) -> tuple[Tensor, Tensor]:
        if logits.ndim != 2:
            raise ValueError(f"attribute logits must be (N, A), got {tuple(logits.shape)}")
        if self.focal_gamma is None:
            return _bce_terms(logits, targets, self.pos_weight, type(self).__name__)
        return _focal_terms(logits, targets, self.focal_gamma, self.focal_alpha,
                            self.pos_weight, type(self).__name__)

    def head_losses(self, logits: Tensor, targets: Tensor) -> Tensor:
        """``(A,)`` per-attribute losses ``L_j`` (mean over observed samples; 0 if none)."""
        loss, mask = self._terms(logits, targets)
        return masked_mean(loss, mask, dim=0)

    def forward(self, logits: Tensor, targets: Tensor) -> Tensor:
        loss, mask = self._terms(logits, targets)
        if self.mode == "concat":
            return masked_mean(loss, mask)
        per_head = masked_mean(loss, mask, dim=0)
        return masked_mean(per_head, mask.any(dim=0))

    def extra_repr(self) -> str:
        return (f"mode={self.mode!r}, pos_weight={self.pos_weight is not None}, "
                f"focal_gamma={self.focal_gamma}, focal_alpha={self.focal_alpha}")
