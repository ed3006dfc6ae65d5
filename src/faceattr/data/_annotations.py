"""Parsers for the whitespace-separated annotation files of CelebA and MTFL.

All parsers accept LF and CRLF line endings, ignore blank lines, and raise
:class:`~faceattr.data.errors.AnnotationError` naming the file and the 1-based line of the
first malformed row.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from faceattr.data.errors import AnnotationError, DatasetNotFoundError


def iter_lines(path: str | Path) -> Iterator[tuple[int, str]]:
    """Yield ``(line_number, stripped_text)`` for every non-blank line (1-based numbers)."""
    path = Path(path)
    if not path.is_file():
        raise DatasetNotFoundError(f"{path}: annotation file not found")
    with path.open("r", encoding="utf-8", errors="strict", newline=None) as fh:
        try:
            for number, line in enumerate(fh, start=1):
                text = line.strip()
                if text:
                    yield number, text
        except UnicodeDecodeError as err:
            raise AnnotationError(path, None, f"not a UTF-8 text file ({err})") from err


@dataclass(frozen=True)
class Table:
    """A parsed CelebA-style table: one row per image file, ``len(columns)`` numbers per row."""

    columns: list[str]
    files: list[str]
    values: np.ndarray  # (len(files), len(columns))


def read_table(path: str | Path, *, dtype: type = np.float32,
               allowed: frozenset[int] | None = None, has_count: bool = True,
               first_column_named: bool = False) -> Table:
    """Read a table: ``[count]`` line, a header of column names, then ``file v1 .. vK`` rows.

    Parameters
    ----------
    path : file to read (``list_attr_celeba.txt``, ``list_landmarks_align_celeba.txt``, ...).
    dtype : numpy dtype of the values.
    allowed : if given, the only integer values a cell may hold (e.g. ``{-1, 1}``).
    has_count : the first line is the number of rows; it must match the rows read.
    first_column_named : the header names the file column too (``image_id x_1 ...`` in
        ``list_bbox_celeba.txt``); that name is dropped.
    """
    lines = iter_lines(path)
    count: int | None = None
    try:
        if has_count:
            number, text = next(lines)
            try:
                count = int(text)
            except ValueError:
                raise AnnotationError(
                    path, number, f"expected the row count, got {text[:60]!r}") from None
        number, header = next(lines)
    except StopIteration:
        raise AnnotationError(path, None, "file ends before its header") from None
    columns = header.split()
    if first_column_named:
        columns = columns[1:]
    if not columns or any(c.lstrip("-").replace(".", "").isdigit() for c in columns):
        raise AnnotationError(path, number, f"expected column names, got {header[:80]!r}")
    width = len(columns)
    files: list[str] = []
    rows: list[list[str]] = []
    for number, text in lines:
        parts = text.split()
        if len(parts) != width + 1:
            raise AnnotationError(
                path, number, f"expected a file name and {width} values, got {len(parts)} fields"
            )
        files.append(parts[0])
        rows.append(parts[1:])
    try:
        values = np.array(rows, dtype=np.float64).reshape(len(rows), width)
    except ValueError:
        values = None
    if values is None or not np.isfinite(values).all():
        for offset, row in enumerate(rows):  # find the first bad cell to name its line
            for cell in row:
                try:
                    if not np.isfinite(float(cell)):
                        raise ValueError
                except ValueError:
                    raise AnnotationError(
                        path, _line_of(path, files[offset]), f"not a number: {cell!r}"
                    ) from None
    assert values is not None
    if allowed is not None:
        bad = ~np.isin(values, sorted(allowed))
        if bad.any():
            row = int(np.argwhere(bad)[0][0])
            raise AnnotationError(
                path, _line_of(path, files[row]),
                f"value {values[bad][0]:g} is not one of {sorted(allowed)}",
            )
    if count is not None and count != len(files):
        raise AnnotationError(
            path, 1, f"header says {count} rows but the file has {len(files)} "
            "(truncated or edited file?)"
        )
    _check_unique(path, files)
    return Table(columns=columns, files=files, values=values.astype(dtype))


def read_mapping(path: str | Path, *, allowed: frozenset[int] | None = None) -> dict[str, int]:
    """Read ``file integer`` rows (``list_eval_partition.txt``, ``identity_CelebA.txt``)."""
    mapping: dict[str, int] = {}
    for number, text in iter_lines(path):
        parts = text.split()
        if len(parts) != 2:
            raise AnnotationError(path, number, f"expected 'file value', got {len(parts)} fields")
        try:
            value = int(parts[1])
        except ValueError:
            raise AnnotationError(path, number, f"not an integer: {parts[1]!r}") from None
        if allowed is not None and value not in allowed:
            raise AnnotationError(path, number, f"value {value} is not one of {sorted(allowed)}")
        if parts[0] in mapping:
            raise AnnotationError(path, number, f"duplicate row for {parts[0]!r}")
        mapping[parts[0]] = value
    return mapping


def _check_unique(path: str | Path, files: list[str]) -> None:
    if len(set(files)) != len(files):
        seen: set[str] = set()
        for name in files:
            if name in seen:
                raise AnnotationError(path, _line_of(path, name, nth=2),
                                      f"duplicate row for {name!r}")
            seen.add(name)


def _line_of(path: str | Path, first_field: str, nth: int = 1) -> int | None:
    """Line number of the ``nth`` row starting with ``first_field`` (only used on errors)."""
    hits = 0
    for number, text in iter_lines(path):
        if text.split(maxsplit=1)[0] == first_field:
            hits += 1
            if hits == nth:
                return number
    return None
