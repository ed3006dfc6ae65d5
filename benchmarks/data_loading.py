"""Images per second through the input pipeline: JPEG decode every epoch vs the decode-once cache.

    .venv/bin/python benchmarks/data_loading.py --root ../shared/data/celeba --images 2000

Both paths produce the same normalised (3, S, S) tensors with random flips; the model is not
involved. The cache is built once (its build time is printed separately) and then read from
the memory-mapped file, as every later epoch does.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time

import numpy as np
import torch
from torch.utils.data import DataLoader

from faceattr.data import transforms as T
from faceattr.data.cache import CachedDataset
from faceattr.data.celeba import CelebA
from faceattr.data.loader import FastLoader


def _drain(loader: DataLoader, batch_normalize: bool = False) -> tuple[int, float]:
    start, seen = time.perf_counter(), 0
    for batch in loader:
        images = T.normalize_batch(batch["image"]) if batch_normalize else batch["image"]
        seen += len(images)
    return seen, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", required=True)
    parser.add_argument("--images", type=int, default=2000)
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--resize", type=int, default=256)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args()
    torch.set_num_threads(os.cpu_count() or 1)
    dataset = CelebA(args.root, "train", indices=np.arange(args.images))
    naive = CelebA(args.root, "train", indices=np.arange(args.images),
                   transform=T.build(args.size, args.resize, train=True))
    keys = ("image", "attrs")

    def collate(samples: list[dict]) -> dict:
        return {k: torch.utils.data.default_collate([s[k] for s in samples]) for k in keys}

    loader_args = {"batch_size": args.batch_size, "num_workers": args.workers,
                   "collate_fn": collate, "shuffle": True}
    seen, naive_s = _drain(DataLoader(naive, **loader_args))
    with tempfile.TemporaryDirectory() as cache_dir:
        start = time.perf_counter()
        # uint8 samples, flipped per sample, normalised per batch (as the trainer does)
        cached = CachedDataset(dataset, T.RandomHorizontalFlip(), size=args.size,
                               resize=args.resize, cache_dir=cache_dir)
        build_s = time.perf_counter() - start
        cached_seen, cached_s = _drain(DataLoader(cached, **loader_args), batch_normalize=True)
        fast = FastLoader(dataset, batch_size=args.batch_size, shuffle=True, flip_p=0.5,
                          size=args.size, resize=args.resize, cache_dir=cache_dir)
        fast_seen, fast_s = _drain(fast, batch_normalize=True)
    result = {
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
        "images": seen, "size": args.size, "workers": args.workers,
        "naive_images_per_s": round(seen / naive_s, 1),
        "cached_images_per_s": round(cached_seen / cached_s, 1),
        "fast_loader_images_per_s": round(fast_seen / fast_s, 1),
        "speedup_cached_dataset": round((cached_seen / cached_s) / (seen / naive_s), 2),
        "speedup_fast_loader": round((fast_seen / fast_s) / (seen / naive_s), 2),
        "cache_build_s": round(build_s, 1),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
