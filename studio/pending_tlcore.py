"""Logic the pages need that is not drawing, waiting to move into tlcore.

Each function names the tlcore home the lead asked for (see the branch's report); until it
moves, it lives here, beside the pages, with no Streamlit and no TensorFlow at import time,
so moving it is a cut and paste plus an import change in the page.
"""

from __future__ import annotations

import re
import shutil
import unicodedata
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from tlcore.data.sources import is_ignored


# -- tlcore.evaluate -----------------------------------------------------------------------------------
def folder_key(name: str) -> str:
    """Folder and class names compared loosely: case, spaces, "_" and "-" do not matter."""
    return re.sub(r"[\s_\-]+", " ", unicodedata.normalize("NFC", str(name))).strip().casefold()


def match_folders(folders: Iterable[str], class_names: Sequence[str]) -> dict[str, str | None]:
    """Each folder's class (or None when it matches none of the model's classes)."""
    classes = {folder_key(name): name for name in class_names}
    return {folder: classes.get(folder_key(folder)) for folder in folders}


def most_confused(confusion) -> tuple[int, int] | None:
    """(true, predicted) of the most frequent mix-up (the first such cell on a tie), or None."""
    off = np.array(confusion, dtype=np.int64)
    np.fill_diagonal(off, -1)
    if off.size == 0 or off.max() <= 0:
        return None
    t, p = np.unravel_index(int(off.argmax()), off.shape)
    return int(t), int(p)


def answered_at(evaluation, threshold: float) -> tuple[int, int]:
    """(pictures answered, right among them) when the model says "not sure" below ``threshold``."""
    answered = np.asarray(evaluation.confidence) >= threshold
    right = np.asarray(evaluation.predicted)[answered] == np.asarray(evaluation.true_labels)[answered]
    return int(answered.sum()), int(right.sum())


# -- tlcore.data ---------------------------------------------------------------------------------------
def folder_upload_items(files: Iterable[tuple[str, bytes]]) -> tuple[list[tuple[str, str, bytes]], list[str]]:
    """(class, file name, bytes) from a folder upload's (relative path, bytes): the class is the
    file's parent folder. Also the files that were not inside a class folder."""
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


# -- tlcore.importers.teachable_machine ----------------------------------------------------------------
def find_teachable_machine_files(folder: Path) -> tuple[Path | None, Path | None]:
    """(keras_model.h5, labels.txt) found anywhere under ``folder``: those names first, then any
    .h5 / .txt, the shallowest first; None for what is missing."""
    def best(pattern: str, name: str) -> Path | None:
        found = sorted(Path(folder).rglob(pattern), key=lambda p: (p.name != name, len(p.parts), str(p)))
        return found[0] if found else None

    return best("*.h5", "keras_model.h5"), best("*.txt", "labels.txt")


# -- tlcore.export -------------------------------------------------------------------------------------
def slug(text: str, fallback: str = "model") -> str:
    """A short file name from a run or lesson name."""
    return re.sub(r"[^A-Za-z0-9]+", "-", str(text)).strip("-")[:60] or fallback


def download_name(run) -> str:
    """Files named by what the model recognises, then when it was made: "cat-dog-20240101-0930"."""
    classes = slug("-".join(run.class_names[:4]), "model")[:40].strip("-")
    when = re.sub(r"[^0-9]", "", run.record.created)[:12]
    return f"{classes}-{when[:8]}-{when[8:]}" if len(when) == 12 else classes


def export_savedmodel_zip(run, folder: Path, name: str) -> Path:
    """The run as a SavedModel in ``folder``/savedmodel, zipped to ``folder``/<name>-savedmodel.zip."""
    from tlcore.export import export_savedmodel

    target = Path(folder) / "savedmodel"
    shutil.rmtree(target, ignore_errors=True)
    export_savedmodel(run, target)
    return Path(shutil.make_archive(str(Path(folder) / f"{name}-savedmodel"), "zip", target))
