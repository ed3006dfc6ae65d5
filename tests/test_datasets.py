"""CelebA and MTFL datasets on the real data, partial downloads and missing roots."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from faceattr.data import celeba
from faceattr.data.celeba import CelebA, load_celeba_index
from faceattr.data.errors import DatasetNotFoundError, ImageDecodeError
from faceattr.data.mtfl import MTFL


def test_celeba_index_counts(celeba_index) -> None:
    assert len(celeba_index.files) == 14_800
    assert [len(celeba_index.select(s)) for s in ("train", "val", "test")] == [8_000, 4_535, 2_265]
    assert celeba_index.skipped == {"partition rows without an image": 202_599 - 14_800}
    has = celeba_index.has_landmarks
    assert [int(has[celeba_index.select(s)].sum()) for s in ("train", "val", "test")] == [
        3_904, 4_535, 2_265]
    assert np.isnan(celeba_index.bboxes).all()  # no bbox file in this download


def test_celeba_identities_never_cross_partitions(celeba_index) -> None:
    sets = [set(celeba_index.identity[celeba_index.select(s)]) for s in ("train", "val", "test")]
    assert not (sets[0] & sets[1]) and not (sets[0] & sets[2]) and not (sets[1] & sets[2])
    assert len(sets[0]) == 1_600


def test_celeba_sample(celeba_root: Path, celeba_index) -> None:
    dataset = CelebA(celeba_root, "test", index=celeba_index)
    sample = dataset[0]
    assert sample["image"].size == (178, 218) and sample["attrs"].shape == (40,)
    assert sample["gender"] == sample["attrs"][dataset.attr_names.index("Male")]
    points = sample["landmarks"]
    assert points.shape == (5, 2) and np.isfinite(points).all()
    assert points[0, 0] < points[1, 0]  # the image's left eye is left of its right eye
    assert points.min() >= 0 and points[:, 0].max() < 178 and points[:, 1].max() < 218
    train = CelebA(celeba_root, "train", index=celeba_index)
    no_landmarks = np.flatnonzero(~celeba_index.has_landmarks[train.rows])
    assert np.isnan(train.labels(int(no_landmarks[0]))["landmarks"]).all()
    assert len(CelebA(celeba_root, "train", index=celeba_index, require_landmarks=True)) == 3_904


def _partial_copy(celeba_root: Path, tmp_path: Path, keep: int) -> Path:
    root = tmp_path / "celeba"
    (root / "img_align_celeba").mkdir(parents=True)
    for name in (celeba.ATTR_FILE, celeba.PARTITION_FILE, celeba.IDENTITY_FILE):
        os.symlink(celeba_root / name, root / name)
    for name in sorted(os.listdir(celeba_root / "img_align_celeba"))[:keep]:
        shutil.copy(celeba_root / "img_align_celeba" / name, root / "img_align_celeba" / name)
    return root


def test_partial_download_is_counted(celeba_root: Path, tmp_path: Path) -> None:
    root = _partial_copy(celeba_root, tmp_path, keep=30)
    (root / "img_align_celeba" / "999999.jpg").write_bytes(b"not listed anywhere")
    index = load_celeba_index(root)
    assert len(index.files) == 30
    assert index.skipped == {
        "attribute rows without an image": 14_800 - 30,
        "images without an attribute row": 1,
        "partition rows without an image": 202_599 - 30,
    }
    assert np.isnan(index.landmarks).all()  # no landmark file in this root


def test_corrupt_image_names_the_file(celeba_root: Path, tmp_path: Path) -> None:
    root = _partial_copy(celeba_root, tmp_path, keep=3)
    victim = sorted(os.listdir(root / "img_align_celeba"))[1]
    path = root / "img_align_celeba" / victim
    path.write_bytes(path.read_bytes()[:300])
    dataset = CelebA(root, "all")
    with pytest.raises(ImageDecodeError, match=rf"{victim}: truncated or corrupt"):
        dataset[1]


def test_missing_roots(tmp_path: Path) -> None:
    with pytest.raises(DatasetNotFoundError, match="CelebA root folder not found"):
        load_celeba_index(tmp_path / "nothing")
    (tmp_path / "c").mkdir()
    with pytest.raises(DatasetNotFoundError, match="image folder not found"):
        load_celeba_index(tmp_path / "c")
    (tmp_path / "c" / "img_align_celeba").mkdir()
    with pytest.raises(DatasetNotFoundError, match=r"list_attr_celeba\.txt: required"):
        load_celeba_index(tmp_path / "c")
    with pytest.raises(DatasetNotFoundError, match="MTFL root folder not found"):
        MTFL(tmp_path / "nothing")


def test_mtfl_dataset(mtfl_root: Path, celeba_index) -> None:
    train, test = MTFL(mtfl_root, "train"), MTFL(mtfl_root, "test")
    assert (len(train), len(test)) == (4_151, 2_995)
    sample = train[0]
    assert sample["image"].mode == "RGB" and sample["image"].size == (250, 250)
    assert sample["attrs"].tolist() == [1.0, 0.0, 0.0] and sample["gender"] == 1.0
    wide = MTFL(mtfl_root, "test", attr_names=celeba_index.attr_names)
    attrs = wide.labels(0)["attrs"]
    known = [celeba_index.attr_names.index(n) for n in ("Male", "Smiling", "Eyeglasses")]
    assert attrs.shape == (40,) and np.isfinite(attrs[known]).all()
    assert np.isnan(np.delete(attrs, known)).all()
    assert wide[0]["image"].size == (150, 150)
