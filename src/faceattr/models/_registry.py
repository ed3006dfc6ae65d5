"""Backbone base class and the backbone registry (``register_backbone`` / ``create_backbone``).

A backbone maps a normalised ``(N, 3, H, W)`` float image batch to

* ``forward_features(x)``: the last feature map ``(N, C, H/s, W/s)`` (``s`` = output stride, 32
  for every registered backbone), and
* ``forward(x)`` == ``forward_pooled(x)``: global-average-pooled features ``(N, C)``,

with ``C == num_features``. Inputs are RGB in ``[0, 1]`` normalised by ``input_mean`` /
``input_std`` (ImageNet statistics except where a backbone's weights say otherwise).
"""

from __future__ import annotations

import difflib
import fnmatch
from collections.abc import Callable
from typing import Any, TypeVar

import torch
from torch import nn

from faceattr.data.transforms import IMAGENET_MEAN, IMAGENET_STD

__all__ = ["Backbone", "create_backbone", "list_backbones", "register_backbone"]


class Backbone(nn.Module):
    """Feature extractor with a known width and a record of where its weights came from.

    Attributes
    ----------
    name : registry name (``"mobilenet_v2"``).
    num_features : channels ``C`` of the feature map and size of the pooled vector.
    pretrained : True only when ImageNet weights were actually loaded.
    weights_source : path or URL the weights were loaded from, None when trained from scratch.
    input_mean, input_std : per-channel RGB normalisation (``[0, 1]`` scale) the weights expect.
    """

    def __init__(self, name: str, num_features: int, *,
                 input_mean: tuple[float, float, float] = IMAGENET_MEAN,
                 input_std: tuple[float, float, float] = IMAGENET_STD) -> None:
        super().__init__()
        self.name = name
        self.num_features = int(num_features)
        self.pretrained = False
        self.weights_source: str | None = None
        self.input_mean = tuple(float(v) for v in input_mean)
        self.input_std = tuple(float(v) for v in input_std)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, 3, H, W)`` image batch -> last feature map ``(N, num_features, h, w)``."""
        raise NotImplementedError

    def pool(self, features: torch.Tensor) -> torch.Tensor:
        """Global average pool a ``(N, C, h, w)`` feature map to ``(N, C)``."""
        return features.mean(dim=(2, 3))

    def forward_pooled(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, 3, H, W)`` image batch -> pooled features ``(N, num_features)``."""
        return self.pool(self.forward_features(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_pooled(x)

    def extra_repr(self) -> str:
        return (f"name={self.name!r}, num_features={self.num_features}, "
                f"pretrained={self.pretrained}, weights_source={self.weights_source!r}")


BackboneFn = Callable[..., Backbone]
_F = TypeVar("_F", bound=BackboneFn)
_BACKBONES: dict[str, BackboneFn] = {}


def register_backbone(fn: _F) -> _F:
    """Register a backbone entrypoint under its function name (raises on a duplicate name).

    The entrypoint takes keyword-only ``pretrained: bool | str`` plus optional keyword
    arguments and returns a :class:`Backbone`.
    """
    name = fn.__name__
    if name in _BACKBONES:
        raise ValueError(f"backbone {name!r} is already registered")
    _BACKBONES[name] = fn
    return fn


def list_backbones(pattern: str = "*") -> list[str]:
    """Sorted names of the registered backbones matching an ``fnmatch`` pattern (``"mobile*"``)."""
    return sorted(name for name in _BACKBONES if fnmatch.fnmatchcase(name, pattern))


def create_backbone(name: str, *, pretrained: bool | str = False, **kwargs: Any) -> Backbone:
    """Build a registered backbone.

    Parameters
    ----------
    name : a name from :func:`list_backbones`.
    pretrained : False for random init; True for ImageNet weights (local package file, torch hub
        cache, then torchvision download; if none can be had a WARNING is logged and the backbone
        trains from scratch with ``pretrained=False``); a path string to load that state-dict
        file (a missing or mismatching file raises).
    **kwargs : passed to the entrypoint; ``None`` values are dropped so CLI defaults never
        override the backbone's own defaults.
    """
    try:
        entry = _BACKBONES[name]
    except KeyError:
        close = difflib.get_close_matches(name, _BACKBONES, n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise ValueError(f"unknown backbone {name!r}{hint} "
                         f"(available: {', '.join(list_backbones())})") from None
    kwargs = {key: value for key, value in kwargs.items() if value is not None}
    return entry(pretrained=pretrained, **kwargs)
