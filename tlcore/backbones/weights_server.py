"""Share this computer's ImageNet weights on the school network, read-only: ``tlcore serve-weights``.

Another laptop's ``TLCORE_WEIGHTS_URL`` then points here, and its downloads (``download.py``) try
this server before the public address. Only weights files directly in the folder are served.
"""

from __future__ import annotations

import http.server
import logging
import os
import sys
import urllib.parse
from pathlib import Path

from .weights import keras_models_dir

log = logging.getLogger(__name__)

MIRROR_ENV = "TLCORE_WEIGHTS_URL"  # what the other computers set to this server's address
DEFAULT_SERVE_PORT = 8765
_CHUNK_BYTES = 256 * 1024


class _WeightsHandler(http.server.BaseHTTPRequestHandler):
    """GET/HEAD of a weights file directly in the folder; nothing else (no listing, no uploads)."""

    folder: Path

    def do_GET(self):
        self._send(body=True)

    def do_HEAD(self):
        self._send(body=False)

    def _send(self, body: bool) -> None:
        name = urllib.parse.unquote(urllib.parse.urlsplit(self.path).path).lstrip("/")
        path = self.folder / name
        if (not name or "/" in name or "\\" in name or name.startswith(".") or not name.endswith(".h5")
                or path.is_symlink() or not path.is_file()):
            self.send_error(404, "No such weights file here")
            return
        with open(path, "rb") as file:
            size = os.fstat(file.fileno()).st_size
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(size))
            self.end_headers()
            while body and (chunk := file.read(_CHUNK_BYTES)):
                self.wfile.write(chunk)

    def log_message(self, format, *args):
        log.info("weights server: %s %s", self.address_string(), format % args)


def make_weights_server(folder=None, host: str = "0.0.0.0", port: int = DEFAULT_SERVE_PORT):
    """A ThreadingHTTPServer sharing ``folder`` (Keras's cache by default), not yet serving."""
    handler = type("WeightsHandler", (_WeightsHandler,), {"folder": Path(folder or keras_models_dir())})
    return http.server.ThreadingHTTPServer((host, int(port)), handler)


def serve_weights(folder=None, host: str = "0.0.0.0", port: int = DEFAULT_SERVE_PORT, address: str | None = None,
                  out=sys.stdout) -> None:
    """What `tlcore serve-weights` runs: share the weights until Ctrl+C. ``address``: how the other
    computers reach this one (its address on the school network; ``host`` if not given)."""
    server = make_weights_server(folder, host, port)
    folder = server.RequestHandlerClass.folder
    files = sorted(p.name for p in folder.glob("*.h5")) if folder.is_dir() else []
    url = f"http://{address or host}:{server.server_address[1]}/"
    print(f"Sharing {len(files)} weights file(s) from {folder} (read-only).", file=out)
    print(f"On the other computers, before starting the app:  {MIRROR_ENV}={url}", file=out)
    print("Press Ctrl+C to stop.", file=out, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
