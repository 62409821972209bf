"""File and folder names: which are safe on every system, how to make one safe, and how to
make one unique among others (the one place each of these is decided)."""

from __future__ import annotations

import os
import re
import unicodedata
from typing import Iterable

from ..i18n import msg, msg_n

# Files that operating systems and archivers leave behind; never pictures.
IGNORED_NAMES = {"__macosx", "thumbs.db", "desktop.ini"}
_UNSAFE_CHARACTERS = re.compile(r'[\x00-\x1f\x7f/\\<>:"|?*]')
_WINDOWS_RESERVED = re.compile(r"^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?$", re.IGNORECASE)
_MAX_NAME_LENGTH = 120
_MAX_NAME_BYTES = 255  # most file systems' limit, in UTF-8 bytes


def name_problem(name: str) -> str | None:
    """Why ``name`` cannot be one file or folder name on every system, or None if it can.

    The one check for every name that comes from outside (zip members, lesson files, class
    folders). One whole sentence whose "It" is the name, e.g. "It holds a slash." (never a clause)."""
    if name in ("", ".", ".."):
        return msg("It is not a name.") if not name else msg("It leads outside its folder.")
    if "/" in name or "\\" in name:
        return msg("It holds a slash.")
    bad = _UNSAFE_CHARACTERS.search(name)
    if bad:
        character = bad.group()
        if character.isprintable():
            return msg("It holds the character {character}, which Windows does not allow in names.", character=character)
        return msg("It holds a control character.")
    if len(name) > _MAX_NAME_LENGTH or len(name.encode("utf-8")) > _MAX_NAME_BYTES:
        return msg_n("It is too long ({count} character; at most {limit} can be used).",
                     "It is too long ({count} characters; at most {limit} can be used).", len(name),
                     limit=_MAX_NAME_LENGTH)
    if name != name.strip() or name.endswith("."):
        return msg("It starts or ends with a space, or ends with a dot, which Windows drops.")
    if _WINDOWS_RESERVED.match(name):
        return msg("It is a name Windows keeps for a device.")
    return None


def is_safe_name(name: str) -> bool:
    """Whether ``name`` is one file or folder name that is safe on every system."""
    return name_problem(name) is None


def is_hidden(name: str) -> bool:
    """A name starting with one dot (".git", "._a.jpg"); "..daisy" is not hidden."""
    return name.startswith(".") and not name.startswith("..")


def is_ignored(name: str) -> bool:
    """Hidden files, "." and "..", and the clutter of macOS and Windows."""
    return is_hidden(name) or name in (".", "..") or name.lower() in IGNORED_NAMES


def safe_name(text: str, fallback: str = "unnamed") -> str:
    """A file or folder name that is safe on every system yet still readable.

    Path separators, control and Windows-forbidden characters become "_";
    leading dots and surrounding spaces go (no hidden files, no ".."); spaces
    and non-English letters stay; long names are shortened, keeping the
    extension. Returns ``fallback`` if nothing is left. The result passes
    ``is_safe_name``.
    """
    name = unicodedata.normalize("NFC", str(text))
    name = _UNSAFE_CHARACTERS.sub("_", name)
    name = name.strip().lstrip(".").strip().rstrip(". ")
    stem, suffix = os.path.splitext(name)
    suffix = suffix if len(suffix) <= 10 else ""
    while len(name) > _MAX_NAME_LENGTH or len(name.encode("utf-8")) > _MAX_NAME_BYTES:
        stem = stem[:-1]
        name = stem.rstrip(". ") + suffix
    if _WINDOWS_RESERVED.match(name):
        name = "_" + name
    return name or fallback


def unique_name(name: str, taken: Iterable[str]) -> str:
    """``name``, or "name_1.ext", "name_2.ext"... where it is taken: names that differ only in
    capitals are the same name (as on Windows and macOS)."""
    folded = {str(other).casefold() for other in taken}
    stem, suffix = os.path.splitext(name)
    candidate, number = name, 1
    while candidate.casefold() in folded:
        candidate, number = f"{stem}_{number}{suffix}", number + 1
    return candidate
