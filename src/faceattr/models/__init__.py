"""Backbones, task heads and the multi-task :class:`FaceModel`.

``create_backbone(name, pretrained=...)`` builds a registered backbone (``list_backbones()``);
``build_model(spec)`` builds a :class:`FaceModel` from a plain dict (see
:mod:`faceattr.models.multitask`). Importing this package registers every backbone.
"""

from faceattr.models import backbones, efficientnet_lite  # noqa: F401  (register backbones)
from faceattr.models._registry import (
    Backbone,
    create_backbone,
    list_backbones,
    register_backbone,
)
from faceattr.models.heads import (
    BinaryHead,
    LandmarkHead,
    MultiLabelHead,
    PerLabelHeads,
    SelfAttentionHead,
)
from faceattr.models.multitask import TASKS, FaceModel, build_model, count_parameters
from faceattr.models.presets import create_model, list_models

__all__ = [
    "TASKS",
    "Backbone",
    "BinaryHead",
    "FaceModel",
    "LandmarkHead",
    "MultiLabelHead",
    "PerLabelHeads",
    "SelfAttentionHead",
    "build_model",
    "count_parameters",
    "create_backbone",
    "create_model",
    "list_backbones",
    "list_models",
    "register_backbone",
]
