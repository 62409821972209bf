"""Where labelled pictures come from: a folder, a zip file, or browser uploads.

Everything ends up as a folder with one sub-folder per class, which
``read_folder`` lists. Nothing here decodes pictures.
"""

from __future__ import annotations

import io
import os
import re
import stat
import unicodedata
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Callable, Iterable, Union

from ..i18n import msg, msg_n, sentences
from .imagefile import UnreadablePicture, read_header
from .names import IGNORED_NAMES, is_hidden, is_ignored, name_problem, safe_name, unique_name
from .report import (DatasetError, SkippedFile, SkippedFolder, cannot_write, is_disk_refusal, shown_name,
                     size_words, too_many_pictures)

DEFAULT_MAX_ZIP_BYTES = 2_000_000_000
DEFAULT_MAX_ZIP_FILES = 50_000
# No photo a class needs is bigger; larger files (videos, disk images) are skipped unread.
MAX_PICTURE_BYTES = 50_000_000

PICTURE_EXTENSIONS = {
    ".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".gif", ".bmp", ".webp", ".tif", ".tiff",
}
HEIF_EXTENSIONS = {".heic", ".heif"}
# Reasons are whole sentences whose "It" is the file or folder ("It is not a picture."), said after
# "… was skipped." (never glued into another sentence: word order differs between languages).
_HEIC_REASON = msg("It is an iPhone HEIC photo, which this program cannot read: export it as JPEG.")
_COPY_CHUNK_BYTES = 1 << 20
_HIDDEN_FOLDER = msg("Hidden folders (their names start with a dot) are left out.")
_MACOS_FOLDER = msg("It holds the extra files macOS adds to zip files, not pictures.")

ZipSource = Union[str, "os.PathLike[str]", bytes, bytearray, memoryview, BinaryIO]


class UnsafeArchiveError(ValueError):
    """A zip file that is refused: not a zip, too big, or trying to write outside its folder."""


@dataclass
class LabelledFile:
    """One file inside a class folder; ``name`` is the display name "class/file.jpg"."""

    class_name: str
    name: str
    path: Path


@dataclass
class FolderListing:
    """What ``read_folder`` found.

    files:              every file inside a class folder, by class then name (not yet decoded)
    skipped:            files left out: outside any class folder, or not regular files
    class_names:        all class folders, sorted, including empty ones
    empty_classes:      class folders that hold no files
    root:               the folder holding the class folders (a wrapping folder is descended)
    skipped_folders:    folders left out (hidden, unusable name, unreadable), each with why
    unreadable_classes: class folders that could not be read, with why
    """

    files: list[LabelledFile]
    skipped: list[SkippedFile] = field(default_factory=list)
    class_names: list[str] = field(default_factory=list)
    empty_classes: list[str] = field(default_factory=list)
    root: Path | None = None
    skipped_folders: list[SkippedFolder] = field(default_factory=list)
    unreadable_classes: dict[str, str] = field(default_factory=dict)


def _folder_skip_reason(name: str, as_class: bool) -> str | None:
    """Why a folder is left out, in whole sentences, or None to use it."""
    if name.lower() == "__macosx":
        return _MACOS_FOLDER
    if is_hidden(name):
        return _HIDDEN_FOLDER
    if name in (".", "..") or name.lower() in IGNORED_NAMES:
        return msg("It holds files the computer adds by itself, not pictures.")
    problem = name_problem(name)
    if as_class and problem:
        return sentences(problem, msg("Rename the folder to use it as a class."))
    return None


def _short(name: str, limit: int = 40) -> str:
    name = shown_name(name)
    return name if len(name) <= limit else name[: limit - 1] + "…"


# ---- folders ------------------------------------------------------------------------------


