"""``build_loss``: a :class:`MultiTaskLoss` from a plain (YAML-style) dict."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from torch import Tensor, nn

from faceattr.losses.classification import AttributeLoss, MaskedBCEWithLogits
from faceattr.losses.landmarks import LandmarkLoss
from faceattr.losses.multitask import TASKS, MultiTaskLoss

_TOP_KEYS = frozenset({*TASKS, "weighting", "weights"})
_ATTRIBUTE_KEYS = frozenset({"pos_weight", "mode", "focal_gamma", "focal_alpha"})
_GENDER_KEYS = frozenset({"pos_weight"})


def _options(spec: Mapping[str, Any], task: str, allowed: frozenset[str] | None) -> dict[str, Any]:
    value = spec[task]
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ValueError(f"loss spec {task!r} must be a mapping, null or false, got {value!r}")
    options = dict(value)
    if allowed is not None and set(options) - allowed:
        raise ValueError(f"unknown option(s) {sorted(set(options) - allowed)} for {task!r}; "
                         f"expected some of {sorted(allowed)}")
    return options


def build_loss(spec: Mapping[str, Any], *,
               attr_pos_weight: Tensor | np.ndarray | Sequence[float] | None = None
               ) -> MultiTaskLoss:
    """Build the training loss from a config dict.

    Example::

        {"attributes": {"pos_weight": True, "mode": "concat"}, "gender": {},
         "landmarks": {"kind": "wing"}, "weighting": "fixed",
         "weights": {"gender": 1.0, "landmarks": 2.0}}

    A task is on when its key is present with a mapping of options (``{}`` or null = defaults)
    and off when the key is absent or ``false``. Options:

    * ``attributes``: ``pos_weight`` (``true`` = use ``attr_pos_weight``, which must then be
      given; ``false``/absent = none; or an explicit list of A numbers), ``mode``
      (``concat``/``per_head``), ``focal_gamma``, ``focal_alpha`` -> :class:`AttributeLoss`.
    * ``gender``: ``pos_weight`` (a number) -> :class:`MaskedBCEWithLogits`.
    * ``landmarks``: ``kind`` (default ``l1``) and that kind's parameters ->
      :class:`LandmarkLoss`.
    * ``weighting`` (``fixed``/``uncertainty``, default ``fixed``) and ``weights``
      -> :class:`MultiTaskLoss`.

    ``attr_pos_weight`` (e.g. :func:`positive_weights` of the train labels) is used only when
    the spec says ``pos_weight: true``. Unknown keys raise ``ValueError``.
    """
    unknown = set(spec) - _TOP_KEYS
    if unknown:
        raise ValueError(f"unknown loss spec key(s) {sorted(unknown)}; expected some of "
                         f"{sorted(_TOP_KEYS)}")
    enabled = [t for t in TASKS if t in spec and spec[t] is not False]
    if not enabled:
        raise ValueError(f"loss spec enables no task; give at least one of {list(TASKS)}")
    task_losses: dict[str, nn.Module] = {}
    if "attributes" in enabled:
        options = _options(spec, "attributes", _ATTRIBUTE_KEYS)
        pos_weight = options.pop("pos_weight", None)
        if pos_weight is True:
            if attr_pos_weight is None:
                raise ValueError("attributes.pos_weight is true but no attr_pos_weight was "
                                 "passed (compute it with positive_weights(train_labels))")
            pos_weight = attr_pos_weight
        elif pos_weight is False:
            pos_weight = None
        task_losses["attributes"] = AttributeLoss(pos_weight=pos_weight, **options)
    if "gender" in enabled:
        options = _options(spec, "gender", _GENDER_KEYS)
        pos_weight = options.get("pos_weight")
        if isinstance(pos_weight, bool):
            raise ValueError("gender.pos_weight must be a number (negatives / positives)")
        task_losses["gender"] = MaskedBCEWithLogits(pos_weight=pos_weight)
    if "landmarks" in enabled:
        options = _options(spec, "landmarks", None)
        task_losses["landmarks"] = LandmarkLoss(options.pop("kind", "l1"), **options)
    return MultiTaskLoss(task_losses, weighting=spec.get("weighting", "fixed"),
                         weights=spec.get("weights"))
