"""Turn one picture file into RGB pixels, the same way every time.

This module stands alone (stdlib, numpy and Pillow only): its source is copied
verbatim into the exported ``predict.py``, so training and prediction decode
pictures with exactly the same code.

    load_picture(source, size)  -> uint8 array (size, size, 3), the model's input
    open_rgb(source)            -> full-size RGB ``PIL.Image``
    to_array(image, size)       -> uint8 array (size, size, 3) from an RGB image
    read_header(source)         -> (format, width, height), reading only the header

A file that cannot be used raises ``UnreadablePicture`` whose ``reason`` is
one whole sentence whose "It" is the file, e.g. "It is not a picture." A file is opened by
its header first, so a big file that is not a picture is never read in full.
"""

from __future__ import annotations

import io
import os
from typing import BinaryIO, Union

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError


def msg(text: str, **values) -> str:
    """A reason with its values. This file imports nothing of tlcore (it is copied into predict.py,
    which says it in English); tlcore.data puts tlcore.i18n's ``msg`` here, so a page can say it in
    the reader's language."""
    return text.format(**values) if values else text


PictureSource = Union[str, "os.PathLike[str]", bytes, bytearray, memoryview, BinaryIO]

DEFAULT_MAX_PIXELS = 50_000_000

_EXIF_ORIENTATION = 0x0112
_ORIENTATIONS_THAT_SWAP_SIDES = {5, 6, 7, 8}
_WHITE = (255, 255, 255)
# The "ftyp" brands of HEIF files (iPhone photos), which Pillow cannot read.
_HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"}
_HEIC_REASON = msg("It is an iPhone HEIC photo, which this program cannot read: export it as JPEG.")
# A JPEG whose data ends early decodes without error, the rest filled with flat mid-grey;
# a bottom band of such rows this tall (a fraction of the height) marks the file as damaged.
_PADDING_GREY, _PADDING_FRACTION = 128, 0.25
_PADDING_REASON = msg("It is damaged (part of the picture is missing and shows as blank grey).")


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
            raise UnreadablePicture(msg("It is too small ({width}×{height} pixels; at least {side}×{side} are needed).",
                                        width=str(width), height=str(height), side=str(min_side)))
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


def read_header(source: PictureSource) -> tuple[str, int, int]:
    """(format, width, height) as stored, from the header alone; the pixels are not read."""
    with _open(source) as image:
        return str(image.format), image.width, image.height


def to_array(image: Image.Image, size: int) -> np.ndarray:
    """Center-crop an RGB image to a square and resize it: uint8 (size, size, 3)."""
    if image.mode != "RGB":
        image = image.convert("RGB")
    fitted = ImageOps.fit(image, (size, size), Image.LANCZOS)
    return np.asarray(fitted, dtype=np.uint8)


def _open(source: PictureSource) -> Image.Image:
    """Open lazily (header only); the pixels are decoded later, in _decode_rgb."""
    stream = _stream(source)
    try:
        return Image.open(stream)
    except UnidentifiedImageError:
        raise UnreadablePicture(msg(_HEIC_REASON) if _is_heif(stream) else msg("It is not a picture.")) from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise UnreadablePicture(_too_large(Image.MAX_IMAGE_PIXELS)) from None
    except OSError as error:  # the file itself could not be read
        raise UnreadablePicture(msg("It could not be read ({why}).", why=str(error.strerror or error))) from None
    except Exception:  # Pillow plugins report broken headers with many error types.
        raise UnreadablePicture(msg("It is damaged or cut short.")) from None


def _stream(source: PictureSource) -> Union[str, BinaryIO]:
    """What Image.open reads lazily: a path (Pillow opens and closes it) or a file object."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        if not len(source):
            raise UnreadablePicture(msg("It is empty."))
        return io.BytesIO(source)
    if hasattr(source, "read"):
        return source
    path = os.fspath(source)
    try:
        if os.path.isdir(path):
            raise UnreadablePicture(msg("It is a folder, not a picture."))
        if os.stat(path).st_size == 0:
            raise UnreadablePicture(msg("It is empty."))
    except FileNotFoundError:
        raise UnreadablePicture(msg("It could not be found.")) from None
    except OSError as error:
        raise UnreadablePicture(msg("It could not be read ({why}).", why=str(error.strerror or error))) from None
    return path


def _is_heif(stream: Union[str, BinaryIO]) -> bool:
    try:
        if isinstance(stream, str):
            with open(stream, "rb") as file:
                head = file.read(12)
        else:
            stream.seek(0)
            head = stream.read(12)
    except (OSError, ValueError):
        return False
    return head[4:8] == b"ftyp" and head[8:12] in _HEIF_BRANDS


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
        if max_pixels >= 1_000_000:  # one whole sentence each: "million" is said differently per language
            raise UnreadablePicture(msg("It is too large ({width}×{height} pixels; the limit is {limit} million "
                                        "pixels).", width=str(width), height=str(height),
                                        limit=_millions(max_pixels)))
        raise UnreadablePicture(msg("It is too large ({width}×{height} pixels; the limit is {limit} pixels).",
                                    width=str(width), height=str(height), limit=max_pixels))


def _too_large(max_pixels: int) -> str:
    if max_pixels >= 1_000_000:
        return msg("It is too large (over {limit} million pixels).", limit=_millions(max_pixels))
    return msg("It is too large (over {limit} pixels).", limit=max_pixels)


def _millions(count: int):
    """50_000_000 → 50, 1_500_000 → 1.5 (a number, written the reader's way where it is translated)."""
    millions = count / 1_000_000
    return int(millions) if millions.is_integer() else millions


def _decode_rgb(image: Image.Image) -> Image.Image:
    """Load the pixels (fully, so cut-short files fail here), stand upright, make RGB."""
    try:
        image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise UnreadablePicture(msg("It is too large.")) from None
    except Exception:  # Truncated or corrupt data: OSError, SyntaxError, ValueError...
        raise UnreadablePicture(msg("It is damaged or cut short.")) from None
    if image.format in ("JPEG", "MPO") and _bottom_is_padding(image):
        raise UnreadablePicture(msg(_PADDING_REASON))
    try:
        upright = ImageOps.exif_transpose(image)
    except Exception:  # A broken EXIF block should not cost the user a picture.
        upright = image.copy()  # A copy: the opened image is closed by the caller.
    try:
        return _to_rgb(upright)
    except UnreadablePicture:
        raise
    except Exception:
        raise UnreadablePicture(msg("It uses a colour format that cannot be read.")) from None



def _bottom_is_padding(image: Image.Image) -> bool:
    """Whether the last rows, as stored, are the flat grey a decoder puts for missing data."""
    if image.mode not in ("L", "RGB") or image.height < 4:
        return False
    last = np.asarray(image.crop((0, image.height - 1, image.width, image.height)))
    if not _flat_grey(last).all():  # the usual case: one row looked at
        return False
    flat = _flat_grey(np.asarray(image))
    not_flat = np.flatnonzero(~flat)
    band = len(flat) - (int(not_flat[-1]) + 1 if len(not_flat) else 0)
    return band >= _PADDING_FRACTION * image.height


def _flat_grey(rows: np.ndarray) -> np.ndarray:
    """For each row: every value within 2 of the padding grey."""
    values = rows.reshape(rows.shape[0], -1).astype(np.int16)
    return (np.abs(values - _PADDING_GREY) <= 2).all(axis=1)


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
