"""The fast path's memory: outputs of the frozen part, computed once and kept on disk.

Keyed by everything that changes them: the pictures (at the model's input size), the
backbone, its weights, the input size and the freeze boundary.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

import numpy as np

from ..paths import cache_root

CACHE_VERSION = "1"


def weights_identity(weights: str) -> str:
    """'imagenet', 'none', or 'file:<sha256>' so a changed file invalidates the cache."""
    if weights in ("imagenet", "none"):
        return weights
    digest = hashlib.sha256()
    with open(weights, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return "file:" + digest.hexdigest()


def pixels_identity(pixels: np.ndarray) -> str:
    """Hash of the pictures as the model sees them, in order."""
    digest = hashlib.blake2b(digest_size=20)
    digest.update(str(pixels.shape).encode())
    digest.update(np.ascontiguousarray(pixels).data)
    return digest.hexdigest()


class FeatureCache:
    """Arrays on disk, one .npy file per key, memory-mapped when read."""

    def __init__(self, folder: str | Path | None = None):
        self.folder = Path(folder) if folder else cache_root() / "features"
        self.hits = 0
        self.misses = 0

    @staticmethod
    def key(pixels_id: str, backbone: str, weights_id: str, input_size: int, boundary: str) -> str:
        text = "|".join([CACHE_VERSION, pixels_id, backbone, weights_id, str(input_size), boundary])
        return hashlib.sha256(text.encode()).hexdigest()[:32]

    def path(self, key: str) -> Path:
        return self.folder / f"{key}.npy"

    def get_or_compute(self, key: str, compute) -> np.ndarray:
        """The cached array for ``key``, or ``compute()`` saved atomically then returned."""
        path = self.path(key)
        if path.is_file():
            try:
                array = np.load(path, mmap_mode="r")
                self.hits += 1
                return array
            except (ValueError, OSError):
                path.unlink(missing_ok=True)  # a damaged file: compute again
        self.misses += 1
        array = np.ascontiguousarray(compute(), dtype="float32")
        self.folder.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=self.folder, suffix=".tmp")
        with os.fdopen(handle, "wb") as stream:
            np.save(stream, array)
        os.replace(temporary, path)
        return np.load(path, mmap_mode="r")
