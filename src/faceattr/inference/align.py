"""Warping an in-the-wild face to CelebA's alignment with a 5-point similarity transform.

The models are trained on CelebA's aligned crops (``img_align_celeba``, 178 wide x 218 high).
:func:`align_face` maps a face's 5 points (left eye, right eye, nose, left mouth corner, right
mouth corner; "left" = the image's left) onto :data:`CELEBA_TEMPLATE` with the least-squares
similarity (rotation, uniform scale, translation; no reflection, no shear) and resamples the
image into a 178x218 crop that looks like a CelebA aligned image. The normal preprocessing
(resize shorter side to 256, centre-crop 224) then applies to that crop.

Conventions: points are ``(x, y)`` pixels, x right, y down, pixel centres at integer
coordinates (the convention of :mod:`faceattr.data.transforms` and of ``cv2.warpAffine``).
Matrices are ``(2, 3)`` float64 affine maps ``[x', y'] = A @ [x, y] + b`` stored as ``[A | b]``.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
from PIL import Image
from skimage.transform import SimilarityTransform

from faceattr.data.images import to_rgb

#: Size ``(width, height)`` of CelebA's aligned images, the frame of :data:`CELEBA_TEMPLATE`.
CELEBA_ALIGNED_SIZE = (178, 218)

#: Mean 5 points of CelebA's aligned images, ``(5, 2)`` ``(x, y)`` pixels in the 178x218 frame,
#: in the order left eye, right eye, nose, left mouth corner, right mouth corner. Computed from
#: ``list_landmarks_align_celeba.txt`` (all 115,931 rows of the shared copy); the test
#: ``test_template_matches_official_landmarks`` recomputes it and checks agreement to 0.05 px.
CELEBA_TEMPLATE = np.array([
    [69.350, 111.197],
    [107.645, 111.165],
    [88.050, 135.109],
    [71.241, 152.109],
    [105.597, 152.193],
], dtype=np.float64)

#: Below this scale (output pixels per input pixel) the image is first shrunk with area
#: averaging, so that a large face is not aliased by the bilinear warp.
_PRESHRINK_BELOW = 0.5


def _as_points(points: np.ndarray, name: str) -> np.ndarray:
    array = np.asarray(points, dtype=np.float64)
    if array.ndim != 2 or array.shape[1] != 2 or len(array) < 2:
        raise ValueError(f"{name} must be an (N >= 2, 2) array of (x, y) points, got shape "
                         f"{array.shape}")
    if not np.isfinite(array).all():
        raise ValueError(f"{name} contains NaN or infinity")
    return array


def estimate_similarity(src_points: np.ndarray, dst_points: np.ndarray) -> np.ndarray:
    """Least-squares similarity (Umeyama, no reflection) mapping ``src_points`` to ``dst_points``.

    Both are ``(N, 2)`` pixel arrays with N >= 2 matched points. Returns the ``(2, 3)`` float64
    matrix ``M`` with ``dst ~= src @ M[:, :2].T + M[:, 2]``. Raises ``ValueError`` for
    degenerate input (e.g. all source points equal).
    """
    src = _as_points(src_points, "src_points")
    dst = _as_points(dst_points, "dst_points")
    if src.shape != dst.shape:
        raise ValueError(f"src_points {src.shape} and dst_points {dst.shape} differ in shape")
    transform = SimilarityTransform.from_estimate(src, dst)
    if not transform:  # skimage returns a falsy FailedEstimation
        raise ValueError(f"cannot estimate a similarity from these points: {transform}")
    matrix = np.asarray(transform.params, dtype=np.float64)[:2]
    if not np.isfinite(matrix).all() or abs(np.linalg.det(matrix[:, :2])) < 1e-12:
        raise ValueError("degenerate similarity (the source points coincide)")
    return matrix


def transform_points(points: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Apply a ``(2, 3)`` affine to ``(..., 2)`` points (float64 pixels)."""
    m = np.asarray(matrix, dtype=np.float64)
    return np.asarray(points, dtype=np.float64) @ m[:, :2].T + m[:, 2]


