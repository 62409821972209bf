"""A whole lesson in one file: pictures, class names, settings and runs.

    LESSON.tlproject (a zip)
      project.json          name, classes, settings, the runs it holds
      pictures/<class>/...  the pictures, one folder per class
      runs/<run>/...        run folders (model.keras, labels.txt, run.json, validation/)
      experiments/<id>/experiment.json   experiments (their table; their runs are under runs/)

A lesson file from elsewhere is untrusted. Opening one reads and checks project.json first
(every class and run it names must be one safe folder name), then unpacks with the same
checks as any uploaded zip: only project.json, pictures (and only pictures) under
pictures/ and the listed runs; nothing else is written. Anything unsafe refuses the whole
lesson with one sentence, and nothing is left behind in the work folder or the workspace.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import tempfile
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from .data.dataset import DEFAULT_IMAGE_SIZE, ImageDataset
from .data.report import SkippedFile, SkippedFolder
from .data.names import name_problem, safe_name
from .data.sources import FILE, LEAVE_OUT, PICTURE, UnpackedZip, UnsafeArchiveError, unpack_zip
from .experiments import EXPERIMENT_FILE, EXPERIMENTS_DIR
from .runs import Run, load_run

PROJECT_FORMAT = 1
SUFFIX = ".tlproject"
MANIFEST = "project.json"
MAX_MANIFEST_BYTES = 1_000_000
_AGAIN = "Save the lesson again from the Share page, or ask for a new copy."


class LessonFileError(ValueError):
    """A lesson file that is refused whole; the message says what is wrong and what to do."""


@dataclass
class Project:
    name: str
    dataset: ImageDataset
    settings: dict = field(default_factory=dict)
    runs: list[Run] = field(default_factory=list)
    experiments: list[str] = field(default_factory=list)  # ids, now in the workspace's experiments/


@dataclass(frozen=True)
class Manifest:
    """project.json, checked: every name in it is one safe folder name."""

    name: str
    classes: tuple[str, ...]
    settings: dict
    runs: tuple[str, ...]
    experiments: tuple[str, ...] = ()


def save_project(path, dataset: ImageDataset, settings: dict | None = None, runs=(), name: str = "Lesson",
                 experiments=()) -> Path:
    """Write ``dataset``'s pictures, ``settings``, ``runs`` (Run objects or folders) and ``experiments``
    (experiment folders, whose kept runs are added to ``runs``) into one file.

    Written to "<path>.partial" and renamed, so a half-written lesson never has the real name.
    Raises ValueError, before writing, for a class or run folder name ``open_project`` would refuse."""
    path = Path(path)
    runs = [r if isinstance(r, Run) else load_run(r) for r in runs]
    experiments = [Path(folder) for folder in experiments]
    runs += _runs_of_experiments(experiments, {r.path.name for r in runs})
    for kind, names in (("class", dataset.class_names), ("run folder", [r.path.name for r in runs]),
                        ("experiment", [e.name for e in experiments])):
        for item in names:
            if problem := name_problem(item):
                raise ValueError(f"The {kind} name '{item}' cannot be saved in a lesson. {problem} Rename it first.")
    manifest = {
        "format": PROJECT_FORMAT, "name": name, "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "classes": list(dataset.class_names), "settings": settings or {},
        "runs": [r.path.name for r in runs], "experiments": [e.name for e in experiments],
    }
    partial = path.with_name(path.name + ".partial")
    try:
        with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(MANIFEST, json.dumps(manifest, indent=2))
            for index, (file, label) in enumerate(zip(dataset.paths, dataset.labels)):
                # numbered: two pictures with the same name (from different folders) both survive
                picture = safe_name(Path(file).name, fallback="picture")
                archive.write(file, f"pictures/{dataset.class_names[int(label)]}/{index:05d}-{picture}")
            for run in runs:
                for file in sorted(run.path.rglob("*")):
                    if file.is_file():
                        archive.write(file, f"runs/{run.path.name}/{file.relative_to(run.path).as_posix()}")
            for folder in experiments:
                archive.write(folder / EXPERIMENT_FILE, f"experiments/{folder.name}/{EXPERIMENT_FILE}")
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
    return path


def open_project(source, workspace, work_dir=None, image_size: int = DEFAULT_IMAGE_SIZE) -> Project:
    """Open a lesson file: its pictures as a dataset, its runs copied into ``workspace``.

    ``source``: a path, bytes or a binary file. The pictures are unpacked into a new folder
    inside ``work_dir`` (kept: the dataset reads its files from there). Raises LessonFileError
    (not a lesson, a damaged or unsafe project.json, no pictures, a damaged run),
    UnsafeArchiveError (the zip itself is refused) or DatasetError (the pictures cannot be
    used); then nothing is left in ``work_dir`` or ``workspace``.
    """
    if isinstance(source, (bytearray, memoryview)):
        source = bytes(source)
    manifest = read_manifest(source)
    if work_dir is not None:
        Path(work_dir).mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="project-", dir=work_dir))
    try:
        unpacked = unpack_zip(source, work, _lesson_members(manifest))
        if not (work / "pictures").is_dir():
            raise LessonFileError(f"This lesson file holds no pictures (it has no pictures/ folder). {_AGAIN}")
        dataset = ImageDataset.from_unpacked(_pictures_part(unpacked), image_size=image_size)
        found = _checked_runs(work, manifest)
        experiments = _checked_experiments(work, manifest)
        runs = _copy_runs(found, Path(workspace))
        renamed = {name: run.path.name for (name, _), run in zip(found, runs)}
        kept = _copy_experiments(experiments, Path(workspace), renamed)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return Project(manifest.name, dataset, manifest.settings, runs, kept)


def read_manifest(source) -> Manifest:
    """The lesson's project.json, read from the zip without unpacking anything, and checked."""
    try:
        opened = io.BytesIO(source) if isinstance(source, bytes) else source
        with zipfile.ZipFile(opened) as archive:
            try:
                member = archive.getinfo(MANIFEST)
            except KeyError:
                raise LessonFileError(
                    "This file is not a Transfer Learning Studio project (it has no project.json)."
                ) from None
            if member.file_size > MAX_MANIFEST_BYTES:
                raise LessonFileError(f"This lesson file is damaged: its project.json is far too big. {_AGAIN}")
            raw = archive.read(member)
    except (zipfile.BadZipFile, EOFError, OSError, RuntimeError, NotImplementedError):
        raise UnsafeArchiveError("This file is not a lesson file (it is not a zip file).") from None
    finally:
        if hasattr(source, "seek"):
            source.seek(0)
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        where = f" (line {error.lineno}, column {error.colno})" if hasattr(error, "lineno") else ""
        raise LessonFileError(f"This lesson file is damaged: its project.json is not valid JSON{where}. {_AGAIN}") from None
    return _checked_manifest(data)


