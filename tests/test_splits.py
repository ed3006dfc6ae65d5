"""Paper 004 subsets and identity-disjoint splits on real CelebA labels."""

from __future__ import annotations

import numpy as np
import pytest

from faceattr.data.splits import (
    gender_balanced_subset,
    identity_disjoint_split,
    paper004_split,
)


def _gender(index) -> np.ndarray:
    return index.attrs[:, index.attr_names.index("Male")]


def test_paper004_split_sizes_and_balance(celeba_index) -> None:
    gender = _gender(celeba_index)
    split = paper004_split(gender, 500, seed=0, eligible=celeba_index.has_landmarks)
    assert {k: len(v) for k, v in split.items()} == {"train": 405, "val": 45, "test": 50}
    everything = np.concatenate(list(split.values()))
    assert len(np.unique(everything)) == 500  # disjoint
    assert gender[everything].sum() == 250
    assert gender[split["test"]].sum() == 25  # stratified by gender
    assert abs(int(gender[split["val"]].sum()) - 22.5) <= 0.5
    assert celeba_index.has_landmarks[everything].all()


def test_split_is_seeded(celeba_index) -> None:
    gender = _gender(celeba_index)
    a = paper004_split(gender, 500, seed=1)
    b = paper004_split(gender, 500, seed=1)
    c = paper004_split(gender, 500, seed=2)
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert not np.array_equal(a["test"], c["test"])


def test_balanced_subset_needs_enough_images() -> None:
    gender = np.array([1, 1, 1, 0])
    assert sorted(gender_balanced_subset(gender, 2, seed=0).tolist()).count(3) == 1
    with pytest.raises(ValueError, match="need 2 female images, only 1 eligible"):
        gender_balanced_subset(gender, 4, seed=0)


def test_identity_disjoint_split_on_real_identities(celeba_index) -> None:
    train = celeba_index.select("train")
    identity = celeba_index.identity[train]
    rest, held = identity_disjoint_split(identity, 0.1, seed=0)
    assert not set(identity[rest]) & set(identity[held])
    assert len(rest) + len(held) == len(train)
    assert 0.07 < len(held) / len(train) < 0.13
