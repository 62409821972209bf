"""Where tlcore keeps things on disk."""

from __future__ import annotations

import os
from pathlib import Path


def cache_root() -> Path:
    """Cached features and the demo set: $TLCORE_CACHE_DIR, else ~/.cache/tlcore."""
    return Path(os.environ.get("TLCORE_CACHE_DIR") or Path.home() / ".cache" / "tlcore")


def workspace_root() -> Path:
    """Saved runs: $TLCORE_WORKSPACE, else ~/tlcore-workspace (visible to the user)."""
    return Path(os.environ.get("TLCORE_WORKSPACE") or Path.home() / "tlcore-workspace")
