"""The class pool (classroom mode): pictures students chose to share with the whole class; each
keeps who added it and when. The teacher sees the pool by class and by student and may hide or
remove any picture; a student trains on their own pictures, on the pool, or on both.

    WORKSPACE/classroom/pool/index.json                one entry per picture (``PoolPicture``)
    WORKSPACE/classroom/pool/pictures/<class>/<file>   the pictures that train (a folder per class)
    WORKSPACE/classroom/pool/hidden/<class>/<file>     the pictures the teacher hid
    WORKSPACE/classroom/pool/cache/                    decoded pixels, rebuilt when the pool changes

Pictures are copied from the student's space, where they were checked when kept. A file's name
is the student's space id and the picture's hash, never an outside name; a class folder's name is
the class's name made safe (``safe_name``). Classes match by name with case and spaces ignored
("Rock " = "rock"), as the swap test matches them. Hiding moves the file to hidden/, so pictures/
holds exactly what trains. The same bytes from the same student are added once. The index is
written whole (``write_json``); one lock per pool keeps a server's sessions apart (one pool per
server process).

Privacy: ``remove_student`` (``erase_student`` calls it) removes the student's pictures, the
decoded pixels of the pool and the cached features made from the pool's pictures.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import shutil
import threading
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from ..data import ImageDataset, is_safe_name, safe_name
from ..data.dataset import DEFAULT_IMAGE_SIZE
from ..data.names import is_ignored, unique_name
from ..data.pixels import write_pixels
from ..data.report import MIN_PICTURES_PER_CLASS, DatasetReport
from ..data.sources import PICTURE_EXTENSIONS
from ..files import read_json, write_json
from ..i18n import N_, msg, msg_n
from ..spaces import TRAIN_ON_BOTH, TRAIN_ON_OWN, TRAIN_ON_POOL, Space, SpaceError, name_key
from ..spaces import _memory_mapped, _signature  # the space store's decoded-pixels cache, reused as is

POOL_DIR = Path("classroom") / "pool"
INDEX_FILE = "index.json"
MAX_POOL_PICTURES = 3000  # the whole class's; decoded at 224 px they are 450 MB of page cache
TIME_FORMAT = "%Y-%m-%dT%H:%M:%S"
# The names of the sets a training learns from (kept in run records in English, shown translated).
POOL_SET_NAME = N_("The class pool")
BOTH_SET_NAME = N_("Your pictures and the class pool")
SET_NAMES = (POOL_SET_NAME, BOTH_SET_NAME)
POOL_NOT_READY = N_("The class pool cannot be trained on yet: choose your own pictures on the Data page, or wait "
                    "until the class has added more.")
POOL_EMPTY = N_("The class pool has no pictures yet: add yours on the Data page, or choose to train on your own "
                "pictures there.")
BOTH_NEEDS_OWN = N_("To train on your pictures and the class pool, bring your own pictures first (the demo's shapes "
                    "are not the lesson's classes), or choose to train on the class pool alone.")
__all__ = ["TRAIN_ON_BOTH", "TRAIN_ON_OWN", "TRAIN_ON_POOL", "ClassPool", "PoolPicture", "Added"]


@dataclass(frozen=True)
class PoolPicture:
    """One picture of the pool as its index keeps it."""

    file: str  # "<class folder>/<file>": safe names only, relative to pictures/ (or hidden/)
    class_name: str  # the class as the first student who added to it typed it
    space_id: str  # who added it: their space...
    who: str  # ...and their name then (shown as typed)
    when: str  # TIME_FORMAT
    sha256: str
    original: str  # its name in the student's space (shown, never a path)
    hidden: bool = False

    @property
    def class_folder(self) -> str:
        return self.file.split("/", 1)[0]

    @classmethod
    def from_dict(cls, data) -> "PoolPicture | None":
        """None for a damaged entry (a missing value, a file name that could lead outside)."""
        try:
            picture = cls(**{key: data[key] for key in ("file", "class_name", "space_id", "who", "when",
                                                          "sha256", "original")}, hidden=bool(data.get("hidden")))
        except (KeyError, TypeError):
            return None
        parts = str(picture.file).split("/")
        if len(parts) != 2 or not all(isinstance(part, str) and is_safe_name(part) for part in parts):
            return None
        return picture


@dataclass(frozen=True)
class Added:
    """What ``ClassPool.add`` did: pictures added, already there (same bytes from the same student),
    and the classes left out (not among the lesson's classes)."""

    added: int
    already: int
    left_out: tuple[str, ...] = ()


class ClassPool:
    """The pool of one class's workspace; safe to share by every session of a server."""

    def __init__(self, workspace):
        self.workspace = Path(workspace)
        self.root = self.workspace / POOL_DIR
        self._lock = threading.RLock()
        self._decoded: dict[int, tuple[str, ImageDataset]] = {}

    @property
    def pictures_dir(self) -> Path:
        return self.root / "pictures"

    @property
    def cache_dir(self) -> Path:
        return self.root / "cache"

    # -- reading -------------------------------------------------------------------------------
    def pictures(self) -> list[PoolPicture]:
        """Every picture, oldest first (damaged entries skipped)."""
        data = read_json(self.root / INDEX_FILE)
        entries = data.get("pictures") if isinstance(data, dict) else None
        found = (PoolPicture.from_dict(entry) for entry in entries or [] if isinstance(entry, dict))
        return [picture for picture in found if picture is not None]

    def by_class(self) -> dict[str, list[PoolPicture]]:
        """The pictures per class (its name as first typed), classes in name order."""
        grouped: dict[str, list[PoolPicture]] = {}
        for picture in self.pictures():
            grouped.setdefault(picture.class_name, []).append(picture)
        return dict(sorted(grouped.items(), key=lambda item: name_key(item[0])))

    def by_student(self) -> dict[str, list[PoolPicture]]:
        """The pictures per student (by space id), in the order they first added."""
        grouped: dict[str, list[PoolPicture]] = {}
        for picture in self.pictures():
            grouped.setdefault(picture.space_id, []).append(picture)
        return grouped

    def of_student(self, space_id: str) -> list[PoolPicture]:
        return [picture for picture in self.pictures() if picture.space_id == space_id]

    def path_of(self, picture: PoolPicture) -> Path:
        return self.root / ("hidden" if picture.hidden else "pictures") / picture.file

    # -- adding --------------------------------------------------------------------------------
    def add(self, space: Space, class_names=None, task=()) -> Added:
        """Copy the pictures of ``space`` (of its classes ``class_names``, all if None) into the pool.
        With a lesson's ``task``, only the task's classes go in (the others are ``left_out``), named as
        the teacher typed them; otherwise a class is named as the first student who added to it typed it."""
        wanted = None if class_names is None else {name_key(name) for name in class_names}
        allowed = {name_key(name): name for name in task}
        sources, left_out = [], []
        for folder in sorted(_folders(space.pictures_dir)):
            if wanted is not None and name_key(folder.name) not in wanted:
                continue
            if allowed and name_key(folder.name) not in allowed:
                left_out.append(folder.name)
                continue
            sources += [(folder.name, path) for path in sorted(folder.iterdir()) if _is_picture_file(path)]
        with self._lock:
            pictures = self.pictures()
            known = {(picture.space_id, picture.sha256) for picture in pictures}
            folders = _class_folders(pictures)
            added = already = 0
            try:
                for class_name, source in sources:
                    if len(pictures) >= MAX_POOL_PICTURES:
                        raise SpaceError(msg_n("The class pool is full ({count} picture); ask your teacher to remove some.",
                                               "The class pool is full ({count} pictures); ask your teacher to remove "
                                               "some.", MAX_POOL_PICTURES))
                    sha = _sha256(source)
                    if (space.id, sha) in known:
                        already += 1
                        continue
                    shown = allowed.get(name_key(class_name), class_name)  # the task's spelling, if any
                    folder = folders.setdefault(name_key(class_name), (
                        unique_name(safe_name(shown), [name for name, _shown in folders.values()]), shown))
                    suffix = source.suffix.lower() if source.suffix.lower() in PICTURE_EXTENSIONS else ""
                    file = f"{folder[0]}/{space.id}-{sha[:20]}{suffix}"
                    _copy_whole(source, self.pictures_dir / file)
                    pictures.append(PoolPicture(file, folder[1], space.id, space.name, time.strftime(TIME_FORMAT),
                                                sha, source.name))
                    known.add((space.id, sha))
                    added += 1
            finally:
                if added:
                    self._save(pictures)
            return Added(added, already, tuple(left_out))

    # -- the teacher's changes -----------------------------------------------------------------
    def set_hidden(self, file: str, hidden: bool) -> PoolPicture:
        """Hide the picture ``file`` (it stops training and the student sees it hidden), or show it again."""
        with self._lock:
            pictures = self.pictures()
            index = self._index_of(pictures, file)
            picture = pictures[index]
            if picture.hidden != hidden:
                changed = replace(picture, hidden=hidden)
                target = self.path_of(changed)
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(self.path_of(picture), target)
                _remove_if_empty(self.path_of(picture).parent)
                pictures[index] = picture = changed
                self._save(pictures)
            return picture

    def remove(self, file: str) -> PoolPicture:
        """Remove the picture ``file`` from the pool (its file too); the picture removed."""
        with self._lock:
            pictures = self.pictures()
            picture = pictures.pop(self._index_of(pictures, file))
            self.path_of(picture).unlink(missing_ok=True)
            _remove_if_empty(self.path_of(picture).parent)
            self._save(pictures)
            return picture

    def remove_student(self, space_id: str, cache_folder=None) -> int:
        """Remove every picture the student added, with everything decoded or learned from the
        pool's pictures (they are made again when needed); how many pictures were removed."""
        from ..training.features import forget_origin

        with self._lock:
            pictures = self.pictures()
            theirs = [picture for picture in pictures if picture.space_id == space_id]
            for picture in theirs:
                self.path_of(picture).unlink(missing_ok=True)
                _remove_if_empty(self.path_of(picture).parent)
            if theirs:
                self._save([picture for picture in pictures if picture.space_id != space_id])
            shutil.rmtree(self.cache_dir, ignore_errors=True)
            self._decoded.clear()
            forget_origin(self.root, cache_folder)
            return len(theirs)

    def clear(self, cache_folder=None) -> None:
        """Remove the whole pool (the class is cleared)."""
        from ..training.features import forget_origin

        with self._lock:
            forget_origin(self.root, cache_folder)
            shutil.rmtree(self.root, ignore_errors=True)
            self._decoded.clear()

    # -- training ------------------------------------------------------------------------------
    def dataset(self, image_size: int = DEFAULT_IMAGE_SIZE,
                min_per_class: int = MIN_PICTURES_PER_CLASS) -> ImageDataset | None:
        """The visible pictures as an ImageDataset (None if there are none), pixels memory-mapped;
        decoded once per size while the pool does not change. DatasetError (plain words) when the
        pool cannot be trained on (fewer than 2 classes, too few pictures in a class)."""
        with self._lock:
            if not any(True for folder in _folders(self.pictures_dir) for path in folder.iterdir()):
                return None
            signature = _signature(self.pictures_dir)
            cached = self._decoded.get(int(image_size))
            if cached is not None and cached[0] == signature:
                return cached[1]
            decoded = ImageDataset.from_folder(self.pictures_dir, image_size, min_per_class,
                                               max_pictures=MAX_POOL_PICTURES, pixels_dir=self.cache_dir)
            dataset = _memory_mapped(decoded, self.cache_dir / f"pixels-{int(image_size)}-{signature[:16]}.npy")
            self._decoded[int(image_size)] = (signature, dataset)
            return dataset

    def with_own(self, own: ImageDataset, space_id: str) -> ImageDataset:
        """``own`` pictures and the pool's visible ones as one set: a pool class takes the name of
        the student's class it matches (case and spaces ignored); pictures the student already has
        are not counted twice. Pixels are memory-mapped from the pool's cache (erased with it)."""
        pool = self.dataset(own.image_size)
        if pool is None:
            return own
        names = {name_key(name): name for name in own.class_names}
        pool_class = [names.get(name_key(name), name) for name in pool.class_names]
        class_names = sorted(set(own.class_names) | set(pool_class))
        mine, taken = set(own.file_hashes), set(own.names)
        keep, pool_names = [], []
        for index, (name, sha) in enumerate(zip(pool.names, pool.file_hashes)):
            if sha in mine:
                continue
            keep.append(index)
            pool_names.append(unique_name(f"{pool_class[int(pool.labels[index])]}/{name.split('/', 1)[-1]}", taken))
            taken.add(pool_names[-1])
        position = {name: i for i, name in enumerate(class_names)}
        labels = np.array([position[own.class_names[label]] for label in own.labels.tolist()]
                          + [position[pool_class[int(pool.labels[i])]] for i in keep], dtype=np.int64)
        key = hashlib.sha256(f"{own.fingerprint}\0{_signature(self.pictures_dir)}".encode()).hexdigest()[:16]
        cached = self.cache_dir / f"both-{space_id}-{own.image_size}-{key}.npy"
        with self._lock:
            if not cached.is_file():
                for older in self.cache_dir.glob(f"both-{space_id}-{own.image_size}-*.npy"):
                    older.unlink(missing_ok=True)  # a reader that still maps it keeps its pages (POSIX)
                write_pixels(np.concatenate([own.pixels(), pool.pixels()[keep]]), cached)
        combined = ImageDataset(
            class_names=class_names, paths=list(own.paths) + [pool.paths[i] for i in keep],
            names=list(own.names) + pool_names, labels=labels,
            file_hashes=list(own.file_hashes) + [pool.file_hashes[i] for i in keep],
            pixels=np.load(cached, mmap_mode="r"), image_size=own.image_size, report=DatasetReport({}),
            root=own.root, look_hashes=np.concatenate([own.look_hashes, pool.look_hashes[keep]]),
            original_sizes=np.concatenate([own.original_sizes, pool.original_sizes[keep]]))
        combined.report = DatasetReport(counts=combined.counts)
        return combined

    # -- inside --------------------------------------------------------------------------------
    def _index_of(self, pictures: list[PoolPicture], file: str) -> int:
        for index, picture in enumerate(pictures):
            if picture.file == file:
                return index
        raise SpaceError(msg("That picture is no longer in the class pool."))

    def _save(self, pictures: list[PoolPicture]) -> None:
        write_json(self.root / INDEX_FILE, {"format": 1, "pictures": [asdict(picture) for picture in pictures]})


# -- files ------------------------------------------------------------------------------------------
def _folders(root: Path) -> list[Path]:
    if not root.is_dir():
        return []
    return [path for path in root.iterdir() if path.is_dir() and not path.is_symlink() and not is_ignored(path.name)]


def _is_picture_file(path: Path) -> bool:
    return path.is_file() and not path.is_symlink() and not is_ignored(path.name)


def _class_folders(pictures: list[PoolPicture]) -> dict[str, tuple[str, str]]:
    """Each class's folder and shown name, by its key (the first picture of a class decides)."""
    folders: dict[str, tuple[str, str]] = {}
    for picture in pictures:
        folders.setdefault(name_key(picture.class_name), (picture.class_folder, picture.class_name))
    return folders


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as source:
        for block in iter(lambda: source.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _copy_whole(source: Path, target: Path) -> None:
    """A copy that is there whole or not at all (a hidden temporary file beside it, then os.replace)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".adding-{secrets.token_hex(4)}")
    try:
        shutil.copyfile(source, temporary)
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def _remove_if_empty(folder: Path) -> None:
    """A class folder left empty would make the pool's set unusable (an empty class)."""
    try:
        folder.rmdir()
    except OSError:
        pass  # not empty, or already gone
