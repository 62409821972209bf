"""Spaces: one student's (or group's, or the solo teacher's) work, kept on disk in the workspace.

    WORKSPACE/spaces/<id>/space.json        id, display name, created, kind ("solo" or "student")
    WORKSPACE/spaces/<id>/pictures/<class>/  the pictures as uploaded (safe names only)
    WORKSPACE/spaces/<id>/settings.json     the TrainingSettings chosen (to_dict)
    WORKSPACE/spaces/<id>/state.json        the picture set's name and the selected run (SpaceState)
    WORKSPACE/spaces/<id>/runs/             this space's run folders (list_runs(space.runs_dir))
    WORKSPACE/spaces/<id>/cache/            decoded pixels, memory-mapped (rebuilt when needed)

The id is the space's key in the page's URL, so a refresh, a closed tab or a server restart
brings the same space back. Ids are unguessable (``secrets.token_urlsafe``), except the solo
space's, which is fixed. Everything a browser sends is untrusted: ids are checked before they
become a path, names are cleaned and length-limited, pictures are checked by their header and
written under safe names only. Every file is written whole (temporary file, then
``os.replace``); one lock per store keeps concurrent sessions of one server apart (use one
store per server process: ``st.cache_resource``).

Memory: a space's pictures are decoded once per server process at a given size, written to
``cache/pixels-<size>-<signature>.npy`` and read back memory-mapped, read-only. A session or a
queued job holding the ``ImageDataset`` holds file names and hashes; the pixels stay in the
operating system's page cache, shared by every reader and given back under memory pressure,
never one private copy per session. 30 spaces of 200 pictures at 224 px are 30 × 30 MB = 0.9 GB
of page cache at most, of which only what is being trained on needs to be resident.
"""

from __future__ import annotations

import copy
import hashlib
import io
import json
import logging
import os
import re
import secrets
import shutil
import tempfile
import threading
import time
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

import numpy as np

from ..data import DEMO_NAME, ImageDataset, SkippedFile, demo_folder, read_folder, safe_name, write_uploads
from ..data.dataset import DEFAULT_IMAGE_SIZE
from ..data.imagefile import UnreadablePicture, read_header
from ..data.report import MIN_PICTURES_PER_CLASS
from ..data.sources import MAX_PICTURE_BYTES, _size_words, is_safe_name
from ..paths import workspace_root
from ..settings import SettingsError, TrainingSettings
from ._files import read_json, write_json

log = logging.getLogger(__name__)

SOLO, STUDENT = "solo", "student"
KINDS = (SOLO, STUDENT)
SOLO_ID = "solo"  # the one space of `streamlit run app.py`: restored on refresh, nothing to type
MAX_NAME_LENGTH = 40
MAX_PICTURES_PER_SPACE = 2000
SPACE_FILE, SETTINGS_FILE, STATE_FILE = "space.json", "settings.json", "state.json"
_ID = re.compile(r"[A-Za-z0-9_-]{4,64}")  # token_urlsafe's alphabet: never a path trick
_GONE = ("This space was not found on this server (it may have been cleared). "
         "Join again with your name, or ask your teacher for your link.")


class SpaceError(ValueError):
    """Something a space cannot do; the message says what is wrong and what to do."""


class UnknownSpaceError(SpaceError, LookupError):
    """No such space (or an id that cannot be one)."""


class NameTakenError(SpaceError):
    """Another space of this class has that name (ignoring case and spacing)."""


@dataclass(frozen=True)
class Space:
    """One space as read from disk."""

    id: str
    name: str
    kind: str
    created: str
    folder: Path

    @property
    def pictures_dir(self) -> Path:
        return self.folder / "pictures"

    @property
    def runs_dir(self) -> Path:
        return self.folder / "runs"

    @property
    def cache_dir(self) -> Path:
        return self.folder / "cache"