def _checked_manifest(data) -> Manifest:
    damaged = f"This lesson file is damaged: its project.json {{}}. {_AGAIN}"
    if not isinstance(data, dict):
        raise LessonFileError(damaged.format("does not hold a lesson's details"))
    version = data.get("format", PROJECT_FORMAT)
    if not isinstance(version, int) or isinstance(version, bool):
        raise LessonFileError(damaged.format("has a format that is not a number"))
    if version > PROJECT_FORMAT:
        raise LessonFileError(
            f"This lesson was saved by a newer version of the program (lesson format {version}); "
            "update the program to open it."
        )
    name, settings = data.get("name", "Lesson"), data.get("settings", {})
    if not isinstance(name, str):
        raise LessonFileError(damaged.format("has a name that is not text"))
    if not isinstance(settings, dict):
        raise LessonFileError(damaged.format("has settings that are not a list of settings"))
    named = {}
    for key, kind in (("classes", "class"), ("runs", "run"), ("experiments", "experiment")):
        items = data.get(key, [])
        if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
            raise LessonFileError(damaged.format(f"has '{key}' that is not a list of names"))
        for item in items:
            if problem := name_problem(item) or ("It starts with a dot." if item.startswith(".") else None):
                raise LessonFileError(
                    f"This lesson file is refused: it names a {kind} '{_short(item)}' that is not a plain "
                    f"folder name. {problem} Nothing was opened or written."
                )
        named[key] = tuple(dict.fromkeys(items))
    return Manifest(name, named["classes"], settings, named["runs"], named["experiments"])


def _lesson_members(manifest: Manifest):
    """What of the zip is unpacked: project.json, pictures under pictures/, the listed runs."""
    listed, experiments = set(manifest.runs), set(manifest.experiments)

    def policy(parts: tuple[str, ...]) -> str:
        if parts == (MANIFEST,):
            return FILE
        if parts[0] == "pictures":
            return PICTURE
        if parts[0] == "runs" and len(parts) >= 2 and parts[1] in listed:
            return FILE
        if len(parts) == 3 and parts[0] == "experiments" and parts[1] in experiments and parts[2] == EXPERIMENT_FILE:
            return FILE
        return LEAVE_OUT

    return policy


def _pictures_part(unpacked: UnpackedZip) -> UnpackedZip:
    """The pictures/ folder, with what was left out of it named as inside that folder."""
    def inside(entries, kind):
        return tuple(kind(e.name.removeprefix("pictures/"), e.reason)
                     for e in entries if e.name.startswith("pictures/"))
    return UnpackedZip(unpacked.folder / "pictures", inside(unpacked.skipped, SkippedFile),
                       inside(unpacked.skipped_folders, SkippedFolder))