def read_folder(root: str | os.PathLike[str]) -> FolderListing:
    """List a folder that has one sub-folder per class.

    One wrapping folder is tolerated (``root/flowers/daisy/...``), as zips often
    have one. Files nested deeper inside a class folder belong to that class.
    Files lying directly in the root are skipped and reported; so is every folder
    left out (hidden, macOS clutter, a name that cannot be a class, unreadable).
    """
    root = Path(root)
    if root.exists() and not root.is_dir():
        raise NotADirectoryError(msg("{path} is a file, not a folder: give the folder that holds one sub-folder "
                                     "per class.", path=str(root)))
    if not root.is_dir():
        raise FileNotFoundError(msg("There is no folder at {path}", path=str(root)))
    listing = FolderListing([], root=root)
    top_dirs, top_files = _entries(root, "", listing)
    # A lone folder that itself holds folders wraps the classes; a lone folder
    # of pictures is a single class (reported as such later).
    wrapped = (
        len(top_dirs) == 1
        and not any(f.suffix.lower() in PICTURE_EXTENSIONS for f in top_files)
        and bool(_entries(top_dirs[0], "", FolderListing([]))[0])
    )
    if wrapped:
        listing.skipped += [SkippedFile(f.name, msg("It is not inside a class folder.")) for f in top_files]
        root = listing.root = top_dirs[0]
        top_dirs, top_files = _entries(root, f"{root.name}/", listing)
    listing.skipped += [SkippedFile(f.name, msg("It is not inside a class folder.")) for f in top_files]

    spelled: dict[str, str] = {}  # case-folded class name -> the folder's spelling
    for class_dir in top_dirs:
        why = _folder_skip_reason(class_dir.name, as_class=True)
        twin = spelled.setdefault(unicodedata.normalize("NFC", class_dir.name).casefold(), class_dir.name)
        if not why and twin != class_dir.name:
            why = msg("Its name differs from the class '{name}' only in capitals; rename or merge the folders.",
                      name=twin)
        if why:
            listing.skipped_folders.append(SkippedFolder(class_dir.name, why))
            continue
        class_name = class_dir.name
        listing.class_names.append(class_name)
        files = _files_under(class_dir, class_name, listing)
        if not files and class_name not in listing.unreadable_classes:
            listing.empty_classes.append(class_name)
        listing.files += [
            LabelledFile(class_name, f"{class_name}/{relative}", class_dir / relative) for relative in files
        ]
    return listing


def _entries(folder: Path, prefix: str, listing: FolderListing) -> tuple[list[Path], list[Path]]:
    """Sub-folders and files of ``folder``, sorted; hidden and clutter folders are reported."""
    try:
        with os.scandir(folder) as scan:
            entries = sorted(scan, key=lambda e: e.name)
    except OSError as error:
        raise DatasetError(msg("The folder {name} could not be read ({why}); check that it can be opened.",
                               name=folder.name, why=str(error.strerror or error))) from None
    dirs, files = [], []
    for entry in entries:
        path = folder / entry.name
        if entry.is_dir():
            if entry.name.lower() == "__macosx" or is_hidden(entry.name):
                listing.skipped_folders.append(
                    SkippedFolder(prefix + entry.name, _folder_skip_reason(entry.name, False))
                )
            else:
                dirs.append(path)
        elif entry.is_file() and not is_ignored(entry.name):
            files.append(path)
    return dirs, files


def _files_under(class_dir: Path, class_name: str, listing: FolderListing) -> list[str]:
    """Relative POSIX paths of the usable files below ``class_dir``, sorted.

    Left-out folders and odd files (links to nothing, pipes) are added to ``listing``."""
    found = []

    def unreadable(error: OSError) -> None:
        why = error.strerror or str(error)
        if Path(error.filename or "") == class_dir:
            listing.unreadable_classes[class_name] = why
        else:
            relative = Path(error.filename).relative_to(class_dir).as_posix()
            listing.skipped_folders.append(
                SkippedFolder(f"{class_name}/{relative}", msg("It could not be read ({why}).", why=why))
            )

    for current, dirs, names in os.walk(class_dir, onerror=unreadable):
        relative_dir = Path(current).relative_to(class_dir)
        for name in [d for d in dirs if _folder_skip_reason(d, as_class=False)]:
            dirs.remove(name)
            listing.skipped_folders.append(SkippedFolder(
                f"{class_name}/{(relative_dir / name).as_posix()}", _folder_skip_reason(name, False)
            ))
        for name in names:
            if is_ignored(name):
                continue
            relative = (relative_dir / name).as_posix()
            full = os.path.join(current, name)
            if os.path.isfile(full):
                found.append(relative)
            elif os.path.islink(full):
                listing.skipped.append(SkippedFile(f"{class_name}/{relative}",
                                                   msg("It is a link to a file that is not there.")))
            else:
                listing.skipped.append(SkippedFile(f"{class_name}/{relative}", msg("It is not a regular file.")))
    return sorted(found)


# ---- zips ---------------------------------------------------------------------------------

# What to do with a zip member, given its checked path parts.
PICTURE, FILE, LEAVE_OUT = "picture", "file", "leave out"
FOLDER = "folder"
MemberPolicy = Callable[[tuple[str, ...]], str]


