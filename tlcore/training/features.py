"""The fast path's memory: outputs of the frozen part, computed once and kept on disk.

Keyed by everything that changes them: the pictures (at the model's input size), the
backbone, its weights, the input size and the freeze boundary. An entry is an ``.npy``
file (memory-mapped when read) and a small ``.json`` beside it holding the key, the shape
and a digest of the bytes; an entry that fails any check on load is a miss (computed again
and overwritten). A cache that cannot be written is skipped, with a note, never fatal.

Pooled features are also found picture by picture: an entry names its network and each row's
picture (a hash of its pixels), so a set that differs from an earlier one by a few pictures (a
student who added five, an experiment's subsets) computes only the pictures never seen.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from pathlib import Path

import numpy as np

from ..i18n import msg
from ..backbones.weights import weights_identity
from ..paths import cache_root

log = logging.getLogger(__name__)

CACHE_VERSION = "2"
_DIGEST_CHUNK = 1 << 24


def pixels_identity(pixels: np.ndarray) -> str:
    """Hash of the pictures as the model sees them, in order."""
    digest = hashlib.blake2b(digest_size=20)
    digest.update(str(pixels.shape).encode())
    digest.update(np.ascontiguousarray(pixels).data)
    return digest.hexdigest()


def picture_ids(pixels: np.ndarray) -> list[str]:
    """One hash per picture, as the model sees it (rows of a cache entry are found by it)."""
    return [hashlib.blake2b(np.ascontiguousarray(picture).data, digest_size=12).hexdigest() for picture in pixels]


def _digest(array: np.ndarray) -> str:
    digest = hashlib.blake2b(digest_size=16)
    flat = array.reshape(-1).view(np.uint8) if array.flags.c_contiguous else np.ascontiguousarray(array).reshape(-1).view(np.uint8)
    for start in range(0, flat.size, _DIGEST_CHUNK):
        digest.update(flat[start:start + _DIGEST_CHUNK].data)
    return digest.hexdigest()


class FeatureCache:
    """Checked arrays on disk, one entry per key.

    ``origins``: the folders the pictures came from (``picture_origins``), kept in each entry's
    ``.json`` so that erasing a student's space also erases the features of their pictures
    (``forget_origin``); features are a function of the pictures, so they are the student's data."""

    def __init__(self, folder: str | Path | None = None, origins=()):
        self.folder = Path(folder) if folder else cache_root() / "features"
        self.origins = sorted({str(origin) for origin in origins})
        self.hits = 0
        self.misses = 0
        self.rows_reused = 0  # pictures whose features came from an earlier entry's rows
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

    def get_or_compute(self, key: str, compute, rows: int, labels: dict | None = None) -> np.ndarray:
        """The checked entry for ``key`` (``rows`` long), or ``compute()`` stored then returned.
        ``labels``: more to keep in the entry's ``.json`` (its network, its rows' pictures)."""
        cached = self._load(key, rows)
        if cached is not None:
            self.hits += 1
            self._add_origins(key)
            return cached
        self.misses += 1
        array = np.ascontiguousarray(compute(), dtype="float32")
        if array.shape[:1] != (rows,) or not np.isfinite(array).all():
            raise ValueError(msg("The network gave invalid numbers (NaN or infinity) for these pictures: its "
                                 "weights file may be damaged. Choose other starting weights and try again."))
        return self._store(key, array, labels or {})

    def earlier_rows(self, network: str, ids: list[str]) -> dict[int, np.ndarray]:
        """Rows of earlier checked entries of ``network`` for the pictures ``ids``: {index in ids: row}."""
        wanted: dict[str, list[int]] = {}
        for index, picture in enumerate(ids):
            wanted.setdefault(picture, []).append(index)
        found: dict[int, np.ndarray] = {}
        for info_path in sorted(self.folder.glob("*.json")) if self.folder.is_dir() else []:
            try:
                info = json.loads(info_path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            if not isinstance(info, dict) or info.get("network") != network:
                continue
            rows = [(row, picture) for row, picture in enumerate(info.get("pictures") or [])
                    if picture in wanted and wanted[picture][0] not in found]
            array = self._load(str(info.get("key")), len(info["pictures"])) if rows else None
            for row, picture in rows if array is not None else []:
                for index in wanted[picture]:
                    found[index] = np.array(array[row])
            if len(found) == len(ids):
                break
        self.rows_reused += len(found)
        return found

    def _store(self, key: str, array: np.ndarray, labels: dict) -> np.ndarray:
        temporary = None
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=self.folder, suffix=".tmp")
            with os.fdopen(handle, "wb") as stream:
                np.save(stream, array)
            os.replace(temporary, self.path(key))
            temporary = None
            info = {"key": key, "shape": list(array.shape), "digest": _digest(array), "origins": self.origins,
                    **labels}
            info_temporary = self.path(key).with_suffix(".json.tmp")
            info_temporary.write_text(json.dumps(info), encoding="utf-8")
            os.replace(info_temporary, self.path(key).with_suffix(".json"))
        except OSError as error:
            if temporary:
                Path(temporary).unlink(missing_ok=True)
            self.path(key).unlink(missing_ok=True)
            self.path(key).with_suffix(".json.tmp").unlink(missing_ok=True)
            note = msg("The pictures' features could not be kept for next time ({why} in {folder}); training went "
                       "on without the cache.", why=str(error.strerror or error), folder=str(self.folder))
            log.warning(note)
            self.notes.append(note)
            return array
        return np.load(self.path(key), mmap_mode="r")


    def _add_origins(self, key: str) -> None:
        """Another space's identical pictures use this entry: it is theirs too (see forget_origin)."""
        info_path = self.path(key).with_suffix(".json")
        try:
            info = json.loads(info_path.read_text(encoding="utf-8"))
            known = info.get("origins") or []
            if set(self.origins) <= set(known):
                return
            info["origins"] = sorted(set(known) | set(self.origins))
            temporary = info_path.with_suffix(".json.tmp")
            temporary.write_text(json.dumps(info), encoding="utf-8")
            os.replace(temporary, info_path)
        except (OSError, ValueError, AttributeError) as error:
            log.warning("Could not note who uses the cached features %s (%s).", info_path.name, error)


