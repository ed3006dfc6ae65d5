"""Datasets and batch iterators from the ``data`` section of a config.

Each entry of ``data.train`` / ``data.val`` is a dict::

    {dataset: celeba | mtfl, root: celeba, split: train, require_landmarks: false,
     subset: {kind: random, n: 5000, seed: 0}}

``root`` is relative to the ``--data-root`` folder. ``subset`` kinds: ``random`` (``n``
images), ``paper004`` (the gender-balanced subset of ``n`` images split 10% test then 90/10,
``part`` train/val/test), ``holdout`` (an identity-disjoint -- for MTFL a random -- split of
``fraction``, ``part`` train/val). Batches are dicts of tensors with ``image`` (uint8 from the
fast path, float otherwise), ``attrs``, ``gender`` and ``landmarks`` (input pixels).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, DistributedSampler

from faceattr.data import transforms as T
from faceattr.data.celeba import CelebA, CelebAIndex, load_celeba_index
from faceattr.data.loader import FastLoader
from faceattr.data.mtfl import MTFL
from faceattr.data.splits import identity_disjoint_split, paper004_split, stratified_split
from faceattr.data.stacked import StackedDataset

BATCH_KEYS = ("image", "attrs", "gender", "landmarks")


def _subset(spec: dict[str, Any] | None, gender: np.ndarray, identity: np.ndarray | None,
            eligible: np.ndarray | None = None) -> np.ndarray | None:
    if not spec:
        return None
    kind, seed = spec.get("kind", "random"), int(spec.get("seed", 0))
    n_all = len(gender)
    if kind == "random":
        n = min(int(spec["n"]), n_all)
        return np.sort(np.random.default_rng(seed).choice(n_all, size=n, replace=False))
    if kind == "paper004":
        return paper004_split(gender, int(spec.get("n", 500)), seed=seed,
                              eligible=eligible)[spec.get("part", "train")]
    if kind == "holdout":
        fraction = float(spec.get("fraction", 0.1))
        if identity is not None and (identity >= 0).all():
            rest, held = identity_disjoint_split(identity, fraction, seed=seed)
        else:
            rest, held = stratified_split(np.arange(n_all), gender, fraction, seed=seed)
        return held if spec.get("part", "val") == "val" else rest
    raise ValueError(f"unknown subset kind {kind!r}; expected random, paper004 or holdout")


class DatasetFactory:
    """Builds datasets from specs, sharing one CelebA index per root."""

    def __init__(self, data_root: str | Path) -> None:
        self.data_root = Path(data_root)
        self._celeba: dict[Path, CelebAIndex] = {}

    def celeba_index(self, root: Path) -> CelebAIndex:
        if root not in self._celeba:
            self._celeba[root] = load_celeba_index(root)
        return self._celeba[root]

    def attr_names(self, specs: list[dict[str, Any]]) -> list[str]:
        """Attribute names from the first CelebA entry's file header (or MTFL's three)."""
        for spec in specs:
            if spec.get("dataset", "celeba") == "celeba":
                return self.celeba_index(self.data_root / spec.get("root", "celeba")).attr_names
        return ["Male", "Smiling", "Eyeglasses"]

    def build(self, spec: dict[str, Any], attr_names: list[str], transform: Any = None) -> Any:
        kind = spec.get("dataset", "celeba")
        root = self.data_root / spec.get("root", kind)
        split = spec.get("split", "train")
        if kind == "celeba":
            index = self.celeba_index(root)
            full = CelebA(root, split, index=index,
                          require_landmarks=bool(spec.get("require_landmarks")))
            rows = _subset(spec.get("subset"), full.gender, full.identity,
                           eligible=index.has_landmarks[full.rows])
            return CelebA(root, split, transform, index=index, indices=rows,
                          require_landmarks=bool(spec.get("require_landmarks")))
        if kind == "mtfl":
            full = MTFL(root, split, attr_names=attr_names)
            rows = _subset(spec.get("subset"), full.gender, None)
            return MTFL(root, split, transform, attr_names=attr_names, indices=rows)
        raise ValueError(f"unknown dataset {kind!r}; expected celeba or mtfl")

    def build_many(self, specs: list[dict[str, Any]], attr_names: list[str],
                   transform: Any = None) -> StackedDataset:
        if not specs:
            raise ValueError("no datasets given (data.train / data.val is empty)")
        return StackedDataset([self.build(s, attr_names) for s in specs], transform)


def _collate(samples: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
    return {k: torch.utils.data.default_collate([s[k] for s in samples]) for k in BATCH_KEYS}


class PlainLoader:
    """The naive path: JPEG decode + transforms per sample in DataLoader workers."""

    def __init__(self, dataset: StackedDataset, *, batch_size: int, shuffle: bool,
                 seed: int, workers: int, rank: int = 0, world_size: int = 1,
                 drop_last: bool = False) -> None:
        self.sampler = DistributedSampler(dataset, world_size, rank, shuffle=shuffle,
                                          seed=seed, drop_last=drop_last)
        self.loader = DataLoader(dataset, batch_size=batch_size, sampler=self.sampler,
                                 num_workers=workers, collate_fn=_collate,
                                 persistent_workers=workers > 0, drop_last=drop_last)

    def set_epoch(self, epoch: int) -> None:
        self.sampler.set_epoch(epoch)

    def __len__(self) -> int:
        return len(self.loader)

    def __iter__(self) -> Iterator[dict[str, torch.Tensor]]:
        yield from self.loader


def build_loader(dataset: StackedDataset, data_cfg: dict[str, Any], *, batch_size: int,
                 train: bool, seed: int, rank: int = 0, world_size: int = 1,
                 mean: tuple[float, ...] = T.IMAGENET_MEAN,
                 std: tuple[float, ...] = T.IMAGENET_STD) -> Any:
    """A :class:`FastLoader` (``data.fast``: uint8 batches, normalised later by the
    :class:`~faceattr.training.runtime.Runtime`) or a :class:`PlainLoader` (decode and
    normalise with ``mean``/``std`` per sample) over ``dataset``."""
    size, resize = int(data_cfg["img_size"]), int(data_cfg["resize"])
    flip_p = float(data_cfg.get("flip_p", 0.5)) if train else 0.0
    if data_cfg.get("fast", True):
        return FastLoader(dataset, batch_size=batch_size, shuffle=train, flip_p=flip_p,
                          seed=seed, size=size, resize=resize, rank=rank,
                          world_size=world_size, cache_dir=data_cfg.get("cache_dir"),
                          drop_last=False)
    dataset.transform = T.build(size, resize, train=train, flip_p=flip_p, mean=mean, std=std)
    return PlainLoader(dataset, batch_size=batch_size, shuffle=train, seed=seed,
                       workers=int(data_cfg.get("workers", 2)), rank=rank,
                       world_size=world_size)
