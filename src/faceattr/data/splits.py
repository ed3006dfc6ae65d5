"""Seeded subsets and splits.

Paper 004 draws a gender-balanced subset of N images, holds out 10% as test, then splits the
rest 90/10 into train and validation, each stratified by gender. Where identities are known
(CelebA), :func:`identity_disjoint_split` keeps every person on one side of a split.
All functions return sorted integer positions into the arrays they are given.
"""

from __future__ import annotations

import numpy as np
from sklearn.model_selection import GroupShuffleSplit, train_test_split


def gender_balanced_subset(gender: np.ndarray, n: int, *, seed: int = 0,
                           eligible: np.ndarray | None = None) -> np.ndarray:
    """Pick ``n`` positions, ``n // 2`` male (gender 1) and ``n - n // 2`` female (gender 0).

    ``eligible`` is an optional boolean mask of positions that may be drawn (e.g. images that
    have landmarks). Raises ``ValueError`` if either gender has too few eligible images.
    """
    gender = np.asarray(gender)
    mask = np.ones(len(gender), dtype=bool) if eligible is None else np.asarray(eligible, bool)
    rng = np.random.default_rng(seed)
    picked = []
    for value, count in ((1, n // 2), (0, n - n // 2)):
        pool = np.flatnonzero(mask & (gender == value))
        if len(pool) < count:
            raise ValueError(f"need {count} {'male' if value else 'female'} images, "
                             f"only {len(pool)} eligible")
        picked.append(rng.choice(pool, size=count, replace=False))
    return np.sort(np.concatenate(picked))


def stratified_split(positions: np.ndarray, strata: np.ndarray, fraction: float, *,
                     seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Split ``positions`` into ``(rest, held_out)`` with ``round(fraction * n)`` held out,
    keeping the proportions of ``strata`` (labels of those positions)."""
    positions = np.asarray(positions)
    rest, held = train_test_split(positions, test_size=fraction, random_state=seed,
                                  stratify=np.asarray(strata), shuffle=True)
    return np.sort(rest), np.sort(held)


def paper004_split(gender: np.ndarray, n: int = 500, *, seed: int = 0,
                   eligible: np.ndarray | None = None, test_fraction: float = 0.1,
                   val_fraction: float = 0.1) -> dict[str, np.ndarray]:
    """Paper 004's protocol: balanced subset of ``n``, 10% test, then 90/10 train/val.

    With ``n=500``: 405 train, 45 val, 50 test, each half male. Returns positions into
    ``gender`` under the keys ``train``, ``val`` and ``test``.
    """
    gender = np.asarray(gender)
    subset = gender_balanced_subset(gender, n, seed=seed, eligible=eligible)
    rest, test = stratified_split(subset, gender[subset], test_fraction, seed=seed)
    train, val = stratified_split(rest, gender[rest], val_fraction, seed=seed)
    return {"train": train, "val": val, "test": test}


def identity_disjoint_split(identity: np.ndarray, fraction: float, *,
                            seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Split positions into ``(rest, held_out)`` so that no identity is on both sides.

    About ``fraction`` of the identities (hence roughly of the images) are held out.
    """
    identity = np.asarray(identity)
    splitter = GroupShuffleSplit(n_splits=1, test_size=fraction, random_state=seed)
    rest, held = next(splitter.split(np.zeros(len(identity)), groups=identity))
    return np.sort(rest), np.sort(held)
