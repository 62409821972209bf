"""`tlcore classroom` in a process of its own, and browsers that trust a given authority only.

Used by tests/test_classroom_devices.py and tests/test_classroom_proxy.py.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

from appserver import CHROMIUM, CHROMIUM_ARGS

ROOT = Path(__file__).resolve().parents[1]


@contextmanager
def classroom_process(base: Path, arguments: list[str], health_url: str, context=None, env: dict | None = None,
                      timeout: float = 120):
    """`python -m tlcore classroom ARGUMENTS` with its workspace, cache and Keras home in ``base``;
    returns once ``health_url`` answers "ok" (over ``context``); stopped with Ctrl+C."""
    log = open(base / "classroom.log", "w")
    process = subprocess.Popen(
        [sys.executable, "-m", "tlcore", "classroom", *arguments], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
        env={**os.environ, "TLCORE_WORKSPACE": str(base / "workspace"), "TLCORE_CACHE_DIR": str(base / "cache"),
             "KERAS_HOME": str(base / "keras"), "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONPATH": str(ROOT),
             "TLCORE_PUBLIC_WEIGHTS": "off", **(env or {})})
    try:
        deadline = time.monotonic() + timeout
        while True:
            assert process.poll() is None, (base / "classroom.log").read_text()
            assert time.monotonic() < deadline, "the classroom server did not start"
            try:
                with urllib.request.urlopen(health_url, timeout=3, context=context() if context else None) as answer:
                    if answer.read() == b"ok":
                        break
            except OSError:
                time.sleep(0.5)
        yield process
    finally:
        stop_classroom(process)
        log.close()


def stop_classroom(process) -> None:
    """What Ctrl+C does; killed if it has not stopped within a minute."""
    process.send_signal(signal.SIGINT)
    try:
        process.wait(60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def nss_home(folder: Path, ca: Path | None) -> Path:
    """A home folder whose NSS database (what Chromium on Linux trusts besides its own list)
    holds ``ca`` as an authority for websites, or nothing."""
    database = folder / ".pki" / "nssdb"
    database.mkdir(parents=True)
    subprocess.run(["certutil", "-d", f"sql:{database}", "-N", "--empty-password"], check=True)
    if ca is not None:
        subprocess.run(["certutil", "-d", f"sql:{database}", "-A", "-t", "C,,", "-n", "classroom", "-i", str(ca)],
                       check=True)
    return folder


def chromium_at_home(playwright, home: Path):
    """Chromium with ``home`` as its HOME (so its NSS database): no flag that ignores certificate errors."""
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True,
                                      env={**os.environ, "HOME": str(home)})
