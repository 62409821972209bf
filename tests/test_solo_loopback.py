"""Solo mode (`streamlit run app.py`, as the README says) is reachable from this computer only.

The app is started with the README's command (port and headless set through Streamlit's own
environment variables, so the command line is exactly the README's), then the kernel's table of
listening sockets is read: one socket, on 127.0.0.1. The README's address, http://localhost:PORT,
answers, and in Chromium it is a secure context (the camera may be used there without HTTPS).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from appserver import ROOT, AppURL, chromium_missing, free_port, launch_chromium, stop_app, wait_healthy, wait_idle
from tlcore.classroom.network import lan_address

pytestmark = pytest.mark.e2e


def listening_addresses(port: int) -> list[str]:
    """Addresses with a socket listening on ``port``, from Linux's /proc/net/tcp and tcp6."""
    found = []
    for table, width in (("/proc/net/tcp", 8), ("/proc/net/tcp6", 32)):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, port_hex = local.split(":")
            if state == "0A" and int(port_hex, 16) == port:  # 0A: LISTEN
                raw = bytes.fromhex(address)
                if sys.byteorder == "little":  # the kernel prints each 32-bit word in the machine's byte order
                    raw = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))
                found.append(socket.inet_ntop(socket.AF_INET if width == 8 else socket.AF_INET6, raw))
    return found


def test_solo_listens_on_loopback_only_and_localhost_works(tmp_path):
    if not Path("/proc/net/tcp").exists():
        pytest.skip("reads Linux's /proc/net/tcp")
    port = free_port()
    log_path = tmp_path / "streamlit.log"
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py"], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
            env={**os.environ, "STREAMLIT_SERVER_PORT": str(port), "STREAMLIT_SERVER_HEADLESS": "true",
                 "PYTHONPATH": str(ROOT)})
    url = AppURL(f"http://localhost:{port}")
    url.log, url.process = log_path, process
    try:
        wait_healthy(url)
        assert listening_addresses(port) == ["127.0.0.1"]
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=5) as answer:
            assert answer.read() == b"ok"
        assert f"URL: http://localhost:{port}" in log_path.read_text()  # what the terminal shows
        lan = lan_address()
        if lan != "127.0.0.1":  # this computer's address on a network: nobody gets in there
            with pytest.raises(ConnectionRefusedError):
                socket.create_connection((lan, port), timeout=5).close()
        _secure_context_in_chromium(url)
    finally:
        stop_app(url)


def _secure_context_in_chromium(url: str) -> None:
    if chromium_missing():
        return
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            page = browser.new_page()
            page.goto(url)
            wait_idle(page)
            assert page.evaluate("() => window.isSecureContext && !!navigator.mediaDevices")
            assert page.get_by_test_id("stSidebarNav").is_visible()
        finally:
            browser.close()