MAX_ORIGINS = 20


def picture_origins(paths) -> list[str]:
    """The folders holding ``paths``' class folders ("<folder>/<class>/<file>"), resolved: where
    the pictures of a dataset came from (a space's ``pictures`` folder, an upload's scratch folder)."""
    origins = {str(Path(path).resolve().parent.parent) for path in paths}
    return sorted(origins)[:MAX_ORIGINS]


def forget_origin(folder, cache_folder=None) -> list[Path]:
    """Remove every cached feature file computed from pictures under ``folder`` (a space's folder);
    the files removed. Entries written before origins were kept are not touched (see privacy.py)."""
    cache_folder = Path(cache_folder) if cache_folder else cache_root() / "features"
    prefix = str(Path(folder).resolve())
    removed = []
    for info_path in sorted(cache_folder.glob("*.json")) if cache_folder.is_dir() else []:
        try:
            origins = json.loads(info_path.read_text(encoding="utf-8")).get("origins") or []
        except (OSError, ValueError, AttributeError):
            continue
        if any(origin == prefix or origin.startswith(prefix + os.sep) for origin in origins):
            for path in (info_path.with_suffix(".npy"), info_path):
                path.unlink(missing_ok=True)
                removed.append(path)
    return removed


def frozen_outputs(transfer, pixels: np.ndarray, learning_blocks: int, cache: FeatureCache | None = None,
                   on_batch=None) -> np.ndarray:
    """The frozen part's output for every picture: pooled features when no block learns (the pooling
    has nothing to learn), else the output under the ``learning_blocks`` top blocks. From ``cache``
    or computed once. ``on_batch(done, total)`` reports progress (and may raise to stop)."""
    from .feed import predict_batches

    cache = cache or FeatureCache()
    boundary = "pooled" if learning_blocks == 0 else transfer.cut_operation(learning_blocks).name
    key = cache.key(pixels_identity(pixels), transfer.spec.name, weights_identity(transfer.weights),
                    transfer.input_size, boundary)
    if boundary != "pooled":  # large per picture, and fine-tuning's sets are rarely re-cut
        return cache.get_or_compute(key, lambda: predict_batches(transfer.feature_function(learning_blocks),
                                                                  pixels, 32, on_batch=on_batch), rows=len(pixels))
    network = cache.key("", transfer.spec.name, weights_identity(transfer.weights), transfer.input_size, boundary)
    ids = picture_ids(pixels)

    def compute():
        known = cache.earlier_rows(network, ids)
        missing = np.array([i for i in range(len(pixels)) if i not in known], dtype="int64")
        progress = (lambda done, total: on_batch(len(known) + done, len(pixels))) if on_batch else None
        fresh = predict_batches(transfer.feature_function(0), pixels[missing], 32, on_batch=progress) \
            if len(missing) else None
        if on_batch and not len(missing):
            on_batch(len(pixels), len(pixels))
        rows = [None] * len(pixels)
        for index, row in known.items():
            rows[index] = row
        for position, index in enumerate(missing):
            rows[index] = fresh[position]
        return np.stack(rows) if rows else np.zeros((0,), "float32")

    return cache.get_or_compute(key, compute, rows=len(pixels), labels={"network": network, "pictures": ids})


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
