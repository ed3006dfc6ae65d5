"""Shared fixtures: the real data under $FACEATTR_DATA (default ../shared/data).

Outside CI a test that needs the data skips with a clear reason when it is absent; under CI
(CI=true) missing data is a failure, never a skip.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _data_root() -> Path:
    return Path(os.environ.get("FACEATTR_DATA", REPO.parent / "shared" / "data")).resolve()


def _require(path: Path, what: str) -> Path:
    if not path.exists():
        message = f"{what} not found at {path} (set FACEATTR_DATA to the folder holding it)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture(scope="session")
def celeba_root() -> Path:
    return _require(_data_root() / "celeba" / "list_attr_celeba.txt", "CelebA").parent


@pytest.fixture(scope="session")
def mtfl_root() -> Path:
    return _require(_data_root() / "mtfl" / "training.txt", "MTFL").parent


@pytest.fixture(scope="session")
def celeba_index(celeba_root: Path):
    from faceattr.data.celeba import load_celeba_index

    return load_celeba_index(celeba_root)