def _checked_runs(work: Path, manifest: Manifest) -> list[tuple[str, Path]]:
    """(name, unpacked folder) of each listed run that is there, each opened once to check it."""
    runs_root = (work / "runs").resolve()
    found = []
    for name in manifest.runs:
        folder = work / "runs" / name
        if folder.resolve().parent != runs_root or folder.is_symlink():  # the names are checked; belt and braces
            raise LessonFileError(f"This lesson file is refused: its run '{_short(name)}' is not inside it.")
        if not (folder / "model.keras").is_file():
            continue
        try:
            load_run(folder)
        except (OSError, ValueError, TypeError, KeyError, AttributeError):
            raise LessonFileError(
                f"The trained model '{_short(name)}' in this lesson is damaged or incomplete. "
                f"{_AGAIN}"
            ) from None
        found.append((name, folder))
    return found


def _runs_of_experiments(folders: list[Path], already: set[str]) -> list[Run]:
    """The runs an experiment kept (one per configuration), found beside it in the workspace."""
    runs = []
    for folder in folders:
        data = json.loads((folder / EXPERIMENT_FILE).read_text(encoding="utf-8"))
        for row in data.get("rows", []):
            name = row.get("run")
            run_folder = folder.parent.parent / name if isinstance(name, str) else None
            if run_folder is not None and name not in already and (run_folder / "model.keras").is_file():
                runs.append(load_run(run_folder))
                already.add(name)
    return runs


def _checked_experiments(work: Path, manifest: Manifest) -> list[tuple[str, dict]]:
    """(id, contents) of each listed experiment that is there: a JSON object, nothing more."""
    found = []
    for name in manifest.experiments:
        file = work / "experiments" / name / EXPERIMENT_FILE
        if not file.is_file():
            continue
        try:
            data = json.loads(file.read_text(encoding="utf-8")) if file.stat().st_size <= MAX_MANIFEST_BYTES * 5 else None
        except (UnicodeDecodeError, ValueError):
            data = None
        if not isinstance(data, dict) or not isinstance(data.get("rows", []), list):
            raise LessonFileError(f"The experiment '{_short(name)}' in this lesson is damaged. {_AGAIN}")
        found.append((name, data))
    return found


def _copy_experiments(found: list[tuple[str, dict]], workspace: Path, renamed: dict[str, str]) -> list[str]:
    """Write each experiment into the workspace's experiments/ (its runs renamed as they were copied)."""
    kept = []
    for name, data in found:
        for row in data.get("rows", []):
            if isinstance(row, dict) and row.get("run") in renamed:
                row["run"] = renamed[row["run"]]
        target = workspace / EXPERIMENTS_DIR / name
        target.mkdir(parents=True, exist_ok=True)
        (target / EXPERIMENT_FILE).write_text(json.dumps(data, indent=2), encoding="utf-8")
        kept.append(name)
    return kept


def _copy_runs(found: list[tuple[str, Path]], workspace: Path) -> list[Run]:
    """Copy runs into ``workspace`` (each to a partial folder, then renamed); all or none."""
    workspace_existed = workspace.exists()
    made, runs = [], []
    try:
        for name, source_dir in found:
            target = _free_or_same(workspace / name, source_dir)
            if not target.exists():
                workspace.mkdir(parents=True, exist_ok=True)
                if target.resolve().parent != workspace.resolve():
                    raise LessonFileError(f"This lesson file is refused: its run '{_short(name)}' would land outside the workspace.")
                partial = Path(tempfile.mkdtemp(prefix=f".{name}-", suffix=".partial", dir=workspace))
                made.append(partial)
                shutil.copytree(source_dir, partial, dirs_exist_ok=True)
                os.replace(partial, target)
                made[-1] = target
            runs.append(load_run(target))
    except BaseException:
        for folder in reversed(made):
            shutil.rmtree(folder, ignore_errors=True)
        if not workspace_existed and workspace.is_dir() and not any(workspace.iterdir()):
            workspace.rmdir()
        raise
    return runs


def _short(name: str, limit: int = 40) -> str:
    return name if len(name) <= limit else name[: limit - 1] + "…"


def _free_or_same(target: Path, source_dir: Path) -> Path:
    """``target`` if free or already holding this very run; else a free sibling name."""
    candidate, n = target, 1
    while candidate.exists():
        same = all((candidate / f).is_file() and (candidate / f).read_bytes() == (source_dir / f).read_bytes()
                   for f in ("run.json", "model.keras") if (source_dir / f).is_file())
        if same:
            return candidate
        n += 1
        candidate = target.with_name(f"{target.name}-{n}")
    return candidate
