"""ImageNet weights into Keras's cache, with progress a page can show, a checked hash, and a mirror.

Keras downloads weights itself on first use, showing progress only in the terminal. Calling
``ensure_imagenet_weights`` first puts the file where Keras looks (``keras_models_dir()``,
under the name Keras uses), so Keras then finds it and downloads nothing:

- ``TLCORE_WEIGHTS_URL`` (a base URL, e.g. ``http://192.168.1.5:8765/`` from another laptop
  running ``tlcore serve-weights``) is tried before the public origin Keras uses;
- the file is written to a temporary file in the same folder, its hash checked where Keras
  lists one, then renamed: a download that stops halfway or a wrong file leaves nothing behind,
  and raises ``WeightsDownloadError`` (a ``WeightsUnavailableError``) in one plain sentence.

Where Keras downloads each file, and its hash, are the spec's (``weights_origin``, ``weights_hash``).
The mirror is a ``tlcore serve-weights`` on another laptop (``weights_server.py``).
"""

from __future__ import annotations

import hashlib
import http.client
import logging
import os
import socket
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .registry import get_backbone
from .spec import BackboneSpec
from .weights import WeightsUnavailableError, keras_models_dir
from .weights_server import DEFAULT_SERVE_PORT, MIRROR_ENV

log = logging.getLogger(__name__)

PUBLIC_ENV = "TLCORE_PUBLIC_WEIGHTS"  # "off": never download from the public origin (tests; strict schools)
CHUNK_BYTES = 256 * 1024
KERAS_HASH = "keras"  # expected_hash's default: the hash Keras lists for the file (the spec's), if any

_file_locks: dict[str, threading.Lock] = {}  # one download of a file at a time
_file_locks_lock = threading.Lock()


class WeightsDownloadError(WeightsUnavailableError):
    """The weights could not be downloaded; the message says how far it got and what to do."""

    def __init__(self, spec: BackboneSpec, message: str, cause: str = ""):
        RuntimeError.__init__(self, message)
        self.spec, self.cause = spec, cause


@dataclass(frozen=True)
class DownloadProgress:
    """How far a download is: what a progress bar shows."""

    file_name: str
    source: str
    done_bytes: int
    total_bytes: int | None  # None when the server does not say
    seconds_left: float | None

    @property
    def fraction(self) -> float | None:
        return min(1.0, self.done_bytes / self.total_bytes) if self.total_bytes else None

    def words(self) -> str:
        """"12 of 40 MB, about 30 s left"."""
        done = _mb(self.done_bytes, self.total_bytes or self.done_bytes)
        text = f"{done} of {_mb(self.total_bytes)} MB" if self.total_bytes else f"{done} MB"
        if self.seconds_left is not None and self.total_bytes and self.done_bytes < self.total_bytes:
            text += f", about {_duration(self.seconds_left)} left"
        return text


@dataclass(frozen=True)
class _Failure:
    url: str
    done: int
    total: int | None
    reason: str
    wrong_file: bool = False


def mirror_base(value: str | None = None) -> str | None:
    """The weights server's base URL ($TLCORE_WEIGHTS_URL unless given), ending in "/"; None if unset."""
    text = (os.environ.get(MIRROR_ENV, "") if value is None else value).strip()
    if not text:
        return None
    if urllib.parse.urlsplit(text).scheme not in ("http", "https") or not urllib.parse.urlsplit(text).netloc:
        raise ValueError(f"{MIRROR_ENV} must be an http:// or https:// address such as "
                         f"http://192.168.1.5:{DEFAULT_SERVE_PORT}/; got {text!r}.")
    return text.rstrip("/") + "/"


def ensure_imagenet_weights(spec: BackboneSpec | str, input_size: int | None = None,
                            progress: Callable[[DownloadProgress], None] | None = None, *,
                            expected_hash: str | None = KERAS_HASH, folder=None, mirror: str | None = None,
                            origin: str | None = None, timeout: float = 30.0, min_interval: float = 0.2) -> Path:
    """The path of ``spec``'s ImageNet weights in Keras's cache, downloaded first if missing.

    Tries the mirror (``mirror``, else $TLCORE_WEIGHTS_URL, with the file name appended), then
    ``origin`` (default: the URL Keras uses). ``progress`` is called at most every
    ``min_interval`` seconds, and once at the end. ``expected_hash``: md5 or sha256 hex; the
    default is what Keras lists for the file; None checks nothing. WeightsDownloadError if no
    source gave the right file; then nothing is left in the cache."""
    spec = get_backbone(spec) if isinstance(spec, str) else spec
    name = spec.weights_filename(input_size)
    folder = Path(folder) if folder is not None else keras_models_dir()
    target = folder / name
    expected = spec.weights_checksum(input_size) if expected_hash == KERAS_HASH else expected_hash
    base = mirror_base(mirror)
    public = origin or (None if os.environ.get(PUBLIC_ENV, "").lower() == "off" else spec.weights_url(input_size))
    urls = ([base + urllib.parse.quote(name)] if base else []) + ([public] if public else [])
    with _file_locks_lock:
        file_lock = _file_locks.setdefault(str(target), threading.Lock())
    with file_lock:
        if target.is_file():
            return target
        folder.mkdir(parents=True, exist_ok=True)
        failures = []
        for url in urls:
            failure = _download(url, target, expected, progress, timeout, min_interval)
            if failure is None:
                return target
            log.warning("Weights download from %s failed: %s", url, failure.reason)
            failures.append(failure)
    if not failures:
        raise WeightsDownloadError(spec, f"The ImageNet weights for {spec.title} are not on this computer, and "
                                         f"downloading is off here ({PUBLIC_ENV}=off). Ways out: run `tlcore "
                                         f"fetch-weights {spec.name}` where there is internet, or set {MIRROR_ENV} "
                                         "to a weights server on the school network; use a weights file you have "
                                         "(--weights FILE, or upload it in the app); or train from scratch "
                                         "(--weights none), which needs far more pictures and time.")
    raise WeightsDownloadError(spec, _failure_words(spec, failures, bool(base)), failures[-1].reason)


