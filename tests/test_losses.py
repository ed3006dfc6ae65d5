"""Losses against hand computations, torch references, masking and the real CelebA labels."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torchvision.ops import sigmoid_focal_loss

from faceattr.data.celeba import read_attributes
from faceattr.losses import (
    AttributeLoss,
    FocalLoss,
    LandmarkLoss,
    MaskedBCEWithLogits,
    MultiTaskLoss,
    build_loss,
    huber,
    l1,
    l2,
    positive_weights,
    smooth_l1,
    wing,
)

NAN = float("nan")


def _sig(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z))


def _bce(z: float, y: float, pw: float = 1.0) -> float:
    return -(pw * y * math.log(_sig(z)) + (1 - y) * math.log(1 - _sig(z)))


def _t(values, **kw) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float64, **kw)


# ----------------------------------------------------------------------------- positive_weights

def test_positive_weights_is_neg_over_pos_ignoring_nan() -> None:
    labels = np.array([[1, 0, 1],
                       [0, 0, 1],
                       [0, 1, NAN],
                       [1, 0, 0]])
    expected = [2 / 2, 3 / 1, 1 / 2]  # column 2: NaN ignored -> 1 negative, 2 positives
    torch.testing.assert_close(positive_weights(labels), torch.tensor(expected))
    torch.testing.assert_close(positive_weights(torch.from_numpy(labels)), torch.tensor(expected))
    assert positive_weights(labels).dtype == torch.float32


def test_positive_weights_guards_and_validation() -> None:
    labels = np.array([[0, 1, 1], [0, 1, 0], [0, 1, 0]], dtype=np.uint8)  # uint8 like the reader
    with pytest.warns(RuntimeWarning, match=r"\[0, 1\]"):
        weights = positive_weights(labels)
    torch.testing.assert_close(weights, torch.tensor([1.0, 1.0, 2.0]))  # no pos / no neg -> 1
    clamped = positive_weights(np.array([[1, 1], [0, 0], [0, 0], [0, 0]]), max_weight=2.5)
    torch.testing.assert_close(clamped, torch.tensor([2.5, 2.5]))
    with pytest.raises(ValueError, match="1/0"):
        positive_weights(np.array([[1, -1], [0, 1]]))  # raw CelebA -1 must not slip through
    with pytest.raises(ValueError, match=r"\(N, A\)"):
        positive_weights(np.array([1, 0, 1]))


# ------------------------------------------------------------------------------ masked BCE

def test_masked_bce_hand_value_and_nan_ignored() -> None:
    logits = _t([0.0, 2.0, -1.0], requires_grad=True)
    targets = _t([1.0, 0.0, NAN])
    loss = MaskedBCEWithLogits()(logits, targets)
    expected = (math.log(2.0) + math.log(1 + math.exp(2.0))) / 2  # bce(0,1), bce(2,0)
    assert loss.item() == pytest.approx(expected, rel=1e-12)
    loss.backward()
    assert logits.grad[2].item() == 0.0 and torch.isfinite(logits.grad).all()
    # d/dz of the mean of 2 terms: (sigmoid(z) - y) / 2
    assert logits.grad[0].item() == pytest.approx((0.5 - 1) / 2)
    assert logits.grad[1].item() == pytest.approx(_sig(2.0) / 2)


def test_masked_bce_pos_weight_hand_value() -> None:
    logits, targets = _t([[0.5, -0.3]]), _t([[1.0, 0.0]])
    loss = MaskedBCEWithLogits(pos_weight=torch.tensor([3.0, 7.0]))(logits, targets)
    assert loss.item() == pytest.approx((_bce(0.5, 1, 3.0) + _bce(-0.3, 0, 7.0)) / 2, rel=1e-6)


@pytest.mark.parametrize("with_pos_weight", [False, True])
def test_masked_bce_equals_torch_on_observed_subset(with_pos_weight: bool) -> None:
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(16, 6, generator=g, requires_grad=True)
    targets = (torch.rand(16, 6, generator=g) > 0.6).float()
    targets[torch.rand(16, 6, generator=g) < 0.3] = NAN
    pw = torch.rand(6, generator=g) * 5 if with_pos_weight else None
    ours = MaskedBCEWithLogits(pos_weight=pw)(logits, targets)
    (grad_ours,) = torch.autograd.grad(ours, logits)
    obs = ~torch.isnan(targets)
    pw_full = pw.expand(16, 6)[obs] if pw is not None else None
    ref = F.binary_cross_entropy_with_logits(logits[obs], targets[obs], pos_weight=pw_full)
    (grad_ref,) = torch.autograd.grad(ref, logits)
    torch.testing.assert_close(ours, ref)
    torch.testing.assert_close(grad_ours, grad_ref)
    assert (grad_ours[~obs] == 0).all()
    total = MaskedBCEWithLogits(pos_weight=pw, reduction="sum")(logits, targets)
    torch.testing.assert_close(total, ref * obs.sum())
    none = MaskedBCEWithLogits(pos_weight=pw, reduction="none")(logits, targets)
    assert none.shape == (16, 6) and (none[~obs] == 0).all()


def test_masked_bce_all_missing_is_zero_with_grad() -> None:
    logits = torch.randn(4, 3, requires_grad=True)
    loss = MaskedBCEWithLogits()(logits, torch.full((4, 3), NAN))
    assert loss.item() == 0.0 and loss.requires_grad
    loss.backward()
    assert (logits.grad == 0).all()


def test_masked_bce_rejects_shape_mismatch() -> None:
    with pytest.raises(ValueError, match="shape"):
        MaskedBCEWithLogits()(torch.zeros(4, 1), torch.zeros(4))


def test_single_logit_bce_equals_two_class_cross_entropy() -> None:
    z, y = _t([1.3, -0.4, 0.2]), _t([1.0, 0.0, 1.0])
    two_class = torch.stack([torch.zeros_like(z), z], dim=1)  # softmax(0, z) = sigmoid(z)
    torch.testing.assert_close(MaskedBCEWithLogits()(z, y), F.cross_entropy(two_class, y.long()))


# ------------------------------------------------------------------------------ focal

def test_focal_hand_value() -> None:
    z, y = _t([1.0, -0.5]), _t([1.0, 0.0])
    p1, p2 = _sig(1.0), _sig(-0.5)
    l1_ = 0.25 * (1 - p1) ** 2 * -math.log(p1)  # positive: p_t = p, alpha_t = alpha
    l2_ = 0.75 * p2 ** 2 * -math.log(1 - p2)  # negative: p_t = 1 - p, alpha_t = 1 - alpha
    loss = FocalLoss(gamma=2.0, alpha=0.25)(z, y)
    assert loss.item() == pytest.approx((l1_ + l2_) / 2, rel=1e-12)


def test_focal_matches_torchvision_and_reduces_to_bce() -> None:
    g = torch.Generator().manual_seed(1)
    logits = torch.randn(10, 5, generator=g) * 2
    targets = (torch.rand(10, 5, generator=g) > 0.5).float()
    targets[torch.rand(10, 5, generator=g) < 0.25] = NAN
    obs = ~torch.isnan(targets)
    ref = sigmoid_focal_loss(logits[obs], targets[obs], alpha=0.3, gamma=1.5, reduction="mean")
    torch.testing.assert_close(FocalLoss(gamma=1.5, alpha=0.3)(logits, targets), ref)
    torch.testing.assert_close(FocalLoss(gamma=0.0)(logits, targets),
                               MaskedBCEWithLogits()(logits, targets))
    attr = AttributeLoss(mode="concat", focal_gamma=1.5, focal_alpha=0.3)
    torch.testing.assert_close(attr(logits, targets), ref)


# ------------------------------------------------------------------- attribute loss modes

def test_concat_equals_per_head_without_missing_labels() -> None:
    g = torch.Generator().manual_seed(2)
    logits = torch.randn(8, 40, generator=g, requires_grad=True)
    targets = (torch.rand(8, 40, generator=g) > 0.7).float()
    pw = torch.rand(40, generator=g) * 10 + 0.1
    for kwargs in ({}, {"pos_weight": pw}, {"pos_weight": pw, "focal_gamma": 2.0}):
        concat = AttributeLoss(mode="concat", **kwargs)(logits, targets)
        per_head = AttributeLoss(mode="per_head", **kwargs)(logits, targets)
        torch.testing.assert_close(concat, per_head)
        g_concat, = torch.autograd.grad(concat, logits)
        g_head, = torch.autograd.grad(per_head, logits)
        torch.testing.assert_close(g_concat, g_head)
    single = MaskedBCEWithLogits(pos_weight=pw)(logits, targets)
    torch.testing.assert_close(AttributeLoss(pos_weight=pw)(logits, targets), single)


def test_concat_and_per_head_differ_with_missing_labels() -> None:
    logits = _t([[0.0, 1.0], [2.0, -1.0], [0.5, 0.5]])
    targets = _t([[1.0, 0.0], [0.0, NAN], [1.0, NAN]])  # head 0: 3 labels, head 1: 1 label
    head0 = [_bce(0.0, 1), _bce(2.0, 0), _bce(0.5, 1)]
    head1 = [_bce(1.0, 0)]
    concat = (sum(head0) + sum(head1)) / 4
    per_head = (sum(head0) / 3 + sum(head1) / 1) / 2
    assert abs(concat - per_head) > 0.05
    got_concat = AttributeLoss(mode="concat")(logits, targets).item()
    got_per_head = AttributeLoss(mode="per_head")(logits, targets).item()
    assert got_concat == pytest.approx(concat, rel=1e-12)
    assert got_per_head == pytest.approx(per_head, rel=1e-12)
    # concat still equals the single-head masked BCE
    assert got_concat == pytest.approx(MaskedBCEWithLogits()(logits, targets).item(), rel=1e-12)
    heads = AttributeLoss().head_losses(logits, targets)
    torch.testing.assert_close(heads, _t([sum(head0) / 3, head1[0]]))


def test_per_head_equal_counts_still_equal_and_unlabelled_head_left_out() -> None:
    logits = _t([[0.3, -1.0, 2.0], [1.5, 0.2, -0.7]])
    # every observed head has 1 label, head 2 has none -> modes coincide
    targets = _t([[1.0, NAN, NAN], [NAN, 0.0, NAN]])
    expected = (_bce(0.3, 1) + _bce(0.2, 0)) / 2  # head 2 not counted as a zero
    for mode in ("concat", "per_head"):
        assert AttributeLoss(mode=mode)(logits, targets).item() == pytest.approx(expected)
    nothing = torch.full((2, 3), NAN, dtype=torch.float64)
    logits.requires_grad_(True)
    loss = AttributeLoss(mode="per_head")(logits, nothing)
    loss.backward()
    assert loss.item() == 0.0 and (logits.grad == 0).all()


def test_attribute_loss_validates_arguments() -> None:
    with pytest.raises(ValueError, match="mode"):
        AttributeLoss(mode="sum")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="focal_gamma"):
        AttributeLoss(focal_alpha=0.25)


# ------------------------------------------------------------------------------ landmarks

def _landmark_pair() -> tuple[torch.Tensor, torch.Tensor, list[float]]:
    """Two images; image 1 has no landmarks. Errors of image 0 are the returned list."""
    target = torch.full((2, 5, 2), NAN, dtype=torch.float64)
    target[0] = 0.5
    errors = [0.01, -0.03, 0.2, 0.0, -0.05, 0.004, 0.5, -0.1, 0.02, 0.07]
    pred = torch.rand(2, 5, 2, dtype=torch.float64)
    pred[0] = target[0] + _t(errors).reshape(5, 2)
    return pred, target, errors


def test_l1_l2_hand_values_ignore_missing_image() -> None:
    pred, target, errors = _landmark_pair()
    assert l1(pred, target).item() == pytest.approx(sum(abs(e) for e in errors) / 10)
    assert l2(pred, target).item() == pytest.approx(sum(e * e for e in errors) / 10)
    assert LandmarkLoss("l1")(pred, target).item() == pytest.approx(l1(pred, target).item())


def test_smooth_l1_and_huber_hand_values() -> None:
    pred, target = _t([[0.51, 0.45]]), _t([[0.5, 0.5]])  # errors 0.01 (inside), 0.05 (outside)
    beta = delta = 0.02
    sl1 = (0.5 * 0.01 ** 2 / beta + (0.05 - 0.5 * beta)) / 2
    hub = (0.5 * 0.01 ** 2 + delta * (0.05 - 0.5 * delta)) / 2
    assert smooth_l1(pred, target, beta=beta).item() == pytest.approx(sl1, rel=1e-9)
    assert huber(pred, target, delta=delta).item() == pytest.approx(hub, rel=1e-9)
    assert smooth_l1(pred, target).item() == pytest.approx(sl1, rel=1e-9)  # defaults 0.02
    assert huber(pred, target).item() == pytest.approx(hub, rel=1e-9)


@pytest.mark.parametrize(("kind", "param"), [("smooth_l1", 0.05), ("huber", 0.03)])
def test_smooth_l1_and_huber_match_torch_on_observed_images(kind: str, param: float) -> None:
    g = torch.Generator().manual_seed(3)
    target = torch.rand(12, 5, 2, generator=g)
    pred = target + torch.randn(12, 5, 2, generator=g) * 0.05
    target[[1, 4, 9]] = NAN
    obs = ~torch.isnan(target).any(dim=(1, 2))
    if kind == "smooth_l1":
        ours = LandmarkLoss(kind, beta=param)(pred, target)
        ref = F.smooth_l1_loss(pred[obs], target[obs], beta=param)
    else:
        ours = LandmarkLoss(kind, delta=param)(pred, target)
        ref = F.huber_loss(pred[obs], target[obs], delta=param)
    torch.testing.assert_close(ours, ref)
    torch.testing.assert_close(LandmarkLoss("l2")(pred, target), F.mse_loss(pred[obs], target[obs]))


def test_wing_hand_values_on_both_branches() -> None:
    w, eps = 0.05, 0.01
    c = w - w * math.log(1 + w / eps)
    pred, target = _t([[0.51, 0.3]]), _t([[0.5, 0.5]])  # |x| = 0.01 < w, |x| = 0.2 >= w
    expected = (w * math.log(1 + 0.01 / eps) + (0.2 - c)) / 2
    assert wing(pred, target).item() == pytest.approx(expected, rel=1e-9)  # defaults 0.05/0.01
    w2, eps2 = 10.0, 2.0  # Feng et al.'s pixel setting, errors in pixels
    pred_px, target_px = _t([3.0, -25.0]), _t([0.0, 0.0])
    c2 = w2 - w2 * math.log(1 + w2 / eps2)
    expected_px = (w2 * math.log(1 + 3.0 / eps2) + (25.0 - c2)) / 2
    got = LandmarkLoss("wing", w=w2, epsilon=eps2)(pred_px, target_px).item()
    assert got == pytest.approx(expected_px, rel=1e-12)


def test_wing_is_continuous_at_w() -> None:
    w, eps = 0.05, 0.01
    x = _t([w - 1e-12, w, w + 1e-12])
    values = LandmarkLoss("wing", w=w, epsilon=eps)
    vals = [values(x[i:i + 1], torch.zeros(1, dtype=torch.float64)).item() for i in range(3)]
    assert vals[1] == pytest.approx(w * math.log(1 + w / eps), rel=1e-12)
    assert max(vals) - min(vals) < 1e-10


def test_wing_with_pixel_defaults_on_unit_coordinates_is_scaled_l1() -> None:
    target = torch.full((4, 5, 2), 0.5, dtype=torch.float64)
    pred = target + 0.01  # every error far below w = 10 -> log branch ~ (w / eps) |x|
    ratio = (wing(pred, target, w=10.0, epsilon=2.0) / l1(pred, target)).item()
    assert ratio == pytest.approx(5.0, rel=0.01)


@pytest.mark.parametrize("kind", ["l1", "l2", "smooth_l1", "huber", "wing"])
def test_landmark_all_missing_is_zero_with_finite_grad(kind: str) -> None:
    pred = torch.rand(3, 5, 2, requires_grad=True)
    loss = LandmarkLoss(kind)(pred, torch.full((3, 5, 2), NAN))
    loss.backward()
    assert loss.item() == 0.0
    assert torch.isfinite(pred.grad).all() and (pred.grad == 0).all()


def test_landmark_loss_validates_arguments() -> None:
    with pytest.raises(ValueError, match="unknown landmark loss"):
        LandmarkLoss("l3")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="beta"):
        LandmarkLoss("huber", beta=0.1)
    with pytest.raises(ValueError, match="epsilon"):
        LandmarkLoss("wing", epsilon=0.0)
    with pytest.raises(ValueError, match="shape"):
        l1(torch.zeros(2, 5, 2), torch.zeros(2, 10))


# ------------------------------------------------------------------------------ multi-task

def _batch(n: int = 6, seed: int = 4) -> tuple[dict, dict]:
    g = torch.Generator().manual_seed(seed)
    outputs = {
        "attributes": torch.randn(n, 40, generator=g, requires_grad=True),
        "gender": torch.randn(n, generator=g, requires_grad=True),
        "landmarks": torch.rand(n, 5, 2, generator=g, requires_grad=True),
    }
    targets = {
        "attributes": (torch.rand(n, 40, generator=g) > 0.5).float(),
        "gender": (torch.rand(n, generator=g) > 0.5).float(),
        "landmarks": torch.rand(n, 5, 2, generator=g),
    }
    targets["landmarks"][0] = NAN
    targets["attributes"][1, 3:] = NAN  # an MTFL-like row
    return outputs, targets


def _task_losses() -> dict[str, torch.nn.Module]:
    return {"attributes": AttributeLoss(), "gender": MaskedBCEWithLogits(),
            "landmarks": LandmarkLoss("l1")}


def test_fixed_weighting_is_lambda_weighted_sum() -> None:
    outputs, targets = _batch()
    losses = _task_losses()
    mtl = MultiTaskLoss(losses, weighting="fixed", weights={"gender": 1.0, "landmarks": 20.0})
    total, parts = mtl(outputs, targets)
    singles = {t: losses[t](outputs[t], targets[t]) for t in losses}
    torch.testing.assert_close(total, singles["attributes"] + singles["gender"]
                               + 20.0 * singles["landmarks"])
    for task in losses:
        torch.testing.assert_close(parts[task], singles[task].detach())
        assert not parts[task].requires_grad
    assert total.requires_grad and list(mtl.parameters()) == []
    assert mtl.task_weights() == {"attributes": 1.0, "gender": 1.0, "landmarks": 20.0}


def test_uncertainty_weighting_value_and_gradients() -> None:
    outputs, targets = _batch()
    mtl = MultiTaskLoss(_task_losses(), weighting="uncertainty")
    s = {"attributes": 0.3, "gender": -0.5, "landmarks": 1.2}
    with torch.no_grad():
        for task, value in s.items():
            mtl.log_vars[task].fill_(value)
    total, parts = mtl(outputs, targets)
    expected = sum(math.exp(-s[t]) * parts[t].item() + s[t] for t in s)
    assert total.item() == pytest.approx(expected, rel=1e-6)
    total.backward()
    for task in s:  # d/ds (exp(-s) L + s) = 1 - exp(-s) L
        grad = mtl.log_vars[task].grad.item()
        assert grad == pytest.approx(1 - math.exp(-s[task]) * parts[task].item(), rel=1e-5)
        assert outputs[task].grad is not None and outputs[task].grad.abs().sum() > 0
    names = {n for n, _ in mtl.named_parameters()}
    assert names == {f"log_vars.{t}" for t in s}


def test_uncertainty_log_vars_move_toward_log_of_fixed_losses() -> None:
    outputs, targets = _batch()
    outputs = {k: v.detach() for k, v in outputs.items()}  # fixed task losses
    mtl = MultiTaskLoss(_task_losses(), weighting="uncertainty")
    _, parts = mtl(outputs, targets)
    goal = {t: math.log(parts[t].item()) for t in parts}
    sgd = torch.optim.SGD(mtl.parameters(), lr=0.1)
    dist0 = {t: abs(goal[t]) for t in goal}
    for _ in range(5):
        sgd.zero_grad()
        mtl(outputs, targets)[0].backward()
        sgd.step()
    for task in goal:
        assert abs(mtl.log_vars[task].item() - goal[task]) < dist0[task]
    adam = torch.optim.Adam(mtl.parameters(), lr=0.05)
    for _ in range(400):
        adam.zero_grad()
        mtl(outputs, targets)[0].backward()
        adam.step()
    for task in goal:
        assert mtl.log_vars[task].item() == pytest.approx(goal[task], abs=0.02)
        assert mtl.task_weights()[task] == pytest.approx(1 / parts[task].item(), rel=0.03)


@pytest.mark.parametrize("weighting", ["fixed", "uncertainty"])
def test_all_missing_task_contributes_zero(weighting: str) -> None:
    outputs, targets = _batch()
    targets["gender"] = torch.full_like(targets["gender"], NAN)
    targets["landmarks"] = torch.full_like(targets["landmarks"], NAN)
    mtl = MultiTaskLoss(_task_losses(), weighting=weighting)
    total, parts = mtl(outputs, targets)
    assert parts["gender"].item() == 0.0 and parts["landmarks"].item() == 0.0
    assert torch.isfinite(total)
    only_attr = AttributeLoss()(outputs["attributes"], targets["attributes"])
    torch.testing.assert_close(total, only_attr)  # s_attr = 0, so exp(-0) L + 0 = L
    total.backward()
    for task in ("gender", "landmarks"):
        assert torch.isfinite(outputs[task].grad).all() and (outputs[task].grad == 0).all()
        if weighting == "uncertainty":
            assert mtl.log_vars[task].grad.item() == 0.0
    assert outputs["attributes"].grad.abs().sum() > 0


def test_multitask_validation() -> None:
    with pytest.raises(ValueError, match="unknown task"):
        MultiTaskLoss({"landmark": LandmarkLoss()})
    with pytest.raises(ValueError, match="no loss"):
        MultiTaskLoss({"gender": MaskedBCEWithLogits()}, weights={"landmarks": 2.0})
    with pytest.raises(ValueError, match="only for weighting='fixed'"):
        MultiTaskLoss({"gender": MaskedBCEWithLogits()}, "uncertainty", weights={"gender": 1.0})
    outputs, targets = _batch()
    del targets["gender"]
    with pytest.raises(KeyError, match="gender"):
        MultiTaskLoss(_task_losses())(outputs, targets)


# ------------------------------------------------------------------------------ build_loss

def test_build_loss_from_spec() -> None:
    spec = {"attributes": {"pos_weight": True, "mode": "per_head"}, "gender": {},
            "landmarks": {"kind": "wing", "w": 0.04}, "weighting": "fixed",
            "weights": {"gender": 1.0, "landmarks": 2.0}}
    pw = torch.linspace(0.5, 4.0, 40)
    mtl = build_loss(spec, attr_pos_weight=pw)
    assert mtl.tasks == ("attributes", "gender", "landmarks")
    attr, lm = mtl.task_losses["attributes"], mtl.task_losses["landmarks"]
    assert isinstance(attr, AttributeLoss) and attr.mode == "per_head"
    torch.testing.assert_close(attr.pos_weight, pw)
    assert isinstance(lm, LandmarkLoss) and lm.params == {"w": 0.04, "epsilon": 0.01}
    assert mtl.task_weights() == {"attributes": 1.0, "gender": 1.0, "landmarks": 2.0}
    outputs, targets = _batch()
    total, parts = mtl(outputs, targets)
    assert set(parts) == set(mtl.tasks) and torch.isfinite(total)

    small = build_loss({"gender": None, "landmarks": {}, "attributes": False,
                        "weighting": "uncertainty"})
    assert small.tasks == ("gender", "landmarks") and len(list(small.parameters())) == 2
    with pytest.raises(ValueError, match="attr_pos_weight"):
        build_loss({"attributes": {"pos_weight": True}})
    with pytest.raises(ValueError, match="unknown loss spec key"):
        build_loss({"gender": {}, "weigths": {}})
    with pytest.raises(ValueError, match="unknown option"):
        build_loss({"attributes": {"pos_weigth": True}})
    with pytest.raises(ValueError, match="no task"):
        build_loss({"weighting": "fixed"})


# ------------------------------------------------------------------------ real CelebA labels

def test_positive_weights_on_celeba_train_split(celeba_root: Path, celeba_index) -> None:
    names, files, labels = read_attributes(celeba_root / "list_attr_celeba.txt")
    train = celeba_index.select("train")
    row_of = {f: i for i, f in enumerate(files)}
    rows = np.array([row_of[celeba_index.files[r]] for r in train])
    train_labels = labels[rows]
    assert len(train) > 100 and train_labels.shape == (len(train), 40)
    np.testing.assert_array_equal(train_labels, celeba_index.attrs[train])
    weights = positive_weights(train_labels).numpy()

    pos = train_labels.sum(axis=0).astype(np.float64)
    neg = len(train) - pos
    assert (pos > 0).all() and (neg > 0).all()
    np.testing.assert_allclose(weights, neg / pos, rtol=1e-6)
    male = names.index("Male")
    p = train_labels[:, male].mean()
    assert 0.3 < p < 0.5  # CelebA is about 42 % male
    assert weights[male] == pytest.approx((1 - p) / p, rel=1e-6)
    assert 1.0 < weights[male] < 2.5
    rare = names.index("Bald")  # about 2 % of CelebA
    assert weights[rare] > 20 and weights[rare] == weights.max()
    assert (weights[train_labels.mean(axis=0) < 0.5] > 1).all()
