"""Privacy a school can sign off: erase one student everywhere, keep the class only as long as
agreed, and a record of what the teacher did.

Where a student's files are (everything ``erase_student`` removes):

    WORKSPACE/spaces/<id>/                   their space: pictures, settings, runs (with the pictures
                                             and sounds kept for behaviours), cache/ (decoded pixels)
    CACHE/features/<key>.npy + .json         features of their pictures (each entry names the folders
                                             its pictures came from: training.features.forget_origin;
                                             entries made before entries named them are dropped too:
                                             they cannot say whose they are, ``forget_unnamed_features``)
    WORKSPACE/classroom/exports/*.zip        class exports still on this computer: rewritten without them
                                             (their space and their pictures in the pool); so are the
                                             exports written before a timed clear (``export_before_clear``)
    WORKSPACE/classroom/swap.json            the swap test's grid (names, wrong pictures): removed
    WORKSPACE/classroom/pool/                the pictures they added to the class pool (pool.py), with the
                                             pool's decoded pixels and the features cached from its pictures

Decoded pictures outside a space (CACHE/pixels) are unlinked as soon as they are made, and a
session's scratch folder (uploads, camera) lives only as long as the server process.

    WORKSPACE/classroom/audit.jsonl          one JSON line per thing the teacher did (``record``)
    WORKSPACE/classroom/clear_failed.json    the class's time was up but its export failed: nothing was
                                             cleared; the Teacher page says so until a start clears it
"""

from __future__ import annotations

import errno
import json
import os
import threading
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from ..files import read_json, write_json
from ..i18n import N_, Message, msg
from ..spaces import STUDENT, SpaceError, SpaceStore, name_key
from .class_settings import read_class_settings
from .pool import ClassPool

AUDIT_FILE = Path("classroom") / "audit.jsonl"
EXPORTS = Path("classroom") / "exports"
TIME_FORMAT = "%Y-%m-%dT%H:%M:%S"
# What the teacher did, as recorded (the codes stay; pages word them).
OPENED, REMOVED_PICTURE, ERASED, EXPORTED, CLEARED, TIME_UP, TASK_SET, KEEP_FOR_SET = (
    "opened", "removed_picture", "erased", "exported", "cleared", "time_up", "task_set", "keep_for_set")
EXPORT_FOLDER_SET, EXPORT_FAILED = "export_folder_set", "time_up_export_failed"  # detail: the folder
CLEAR_FAILED_FILE = Path("classroom") / "clear_failed.json"
TIMED_EXPORT = "class-before-clearing-%Y%m%d-%H%M%S"  # + ".zip" (or "-2.zip"...: never one written before)
KEPT_BECAUSE_EXPORT_FAILED = N_("The class's time is up, but it was not cleared: its export to {folder} failed "
                                "({why}). Nothing was erased; fix the folder (or choose another), and the next "
                                "start of the Studio exports the class and clears it.")
POOL_HIDDEN, POOL_SHOWN, POOL_REMOVED = "pool_hidden", "pool_shown", "pool_removed"  # detail: "class: file"
_audit_lock = threading.Lock()


# -- the record of what the teacher did ----------------------------------------------------------
def record(workspace, action: str, student: str | None = None, detail: str | None = None) -> dict:
    """Append one line to the audit record (never raises for a disk problem: it is logged)."""
    entry = {"time": time.strftime(TIME_FORMAT), "action": action, "student": student, "detail": detail}
    path = Path(workspace) / AUDIT_FILE
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with _audit_lock, open(path, "a", encoding="utf-8") as out:
            out.write(json.dumps(entry, ensure_ascii=False) + "\n")
    except OSError as error:
        import logging

        logging.getLogger(__name__).error("The audit record could not be written (%s): %s", error, entry)
    return entry


def read_record(workspace, last: int | None = None) -> list[dict]:
    """The audit record, oldest first (damaged lines skipped); the ``last`` ones only if given."""
    try:
        lines = (Path(workspace) / AUDIT_FILE).read_text(encoding="utf-8").splitlines()
    except OSError:
        return []
    entries = []
    for line in lines:
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict) and isinstance(entry.get("action"), str):
            entries.append(entry)
    return entries[-last:] if last else entries


# -- erasing one student ---------------------------------------------------------------------------
@dataclass
class Erasure:
    """What ``erase_student`` removed: the space's folder, cached feature files, pictures in the class
    pool, exports rewritten."""

    name: str
    space_removed: bool = False
    feature_files: int = 0
    pool_pictures: int = 0
    exports_rewritten: list[Path] = field(default_factory=list)
    exports_unreadable: list[Path] = field(default_factory=list)