def pictures_only(parts: tuple[str, ...]) -> str:
    """The policy for picture sets: every member must be a picture."""
    return PICTURE


def every_file(parts: tuple[str, ...]) -> str:
    """The policy for model bundles: every member is unpacked as it is."""
    return FILE


@dataclass(frozen=True)
class UnpackedZip:
    """What ``unpack_zip`` did: the folder, and the members it left out (with why); ``label`` names
    the zip in sentences ("'flowers.zip'")."""

    folder: Path
    skipped: tuple[SkippedFile, ...] = ()
    skipped_folders: tuple[SkippedFolder, ...] = ()
    label: str = "The zip file"

    def inner_zips(self) -> list[str]:
        """Zip files it held (left out: not pictures), e.g. a zip of the zip a teacher meant to give."""
        return [s.name for s in self.skipped if s.name.lower().endswith(".zip")]


@dataclass
class _Plan:
    writes: list = field(default_factory=list)  # (member, parts, policy)
    skipped: list = field(default_factory=list)
    folders: dict = field(default_factory=dict)  # name -> SkippedFolder


def unpack_zip(
    source: ZipSource,
    dest_dir: str | os.PathLike[str],
    policy: MemberPolicy = pictures_only,
    max_total_bytes: int = DEFAULT_MAX_ZIP_BYTES,
    max_files: int = DEFAULT_MAX_ZIP_FILES,
    max_picture_bytes: int = MAX_PICTURE_BYTES,
    max_pictures: int | None = None,
) -> UnpackedZip:
    """Unpack a zip safely into ``dest_dir``: only what ``policy`` allows.

    The whole archive is refused (UnsafeArchiveError), before anything is written, if it is
    not a zip, holds more than ``max_files`` members or more than ``max_total_bytes`` once
    unpacked, or has a member that is a symbolic link, leads outside ``dest_dir``, has a name
    that is not safe on every system (``name_problem``), or two folders whose names differ
    only in capitals; TooManyPicturesError, also before anything is written, if it holds more
    than ``max_pictures`` pictures. If a member is refused while writing (damaged, password,
    lying about its size, a full disk: CannotWriteError), what was written is removed again.

    ``policy(parts)`` says per member: PICTURE (unpacked only if its extension or header
    says picture and it is at most ``max_picture_bytes``; else skipped with why, unread),
    FILE (unpacked as it is) or LEAVE_OUT (not written, not reported). Hidden files are left
    out; hidden and ``__MACOSX`` folders are left out and reported.
    """
    label = _zip_label(source)
    dest = Path(dest_dir)
    try:
        archive = zipfile.ZipFile(_zip_file_object(source))
    except (zipfile.BadZipFile, EOFError, OSError):
        raise UnsafeArchiveError(msg("{zip} is not a zip file.", zip=label)) from None
    with archive:
        members = archive.infolist()
        if len(members) > max_files:
            raise UnsafeArchiveError(msg_n("{zip} holds {count} file; the limit is {limit}.",
                                           "{zip} holds {count} files; the limit is {limit}.", len(members), zip=label,
                                           limit=max_files))
        plan = _plan(members, label, policy, max_picture_bytes)
        pictures = sum(1 for _, parts, what in plan.writes
                       if what == PICTURE and os.path.splitext(parts[-1])[1].lower() in PICTURE_EXTENSIONS)
        if max_pictures is not None and pictures > max_pictures:
            raise too_many_pictures(pictures, max_pictures, source=label)
        # Only what will be written counts: a big video left in the zip is skipped unread, not refused.
        declared = sum(member.file_size for member, _, what in plan.writes if what != FOLDER)
        if declared > max_total_bytes:
            raise UnsafeArchiveError(msg("{zip} would unpack to {size}; the limit is {limit}.", zip=label,
                                         size=size_words(declared, max_total_bytes), limit=size_words(max_total_bytes)))
        created: list[Path] = []
        try:
            _write(archive, plan, dest, label, max_total_bytes, created)
        except BaseException:
            _remove(created)
            raise
    return UnpackedZip(dest, tuple(plan.skipped), tuple(plan.folders.values()), label)


def extract_zip(
    source: ZipSource,
    dest_dir: str | os.PathLike[str],
    max_total_bytes: int = DEFAULT_MAX_ZIP_BYTES,
    max_files: int = DEFAULT_MAX_ZIP_FILES,
) -> Path:
    """Unpack every member of a zip (a model bundle, Teachable Machine export) safely; return
    ``dest_dir``. The same checks and refusals as ``unpack_zip``; use that for pictures."""
    return unpack_zip(source, dest_dir, every_file, max_total_bytes, max_files).folder


