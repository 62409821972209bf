"""A student's model as a web page on their own phone, by a QR code: served by the classroom.

An iPhone or iPad will not let a page opened from Files use the camera, and a download is a
detour on any phone: in classroom mode the Test and Share pages show a QR code to
``https://CLASSROOM/page/<key>.html``, the run's page (tlcore/export/web.py) kept in the space:

    WORKSPACE/spaces/<id>/phone-pages/<run folder>.key    the run's key (made once, kept)
    WORKSPACE/spaces/<id>/phone-pages/<key>.html          its page, replaced when it is made again

The key is as unguessable as a space's id (``secrets.token_urlsafe(16)``: 128 bits) and opens that
one file only: the server (studio/https_server.py) answers ``/page/<key>.html`` with the file of
that name, found by its key alone, and nothing else. Clearing a space (or the class) removes its
pages with it. The same run keeps its key, so a QR code already scanned stays valid after the
page is made again (new behaviours, another "not sure" line).
"""

from __future__ import annotations

import os
import re
import secrets
import tempfile
from pathlib import Path

from ..data.names import is_safe_name
from ..runs.record import RunFolderError

PAGES_DIR = "phone-pages"
ROUTE = "page"  # https://HOST:PORT/page/<key>.html
_KEY = re.compile(r"[A-Za-z0-9_-]{22}")  # secrets.token_urlsafe(16)


def _write_atomically(path: Path, data: bytes) -> None:
    handle, partial = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}-", suffix=".partial")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        os.chmod(partial, 0o644)
        os.replace(partial, path)
    finally:
        Path(partial).unlink(missing_ok=True)


def page_key(space_folder, run_name: str) -> str:
    """The key of the run's page in this space (made the first time, then always the same)."""
    if not is_safe_name(run_name):
        raise RunFolderError(f"'{run_name[:40]}' is not a run of this space.")
    folder = Path(space_folder) / PAGES_DIR
    folder.mkdir(parents=True, exist_ok=True)
    kept = folder / f"{run_name}.key"
    try:
        key = kept.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        key = ""
    if not _KEY.fullmatch(key):
        key = secrets.token_urlsafe(16)
        _write_atomically(kept, key.encode("ascii"))
    return key


def publish_page(space_folder, run_name: str, page_html: str) -> str:
    """Keep ``page_html`` as the run's page in this space; returns its key."""
    key = page_key(space_folder, run_name)
    _write_atomically(Path(space_folder) / PAGES_DIR / f"{key}.html", page_html.encode("utf-8"))
    return key


def page_path(space_folder, run_name: str) -> Path | None:
    """The run's page, if it was made."""
    kept = Path(space_folder) / PAGES_DIR / f"{run_name}.key"
    key = kept.read_text(encoding="ascii").strip() if kept.is_file() else ""
    path = Path(space_folder) / PAGES_DIR / f"{key}.html"
    return path if _KEY.fullmatch(key) and path.is_file() else None


def page_url(base_url: str, key: str) -> str:
    """``https://192.168.1.20:8501/page/KEY.html`` for the classroom at ``base_url``."""
    return f"{base_url.rstrip('/')}/{ROUTE}/{key}.html"


def find_page(workspace, key: str) -> Path | None:
    """The page with this key in any space of ``workspace``; None for anything else (a key that
    cannot be one, no such page, a link instead of a file)."""
    if not isinstance(key, str) or not _KEY.fullmatch(key):
        return None
    for path in (Path(workspace) / "spaces").glob(f"*/{PAGES_DIR}/{key}.html"):
        if path.is_file() and not path.is_symlink():
            return path
    return None


__all__ = ["PAGES_DIR", "ROUTE", "find_page", "page_key", "page_path", "page_url", "publish_page"]
