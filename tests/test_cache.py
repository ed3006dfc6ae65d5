"""The decode-once cache returns exactly what the plain pipeline returns."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import torch

from faceattr.data import transforms as T
from faceattr.data.cache import CachedDataset, DecodedCache, cache_key
from faceattr.data.celeba import CelebA


def test_cache_matches_pipeline(celeba_root: Path, celeba_index, tmp_path: Path) -> None:
    dataset = CelebA(celeba_root, "test", index=celeba_index, indices=np.arange(48))
    cached = CachedDataset(dataset, size=112, resize=128, cache_dir=tmp_path)
    plain = T.Compose([T.ResizeShorter(128), T.CenterCrop(112), T.ToTensor()])
    for i in (0, 17, 47):
        expected = plain(dataset[i])
        got = cached[i]
        assert torch.equal(got["image"], expected["image"])
        np.testing.assert_allclose(got["landmarks"], expected["landmarks"].numpy(), atol=1e-4)
        assert got["attrs"].tolist() == expected["attrs"].tolist()
    assert sorted(p.suffix for p in tmp_path.iterdir()) == [".json", ".u8"]  # no temp files


def test_cache_is_reused_and_keyed(celeba_root: Path, celeba_index, tmp_path: Path) -> None:
    dataset = CelebA(celeba_root, "val", index=celeba_index, indices=np.arange(20))
    paths = [dataset.image_path(i) for i in range(len(dataset))]
    first = DecodedCache.build(paths, size=64, resize=72, cache_dir=tmp_path)
    stamp = first.path.stat().st_mtime_ns
    second = DecodedCache.build(paths, size=64, resize=72, cache_dir=tmp_path)
    assert second.path == first.path and second.path.stat().st_mtime_ns == stamp
    assert np.array_equal(np.asarray(first.images), np.asarray(second.images))
    assert cache_key(paths, size=64, resize=72) != cache_key(paths, size=64, resize=80)
    assert cache_key(paths, size=64, resize=72) != cache_key(paths[:-1], size=64, resize=72)


def test_undecodable_images_are_counted(celeba_root: Path, tmp_path: Path) -> None:
    files = sorted(os.listdir(celeba_root / "img_align_celeba"))[:6]
    for name in files:
        shutil.copy(celeba_root / "img_align_celeba" / name, tmp_path / name)
    (tmp_path / files[2]).write_bytes(b"")
    (tmp_path / files[4]).write_bytes((celeba_root / "img_align_celeba" / files[4])
                                      .read_bytes()[:500])
    cache = DecodedCache.build([tmp_path / f for f in files], size=64, resize=72,
                               cache_dir=tmp_path / "cache")
    assert cache.valid.tolist() == [True, True, False, True, False, True]
    assert "file is empty" in cache.errors[2] and files[4] in cache.errors[4]


def test_fast_loader_equals_per_sample_path(celeba_root: Path, celeba_index,
                                            tmp_path: Path) -> None:
    from faceattr.data.loader import FastLoader

    dataset = CelebA(celeba_root, "val", index=celeba_index, indices=np.arange(40))
    loader = FastLoader(dataset, batch_size=16, shuffle=True, flip_p=0.5, size=96, resize=110,
                        cache_dir=tmp_path, seed=3)
    plain = CachedDataset(dataset, size=96, resize=110, cache_dir=tmp_path)
    seen, flips = [], 0
    for batch in loader:
        assert batch["image"].dtype == torch.uint8 and batch["image"].shape[1:] == (3, 96, 96)
        assert batch["image"].is_contiguous(memory_format=torch.channels_last)
        for j, row in enumerate(batch["index"].tolist()):
            sample = plain[row]
            if not torch.equal(batch["image"][j], sample["image"]):
                sample = T.HorizontalFlip()(sample)
                flips += 1
            assert torch.equal(batch["image"][j], sample["image"])
            np.testing.assert_allclose(batch["landmarks"][j].numpy(), sample["landmarks"],
                                       atol=1e-4)
            assert batch["attrs"][j].tolist() == sample["attrs"].tolist()
            seen.append(row)
    assert sorted(seen) == list(range(40)) and 8 < flips < 32
    normalised = T.normalize_batch(batch["image"])
    per_sample = torch.stack([T.Normalize()({"image": im})["image"] for im in batch["image"]])
    torch.testing.assert_close(normalised, per_sample, atol=1e-5, rtol=1e-5)


def test_fast_loader_shards_like_distributed_sampler(celeba_root: Path, celeba_index,
                                                     tmp_path: Path) -> None:
    from faceattr.data.loader import FastLoader

    dataset = CelebA(celeba_root, "val", index=celeba_index, indices=np.arange(21))
    shards = [FastLoader(dataset, batch_size=4, shuffle=True, size=64, resize=72,
                         cache_dir=tmp_path, rank=r, world_size=2) for r in (0, 1)]
    rows = [[i for b in s for i in b["index"].tolist()] for s in shards]
    assert len(rows[0]) == len(rows[1]) == 11  # padded to 22, as DistributedSampler does
    assert set(rows[0]) | set(rows[1]) == set(range(21))
    shards[0].set_epoch(1)
    assert [i for b in shards[0] for i in b["index"].tolist()] != rows[0]