def _plan(members, label: str, policy: MemberPolicy, max_picture_bytes: int) -> _Plan:
    """Check every member's path, and decide what is written; refuse the zip if unsafe."""
    plan = _Plan()
    checked = [(member, _member_parts(member, label)) for member in members]
    folder_spelling = _folder_spellings(checked, label)
    files_seen: dict[tuple, str] = {}
    for member, parts in checked:
        if parts is None:
            continue
        hidden = next((i for i, part in enumerate(parts) if is_ignored(part)), None)
        if hidden is not None:
            if hidden < len(parts) - 1 or member.is_dir():  # a hidden or clutter folder: report it
                name = "/".join(parts[: hidden + 1])
                plan.folders.setdefault(name, SkippedFolder(name, _folder_skip_reason(parts[hidden], False)))
            continue
        what = policy(tuple(parts))
        if what == LEAVE_OUT:
            continue
        if member.is_dir():
            plan.writes.append((member, parts, FOLDER))
            continue
        name, key = "/".join(parts), _fold(tuple(parts))
        reason = _clash(name, key, files_seen, folder_spelling) or (
            _picture_reason(member, parts[-1], max_picture_bytes) if what == PICTURE else None)
        if reason:
            plan.skipped.append(SkippedFile(name, reason))
            continue
        files_seen[key] = name
        plan.writes.append((member, parts, what))
    return plan


def _folder_spellings(checked, label: str) -> dict[tuple, tuple]:
    """Every folder path in the zip, case-folded -> its spelling; refuses two spellings of one
    folder (they would be one folder on Windows and macOS, two classes on Linux)."""
    spellings: dict[tuple, tuple] = {}
    for member, parts in checked:
        folders = (parts if member.is_dir() else parts[:-1]) if parts else []
        for depth in range(1, len(folders) + 1):
            spelling = tuple(folders[:depth])
            first = spellings.setdefault(_fold(spelling), spelling)
            if first != spelling:
                raise UnsafeArchiveError(msg(
                    "{zip} holds two folders whose names differ only in capitals ('{first}' and '{second}'); "
                    "rename one and make the zip again.", zip=label, first="/".join(first), second="/".join(spelling)))
    return spellings


def _fold(parts: tuple) -> tuple:
    return tuple(unicodedata.normalize("NFC", part).casefold() for part in parts)


def _clash(name: str, key: tuple, files_seen: dict, folders: dict) -> str | None:
    """Why a file would clash with one already planned (or a folder), or None."""
    if key in folders:
        return msg("It has the same name as the folder {folder}; rename one of them.", folder="/".join(folders[key]))
    if key in files_seen:
        if files_seen[key] == name:
            return msg("It is in the zip twice; the first one is used.")
        return msg("It has the same name as {name} apart from capitals; the first one is used.", name=files_seen[key])
    return None


def _picture_reason(member: zipfile.ZipInfo, file_name: str, limit: int) -> str | None:
    """Why a member cannot be a picture, judged before unpacking; None if it may be one."""
    if member.file_size > limit:
        return msg("It is {size}, more than the {limit} a picture may be; it was not unpacked.",
                   size=size_words(member.file_size), limit=size_words(limit))
    suffix = os.path.splitext(file_name)[1].lower()
    if suffix in HEIF_EXTENSIONS:
        return _HEIC_REASON
    return None


def _write(archive, plan: _Plan, dest: Path, label: str, max_total_bytes: int, created: list) -> None:
    if not dest.exists():
        try:
            dest.mkdir(parents=True)
        except OSError as error:
            raise cannot_write(error, label) from None
        created.append(dest)
    dest_resolved = dest.resolve()
    written = 0
    for member, parts, what in plan.writes:
        target = dest.joinpath(*parts)
        # Belt and braces: the checked parts cannot escape, but a folder
        # already in dest_dir could be a link; never write through one.
        if not target.parent.resolve().is_relative_to(dest_resolved) or target.is_symlink():
            raise UnsafeArchiveError(msg("{zip} tries to write outside its folder.", zip=label))
        if what == FOLDER:
            _make_folders(target, dest, created)
            continue
        if what == PICTURE and os.path.splitext(parts[-1])[1].lower() not in PICTURE_EXTENSIONS:
            reason = _sniff(archive, member, label)
            if reason:
                plan.skipped.append(SkippedFile("/".join(parts), reason))
                continue
        try:
            _make_folders(target.parent, dest, created)
        except OSError as error:
            raise cannot_write(error, label) from None
        created.append(target)
        written += _copy_member(archive, member, target, label, max_total_bytes - written)


