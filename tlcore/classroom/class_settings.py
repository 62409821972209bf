"""What the teacher chose for the whole class, kept in ``WORKSPACE/classroom/class.json``.

One record, one owner: the Teacher page and ``tlcore classroom`` change it through
``save_class_settings``; every page reads it through ``read_class_settings``.

    language   the class's default language code (each student may change their own)
    task       the lesson's classes ("rock", "paper", "scissors"): every new space starts with them
    keep_for   how long the class keeps anything: "lesson", "week" or "term" (None: until cleared);
               once that time has passed since the first student joined, the next start clears it
    export_before_clear  a folder outside the workspace (absolute path): the timed clear writes the class
               export there first, and clears only once it is written whole (``privacy.clear_if_time_is_up``);
               checked by ``check_export_folder`` when chosen
"""

from __future__ import annotations

import os
import re
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from tlcore.files import read_json, write_json
from tlcore.i18n import N_, msg

CLASS_FILE = Path("classroom") / "class.json"
_LANGUAGE_CODE = re.compile(r"^[A-Za-z]{2,3}(_[A-Za-z]{2,4})?$")

# How long each choice keeps the class, in seconds. "lesson" reaches to the end of the school day,
# so a server restarted during the lesson (a crash, a laptop lid) never clears the class.
KEEP_FOR_SECONDS = {"lesson": 10 * 3600, "week": 7 * 24 * 3600, "term": 16 * 7 * 24 * 3600}
KEEP_FOR_WORDS = {"lesson": N_("until the end of the school day"), "week": N_("for a week"),
                  "term": N_("for a term (16 weeks)")}
MAX_TASK_CLASSES, MAX_CLASS_NAME = 20, 40


@dataclass(frozen=True)
class ClassSettings:
    """The class's settings (see the module's doc); checked when made, tolerant when read."""

    language: str | None = None
    task: tuple[str, ...] = ()
    keep_for: str | None = None
    export_before_clear: str | None = None

    def __post_init__(self):
        if self.language is not None and not _LANGUAGE_CODE.match(str(self.language)):
            raise ValueError(f"'{str(self.language)[:20]}' is not a language code like 'es' or 'pt_BR'.")
        if self.keep_for is not None and self.keep_for not in KEEP_FOR_SECONDS:
            raise ValueError(msg("How long to keep the class must be one of: {choices}.",
                                 choices=", ".join(KEEP_FOR_SECONDS)))
        if self.export_before_clear is not None and not os.path.isabs(str(self.export_before_clear)):
            raise ValueError(msg("The folder for the export before clearing must be a full path, like "
                                 "{example}.", example=os.path.join(os.path.expanduser("~"), "class-exports")))
        object.__setattr__(self, "task", parse_task(self.task))

    @property
    def keep_seconds(self) -> int | None:
        return KEEP_FOR_SECONDS.get(self.keep_for) if self.keep_for else None

    def to_dict(self) -> dict:
        return {**asdict(self), "task": list(self.task)}

    @classmethod
    def from_dict(cls, data) -> "ClassSettings":
        """Tolerant of damaged files: a value that cannot be used is read as its default."""
        data = data if isinstance(data, dict) else {}
        language = data.get("language")
        ok = isinstance(language, str) and _LANGUAGE_CODE.match(language)
        keep_for = data.get("keep_for") if data.get("keep_for") in KEEP_FOR_SECONDS else None
        try:
            task = parse_task(data.get("task") or ())
        except ValueError:
            task = ()
        folder = data.get("export_before_clear")
        folder = folder if isinstance(folder, str) and os.path.isabs(folder) else None
        return cls(language=language if ok else None, task=task, keep_for=keep_for, export_before_clear=folder)

    def with_changes(self, **changes) -> "ClassSettings":
        return replace(self, **changes)


def parse_task(classes) -> tuple[str, ...]:
    """The lesson's class names from "rock, paper, scissors" (or a list): spacing tidied, each once
    (case and spaces ignored), as folder names that are safe everywhere; ValueError in plain words."""
    from tlcore.data import safe_name
    from tlcore.spaces import name_key

    if isinstance(classes, str):  # the comma of every keyboard: Latin, Arabic "،", Chinese and Japanese "，" "、"
        classes = re.split(r"[,\u060c\uff0c\u3001]", classes)
    names, seen = [], set()
    for text in classes:
        name = " ".join(str(text).split())
        if not name or name_key(name) in seen:
            continue
        if len(name) > MAX_CLASS_NAME:
            raise ValueError(msg("A class name can be at most {limit} characters long; shorten '{name}'.",
                                 limit=MAX_CLASS_NAME, name=name[:MAX_CLASS_NAME]))
        if safe_name(name, fallback="") != name:
            raise ValueError(msg("'{name}' cannot be a class name (no slashes, dots at the start or special "
                                 "characters); type it another way.", name=name))
        seen.add(name_key(name))
        names.append(name)
    if len(names) > MAX_TASK_CLASSES:
        raise ValueError(msg("A task can have at most {limit} classes.", limit=MAX_TASK_CLASSES))
    if len(names) == 1:
        raise ValueError(msg("A task needs at least 2 classes, separated by commas (like: rock, paper, scissors)."))
    return tuple(names)


def check_export_folder(folder, workspace) -> str | None:
    """The folder for the export before clearing, as a full path (made if missing); None for "" (no
    export). ValueError in plain words if it is inside the workspace (clearing would erase it), is
    a file, or cannot be made or written to."""
    text = str(folder or "").strip()
    if not text:
        return None
    path = Path(os.path.expanduser(text)).resolve()
    inside = Path(workspace).resolve()
    if path == inside or inside in path.parents:
        raise ValueError(msg("The export before clearing must go to a folder outside the class's workspace "
                             "({workspace}): clearing would erase it there. Choose another folder.",
                             workspace=str(inside)))
    if path.exists() and not path.is_dir():
        raise ValueError(msg("'{folder}' is a file, not a folder; choose a folder for the export.", folder=str(path)))
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ValueError(msg("The folder '{folder}' could not be made ({why}); choose a folder you can write to.",
                             folder=str(path), why=error.strerror or str(error))) from error
    if not os.access(path, os.W_OK | os.X_OK):
        raise ValueError(msg("You cannot write into '{folder}'; choose a folder you can write to.", folder=str(path)))
    return str(path)


def read_class_settings(workspace) -> ClassSettings:
    return ClassSettings.from_dict(read_json(Path(workspace) / CLASS_FILE))


def save_class_settings(workspace, settings: ClassSettings) -> None:
    write_json(Path(workspace) / CLASS_FILE, settings.to_dict())
