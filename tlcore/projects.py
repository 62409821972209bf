"""A whole lesson in one file: pictures, class names, settings and runs.

    LESSON.tlproject (a zip)
      project.json          name, classes, settings, the runs it holds
      pictures/<class>/...  the pictures, one folder per class
      runs/<run>/...        run folders (model.keras, labels.txt, run.json, validation/)

Opening one unpacks it safely (the same checks as any uploaded zip), loads the pictures
as a dataset, and copies its runs into the workspace so the Runs page lists them.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from .data.dataset import DEFAULT_IMAGE_SIZE, ImageDataset
from .data.sources import extract_zip
from .runs import Run, load_run

PROJECT_FORMAT = 1
SUFFIX = ".tlproject"


@dataclass
class Project:
    name: str
    dataset: ImageDataset
    settings: dict = field(default_factory=dict)
    runs: list[Run] = field(default_factory=list)


def save_project(path, dataset: ImageDataset, settings: dict | None = None, runs=(), name: str = "Lesson") -> Path:
    """Write ``dataset``'s pictures, ``settings`` and ``runs`` (Run objects or folders) into one file."""
    path = Path(path)
    runs = [r if isinstance(r, Run) else load_run(r) for r in runs]
    manifest = {
        "format": PROJECT_FORMAT, "name": name, "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "classes": list(dataset.class_names), "settings": settings or {},
        "runs": [r.path.name for r in runs],
    }
    partial = path.with_name(path.name + ".partial")
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("project.json", json.dumps(manifest, indent=2))
        for index, (file, label) in enumerate(zip(dataset.paths, dataset.labels)):
            # numbered: two pictures with the same name (from different folders) both survive
            archive.write(file, f"pictures/{dataset.class_names[int(label)]}/{index:05d}-{Path(file).name}")
        for run in runs:
            for file in sorted(run.path.rglob("*")):
                if file.is_file():
                    archive.write(file, f"runs/{run.path.name}/{file.relative_to(run.path).as_posix()}")
    partial.replace(path)
    return path


def open_project(source, workspace, work_dir=None, image_size: int = DEFAULT_IMAGE_SIZE) -> Project:
    """Open a project file: its pictures as a dataset, its runs copied into ``workspace``."""
    work = Path(tempfile.mkdtemp(prefix="project-", dir=work_dir))
    extract_zip(source, work)
    manifest_file = work / "project.json"
    if not manifest_file.is_file():
        raise ValueError("This file is not a Transfer Learning Studio project (it has no project.json).")
    manifest = json.loads(manifest_file.read_text(encoding="utf-8"))
    dataset = ImageDataset.from_folder(work / "pictures", image_size=image_size)
    runs = []
    workspace = Path(workspace)
    for name in manifest.get("runs", []):
        source_dir = work / "runs" / name
        if not (source_dir / "model.keras").is_file():
            continue
        target = _free_or_same(workspace / name, source_dir)
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copytree(source_dir, target)
        runs.append(load_run(target))
    return Project(manifest.get("name", "Lesson"), dataset, manifest.get("settings", {}), runs)


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
