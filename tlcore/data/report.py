"""What happened while loading a picture set, in plain words."""

from __future__ import annotations

import errno
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from ..i18n import msg, msg_n, sentences

MIN_PICTURES_PER_CLASS = 2
RECOMMENDED_PICTURES_PER_CLASS = 10
# Largest class more than this many times the smallest counts as unbalanced.
UNBALANCED_RATIO = 3


# Characters Python does not call printable that are still part of how people write: the
# zero-width joiners (emoji sequences such as 👩🏽‍🔬, Persian and Indic spelling), the tags of
# flag emoji (🏴󠁧󠁢󠁳󠁣󠁴󠁿), and emoji newer than this Python's Unicode tables.
_JOINERS = {"\u200c", "\u200d"}
_EMOJI_TAGS = range(0xE0020, 0xE0080)
_EMOJI_PLANE = range(0x1F000, 0x1FB00)
# Letters and symbols that show as nothing at all: a name made of them looks empty.
_BLANK_LOOKING = {"\u115f", "\u1160", "\u3164", "\uffa0", "\u2800"}


def is_hidden_character(ch: str) -> bool:
    """Whether ``ch`` is a control or invisible character (a line break, a right-to-left override,
    a zero-width space, a blank-looking filler letter); every script's letters, and whole emoji with
    their joiners, skin tones and flag tags, are not."""
    if ch in _JOINERS or ord(ch) in _EMOJI_TAGS:
        return False
    if unicodedata.category(ch) == "Cn" and ord(ch) in _EMOJI_PLANE:
        return False  # an emoji newer than this Python knows
    return not ch.isprintable() or ch in _BLANK_LOOKING


def shown_name(name: str) -> str:
    """``name`` on one line: a control or invisible character (a line break in a folder's name) is
    written as its escape, ``\\n``, so a sentence about it stays one line and shows what is wrong.
    Emoji and every script show as they are."""
    return "".join(_escaped(ch) if is_hidden_character(ch) else ch for ch in name)


def _escaped(ch: str) -> str:
    written = repr(ch)[1:-1]  # "\\n", "\\u202e"
    return written if written != ch else f"\\u{ord(ch):04x}"  # a filler Python calls printable


def size_words(count: int, other: int | None = None) -> str:
    """"1.5 GB"; with ``other`` (a limit), as many decimals as it takes not to look equal to it."""
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if count >= size:
            decimals = 1
            while other is not None and count != other and decimals < 6 and \
                    f"{count / size:.{decimals}f}" == f"{other / size:.{decimals}f}":
                decimals += 1
            return f"{count / size:.{decimals}f} {unit}"
    return f"{count} bytes"


@dataclass
class SkippedFile:
    """A file left out of the set. ``reason``: whole sentences whose "It" is the file ("It is not a picture.").

    ``copy_of`` names the kept picture when this file is an exact copy of it."""

    name: str
    reason: str
    copy_of: str = ""

    def sentence(self) -> str:
        return sentences(msg("{name} was skipped.", name=shown_name(self.name)), self.reason)


@dataclass
class SkippedFolder:
    """A folder left out (hidden, unreadable, unusable name). ``reason``: whole sentences ("It is empty.")."""

    name: str
    reason: str

    def sentence(self) -> str:
        return sentences(msg("The folder {name}/ was skipped.", name=shown_name(self.name)), self.reason)


