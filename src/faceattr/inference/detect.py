"""Face detection: boxes, scores and 5 points for :func:`faceattr.inference.align.align_face`.

Detectors (weights ship inside PyPI packages; nothing is downloaded at run time):

``"mtcnn"`` (default)
    MTCNN (Zhang et al., 2016) from ``facenet-pytorch`` (its pnet/rnet/onet weights are in the
    wheel), run on the CPU with PyTorch. Gives boxes and the 5 points. The choice and its
    measurements: ``docs/results/detectors.md``.

Detectors that give a box but no 5 points (e.g. scikit-image's LBP cascade, measured in the
benchmark) can still be aligned roughly: :func:`points_from_box` places the points at mean
box-relative positions calibrated for that detector (``benchmarks/detectors.py
--calibrate-lbp``), and such detections set ``landmarks_estimated``. It is a coarse fallback
(alignment error ~4x MTCNN's), not used by default.

Conventions: ``(x, y)`` pixels of the input image, x right, y down, pixel centres at integer
coordinates. Boxes are ``[x0, y0, x1, y1]`` (float, as the detector reports them). Landmarks
are ``(5, 2)`` in the order left eye, right eye, nose, left mouth corner, right mouth corner,
"left" being the image's left. Inputs of any mode go through
:func:`faceattr.data.images.to_rgb`.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np
from PIL import Image

from faceattr.data.images import to_rgb


@dataclass
class Detection:
    """One detected face, in input-image pixels (see the module conventions)."""

    box: np.ndarray  # (4,) float64 x0, y0, x1, y1
    score: float  # detector confidence, 0..1
    landmarks: np.ndarray | None  # (5, 2) float64, or None when the detector gives none
    landmarks_estimated: bool = False  # True when derived from the box, not detected

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (lists of floats)."""
        return {"box": [float(v) for v in self.box], "score": float(self.score),
                "landmarks": None if self.landmarks is None else self.landmarks.tolist(),
                "landmarks_estimated": self.landmarks_estimated}


@runtime_checkable
class FaceDetector(Protocol):
    """Anything with ``detect(image) -> list[Detection]`` (best score first)."""

    name: str

    def detect(self, image: Image.Image | np.ndarray) -> list[Detection]:
        ...


def points_from_box(box: np.ndarray, relative: np.ndarray) -> np.ndarray:
    """``(5, 2)`` points placed in ``box`` at box-relative positions ``relative``.

    ``relative[i] = ((x - x0) / (x1 - x0), (y - y0) / (y1 - y0))`` of point i, the mean over
    faces found by the same detector (its box convention differs from other detectors').
    """
    x0, y0, x1, y1 = (float(v) for v in box)
    rel = np.asarray(relative, dtype=np.float64)
    return np.stack([x0 + rel[:, 0] * (x1 - x0), y0 + rel[:, 1] * (y1 - y0)], axis=1)


@contextlib.contextmanager
def _torch_threads(threads: int | None) -> Iterator[None]:
    """Run the block with ``torch.set_num_threads(threads)``, restoring the old value."""
    if threads is None:
        yield
        return
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(int(threads))
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def _shrink(picture: Image.Image, max_side: int | None) -> tuple[Image.Image, float]:
    """Downscale so the longer side is at most ``max_side``; returns (image, scale)."""
    longest = max(picture.size)
    if max_side is None or longest <= max_side:
        return picture, 1.0
    scale = max_side / longest
    size = (max(1, round(picture.width * scale)), max(1, round(picture.height * scale)))
    return picture.resize(size, Image.Resampling.BILINEAR, reducing_gap=3.0), scale


def _unscale(values: np.ndarray, scale: float) -> np.ndarray:
    """Undo a resize by ``scale`` on pixel-centre coordinates: ``x = (x' + 0.5) / s - 0.5``."""
    return values if scale == 1.0 else (values + 0.5) / scale - 0.5


