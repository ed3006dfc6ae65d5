"""CelebA in its official layout (Liu et al., ICCV 2015).

Layout under ``root``::

    img_align_celeba/            aligned 178x218 JPEGs (a partial download is fine)
    list_attr_celeba.txt         40 attributes, +1/-1, read here as 1/0
    list_eval_partition.txt      0/1/2 = train/val/test
    identity_CelebA.txt          identity number per image
    list_landmarks_align_celeba.txt  (optional) 5 points in aligned-image pixels
    list_bbox_celeba.txt         (optional) x_1 y_1 width height in the in-the-wild image

Conventions: landmarks are ``(5, 2)`` arrays of ``(x, y)`` pixel coordinates, pixel centres at
integers, in the order left eye, right eye, nose, left mouth corner, right mouth corner, where
"left" is the image's left. A missing label is NaN. Gender is 1.0 for male, 0.0 for female (the
``Male`` attribute).
"""

from __future__ import annotations

import logging
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from torch.utils.data import Dataset

from faceattr.data._annotations import read_mapping, read_table
from faceattr.data.errors import AnnotationError, DatasetNotFoundError
from faceattr.data.images import load_rgb

log = logging.getLogger(__name__)

IMAGE_DIR = "img_align_celeba"
ATTR_FILE = "list_attr_celeba.txt"
PARTITION_FILE = "list_eval_partition.txt"
IDENTITY_FILE = "identity_CelebA.txt"
LANDMARK_FILE = "list_landmarks_align_celeba.txt"
BBOX_FILE = "list_bbox_celeba.txt"
#: Official partition codes.
SPLITS = {"train": 0, "val": 1, "test": 2}
#: Order of the 5 landmarks, as in the official file (and in MTFL).
LANDMARK_NAMES = ("left_eye", "right_eye", "nose", "left_mouth", "right_mouth")
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")


def read_attributes(path: str | Path) -> tuple[list[str], list[str], np.ndarray]:
    """Read ``list_attr_celeba.txt``.

    Returns ``(attribute_names, files, labels)`` with labels a ``(N, A)`` uint8 array of 1
    (attribute present, +1 in the file) and 0 (absent, -1). Names come from the file header.
    """
    table = read_table(path, dtype=np.int8, allowed=frozenset({-1, 1}))
    return table.columns, table.files, (table.values > 0).astype(np.uint8)


def read_landmarks(path: str | Path) -> tuple[list[str], np.ndarray]:
    """Read ``list_landmarks_align_celeba.txt`` -> ``(files, landmarks (N, 5, 2) float32)``."""
    table = read_table(path, dtype=np.float32)
    if len(table.columns) != 10:
        raise AnnotationError(path, 2, f"expected 10 landmark columns, got {len(table.columns)}")
    return table.files, table.values.reshape(-1, 5, 2)


def read_bboxes(path: str | Path) -> tuple[list[str], np.ndarray]:
    """Read ``list_bbox_celeba.txt`` -> ``(files, boxes (N, 4) float32)`` as x, y, width, height.

    Boxes are in pixels of the original in-the-wild images (not the aligned crops).
    """
    table = read_table(path, dtype=np.float32, first_column_named=True)
    if len(table.columns) != 4:
        raise AnnotationError(path, 2, f"expected 4 box columns, got {len(table.columns)}")
    if (table.values[:, 2:] <= 0).any():
        row = int(np.argwhere(table.values[:, 2:] <= 0)[0][0])
        raise AnnotationError(path, None, f"{table.files[row]}: box width/height must be > 0")
    return table.files, table.values


def read_partition(path: str | Path) -> dict[str, int]:
    """Read ``list_eval_partition.txt`` -> ``{file: 0 | 1 | 2}`` (train, val, test)."""
    return read_mapping(path, allowed=frozenset(SPLITS.values()))


def read_identities(path: str | Path) -> dict[str, int]:
    """Read ``identity_CelebA.txt`` -> ``{file: identity}``."""
    return read_mapping(path)


@dataclass
class CelebAIndex:
    """Everything known about the CelebA images present under ``root``, one row per image."""

    root: Path
    files: list[str]
    attr_names: list[str]
    attrs: np.ndarray  # (N, A) uint8 1/0
    partition: np.ndarray  # (N,) int8 0/1/2
    identity: np.ndarray  # (N,) int64, -1 where unknown
    landmarks: np.ndarray  # (N, 5, 2) float32, NaN where the landmark file has no row
    bboxes: np.ndarray  # (N, 4) float32 x, y, w, h; NaN where unknown
    skipped: dict[str, int] = field(default_factory=dict)

    @property
    def image_dir(self) -> Path:
        return self.root / IMAGE_DIR

    def select(self, split: str) -> np.ndarray:
        """Row numbers of one official split (``train``, ``val``, ``test``) or ``all``."""
        if split == "all":
            return np.arange(len(self.files))
        if split not in SPLITS:
            raise ValueError(f"unknown split {split!r}; expected one of {[*SPLITS, 'all']}")
        return np.flatnonzero(self.partition == SPLITS[split])

    @property
    def has_landmarks(self) -> np.ndarray:
        return ~np.isnan(self.landmarks).any(axis=(1, 2))


