"""`tlcore classroom --cluster local`, as a teacher runs it: a student's training runs on the Ray
cluster the classroom started, its live curves on the page; Ctrl+C to the terminal's process
group stops the training, keeps what it learned as a run, and ends every process, Ray's too
(they run in a session of their own, so the Ctrl+C reaches them only through the classroom)."""

from __future__ import annotations

import os
import signal
import ssl
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest

pytest.importorskip("ray", reason='Ray is an optional extra: pip install -e ".[cluster]"')

from test_shutdown import (  # noqa: E402  (the classroom's shutdown journeys; skips without Chromium)
    ROOT,
    assert_all_stopped,
    assert_kept_as_a_run,
    browser,  # noqa: F401  (a fixture)
    free_port,
    in_session,
    journal_of,
    long_training,
    train_until_fine_tuning,
    wait_for_health,
)
from tlcore.queue import INTERRUPTED, STOPPED_WHILE_RUNNING  # noqa: E402
from tlcore.spaces import SpaceStore  # noqa: E402

pytestmark = pytest.mark.e2e


def children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(stat.parent.name))
        except (OSError, ValueError):
            continue
    return found


@contextmanager
def classroom_on_ray(tmp_path: Path):
    """`tlcore classroom --cluster local` in a session of its own (as a terminal starts it), with one
    student, Ada; yields (process, URL, Ada's space, log file)."""
    workspace = tmp_path / "workspace"
    ada = SpaceStore.in_workspace(workspace).create("Ada")
    port = free_port()
    env = {**os.environ, "TLCORE_WORKSPACE": str(workspace), "TLCORE_CACHE_DIR": str(tmp_path / "cache"),
           "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "2"}
    log = tmp_path / "classroom.log"
    with open(log, "w") as out:
        process = subprocess.Popen([sys.executable, "-m", "tlcore", "classroom", "--port", str(port), "--teacher-code",
                                    "K7QM-4TZP", "--workers", "1", "--address", "127.0.0.1", "--cluster", "local"],
                                   cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    sessions = set()
    try:
        url = f"https://127.0.0.1:{port}"
        wait_for_health(url + "/_stcore/health", process, ssl._create_unverified_context())
        sessions = {os.getsid(child) for child in children(process.pid)} - {process.pid}
        assert len(sessions) == 1, "the local Ray cluster runs in a session of its own"
        process.ray_session = sessions.pop()
        yield process, url, ada, log
    finally:
        for session in (process.pid, getattr(process, "ray_session", None)):
            if session and in_session(session):
                os.killpg(session, signal.SIGKILL)
        process.wait()


def test_ctrl_c_keeps_a_training_on_ray_and_ends_every_process(tmp_path, mobilenet_035_weights, browser):  # noqa: F811
    with classroom_on_ray(tmp_path) as (classroom, url, ada, log):
        SpaceStore.in_workspace(tmp_path / "workspace").save_settings(ada.id, long_training(mobilenet_035_weights))
        train_until_fine_tuning(browser, f"{url}/train?space={ada.id}", ignore_https_errors=True)
        assert "it shares the workspace" in log.read_text()  # a local worker reads the pictures in place
        os.killpg(classroom.pid, signal.SIGINT)  # Ctrl+C in the terminal
        assert_all_stopped(classroom, url, log)
        assert in_session(classroom.ray_session) == [], log.read_text()
    assert_kept_as_a_run(ada.runs_dir, tmp_path / "workspace")
    assert journal_of(tmp_path / "workspace") == {ada.id: (INTERRUPTED, STOPPED_WHILE_RUNNING)}