class MTCNNDetector:
    """MTCNN from ``facenet-pytorch`` on the CPU.

    facenet-pytorch clips the R-net/O-net input boxes to the image instead of zero-padding
    them as the original MTCNN does, so a face whose (squared) box sticks out of the image gets
    a stretched crop and landmarks off by ~10% of the eye distance (MTFL test NME 0.125 instead
    of 0.072). With ``edge_pad`` (default) the image is therefore detected again with its edge
    pixels replicated outwards whenever some box sticks out, and the results of that run are
    kept (shifted back to input pixels). That second pass searches only faces of at least 0.6x
    the smallest one found, so it costs a fraction of the first. An instance is not
    thread-safe (it sets the search size and PyTorch's thread count per call): use one per
    thread.

    Parameters
    ----------
    min_face_size : smallest face searched for, in pixels of the (possibly shrunk) image.
    thresholds : P-, R- and O-net score thresholds (facenet-pytorch's defaults).
    min_score : detections scoring below this are dropped (O-net probability, 0..1).
    max_side : images whose longer side is larger are shrunk to it for detection (speed);
        results are mapped back to input pixels. None: never shrink.
    edge_pad : re-detect on an edge-padded image when a face box leaves the image (see above).
    threads : PyTorch intra-op threads while detecting (restored afterwards); None: leave.
    """

    name = "mtcnn"

    def __init__(self, *, min_face_size: int = 20,
                 thresholds: tuple[float, float, float] = (0.6, 0.7, 0.7),
                 min_score: float = 0.9, max_side: int | None = 1280, edge_pad: bool = True,
                 threads: int | None = None) -> None:
        try:
            from facenet_pytorch import MTCNN
        except ImportError as err:  # pragma: no cover - depends on the environment
            raise ImportError("the 'mtcnn' detector needs facenet-pytorch: "
                              "pip install --no-deps facenet-pytorch==2.6.0") from err
        self.min_face_size = int(min_face_size)
        self.min_score = float(min_score)
        self.max_side = max_side
        self.edge_pad = bool(edge_pad)
        self.threads = threads
        self._mtcnn = MTCNN(min_face_size=min_face_size, thresholds=list(thresholds),
                            keep_all=True, post_process=False, device="cpu")

    def _run(self, array: np.ndarray, min_face_size: int
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Raw ``(boxes (N, 4), scores (N,), points (N, 5, 2))`` on an RGB uint8 array."""
        import torch

        self._mtcnn.min_face_size = int(min_face_size)
        with _torch_threads(self.threads), torch.inference_mode():
            boxes, probs, points = self._mtcnn.detect(Image.fromarray(array), landmarks=True)
        if boxes is None:
            return np.zeros((0, 4)), np.zeros(0), np.zeros((0, 5, 2))
        # facenet-pytorch returns object arrays under numpy 2; make them plain floats.
        return (np.asarray(boxes, dtype=np.float64).reshape(-1, 4),
                np.asarray(probs, dtype=np.float64).reshape(-1),
                np.asarray(points, dtype=np.float64).reshape(-1, 5, 2))

    def detect(self, image: Image.Image | np.ndarray) -> list[Detection]:
        """Faces in ``image``, best score first."""
        picture, scale = _shrink(to_rgb(image), self.max_side)
        array = np.asarray(picture)
        boxes, probs, points = self._run(array, self.min_face_size)
        overflow = _overflow(boxes, picture.width, picture.height)
        if self.edge_pad and overflow > 0:
            # Faces already found are >= the smallest box; searching from 0.6x that size up
            # skips the costly fine levels of the image pyramid.
            smallest = float(np.min(np.max(boxes[:, 2:] - boxes[:, :2], axis=1)))
            pad = math.ceil(overflow) + 2
            padded = np.pad(array, ((pad, pad), (pad, pad), (0, 0)), mode="edge")
            again = self._run(padded, max(self.min_face_size, math.floor(0.6 * smallest)))
            if len(again[0]):  # else keep the first pass
                boxes, probs, points = again[0] - pad, again[1], again[2] - pad
        boxes, points = _unscale(boxes, scale), _unscale(points, scale)
        found = [Detection(box=b, score=float(p), landmarks=lm)
                 for b, p, lm in zip(boxes, probs, points, strict=True)
                 if math.isfinite(p) and p >= self.min_score]
        return sorted(found, key=lambda d: -d.score)


def _overflow(boxes: np.ndarray, width: int, height: int) -> float:
    """How far (pixels) the squared, 10%-enlarged boxes stick out of a width x height image."""
    if len(boxes) == 0:
        return 0.0
    centre = (boxes[:, :2] + boxes[:, 2:]) / 2.0
    half = 0.55 * np.max(boxes[:, 2:] - boxes[:, :2], axis=1, keepdims=True)
    low, high = centre - half, centre + half
    return float(max(0.0, -low.min(), (high - [width - 1.0, height - 1.0]).max()))


DETECTORS: dict[str, type] = {"mtcnn": MTCNNDetector}


def create_detector(name: str = "mtcnn", **kwargs: Any) -> FaceDetector:
    """A detector by name (only ``"mtcnn"`` so far); ``kwargs`` go to its constructor."""
    if name not in DETECTORS:
        raise ValueError(f"unknown detector {name!r}; expected one of {sorted(DETECTORS)}")
    return DETECTORS[name](**kwargs)
