"""MTFL, the Multi-Task Facial Landmark dataset (Zhang et al., ECCV 2014), official layout.

``training.txt`` (4,151 LFW faces) and ``testing.txt`` (2,995 AFLW faces), one row per face::

    path x1 x2 x3 x4 x5 y1 y2 y3 y4 y5 gender smile glasses pose

Paths use backslashes and most rows start with a space, as released. Codes: gender 1 = male,
2 = female; smile and glasses 1 = yes, 2 = no; pose 1..5 = left profile, left, frontal, right,
right profile. Landmarks are read as ``(5, 2)`` ``(x, y)`` pixels in the order left eye, right
eye, nose, left mouth corner, right mouth corner (the CelebA order). The attributes are mapped
to the CelebA names ``Male``, ``Smiling`` and ``Eyeglasses`` as 1.0 / 0.0.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from torch.utils.data import Dataset

from faceattr.data._annotations import iter_lines
from faceattr.data.errors import AnnotationError, DatasetNotFoundError
from faceattr.data.images import load_rgb

SPLIT_FILES = {"train": "training.txt", "test": "testing.txt"}
#: MTFL attribute columns and the CelebA attribute each one is mapped to.
ATTRIBUTE_NAMES = ("Male", "Smiling", "Eyeglasses")
POSE_NAMES = ("left_profile", "left", "frontal", "right", "right_profile")


@dataclass
class MTFLIndex:
    """Rows of one MTFL annotation file."""

    root: Path
    files: list[str]  # relative paths with forward slashes
    landmarks: np.ndarray  # (N, 5, 2) float32 pixels
    attrs: np.ndarray  # (N, 3) float32 1/0 for Male, Smiling, Eyeglasses
    pose: np.ndarray  # (N,) int8 1..5

    @property
    def gender(self) -> np.ndarray:
        return self.attrs[:, 0]


def read_mtfl(path: str | Path) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
    """Parse an MTFL annotation file.

    Returns ``(files, landmarks (N, 5, 2), attrs (N, 3) 1/0 as Male/Smiling/Eyeglasses,
    pose (N,) 1..5)``. Raises :class:`AnnotationError` naming the line of a malformed row.
    """
    files: list[str] = []
    landmarks: list[np.ndarray] = []
    attrs: list[tuple[float, float, float]] = []
    poses: list[int] = []
    for number, text in iter_lines(path):
        parts = text.split()
        if len(parts) != 15:
            raise AnnotationError(path, number, f"expected 15 fields (path, 10 coordinates, "
                                  f"gender, smile, glasses, pose), got {len(parts)}")
        try:
            coords = np.array(parts[1:11], dtype=np.float64)
            codes = [int(p) for p in parts[11:]]
        except ValueError as err:
            raise AnnotationError(path, number, f"bad number: {err}") from None
        if not np.isfinite(coords).all():
            raise AnnotationError(path, number, "landmark coordinate is not finite")
        gender, smile, glasses, pose = codes
        for name, value, allowed in (("gender", gender, (1, 2)), ("smile", smile, (1, 2)),
                                     ("glasses", glasses, (1, 2)), ("pose", pose, range(1, 6))):
            if value not in allowed:
                raise AnnotationError(path, number, f"{name} code {value} is not one of "
                                      f"{list(allowed)}")
        files.append(parts[0].replace("\\", "/"))
        landmarks.append(np.stack([coords[:5], coords[5:]], axis=1))
        attrs.append((float(gender == 1), float(smile == 1), float(glasses == 1)))
        poses.append(pose)
    return (files, np.asarray(landmarks, dtype=np.float32).reshape(-1, 5, 2),
            np.asarray(attrs, dtype=np.float32).reshape(-1, 3), np.asarray(poses, dtype=np.int8))


def load_mtfl_index(root: str | Path, split: str = "train") -> MTFLIndex:
    """Read ``training.txt`` (split ``train``) or ``testing.txt`` (``test``) under ``root``."""
    root = Path(root)
    if split not in SPLIT_FILES:
        raise ValueError(f"unknown MTFL split {split!r}; expected one of {list(SPLIT_FILES)}")
    if not root.is_dir():
        raise DatasetNotFoundError(f"{root}: MTFL root folder not found")
    files, landmarks, attrs, pose = read_mtfl(root / SPLIT_FILES[split])
    return MTFLIndex(root=root, files=files, landmarks=landmarks, attrs=attrs, pose=pose)


class MTFL(Dataset):
    """MTFL faces as sample dicts.

    Parameters
    ----------
    root : MTFL root folder.
    split : ``train`` (``training.txt``) or ``test`` (``testing.txt``).
    transform : callable applied to the sample dict.
    attr_names : attribute vector layout of the samples, e.g. CelebA's 40 names; attributes MTFL
        does not label are NaN. Default: ``("Male", "Smiling", "Eyeglasses")``.
    indices : optional row numbers to restrict to.
    """

    def __init__(self, root: str | Path, split: str = "train", transform: Any = None, *,
                 attr_names: list[str] | tuple[str, ...] = ATTRIBUTE_NAMES,
                 indices: np.ndarray | None = None) -> None:
        self.index = load_mtfl_index(root, split)
        missing = [p for p in self.index.files[:1] if not (self.index.root / p).is_file()]
        if missing:
            raise DatasetNotFoundError(f"{self.index.root / missing[0]}: image not found "
                                       f"(first row of {SPLIT_FILES[split]})")
        self.rows = (np.arange(len(self.index.files)) if indices is None
                     else np.asarray(indices, dtype=np.int64))
        self.split = split
        self.transform = transform
        self.attr_names = list(attr_names)
        self._columns = [(self.attr_names.index(n), j) for j, n in enumerate(ATTRIBUTE_NAMES)
                         if n in self.attr_names]

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def files(self) -> list[str]:
        return [self.index.files[r] for r in self.rows]

    @property
    def gender(self) -> np.ndarray:
        return self.index.gender[self.rows]

    def image_path(self, i: int) -> Path:
        return self.index.root / self.index.files[self.rows[i]]

    def labels(self, i: int) -> dict[str, Any]:
        r = self.rows[i]
        attrs = np.full(len(self.attr_names), np.nan, dtype=np.float32)
        for dst, src in self._columns:
            attrs[dst] = self.index.attrs[r, src]
        return {
            "file": self.index.files[r],
            "attrs": attrs,
            "gender": np.float32(self.index.gender[r]),
            "landmarks": self.index.landmarks[r].copy(),
            "pose": int(self.index.pose[r]),
        }

    def label_arrays(self) -> dict[str, np.ndarray]:
        """All labels at once: ``attrs (N, A)`` (NaN where MTFL has none), ``gender (N,)``,
        ``landmarks (N, 5, 2)``."""
        attrs = np.full((len(self.rows), len(self.attr_names)), np.nan, dtype=np.float32)
        for dst, src in self._columns:
            attrs[:, dst] = self.index.attrs[self.rows, src]
        return {"attrs": attrs, "gender": self.gender.astype(np.float32),
                "landmarks": self.index.landmarks[self.rows].copy()}

    def __getitem__(self, i: int) -> dict[str, Any]:
        sample = self.labels(i)
        sample["image"] = load_rgb(self.image_path(i))
        return self.transform(sample) if self.transform is not None else sample