def erase_student(workspace, name: str, store: SpaceStore | None = None, queue=None,
                  cache_folder=None) -> Erasure:
    """Erase the student (or group) ``name`` everywhere (see the module's doc); SpaceError in plain
    words if no space or export holds that name, or while their training is queued or running."""
    from ..training.features import forget_origin

    workspace = Path(workspace)
    store = store or SpaceStore.in_workspace(workspace)
    space = store.find(name)
    if space is not None and space.kind != STUDENT:
        raise SpaceError(msg("'{name}' is the teacher's own space, not a student's.", name=space.name))
    if space is not None and queue is not None:
        entry = queue.status(space.id)
        if entry is not None and entry.active:
            raise SpaceError(msg("{name}'s training is still waiting or running; stop it (or wait until it "
                                 "ends), then erase.", name=space.name))
    erasure = Erasure(space.name if space else " ".join(str(name).split()))
    if space is not None:
        erasure.feature_files = len([p for p in forget_origin(space.folder, cache_folder) if p.suffix == ".npy"])
        erasure.feature_files += len(forget_unnamed_features(cache_folder))
        store.remove(space.id)
        erasure.space_removed = True
        erasure.pool_pictures = ClassPool(workspace).remove_student(space.id, cache_folder)
    for export in _exports_on_this_computer(workspace):
        try:
            if _export_without(export, erasure.name):
                erasure.exports_rewritten.append(export)
        except (OSError, zipfile.BadZipFile, ValueError, KeyError):
            erasure.exports_unreadable.append(export)
    if erasure.space_removed:
        _forget_swap(workspace)
    if not erasure.space_removed and not erasure.exports_rewritten:
        raise SpaceError(msg("No student or group called '{name}' is in this class (or in its exports).",
                             name=erasure.name))
    record(workspace, ERASED, erasure.name)
    return erasure


UNFINISHED_SECONDS = 3600  # a features file without its description younger than this may be being written


def forget_unnamed_features(cache_folder=None, now: float | None = None) -> list[Path]:
    """Remove the cached feature files that do not name the folders their pictures came from (made
    by a version before they did; they could be anybody's, so erasing a student drops them all: a
    training computes them again when it needs them); the ``.npy`` files removed."""
    from ..paths import cache_root

    folder = Path(cache_folder) if cache_folder else cache_root() / "features"
    now = time.time() if now is None else now
    removed = []
    for array in sorted(folder.glob("*.npy")) if folder.is_dir() else []:
        info = array.with_suffix(".json")
        try:
            if info.is_file():
                unnamed = not (json.loads(info.read_text(encoding="utf-8")) or {}).get("origins")
            else:  # a description is written just after its array: only an old one is unfinished for good
                unnamed = now - array.stat().st_mtime > UNFINISHED_SECONDS
        except (OSError, ValueError, AttributeError):
            unnamed = True  # a description that cannot be read names nobody
        if unnamed:
            array.unlink(missing_ok=True)
            info.unlink(missing_ok=True)
            removed.append(array)
    return removed


def _forget_swap(workspace: Path) -> None:
    """The swap grid names every group and their wrong pictures: made again when next asked for."""
    from .report import SWAP_FILE

    (workspace / SWAP_FILE).unlink(missing_ok=True)


def _exports_on_this_computer(workspace: Path) -> list[Path]:
    """The class exports in the workspace, and those written before a timed clear into the teacher's folder."""
    exports = sorted((workspace / EXPORTS).glob("*.zip"))
    folder = read_class_settings(workspace).export_before_clear
    if folder and Path(folder).is_dir():
        exports += sorted(Path(folder).glob(TIMED_EXPORT.split("%", 1)[0] + "*.zip"))
    return exports


def _export_without(path: Path, name: str) -> bool:
    """Rewrite the class export ``path`` without the space called ``name`` and the pool pictures they
    added; whether it held any."""
    key = name_key(name)
    with zipfile.ZipFile(path) as archive:
        listing = json.loads(archive.read("class.json"))
        theirs = [item for item in listing["spaces"] if name_key(item.get("name")) == key]
        pool = listing.get("pool") or []
        their_pool = [item for item in pool if name_key(item.get("who")) == key]
        if not theirs and not their_pool:
            return False
        files = [str(item.get("file") or "") for item in theirs + their_pool]
        partial = path.with_name(path.name + ".partial")
        with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as rewritten:
            for info in archive.infolist():
                if info.filename == "class.json" or any(
                        info.filename == f or (f.endswith("/") and info.filename.startswith(f)) for f in files if f):
                    continue
                rewritten.writestr(info, archive.read(info))
            listing["spaces"] = [item for item in listing["spaces"] if item not in theirs]
            if "pool" in listing:
                listing["pool"] = [item for item in pool if item not in their_pool]
            rewritten.writestr("class.json", json.dumps(listing, indent=2))
    os.replace(partial, path)
    return True


# -- how long the class is kept ------------------------------------------------------------------
def class_started(store: SpaceStore) -> float | None:
    """When the first student of the class joined (seconds since the epoch), or None."""
    times = []
    for space in store.spaces():
        if space.kind == STUDENT:
            try:
                times.append(time.mktime(time.strptime(space.created, TIME_FORMAT)))
            except ValueError:
                continue
    return min(times) if times else None


