"""Write a Y4M video that Chromium plays instead of a camera (``--use-file-for-fake-video-capture``).

Plain numpy, no codec: Y4M is a text header and raw 4:2:0 frames. Each picture is centre-cropped
to the video's shape and held for ``seconds_each``; the colours use BT.601 studio range, the
range the decoder on the other side (FFmpeg's swscale, through PyAV) assumes, so a frame that
arrives in Python is close to the picture written here.

    segments = write_y4m(path, pictures, seconds_each=2.0)   # [(start_s, end_s), ...]
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
from PIL import Image, ImageOps

WIDTH, HEIGHT, FPS = 320, 240, 10


def fit_picture(picture: Image.Image | np.ndarray, width: int = WIDTH, height: int = HEIGHT) -> np.ndarray:
    """The picture as the video shows it: RGB uint8 (height, width, 3), centre-cropped (Lanczos)."""
    image = picture if isinstance(picture, Image.Image) else Image.fromarray(np.asarray(picture, np.uint8))
    return np.asarray(ImageOps.fit(image.convert("RGB"), (width, height), Image.LANCZOS), np.uint8)


def rgb_to_i420(rgb: np.ndarray) -> bytes:
    """One raw I420 frame (Y plane, then U and V at half size) from RGB, BT.601 studio range."""
    pixels = rgb.astype(np.float32)
    r, g, b = pixels[..., 0], pixels[..., 1], pixels[..., 2]
    y = 16 + 0.257 * r + 0.504 * g + 0.098 * b
    u = 128 - 0.148 * r - 0.291 * g + 0.439 * b
    v = 128 + 0.439 * r - 0.368 * g - 0.071 * b

    def half(plane):  # average each 2x2 block: 4:2:0 chroma
        return plane.reshape(plane.shape[0] // 2, 2, plane.shape[1] // 2, 2).mean(axis=(1, 3))

    planes = [y, half(u), half(v)]
    return b"".join(np.clip(np.rint(p), 0, 255).astype(np.uint8).tobytes() for p in planes)


def write_y4m(path, pictures: Sequence, seconds_each: float = 2.0, fps: int = FPS,
              width: int = WIDTH, height: int = HEIGHT, noise: float = 0.0) -> list[tuple[float, float]]:
    """Write ``pictures`` (PIL images or RGB arrays), each held ``seconds_each``; return when each shows.

    ``noise``: the standard deviation (0-255) of the grain added to every frame, as a real
    camera's sensor adds it (a still picture then never gives two identical frames).
    Chromium loops the file, so segment i shows again at ``i * seconds_each + k * total``."""
    if width % 2 or height % 2:
        raise ValueError(f"width and height must be even for 4:2:0 video (got {width}×{height})")
    frames_each = max(1, round(seconds_each * fps))
    path = Path(path)
    rng = np.random.default_rng(0)
    segments = []
    with open(path, "wb") as file:
        file.write(f"YUV4MPEG2 W{width} H{height} F{fps}:1 Ip A1:1 C420jpeg\n".encode("ascii"))
        for index, picture in enumerate(pictures):
            rgb = fit_picture(picture, width, height)
            frame = rgb_to_i420(rgb)
            for _ in range(frames_each):
                file.write(b"FRAME\n")
                if noise:
                    grain = rng.normal(0.0, noise, rgb.shape)
                    frame = rgb_to_i420(np.clip(rgb + grain, 0, 255).astype(np.uint8))
                file.write(frame)
            segments.append((index * frames_each / fps, (index + 1) * frames_each / fps))
    return segments
