"""What the teacher's page does to the whole class: export everything, then clear it.

    CLASS.zip
      class.json              every space: name, kind, created, and the file holding its work
      <name>.tlproject        one lesson file per space (pictures, settings, runs); open it in the Studio
      <name>/pictures/...     a space whose pictures are not yet a set (fewer than 2 classes):
      <name>/runs/...         its files as they are
      pool/pictures/<class>/<file>   the class pool's pictures (pool.py); class.json's "pool" lists each
      pool/hidden/<class>/<file>     with its class, who added it and when, and whether the teacher hid it
"""

from __future__ import annotations

import json
import tempfile
import time
import zipfile
from pathlib import Path

from ..data import DatasetError, ImageDataset, safe_name, unique_name
from ..i18n import msg_n
from ..spaces import STUDENT, Space, SpaceError, SpaceStore
from .pool import ClassPool

POOL_FOLDER = "pool"  # the class pool's pictures in the export
_EXPORT_DECODE_SIZE = 32  # the lesson file copies the picture files; decoding only checks them


def export_class(store: SpaceStore, path, spaces: list[Space] | None = None) -> Path:
    """Write every space's work (or ``spaces``') into one zip at ``path`` (whole, or not at all)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    spaces = store.spaces() if spaces is None else spaces
    taken: set[str] = {POOL_FOLDER, "class.json"}  # a student called "Pool" gets "Pool_1/": erasing them keeps the pool
    listing = []
    try:
        with tempfile.TemporaryDirectory(prefix="tl-class-export-") as scratch, \
                zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as archive:
            for space in spaces:
                stem = unique_name(safe_name(space.name, fallback="space"), taken)
                taken.add(stem)
                listing.append({"name": space.name, "kind": space.kind, "created": space.created,
                                "file": _add_space(store, space, stem, archive, Path(scratch))})
            pool = _add_pool(store.root.parent, archive)
            archive.writestr("class.json", json.dumps(
                {"exported": time.strftime("%Y-%m-%dT%H:%M:%S"), "spaces": listing, "pool": pool}, indent=2))
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
    return path


def clear_class(store: SpaceStore, export_to, queue=None) -> Path:
    """Export the class to ``export_to``, then delete every student's space (the solo one stays), the
    cached features of their pictures, the swap grid and the class pool.

    Refused, with nothing changed, while a training is queued or running (a job would save its
    run into a deleted space), or if the export fails."""
    if queue is not None:
        active = [entry for entry in queue.snapshot() if entry.active]
        if active:
            raise SpaceError(msg_n("{count} training is still queued or running; cancel it (or wait until it "
                                   "ends) before clearing the class.",
                                   "{count} trainings are still queued or running; cancel them (or wait until "
                                   "they end) before clearing the class.", len(active)))
    from ..training.features import forget_origin
    from .report import SWAP_FILE

    exported = export_class(store, export_to)
    for space in store.spaces():
        if space.kind == STUDENT:
            forget_origin(space.folder)  # features of their pictures too (privacy.py)
            store.remove(space.id)
    (store.root.parent / SWAP_FILE).unlink(missing_ok=True)
    ClassPool(store.root.parent).clear()
    return exported


def _add_pool(workspace: Path, archive: zipfile.ZipFile) -> list[dict]:
    """Put the class pool's pictures in the archive, as its index keeps them; their entries."""
    entries = []
    pool = ClassPool(workspace)
    for picture in pool.pictures():
        source = pool.path_of(picture)
        if not source.is_file() or source.is_symlink():
            continue
        file = f"{POOL_FOLDER}/{'hidden' if picture.hidden else 'pictures'}/{picture.file}"
        archive.write(source, file)
        entries.append({"file": file, "class": picture.class_name, "who": picture.who, "when": picture.when,
                        "original": picture.original, "hidden": picture.hidden})
    return entries


def _add_space(store: SpaceStore, space: Space, stem: str, archive: zipfile.ZipFile, scratch: Path) -> str:
    """Put one space in the archive: a lesson file if its pictures are a set, else its files."""
    from ..projects import SUFFIX, save_project
    from ..runs import list_runs

    runs = list_runs(space.runs_dir) if space.runs_dir.is_dir() else []
    try:
        pictures = ImageDataset.from_folder(space.pictures_dir, _EXPORT_DECODE_SIZE, min_per_class=1)
    except (DatasetError, FileNotFoundError):
        pictures = None
    if pictures is not None:
        lesson = save_project(scratch / f"{stem}{SUFFIX}", pictures, store.settings(space.id).to_dict(), runs,
                              name=space.name)
        archive.write(lesson, lesson.name)
        lesson.unlink()
        return lesson.name
    for folder in (space.pictures_dir, space.runs_dir):
        for file in sorted(folder.rglob("*")) if folder.is_dir() else []:
            if file.is_file() and not file.is_symlink():
                archive.write(file, f"{stem}/{folder.name}/{file.relative_to(folder).as_posix()}")
    return f"{stem}/"
