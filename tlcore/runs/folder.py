"""Run folders on disk: claimed when training starts, written once, read with checks.

    RUN_DIR/model.keras      picture (0..255 RGB, input_size²) in, probabilities out
    RUN_DIR/labels.txt       one class name a line, in output order
    RUN_DIR/run.json         the RunRecord (written last: a folder without it is not a run)
    RUN_DIR/validation/      copies of the validation pictures, one folder per class

A folder is *claimed* with an exclusive create and a ``.in-progress`` marker naming the
process, so two trainings never share one; ``write_run_folder`` fills it and removes the
marker last. A failed write removes what it wrote. Folders left by a killed process are
never listed, and ``clean_leftovers`` removes them.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import re
import shutil
import socket
import time
from pathlib import Path
from typing import Callable, Iterable

from ..paths import process_ended
from .record import RunFolderError, RunRecord

log = logging.getLogger(__name__)

MODEL_FILE, LABELS_FILE, META_FILE, VALIDATION_DIR = "model.keras", "labels.txt", "run.json", "validation"
CLAIM_FILE = ".in-progress"
_LEGACY_PARTIAL = ".partial"


class RunSaveError(OSError):
    """A run that could not be written; the message says why and what to do."""


class RunFolderTakenError(RunSaveError, FileExistsError):
    """The folder asked for already holds something."""


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-.") or "run"


# -- the workspace -----------------------------------------------------------------------------
_OTHER_WORKSPACE = "choose another workspace (set TLCORE_WORKSPACE, or give --out)"
_OTHER_OUT = "choose another --out folder"


def check_workspace(workspace, given_out: bool = False, way_out: str | None = None) -> Path:
    """Make sure runs can be saved in ``workspace`` before any work; plain words if not.

    ``given_out``: ``workspace`` is the folder of a --out the user gave (the way out differs).
    ``way_out``: what to do instead, in the caller's words (the app has no --out)."""
    workspace = Path(workspace)
    way_out = way_out or (_OTHER_OUT if given_out else _OTHER_WORKSPACE)
    if workspace.exists() and not workspace.is_dir():
        named = f"{workspace}" if given_out else f"The workspace {workspace}"
        raise RunSaveError(f"{named} is a file, not a folder. Move the file away, or {way_out}.")
    try:
        workspace.mkdir(parents=True, exist_ok=True)
        probe = workspace / f".write-test-{os.getpid()}-{time.monotonic_ns()}"
        probe.write_bytes(b"ok")
        probe.unlink()
    except OSError as error:
        raise _save_error(error, workspace, way_out) from None
    return workspace


def _save_error(error: OSError, where: Path, way_out: str = _OTHER_WORKSPACE) -> RunSaveError:
    if error.errno == errno.ENOSPC or error.errno == errno.EDQUOT:
        return RunSaveError(f"The disk is full: nothing more fits in {where}. Free some space (delete old "
                            "runs or other files) and try again.")
    if error.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return RunSaveError(f"Runs cannot be saved in {where}: it is read-only for this program. "
                            f"{way_out[0].upper()}{way_out[1:]} and try again.")
    if error.errno in (errno.ENOTDIR, errno.EEXIST):  # EEXIST: a file where a folder of the path should be
        return RunSaveError(f"Runs cannot be saved in {where}: part of that path is a file, not a folder. "
                            f"{way_out[0].upper()}{way_out[1:]}.")
    return RunSaveError(f"The run could not be saved in {where} ({error.strerror or error}). "
                        "Check the folder and try again.")


# -- claiming ----------------------------------------------------------------------------------
def claim_run_folder(workspace, backbone: str) -> Path:
    """A new, uniquely named run folder in ``workspace``, created now (exclusive) and marked ours."""
    workspace = check_workspace(workspace)
    stem = f"{time.strftime('%Y%m%d-%H%M%S')}-{_slug(backbone)}"
    for n in range(1, 10_000):
        path = workspace / (stem if n == 1 else f"{stem}-{n}")
        try:
            path.mkdir()
        except FileExistsError:
            continue
        except OSError as error:
            raise _save_error(error, workspace) from None
        _mark(path)
        return path
    raise RunSaveError(f"No free run folder name in {workspace}; remove some old runs.")


def claim_given_folder(path) -> Path:
    """``path`` (a --out folder) if it is free or empty: refused before any training otherwise."""
    path = Path(path)
    if path.exists() and (not path.is_dir() or any(p.name != CLAIM_FILE for p in path.iterdir())):
        raise RunFolderTakenError(f"{path} already exists and is not empty; choose another --out folder.")
    check_workspace(path.parent, given_out=True)
    try:
        path.mkdir(exist_ok=True)
    except OSError as error:
        raise _save_error(error, path.parent, _OTHER_OUT) from None
    _mark(path)
    return path