def _sniff(archive, member, label: str) -> str | None:
    """Read a member's header only: None if it is a picture, else why not."""
    try:
        with archive.open(member) as stream:
            read_header(stream)
    except UnreadablePicture as problem:
        return problem.reason
    except (RuntimeError, zipfile.BadZipFile, EOFError, OSError, ValueError) as error:
        raise _unpack_error(error, member, label) from None
    return None


def _make_folders(folder: Path, dest: Path, created: list) -> None:
    missing = []
    while folder != dest and not folder.exists():
        missing.append(folder)
        folder = folder.parent
    for path in reversed(missing):
        path.mkdir()
        created.append(path)


def _remove(created: list[Path]) -> None:
    """Undo a refused unpack: what was created goes, newest first."""
    for path in reversed(created):
        try:
            path.rmdir() if path.is_dir() and not path.is_symlink() else path.unlink(missing_ok=True)
        except OSError:
            pass


def _zip_label(source: ZipSource) -> str:
    if isinstance(source, (str, os.PathLike)):
        return f"'{Path(source).name}'"
    name = getattr(source, "name", None)
    if isinstance(name, str) and name:
        return f"'{Path(name).name}'"
    return msg("The uploaded file")



def _zip_file_object(source: ZipSource):
    if isinstance(source, (bytes, bytearray, memoryview)):
        return io.BytesIO(bytes(source))
    if isinstance(source, (str, os.PathLike)):
        return os.fspath(source)
    return source


def _member_parts(member: zipfile.ZipInfo, label: str) -> list[str] | None:
    """Checked path parts of ``member`` (None for the zip's own root); refuses unsafe ones."""
    raw = member.filename
    if stat.S_ISLNK(member.external_attr >> 16):
        raise UnsafeArchiveError(msg("{zip} contains a symbolic link ({path}); links are refused.", zip=label, path=raw))
    # Zip paths use "/", but archives made on Windows may use "\": treat both as separators.
    path = raw.replace("\\", "/")
    if path.startswith("/") or re.match(r"^[A-Za-z]:", path) or "\x00" in path:
        raise UnsafeArchiveError(msg("{zip} contains an absolute path ({path}); it is refused.", zip=label, path=raw))
    parts = [part for part in path.split("/") if part not in ("", ".")]
    if ".." in parts:
        raise UnsafeArchiveError(msg("{zip} contains a path that leads outside its folder ({path}); it is refused.",
                                     zip=label, path=raw))
    for part in parts:
        problem = name_problem(part)
        if problem and not is_ignored(part):
            raise UnsafeArchiveError(sentences(
                msg("{zip} cannot be unpacked because of the name '{name}'.", zip=label, name=_short(part)),
                problem, msg("Rename it and make the zip again.")))
    return parts or None


def _copy_member(
    archive: zipfile.ZipFile, member: zipfile.ZipInfo, target: Path, label: str, budget: int
) -> int:
    """Write one member, counting real bytes (declared sizes can lie); return bytes written."""
    written = 0
    limit = min(budget, member.file_size)
    try:
        with archive.open(member) as source, open(target, "wb") as out:
            while chunk := source.read(_COPY_CHUNK_BYTES):
                written += len(chunk)
                if written > limit:
                    raise UnsafeArchiveError(msg("{zip} unpacks to more than it declares.", zip=label))
                out.write(chunk)
    except UnsafeArchiveError:
        raise
    except OSError as error:  # the disk refused (full, read-only): not the zip's fault
        if is_disk_refusal(error):
            raise cannot_write(error, label) from None
        raise _unpack_error(error, member, label) from None
    except (RuntimeError, zipfile.BadZipFile, EOFError, ValueError) as error:
        raise _unpack_error(error, member, label) from None
    return written


