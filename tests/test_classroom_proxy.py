"""`tlcore classroom --behind-proxy` behind a real Caddy and a real nginx (Debian's packages),
started here on loopback with the configurations of docs/proxy.md (read from that page) and a
certificate made here, trusted by Chromium through its NSS database:

- a student joins in Chromium through the proxy under the base path /studio/ (the join answers
  only over the app's WebSocket), and the Studio itself answers plain HTTP on loopback;
- forwarded headers: the Studio's own uvicorn settings (studio/https_server.py) behind the same
  proxy see each client's own address and https, never an address a client wrote in
  X-Forwarded-For; connecting to the Studio directly, a client is not believed either. Over the
  classroom's own HTTPS nobody's X-Forwarded-For is believed.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

from appserver import chromium_missing, free_port, wait_idle
from classroom_support import chromium_at_home, classroom_process, nss_home
from tlcore.classroom.tls import CA_FILE, ensure_certificate

ROOT = Path(__file__).resolve().parents[1]
PROXY_DOC = ROOT / "docs" / "proxy.md"
CLIENT = "127.0.0.5"  # another address on loopback: a student's device, as the proxy sees it


def documented(language: str) -> str:
    """The ```language block of docs/proxy.md."""
    found = re.search(rf"```{language}\n(.*?)```", PROXY_DOC.read_text(), re.S)
    assert found, f"docs/proxy.md has no {language} block"
    return found.group(1)


@contextmanager
def proxy(kind: str, folder: Path, port: int, app_port: int, cert: Path, key: Path):
    """Caddy or nginx on 127.0.0.1:``port``, with the docs' configuration, forwarding to ``app_port``."""
    if not shutil.which(kind) and not Path(f"/usr/sbin/{kind}").exists():
        pytest.skip(f"{kind} is not installed (apt-get install caddy nginx; .ci/run does it)")
    folder.mkdir(parents=True)
    site = documented(kind).replace("127.0.0.1:8501", f"127.0.0.1:{app_port}").replace(
        "/etc/ssl/school/studio.crt", str(cert)).replace("/etc/ssl/school/studio.key", str(key))
    if kind == "caddy":
        site = site.replace("studio.school.example {", f"https://127.0.0.1:{port} {{")
        config = (f"{{\n\tadmin off\n\tstorage file_system {folder}/data\n"
                  f"\tdefault_sni 127.0.0.1\n}}\n\n{site}")
        command = ["caddy", "run", "--adapter", "caddyfile", "--config", str(folder / "Caddyfile")]
        (folder / "Caddyfile").write_text(config)
    else:
        site = site.replace("listen 443 ssl;", f"listen 127.0.0.1:{port} ssl;")
        temp = "\n".join(f"    {name}_temp_path {folder}/{name};" for name in ("client_body", "proxy", "fastcgi",
                                                                               "uwsgi", "scgi"))
        config = (f"daemon off;\nworker_processes 1;\npid {folder}/nginx.pid;\nerror_log {folder}/error.log;\n"
                  f"events {{}}\nhttp {{\n    access_log off;\n{temp}\n{site}}}\n")
        command = [shutil.which("nginx") or "/usr/sbin/nginx", "-p", str(folder), "-c", str(folder / "nginx.conf"),
                   "-e", str(folder / "error.log")]
        (folder / "nginx.conf").write_text(config)
    log = open(folder / "proxy.log", "w")
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env={
        **os.environ, "HOME": str(folder), "XDG_DATA_HOME": str(folder / "data"), "XDG_CONFIG_HOME": str(folder)})
    try:
        deadline = time.monotonic() + 30
        while not _listening(port):
            assert process.poll() is None, (folder / "proxy.log").read_text()
            assert time.monotonic() < deadline, f"{kind} did not start"
            time.sleep(0.2)
        yield
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def _listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


@pytest.fixture(scope="module")
def school_certificate(tmp_path_factory):
    """The proxy's certificate and what trusts it (a real school's comes from its own authority)."""
    folder = tmp_path_factory.mktemp("school-tls")
    cert, key = ensure_certificate(folder)
    return cert, key, folder / CA_FILE


def get(port: int, path: str, trusted: Path | None, source: str = "127.0.0.1", headers: str = "") -> tuple[str, str]:
    """(status line, body) of GET ``path`` on 127.0.0.1:``port`` from ``source``, over TLS when ``trusted``."""
    raw = socket.create_connection(("127.0.0.1", port), timeout=15, source_address=(source, 0))
    connection = ssl.create_default_context(cafile=str(trusted)).wrap_socket(raw, server_hostname="127.0.0.1") \
        if trusted else raw
    with connection:
        connection.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{headers}Connection: close\r\n\r\n".encode())
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    head, _, body = answer.decode("latin-1").partition("\r\n\r\n")
    return head.split("\r\n", 1)[0], body


@pytest.mark.e2e
@pytest.mark.parametrize("kind", ["caddy", "nginx"])
def test_a_student_joins_through_the_schools_proxy_under_its_path(kind, tmp_path, school_certificate):
    if chromium_missing():
        pytest.skip(chromium_missing())
    from playwright.sync_api import sync_playwright

    cert, key, ca = school_certificate
    proxy_port, app_port = free_port(), free_port()
    public = f"https://127.0.0.1:{proxy_port}/studio/"
    with proxy(kind, tmp_path / kind, proxy_port, app_port, cert, key), \
            classroom_process(tmp_path, ["--behind-proxy", public.rstrip("/"), "--port", str(app_port)],
                              f"http://127.0.0.1:{app_port}/studio/_stcore/health"), \
            sync_playwright() as playwright:
        assert get(proxy_port, "/studio/_stcore/health", ca) == ("HTTP/1.1 200 OK", "ok")
        assert get(app_port, "/studio/_stcore/health", None)[1] == "ok"  # the Studio itself: plain HTTP
        assert f"Students open:     {public}" in (tmp_path / "classroom.log").read_text()
        browser = chromium_at_home(playwright, nss_home(tmp_path / "home", ca))
        try:
            page = browser.new_page(viewport={"width": 390, "height": 844})
            page.goto(public)
            wait_idle(page, 120_000)
            page.get_by_label("Your name (or your group's)").fill("Ana")
            page.get_by_role("button", name="Join").click()
            page.wait_for_url(re.compile(re.escape(public) + r".*space="), timeout=120_000)  # the WebSocket answered
            assert "Set this device up once" not in page.inner_text("body")  # the proxy's certificate is real
        finally:
            browser.close()


async def who_am_i(scope, receive, send):
    """An ASGI app that answers who it sees and how they came (scope's client and scheme)."""
    if scope["type"] != "http":
        return
    body = json.dumps({"client": scope["client"][0], "scheme": scope["scheme"]}).encode()
    await send({"type": "http.response.start", "status": 200, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


@contextmanager
def studio_settings_server(port: int, settings: dict):
    """uvicorn with the Studio's own settings (studio/https_server.py), serving ``who_am_i``."""
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(who_am_i, host="127.0.0.1", port=port, log_level="warning", **settings))
    thread = threading.Thread(target=lambda: asyncio.run(server.serve()), daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not _listening(port):
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.1)
    try:
        yield
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.mark.parametrize("kind", ["caddy", "nginx"])
def test_forwarded_headers_are_believed_from_the_proxy_only(kind, tmp_path, school_certificate, monkeypatch):
    from studio.https_server import _with_front

    cert, key, ca = school_certificate
    monkeypatch.setenv("TLCORE_TRUSTED_PROXIES", "127.0.0.1,::1")
    monkeypatch.setenv("FORWARDED_ALLOW_IPS", "*")  # the environment cannot widen whom the Studio believes
    proxy_port, app_port = free_port(), free_port()
    forged = "X-Forwarded-For: 203.0.113.7\r\nX-Forwarded-Proto: https\r\n"
    with studio_settings_server(app_port, _with_front(dict)()), \
            proxy(kind, tmp_path / kind, proxy_port, app_port, cert, key):
        status, body = get(proxy_port, "/studio/", ca, source=CLIENT, headers=forged)
        assert status == "HTTP/1.1 200 OK" and json.loads(body) == {"client": CLIENT, "scheme": "https"}
        status, body = get(app_port, "/studio/", None, source=CLIENT, headers=forged)  # around the proxy
        assert json.loads(body) == {"client": CLIENT, "scheme": "http"}

    # Over the classroom's own HTTPS there is no proxy: nobody's X-Forwarded-For is believed.
    monkeypatch.delenv("TLCORE_TRUSTED_PROXIES")
    monkeypatch.setenv("TLCORE_JOIN_URL", f"https://127.0.0.1:{app_port}/")
    over_tls = _with_front(lambda: {"ssl_certfile": str(cert), "ssl_keyfile": str(key)})()
    with studio_settings_server(app_port, over_tls):
        status, body = get(app_port, "/", ca, headers=forged)
        assert json.loads(body) == {"client": "127.0.0.1", "scheme": "https"}