@dataclass(frozen=True)
class SpaceState:
    """What a space had chosen: the picture set's name and the selected run's folder name."""

    picture_set: str | None = None
    selected_run: str | None = None  # a folder name in the space's runs/, never a path

    def __post_init__(self):
        if self.selected_run is not None and not is_safe_name(self.selected_run):
            raise SpaceError(f"'{str(self.selected_run)[:40]}' is not a run of this space; choose one from the list.")
        if self.picture_set is not None and len(str(self.picture_set)) > 200:
            raise SpaceError("The picture set's name is too long; give it a shorter one.")

    def to_dict(self) -> dict:
        return {"picture_set": self.picture_set, "selected_run": self.selected_run}

    @classmethod
    def from_dict(cls, data) -> "SpaceState":
        """Tolerant of damaged files: a value that cannot be used is read as None."""
        data = data if isinstance(data, dict) else {}
        picture_set, run = (data.get(key) if isinstance(data.get(key), str) else None
                            for key in ("picture_set", "selected_run"))
        return cls(picture_set if picture_set is None or len(picture_set) <= 200 else None,
                   run if run is None or is_safe_name(run) else None)


@dataclass(frozen=True)
class PicturesAdded:
    """What ``add_pictures`` kept ("class/file" names as written) and what it refused, and why."""

    added: tuple[str, ...] = ()
    refused: tuple[SkippedFile, ...] = ()


@dataclass(frozen=True)
class SpaceSummary:
    """One line of the teacher's view. ``queue_state`` is the queue's word, or None."""

    space: Space
    pictures: int
    classes: int
    runs: int
    best_accuracy: float | None
    backbone: str
    queue_state: str | None = None
    picture_set: str | None = None  # its name (the built-in demo's too), None before any


@dataclass
class _Decoded:
    signature: str
    dataset: ImageDataset = field(repr=False)


# -- names and ids -------------------------------------------------------------------------------
def clean_name(text) -> str:
    """A display name as typed, with its spacing tidied; SpaceError if it cannot be a name."""
    name = " ".join(unicodedata.normalize("NFC", str(text or "")).split())
    if not name:
        raise SpaceError("Type your name (or your group's name) to join.")
    if len(name) > MAX_NAME_LENGTH:
        raise SpaceError(f"A name can be at most {MAX_NAME_LENGTH} characters long; type a shorter one.")
    if not all(ch.isprintable() for ch in name):
        raise SpaceError("A name can hold letters, numbers, spaces and punctuation only; type it again.")
    return name


def name_key(text) -> str:
    """What makes two names the same: case and spacing do not count ("Anna Lee" = "annalee")."""
    return "".join(unicodedata.normalize("NFC", str(text or "")).casefold().split())


def new_space_id() -> str:
    return secrets.token_urlsafe(16)


def is_space_id(text) -> bool:
    return isinstance(text, str) and _ID.fullmatch(text) is not None