@dataclass
class DatasetReport:
    """Pictures used per class, files and folders skipped (with reasons), warnings and notes.

    warnings: things that can hurt learning (small or unbalanced classes, one picture in two
    classes); notes: things worth a look that may be fine (near-identical pictures in a
    class, pictures far smaller than the rest)."""

    counts: dict[str, int]
    skipped: list[SkippedFile] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    folders: list[SkippedFolder] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @classmethod
    def build(
        cls,
        counts: dict[str, int],
        skipped: list[SkippedFile],
        folders: list[SkippedFolder] = (),
        warnings: list[str] = (),
        notes: list[str] = (),
    ) -> "DatasetReport":
        """A report whose warnings start with advice worked out from ``counts``."""
        return cls(dict(counts), list(skipped), advice_for(counts) + list(warnings),
                   list(folders), list(notes))

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def problems(self) -> list[str]:
        """One plain sentence per skipped file and folder, then the warnings, then the notes."""
        return ([s.sentence() for s in self.skipped] + [f.sentence() for f in self.folders]
                + list(self.warnings) + list(self.notes))

    def to_dict(self) -> dict[str, Any]:
        return {
            "counts": dict(self.counts),
            "skipped": [_skipped_dict(s) for s in self.skipped],
            "warnings": list(self.warnings),
            "folders": [{"name": f.name, "reason": f.reason} for f in self.folders],
            "notes": list(self.notes),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "DatasetReport":
        return cls(
            counts={str(k): int(v) for k, v in data.get("counts", {}).items()},
            skipped=[SkippedFile(s["name"], s["reason"], s.get("copy_of", ""))
                     for s in data.get("skipped", [])],
            warnings=[str(w) for w in data.get("warnings", [])],
            folders=[SkippedFolder(f["name"], f["reason"]) for f in data.get("folders", [])],
            notes=[str(n) for n in data.get("notes", [])],
        )


def _skipped_dict(skipped: SkippedFile) -> dict[str, str]:
    data = {"name": skipped.name, "reason": skipped.reason}
    if skipped.copy_of:
        data["copy_of"] = skipped.copy_of
    return data


class DatasetError(ValueError):
    """The pictures cannot be used for training; ``report`` (may be None) says what was found."""

    def __init__(self, message: str, report: DatasetReport | None = None):
        super().__init__(message)
        self.report = report


class TooManyPicturesError(DatasetError):
    """More pictures than may be kept (a space's limit); found from the listing, before any is decoded."""


def too_many_pictures(count: int, limit: int, source: str = "That set", already: int = 0) -> TooManyPicturesError:
    """The sentence for ``count`` pictures (``already`` in the set) against ``limit``."""
    if already and already >= limit:
        return TooManyPicturesError(msg_n("This space already holds {count} picture, the most a space can; "
                                          "remove some before adding more.",
                                          "This space already holds {count} pictures, the most a space can; "
                                          "remove some before adding more.", already))
    if already:
        return TooManyPicturesError(msg_n(
            "Adding {count} picture would make {total}; a space holds at most {limit}. Add at most {room}, or "
            "remove some first.",
            "Adding {count} pictures would make {total}; a space holds at most {limit}. Add at most {room}, or "
            "remove some first.", count, total=already + count, limit=limit, room=limit - already))
    if source == "That set":
        return TooManyPicturesError(msg_n("That set has {count} picture; a space holds at most {limit}. "
                                          "Choose fewer pictures.",
                                          "That set has {count} pictures; a space holds at most {limit}. "
                                          "Choose fewer pictures.", count, limit=limit))
    # i18n: {source} is a quoted file name ('birds.zip') or "The uploaded file"
    return TooManyPicturesError(msg_n("{source} holds {count} picture; a space holds at most {limit}. "
                                      "Choose fewer pictures.",
                                      "{source} holds {count} pictures; a space holds at most {limit}. "
                                      "Choose fewer pictures.", count, source=source, limit=limit))


class CannotWriteError(DatasetError):
    """The disk refused to take the pictures (full, read-only); nothing of them was kept."""


_FULL = (errno.ENOSPC, errno.EDQUOT)
_READ_ONLY = (errno.EROFS, errno.EACCES, errno.EPERM)


def is_disk_refusal(error: OSError) -> bool:
    """A full or read-only disk (the pictures' fault is never these)."""
    return error.errno in _FULL + _READ_ONLY


def cannot_write(error: OSError, label: str | None = None) -> CannotWriteError:
    """Plain words for an OSError raised while writing these pictures (those of ``label``, a
    quoted file name, if given), never the system's own text."""
    why = error.strerror or type(error).__name__
    if error.errno in _FULL:
        return CannotWriteError(
            msg("There is no room left on the disk for these pictures. Free some space on it (or ask "
                "whoever looks after it) and try again.") if label is None else
            msg("There is no room left on the disk for the pictures of {name}. Free some space on it (or ask "
                "whoever looks after it) and try again.", name=label))
    if error.errno in _READ_ONLY:
        return CannotWriteError(
            msg("These pictures cannot be written: the folder they go to is read-only for this program.")
            if label is None else
            msg("The pictures of {name} cannot be written: the folder they go to is read-only for this program.",
                name=label))
    return CannotWriteError(msg("These pictures could not be written ({why}).", why=why) if label is None else
                            msg("The pictures of {name} could not be written ({why}).", name=label, why=why))


def advice_for(counts: dict[str, int]) -> list[str]:
    """Warnings for classes that are small, or much smaller than the others."""
    warnings = []
    for class_name, count in counts.items():
        if 0 < count < RECOMMENDED_PICTURES_PER_CLASS:
            warnings.append(msg_n(
                "Class '{name}' has only {count} picture; {recommended} or more per class work better.",
                "Class '{name}' has only {count} pictures; {recommended} or more per class work better.",
                count, name=shown_name(class_name), recommended=RECOMMENDED_PICTURES_PER_CLASS))
    used = {name: count for name, count in counts.items() if count > 0}
    if len(used) >= 2:
        largest = max(used, key=used.__getitem__)
        smallest = min(used, key=used.__getitem__)
        if used[largest] > UNBALANCED_RATIO * used[smallest]:
            warnings.append(msg(
                "The classes are unbalanced: '{largest}' has {largest_count} pictures but '{smallest}' has only "
                "{smallest_count}. The model may favour the bigger class; similar numbers per class work better.",
                largest=shown_name(largest), largest_count=used[largest], smallest=shown_name(smallest),
                smallest_count=used[smallest]))
    return warnings


def check_usable(
    class_names: list[str],
    counts: dict[str, int],
    empty_classes: list[str],
    report: DatasetReport,
    min_per_class: int = MIN_PICTURES_PER_CLASS,
    unreadable: dict[str, str] | None = None,
) -> None:
    """Raise DatasetError unless there are 2+ classes with ``min_per_class`` pictures each.

    ``unreadable``: class folders that could not be read, with why (e.g. "Permission denied")."""
    unreadable = unreadable or {}
    if len(class_names) < 2:
        raise DatasetError(_too_few_classes(class_names, report), report)
    needed = max(1, min_per_class)
    said = []
    for class_name in class_names:
        count = counts.get(class_name, 0)
        if count >= needed:
            continue
        name = shown_name(class_name)
        if class_name in unreadable:
            said.append(msg("The folder of class '{name}' could not be read ({why}); check that it can be opened, "
                            "or remove it.", name=name, why=unreadable[class_name]))
        elif class_name in empty_classes:
            said.append(msg("Class '{name}' has no pictures (its folder is empty); every class needs at least "
                            "{needed}.", name=name, needed=needed))
        elif count == 0:
            said.append(msg("Class '{name}' has no usable pictures; every class needs at least {needed}.",
                            name=name, needed=needed))
        else:
            said.append(msg_n("Class '{name}' has {count} usable picture; every class needs at least {needed}.",
                              "Class '{name}' has {count} usable pictures; every class needs at least {needed}.",
                              count, name=name, needed=needed))
    if said:
        raise DatasetError(sentences(*said), report)


def _too_few_classes(class_names: list[str], report: DatasetReport) -> str:
    """The "too few classes" sentence, with the folder that was skipped (often the missing class:
    a hidden folder, a name Windows drops), so the teacher sees where a class went."""
    quoted = "'" + shown_name(class_names[0]) + "'" if class_names else ""
    found = (msg("Found 1 class ({name}); at least 2 classes are needed, each in its own folder.",
                 name=quoted) if class_names else
             msg("Found no class folders; at least 2 classes are needed, each in its own folder."))
    if not report.folders:
        return found
    # a folder with a class-like name first: hidden and macOS folders are rarely the missing class
    first = min(report.folders, key=lambda f: f.name.startswith(".") or f.name.lower() == "__macosx")
    more, folder = len(report.folders) - 1, shown_name(first.name)
    skipped = msg_n("The folder {folder}/ was skipped ({count} more folder skipped too).",
                    "The folder {folder}/ was skipped ({count} more folders skipped too).", more, folder=folder) \
        if more else msg("The folder {folder}/ was skipped.", folder=folder)
    return sentences(found, skipped, first.reason)

