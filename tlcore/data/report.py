"""What happened while loading a picture set, in plain words."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

MIN_PICTURES_PER_CLASS = 2
RECOMMENDED_PICTURES_PER_CLASS = 10
# Largest class more than this many times the smallest counts as unbalanced.
UNBALANCED_RATIO = 3


def shown_name(name: str) -> str:
    """``name`` on one line: a control character (a line break in a folder's name) is written as
    its escape, ``\\n``, so a sentence about it stays one line and shows what is wrong."""
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in name)


@dataclass
class SkippedFile:
    """A file left out of the set. ``reason`` fits after "it", e.g. "is not a picture".

    ``copy_of`` names the kept picture when this file is an exact copy of it."""

    name: str
    reason: str
    copy_of: str = ""

    def sentence(self) -> str:
        return f"{shown_name(self.name)} was skipped: it {self.reason}."


@dataclass
class SkippedFolder:
    """A folder left out (hidden, unreadable, unusable name). ``reason`` is a whole clause."""

    name: str
    reason: str

    def sentence(self) -> str:
        return f"The folder {shown_name(self.name)}/ was skipped: {self.reason}."


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


def advice_for(counts: dict[str, int]) -> list[str]:
    """Warnings for classes that are small, or much smaller than the others."""
    warnings = []
    for class_name, count in counts.items():
        if 0 < count < RECOMMENDED_PICTURES_PER_CLASS:
            warnings.append(
                f"Class '{class_name}' has only {_pictures(count)}; "
                f"{RECOMMENDED_PICTURES_PER_CLASS} or more per class work better."
            )
    used = {name: count for name, count in counts.items() if count > 0}
    if len(used) >= 2:
        largest = max(used, key=used.__getitem__)
        smallest = min(used, key=used.__getitem__)
        if used[largest] > UNBALANCED_RATIO * used[smallest]:
            warnings.append(
                f"The classes are unbalanced: '{largest}' has {_pictures(used[largest])} "
                f"but '{smallest}' has only {used[smallest]}. The model may favour the "
                "bigger class; similar numbers per class work better."
            )
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
        if not class_names:
            found = "Found no class folders"
        else:
            quoted = ", ".join(f"'{shown_name(name)}'" for name in class_names)
            found = f"Found 1 class ({quoted})"
        raise DatasetError(
            f"{found}; at least 2 classes are needed, each in its own folder{_left_out(report)}.", report
        )
    needed = max(1, min_per_class)
    sentences = []
    for class_name in class_names:
        count = counts.get(class_name, 0)
        if count >= needed:
            continue
        if class_name in unreadable:
            sentences.append(
                f"The folder of class '{class_name}' could not be read ({unreadable[class_name]}); "
                "check that it can be opened, or remove it."
            )
            continue
        if class_name in empty_classes:
            has = "has no pictures (its folder is empty)"
        elif count == 0:
            has = "has no usable pictures"
        else:
            has = f"has {count} usable picture{'' if count == 1 else 's'}"
        sentences.append(
            f"Class '{class_name}' {has}; every class needs at least {needed}."
        )
    if sentences:
        raise DatasetError(" ".join(sentences), report)


def _left_out(report: DatasetReport) -> str:
    """The end of the "too few classes" sentence: the folder that was skipped (often the missing
    class: a hidden folder, a name Windows drops), so the teacher sees where a class went."""
    if not report.folders:
        return ""
    # a folder with a class-like name first: hidden and macOS folders are rarely the missing class
    first = min(report.folders, key=lambda f: f.name.startswith(".") or f.name.lower() == "__macosx")
    more = len(report.folders) - 1
    also = f" ({more} more folder{'' if more == 1 else 's'} skipped too)" if more else ""
    return f", and the folder {shown_name(first.name)}/ was skipped{also}: {first.reason}"


def _pictures(count: int) -> str:
    return f"{count} picture{'' if count == 1 else 's'}"