# -- the store -----------------------------------------------------------------------------------
class SpaceStore:
    """The spaces of one workspace (``WORKSPACE/spaces``), safe to share by every session of a server."""

    def __init__(self, root, max_pictures: int = MAX_PICTURES_PER_SPACE):
        self.root = Path(root)
        self.max_pictures = int(max_pictures)
        self._lock = threading.RLock()  # names, files and folders of every space
        self._decoding: dict[str, threading.Lock] = {}  # one per space: decoding never blocks the others
        self._decoded: dict[tuple[str, int], _Decoded] = {}

    @classmethod
    def in_workspace(cls, workspace=None, **kwargs) -> "SpaceStore":
        return cls(Path(workspace or workspace_root()) / "spaces", **kwargs)

    # -- spaces --------------------------------------------------------------------------------
    def create(self, name) -> Space:
        """A new student's space named ``name``; NameTakenError if another space has that name."""
        name = clean_name(name)
        with self._lock:
            if self.find(name) is not None:
                raise NameTakenError(f"The name '{name}' is already taken in this class. Add the first "
                                     "letter of your last name, or choose another name.")
            return self._make(new_space_id(), name, STUDENT)

    def solo(self, name: str = "Teacher") -> Space:
        """The solo space (fixed id), made on first use."""
        with self._lock:
            try:
                return self.get(SOLO_ID)
            except UnknownSpaceError:
                return self._make(SOLO_ID, clean_name(name), SOLO)

    def get(self, space_id, kind: str | None = None) -> Space:
        """The space ``space_id`` (of ``kind``, if given); UnknownSpaceError if there is none."""
        if not is_space_id(space_id):
            raise UnknownSpaceError(_GONE)
        folder = self.root / space_id
        try:
            data = json.loads((folder / SPACE_FILE).read_text(encoding="utf-8"))
            space = Space(space_id, clean_name(data["name"]), str(data["kind"]), str(data["created"]), folder)
        except (OSError, ValueError, KeyError, TypeError):
            raise UnknownSpaceError(_GONE) from None
        if space.kind not in KINDS or (kind is not None and space.kind != kind):
            raise UnknownSpaceError(_GONE)
        return space

    def find(self, name) -> Space | None:
        """The space whose name is ``name`` (ignoring case and spacing), or None."""
        key = name_key(name)
        return next((space for space in self.spaces() if name_key(space.name) == key), None)

    def spaces(self) -> list[Space]:
        """Every space, oldest first."""
        if not self.root.is_dir():
            return []
        found = []
        for child in self.root.iterdir():
            try:
                found.append(self.get(child.name))
            except UnknownSpaceError:
                continue  # a folder being removed, or not a space
        return sorted(found, key=lambda space: (space.created, space.name))

    def remove(self, space_id) -> None:
        """Delete a space and all it holds (renamed away first, so it vanishes at once)."""
        space = self.get(space_id)
        with self._lock:
            gone = self.root / f".removed-{space.id}-{time.monotonic_ns()}"
            os.replace(space.folder, gone)
            self._decoded = {key: value for key, value in self._decoded.items() if key[0] != space.id}
            shutil.rmtree(gone, ignore_errors=True)

    def _make(self, space_id: str, name: str, kind: str) -> Space:
        folder = self.root / space_id
        folder.mkdir(parents=True)  # exclusive: an id is never given twice
        for sub in ("pictures", "runs"):
            (folder / sub).mkdir()
        created = time.strftime("%Y-%m-%dT%H:%M:%S")
        write_json(folder / SPACE_FILE, {"id": space_id, "name": name, "kind": kind, "created": created})
        return Space(space_id, name, kind, created, folder)

    # -- settings and state --------------------------------------------------------------------
    def settings(self, space_id, default: TrainingSettings | None = None) -> TrainingSettings:
        """The space's saved settings, else ``default`` (else TrainingSettings())."""
        default = default or TrainingSettings()
        data = read_json(self.get(space_id).folder / SETTINGS_FILE)
        if data is None:
            return default
        try:
            return TrainingSettings.from_dict(data)
        except SettingsError as error:
            log.warning("The saved settings of space %s cannot be used (%s); using the defaults.", space_id, error)
            return default

    def save_settings(self, space_id, settings: TrainingSettings) -> None:
        with self._lock:
            write_json(self.get(space_id).folder / SETTINGS_FILE, settings.to_dict())

    def state(self, space_id) -> SpaceState:
        return SpaceState.from_dict(read_json(self.get(space_id).folder / STATE_FILE))

    def save_state(self, space_id, state: SpaceState) -> None:
        with self._lock:
            write_json(self.get(space_id).folder / STATE_FILE, state.to_dict())

    def update_state(self, space_id, **changes) -> SpaceState:
        with self._lock:
            state = SpaceState(**{**self.state(space_id).to_dict(), **changes})
            self.save_state(space_id, state)
            return state

    # -- pictures ------------------------------------------------------------------------------
    def add_pictures(self, space_id, items: Iterable[tuple[str, str, bytes]]) -> PicturesAdded:
        """Add uploads (class name, file name, bytes) to the space's pictures, keeping what is there.

        A file that is not a picture, is too big, or would pass the space's limit is refused
        (named, with the reason) and not written; the others are added under safe, unique names."""
        space = self.get(space_id)
        with self._lock:
            counts = self.picture_counts(space.id)
            room = self.max_pictures - sum(counts.values())
            spelling = {_class_key(name): name for name in counts}  # "Cats" joins the folder "cats"
            kept, refused = [], []
            for class_name, file_name, data in items:
                label = f"{class_name}/{str(file_name).replace(chr(92), '/').rsplit('/', 1)[-1]}"
                reason = _upload_problem(data) if room > len(kept) else (
                    f"did not fit: a space holds at most {self.max_pictures} pictures")
                if reason:
                    refused.append(SkippedFile(label, reason))
                else:
                    kept.append((spelling.setdefault(_class_key(class_name), str(class_name)), file_name, data))
            staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=space.folder))
            try:
                added = _merge_into(write_uploads(kept, staging), space.pictures_dir)
            finally:
                shutil.rmtree(staging, ignore_errors=True)
            return PicturesAdded(tuple(added), tuple(refused))

    def set_pictures(self, space_id, source_folder, picture_set: str | None = None) -> dict[str, int]:
        """Make the pictures of ``source_folder`` (one folder per class) the space's whole set.

        Only the files ``read_folder`` lists are copied; the old set is replaced in one step."""
        space = self.get(space_id)
        listing = read_folder(source_folder)
        if len(listing.files) > self.max_pictures:
            raise SpaceError(f"That set has {len(listing.files)} pictures; a space holds at most "
                             f"{self.max_pictures}. Choose fewer pictures.")
        with self._lock:
            staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=space.folder))
            try:
                for file in listing.files:
                    target = staging / Path(*[safe_name(part) for part in file.name.split("/")])
                    target.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(file.path, target)
                old = space.folder / f".old-pictures-{time.monotonic_ns()}"
                if space.pictures_dir.exists():
                    os.replace(space.pictures_dir, old)
                os.replace(staging, space.pictures_dir)
                shutil.rmtree(old, ignore_errors=True)
            finally:
                shutil.rmtree(staging, ignore_errors=True)
            if picture_set is not None:
                self.update_state(space.id, picture_set=picture_set)
            return self.picture_counts(space.id)

    def save_dataset(self, space_id, dataset: ImageDataset, picture_set: str | None = None) -> ImageDataset:
        """Make ``dataset`` (decoded, maybe changed in the app) the space's whole set, and give it
        back as read from the space: its paths in the space, its pixels memory-mapped.

        Files already in place are kept (an unchanged set writes nothing but its state), new
        ones are hard-linked or copied, files no longer in the set are removed; the decoded
        pixels are written once, so nothing is decoded again."""
        space = self.get(space_id)
        if len(dataset) > self.max_pictures:
            raise SpaceError(f"That set has {len(dataset)} pictures; a space holds at most "
                             f"{self.max_pictures}. Choose fewer pictures.")
        with self._lock:
            targets = _sync_files(dataset, space.pictures_dir)
            signature = _signature(space.pictures_dir)
            moved = copy.copy(dataset)  # the same pictures, found in the space from now on
            moved.paths, moved.root = targets, space.pictures_dir
            mapped = _memory_mapped(moved, space.cache_dir / f"pixels-{dataset.image_size}-{signature[:16]}.npy")
            self._decoded[(space.id, dataset.image_size)] = _Decoded(signature, mapped)
            if picture_set is not None:
                self.update_state(space.id, picture_set=picture_set)
            return mapped

    def remove_pictures(self, space_id, names: Iterable[str] = (), classes: Iterable[str] = ()) -> int:
        """Delete pictures ("class/file") and whole classes; how many files went. Unknown names are ignored."""
        space = self.get(space_id)
        removed = 0
        with self._lock:
            for class_name in classes:
                folder = space.pictures_dir / class_name
                if is_safe_name(class_name) and folder.is_dir() and not folder.is_symlink():
                    removed += sum(1 for f in folder.iterdir() if f.is_file())
                    shutil.rmtree(folder)
            for name in names:
                parts = str(name).split("/")
                path = space.pictures_dir.joinpath(*parts)
                if len(parts) == 2 and all(is_safe_name(p) for p in parts) and path.is_file():
                    path.unlink()
                    removed += 1
        return removed

    def picture_counts(self, space_id) -> dict[str, int]:
        """Files per class folder, sorted by class (counted, not decoded: cheap)."""
        folder = self.get(space_id).pictures_dir
        if not folder.is_dir():
            return {}
        return {d.name: sum(1 for f in d.iterdir() if f.is_file())
                for d in sorted(folder.iterdir()) if d.is_dir() and not d.name.startswith(".")}

    def load_pictures(self, space_id, image_size: int = DEFAULT_IMAGE_SIZE,
                      min_per_class: int = MIN_PICTURES_PER_CLASS) -> ImageDataset | None:
        """The space's pictures as an ImageDataset (None if it has none), pixels memory-mapped.

        Decoded once per size while the pictures do not change; DatasetError (with its report)
        if they cannot be trained on (fewer than 2 classes, too few pictures in a class)."""
        space = self.get(space_id)
        if not any(self.picture_counts(space.id).values()):
            return None
        with self._lock:
            decoding = self._decoding.setdefault(space.id, threading.Lock())
        with decoding:
            with self._lock:
                signature = _signature(space.pictures_dir)
                cached = self._decoded.get((space.id, int(image_size)))
            if cached is not None and cached.signature == signature:
                return cached.dataset
            decoded = ImageDataset.from_folder(space.pictures_dir, image_size, min_per_class)
            dataset = _memory_mapped(decoded, space.cache_dir / f"pixels-{int(image_size)}-{signature[:16]}.npy")
            with self._lock:
                self._decoded[(space.id, int(image_size))] = _Decoded(signature, dataset)
            return dataset

    # -- for the teacher -----------------------------------------------------------------------
    def summary(self, space_id, queue=None) -> SpaceSummary:
        """Pictures, runs, best accuracy, backbone and (with ``queue``) the training's state."""
        from ..runs import list_runs

        space = self.get(space_id)
        picture_set = self.state(space.id).picture_set
        counts = _demo_counts() if picture_set == DEMO_NAME else self.picture_counts(space.id)
        runs = list_runs(space.runs_dir) if space.runs_dir.is_dir() else []
        accuracies = [max(values) for run in runs if (values := run.record.history.get("val_accuracy"))]
        entry = queue.status(space.id) if queue is not None else None
        return SpaceSummary(space, sum(counts.values()), len(counts), len(runs),
                            max(accuracies) if accuracies else None, self.settings(space.id).backbone,
                            entry.state if entry is not None else None, picture_set)

    def summaries(self, queue=None) -> list[SpaceSummary]:
        return [self.summary(space.id, queue) for space in self.spaces()]


