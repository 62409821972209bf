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

import errno
import hashlib
import json
import logging
import os
import re
import secrets
import shutil
import threading
import time
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .data import DEMO_NAME, ImageDataset, demo_folder, is_safe_name, safe_name
from .data.dataset import DEFAULT_IMAGE_SIZE
from .data.pixels import write_pixels
from .data.report import MIN_PICTURES_PER_CLASS, is_hidden_character, size_words, too_many_pictures
from .paths import workspace_root
from .settings import SettingsError, TrainingSettings
from .files import read_json, write_json
from .i18n import N_, msg, sentences

log = logging.getLogger(__name__)

SOLO, STUDENT = "solo", "student"
KINDS = (SOLO, STUDENT)
SOLO_ID = "solo"  # the one space of `streamlit run app.py`: restored on refresh, nothing to type
MAX_NAME_LENGTH = 40
MAX_PICTURES_PER_SPACE = 2000
SPACE_FILE, SETTINGS_FILE, STATE_FILE = "space.json", "settings.json", "state.json"
# What a student's trainings learn from (classroom mode): their pictures, the class pool, or both.
TRAIN_ON_OWN, TRAIN_ON_POOL, TRAIN_ON_BOTH = "own", "pool", "both"
_ID = re.compile(r"[A-Za-z0-9_-]{4,64}")  # token_urlsafe's alphabet: never a path trick
_GONE = N_("This space was not found on this server (it may have been cleared). "
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
    language: str | None = None  # the language this space's student picked ("es", "pt_BR")
    train_on: str = TRAIN_ON_OWN  # classroom mode: TRAIN_ON_OWN, TRAIN_ON_POOL or TRAIN_ON_BOTH

    def __post_init__(self):
        if self.selected_run is not None and not is_safe_name(self.selected_run):
            raise SpaceError(msg("'{run}' is not a run of this space; choose one from the list.",
                                     run=str(self.selected_run)[:40]))
        if self.picture_set is not None and len(str(self.picture_set)) > 200:
            raise SpaceError(msg("The picture set's name is too long; give it a shorter one."))

    def to_dict(self) -> dict:
        return {"picture_set": self.picture_set, "selected_run": self.selected_run, "language": self.language,
                "train_on": self.train_on}

    @classmethod
    def from_dict(cls, data) -> "SpaceState":
        """Tolerant of damaged files: a value that cannot be used is read as None."""
        data = data if isinstance(data, dict) else {}
        picture_set, run = (data.get(key) if isinstance(data.get(key), str) else None
                            for key in ("picture_set", "selected_run"))
        language = data.get("language") if isinstance(data.get("language"), str) else None
        return cls(picture_set if picture_set is None or len(picture_set) <= 200 else None,
                   run if run is None or is_safe_name(run) else None,
                   language if language is None or (len(language) <= 10 and language.replace("_", "").isalpha())
                   else None,
                   data.get("train_on") if data.get("train_on") in (TRAIN_ON_POOL, TRAIN_ON_BOTH) else TRAIN_ON_OWN)


@dataclass(frozen=True)
class SpaceSummary:
    """One line of the teacher's view. ``queue_state`` is the queue's word, or None."""

    space: Space
    pictures: int
    classes: int
    runs: int
    best_accuracy: float | None  # of the run whose accuracy is surest (see best_run)
    backbone: str
    queue_state: str | None = None
    picture_set: str | None = None  # its name (the built-in demo's too), None before any
    best_val_pictures: int = 0  # the validation pictures best_accuracy was measured on

    @property
    def best_interval(self) -> tuple[float, float] | None:
        """Where best_accuracy likely lies (95 %), given the pictures it was measured on."""
        from .stats import accuracy_interval

        return accuracy_interval(self.best_accuracy, self.best_val_pictures)


@dataclass
class _Decoded:
    signature: str
    dataset: ImageDataset = field(repr=False)


# -- names and ids -------------------------------------------------------------------------------
def clean_name(text) -> str:
    """A display name as typed, with its spacing tidied; SpaceError if it cannot be a name.

    Every script and whole emoji (joined sequences, skin tones, flags: "🌼🌹👩🏽‍🔬 Team") are
    names; control and invisible characters (a right-to-left override, a zero-width space, a
    blank-looking filler) are refused, as they make one name look like another or like none."""
    name = " ".join(unicodedata.normalize("NFC", str(text or "")).split())
    if not name:
        raise SpaceError(msg("Type your name (or your group's name) to join."))
    if len(name) > MAX_NAME_LENGTH:
        raise SpaceError(msg("A name can be at most {limit} characters long; type a shorter one.",
                             limit=MAX_NAME_LENGTH))
    shows = [unicodedata.category(ch)[0] in "LNPS" or unicodedata.category(ch) == "Cn" for ch in name]
    if any(is_hidden_character(ch) for ch in name) or not any(shows):
        raise SpaceError(msg("A name cannot hold invisible or control characters (letters of any language, "
                             "numbers, punctuation, spaces and emoji are fine); type it again."))
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
    def create(self, name, classes=()) -> Space:
        """A new student's space named ``name``, starting with an (empty) folder per class of
        ``classes`` (the class's task); NameTakenError if another space has that name."""
        name = clean_name(name)
        with self._lock:
            if self.find(name) is not None:
                raise NameTakenError(msg("The name '{name}' is already taken in this class. Add the first "
                                         "letter of your last name, or choose another name.", name=name))
            space = self._make(new_space_id(), name, STUDENT)
            for class_name in classes:
                (space.pictures_dir / safe_name(class_name)).mkdir(exist_ok=True)
            return space

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
            raise UnknownSpaceError(msg(_GONE))
        folder = self.root / space_id
        try:
            data = json.loads((folder / SPACE_FILE).read_text(encoding="utf-8"))
            space = Space(space_id, clean_name(data["name"]), str(data["kind"]), str(data["created"]), folder)
        except (OSError, ValueError, KeyError, TypeError):
            raise UnknownSpaceError(msg(_GONE)) from None
        if space.kind not in KINDS or (kind is not None and space.kind != kind):
            raise UnknownSpaceError(msg(_GONE))
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
    def save_dataset(self, space_id, dataset: ImageDataset, picture_set: str | None = None) -> ImageDataset:
        """Make ``dataset`` (decoded, maybe changed in the app) the space's whole set, and give it
        back as read from the space: its paths in the space, its pixels memory-mapped.

        All or nothing: the set's files (hard links where it can, so pictures already in the space
        cost nothing) and its decoded pixels are written beside the space's pictures, and put in
        place in one step once complete. A disk without room for them is refused before anything
        is written; if writing fails anyway, what was written is removed and the space keeps its
        old set. Either way SpaceError says so in plain words."""
        space = self.get(space_id)
        if len(dataset) > self.max_pictures:
            raise SpaceError(*too_many_pictures(len(dataset), self.max_pictures).args)  # its Message, if any
        with self._lock:
            _remove_leftovers(space.folder)
            staging = space.folder / f"{_STAGING}{secrets.token_hex(4)}"
            written_pixels = None
            try:
                _check_room(dataset, space)
                targets = _stage_files(dataset, staging, space.pictures_dir)
                signature = _signature(staging)
                cached = space.cache_dir / f"pixels-{dataset.image_size}-{signature[:16]}.npy"
                written_pixels = None if cached.is_file() else write_pixels(dataset.pixels(), cached)
                _swap_in(staging, space.pictures_dir, space.folder)
            except OSError as error:
                if written_pixels is not None:
                    written_pixels.unlink(missing_ok=True)
                raise SpaceError(_not_kept(error)) from None
            finally:
                shutil.rmtree(staging, ignore_errors=True)
            mapped = _memory_mapped(dataset.relocated(space.pictures_dir, targets), cached)
            self._decoded[(space.id, dataset.image_size)] = _Decoded(signature, mapped)
            if picture_set is not None:
                self.update_state(space.id, picture_set=picture_set)
            return mapped

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
            decoded = ImageDataset.from_folder(space.pictures_dir, image_size, min_per_class,
                                               max_pictures=self.max_pictures, pixels_dir=space.cache_dir)
            dataset = _memory_mapped(decoded, space.cache_dir / f"pixels-{int(image_size)}-{signature[:16]}.npy")
            with self._lock:
                self._decoded[(space.id, int(image_size))] = _Decoded(signature, dataset)
            return dataset

    # -- for the teacher -----------------------------------------------------------------------
    def summary(self, space_id, queue=None, default_settings: TrainingSettings | None = None) -> SpaceSummary:
        """Pictures, runs, best accuracy, backbone and (with ``queue``) the training's state.
        ``default_settings``: what a space that saved none trains with (as ``settings``)."""
        from .runs import list_runs

        space = self.get(space_id)
        picture_set = self.state(space.id).picture_set
        counts = _demo_counts() if picture_set == DEMO_NAME else self.picture_counts(space.id)
        runs = list_runs(space.runs_dir) if space.runs_dir.is_dir() else []
        best = best_run(runs)
        entry = queue.status(space.id) if queue is not None else None
        return SpaceSummary(space, sum(counts.values()), len(counts), len(runs),
                            best.record.val_accuracy if best else None,
                            self.settings(space.id, default_settings).backbone,
                            entry.state if entry is not None else None, picture_set,
                            best.record.val_pictures if best else 0)

    def summaries(self, queue=None, default_settings: TrainingSettings | None = None) -> list[SpaceSummary]:
        return [self.summary(space.id, queue, default_settings) for space in self.spaces()]


def best_run(runs: list):
    """The run whose validation accuracy is surest to be high: the highest low end of its 95 %
    interval, so 6 lucky pictures at 100 % (likely 61–100 %) do not top 65 of 78 (74–90 %).
    None if no run has a measured accuracy (an imported model has none)."""
    from .stats import accuracy_interval

    def low_end(run) -> tuple[float, float]:
        record = run.record
        interval = accuracy_interval(record.val_accuracy, record.val_pictures)
        return (interval[0] if interval else 0.0, record.val_accuracy)

    measured = [run for run in runs if run.record.val_accuracy is not None]
    return max(measured, key=low_end) if measured else None


# -- inside ----------------------------------------------------------------------------------------
def _demo_counts() -> dict[str, int]:
    """Pictures per class of the built-in demo (a space that uses it keeps no copy)."""
    folder = demo_folder()
    return {d.name: sum(1 for f in d.iterdir() if f.is_file()) for d in sorted(folder.iterdir()) if d.is_dir()}


_STAGING, _OLD = ".staging-", ".old-pictures-"
_ROOM_MARGIN = 2_000_000  # left free for the settings and state written with the set


def _remove_leftovers(folder: Path) -> None:
    """Half-written sets a killed server left beside the pictures (the store's lock is held)."""
    for path in folder.iterdir():
        if path.name.startswith((_STAGING, _OLD)) and path.is_dir():
            shutil.rmtree(path, ignore_errors=True)


def _check_room(dataset: ImageDataset, space: Space) -> None:
    """Refuse, before writing anything, a set the space's disk cannot hold: the pixels' file, and
    every picture that cannot be hard-linked (it is on another disk, such as an upload's folder)."""
    device = space.folder.stat().st_dev
    copied = 0
    for source in dataset.paths:
        info = Path(source).stat()
        copied += info.st_size if info.st_dev != device else 0
    needed = copied + len(dataset) * dataset.image_size ** 2 * 3 + _ROOM_MARGIN
    free = shutil.disk_usage(space.folder).free
    if needed > free:
        raise SpaceError(sentences(
            msg("These pictures could not be kept: the disk where the Studio keeps your work is full "
                "({needed} are needed, {free} are free).", needed=size_words(needed), free=size_words(free)),
            msg(_NOTHING_CHANGED)))


_NOTHING_CHANGED = N_("Nothing was changed in your space; free some space on that disk (or ask your teacher) and "
                      "try again.")


def _not_kept(error: OSError) -> str:
    """Plain words for a write that failed while keeping a set (never the system's or numpy's text)."""
    if error.errno in (errno.ENOSPC, errno.EDQUOT):
        why = msg("These pictures could not be kept: the disk where the Studio keeps your work is full.")
    elif error.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        why = msg("These pictures could not be kept: the Studio may not write where it keeps your work.")
    else:
        why = msg("These pictures could not be kept ({reason}).", reason=error.strerror or type(error).__name__)
    return sentences(why, msg(_NOTHING_CHANGED))


def _stage_files(dataset: ImageDataset, staging: Path, pictures: Path) -> list[Path]:
    """The files of ``dataset`` under ``staging`` ("class/file" as in its names, made safe); the path
    each picture will have in ``pictures`` once the staging folder takes its place."""
    targets = []
    for source, name in zip(dataset.paths, dataset.names):
        relative = Path(*[safe_name(part) for part in str(name).split("/")])
        staged = staging / relative
        staged.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(source, staged)  # a picture already in the space, or on the same disk: no copy
        except OSError as error:
            if error.errno in (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.ENOENT):
                raise
            shutil.copyfile(source, staged)  # another disk, or links not allowed
        targets.append(pictures / relative)
    return targets


def _swap_in(staging: Path, pictures: Path, space_folder: Path) -> None:
    """``staging`` becomes ``pictures`` in one step (the old set is removed after)."""
    old = space_folder / f"{_OLD}{secrets.token_hex(4)}"
    if pictures.exists():
        os.replace(pictures, old)
    try:
        os.replace(staging, pictures)
    except OSError:
        if old.exists():
            os.replace(old, pictures)
        raise
    shutil.rmtree(old, ignore_errors=True)


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
    if not path.is_file():
        write_pixels(dataset.pixels(), path)
    size_prefix = path.name.rsplit("-", 1)[0] + "-"
    for older in path.parent.glob(f"{size_prefix}*.npy"):
        if older != path:
            try:
                older.unlink()  # a reader that still maps it keeps its pages (POSIX)
            except OSError:
                pass  # Windows refuses while mapped: it goes next time
    return dataset.with_pixels(np.load(path, mmap_mode="r"))