def _unpack_error(error: Exception, member: zipfile.ZipInfo, label: str) -> UnsafeArchiveError:
    """Plain words for what zipfile raises while reading a member."""
    if isinstance(error, NotImplementedError):  # a RuntimeError, so looked at first
        return UnsafeArchiveError(msg("{zip} uses a compression method that cannot be read; please make a normal "
                                      "zip file.", zip=label))
    if isinstance(error, RuntimeError):  # zipfile raises RuntimeError for encrypted members.
        return UnsafeArchiveError(msg("{zip} is password-protected; it cannot be unpacked.", zip=label))
    return UnsafeArchiveError(msg("{zip} is damaged: {path} could not be unpacked. Make the zip file again, "
                                  "or download it again.", zip=label, path=member.filename))


@dataclass(frozen=True)
class WrittenUploads:
    """What ``write_uploads`` did: the folder, uploads that had no content (named, with why),
    and a sentence for each class whose folder is not called as typed."""

    folder: Path
    missing: tuple[SkippedFile, ...] = ()
    renamed: tuple[str, ...] = ()


# An upload whose bytes never came (None): the browser's upload was cut off or had not finished.
NOT_ARRIVED = msg("It did not arrive (its upload was cut off or had not finished); choose it again.")


def write_uploads(
    items: Iterable[tuple[str, str, bytes | None]], dest_dir: str | os.PathLike[str]
) -> Path:
    """Write browser uploads as ``dest_dir/<class>/<file>`` and return ``dest_dir``.

    ``items`` are (class name, file name, bytes). A file name may carry folders
    (a folder upload sends "flowers/daisy/a.jpg"); only its last part is used.
    Names are made safe with ``safe_name``; clashing file names get "_1", "_2"...
    (``write_uploads_reporting`` also says which uploads had no bytes and which classes
    were renamed.)
    """
    return write_uploads_reporting(items, dest_dir).folder


def write_uploads_reporting(
    items: Iterable[tuple[str, str, bytes | None]], dest_dir: str | os.PathLike[str]
) -> WrittenUploads:
    """``write_uploads``, saying what it could not write as given: an upload without bytes (None)
    is not written and is named in ``missing``; a class whose name cannot be a folder name as
    typed (empty, a slash, the same as another apart from capitals) gets a sentence in ``renamed``.
    A full or read-only disk raises CannotWriteError."""
    dest = Path(dest_dir)
    class_folders: dict[str, str] = {}  # class name as typed -> folder name
    taken_in_folder: dict[str, set[str]] = {}  # folder -> file names in use
    missing, renamed = [], []
    try:
        dest.mkdir(parents=True, exist_ok=True)
        for class_name, file_name, data in items:
            key = unicodedata.normalize("NFC", str(class_name)).strip()
            if key not in class_folders:
                folder = unique_name(safe_name(key, fallback="class"), class_folders.values())
                class_folders[key] = folder
                taken_in_folder[folder] = set()
                (dest / folder).mkdir(exist_ok=True)
                if folder != key:
                    renamed.append(_class_renamed(key, folder))
            folder = class_folders[key]
            base = str(file_name).replace("\\", "/").rsplit("/", 1)[-1]
            name = unique_name(safe_name(base, fallback="picture"), taken_in_folder[folder])
            taken_in_folder[folder].add(name)
            if data is None:
                missing.append(SkippedFile(f"{folder}/{name}", NOT_ARRIVED))
                continue
            with open(dest / folder / name, "wb") as out:
                out.write(data)
    except OSError as error:
        raise cannot_write(error) from None
    return WrittenUploads(dest, tuple(missing), tuple(renamed))


def _class_renamed(typed: str, folder: str) -> str:
    """Why the class ``typed`` is kept in ``folder``, as one sentence."""
    if not typed:
        return msg("A class had no name (it was empty, or only spaces), so it is called '{folder}'.", folder=folder)
    if safe_name(typed) != typed:
        return msg("The class name '{name}' holds characters a folder name cannot have, so it is called '{folder}'.",
                   name=shown_name(typed), folder=folder)
    return msg("The class name '{name}' is the same as another class's apart from capitals, so it is called "
               "'{folder}'.", name=shown_name(typed), folder=folder)


def folder_upload_items(files) -> tuple[list[tuple[str, str, bytes]], list[str]]:
    """(class, file name, bytes) from a folder upload's (relative path, bytes): the class is the
    file's parent folder. Also the names of files that were not inside a class folder."""
    items, outside = [], []
    for relative, data in files:
        parts = [p for p in str(relative).replace("\\", "/").split("/") if p not in ("", ".")]
        if any(is_ignored(part) for part in parts):
            continue
        if len(parts) < 2:
            outside.append(parts[-1] if parts else str(relative))
            continue
        items.append((parts[-2], parts[-1], data))
    return items, outside
