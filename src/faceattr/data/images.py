"""Decoding images safely into 8-bit RGB.

Every loader in faceattr goes through :func:`load_rgb` (files and bytes) or :func:`to_rgb`
(PIL images and numpy arrays), so that bad input fails here with a clear
:class:`~faceattr.data.errors.ImageDecodeError` instead of deep inside torch.

Conventions: the result is always a PIL image of mode ``"RGB"``, 8 bits per channel, with the
EXIF orientation applied. Alpha is composited over white; 16-bit and float images are scaled
by their actual range (16-bit: divided by 257, i.e. full 0..65535 range maps to 0..255).
"""

from __future__ import annotations

import contextlib
import io
import warnings
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from faceattr.data.errors import ImageDecodeError

#: Largest image accepted, in pixels (width * height). 40 MP covers every phone camera.
MAX_PIXELS = 40_000_000
#: Smallest side accepted, in pixels.
MIN_SIDE = 8

ImageSource = str | Path | bytes | BinaryIO


def _check_size(width: int, height: int, name: str | None, max_pixels: int) -> None:
    if width * height > max_pixels:
        raise ImageDecodeError(
            name, f"image is {width}x{height} = {width * height:,} pixels, over the limit of "
            f"{max_pixels:,} (a decompression bomb or an absurdly large image)"
        )
    if min(width, height) < MIN_SIDE:
        raise ImageDecodeError(
            name, f"image is {width}x{height}; both sides must be at least {MIN_SIDE} pixels"
        )


def load_rgb(source: ImageSource, *, max_pixels: int = MAX_PIXELS) -> Image.Image:
    """Decode an image file (path, bytes or binary file object) into an 8-bit RGB PIL image.

    The header is checked against ``max_pixels`` before any pixel is decoded, so a 20000x20000
    PNG is rejected without allocating 1.2 GB.

    Raises
    ------
    ImageDecodeError
        If the file is missing, empty, not an image, truncated, corrupt, too large, too small or
        of a mode that cannot be converted.
    """
    name: str | None
    if isinstance(source, str | Path):
        name = str(source)
        path = Path(source)
        if not path.is_file():
            raise ImageDecodeError(name, "no such file")
        if path.stat().st_size == 0:
            raise ImageDecodeError(name, "file is empty (0 bytes)")
        fp: BinaryIO = path.open("rb")
    elif isinstance(source, bytes | bytearray | memoryview):
        name = None
        if len(source) == 0:
            raise ImageDecodeError(None, "empty payload (0 bytes)")
        fp = io.BytesIO(bytes(source))
    else:
        name = getattr(source, "name", None)
        fp = source
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            try:
                image = Image.open(fp)
            except UnidentifiedImageError as err:
                raise ImageDecodeError(name, "not a recognised image format") from err
            except (Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
                raise ImageDecodeError(name, f"rejected as a decompression bomb: {err}") from err
            except (OSError, SyntaxError, ValueError) as err:
                raise ImageDecodeError(name, f"truncated or corrupt image header: {err}") from err
            _check_size(image.width, image.height, name, max_pixels)
            try:
                image.load()
            except (OSError, SyntaxError, ValueError) as err:
                raise ImageDecodeError(
                    name, f"truncated or corrupt {image.format or 'image'} data: {err}"
                ) from err
        return to_rgb(image, name=name)
    finally:
        if isinstance(source, str | Path | bytes | bytearray | memoryview):
            fp.close()


def to_rgb(image: Image.Image | np.ndarray, *, name: str | None = None) -> Image.Image:
    """Convert a PIL image or a numpy array to an 8-bit RGB PIL image.

    Accepted arrays: ``(H, W)`` grey, ``(H, W, 1)``, ``(H, W, 3)`` RGB or ``(H, W, 4)`` RGBA, of
    dtype uint8, uint16 (scaled by 1/257) or float in [0, 1]. Accepted PIL modes: 1, L, LA, P,
    PA, RGB, RGBA, RGBX, CMYK, YCbCr, LAB, HSV, I, I;16*, F.
    """
    if isinstance(image, np.ndarray):
        image = _array_to_pil(image, name)
    if not isinstance(image, Image.Image):
        raise ImageDecodeError(name, f"expected a PIL image or numpy array, got {type(image)!r}")
    with contextlib.suppress(Exception):  # a broken EXIF block must not lose the picture
        image = ImageOps.exif_transpose(image)
    mode = image.mode
    if mode == "RGB":
        return image
    if mode in ("RGBA", "LA", "PA") or (mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        array = np.asarray(image).astype(np.float64)
        if mode.startswith("I;16"):
            array = array / 257.0
        else:  # 32-bit int or float: scale by the actual range
            low, high = float(np.nanmin(array)), float(np.nanmax(array))
            array = (array - low) / (high - low) * 255.0 if high > low else np.zeros_like(array)
        grey = np.clip(np.rint(array), 0, 255).astype(np.uint8)
        return Image.fromarray(grey, mode="L").convert("RGB")
    try:
        return image.convert("RGB")
    except (ValueError, OSError) as err:
        raise ImageDecodeError(name, f"cannot convert image mode {mode!r} to RGB: {err}") from err


def _array_to_pil(array: np.ndarray, name: str | None) -> Image.Image:
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (3, 4)):
        raise ImageDecodeError(
            name, f"array of shape {array.shape} is not an image; expected (H, W), (H, W, 3) "
            "or (H, W, 4)"
        )
    _check_size(array.shape[1], array.shape[0], name, MAX_PIXELS)
    if array.dtype == np.uint16:
        array = np.rint(array / 257.0).astype(np.uint8)
    elif np.issubdtype(array.dtype, np.floating):
        if not np.isfinite(array).all():
            raise ImageDecodeError(name, "float image contains NaN or infinity")
        array = np.clip(np.rint(array * 255.0), 0, 255).astype(np.uint8)
    elif array.dtype == np.bool_:
        array = array.astype(np.uint8) * 255
    elif array.dtype != np.uint8:
        raise ImageDecodeError(name, f"unsupported array dtype {array.dtype}")
    return Image.fromarray(np.ascontiguousarray(array))  # mode from shape: L, RGB or RGBA
