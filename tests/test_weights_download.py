"""ImageNet weights downloads: the mirror first, progress up to the size, the hash checked, nothing
kept when a download stops halfway. Every server is a real one on 127.0.0.1; nothing goes out."""

from __future__ import annotations

import ast
import functools
import hashlib
import http.server
import importlib.util
import shutil
import threading
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest

from tlcore.backbones import BACKBONES, get_backbone
from tlcore.backbones.download import DownloadProgress, WeightsDownloadError, ensure_imagenet_weights, mirror_base
from tlcore.backbones.weights import WeightsUnavailableError
from tlcore.backbones.weights_server import make_weights_server

SPEC = get_backbone("mobilenet_v2_035")
NAME = SPEC.weights_filename(96)  # the name Keras expects: ..._0.35_96_no_top.h5
UNREACHABLE = "http://127.0.0.1:9/nothing-listens-here.h5"  # the discard port: refused at once


@contextmanager
def serving(server):
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def mirror_folder(tmp_path, shared_weights) -> Path:
    """A weights server's folder holding the real MobileNetV2-0.35 file under Keras's name."""
    folder = tmp_path / "mirror"
    folder.mkdir()
    shutil.copyfile(shared_weights, folder / NAME)
    return folder


@pytest.fixture
def keras_cache(tmp_path) -> Path:
    return tmp_path / "keras" / "models"


def sha256(path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


class Recorder(http.server.BaseHTTPRequestHandler):
    """Serves ``body`` for any path; with ``cut_at``, sends the full length but stops there."""

    body, cut_at, requests = b"", None, []

    def do_GET(self):
        type(self).requests.append(self.path)
        self.send_response(200)
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body if self.cut_at is None else self.body[: self.cut_at])
        self.wfile.flush()
        self.close_connection = True

    def log_message(self, *args):
        pass


def recorder(body: bytes, cut_at: int | None = None):
    handler = type("Handler", (Recorder,), {"body": body, "cut_at": cut_at, "requests": []})
    return http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler), handler


def test_the_mirror_serves_the_real_file_with_progress_up_to_its_size(mirror_folder, keras_cache, monkeypatch):
    size = (mirror_folder / NAME).stat().st_size
    seen: list[DownloadProgress] = []
    with serving(make_weights_server(mirror_folder, "127.0.0.1", 0)) as url:
        monkeypatch.setenv("TLCORE_WEIGHTS_URL", url.rstrip("/"))  # with or without the last "/"
        path = ensure_imagenet_weights(SPEC, 96, seen.append, expected_hash=sha256(mirror_folder / NAME),
                                       folder=keras_cache, origin=UNREACHABLE, min_interval=0)
    assert path == keras_cache / NAME and path.read_bytes() == (mirror_folder / NAME).read_bytes()
    assert leftovers(keras_cache) == [NAME]  # no temporary file beside it
    done = [p.done_bytes for p in seen]
    assert done == sorted(done) and done[-1] == size and len(seen) >= size // (256 * 1024)
    assert {p.total_bytes for p in seen} == {size} and {p.source for p in seen} == {url + NAME}
    assert seen[-1].fraction == 1.0 and seen[-1].seconds_left == 0.0
    assert seen[-1].words() == f"{size / 1e6:.1f} of {size / 1e6:.1f} MB"


def test_md5_hashes_are_checked_too(mirror_folder, keras_cache):
    md5 = hashlib.md5((mirror_folder / NAME).read_bytes()).hexdigest()
    with serving(make_weights_server(mirror_folder, "127.0.0.1", 0)) as url:
        assert ensure_imagenet_weights(SPEC, 96, expected_hash=md5, folder=keras_cache, mirror=url,
                                       origin=UNREACHABLE).is_file()


