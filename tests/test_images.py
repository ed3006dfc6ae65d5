"""Image decoding: every bad input gets a clear ImageDecodeError naming the file."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from faceattr.data.errors import ImageDecodeError
from faceattr.data.images import load_rgb, to_rgb
from helpers import png_header_only


@pytest.fixture(scope="module")
def real_jpeg(celeba_root: Path) -> bytes:
    return (celeba_root / "img_align_celeba" / "000004.jpg").read_bytes()


def test_real_jpeg_decodes_to_rgb(real_jpeg: bytes, celeba_root: Path) -> None:
    image = load_rgb(celeba_root / "img_align_celeba" / "000004.jpg")
    assert image.mode == "RGB" and image.size == (178, 218)
    assert load_rgb(real_jpeg).tobytes() == image.tobytes()


def test_missing_file_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(ImageDecodeError, match=r"nope\.jpg: no such file"):
        load_rgb(tmp_path / "nope.jpg")


def test_empty_file(tmp_path: Path) -> None:
    (tmp_path / "empty.jpg").write_bytes(b"")
    with pytest.raises(ImageDecodeError, match=r"empty\.jpg: file is empty"):
        load_rgb(tmp_path / "empty.jpg")
    with pytest.raises(ImageDecodeError, match="empty payload"):
        load_rgb(b"")


def test_truncated_jpeg(tmp_path: Path, real_jpeg: bytes) -> None:
    path = tmp_path / "cut.jpg"
    path.write_bytes(real_jpeg[: len(real_jpeg) // 2])
    with pytest.raises(ImageDecodeError, match=r"cut\.jpg: truncated or corrupt JPEG"):
        load_rgb(path)


def test_corrupt_jpeg_body(tmp_path: Path, real_jpeg: bytes) -> None:
    data = bytearray(real_jpeg)
    data[400:] = b"\xff\xd9" + b"\x00" * (len(data) - 402)  # end-of-image marker mid-scan
    path = tmp_path / "corrupt.jpg"
    path.write_bytes(bytes(data))
    with pytest.raises(ImageDecodeError, match="corrupt"):
        load_rgb(path)


def test_text_file_is_not_an_image(tmp_path: Path) -> None:
    path = tmp_path / "notes.jpg"
    path.write_text("hello, this is not a picture\n")
    with pytest.raises(ImageDecodeError, match=r"notes\.jpg: not a recognised image format"):
        load_rgb(path)


def test_huge_dimensions_rejected_before_decoding() -> None:
    with pytest.raises(ImageDecodeError, match=r"decompression bomb"):
        load_rgb(png_header_only(20000, 20000))


def test_tiny_image_rejected() -> None:
    buf = io.BytesIO()
    Image.new("RGB", (1, 1)).save(buf, format="PNG")
    with pytest.raises(ImageDecodeError, match="at least 8 pixels"):
        load_rgb(buf.getvalue())


@pytest.mark.parametrize("mode", ["L", "LA", "P", "RGBA", "CMYK", "I;16", "I", "F", "1"])
def test_modes_convert_to_rgb(mode: str, real_jpeg: bytes) -> None:
    rgb = load_rgb(real_jpeg)
    if mode == "I;16":
        grey16 = (np.asarray(rgb.convert("L"), dtype=np.uint16) * 257)
        source = Image.fromarray(grey16)
        assert source.mode == "I;16"
    else:
        source = rgb.convert(mode)
    fmt = "TIFF" if mode in ("CMYK", "I", "F") else "PNG"
    buf = io.BytesIO()
    source.save(buf, format=fmt)
    out = load_rgb(buf.getvalue())
    assert out.mode == "RGB" and out.size == rgb.size
    grey_in = np.asarray(rgb.convert("L"), dtype=np.float64)
    grey_out = np.asarray(out.convert("L"), dtype=np.float64)
    if mode != "1":  # 1-bit dithers; every other mode keeps the picture
        assert np.corrcoef(grey_in.ravel(), grey_out.ravel())[0, 1] > 0.97


def test_sixteen_bit_scales_full_range() -> None:
    ramp = np.linspace(0, 65535, 64 * 64).reshape(64, 64).astype(np.uint16)
    buf = io.BytesIO()
    Image.fromarray(ramp).save(buf, format="PNG")
    out = np.asarray(load_rgb(buf.getvalue()))[:, :, 0]
    assert out.min() == 0 and out.max() == 255


def test_alpha_composited_on_white() -> None:
    rgba = np.zeros((16, 16, 4), dtype=np.uint8)  # fully transparent black
    out = np.asarray(to_rgb(rgba))
    assert (out == 255).all()


@pytest.mark.parametrize("array", [
    np.zeros((32, 32), np.uint8), np.zeros((32, 32, 1), np.uint8),
    np.zeros((32, 32, 3), np.float32), np.zeros((32, 32, 4), np.uint8),
    np.zeros((32, 32, 3), np.uint16)])
def test_arrays_accepted(array: np.ndarray) -> None:
    assert to_rgb(array).mode == "RGB"


@pytest.mark.parametrize("array, message", [
    (np.zeros((32, 32, 2), np.uint8), "not an image"),
    (np.zeros((4, 32, 32, 3), np.uint8), "not an image"),
    (np.full((32, 32, 3), np.nan, np.float32), "NaN"),
    (np.zeros((32, 32, 3), np.int64), "unsupported array dtype"),
])
def test_bad_arrays_rejected(array: np.ndarray, message: str) -> None:
    with pytest.raises(ImageDecodeError, match=message):
        to_rgb(array)