def load_celeba_index(root: str | Path) -> CelebAIndex:
    """Read the annotation files under ``root`` and keep the rows whose image exists.

    A partial download is normal: rows without an image are counted in ``skipped`` and logged,
    never silently dropped. Images without an attribute or partition row are skipped too.
    """
    root = Path(root)
    if not root.is_dir():
        raise DatasetNotFoundError(f"{root}: CelebA root folder not found")
    image_dir = root / IMAGE_DIR
    if not image_dir.is_dir():
        raise DatasetNotFoundError(f"{image_dir}: image folder not found (expected {IMAGE_DIR}/)")
    for name in (ATTR_FILE, PARTITION_FILE):
        if not (root / name).is_file():
            raise DatasetNotFoundError(f"{root / name}: required annotation file not found")
    present = {e.name for e in os.scandir(image_dir)
               if e.is_file() and e.name.lower().endswith(IMAGE_SUFFIXES)}
    attr_names, attr_files, attrs = read_attributes(root / ATTR_FILE)
    partition = read_partition(root / PARTITION_FILE)
    identities = read_identities(root / IDENTITY_FILE) if (root / IDENTITY_FILE).is_file() else {}

    skipped: Counter[str] = Counter()
    keep = [i for i, f in enumerate(attr_files) if f in present]
    skipped["attribute rows without an image"] = len(attr_files) - len(keep)
    attr_set = set(attr_files)
    skipped["images without an attribute row"] = len(present - attr_set)
    keep = [i for i in keep if attr_files[i] in partition]
    skipped["images without a partition row"] = len(present & attr_set) - len(keep)
    skipped["partition rows without an image"] = len(set(partition) - present)
    files = [attr_files[i] for i in keep]
    order = np.argsort(files, kind="stable")
    files = [files[i] for i in order]
    attrs = attrs[np.asarray(keep, dtype=np.int64)[order]] if keep else attrs[:0]

    landmarks = np.full((len(files), 5, 2), np.nan, dtype=np.float32)
    if (root / LANDMARK_FILE).is_file():
        _fill_rows(landmarks, files, *read_landmarks(root / LANDMARK_FILE))
    bboxes = np.full((len(files), 4), np.nan, dtype=np.float32)
    if (root / BBOX_FILE).is_file():
        _fill_rows(bboxes, files, *read_bboxes(root / BBOX_FILE))
    index = CelebAIndex(
        root=root, files=files, attr_names=attr_names, attrs=attrs,
        partition=np.array([partition[f] for f in files], dtype=np.int8),
        identity=np.array([identities.get(f, -1) for f in files], dtype=np.int64),
        landmarks=landmarks, bboxes=bboxes,
        skipped={k: v for k, v in skipped.items() if v},
    )
    for reason, count in index.skipped.items():
        log.info("CelebA %s: skipped %d %s", root, count, reason)
    return index


def _fill_rows(out: np.ndarray, files: list[str], table_files: list[str],
               values: np.ndarray) -> None:
    """``out[i] = values[j]`` where ``files[i] == table_files[j]``; other rows stay NaN."""
    row = {f: j for j, f in enumerate(table_files)}
    for i, f in enumerate(files):
        j = row.get(f)
        if j is not None:
            out[i] = values[j]


class CelebA(Dataset):
    """CelebA aligned faces as sample dicts (see :mod:`faceattr.data.sample`).

    Parameters
    ----------
    root : CelebA root folder (official layout).
    split : ``train``, ``val``, ``test`` or ``all``.
    transform : callable applied to the sample dict (e.g. :func:`faceattr.data.transforms.build`).
    require_landmarks : keep only images with a row in the landmark file.
    indices : optional row numbers (into the split) to restrict to, e.g. a balanced subset.
    index : a pre-loaded :class:`CelebAIndex` to share between splits.
    """

    def __init__(self, root: str | Path, split: str = "train", transform: Any = None, *,
                 require_landmarks: bool = False, indices: np.ndarray | None = None,
                 index: CelebAIndex | None = None) -> None:
        self.index = index if index is not None else load_celeba_index(root)
        rows = self.index.select(split)
        if require_landmarks:
            rows = rows[self.index.has_landmarks[rows]]
        if indices is not None:
            rows = rows[np.asarray(indices, dtype=np.int64)]
        self.rows = rows
        self.split = split
        self.transform = transform

    @property
    def attr_names(self) -> list[str]:
        return self.index.attr_names

    @property
    def files(self) -> list[str]:
        return [self.index.files[r] for r in self.rows]

    @property
    def gender(self) -> np.ndarray:
        """(N,) float32: 1 male, 0 female."""
        return self.index.attrs[self.rows, self.attr_names.index("Male")].astype(np.float32)

    @property
    def identity(self) -> np.ndarray:
        return self.index.identity[self.rows]

    def image_path(self, i: int) -> Path:
        return self.index.image_dir / self.index.files[self.rows[i]]

    def __len__(self) -> int:
        return len(self.rows)

    def labels(self, i: int) -> dict[str, Any]:
        """The sample dict without the image (cheap; used by the decoded-image cache)."""
        r = self.rows[i]
        return {
            "file": self.index.files[r],
            "attrs": self.index.attrs[r].astype(np.float32),
            "gender": np.float32(self.index.attrs[r, self.attr_names.index("Male")]),
            "landmarks": self.index.landmarks[r].copy(),
            "identity": int(self.index.identity[r]),
        }

    def label_arrays(self) -> dict[str, np.ndarray]:
        """All labels at once: ``attrs (N, A)``, ``gender (N,)``, ``landmarks (N, 5, 2)``."""
        return {"attrs": self.index.attrs[self.rows].astype(np.float32),
                "gender": self.gender, "landmarks": self.index.landmarks[self.rows].copy()}

    def __getitem__(self, i: int) -> dict[str, Any]:
        sample = self.labels(i)
        sample["image"] = load_rgb(self.image_path(i))
        return self.transform(sample) if self.transform is not None else sample
