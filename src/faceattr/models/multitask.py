"""One backbone, one head per task: :class:`FaceModel` and the dict-driven :func:`build_model`.

Tasks and outputs (see :mod:`faceattr.models.heads` for the conventions):
``attributes`` logits ``(N, A)``, ``gender`` logit ``(N,)`` (1 = male), ``landmarks``
``(N, 5, 2)`` normalised ``(x / W, y / H)`` of the model input.

A spec is a plain dict (from YAML)::

    {"backbone": "mobilenet_v2", "pretrained": True,
     "heads": {"attributes": {"type": "multilabel", "num_labels": 40, "dropout": 0.2},
               "gender": {"type": "binary"},
               "landmarks": {"type": "attention", "d_k": 64}}}

Head types: ``multilabel``, ``per_label`` (attributes), ``binary`` (gender), ``landmarks``
(landmarks) and ``attention`` (any task; its output is shaped for the task). A missing
``type`` takes the task's default. ``FaceModel.config`` is such a dict with every default
filled in, plus the weights actually loaded, so ``build_model(model.config)`` rebuilds it.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from faceattr.models._registry import Backbone, create_backbone
from faceattr.models.heads import (
    BinaryHead,
    LandmarkHead,
    MultiLabelHead,
    PerLabelHeads,
    SelfAttentionHead,
)

__all__ = ["HEAD_TYPES", "TASKS", "FaceModel", "build_head", "build_model", "count_parameters"]

#: Task names in output order.
TASKS = ("attributes", "gender", "landmarks")
#: Head type -> class (constructed as ``cls(backbone.num_features, **kwargs)``).
HEAD_TYPES: dict[str, type[nn.Module]] = {
    "multilabel": MultiLabelHead,
    "per_label": PerLabelHeads,
    "binary": BinaryHead,
    "landmarks": LandmarkHead,
    "attention": SelfAttentionHead,
}
#: Head types each task accepts; the first is the default.
_TASK_TYPES = {
    "attributes": ("multilabel", "per_label", "attention"),
    "gender": ("binary", "attention"),
    "landmarks": ("landmarks", "attention"),
}
_DEFAULT_NUM_LABELS = 40
_DEFAULT_NUM_POINTS = 5
#: Keys of ``FaceModel.config`` recorded for information only (ignored by ``build_model``).
_INFO_KEYS = frozenset({"weights_source", "input_mean", "input_std", "num_features"})


class FaceModel(nn.Module):
    """A :class:`Backbone` plus task heads keyed by task name.

    ``forward(x)`` takes an ``(N, 3, H, W)`` batch normalised with ``backbone.input_mean`` /
    ``input_std`` and returns ``{task: output}`` for the tasks it has. The feature map is
    computed once; heads with ``needs_feature_map`` get it, the others its global average.
    """

    def __init__(self, backbone: Backbone, heads: Mapping[str, nn.Module],
                 backbone_args: Mapping[str, Any] | None = None) -> None:
        super().__init__()
        if not heads:
            raise ValueError("FaceModel needs at least one head")
        unknown = sorted(set(heads) - set(TASKS))
        if unknown:
            raise ValueError(f"unknown task(s) {unknown}; tasks are {list(TASKS)}")
        for task, head in heads.items():
            width = getattr(head, "in_features", backbone.num_features)
            if width != backbone.num_features:
                raise ValueError(f"{task} head expects {width} features, backbone "
                                 f"{backbone.name} gives {backbone.num_features}")
        self.backbone = backbone
        self.heads = nn.ModuleDict({task: heads[task] for task in TASKS if task in heads})
        self.backbone_args = dict(backbone_args or {})

    @property
    def tasks(self) -> tuple[str, ...]:
        return tuple(self.heads)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        features = self.backbone.forward_features(x)
        pooled = None
        outputs: dict[str, torch.Tensor] = {}
        for task, head in self.heads.items():
            if getattr(head, "needs_feature_map", False):
                outputs[task] = head(features)
            else:
                if pooled is None:
                    pooled = self.backbone.pool(features)
                outputs[task] = head(pooled)
        return outputs

    @property
    def config(self) -> dict[str, Any]:
        """Plain-dict spec that :func:`build_model` turns back into this architecture.

        ``pretrained`` is whether ImageNet weights were actually loaded (not merely asked for).
        """
        config: dict[str, Any] = {
            "backbone": self.backbone.name,
            "pretrained": self.backbone.pretrained,
            "weights_source": self.backbone.weights_source,
            "num_features": self.backbone.num_features,
            "input_mean": list(self.backbone.input_mean),
            "input_std": list(self.backbone.input_std),
            "heads": {task: head.spec() for task, head in self.heads.items()},
        }
        if self.backbone_args:
            config["backbone_args"] = dict(self.backbone_args)
        return config


def build_head(task: str, spec: Mapping[str, Any] | None, in_features: int) -> nn.Module:
    """Build the head for ``task`` from its spec dict (``{"type": ..., **kwargs}``)."""
    if task not in _TASK_TYPES:
        raise ValueError(f"unknown task {task!r}; tasks are {list(TASKS)}")
    kwargs = dict(spec or {})
    kind = kwargs.pop("type", _TASK_TYPES[task][0])
    if kind not in _TASK_TYPES[task]:
        raise ValueError(f"head type {kind!r} cannot serve task {task!r} "
                         f"(allowed: {', '.join(_TASK_TYPES[task])})")
    if kind in ("multilabel", "per_label"):
        kwargs.setdefault("num_labels", _DEFAULT_NUM_LABELS)
    if kind == "attention":
        kwargs = _attention_kwargs(task, kwargs)
    try:
        return HEAD_TYPES[kind](in_features, **kwargs)
    except TypeError as error:
        raise ValueError(f"bad {task} head spec {dict(spec or {})}: {error}") from None


def _attention_kwargs(task: str, kwargs: dict[str, Any]) -> dict[str, Any]:
    """Fill ``out_dim`` / ``output_shape`` of an attention head from its task.

    Attributes give ``(num_labels,)``, gender ``()`` and landmarks ``(num_points, 2)`` (with
    ``coord_channels`` on unless the spec says otherwise). A given ``output_shape`` (as in
    ``spec()``) must agree.
    """
    given = kwargs.pop("output_shape", None)
    given = None if given is None else tuple(int(size) for size in given)
    if task == "attributes":
        default = given[0] if given and len(given) == 1 else _DEFAULT_NUM_LABELS
        shape: tuple[int, ...] = (int(kwargs.pop("num_labels", default)),)
    elif task == "gender":
        shape = ()
    else:
        default = given[0] if given and len(given) == 2 else _DEFAULT_NUM_POINTS
        shape = (int(kwargs.pop("num_points", default)), 2)
        kwargs.setdefault("coord_channels", True)  # position-blind attention cannot localise
    if given is not None and given != shape:
        raise ValueError(f"attention head for {task} must output {shape}, got {given}")
    if kwargs.setdefault("out_dim", math.prod(shape)) != math.prod(shape):
        raise ValueError(f"attention head for {task}: out_dim {kwargs['out_dim']} does not "
                         f"match output shape {shape}")
    return {**kwargs, "output_shape": shape}


def build_model(spec: Mapping[str, Any]) -> FaceModel:
    """Build a :class:`FaceModel` from a plain dict (see the module docstring).

    Keys: ``backbone`` (required), ``pretrained`` (bool or weights path, default False),
    ``heads`` (required, task -> head spec), ``backbone_args`` (extra keyword arguments for
    the backbone entrypoint). The informational keys of ``FaceModel.config`` are accepted and
    ignored; any other key raises, so a typo in a YAML file is not silently dropped.
    """
    spec = copy.deepcopy(dict(spec))
    unknown = sorted(set(spec) - {"backbone", "pretrained", "heads", "backbone_args"}
                     - _INFO_KEYS)
    if unknown:
        raise ValueError(f"unknown model spec key(s) {unknown}")
    if "backbone" not in spec or not spec.get("heads"):
        raise ValueError("model spec needs 'backbone' and a non-empty 'heads' mapping")
    backbone_args = dict(spec.get("backbone_args") or {})
    backbone = create_backbone(spec["backbone"], pretrained=spec.get("pretrained", False),
                               **backbone_args)
    heads = {task: build_head(task, head_spec, backbone.num_features)
             for task, head_spec in spec["heads"].items()}
    return FaceModel(backbone, heads, backbone_args=backbone_args)


def count_parameters(model: nn.Module, *, trainable_only: bool = False) -> int:
    """Number of parameter values in ``model`` (only those with ``requires_grad`` if asked)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)
