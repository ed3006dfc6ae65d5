"""Annotation readers on the real files and on small official-format files the tests write."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from faceattr.data import celeba
from faceattr.data.errors import AnnotationError, DatasetNotFoundError
from faceattr.data.mtfl import read_mtfl

BBOX_OFFICIAL = """202599
image_id x_1 y_1 width height
000001.jpg    95  71 226 313
000002.jpg    72  94 221 306
000003.jpg   216  59  91 126
"""


def _write(path: Path, text: str, crlf: bool = False) -> Path:
    path.write_bytes(text.replace("\n", "\r\n" if crlf else "\n").encode())
    return path


def test_real_attribute_file(celeba_root: Path) -> None:
    names, files, labels = celeba.read_attributes(celeba_root / celeba.ATTR_FILE)
    assert len(names) == 40 and names[0] == "5_o_Clock_Shadow" and names[-1] == "Young"
    assert "Male" in names and len(files) == labels.shape[0] == 14_800
    assert labels.dtype == np.uint8 and set(np.unique(labels)) == {0, 1}
    raw = (celeba_root / celeba.ATTR_FILE).read_text().splitlines()[2].split()
    assert files[0] == raw[0]
    assert labels[0].tolist() == [1 if v == "1" else 0 for v in raw[1:]]


def test_real_partition_identity_landmarks(celeba_root: Path) -> None:
    partition = celeba.read_partition(celeba_root / celeba.PARTITION_FILE)
    identity = celeba.read_identities(celeba_root / celeba.IDENTITY_FILE)
    assert len(partition) == len(identity) == 202_599
    assert partition["000001.jpg"] == 0 and identity["000001.jpg"] == 2880
    counts = np.bincount(list(partition.values()))
    assert counts.tolist() == [162_770, 19_867, 19_962]  # the official split
    files, points = celeba.read_landmarks(celeba_root / celeba.LANDMARK_FILE)
    assert points.shape == (len(files), 5, 2) and files[0] == "000001.jpg"
    assert points[0].tolist() == [[69, 109], [106, 113], [77, 142], [73, 152], [108, 154]]


@pytest.mark.parametrize("crlf", [False, True])
def test_bbox_reader_official_format(tmp_path: Path, crlf: bool) -> None:
    text = BBOX_OFFICIAL.replace("202599", "3")
    files, boxes = celeba.read_bboxes(_write(tmp_path / "list_bbox_celeba.txt", text, crlf))
    assert files == ["000001.jpg", "000002.jpg", "000003.jpg"]
    assert boxes.tolist()[0] == [95, 71, 226, 313]


def test_bbox_count_mismatch_is_reported(tmp_path: Path) -> None:
    with pytest.raises(AnnotationError, match=r"list_bbox_celeba.txt:1: header says 202599 rows"):
        celeba.read_bboxes(_write(tmp_path / "list_bbox_celeba.txt", BBOX_OFFICIAL))


def test_bbox_bad_size(tmp_path: Path) -> None:
    text = BBOX_OFFICIAL.replace("202599", "3").replace("91 126", "0 126")
    with pytest.raises(AnnotationError, match=r"000003\.jpg: box width/height must be > 0"):
        celeba.read_bboxes(_write(tmp_path / "b.txt", text))


ATTR_SMALL = """2
Bald Male Smiling
000001.jpg -1  1  1
000002.jpg  1 -1 -1
"""


@pytest.mark.parametrize("crlf", [False, True])
def test_attribute_reader_small(tmp_path: Path, crlf: bool) -> None:
    names, files, labels = celeba.read_attributes(_write(tmp_path / "a.txt", ATTR_SMALL, crlf))
    assert names == ["Bald", "Male", "Smiling"] and files == ["000001.jpg", "000002.jpg"]
    assert labels.tolist() == [[0, 1, 1], [1, 0, 0]]


@pytest.mark.parametrize("bad_row, message", [
    ("000002.jpg  1 -1", r"a\.txt:4: expected a file name and 3 values, got 3 fields"),
    ("000002.jpg  1 -1  0", r"a\.txt:4: value 0 is not one of \[-1, 1\]"),
    ("000002.jpg  1 -1  x", r"a\.txt:4: not a number: 'x'"),
    ("000001.jpg  1 -1 -1", r"a\.txt:4: duplicate row for '000001.jpg'"),
])
def test_attribute_reader_malformed_rows(tmp_path: Path, bad_row: str, message: str) -> None:
    text = ATTR_SMALL.replace("000002.jpg  1 -1 -1", bad_row)
    with pytest.raises(AnnotationError, match=message):
        celeba.read_attributes(_write(tmp_path / "a.txt", text))


def test_attribute_reader_bad_header(tmp_path: Path) -> None:
    with pytest.raises(AnnotationError, match=r"a\.txt:1: expected the row count"):
        celeba.read_attributes(_write(tmp_path / "a.txt", "Bald Male\n000001.jpg 1 1\n"))
    with pytest.raises(AnnotationError, match="ends before its header"):
        celeba.read_attributes(_write(tmp_path / "a.txt", "3\n"))


def test_partition_reader_errors(tmp_path: Path) -> None:
    with pytest.raises(AnnotationError, match=r"p\.txt:2: value 3 is not one of \[0, 1, 2\]"):
        celeba.read_partition(_write(tmp_path / "p.txt", "000001.jpg 0\n000002.jpg 3\n"))
    with pytest.raises(AnnotationError, match=r"p\.txt:1: expected 'file value'"):
        celeba.read_partition(_write(tmp_path / "p.txt", "000001.jpg\n"))
    with pytest.raises(DatasetNotFoundError, match="annotation file not found"):
        celeba.read_partition(tmp_path / "absent.txt")


def test_real_mtfl_files(mtfl_root: Path) -> None:
    files, points, attrs, pose = read_mtfl(mtfl_root / "training.txt")
    assert len(files) == 4_151 and points.shape == (4_151, 5, 2)
    assert files[0] == "lfw_5590/Aaron_Eckhart_0001.jpg"  # backslash path, no leading space
    assert files[1] == "lfw_5590/Aaron_Guiel_0001.jpg"  # leading space stripped
    # row 1: x1..x5 = 107.25 147.75 126.25 106.25 140.75, y1..y5 = 108.75 ... 162.75
    assert points[0, 0].tolist() == [107.25, 108.75] and points[0, 4].tolist() == [140.75, 162.75]
    assert attrs[0].tolist() == [1.0, 0.0, 0.0] and pose[0] == 3  # male, no smile, no glasses
    assert attrs[1].tolist() == [1.0, 1.0, 0.0]
    test_files, *_ = read_mtfl(mtfl_root / "testing.txt")
    assert len(test_files) == 2_995 and test_files[0].startswith("AFLW/")


@pytest.mark.parametrize("row, message", [
    (r" lfw\a.jpg 1 2 3 4 5 6 7 8 9 10 1 2 2", "expected 15 fields"),
    (r" lfw\a.jpg 1 2 3 4 5 6 7 8 9 10 3 2 2 3", r"gender code 3 is not one of \[1, 2\]"),
    (r" lfw\a.jpg 1 2 3 4 5 6 7 8 9 10 1 2 2 6", r"pose code 6 is not one of \[1, 2, 3, 4, 5\]"),
    (r" lfw\a.jpg 1 2 3 4 five 6 7 8 9 10 1 2 2 3", "bad number"),
    (r" lfw\a.jpg 1 2 3 4 nan 6 7 8 9 10 1 2 2 3", "landmark coordinate is not finite"),
])
def test_mtfl_malformed_rows(tmp_path: Path, row: str, message: str) -> None:
    good = r" lfw\b.jpg 1 2 3 4 5 6 7 8 9 10 1 2 2 3"
    path = _write(tmp_path / "training.txt", f"{good}\n{row}\n", crlf=True)
    with pytest.raises(AnnotationError, match=rf"training\.txt:2: {message}"):
        read_mtfl(path)
