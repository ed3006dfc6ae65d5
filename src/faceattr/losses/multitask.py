"""Weighted sum of the per-task losses: fixed weights or learned homoscedastic uncertainty.

Tasks and tensors (``N`` = batch size, NaN in a target = missing label):

* ``attributes``: logits ``(N, A)``, targets ``(N, A)`` 1/0/NaN.
* ``gender``: one logit ``(N,)``, targets ``(N,)`` 1.0 male / 0.0 female / NaN.
* ``landmarks``: normalised coordinates ``(N, 5, 2)``, targets ``(N, 5, 2)`` (NaN rows).

Weighting:

* ``fixed`` (paper 004, eq. 17): ``L = sum_t lambda_t L_t``, e.g. ``L = lambda_1 L_gender +
  lambda_2 L_landmarks`` (the paper's best was ``lambda_1 = 1, lambda_2 = 20`` with L1).
  Unlisted tasks get ``lambda = 1``.
* ``uncertainty`` (Kendall, Gal and Cipolla, CVPR 2018): ``L = sum_t exp(-s_t) L_t + s_t``
  with one learnable ``s_t = log sigma_t^2`` per task, initialised to 0 (``lambda = 1``). This
  is the common simplified form: Kendall et al. write ``L / (2 sigma^2) + log sigma`` for
  regression and ``L / sigma^2 + log sigma`` for classification, i.e. per-task constant
  factors on ``L_t`` and ``s_t``. For a constant ``L_t`` the minimum is at ``s_t = log L_t``.
  The ``s_t`` are ``nn.Parameter`` s of this module: give ``loss.parameters()`` to the
  optimizer too (without weight decay), and note that the total can be negative.

A task whose targets are all missing in a batch contributes exactly 0 to the total (its
``s_t`` term included, so ``s_t`` gets no gradient from that batch) and its part is 0.
The task losses must be NaN-masked (as every loss of :mod:`faceattr.losses` is): the batch
check is a tensor ``torch.where``, with no host sync, and cannot repair a task loss whose own
backward produces NaN.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Literal

import torch
from torch import Tensor, nn

TASKS = ("attributes", "gender", "landmarks")
Weighting = Literal["fixed", "uncertainty"]
WEIGHTINGS = ("fixed", "uncertainty")


class MultiTaskLoss(nn.Module):
    """``L = sum_t weight_t(L_t)`` over the tasks present, with fixed or learned weights.

    Parameters
    ----------
    task_losses : dict of str to nn.Module
        Loss per task, keys among ``attributes``, ``gender``, ``landmarks``; each is called as
        ``loss(outputs[task], targets[task])`` and must return a scalar.
    weighting : {"fixed", "uncertainty"}, default="fixed"
        ``fixed``: ``lambda_t L_t``. ``uncertainty``: ``exp(-s_t) L_t + s_t`` with learnable
        ``s_t`` (see the module docstring).
    weights : dict of str to float, default=None
        Fixed ``lambda_t`` (>= 0, default 1 per task); only with ``weighting="fixed"``.

    ``forward(outputs, targets)`` returns ``(total, parts)``: ``total`` is the weighted scalar
    (with grad) and ``parts`` maps each task to its unweighted loss, detached, for logging.
    Extra keys in ``outputs`` / ``targets`` are ignored; a missing one raises ``KeyError``.
    """

    def __init__(self, task_losses: Mapping[str, nn.Module], weighting: Weighting = "fixed",
                 weights: Mapping[str, float] | None = None) -> None:
        super().__init__()
        if not task_losses:
            raise ValueError("MultiTaskLoss needs at least one task")
        unknown = set(task_losses) - set(TASKS)
        if unknown:
            raise ValueError(f"unknown task(s) {sorted(unknown)}; expected some of {list(TASKS)}")
        if weighting not in WEIGHTINGS:
            raise ValueError(f"unknown weighting {weighting!r}; expected one of "
                             f"{list(WEIGHTINGS)}")
        self.weighting = weighting
        self.task_losses = nn.ModuleDict({t: task_losses[t] for t in TASKS if t in task_losses})
        self.weights: dict[str, float] = {}
        self.log_vars: nn.ParameterDict | None = None
        if weighting == "fixed":
            weights = dict(weights or {})
            extra = set(weights) - set(task_losses)
            if extra:
                raise ValueError(f"weights for task(s) {sorted(extra)} that have no loss")
            for task in self.task_losses:
                value = float(weights.get(task, 1.0))
                if not (math.isfinite(value) and value >= 0):
                    raise ValueError(f"weight of {task!r} must be finite and >= 0, got {value}")
                self.weights[task] = value
        else:
            if weights is not None:
                raise ValueError("weights are only for weighting='fixed'; 'uncertainty' learns "
                                 "them (as log-variances s_t, starting at 0)")
            self.log_vars = nn.ParameterDict(
                {t: nn.Parameter(torch.zeros(())) for t in self.task_losses})

    @property
    def tasks(self) -> tuple[str, ...]:
        return tuple(self.task_losses)

    def task_weights(self) -> dict[str, float]:
        """Current multiplier of each ``L_t``: ``lambda_t``, or ``exp(-s_t)`` (for logging)."""
        if self.log_vars is None:
            return dict(self.weights)
        return {t: math.exp(-float(s.detach())) for t, s in self.log_vars.items()}

    def forward(self, outputs: Mapping[str, Tensor],
                targets: Mapping[str, Tensor]) -> tuple[Tensor, dict[str, Tensor]]:
        total: Tensor | None = None
        parts: dict[str, Tensor] = {}
        for task, loss_fn in self.task_losses.items():
            if task not in outputs or task not in targets:
                where = "outputs" if task not in outputs else "targets"
                raise KeyError(f"task {task!r} has a loss but no entry in {where}")
            target = targets[task]
            loss = loss_fn(outputs[task], target)
            if self.log_vars is None:
                term = self.weights[task] * loss
            else:
                s = self.log_vars[task]
                term = torch.exp(-s) * loss + s
            observed = ~torch.isnan(target).all()
            term = torch.where(observed, term, torch.zeros_like(term))
            parts[task] = torch.where(observed, loss, torch.zeros_like(loss)).detach()
            total = term if total is None else total + term
        assert total is not None
        return total, parts

    def extra_repr(self) -> str:
        if self.log_vars is None:
            return f"weighting='fixed', weights={self.weights}"
        return "weighting='uncertainty'"
