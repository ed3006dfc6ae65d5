"""NaN-as-missing helpers shared by every loss.

A missing label is NaN in the target. Losses are computed element-wise on targets whose NaN
entries were replaced by a finite value, then the missing entries are zeroed with
:func:`torch.where` (never multiplied by a mask, so a NaN can never leak into a value or a
gradient) and the rest are averaged over the number of observed entries.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor

Reduction = Literal["mean", "sum", "none"]
REDUCTIONS = ("mean", "sum", "none")


def check_reduction(reduction: str) -> None:
    """Raise ``ValueError`` unless ``reduction`` is ``mean``, ``sum`` or ``none``."""
    if reduction not in REDUCTIONS:
        raise ValueError(f"unknown reduction {reduction!r}; expected one of {list(REDUCTIONS)}")


def check_same_shape(pred: Tensor, target: Tensor, what: str) -> None:
    """Raise ``ValueError`` when ``pred`` and ``target`` shapes differ (no silent broadcast)."""
    if pred.shape != target.shape:
        raise ValueError(f"{what}: prediction shape {tuple(pred.shape)} != target shape "
                         f"{tuple(target.shape)}")


def split_missing(target: Tensor, fill: Tensor | float = 0.0) -> tuple[Tensor, Tensor]:
    """``(target with NaN replaced by fill, observed mask)``; the mask is True where observed."""
    mask = ~torch.isnan(target)
    fill_t = fill if isinstance(fill, Tensor) else torch.full_like(target, fill)
    return torch.where(mask, target, fill_t), mask


def masked_mean(loss: Tensor, mask: Tensor, dim: int | None = None) -> Tensor:
    """Mean of ``loss`` over the entries where ``mask`` is True (over ``dim``, or all).

    Where nothing is observed the result is 0, still connected to the graph (zero gradient).
    """
    kept = torch.where(mask, loss, torch.zeros_like(loss))
    if dim is None:
        return kept.sum() / mask.sum().clamp(min=1)
    return kept.sum(dim) / mask.sum(dim).clamp(min=1)


def reduce_masked(loss: Tensor, mask: Tensor, reduction: str) -> Tensor:
    """Apply ``reduction`` to the observed entries: mean over observed, sum, or element-wise.

    ``none`` returns the element-wise loss with 0 at the missing entries.
    """
    if reduction == "mean":
        return masked_mean(loss, mask)
    kept = torch.where(mask, loss, torch.zeros_like(loss))
    return kept.sum() if reduction == "sum" else kept