# -- inside ----------------------------------------------------------------------------------------
def _upload_problem(data) -> str | None:
    """Why an uploaded file cannot be kept as a picture, or None."""
    if len(data) > MAX_PICTURE_BYTES:
        return f"is {_size_words(len(data))}, more than the {_size_words(MAX_PICTURE_BYTES)} a picture may be"
    if not data:
        return "is empty"
    try:
        read_header(io.BytesIO(data))
    except UnreadablePicture as problem:
        return problem.reason
    return None


def _demo_counts() -> dict[str, int]:
    """Pictures per class of the built-in demo (a space that uses it keeps no copy)."""
    folder = demo_folder()
    return {d.name: sum(1 for f in d.iterdir() if f.is_file()) for d in sorted(folder.iterdir()) if d.is_dir()}


def _class_key(class_name) -> str:
    return safe_name(unicodedata.normalize("NFC", str(class_name)).strip(), fallback="class").casefold()


def _merge_into(staging: Path, pictures: Path) -> list[str]:
    """Move staged class folders' files into ``pictures``: same class ignoring case, unique names."""
    pictures.mkdir(exist_ok=True)
    existing = {d.name.casefold(): d for d in pictures.iterdir() if d.is_dir()}
    added = []
    for class_dir in sorted(d for d in staging.iterdir() if d.is_dir()):
        target_dir = existing.setdefault(class_dir.name.casefold(), pictures / class_dir.name)
        target_dir.mkdir(exist_ok=True)
        taken = {f.name.casefold() for f in target_dir.iterdir()}
        for file in sorted(class_dir.iterdir()):
            name = _unique(file.name, taken)
            taken.add(name.casefold())
            os.replace(file, target_dir / name)
            added.append(f"{target_dir.name}/{name}")
    return added


