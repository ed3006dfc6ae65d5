"""Decode-once cache for CPU training.

Decoding and resizing a JPEG costs more than a MobileNetV2 forward pass at small sizes on this
class of CPU, so :class:`DecodedCache` runs the deterministic part of the pipeline (decode ->
RGB -> resize shorter side -> centre crop) once and stores the result as a memory-mapped uint8
array ``(N, size, size, 3)``. The cache is keyed by the file list (path, byte size, mtime) and
the transform parameters, built atomically (written to a temporary name, then renamed), and
reused by every later run. Random augmentation and normalisation still run per sample.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from faceattr.data import transforms as T
from faceattr.data.errors import ImageDecodeError
from faceattr.data.images import load_rgb

log = logging.getLogger(__name__)
CACHE_VERSION = 1


def default_cache_dir() -> Path:
    """``$FACEATTR_CACHE`` or ``~/.cache/faceattr``."""
    return Path(os.environ.get("FACEATTR_CACHE", Path.home() / ".cache" / "faceattr"))


def cache_key(paths: Sequence[str | Path], *, size: int, resize: int) -> str:
    """Hex digest of the file list (path, byte size, mtime) and the transform parameters."""
    digest = hashlib.sha256(f"v{CACHE_VERSION} resize={resize} size={size}\n".encode())
    for path in paths:
        try:
            st = os.stat(path)
            digest.update(f"{os.path.abspath(path)} {st.st_size} {st.st_mtime_ns}\n".encode())
        except OSError:
            digest.update(f"{os.path.abspath(path)} missing\n".encode())
    return digest.hexdigest()[:24]


def _decode(job: tuple[str, int, int]) -> tuple[np.ndarray | None, np.ndarray | None, str]:
    path, resize, size = job
    try:
        sample = T.Compose([T.ResizeShorter(resize), T.CenterCrop(size)])(
            {"image": load_rgb(path)})
    except (ImageDecodeError, ValueError) as err:
        return None, None, str(err)
    return np.asarray(sample["image"], dtype=np.uint8), sample["matrix"].astype(np.float32), ""


@dataclass
class DecodedCache:
    """Decoded images ``(N, size, size, 3)`` uint8, their original->cached pixel maps
    ``(N, 2, 3)`` and a validity mask (False where the file could not be decoded)."""

    images: np.ndarray
    matrices: np.ndarray
    valid: np.ndarray
    errors: dict[int, str]
    path: Path

    @classmethod
    def build(cls, paths: Sequence[str | Path], *, size: int = 224, resize: int = 256,
              cache_dir: str | Path | None = None, workers: int | None = None,
              progress: bool = False) -> DecodedCache:
        """Load the cache for ``paths`` or build it (in parallel) if absent."""
        paths = [str(p) for p in paths]
        cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
        key = cache_key(paths, size=size, resize=resize)
        data_file = cache_dir / f"{key}.u8"
        meta_file = cache_dir / f"{key}.json"
        if data_file.is_file() and meta_file.is_file():
            return cls._open(data_file, meta_file, len(paths), size)
        cache_dir.mkdir(parents=True, exist_ok=True)
        tmp = data_file.with_suffix(f".u8.tmp{os.getpid()}")
        array = np.memmap(tmp, dtype=np.uint8, mode="w+", shape=(len(paths), size, size, 3))
        matrices = np.zeros((len(paths), 2, 3), dtype=np.float32)
        errors: dict[int, str] = {}
        workers = workers or min(os.cpu_count() or 1, 8)
        jobs = [(p, resize, size) for p in paths]
        bar = _progress(len(jobs), progress, f"decoding {len(jobs)} images once")
        try:
            with ProcessPoolExecutor(workers) as pool:
                for i, (pixels, matrix, error) in enumerate(pool.map(_decode, jobs,
                                                                     chunksize=64)):
                    if pixels is None:
                        errors[i] = error
                    else:
                        array[i] = pixels
                        matrices[i] = matrix
                    bar.update(1)
            array.flush()
            del array
            os.replace(tmp, data_file)
        finally:
            bar.close()
            tmp.unlink(missing_ok=True)
        meta = {"version": CACHE_VERSION, "count": len(paths), "size": size, "resize": resize,
                "matrices": matrices.round(6).tolist(), "errors": errors, "files": paths}
        tmp_meta = meta_file.with_suffix(f".json.tmp{os.getpid()}")
        tmp_meta.write_text(json.dumps(meta))
        os.replace(tmp_meta, meta_file)
        for error in errors.values():
            log.warning("skipping undecodable image %s", error)
        return cls._open(data_file, meta_file, len(paths), size)

    @classmethod
    def _open(cls, data_file: Path, meta_file: Path, count: int, size: int) -> DecodedCache:
        meta = json.loads(meta_file.read_text())
        images = np.memmap(data_file, dtype=np.uint8, mode="r", shape=(count, size, size, 3))
        errors = {int(k): v for k, v in meta["errors"].items()}
        valid = np.ones(count, dtype=bool)
        valid[list(errors)] = False
        return cls(images=images, matrices=np.asarray(meta["matrices"], dtype=np.float32),
                   valid=valid, errors=errors, path=data_file)


def _progress(total: int, enabled: bool, desc: str) -> Any:
    from tqdm import tqdm

    return tqdm(total=total, disable=not enabled, desc=desc, unit="img")


class CachedDataset(Dataset):
    """A dataset (anything with ``image_path(i)``, ``labels(i)`` and ``len``) served from a
    :class:`DecodedCache`. Images the cache could not decode are left out and counted in
    ``skipped``. ``transform`` gets the sample with a ``(3, size, size)`` uint8 tensor image and
    landmarks already mapped into cached-image pixels (e.g. flip + normalise)."""

    def __init__(self, dataset: Any, transform: Any = None, *, size: int = 224,
                 resize: int = 256, cache_dir: str | Path | None = None,
                 progress: bool = False) -> None:
        self.dataset = dataset
        self.cache = DecodedCache.build([dataset.image_path(i) for i in range(len(dataset))],
                                        size=size, resize=resize, cache_dir=cache_dir,
                                        progress=progress)
        self.rows = np.flatnonzero(self.cache.valid)
        self.skipped = len(dataset) - len(self.rows)
        self.transform = transform

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, i: int) -> dict[str, Any]:
        row = int(self.rows[i])
        sample = self.dataset.labels(row)
        matrix = self.cache.matrices[row].astype(np.float64)
        sample["image"] = torch.from_numpy(np.array(self.cache.images[row])).permute(2, 0, 1)
        sample["matrix"] = matrix
        if sample.get("landmarks") is not None:
            points = np.asarray(sample["landmarks"], dtype=np.float64)
            sample["landmarks"] = (points @ matrix[:, :2].T + matrix[:, 2]).astype(np.float32)
        return self.transform(sample) if self.transform is not None else sample
