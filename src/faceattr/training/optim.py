"""Optimizers and learning-rate schedules named in configs."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import torch

OPTIMIZERS = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW,
              "adamax": torch.optim.Adamax, "adagrad": torch.optim.Adagrad,
              "rmsprop": torch.optim.RMSprop, "sgd": torch.optim.SGD}


def build_optimizer(params: Iterable[torch.nn.Parameter], spec: dict[str, Any]
                    ) -> torch.optim.Optimizer:
    """``spec``: ``name`` (adam, adamw, adamax, adagrad, rmsprop, sgd), ``lr``,
    ``weight_decay``, and ``momentum`` (sgd, rmsprop only)."""
    name = str(spec.get("name", "adam")).lower()
    if name not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {name!r}; expected one of {sorted(OPTIMIZERS)}")
    kwargs: dict[str, Any] = {"lr": float(spec.get("lr", 1e-4)),
                              "weight_decay": float(spec.get("weight_decay", 0.0))}
    if name in ("sgd", "rmsprop") and spec.get("momentum"):
        kwargs["momentum"] = float(spec["momentum"])
    return OPTIMIZERS[name](params, **kwargs)


def build_scheduler(optimizer: torch.optim.Optimizer, spec: dict[str, Any], *, epochs: int,
                    steps_per_epoch: int) -> torch.optim.lr_scheduler.LRScheduler:
    """A per-step schedule: ``none``, ``cosine`` (to 0) or ``step`` (x ``gamma`` every
    ``step_size`` epochs), each after ``warmup_epochs`` of linear warm-up."""
    name = str(spec.get("name", "none")).lower()
    total = max(1, epochs * steps_per_epoch)
    warmup = int(float(spec.get("warmup_epochs", 0)) * steps_per_epoch)
    step_size = int(spec.get("step_size", 10)) * steps_per_epoch
    gamma = float(spec.get("gamma", 0.1))
    if name not in ("none", "cosine", "step"):
        raise ValueError(f"unknown schedule {name!r}; expected none, cosine or step")

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        if name == "cosine":
            progress = (step - warmup) / max(1, total - warmup)
            return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))
        if name == "step":
            return gamma ** ((step - warmup) // max(1, step_size))
        return 1.0

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
