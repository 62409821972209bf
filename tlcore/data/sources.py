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
from typing import BinaryIO, Iterable, Union

from .report import SkippedFile

DEFAULT_MAX_ZIP_BYTES = 2_000_000_000
DEFAULT_MAX_ZIP_FILES = 50_000

# Files that operating systems and archivers leave behind; never pictures.
_IGNORED_NAMES = {"__macosx", "thumbs.db", "desktop.ini"}
PICTURE_EXTENSIONS = {
    ".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".gif", ".bmp", ".webp", ".tif", ".tiff",
}
_UNSAFE_CHARACTERS = re.compile(r'[\x00-\x1f\x7f/\\<>:"|?*]')
_WINDOWS_RESERVED = re.compile(r"^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?$", re.IGNORECASE)
_MAX_NAME_LENGTH = 120
_COPY_CHUNK_BYTES = 1 << 20

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

    files:          every file inside a class folder, by class then name (not yet decoded)
    skipped:        files outside any class folder
    class_names:    all class folders, sorted, including empty ones
    empty_classes:  class folders that hold no files
    root:           the folder holding the class folders (a wrapping folder is descended)
    """

    files: list[LabelledFile]
    skipped: list[SkippedFile] = field(default_factory=list)
    class_names: list[str] = field(default_factory=list)
    empty_classes: list[str] = field(default_factory=list)
    root: Path | None = None


def is_ignored(name: str) -> bool:
    """Hidden files and the clutter of macOS and Windows."""
    return name.startswith(".") or name.lower() in _IGNORED_NAMES


def read_folder(root: str | os.PathLike[str]) -> FolderListing:
    """List a folder that has one sub-folder per class.

    One wrapping folder is tolerated (``root/flowers/daisy/...``), as zips often
    have one. Files nested deeper inside a class folder belong to that class.
    Files lying directly in the root are skipped and reported.
    """
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"There is no folder at {root}")
    skipped: list[SkippedFile] = []
    top_dirs, top_files = _visible_entries(root)
    # A lone folder that itself holds folders wraps the classes; a lone folder
    # of pictures is a single class (reported as such later).
    wrapped = (
        len(top_dirs) == 1
        and not any(f.suffix.lower() in PICTURE_EXTENSIONS for f in top_files)
        and bool(_visible_entries(top_dirs[0])[0])
    )
    if wrapped:
        skipped += [SkippedFile(f.name, "is not inside a class folder") for f in top_files]
        root = top_dirs[0]
        top_dirs, top_files = _visible_entries(root)
    skipped += [SkippedFile(f.name, "is not inside a class folder") for f in top_files]

    files: list[LabelledFile] = []
    empty_classes: list[str] = []
    class_names = sorted(d.name for d in top_dirs)
    for class_name in class_names:
        class_files = _files_under(root / class_name)
        if not class_files:
            empty_classes.append(class_name)
        for relative in class_files:
            files.append(
                LabelledFile(class_name, f"{class_name}/{relative}", root / class_name / relative)
            )
    return FolderListing(files, skipped, class_names, empty_classes, root)


def _visible_entries(folder: Path) -> tuple[list[Path], list[Path]]:
    """Sub-folders and files of ``folder``, sorted, without hidden or clutter entries."""
    dirs, files = [], []
    for entry in sorted(folder.iterdir(), key=lambda p: p.name):
        if is_ignored(entry.name):
            continue
        if entry.is_dir():
            dirs.append(entry)
        elif entry.is_file():
            files.append(entry)
    return dirs, files


def _files_under(class_dir: Path) -> list[str]:
    """Relative POSIX paths of all visible files below ``class_dir``, sorted."""
    found = []
    for current, dirs, names in os.walk(class_dir):
        dirs[:] = [d for d in dirs if not is_ignored(d)]
        relative_dir = Path(current).relative_to(class_dir)
        for name in names:
            if not is_ignored(name) and os.path.isfile(os.path.join(current, name)):
                found.append((relative_dir / name).as_posix())
    return sorted(found)


def safe_name(text: str, fallback: str = "unnamed") -> str:
    """A file or folder name that is safe on every system yet still readable.

    Path separators, control and Windows-forbidden characters become "_";
    leading dots and surrounding spaces go (no hidden files, no ".."); spaces
    and non-English letters stay. Returns ``fallback`` if nothing is left.
    """
    name = unicodedata.normalize("NFC", str(text))
    name = _UNSAFE_CHARACTERS.sub("_", name)
    name = name.strip().lstrip(".").strip().rstrip(". ")
    if len(name) > _MAX_NAME_LENGTH:
        stem, suffix = os.path.splitext(name)
        suffix = suffix if len(suffix) <= 10 else ""
        name = stem[: _MAX_NAME_LENGTH - len(suffix)].rstrip(". ") + suffix
    if _WINDOWS_RESERVED.match(name):
        name = "_" + name
    return name or fallback


def extract_zip(
    source: ZipSource,
    dest_dir: str | os.PathLike[str],
    max_total_bytes: int = DEFAULT_MAX_ZIP_BYTES,
    max_files: int = DEFAULT_MAX_ZIP_FILES,
) -> Path:
    """Unpack a zip of class folders into ``dest_dir`` safely, and return ``dest_dir``.

    The whole archive is refused (UnsafeArchiveError), before anything is
    written, if it is not a zip, holds more than ``max_files`` members or more
    than ``max_total_bytes`` once unpacked, or has a member that is a symbolic
    link or whose path leads outside ``dest_dir``. Hidden entries and macOS
    ``__MACOSX`` folders are left out.
    """
    label = _zip_label(source)
    dest = Path(dest_dir)
    try:
        archive = zipfile.ZipFile(_zip_file_object(source))
    except (zipfile.BadZipFile, EOFError, OSError):
        raise UnsafeArchiveError(f"{label} is not a zip file.") from None
    with archive:
        members = archive.infolist()
        if len(members) > max_files:
            raise UnsafeArchiveError(
                f"{label} holds {len(members):,} files; the limit is {max_files:,}."
            )
        declared = sum(member.file_size for member in members)
        if declared > max_total_bytes:
            raise UnsafeArchiveError(
                f"{label} would unpack to {_size_words(declared)}; "
                f"the limit is {_size_words(max_total_bytes)}."
            )
        planned = [(member, _member_parts(member, label)) for member in members]

        dest.mkdir(parents=True, exist_ok=True)
        dest_resolved = dest.resolve()
        written = 0
        for member, parts in planned:
            if parts is None:
                continue
            target = dest.joinpath(*parts)
            # Belt and braces: the checked parts cannot escape, but a folder
            # already in dest_dir could be a link; never write through one.
            if not target.parent.resolve().is_relative_to(dest_resolved) or target.is_symlink():
                raise UnsafeArchiveError(f"{label} tries to write outside its folder.")
            if member.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            written += _copy_member(archive, member, target, label, max_total_bytes - written)
    return dest


def _zip_label(source: ZipSource) -> str:
    if isinstance(source, (str, os.PathLike)):
        return f"'{Path(source).name}'"
    name = getattr(source, "name", None)
    if isinstance(name, str) and name:
        return f"'{Path(name).name}'"
    return "The uploaded file"


def _zip_file_object(source: ZipSource):
    if isinstance(source, (bytes, bytearray, memoryview)):
        return io.BytesIO(bytes(source))
    if isinstance(source, (str, os.PathLike)):
        return os.fspath(source)
    return source


def _member_parts(member: zipfile.ZipInfo, label: str) -> list[str] | None:
    """Checked path parts to write ``member`` to, or None to leave it out."""
    raw = member.filename
    if stat.S_ISLNK(member.external_attr >> 16):
        raise UnsafeArchiveError(f"{label} contains a symbolic link ({raw}); links are refused.")
    # Zip paths use "/", but archives made on Windows may use "\": treat both as separators.
    path = raw.replace("\\", "/")
    if path.startswith("/") or re.match(r"^[A-Za-z]:", path) or "\x00" in path:
        raise UnsafeArchiveError(f"{label} contains an absolute path ({raw}); it is refused.")
    parts = [part for part in path.split("/") if part not in ("", ".")]
    if ".." in parts:
        raise UnsafeArchiveError(
            f"{label} contains a path that leads outside its folder ({raw}); it is refused."
        )
    if not parts or any(is_ignored(part) for part in parts):
        return None
    return parts


def _copy_member(
    archive: zipfile.ZipFile, member: zipfile.ZipInfo, target: Path, label: str, budget: int
) -> int:
    """Write one member, counting real bytes (declared sizes can lie); return bytes written."""
    written = 0
    try:
        with archive.open(member) as source, open(target, "wb") as out:
            while chunk := source.read(_COPY_CHUNK_BYTES):
                written += len(chunk)
                if written > budget:
                    raise UnsafeArchiveError(f"{label} unpacks to more than it declares.")
                out.write(chunk)
    except UnsafeArchiveError:
        target.unlink(missing_ok=True)
        raise
    except RuntimeError:  # zipfile raises RuntimeError for encrypted members.
        target.unlink(missing_ok=True)
        raise UnsafeArchiveError(f"{label} is password-protected; it cannot be unpacked.") from None
    except NotImplementedError:
        target.unlink(missing_ok=True)
        raise UnsafeArchiveError(
            f"{label} uses a compression method that cannot be read; "
            "please make a normal zip file."
        ) from None
    except (zipfile.BadZipFile, EOFError, OSError, ValueError) as error:
        target.unlink(missing_ok=True)
        raise UnsafeArchiveError(
            f"{label} is damaged: {member.filename} could not be unpacked ({error})."
        ) from None
    return written


def _size_words(count: int) -> str:
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if count >= size:
            return f"{count / size:.1f} {unit}"
    return f"{count} bytes"


def write_uploads(
    items: Iterable[tuple[str, str, bytes]], dest_dir: str | os.PathLike[str]
) -> Path:
    """Write browser uploads as ``dest_dir/<class>/<file>`` and return ``dest_dir``.

    ``items`` are (class name, file name, bytes). A file name may carry folders
    (a folder upload sends "flowers/daisy/a.jpg"); only its last part is used.
    Names are made safe with ``safe_name``; clashing file names get "_1", "_2"...
    """
    dest = Path(dest_dir)
    dest.mkdir(parents=True, exist_ok=True)
    class_folders: dict[str, str] = {}  # class name as typed -> folder name
    taken_in_folder: dict[str, set[str]] = {}  # folder -> lower-cased names in use
    for class_name, file_name, data in items:
        key = unicodedata.normalize("NFC", str(class_name)).strip()
        if key not in class_folders:
            folder = _unique(safe_name(key, fallback="class"), set(class_folders.values()))
            class_folders[key] = folder
            taken_in_folder[folder] = set()
            (dest / folder).mkdir(exist_ok=True)
        folder = class_folders[key]
        base = str(file_name).replace("\\", "/").rsplit("/", 1)[-1]
        name = _unique(safe_name(base, fallback="picture"), taken_in_folder[folder])
        taken_in_folder[folder].add(name.lower())
        with open(dest / folder / name, "wb") as out:
            out.write(data)
    return dest


def _unique(name: str, taken: set[str]) -> str:
    """``name``, or "name_1.ext", "name_2.ext"... if taken (compared ignoring case)."""
    taken_lower = {t.lower() for t in taken}
    if name.lower() not in taken_lower:
        return name
    stem, suffix = os.path.splitext(name)
    number = 1
    while f"{stem}_{number}{suffix}".lower() in taken_lower:
        number += 1
    return f"{stem}_{number}{suffix}"
