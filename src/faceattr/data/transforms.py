"""Landmark-aware transforms on sample dicts.

A sample is a dict with at least ``"image"`` (PIL image or ``(3, H, W)`` tensor) and
optionally ``"landmarks"`` (``(5, 2)`` float array of ``(x, y)`` pixels, NaN when unknown).
Every geometric transform moves the landmarks with the image and composes its affine map
into ``"matrix"`` (a ``(2, 3)`` float64 array mapping original-image pixels to current pixels),
so predictions can be mapped back with :func:`invert_points`.

Pixel convention: pixel centres at integer coordinates, x to the right, y down. A resize by
``s`` maps ``x -> (x + 0.5) * s - 0.5``; a horizontal flip of width ``W`` maps
``x -> W - 1 - x`` and swaps left/right points (eyes and mouth corners).

Image kernels come from ``torchvision.transforms.v2.functional``; only the landmark arithmetic
lives here.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from torchvision.transforms.v2 import functional as TF

#: ImageNet mean and std (RGB, [0, 1] scale), the normalisation of every pretrained backbone.
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
#: Landmark index pairs that exchange places under a horizontal flip (l/r eye, l/r mouth).
FLIP_PAIRS = ((0, 1), (3, 4))

Sample = dict[str, Any]


def image_size(image: Any) -> tuple[int, int]:
    """``(width, height)`` of a PIL image or a ``(..., H, W)`` tensor."""
    height, width = TF.get_size(image)
    return width, height


def _apply_affine(sample: Sample, affine: np.ndarray) -> None:
    """Compose a (2, 3) affine into sample['matrix'] and move sample['landmarks'] by it."""
    full = np.vstack([affine, [0.0, 0.0, 1.0]])
    previous = sample.get("matrix")
    base = np.eye(3) if previous is None else np.vstack([previous, [0.0, 0.0, 1.0]])
    sample["matrix"] = (full @ base)[:2]
    points = sample.get("landmarks")
    if points is not None:
        moved = _numpy(points).astype(np.float64) @ affine[:, :2].T + affine[:, 2]
        sample["landmarks"] = _like(moved.astype(np.float32), points)


def _numpy(points: Any) -> np.ndarray:
    return points.detach().cpu().numpy() if isinstance(points, torch.Tensor) else np.asarray(points)


def _like(array: np.ndarray, reference: Any) -> Any:
    """Return ``array`` as a tensor if ``reference`` is one (transforms keep the input type)."""
    return torch.from_numpy(array) if isinstance(reference, torch.Tensor) else array


def invert_points(points: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Map ``(..., 2)`` points from transformed pixels back to original pixels."""
    full = np.vstack([np.asarray(matrix, dtype=np.float64), [0.0, 0.0, 1.0]])
    inverse = np.linalg.inv(full)[:2]
    return (np.asarray(points, dtype=np.float64) @ inverse[:, :2].T + inverse[:, 2]).astype(
        np.float32)


class Compose:
    """Apply transforms in order."""

    def __init__(self, transforms: Sequence[Callable[[Sample], Sample]]) -> None:
        self.transforms = list(transforms)

    def __call__(self, sample: Sample) -> Sample:
        for transform in self.transforms:
            sample = transform(sample)
        return sample

    def __repr__(self) -> str:
        return f"Compose({self.transforms!r})"


class ResizeShorter:
    """Resize so the shorter side is ``size`` pixels (aspect ratio kept; bilinear, antialiased)."""

    def __init__(self, size: int) -> None:
        self.size = int(size)

    def __call__(self, sample: Sample) -> Sample:
        width, height = image_size(sample["image"])
        scale = self.size / min(width, height)
        new_w, new_h = max(1, round(width * scale)), max(1, round(height * scale))
        sample = dict(sample)
        sample["image"] = TF.resize(sample["image"], [new_h, new_w], antialias=True)
        sx, sy = new_w / width, new_h / height
        _apply_affine(sample, np.array([[sx, 0, 0.5 * sx - 0.5], [0, sy, 0.5 * sy - 0.5]]))
        return sample

    def __repr__(self) -> str:
        return f"ResizeShorter({self.size})"


class CenterCrop:
    """Crop the central ``size`` x ``size`` square (same offsets as torchvision's center_crop)."""

    def __init__(self, size: int) -> None:
        self.size = int(size)

    def __call__(self, sample: Sample) -> Sample:
        width, height = image_size(sample["image"])
        if width < self.size or height < self.size:
            raise ValueError(f"cannot centre-crop {self.size} from a {width}x{height} image")
        top = round((height - self.size) / 2.0)
        left = round((width - self.size) / 2.0)
        sample = dict(sample)
        sample["image"] = TF.crop(sample["image"], top, left, self.size, self.size)
        _apply_affine(sample, np.array([[1.0, 0, -left], [0, 1.0, -top]]))
        return sample

    def __repr__(self) -> str:
        return f"CenterCrop({self.size})"


