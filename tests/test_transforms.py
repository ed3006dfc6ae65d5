"""Landmarks stay on the same image content through every transform (real images)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from faceattr.data import transforms as T
from faceattr.data.celeba import CelebA
from faceattr.data.mtfl import MTFL


@pytest.fixture(scope="module")
def celeba_samples(celeba_root: Path, celeba_index) -> list[dict]:
    dataset = CelebA(celeba_root, "val", index=celeba_index)
    return [dataset[i] for i in range(0, 4_000, 400)]


@pytest.fixture(scope="module")
def mtfl_samples(mtfl_root: Path) -> list[dict]:
    dataset = MTFL(mtfl_root, "test")
    return [dataset[i] for i in range(0, 2_900, 290)]


def _patch(image: np.ndarray, x: float, y: float, r: int = 3) -> np.ndarray:
    xi, yi = round(x), round(y)
    return image[yi - r: yi + r + 1, xi - r: xi + r + 1].astype(np.float64)


def test_crop_moves_points_exactly(celeba_samples: list[dict]) -> None:
    for sample in celeba_samples:
        out = T.CenterCrop(160)(sample)
        before, after = np.asarray(sample["image"]), np.asarray(out["image"])
        for (x0, y0), (x1, y1) in zip(sample["landmarks"], out["landmarks"], strict=True):
            assert before[int(y0), int(x0)].tolist() == after[int(y1), int(x1)].tolist()


def test_flip_moves_points_and_swaps_pairs(celeba_samples: list[dict]) -> None:
    for sample in celeba_samples:
        out = T.HorizontalFlip()(sample)
        before, after = np.asarray(sample["image"]), np.asarray(out["image"])
        width = before.shape[1]
        # pixel under flipped left eye == pixel under original right eye, mirrored
        for src, dst in ((0, 1), (1, 0), (2, 2), (3, 4), (4, 3)):
            x0, y0 = sample["landmarks"][src]
            x1, y1 = out["landmarks"][dst]
            assert x1 == width - 1 - x0 and y1 == y0
            assert before[int(y0), int(x0)].tolist() == after[int(y1), int(x1)].tolist()
        assert out["landmarks"][0, 0] < out["landmarks"][1, 0]  # left eye still on the left
        twice = T.HorizontalFlip()(out)
        np.testing.assert_allclose(twice["landmarks"], sample["landmarks"])
        assert np.array_equal(np.asarray(twice["image"]), before)


@pytest.mark.parametrize("which", ["celeba_samples", "mtfl_samples"])
def test_resize_crop_keeps_content_and_round_trips(which: str, request) -> None:
    samples = request.getfixturevalue(which)
    pipeline = T.Compose([T.ResizeShorter(256), T.CenterCrop(224)])
    for sample in samples:
        out = pipeline(sample)
        assert out["image"].size == (224, 224)
        back = T.invert_points(out["landmarks"], out["matrix"])
        np.testing.assert_allclose(back, sample["landmarks"], atol=1e-3)
        before = np.asarray(sample["image"].convert("L"))
        after = np.asarray(out["image"].convert("L"))
        scale = 256 / min(sample["image"].size)
        for (x0, y0), (x1, y1) in zip(sample["landmarks"], out["landmarks"], strict=True):
            if 3 <= x1 < 221 and 3 <= y1 < 221 and 3 <= x0 < before.shape[1] - 3:
                # mean intensity around the point agrees (resampling blurs, so a tolerance)
                assert abs(_patch(before, x0, y0, 2).mean()
                           - _patch(after, x1, y1, round(2 * scale)).mean()) < 25


def test_matrix_composes_through_flip(celeba_samples: list[dict]) -> None:
    pipeline = T.Compose([T.ResizeShorter(128), T.CenterCrop(112), T.HorizontalFlip()])
    for sample in celeba_samples:
        out = pipeline(sample)
        mapped = T.invert_points(out["landmarks"], out["matrix"])
        swapped = sample["landmarks"][[1, 0, 2, 4, 3]]
        np.testing.assert_allclose(mapped, swapped, atol=1e-3)


def test_build_gives_normalised_tensors(celeba_samples: list[dict]) -> None:
    out = T.build(224, 256)(celeba_samples[0])
    image = out["image"]
    assert image.shape == (3, 224, 224) and image.dtype == torch.float32
    assert float(image.min()) > -2.2 and float(image.max()) < 2.7
    assert out["landmarks"].dtype == torch.float32 and out["landmarks"].shape == (5, 2)
    assert T.build(112, None).transforms[0].size == 128  # the papers' 256/224 ratio


def test_tensor_and_pil_paths_agree(celeba_samples: list[dict]) -> None:
    sample = celeba_samples[3]
    as_tensor = T.ToTensor()(sample)
    pil_out = T.HorizontalFlip()(T.CenterCrop(150)(sample))
    tensor_out = T.HorizontalFlip()(T.CenterCrop(150)(as_tensor))
    assert torch.equal(T.ToTensor()(pil_out)["image"], tensor_out["image"])
    np.testing.assert_allclose(pil_out["landmarks"], tensor_out["landmarks"].numpy())


def test_random_flip_probability(celeba_samples: list[dict]) -> None:
    import random

    random.seed(0)
    flips = sum(bool(T.RandomHorizontalFlip(0.5)(celeba_samples[0]).get("flipped"))
                for _ in range(400))
    assert 150 < flips < 250
    assert not T.RandomHorizontalFlip(0.0)(celeba_samples[0]).get("flipped")


def test_nan_landmarks_stay_nan(celeba_samples: list[dict]) -> None:
    sample = dict(celeba_samples[0], landmarks=np.full((5, 2), np.nan, np.float32))
    assert np.isnan(T.build(224, 256, train=True)(sample)["landmarks"].numpy()).all()
