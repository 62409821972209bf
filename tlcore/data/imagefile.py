"""Turn one picture file into RGB pixels, the same way every time.

This module stands alone (stdlib, numpy and Pillow only): its source is copied
verbatim into the exported ``predict.py``, so training and prediction decode
pictures with exactly the same code.

    load_picture(source, size)  -> uint8 array (size, size, 3), the model's input
    open_rgb(source)            -> full-size RGB ``PIL.Image``
    to_array(image, size)       -> uint8 array (size, size, 3) from an RGB image

A file that cannot be used raises ``UnreadablePicture`` whose ``reason`` is
plain words that fit after "it", e.g. "is not a picture".
"""

from __future__ import annotations

import io
import os
from typing import BinaryIO, Union

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

PictureSource = Union[str, "os.PathLike[str]", bytes, bytearray, memoryview, BinaryIO]

DEFAULT_MAX_PIXELS = 50_000_000

_EXIF_ORIENTATION = 0x0112
_ORIENTATIONS_THAT_SWAP_SIDES = {5, 6, 7, 8}
_WHITE = (255, 255, 255)


class UnreadablePicture(ValueError):
    """A file that cannot be used as a picture; ``reason`` says why in plain words."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def load_picture(
    source: PictureSource,
    size: int,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    min_side: int = 0,
) -> np.ndarray:
    """Decode a picture into a uint8 array of shape (size, size, 3).

    The picture is turned upright (EXIF), made RGB, center-cropped to a square
    and resized with Lanczos, like Teachable Machine does. Big JPEGs are decoded
    at a reduced scale first, which is much faster and still leaves at least
    ``size`` pixels on each side. ``min_side`` rejects pictures whose shorter
    side (before resizing) is below it.
    """
    if size < 1:
        raise ValueError(f"size must be at least 1 (got {size})")
    with _open(source) as image:
        width, height = _upright_size(image)
        _check_pixel_count(width, height, max_pixels)
        if min(width, height) < min_side:
            raise UnreadablePicture(
                f"is too small ({width}×{height} pixels; "
                f"at least {min_side}×{min_side} are needed)"
            )
        if image.format == "JPEG" and width >= 2 * size and height >= 2 * size:
            # Must happen before the pixels are loaded to have any effect.
            image.draft("RGB", (size, size))
        rgb = _decode_rgb(image)
    return to_array(rgb, size)


def open_rgb(source: PictureSource, max_pixels: int = DEFAULT_MAX_PIXELS) -> Image.Image:
    """Decode a picture at full size: upright (EXIF) and RGB."""
    with _open(source) as image:
        width, height = _upright_size(image)
        _check_pixel_count(width, height, max_pixels)
        return _decode_rgb(image)


def to_array(image: Image.Image, size: int) -> np.ndarray:
    """Center-crop an RGB image to a square and resize it: uint8 (size, size, 3)."""
    if image.mode != "RGB":
        image = image.convert("RGB")
    fitted = ImageOps.fit(image, (size, size), Image.LANCZOS)
    return np.asarray(fitted, dtype=np.uint8)


def _open(source: PictureSource) -> Image.Image:
    """Open lazily (header only); the pixels are decoded later, in _decode_rgb."""
    data = _read_bytes(source)
    if not data:
        raise UnreadablePicture("is empty")
    try:
        return Image.open(io.BytesIO(data))
    except UnidentifiedImageError:
        raise UnreadablePicture("is not a picture") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise UnreadablePicture(
            f"is too large (over {_pixel_words(Image.MAX_IMAGE_PIXELS)} pixels)"
        ) from None
    except Exception:  # Pillow plugins report broken headers with many error types.
        raise UnreadablePicture("is damaged or cut short") from None


def _read_bytes(source: PictureSource) -> bytes:
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source)
    if hasattr(source, "read"):
        return source.read()
    try:
        with open(source, "rb") as file:
            return file.read()
    except FileNotFoundError:
        raise UnreadablePicture("could not be found") from None
    except IsADirectoryError:
        raise UnreadablePicture("is a folder, not a picture") from None
    except OSError as error:
        raise UnreadablePicture(f"could not be read ({error.strerror or error})") from None


def _upright_size(image: Image.Image) -> tuple[int, int]:
    """Width and height as the picture will stand after EXIF rotation."""
    width, height = image.size
    try:
        orientation = image.getexif().get(_EXIF_ORIENTATION)
    except Exception:  # Broken EXIF is ignored, as _decode_rgb does.
        orientation = None
    if orientation in _ORIENTATIONS_THAT_SWAP_SIDES:
        return height, width
    return width, height


def _check_pixel_count(width: int, height: int, max_pixels: int) -> None:
    if width * height > max_pixels:
        raise UnreadablePicture(
            f"is too large ({width}×{height} pixels; the limit is {_pixel_words(max_pixels)})"
        )


def _pixel_words(count: int) -> str:
    if count >= 1_000_000:
        return f"{count / 1_000_000:g} million"
    return f"{count:,}"


def _decode_rgb(image: Image.Image) -> Image.Image:
    """Load the pixels (fully, so cut-short files fail here), stand upright, make RGB."""
    try:
        image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise UnreadablePicture("is too large") from None
    except Exception:  # Truncated or corrupt data: OSError, SyntaxError, ValueError...
        raise UnreadablePicture("is damaged or cut short") from None
    try:
        upright = ImageOps.exif_transpose(image)
    except Exception:  # A broken EXIF block should not cost the user a picture.
        upright = image.copy()  # A copy: the opened image is closed by the caller.
    try:
        return _to_rgb(upright)
    except UnreadablePicture:
        raise
    except Exception:
        raise UnreadablePicture("uses a colour format that cannot be read") from None


def _to_rgb(image: Image.Image) -> Image.Image:
    mode = image.mode
    if mode in ("I;16", "I;16L", "I;16B", "I;16N", "I", "F"):
        return _wide_gray_to_rgb(image)
    has_alpha = mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info
    if has_alpha:
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, _WHITE + (255,))
        return Image.alpha_composite(background, rgba).convert("RGB")
    if mode == "RGB":
        return image
    # L, 1, P, CMYK, YCbCr, LAB, HSV ...: Pillow converts these correctly.
    return image.convert("RGB")


def _wide_gray_to_rgb(image: Image.Image) -> Image.Image:
    """Scale 16-bit (or wider) gray to 0..255; Pillow's own convert clips instead."""
    values = np.asarray(image, dtype=np.float64)
    if image.mode == "F":
        top = 1.0 if values.max(initial=0.0) <= 1.0 else 255.0
    else:
        top = max(65535.0, float(values.max(initial=0.0)))
    gray = np.clip(np.rint(values * (255.0 / top)), 0, 255).astype(np.uint8)
    return Image.fromarray(np.stack([gray] * 3, axis=-1))