def _mark(path: Path) -> None:
    try:
        (path / CLAIM_FILE).write_text(f"{socket.gethostname()} {os.getpid()}\n", encoding="utf-8")
    except OSError as error:
        shutil.rmtree(path, ignore_errors=True)
        raise _save_error(error, path.parent) from None


def is_claimed(path: Path) -> bool:
    return (Path(path) / CLAIM_FILE).exists()


def release(path) -> None:
    """Give back a claimed folder that was never written (training learned nothing)."""
    path = Path(path)
    if is_claimed(path) and not (path / META_FILE).exists():
        shutil.rmtree(path, ignore_errors=True)


def _claim_is_dead(path: Path) -> bool:
    try:
        host, pid = (path / CLAIM_FILE).read_text(encoding="utf-8").split()
        if host != socket.gethostname():
            return time.time() - (path / CLAIM_FILE).stat().st_mtime > 7 * 24 * 3600
        return process_ended(int(pid))
    except (OSError, ValueError):
        return False  # an unreadable marker: leave it


def clean_leftovers(*workspaces) -> list[Path]:
    """Remove run folders half-written by a process that no longer runs (and old ``.partial``
    ones) directly under each of ``workspaces``; folders claimed by a live process stay."""
    removed = []
    for workspace in map(Path, workspaces):
        if not workspace.is_dir():
            continue
        for child in workspace.iterdir():
            dead = child.name.endswith(_LEGACY_PARTIAL) or (child.is_dir() and is_claimed(child)
                                                            and _claim_is_dead(child))
            if dead and child.is_dir() and not child.is_symlink():
                shutil.rmtree(child, ignore_errors=True)
                removed.append(child)
                log.info("Removed %s: a run folder left half-written by a stopped process.", child)
    return removed


# -- writing -----------------------------------------------------------------------------------
def write_run_folder(folder, record: RunRecord, write_model: Callable[[Path], None],
                     pictures: Iterable[tuple[Path, str]] = ()) -> Path:
    """Fill a claimed (or new, empty) ``folder``: the model, labels, pictures, then run.json.

    ``write_model(path)`` writes the model file; ``pictures`` are (source file, path relative
    to the folder) copies. On any failure, everything written is removed and RunSaveError says
    why in plain words; the folder is then free again."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        write_model(folder / MODEL_FILE)
        (folder / LABELS_FILE).write_text("\n".join(record.classes) + "\n", encoding="utf-8")
        for source, relative in pictures:
            target = folder / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
        temporary = folder / (META_FILE + ".tmp")
        temporary.write_text(json.dumps(record.to_dict(), indent=2), encoding="utf-8")
        os.replace(temporary, folder / META_FILE)
        (folder / CLAIM_FILE).unlink(missing_ok=True)
    except OSError as error:
        shutil.rmtree(folder, ignore_errors=True)
        raise _save_error(error, folder.parent) from None
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return folder


# -- reading -----------------------------------------------------------------------------------
def read_record(path) -> RunRecord:
    """The RunRecord of a run folder, with plain words for a missing or damaged run.json."""
    path = Path(path)
    meta_file = path / META_FILE
    if not meta_file.is_file():
        raise RunFolderError(f"{path.name} has no {META_FILE}, so it is not a finished run.")
    try:
        data = json.loads(meta_file.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise RunFolderError(f"{path.name}/{META_FILE} is not a text file; the run folder is damaged. "
                             "Train the run again or import its model.") from None
    except ValueError:
        raise RunFolderError(f"{path.name}/{META_FILE} is damaged (it is not valid JSON). Train the run "
                             "again, or import its model.keras with its labels.") from None
    return RunRecord.from_dict(data, where=f"{path.name}/{META_FILE}")


def read_labels_file(path) -> list[str]:
    """Class names from a labels.txt: UTF-8, or Latin-1 as older tools wrote it."""
    raw = Path(path).read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp1252", errors="replace")
    return [line.strip() for line in text.splitlines() if line.strip()]


def model_outputs(model_file) -> int | None:
    """How many classes a .keras file's last layer gives, read from its config (no weights loaded)."""
    import zipfile

    try:
        with zipfile.ZipFile(model_file) as archive:
            config = json.loads(archive.read("config.json"))
    except (zipfile.BadZipFile, KeyError, OSError, ValueError):
        return None
    units = []

    def walk(node):
        if isinstance(node, dict):
            if node.get("class_name") == "Dense" and isinstance(node.get("config"), dict):
                units.append(node["config"].get("units"))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(config)
    return units[-1] if units and isinstance(units[-1], int) else None


def run_folders(workspace) -> list[Path]:
    """Finished run folders directly under ``workspace``, newest name first (claimed ones left out)."""
    workspace = Path(workspace)
    if not workspace.is_dir():
        return []
    return [child for child in sorted(workspace.iterdir(), reverse=True)
            if child.is_dir() and not child.name.startswith(".") and not child.name.endswith(_LEGACY_PARTIAL)
            and not is_claimed(child) and (child / MODEL_FILE).is_file() and (child / META_FILE).is_file()]
