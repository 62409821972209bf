"""A server stopped in the middle of a training keeps what it learned, and says so once.

Real servers in processes of their own, real signals: the solo app (`streamlit run app.py`) in a
terminal that is closed (a pseudo-terminal whose other end goes away: the kernel sends SIGHUP,
and writing to it fails from then on), `tlcore classroom` sent SIGTERM (its Streamlit server
must stop with it), and Ctrl+C to the classroom's whole process group. With a training
mid-fine-tuning (MobileNetV2-0.35 at 96 px on the built-in demo, 1 + 1000 epochs): the process
tree ends, the epochs learned so far are a run, no claimed folder is left, and the space is
told the truth after a restart, once."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import select
import signal
import socket
import ssl
import subprocess
import sys
import termios
import threading
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest

from appserver import ROOT, chromium_missing, free_port, launch_chromium, stop_app, start_app, wait_healthy, wait_idle

_MISSING = chromium_missing()
if _MISSING:
    pytest.skip(_MISSING, allow_module_level=True)

from playwright.sync_api import sync_playwright  # noqa: E402

from tlcore.queue import INTERRUPTED, STOPPED_WHILE_RUNNING  # noqa: E402
from tlcore.spaces import SpaceStore  # noqa: E402
from tlcore.runs import CLAIM_FILE, load_run  # noqa: E402
from tlcore.settings import TrainingSettings  # noqa: E402

pytestmark = pytest.mark.e2e
PATIENCE_MS = 180_000  # a first page run imports TensorFlow: slow on a busy machine (no speed is tested)
FINE_TUNING = re.compile(r"Fine-tuning the top blocks.*?Epoch (\d+) of 1,?001", re.S)  # 1,001: numbers grouped as the reader writes them


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        yield chromium
        chromium.close()


def long_training(weights: str) -> TrainingSettings:
    """Long enough to be stopped in the middle: one epoch of the head, then 1000 of fine-tuning."""
    return TrainingSettings(backbone="mobilenet_v2_035", weights=weights, input_size=96, learning_blocks=1,
                            epochs=1, fine_tune_epochs=1000)


def train_until_fine_tuning(browser, url: str, **context) -> None:
    """Press Start on the Train page at ``url``; return once a whole epoch of fine-tuning is learned."""
    page = browser.new_context(**context).new_page()
    try:
        page.goto(url)
        wait_idle(page, PATIENCE_MS)
        page.locator(".st-key-train_start button").first.click()
        deadline = time.monotonic() + 300  # a bound for a failure, not a speed test
        while not ((found := FINE_TUNING.search(page.inner_text("body"))) and int(found.group(1)) >= 3):
            assert time.monotonic() < deadline, page.inner_text("body")
            page.wait_for_timeout(300)
    finally:
        page.context.close()


def train_page_text(browser, url: str) -> str:
    page = browser.new_page()
    try:
        page.goto(url + "/train")
        wait_idle(page, PATIENCE_MS)
        return page.inner_text("body")
    finally:
        page.close()


def in_session(session_id: int) -> list[int]:
    """Processes still running in the session ``session_id`` (a server and whatever it started)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == session_id and fields[0] != "Z":
            found.append(int(stat.parent.name))
    return found


def assert_kept_as_a_run(runs_dir: Path, workspace: Path) -> None:
    """One run, holding the head's epoch and at least one of fine-tuning; nothing left claimed."""
    [folder] = [child for child in runs_dir.iterdir() if (child / "run.json").is_file()]
    record = json.loads((folder / "run.json").read_text())
    assert len(record["history"]["loss"]) >= 2 and record["fine_tune_start_epoch"] == 1, record["history"]
    run = load_run(folder)
    assert run.record.stopped and run.keras_model.output_shape == (None, 3)  # model.keras loads
    assert list(workspace.rglob(CLAIM_FILE)) == []


def journal_of(workspace: Path) -> dict:
    entries = json.loads((workspace / "classroom" / "queue.json").read_text())["entries"]
    return {entry["space"]: (entry["state"], entry["error"]) for entry in entries}


