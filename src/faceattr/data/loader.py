"""The fast path for CPU training: whole batches straight out of a :class:`DecodedCache`.

:class:`FastLoader` gathers a batch with one fancy-index into the memory-mapped uint8 array,
mirrors a seeded random subset of it in one vectorised copy and swaps the left/right landmarks
of the flipped rows, all vectorised: no per-sample Python, no worker processes, no pickling. The
batches are the same as those of :class:`~faceattr.data.cache.CachedDataset` with
:class:`~faceattr.data.transforms.RandomHorizontalFlip` (tested), only cheaper.

Batches are dicts: ``image`` ``(B, 3, S, S)`` uint8 (normalise with
:func:`~faceattr.data.transforms.normalize_batch`), ``attrs`` ``(B, A)``, ``gender`` ``(B,)``,
``landmarks`` ``(B, 5, 2)`` in input pixels (NaN = missing), ``index`` ``(B,)`` row numbers.
Sharding over ``world_size`` ranks follows ``DistributedSampler``: the shuffled order is
padded to a multiple of ``world_size`` and rank ``r`` takes every ``world_size``-th item.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch

from faceattr.data.cache import DecodedCache
from faceattr.data.transforms import FLIP_PAIRS


class FastLoader:
    """Seeded, shardable batch iterator over a cached dataset.

    Parameters
    ----------
    dataset : a dataset with ``image_path(i)``, ``label_arrays()`` and ``len``.
    batch_size : images per batch (per rank).
    shuffle : reshuffle every epoch (seeded by ``seed + epoch``; call :meth:`set_epoch`).
    flip_p : probability of a horizontal flip per image (0 for evaluation).
    size, resize : the cached crop size and the shorter side before the crop, in pixels.
    rank, world_size : shard for distributed training.
    """

    def __init__(self, dataset: Any, *, batch_size: int = 64, shuffle: bool = False,
                 flip_p: float = 0.0, seed: int = 0, drop_last: bool = False, size: int = 224,
                 resize: int = 256, cache_dir: str | Path | None = None, rank: int = 0,
                 world_size: int = 1, progress: bool = False) -> None:
        self.cache = DecodedCache.build([dataset.image_path(i) for i in range(len(dataset))],
                                        size=size, resize=resize, cache_dir=cache_dir,
                                        progress=progress)
        self.rows = np.flatnonzero(self.cache.valid)
        self.skipped = len(dataset) - len(self.rows)
        labels = dataset.label_arrays()
        matrix = self.cache.matrices.astype(np.float64)
        points = labels["landmarks"].astype(np.float64)
        labels["landmarks"] = (np.einsum("nkj,nij->nki", points, matrix[:, :, :2])
                               + matrix[:, None, :, 2]).astype(np.float32)
        self.labels = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in labels.items()}
        self.batch_size, self.shuffle, self.flip_p = batch_size, shuffle, flip_p
        self.seed, self.drop_last, self.size = seed, drop_last, size
        self.rank, self.world_size = rank, world_size
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def _order(self) -> np.ndarray:
        rows = self.rows
        if self.shuffle:
            rows = np.random.default_rng(self.seed + self.epoch).permutation(rows)
        per_rank = math.ceil(len(rows) / self.world_size)
        padded = np.resize(rows, per_rank * self.world_size) if len(rows) else rows
        return padded[self.rank::self.world_size]

    def __len__(self) -> int:
        n = math.ceil(len(self.rows) / self.world_size)
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def __iter__(self) -> Iterator[dict[str, torch.Tensor]]:
        order = self._order()
        # one draw per dataset row and epoch: the same flips however the rows are sharded
        flips = np.random.default_rng([self.seed, self.epoch, 1]).random(
            len(self.cache.valid)) < self.flip_p
        for b in range(len(self)):
            rows = order[b * self.batch_size:(b + 1) * self.batch_size]
            sorted_rows = np.sort(rows)  # sequential reads from the memory map
            pixels = self.cache.images[sorted_rows]  # (B, S, S, 3) uint8, a fresh array
            index = torch.from_numpy(sorted_rows)
            batch = {k: v[index] for k, v in self.labels.items()}
            if self.flip_p > 0:
                flip = flips[sorted_rows]
                pixels[flip] = pixels[flip, :, ::-1]
                points = batch["landmarks"]
                mask = torch.from_numpy(flip)
                flipped = points[mask]
                flipped[..., 0] = self.size - 1 - flipped[..., 0]
                for a, c in FLIP_PAIRS:
                    flipped[:, [a, c]] = flipped[:, [c, a]]
                points[mask] = flipped
            # NHWC memory seen as NCHW: a channels-last tensor, no copy
            batch["image"] = torch.from_numpy(pixels).permute(0, 3, 1, 2)
            batch["index"] = index
            yield batch