def _sync_files(dataset: ImageDataset, pictures: Path) -> list[Path]:
    """The files of ``dataset`` under ``pictures`` ("class/file" as in its names, made safe);
    the target path of each picture, in the set's order. Only what changed is written."""
    pictures.mkdir(parents=True, exist_ok=True)
    targets, wanted = [], set()
    for source, name in zip(dataset.paths, dataset.names):
        target = pictures.joinpath(*[safe_name(part) for part in str(name).split("/")])
        targets.append(target)
        wanted.add(target)
        if target.is_file() and Path(source).is_file() and os.path.samefile(source, target):
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        _link_or_copy(Path(source), target)
    for path in sorted(pictures.rglob("*"), reverse=True):  # files before their folders
        if path.is_file() and path not in wanted:
            path.unlink()
        elif path.is_dir() and not any(path.iterdir()):
            path.rmdir()
    return targets


def _link_or_copy(source: Path, target: Path) -> None:
    """``target`` becomes ``source``'s content, replaced in one step (a hard link where it can)."""
    temporary = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
    try:
        try:
            os.link(source, temporary)
        except OSError:  # another file system, or links not allowed: copy
            shutil.copyfile(source, temporary)
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)


def _unique(name: str, taken: set[str]) -> str:
    stem, suffix = os.path.splitext(name)
    candidate, number = name, 1
    while candidate.casefold() in taken:
        candidate, number = f"{stem}_{number}{suffix}", number + 1
    return candidate