def time_is_up(workspace, now: float | None = None, store: SpaceStore | None = None) -> bool:
    """Whether the class has been kept as long as the teacher chose (``keep_for``)."""
    keep = read_class_settings(workspace).keep_seconds
    started = class_started(store or SpaceStore.in_workspace(workspace))
    return keep is not None and started is not None and (now or time.time()) - started >= keep


@dataclass(frozen=True)
class TimedClear:
    """What a start did about the class's time: the names erased and the export written first (if
    the teacher asked for one); or, that export having failed, why (and nothing was erased)."""

    erased: tuple[str, ...] = ()
    export: Path | None = None
    failed: Message | None = None


def clear_if_time_is_up(workspace, now: float | None = None, cache_folder=None) -> TimedClear:
    """At a start: if the class was kept as long as chosen, write its export into the teacher's folder
    first (``export_before_clear``, if chosen), then erase every student and every class export in
    the workspace (recorded). If the export fails nothing is erased: the workspace keeps a note of
    why (``clear_failed``) for the Teacher page, and the next start tries again."""
    workspace = Path(workspace)
    store = SpaceStore.in_workspace(workspace)
    settings = read_class_settings(workspace)
    if not time_is_up(workspace, now, store):
        (workspace / CLEAR_FAILED_FILE).unlink(missing_ok=True)  # kept longer now: nothing is waiting
        return TimedClear()
    export = None
    if settings.export_before_clear:
        try:
            export = export_before_clear(store, settings.export_before_clear)
        except Exception as error:  # whatever went wrong, the class stays: nothing is lost
            why = (error.strerror if isinstance(error, OSError) else None) or str(error) or type(error).__name__
            _note_clear_failed(workspace, settings.export_before_clear, why)
            record(workspace, EXPORT_FAILED, None, settings.export_before_clear)
            return TimedClear(failed=msg(KEPT_BECAUSE_EXPORT_FAILED, folder=settings.export_before_clear, why=why))
        record(workspace, EXPORTED, None, str(export))
    erased = _clear_students(workspace, store, cache_folder)
    (workspace / CLEAR_FAILED_FILE).unlink(missing_ok=True)
    record(workspace, TIME_UP, None, settings.keep_for)
    return TimedClear(tuple(erased), export)


def export_before_clear(store: SpaceStore, folder) -> Path:
    """Write the class export into ``folder`` (which must be there) under a dated name that never
    replaces an earlier file; the file, read back whole. OSError or zipfile.BadZipFile if not."""
    from .teacher import export_class

    folder = Path(folder)
    if not folder.is_dir():  # a missing USB stick: never write where it used to be mounted
        missing = FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), str(folder))
        raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(folder)) if folder.exists() else missing
    stem = time.strftime(TIMED_EXPORT)
    path, number = folder / f"{stem}.zip", 2
    while path.exists():
        path, number = folder / f"{stem}-{number}.zip", number + 1
    export_class(store, path)
    try:
        with zipfile.ZipFile(path) as archive:
            damaged = archive.testzip() is not None or "class.json" not in archive.namelist()
    except (OSError, zipfile.BadZipFile):
        damaged = True
    if damaged:
        path.unlink(missing_ok=True)
        raise zipfile.BadZipFile(f"{path.name} was not written whole")
    return path


def _note_clear_failed(workspace: Path, folder: str, why: str) -> None:
    """For the Teacher page (a full disk may refuse this too: the terminal still says it)."""
    try:
        write_json(workspace / CLEAR_FAILED_FILE, {"time": time.strftime(TIME_FORMAT), "folder": folder, "why": why})
    except OSError as error:
        import logging

        logging.getLogger(__name__).error("The note that the class was kept could not be written: %s", error)


def read_clear_failure(workspace) -> dict | None:
    """The note a start left when the class's time was up but its export failed ("time", "folder",
    "why"), or None."""
    note = read_json(Path(workspace) / CLEAR_FAILED_FILE)
    return note if isinstance(note, dict) and note.get("folder") else None


def _clear_students(workspace: Path, store: SpaceStore, cache_folder) -> list[str]:
    """Erase every student's space (with their cached features), the class exports in the workspace,
    the swap grid and the class pool; the names erased."""
    from ..training.features import forget_origin

    erased = []
    for space in store.spaces():
        if space.kind == STUDENT:
            forget_origin(space.folder, cache_folder)
            store.remove(space.id)
            erased.append(space.name)
    forget_unnamed_features(cache_folder)
    for export in (workspace / EXPORTS).glob("*.zip"):
        export.unlink(missing_ok=True)
    _forget_swap(workspace)
    ClassPool(workspace).clear(cache_folder)
    return erased