def _download(url: str, target: Path, expected: str | None, progress, timeout: float,
              min_interval: float) -> _Failure | None:
    """One try: into a temporary file beside ``target``, renamed only when whole and right."""
    digest = hashlib.new("sha256" if expected and len(expected) == 64 else "md5") if expected else None
    handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    done, total, started, last = 0, None, time.monotonic(), 0.0
    try:
        with os.fdopen(handle, "wb") as out:
            try:
                with urllib.request.urlopen(url, timeout=timeout) as response:
                    length = response.headers.get("Content-Length")
                    total = int(length) if length and length.isdigit() else None
                    while chunk := response.read(CHUNK_BYTES):
                        out.write(chunk)
                        done += len(chunk)
                        if digest is not None:
                            digest.update(chunk)
                        now = time.monotonic()
                        if progress is not None and now - last >= min_interval:
                            last = now
                            progress(_progress(target.name, url, done, total, now - started))
            except (OSError, http.client.HTTPException) as error:
                return _Failure(url, done, total, _reason(error, done))
        if total is not None and done < total:
            return _Failure(url, done, total, "connection lost")
        if digest is not None and digest.hexdigest() != expected.lower():
            return _Failure(url, done, total, "the file's checksum is not the one Keras lists", wrong_file=True)
        if progress is not None:
            progress(_progress(target.name, url, done, total or done, time.monotonic() - started))
        os.replace(temporary, target)
        return None
    finally:
        Path(temporary).unlink(missing_ok=True)


def _progress(name: str, url: str, done: int, total: int | None, elapsed: float) -> DownloadProgress:
    left = None
    if total and done and elapsed > 0:
        left = max(0.0, (total - done) / (done / elapsed))
    return DownloadProgress(name, url, done, total, left)


def _reason(error: BaseException, done: int) -> str:
    if isinstance(error, urllib.error.HTTPError):
        return f"the server answered {error.code} {error.reason}"
    cause = getattr(error, "reason", error)
    if isinstance(cause, (socket.timeout, TimeoutError)):
        return "the connection timed out"
    if done or isinstance(error, (http.client.IncompleteRead, ConnectionResetError)):
        return "connection lost"
    if isinstance(cause, socket.gaierror):
        return "the server's name is not known (no internet connection?)"
    return "the server could not be reached (no connection?)"


def _failure_words(spec: BackboneSpec, failures: list[_Failure], had_mirror: bool) -> str:
    """One sentence for the failure that got furthest."""
    worst = max(failures, key=lambda f: (f.wrong_file, f.done))
    where = urllib.parse.urlsplit(worst.url).netloc
    way_out = ("try again, or check the weights server named in TLCORE_WEIGHTS_URL." if had_mirror else
               "try again, or set TLCORE_WEIGHTS_URL to a computer on your network that has them "
               "(`tlcore serve-weights` there).")
    if worst.wrong_file:
        return (f"The ImageNet weights for {spec.title} downloaded from {where} are not the right file "
                f"({worst.reason}). Nothing was kept; {way_out}")
    if worst.done and worst.total:
        return (f"The download of the ImageNet weights for {spec.title} stopped at "
                f"{_mb(worst.done, worst.total)} of {_mb(worst.total)} MB ({worst.reason}). Nothing was kept; {way_out}")
    return (f"The ImageNet weights for {spec.title} could not be downloaded from {where} ({worst.reason}). "
            f"Nothing was kept; {way_out}")


def _mb(count: int | None, scale: int | None = None) -> str:
    """Megabytes, with one decimal for small files (so 1.2 of 2.0 MB does not read "1 of 2")."""
    scale = count if scale is None else scale
    return f"{count / 1e6:.1f}" if (scale or 0) < 10e6 else f"{count / 1e6:.0f}"


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.0f} min"
