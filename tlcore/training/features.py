"""The fast path's memory: outputs of the frozen part, computed once and kept on disk.

Keyed by everything that changes them: the pictures (at the model's input size), the
backbone, its weights, the input size and the freeze boundary. An entry is an ``.npy``
file (memory-mapped when read) and a small ``.json`` beside it holding the key, the shape
and a digest of the bytes; an entry that fails any check on load is a miss (computed again
and overwritten). A cache that cannot be written is skipped, with a note, never fatal.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from pathlib import Path

import numpy as np

from ..paths import cache_root

log = logging.getLogger(__name__)

CACHE_VERSION = "2"
_DIGEST_CHUNK = 1 << 24


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


def _digest(array: np.ndarray) -> str:
    digest = hashlib.blake2b(digest_size=16)
    flat = array.reshape(-1).view(np.uint8) if array.flags.c_contiguous else np.ascontiguousarray(array).reshape(-1).view(np.uint8)
    for start in range(0, flat.size, _DIGEST_CHUNK):
        digest.update(flat[start:start + _DIGEST_CHUNK].data)
    return digest.hexdigest()


class FeatureCache:
    """Checked arrays on disk, one entry per key."""

    def __init__(self, folder: str | Path | None = None):
        self.folder = Path(folder) if folder else cache_root() / "features"
        self.hits = 0
        self.misses = 0
        self.notes: list[str] = []

    @staticmethod
    def key(pixels_id: str, backbone: str, weights_id: str, input_size: int, boundary: str) -> str:
        text = "|".join([CACHE_VERSION, pixels_id, backbone, weights_id, str(input_size), boundary])
        return hashlib.sha256(text.encode()).hexdigest()[:32]

    def path(self, key: str) -> Path:
        return self.folder / f"{key}.npy"

    def _load(self, key: str, rows: int) -> np.ndarray | None:
        """The entry for ``key`` if every check passes, else None."""
        path, info_path = self.path(key), self.path(key).with_suffix(".json")
        if not path.is_file():
            return None
        try:
            info = json.loads(info_path.read_text(encoding="utf-8"))
            array = np.load(path, mmap_mode="r")
            good = (isinstance(info, dict) and info.get("key") == key and info.get("shape") == list(array.shape)
                    and array.dtype == np.float32 and array.shape[:1] == (rows,)
                    and info.get("digest") == _digest(array))
        except (OSError, ValueError, EOFError, TypeError):
            good = False
        if not good:
            log.warning("A cached feature file (%s) failed its checks; computing it again.", path.name)
            return None
        return array

    def get_or_compute(self, key: str, compute, rows: int) -> np.ndarray:
        """The checked entry for ``key`` (``rows`` long), or ``compute()`` stored then returned."""
        cached = self._load(key, rows)
        if cached is not None:
            self.hits += 1
            return cached
        self.misses += 1
        array = np.ascontiguousarray(compute(), dtype="float32")
        if array.shape[:1] != (rows,) or not np.isfinite(array).all():
            raise ValueError("The network gave invalid numbers (NaN or infinity) for these pictures: its "
                             "weights file may be damaged. Choose other starting weights and try again.")
        return self._store(key, array)

    def _store(self, key: str, array: np.ndarray) -> np.ndarray:
        temporary = None
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=self.folder, suffix=".tmp")
            with os.fdopen(handle, "wb") as stream:
                np.save(stream, array)
            os.replace(temporary, self.path(key))
            temporary = None
            info = {"key": key, "shape": list(array.shape), "digest": _digest(array)}
            info_temporary = self.path(key).with_suffix(".json.tmp")
            info_temporary.write_text(json.dumps(info), encoding="utf-8")
            os.replace(info_temporary, self.path(key).with_suffix(".json"))
        except OSError as error:
            if temporary:
                Path(temporary).unlink(missing_ok=True)
            self.path(key).unlink(missing_ok=True)
            self.path(key).with_suffix(".json.tmp").unlink(missing_ok=True)
            note = (f"The pictures' features could not be kept for next time ({error.strerror or error} in "
                    f"{self.folder}); training went on without the cache.")
            log.warning(note)
            self.notes.append(note)
            return array
        return np.load(self.path(key), mmap_mode="r")


def frozen_outputs(transfer, pixels: np.ndarray, depth: int, cache: FeatureCache | None = None,
                   on_batch=None) -> np.ndarray:
    """The frozen part's output for every picture: pooled features at ``depth`` 0 (the pooling
    has nothing to learn), else the output at the freeze boundary. From ``cache`` or computed
    once. ``on_batch(done, total)`` reports progress (and may raise to stop)."""
    from .._tf import tf
    from .feed import predict_batches

    cache = cache or FeatureCache()
    boundary = "pooled" if depth == 0 else transfer.cut_operation(depth).name
    key = cache.key(pixels_identity(pixels), transfer.spec.name, weights_identity(transfer.weights),
                    transfer.input_size, boundary)

    def compute():
        extractor = transfer.frozen_extractor(depth)
        pool = transfer.model.get_layer("pool")
        if depth == 0:
            function = tf.function(lambda x: pool(extractor(x, training=False)), reduce_retracing=True)
        else:
            function = tf.function(lambda x: extractor(x, training=False), reduce_retracing=True)
        return predict_batches(function, pixels, 32, on_batch=on_batch)

    return cache.get_or_compute(key, compute, rows=len(pixels))


def augmented_outputs(transfer, pixels: np.ndarray, augment, views: int, cache: FeatureCache | None = None,
                      on_batch=None) -> list[np.ndarray]:
    """Pooled features of ``views`` changed copies of every picture, one array (N, F) per view.

    View v changes the pictures with the augmentation layers seeded 1000 + v, so a view is the
    same whatever the training's seed: repeats and other settings reuse the cache."""
    from .._tf import tf
    from ..model.augmentation import augmentation_layers
    from .feed import predict_batches

    cache = cache or FeatureCache()
    names = ",".join(augment)
    identity = pixels_identity(pixels)
    extractor, pool = None, transfer.model.get_layer("pool")
    outputs = []
    for view in range(views):
        key = cache.key(identity, transfer.spec.name, weights_identity(transfer.weights), transfer.input_size,
                        f"pooled|augment={names}|view={view}")

        def compute(view=view):
            nonlocal extractor
            extractor = extractor or transfer.frozen_extractor(0)
            layers = augmentation_layers(augment, seed=1000 + view)

            def changed(x):
                for layer in layers:
                    x = layer(x, training=True)
                return pool(extractor(x, training=False))

            function = tf.function(changed, reduce_retracing=True)
            done = (lambda d, total: on_batch(view * total + d, views * total)) if on_batch else None
            return predict_batches(function, pixels, 32, on_batch=done)

        outputs.append(cache.get_or_compute(key, compute, rows=len(pixels)))
    return outputs
