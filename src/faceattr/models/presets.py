"""Named whole-model presets: ``create_model("mobilenet_v2_multitask")``, ``list_models()``.

A name is ``<backbone>_<layout>`` for every registered backbone and every layout below; the
preset is just a :func:`~faceattr.models.build_model` spec, so anything a preset can do a YAML
config can do too.
"""

from __future__ import annotations

import copy
import fnmatch
from typing import Any

from faceattr.models._registry import list_backbones
from faceattr.models.multitask import FaceModel, build_model

#: Head layouts: paper 000's single head and 40 heads, paper 004's tasks, and all three.
LAYOUTS: dict[str, dict[str, Any]] = {
    "attr40": {"attributes": {"type": "multilabel", "num_labels": 40, "dropout": 0.2}},
    "attr40_heads": {"attributes": {"type": "per_label", "num_labels": 40, "dropout": 0.2}},
    "gender": {"gender": {"type": "binary"}},
    "landmarks": {"landmarks": {"type": "landmarks"}},
    "gender_landmarks": {"gender": {"type": "binary"}, "landmarks": {"type": "landmarks"}},
    "gender_landmarks_attention": {"gender": {"type": "attention", "d_k": 128},
                                   "landmarks": {"type": "attention", "d_k": 128}},
    "multitask": {"attributes": {"type": "multilabel", "num_labels": 40, "dropout": 0.2},
                  "gender": {"type": "binary"}, "landmarks": {"type": "landmarks"}},
}


def list_models(pattern: str = "*") -> list[str]:
    """Preset names matching an fnmatch ``pattern`` (e.g. ``"*_multitask"``), sorted."""
    names = [f"{b}_{layout}" for b in list_backbones() for layout in LAYOUTS]
    return sorted(n for n in names if fnmatch.fnmatchcase(n, pattern))


def create_model(name: str, *, pretrained: bool | str = True) -> FaceModel:
    """Build a preset; ``pretrained`` loads ImageNet weights into the backbone when it can
    (offline: MobileNetV2 and EfficientNet-Lite0), else warns and starts from scratch."""
    for layout in sorted(LAYOUTS, key=len, reverse=True):
        suffix = f"_{layout}"
        if name.endswith(suffix) and name[: -len(suffix)] in list_backbones():
            return build_model({"backbone": name[: -len(suffix)], "pretrained": pretrained,
                                "heads": copy.deepcopy(LAYOUTS[layout])})
    raise ValueError(f"unknown model {name!r}; see faceattr.list_models()")