@contextmanager
def in_a_terminal(command: list[str], env: dict, cwd: Path):
    """``command`` in a session of its own whose controlling terminal is a pseudo-terminal; yields
    (process, close), where close() closes the terminal as a window closing does. Output is kept in
    ``process.output``."""
    master, slave = pty.openpty()
    process = subprocess.Popen(command, stdin=slave, stdout=slave, stderr=slave, cwd=cwd, env=env,
                               start_new_session=True,
                               preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0))
    os.close(slave)
    process.output = bytearray()
    closing = threading.Event()

    def read() -> None:  # the only user of ``master``: a read in progress would keep it open after close
        while not closing.is_set():
            if select.select([master], [], [], 0.1)[0]:
                try:
                    process.output += os.read(master, 65536)
                except OSError:  # EIO: the other end is gone
                    break
        os.close(master)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()

    def close() -> None:
        closing.set()
        reader.join()

    try:
        yield process, close
    finally:
        close()
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def test_a_closed_terminal_keeps_the_training_and_says_so_once(tmp_path, mobilenet_035_weights, browser):
    workspace = tmp_path / "workspace"
    store = SpaceStore.in_workspace(workspace)
    store.save_settings(store.solo().id, long_training(mobilenet_035_weights))
    env = {**os.environ, "TLCORE_WORKSPACE": str(workspace), "TLCORE_CACHE_DIR": str(tmp_path / "cache"),
           "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "2"}
    port = free_port()
    command = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true", "--server.port",
               str(port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
               "--server.fileWatcherType", "none", "--server.runOnSave", "false"]
    url = f"http://127.0.0.1:{port}"
    with in_a_terminal(command, env, ROOT) as (server, close_terminal):
        wait_for_health(url + "/_stcore/health", server, ssl_context=None)
        train_until_fine_tuning(browser, url + "/train")
        close_terminal()  # the kernel hangs the terminal up: SIGHUP, and writing there fails (EIO)
        assert server.wait(180) == 0, server.output.decode(errors="replace")
        assert in_session(server.pid) == []
    assert_kept_as_a_run(workspace, workspace)
    assert journal_of(workspace) == {"solo": (INTERRUPTED, STOPPED_WHILE_RUNNING)}
    for restart, told in ((1, True), (2, False)):  # said after the next start, not after later ones
        app = start_app({"TLCORE_WORKSPACE": str(workspace), "TLCORE_CACHE_DIR": str(tmp_path / "cache")})
        try:
            wait_healthy(app)
            text = train_page_text(browser, app)
        finally:
            stop_app(app)
        assert (STOPPED_WHILE_RUNNING in text) is told, (restart, text)
        assert "Your last model (" in text  # the run kept is the one the page shows
        assert "Traceback" not in app.log.read_text()


@contextmanager
def classroom_server(tmp_path: Path):
    """`tlcore classroom` in a session of its own (as a terminal starts it), serving a workspace
    with one student, Ada; yields (process, URL, Ada's space, log file)."""
    workspace = tmp_path / "workspace"
    store = SpaceStore.in_workspace(workspace)
    ada = store.create("Ada")
    port = free_port()
    env = {**os.environ, "TLCORE_WORKSPACE": str(workspace), "TLCORE_CACHE_DIR": str(tmp_path / "cache"),
           "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "2"}
    log = tmp_path / "classroom.log"
    with open(log, "w") as out:
        process = subprocess.Popen([sys.executable, "-m", "tlcore", "classroom", "--port", str(port),
                                    "--teacher-code", "K7QM-4TZP", "--workers", "1", "--address", "127.0.0.1"],
                                   cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        url = f"https://127.0.0.1:{port}"
        wait_for_health(url + "/_stcore/health", process, ssl._create_unverified_context())
        yield process, url, ada, log
    finally:
        if process.poll() is None or in_session(process.pid):
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def assert_all_stopped(process, url: str, log: Path) -> None:
    """`tlcore classroom` ended well, its Streamlit server with it: no process, nothing on the port."""
    assert process.wait(180) == 0, log.read_text()
    assert in_session(process.pid) == [], log.read_text()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", int(url.rsplit(":", 1)[1])), timeout=5).close()
    assert "Traceback" not in log.read_text()


def test_sigterm_to_the_classroom_stops_its_server_and_keeps_the_training(tmp_path, mobilenet_035_weights,
                                                                          browser):
    with classroom_server(tmp_path) as (classroom, url, ada, log):
        SpaceStore.in_workspace(tmp_path / "workspace").save_settings(ada.id, long_training(mobilenet_035_weights))
        train_until_fine_tuning(browser, f"{url}/train?space={ada.id}", ignore_https_errors=True)
        classroom.send_signal(signal.SIGTERM)  # to `tlcore classroom` alone, as `kill` or a service manager does
        assert_all_stopped(classroom, url, log)
    assert_kept_as_a_run(ada.runs_dir, tmp_path / "workspace")
    assert journal_of(tmp_path / "workspace") == {ada.id: (INTERRUPTED, STOPPED_WHILE_RUNNING)}


def test_ctrl_c_stops_the_whole_classroom_cleanly(tmp_path, browser):
    """Ctrl+C reaches every process of the terminal's group: the server gets SIGINT from the
    terminal and SIGTERM from `tlcore classroom`; it stops once, without a traceback."""
    with classroom_server(tmp_path) as (classroom, url, ada, log):
        context = browser.new_context(ignore_https_errors=True)
        page = context.new_page()
        page.goto(f"{url}/train?space={ada.id}")  # the server's training line opens
        wait_idle(page, PATIENCE_MS)
        context.close()
        os.killpg(classroom.pid, signal.SIGINT)
        assert_all_stopped(classroom, url, log)


def wait_for_health(url: str, process, ssl_context, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while True:
        assert process.poll() is None, getattr(process, "output", b"").decode(errors="replace")
        assert time.monotonic() < deadline, f"{url} did not answer"
        try:
            with urllib.request.urlopen(url, timeout=3, context=ssl_context) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.3)


def test_a_killed_classroom_takes_its_server_with_it(tmp_path):
    """`tlcore classroom` killed outright (SIGKILL: it can pass nothing on) does not leave its
    Streamlit server holding the classroom's port: the server sees its parent gone and stops."""
    with classroom_server(tmp_path) as (classroom, url, ada, log):
        [server] = [pid for pid in in_session(classroom.pid) if pid != classroom.pid]
        os.kill(classroom.pid, signal.SIGKILL)
        classroom.wait()
        deadline = time.monotonic() + 120  # a bound for a failure, not a speed test
        while in_session(classroom.pid):
            assert time.monotonic() < deadline, (server, log.read_text())
            time.sleep(0.5)
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", int(url.rsplit(":", 1)[1])), timeout=5).close()
        assert "Traceback" not in log.read_text()
