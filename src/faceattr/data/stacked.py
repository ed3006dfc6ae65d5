"""Several datasets as one, for joint training (e.g. CelebA attributes + MTFL landmarks).

All parts must produce the same attribute layout (pass CelebA's ``attr_names`` to MTFL);
labels a part does not have are NaN and are masked by the losses.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from torch.utils.data import Dataset


class StackedDataset(Dataset):
    """Concatenation of datasets that have ``image_path``, ``labels`` and ``label_arrays``."""

    def __init__(self, parts: list[Any], transform: Any = None) -> None:
        if not parts:
            raise ValueError("StackedDataset needs at least one dataset")
        self.parts = parts
        self.offsets = np.cumsum([0] + [len(p) for p in parts])
        self.transform = transform
        self.attr_names = list(getattr(parts[0], "attr_names", []))

    def __len__(self) -> int:
        return int(self.offsets[-1])

    def _locate(self, i: int) -> tuple[Any, int]:
        if not 0 <= i < len(self):
            raise IndexError(i)
        part = int(np.searchsorted(self.offsets, i, side="right") - 1)
        return self.parts[part], i - int(self.offsets[part])

    def image_path(self, i: int) -> Path:
        part, j = self._locate(i)
        return part.image_path(j)

    def labels(self, i: int) -> dict[str, Any]:
        part, j = self._locate(i)
        return part.labels(j)

    def label_arrays(self) -> dict[str, np.ndarray]:
        arrays = [p.label_arrays() for p in self.parts]
        return {k: np.concatenate([a[k] for a in arrays]) for k in arrays[0]}

    def __getitem__(self, i: int) -> dict[str, Any]:
        part, j = self._locate(i)
        sample = part[j]
        return self.transform(sample) if self.transform is not None else sample