def test_a_file_with_the_wrong_hash_is_refused_and_not_kept(mirror_folder, keras_cache):
    with serving(make_weights_server(mirror_folder, "127.0.0.1", 0)) as url:
        with pytest.raises(WeightsDownloadError) as error:
            ensure_imagenet_weights(SPEC, 96, expected_hash="0" * 64, folder=keras_cache, mirror=url,
                                    origin=UNREACHABLE)
    assert str(error.value) == (
        f"The ImageNet weights for {SPEC.title} downloaded from 127.0.0.1:{url.split(':')[2].rstrip('/')} are "
        "not the right file (the file's checksum is not the one Keras lists). Nothing was kept; try again, "
        "or check the weights server named in TLCORE_WEIGHTS_URL.")
    assert isinstance(error.value, WeightsUnavailableError)  # TrainingJob shows it as it is
    assert leftovers(keras_cache) == []


def test_a_download_cut_halfway_leaves_nothing_and_says_how_far_it_got(shared_weights, keras_cache):
    body = shared_weights.read_bytes()
    server, _ = recorder(body, cut_at=len(body) // 2)
    seen = []
    with serving(server) as url:
        with pytest.raises(WeightsDownloadError) as error:
            ensure_imagenet_weights(SPEC, 96, seen.append, expected_hash=None, folder=keras_cache,
                                    origin=url + NAME, min_interval=0)
    assert str(error.value) == (
        f"The download of the ImageNet weights for {SPEC.title} stopped at {len(body) // 2 / 1e6:.1f} of "
        f"{len(body) / 1e6:.1f} MB (connection lost). Nothing was kept; try again, or set TLCORE_WEIGHTS_URL "
        "to a computer on your network that has them (`tlcore serve-weights` there).")
    assert leftovers(keras_cache) == []
    assert seen and seen[-1].done_bytes <= len(body) // 2 < len(body) == seen[-1].total_bytes


def test_the_mirror_is_tried_first_then_the_origin(shared_weights, keras_cache):
    body = shared_weights.read_bytes()
    cutting, cut = recorder(body, cut_at=1000)
    good, origin = recorder(body)
    with serving(cutting) as mirror_url, serving(good) as origin_url:
        path = ensure_imagenet_weights(SPEC, 96, expected_hash=hashlib.sha256(body).hexdigest(),
                                       folder=keras_cache, mirror=mirror_url, origin=origin_url + "public/" + NAME)
    assert cut.requests == ["/" + NAME] and origin.requests == ["/public/" + NAME]
    assert path.read_bytes() == body and leftovers(keras_cache) == [NAME]


def test_nothing_is_downloaded_when_keras_already_has_the_file(keras_cache):
    server, handler = recorder(b"never")
    keras_cache.mkdir(parents=True)
    (keras_cache / NAME).write_bytes(b"cached")
    with serving(server) as url:
        assert ensure_imagenet_weights(SPEC, 96, folder=keras_cache, mirror=url, origin=url) == keras_cache / NAME
    assert handler.requests == [] and (keras_cache / NAME).read_bytes() == b"cached"


def test_no_server_at_all_gives_one_sentence(keras_cache):
    with pytest.raises(WeightsDownloadError) as error:
        ensure_imagenet_weights(SPEC, 96, folder=keras_cache, origin=UNREACHABLE)
    assert str(error.value) == (
        f"The ImageNet weights for {SPEC.title} could not be downloaded from 127.0.0.1:9 (the server could not be "
        "reached (no connection?)). Nothing was kept; try again, or set TLCORE_WEIGHTS_URL to a computer on "
        "your network that has them (`tlcore serve-weights` there).")
    assert leftovers(keras_cache) == []


def test_the_weights_server_shares_weights_files_only(mirror_folder):
    (mirror_folder / "notes.txt").write_text("private")
    (mirror_folder / ".hidden.h5").write_text("private")
    (mirror_folder / "sub").mkdir()
    (mirror_folder / "sub" / "x.h5").write_text("private")
    with serving(make_weights_server(mirror_folder, "127.0.0.1", 0)) as url:
        with urllib.request.urlopen(url + NAME, timeout=10) as response:
            assert response.read() == (mirror_folder / NAME).read_bytes()
        for path in ("", "notes.txt", ".hidden.h5", "sub/x.h5", "..%2fmirror%2f" + NAME, "%2e%2e/" + NAME):
            with pytest.raises(urllib.error.HTTPError) as refused:
                urllib.request.urlopen(url + path, timeout=10)
            assert refused.value.code == 404, path
        request = urllib.request.Request(url + NAME, data=b"x", method="POST")
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=10)
        assert refused.value.code == 501