def _signature(folder: Path) -> str:
    """Changes when any picture is added, removed, renamed or rewritten."""
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            stat = path.stat()
            digest.update(f"{path.relative_to(folder).as_posix()}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def _memory_mapped(dataset: ImageDataset, path: Path) -> ImageDataset:
    """The same dataset with its pixels in ``path``, memory-mapped read-only (older files removed)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.is_file():
        handle, temporary = tempfile.mkstemp(prefix=".pixels-", suffix=".npy", dir=path.parent)
        os.close(handle)
        try:
            np.save(temporary, dataset.pixels())
            os.replace(temporary, path)
        finally:
            Path(temporary).unlink(missing_ok=True)
    size_prefix = path.name.rsplit("-", 1)[0] + "-"
    for older in path.parent.glob(f"{size_prefix}*.npy"):
        if older != path:
            try:
                older.unlink()  # a reader that still maps it keeps its pages (POSIX)
            except OSError:
                pass  # Windows refuses while mapped: it goes next time
    return ImageDataset(
        class_names=dataset.class_names, paths=dataset.paths, names=dataset.names, labels=dataset.labels,
        file_hashes=dataset.file_hashes, pixels=np.load(path, mmap_mode="r"), image_size=dataset.image_size,
        report=dataset.report, root=dataset.root, look_hashes=dataset.look_hashes,
        original_sizes=dataset.original_sizes,
    )