class HorizontalFlip:
    """Mirror the image, map ``x -> W - 1 - x`` and swap left/right landmarks (always applied)."""

    def __init__(self, pairs: Sequence[tuple[int, int]] = FLIP_PAIRS) -> None:
        self.pairs = tuple(pairs)

    def __call__(self, sample: Sample) -> Sample:
        width, _ = image_size(sample["image"])
        sample = dict(sample)
        sample["image"] = TF.horizontal_flip(sample["image"])
        _apply_affine(sample, np.array([[-1.0, 0, width - 1.0], [0, 1.0, 0]]))
        points = sample.get("landmarks")
        if points is not None:
            swapped = _numpy(points).astype(np.float32, copy=True)
            for a, b in self.pairs:
                swapped[[a, b]] = swapped[[b, a]]
            sample["landmarks"] = _like(swapped, points)
        sample["flipped"] = not sample.get("flipped", False)
        return sample

    def __repr__(self) -> str:
        return "HorizontalFlip()"


class RandomHorizontalFlip(HorizontalFlip):
    """:class:`HorizontalFlip` with probability ``p`` (uses Python's ``random``)."""

    def __init__(self, p: float = 0.5, pairs: Sequence[tuple[int, int]] = FLIP_PAIRS) -> None:
        super().__init__(pairs)
        self.p = float(p)

    def __call__(self, sample: Sample) -> Sample:
        return super().__call__(sample) if random.random() < self.p else sample

    def __repr__(self) -> str:
        return f"RandomHorizontalFlip(p={self.p})"


class ToTensor:
    """PIL image -> ``(3, H, W)`` uint8 tensor; landmarks -> float32 tensor."""

    def __call__(self, sample: Sample) -> Sample:
        sample = dict(sample)
        sample["image"] = TF.pil_to_tensor(sample["image"]) if not isinstance(
            sample["image"], torch.Tensor) else sample["image"]
        if sample.get("landmarks") is not None:
            sample["landmarks"] = torch.as_tensor(np.asarray(sample["landmarks"]),
                                                  dtype=torch.float32)
        return sample

    def __repr__(self) -> str:
        return "ToTensor()"


class Normalize:
    """uint8 or float image tensor -> float32 in [0, 1], then ``(x - mean) / std`` per channel."""

    def __init__(self, mean: Sequence[float] = IMAGENET_MEAN,
                 std: Sequence[float] = IMAGENET_STD) -> None:
        self.mean, self.std = list(mean), list(std)

    def __call__(self, sample: Sample) -> Sample:
        sample = dict(sample)
        image = TF.to_dtype(sample["image"], torch.float32, scale=True)
        sample["image"] = TF.normalize(image, self.mean, self.std)
        return sample

    def __repr__(self) -> str:
        return f"Normalize(mean={self.mean}, std={self.std})"


def normalize_batch(images: torch.Tensor, mean: Sequence[float] = IMAGENET_MEAN,
                    std: Sequence[float] = IMAGENET_STD) -> torch.Tensor:
    """``(N, 3, H, W)`` uint8 batch -> float32 normalised batch, in one vectorised pass.

    Equal to applying :class:`Normalize` per sample, but much cheaper on a CPU: used by the
    training loop with the decode-once cache, whose samples stay uint8 until batched. A
    channels-last input gives a channels-last output without any extra copy.
    """
    channels_last = images.is_contiguous(memory_format=torch.channels_last)
    nhwc = images.permute(0, 2, 3, 1)  # a view; contiguous when the input is channels-last
    scale = torch.tensor([1.0 / (255.0 * s) for s in std], dtype=torch.float32)
    shift = torch.tensor([-m / s for m, s in zip(mean, std, strict=True)], dtype=torch.float32)
    out = nhwc.to(torch.float32).mul_(scale).add_(shift)  # x / 255 / std - mean / std
    out = out.permute(0, 3, 1, 2)
    return out if channels_last else out.contiguous()


def build(img_size: int = 224, resize: int | None = 256, *, train: bool = False,
          flip_p: float = 0.5, normalize: bool = True,
          mean: Sequence[float] = IMAGENET_MEAN, std: Sequence[float] = IMAGENET_STD) -> Compose:
    """The papers' pipeline: resize shorter side to ``resize``, centre-crop ``img_size``,
    (train only) random horizontal flip, to tensor, normalisation (ImageNet unless the
    backbone says otherwise).

    ``resize=None`` keeps the papers' 256/224 ratio: ``resize = ceil(img_size * 256 / 224)``.
    """
    resize = resize if resize is not None else math.ceil(img_size * 256 / 224)
    steps: list[Callable[[Sample], Sample]] = [ResizeShorter(resize), CenterCrop(img_size)]
    if train and flip_p > 0:
        steps.append(RandomHorizontalFlip(flip_p))
    steps.append(ToTensor())
    if normalize:
        steps.append(Normalize(mean, std))
    return Compose(steps)