@pytest.mark.parametrize("value", ["ftp://laptop/weights", "file:///etc", "laptop:8765", "http://"])
def test_a_weights_url_that_cannot_work_is_refused_in_plain_words(value):
    with pytest.raises(ValueError) as error:
        mirror_base(value)
    assert str(error.value) == ("TLCORE_WEIGHTS_URL must be an http:// or https:// address such as "
                                f"http://192.168.1.5:8765/; got {value!r}.")
    assert mirror_base(" http://10.0.0.5:8765 ") == "http://10.0.0.5:8765/"


def test_progress_in_words():
    assert DownloadProgress("f", "u", 12_000_000, 40_000_000, 30).words() == "12 of 40 MB, about 30 s left"
    assert DownloadProgress("f", "u", 1_200_000, 2_000_000, 200).words() == "1.2 of 2.0 MB, about 3 min left"
    assert DownloadProgress("f", "u", 5_000_000, None, None).words() == "5.0 MB"


# -- each spec's origin and hash agree with the installed Keras ----------------------------------------
@functools.cache
def keras_strings() -> frozenset[str]:
    """Every string constant in keras/src/applications/*.py, read as text (no import)."""
    folder = Path(importlib.util.find_spec("keras").origin).parent / "src" / "applications"
    return frozenset(node.value for path in folder.glob("*.py") for node in ast.walk(ast.parse(path.read_text()))
                     if isinstance(node, ast.Constant) and isinstance(node.value, str))


@pytest.mark.parametrize("name", [name for name, spec in BACKBONES.items() if spec.pretrained])
def test_origins_and_hashes_match_the_installed_keras(name):
    spec, strings = BACKBONES[name], keras_strings()
    assert spec.weights_url() in strings or spec.weights_origin in strings, spec.weights_url()
    if spec.constructor == "MobileNetV2":
        assert spec.weights_hash is None  # Keras lists no hash for these files
    else:
        assert spec.weights_hash in strings


_KERAS_USES_IT = """
import os, sys
import h5py, keras, numpy as np
from keras.src.legacy.saving import legacy_h5_format
from tlcore.backbones.download import ensure_imagenet_weights
from tlcore.backbones.weights import keras_models_dir

shared, mirror_folder, mirror_url, name = sys.argv[1:]
source = keras.applications.MobileNetV2(alpha=0.35, include_top=False, weights=shared, input_shape=(96, 96, 3))
with h5py.File(os.path.join(mirror_folder, name), "w") as f:  # the legacy .h5 format Keras downloads
    legacy_h5_format.save_weights_to_hdf5_group(f, source)
path = ensure_imagenet_weights("mobilenet_v2_035", 96, origin="http://127.0.0.1:9/offline.h5")
assert path.parent == keras_models_dir(), path
# Keras now finds the file where it looks and downloads nothing (there is no internet here anyway).
model = keras.applications.MobileNetV2(alpha=0.35, include_top=False, weights="imagenet", input_shape=(96, 96, 3))
assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), source.get_weights()))
print("keras loaded", path)
"""


def test_keras_then_uses_the_downloaded_file_and_downloads_nothing(shared_weights, tmp_path):
    """In a fresh process (Keras reads KERAS_HOME once, when imported): mirror → cache → Keras."""
    import os
    import subprocess
    import sys

    folder = tmp_path / "mirror"
    folder.mkdir()
    with serving(make_weights_server(folder, "127.0.0.1", 0)) as url:
        env = {**os.environ, "KERAS_HOME": str(tmp_path / "keras-home"), "TLCORE_WEIGHTS_URL": url,
               "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
        done = subprocess.run([sys.executable, "-c", _KERAS_USES_IT, str(shared_weights), str(folder), url, NAME],
                              env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert f"keras loaded {tmp_path / 'keras-home' / 'models' / NAME}" in done.stdout
