"""Exceptions raised by the data layer.

Every error names the file (and, for annotation files, the 1-based line number) so a user can
find the problem without a debugger.
"""

from __future__ import annotations

from pathlib import Path


class DataError(ValueError):
    """Base class: something is wrong with a dataset file or folder."""


class DatasetNotFoundError(DataError, FileNotFoundError):
    """A dataset root or one of its required files does not exist."""


class AnnotationError(DataError):
    """An annotation file has a malformed header or row."""

    def __init__(self, path: str | Path, line: int | None, message: str) -> None:
        self.path = str(path)
        self.line = line
        where = f"{self.path}:{line}" if line is not None else self.path
        super().__init__(f"{where}: {message}")


class ImageDecodeError(DataError):
    """An image file is missing, empty, truncated, corrupt, too large or of an unusable mode."""

    def __init__(self, path: str | Path | None, message: str) -> None:
        self.path = None if path is None else str(path)
        super().__init__(f"{self.path}: {message}" if self.path else message)
