"""A built-in demo picture set, drawn by our own code: no download needed.

Three classes anyone recognises at a glance (circle, square, triangle), with
varied size, position, rotation and colour on busy backgrounds (gradients,
noise, stripes) so that the task is easy to see but not trivial to learn.
The same files come out every time (fixed seeds).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from ..i18n import N_
from ..paths import cache_root
from .dataset import DEFAULT_IMAGE_SIZE, ImageDataset

DEMO_NAME = N_("Shapes (built-in demo)")  # the set's name; shown translated (studio.state)
DEMO_CLASSES = ("circle", "square", "triangle")
DEMO_PICTURES_PER_CLASS = 30
DEMO_PICTURE_SIZE = 160
_DEMO_FOLDER_NAME = "demo-shapes-v1"
_COMPLETE_MARKER = ".complete"  # Hidden, so read_folder ignores it.
_SEED = 20240601
_SUPERSAMPLE = 4  # Shapes are drawn 4x larger and scaled down for smooth edges.


cache_dir = cache_root  # kept as the demo module's name for it


def demo_folder(dest: str | os.PathLike[str] | None = None) -> Path:
    """The demo set's folder (one sub-folder per class), made on first use.

    Written to a temporary folder beside ``dest`` and renamed into place, so a
    half-written set is never seen and two processes cannot collide.
    """
    dest = Path(dest) if dest is not None else cache_dir() / _DEMO_FOLDER_NAME
    if (dest / _COMPLETE_MARKER).exists():
        return dest
    if dest.exists() and any(dest.iterdir()):
        raise FileExistsError(
            f"{dest} exists but is not a complete demo set; remove it or choose another folder."
        )
    dest.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{dest.name}-", dir=dest.parent))
    try:
        _draw_demo_set(scratch)
        (scratch / _COMPLETE_MARKER).write_text("ok\n")
        if dest.exists():
            dest.rmdir()  # Empty (checked above); rename cannot replace a folder otherwise.
        try:
            os.rename(scratch, dest)
        except OSError:
            # Another process finished first; its set is identical.
            if not (dest / _COMPLETE_MARKER).exists():
                raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return dest


def load_demo(image_size: int = DEFAULT_IMAGE_SIZE) -> ImageDataset:
    """The demo set as an ImageDataset."""
    return ImageDataset.from_folder(demo_folder(), image_size=image_size)


def _draw_demo_set(folder: Path) -> None:
    for class_number, shape in enumerate(DEMO_CLASSES):
        class_dir = folder / shape
        class_dir.mkdir()
        for picture_number in range(DEMO_PICTURES_PER_CLASS):
            rng = np.random.default_rng([_SEED, class_number, picture_number])
            picture = _draw_picture(shape, rng)
            picture.save(class_dir / f"{shape}_{picture_number:02d}.jpg", "JPEG", quality=90)


def _draw_picture(shape: str, rng: np.random.Generator) -> Image.Image:
    size = DEMO_PICTURE_SIZE
    background = _background(size, rng)
    shape_colour = _contrasting_colour(background, rng)

    big = size * _SUPERSAMPLE
    mask = Image.new("L", (big, big), 0)
    # Similar areas for all shapes, so size alone gives nothing away.
    radius = rng.uniform(0.17, 0.32) * size * _SUPERSAMPLE
    margin = radius * 0.8
    centre = rng.uniform(margin, big - margin, size=2)
    angle = rng.uniform(0, 2 * np.pi)
    draw = ImageDraw.Draw(mask)
    if shape == "circle":
        r = radius * 0.85
        draw.ellipse([centre[0] - r, centre[1] - r, centre[0] + r, centre[1] + r], fill=255)
    else:
        corners = 4 if shape == "square" else 3
        reach = radius * (1.05 if shape == "square" else 1.25)
        draw.polygon(_polygon(centre, reach, corners, angle), fill=255)
    mask = mask.resize((size, size), Image.LANCZOS)

    fill = Image.new("RGB", (size, size), shape_colour)
    return Image.composite(fill, background, mask)


def _polygon(centre: np.ndarray, reach: float, corners: int, angle: float) -> list[tuple[float, float]]:
    steps = angle + 2 * np.pi * np.arange(corners) / corners
    return [(float(centre[0] + reach * np.cos(a)), float(centre[1] + reach * np.sin(a))) for a in steps]


def _background(size: int, rng: np.random.Generator) -> Image.Image:
    kind = rng.integers(3)
    first, second = rng.integers(0, 256, size=(2, 3))
    ys, xs = np.mgrid[0:size, 0:size] / (size - 1)
    if kind == 0:  # Linear gradient at a random angle.
        angle = rng.uniform(0, 2 * np.pi)
        t = (xs * np.cos(angle) + ys * np.sin(angle))
        t = (t - t.min()) / (np.ptp(t) or 1.0)
    elif kind == 1:  # Smooth blotches: coarse noise scaled up.
        coarse = rng.random((6, 6))
        t = np.asarray(
            Image.fromarray((coarse * 255).astype(np.uint8)).resize((size, size), Image.BICUBIC),
            dtype=np.float64,
        ) / 255.0
    else:  # Stripes of random width and direction.
        angle = rng.uniform(0, np.pi)
        period = rng.uniform(0.08, 0.25)
        t = (np.sin(2 * np.pi * (xs * np.cos(angle) + ys * np.sin(angle)) / period) > 0) * 1.0
    pixels = first + t[..., None] * (second - first)
    pixels = pixels + rng.normal(0, 12, size=pixels.shape)  # Grain, as in photos.
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "RGB")


def _contrasting_colour(background: Image.Image, rng: np.random.Generator) -> tuple[int, int, int]:
    """A random colour far enough from the background's average to stay visible."""
    average = np.asarray(background, dtype=np.float64).reshape(-1, 3).mean(axis=0)
    best, best_distance = None, -1.0
    for _ in range(20):
        colour = rng.integers(0, 256, size=3)
        distance = float(np.linalg.norm(colour - average))
        if distance > 150:
            return tuple(int(c) for c in colour)
        if distance > best_distance:
            best, best_distance = colour, distance
    return tuple(int(c) for c in best)
