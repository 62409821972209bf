"""Chosen files that never reached the server, so the Data page can name them instead of losing them.

Streamlit's uploader hands the script only the files whose upload finished. A file still on its way
when the button is pressed (a phone on the school's wifi), or whose upload failed, is simply not in
the list; the Data page then empties its uploaders, and nothing would ever say the file was missing
("30 chosen, 29 read, 0 skipped"). But the browser asks the server for an upload address for every
file it was given, in one request per choice (Streamlit's ``FileURLsRequest``): the files named in
the same request as files the script received, but not received themselves, are the ones that did
not arrive. ``track`` makes the server's upload manager remember those requests, per session;
``not_arrived`` names the missing files beside the files a group of uploaders received. A file the
user removed (the X) is not missing.

Only the upload manager's public methods are wrapped (``get_upload_urls``, ``remove_file``,
``remove_session_files``); where they change, nothing is tracked and nothing is reported.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

_KEPT_REQUESTS = 200  # per session: far more choices than one lesson makes
_LOCK = threading.Lock()


class _Requests:
    """What one upload manager was asked: per session, each request's (file id, name) pairs."""

    def __init__(self):
        self.by_session: dict[str, list[tuple[tuple[str, str], ...]]] = {}
        self.removed: dict[str, set[str]] = {}


def track(manager) -> None:
    """Make ``manager`` (the server's UploadedFileManager) remember every session's upload requests;
    once per manager (calling again does nothing)."""
    with _LOCK:
        if getattr(manager, "_tl_requests", None) is not None:
            return
        requests = _Requests()
        ask, remove, forget = manager.get_upload_urls, manager.remove_file, manager.remove_session_files

        def get_upload_urls(session_id, file_names):
            infos = ask(session_id, file_names)
            with _LOCK:
                kept = requests.by_session.setdefault(session_id, [])
                kept.append(tuple((info.file_id, str(name)) for info, name in zip(infos, file_names)))
                del kept[:-_KEPT_REQUESTS]
            return infos

        def remove_file(session_id, file_id):
            with _LOCK:
                requests.removed.setdefault(session_id, set()).add(file_id)
            return remove(session_id, file_id)

        def remove_session_files(session_id):
            with _LOCK:
                requests.by_session.pop(session_id, None)
                requests.removed.pop(session_id, None)
            return forget(session_id)

        manager.get_upload_urls, manager.remove_file = get_upload_urls, remove_file
        manager.remove_session_files = remove_session_files
        manager._tl_requests = requests


def not_arrived(manager, session_id: str, groups: Sequence[Sequence]) -> list[list[str]]:
    """For each group of received files (one uploader's UploadedFile list), the names of the files
    chosen with them that are not among them: still uploading, or lost on the way. Empty lists
    where ``manager`` was never tracked."""
    requests = getattr(manager, "_tl_requests", None)
    if requests is None:
        return [[] for _ in groups]
    with _LOCK:
        asked = list(requests.by_session.get(session_id, []))
        removed = set(requests.removed.get(session_id, set()))
    received = {file.file_id for group in groups for file in group}
    missing = []
    for group in groups:
        mine = {file.file_id for file in group}
        missing.append([name for request in asked if mine.intersection(file_id for file_id, _ in request)
                        for file_id, name in request if file_id not in received and file_id not in removed])
    return missing


def track_this_server() -> None:
    """``track`` the running server's upload manager: call it where files can be chosen, before they are."""
    context = _context()
    if context is not None:
        track(context.uploaded_file_mgr)


def missing_in_this_session(groups: Sequence[Sequence]) -> list[list[str]]:
    """``not_arrived`` for the running session."""
    context = _context()
    if context is None:
        return [[] for _ in groups]
    return not_arrived(context.uploaded_file_mgr, context.session_id, groups)


def _context():
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    context = get_script_run_ctx()
    return context if getattr(context, "uploaded_file_mgr", None) is not None else None
