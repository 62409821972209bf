"""What happened while loading a picture set, in plain words."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

MIN_PICTURES_PER_CLASS = 2
RECOMMENDED_PICTURES_PER_CLASS = 10
# Largest class more than this many times the smallest counts as unbalanced.
UNBALANCED_RATIO = 3


@dataclass
class SkippedFile:
    """A file left out of the set. ``reason`` fits after "it", e.g. "is not a picture"."""

    name: str
    reason: str

    def sentence(self) -> str:
        return f"{self.name} was skipped: it {self.reason}."


@dataclass
class DatasetReport:
    """Pictures used per class, files skipped (with reasons) and advice."""

    counts: dict[str, int]
    skipped: list[SkippedFile] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @classmethod
    def build(cls, counts: dict[str, int], skipped: list[SkippedFile]) -> "DatasetReport":
        """A report whose warnings are worked out from ``counts``."""
        return cls(dict(counts), list(skipped), advice_for(counts))

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def problems(self) -> list[str]:
        """One plain sentence per skipped file, then the warnings."""
        return [skipped.sentence() for skipped in self.skipped] + list(self.warnings)

    def to_dict(self) -> dict[str, Any]:
        return {
            "counts": dict(self.counts),
            "skipped": [{"name": s.name, "reason": s.reason} for s in self.skipped],
            "warnings": list(self.warnings),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "DatasetReport":
        return cls(
            counts={str(k): int(v) for k, v in data.get("counts", {}).items()},
            skipped=[SkippedFile(s["name"], s["reason"]) for s in data.get("skipped", [])],
            warnings=[str(w) for w in data.get("warnings", [])],
        )


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
) -> None:
    """Raise DatasetError unless there are 2+ classes with ``min_per_class`` pictures each."""
    if len(class_names) < 2:
        if not class_names:
            found = "Found no class folders"
        else:
            quoted = ", ".join(f"'{name}'" for name in class_names)
            found = f"Found 1 class ({quoted})"
        raise DatasetError(
            f"{found}; at least 2 classes are needed, each in its own folder.", report
        )
    needed = max(1, min_per_class)
    sentences = []
    for class_name in class_names:
        count = counts.get(class_name, 0)
        if count >= needed:
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


def _pictures(count: int) -> str:
    return f"{count} picture{'' if count == 1 else 's'}"
