"""Where tlcore keeps things on disk, and the scratch folders of a process."""

from __future__ import annotations

import logging
import os
import re
import shutil
import tempfile
from pathlib import Path

log = logging.getLogger(__name__)

SCRATCH = "tlcore-"  # scratch folders are "tlcore-<pid>-<random>" in the system's temporary folder
_SCRATCH_NAME = re.compile(rf"{SCRATCH}(\d+)-[^/]+")


def cache_root() -> Path:
    """Cached features and the demo set: $TLCORE_CACHE_DIR, else ~/.cache/tlcore."""
    return Path(os.environ.get("TLCORE_CACHE_DIR") or Path.home() / ".cache" / "tlcore")


def workspace_root() -> Path:
    """Saved runs: $TLCORE_WORKSPACE, else ~/tlcore-workspace (visible to the user)."""
    return Path(os.environ.get("TLCORE_WORKSPACE") or Path.home() / "tlcore-workspace")


def scratch_prefix() -> str:
    """The name start of this process's scratch folders ("tlcore-<pid>-"): the pid lets a later
    start tell a killed process's leftovers from a live one's (``clean_scratch``)."""
    return f"{SCRATCH}{os.getpid()}-"


def process_ended(pid: int) -> bool:
    """Whether no process ``pid`` runs on this computer (one we may not signal still runs)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False
    return False


def clean_scratch(folder=None) -> list[Path]:
    """Remove the scratch folders of processes that no longer run, in ``folder`` (the system's
    temporary folder). Live processes' folders, and names without a pid (the tests'
    "tlcore-tests-..."), stay."""
    folder, removed = Path(folder or tempfile.gettempdir()), []
    try:
        children = list(folder.iterdir())
    except OSError:
        return removed
    for child in children:
        match = _SCRATCH_NAME.fullmatch(child.name)
        if match and child.is_dir() and not child.is_symlink() and process_ended(int(match.group(1))):
            shutil.rmtree(child, ignore_errors=True)
            if not child.exists():
                removed.append(child)
                log.info("Removed %s: a scratch folder left by a stopped process.", child)
    return removed