def invert_matrix(matrix: np.ndarray) -> np.ndarray:
    """Inverse of a ``(2, 3)`` affine, as ``(2, 3)``."""
    full = np.vstack([np.asarray(matrix, dtype=np.float64), [0.0, 0.0, 1.0]])
    return np.linalg.inv(full)[:2]


def points_to_original(points_aligned: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Map ``(..., 2)`` points from aligned-crop pixels back to original-image pixels.

    ``matrix`` is the original->aligned ``(2, 3)`` map returned by :func:`align_face`.
    """
    return transform_points(points_aligned, invert_matrix(matrix))


def similarity_scale(matrix: np.ndarray) -> float:
    """Uniform scale of a similarity ``(2, 3)`` matrix (output pixels per input pixel)."""
    return math.sqrt(abs(float(np.linalg.det(np.asarray(matrix, dtype=np.float64)[:, :2]))))


def align_face(image: Image.Image | np.ndarray, points: np.ndarray, *,
               output_size: tuple[int, int] = CELEBA_ALIGNED_SIZE,
               template: np.ndarray | None = None,
               border: str = "replicate") -> tuple[Image.Image, np.ndarray]:
    """Warp a face to the CelebA alignment.

    Parameters
    ----------
    image : the photo (any mode; converted with :func:`~faceattr.data.images.to_rgb`).
    points : ``(5, 2)`` ``(x, y)`` pixels of the face in ``image`` (l-eye, r-eye, nose,
        l-mouth, r-mouth).
    output_size : ``(width, height)`` of the crop. The template is scaled with it (about the
        origin, i.e. ``x * W / 178``), so a different size keeps the same framing.
    template : ``(5, 2)`` destination points in the ``output_size`` frame; default
        :data:`CELEBA_TEMPLATE` scaled to ``output_size``.
    border : how pixels outside the photo are filled: ``"replicate"`` (edge pixels, the
        default), ``"reflect"`` or ``"constant"`` (black).

    Returns
    -------
    ``(aligned RGB PIL image of output_size, (2, 3) float64 matrix original -> aligned)``.
    """
    picture = to_rgb(image)
    width, height = int(output_size[0]), int(output_size[1])
    if width < 1 or height < 1:
        raise ValueError(f"output_size must be positive, got {output_size}")
    if template is None:
        scale = np.array([width / CELEBA_ALIGNED_SIZE[0], height / CELEBA_ALIGNED_SIZE[1]])
        dst = CELEBA_TEMPLATE * scale
    else:
        dst = _as_points(template, "template")
    matrix = estimate_similarity(points, dst)
    modes = {"replicate": cv2.BORDER_REPLICATE, "reflect": cv2.BORDER_REFLECT_101,
             "constant": cv2.BORDER_CONSTANT}
    if border not in modes:
        raise ValueError(f"border must be one of {sorted(modes)}, got {border!r}")
    array = np.asarray(picture)
    warp = matrix
    scale = similarity_scale(matrix)
    if scale < _PRESHRINK_BELOW:
        # Shrink by an integer-ish factor first (area averaging), then warp the rest of the way.
        factor = 2.0 * scale
        small_w = max(1, round(array.shape[1] * factor))
        small_h = max(1, round(array.shape[0] * factor))
        array = cv2.resize(array, (small_w, small_h), interpolation=cv2.INTER_AREA)
        sx, sy = small_w / picture.width, small_h / picture.height
        shrink = np.array([[sx, 0.0, 0.5 * sx - 0.5], [0.0, sy, 0.5 * sy - 0.5], [0, 0, 1.0]])
        warp = (np.vstack([matrix, [0.0, 0.0, 1.0]]) @ np.linalg.inv(shrink))[:2]
    aligned = cv2.warpAffine(array, warp, (width, height), flags=cv2.INTER_LINEAR,
                             borderMode=modes[border], borderValue=(0, 0, 0))
    return Image.fromarray(aligned), matrix
