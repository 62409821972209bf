"""One classroom port for HTTPS and for a plain http:// typed by habit (tlcore.classroom.front).

A real asyncio server with the front around a small protocol that says who it sees; real TLS
clients (trusting the classroom's certificate) and a plain HTTP client. The real classroom
(Streamlit behind the front) is checked in test_classroom_server.py.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import threading
from contextlib import contextmanager

from tlcore.classroom import trust
from tlcore.classroom.front import https_page, plain_http_answer, tls_or_plain_http
from tlcore.classroom.network import lan_address
from tlcore.classroom.tls import ensure_authority, ensure_certificate


class WhoAmI(asyncio.Protocol):
    """Answers any bytes with the client's address as it sees it, and whether TLS carries them."""

    def __init__(self, greeting: str):
        self.greeting = greeting

    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data):
        peer = self.transport.get_extra_info("peername")[0]
        tls = bool(self.transport.get_extra_info("sslcontext"))
        self.transport.write(f"{self.greeting} {peer} tls={tls}".encode())
        self.transport.close()


@contextmanager
def front_server(tmp_path, host: str):
    cert, key = ensure_certificate(tmp_path, addresses=["192.0.2.10"])
    authority = ensure_authority(tmp_path, addresses=["192.0.2.10"])
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    protocol = tls_or_plain_http(WhoAmI, context,
                                 lambda head: plain_http_answer(head, "192.0.2.10", port, authority.der()))
    loop = asyncio.new_event_loop()
    server = loop.run_until_complete(loop.create_server(lambda: protocol(greeting="hello"), host, 0))
    port = server.sockets[0].getsockname()[1]
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield port, ssl.create_default_context(cafile=str(authority.cert_file))
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        server.close()
        loop.close()


def over_tls(port: int, trusting: ssl.SSLContext, source: str = "127.0.0.1") -> str:
    with socket.create_connection((source, port), timeout=10, source_address=(source, 0)) as raw:
        with trusting.wrap_socket(raw, server_hostname="localhost") as tls:
            tls.sendall(b"hi")
            return tls.recv(200).decode()


def plain_http(port: int, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        raw.sendall(request)
        answer = b""
        while chunk := raw.recv(65536):
            answer += chunk
    return answer


def test_tls_reaches_the_server_with_the_clients_own_address_and_plain_http_gets_where_to_go(tmp_path):
    lan = lan_address()
    with front_server(tmp_path, "0.0.0.0") as (port, trusting):
        assert over_tls(port, trusting) == "hello 127.0.0.1 tls=True"
        if lan != "127.0.0.1":  # a client on the network is seen as itself, not as a proxy on loopback
            assert over_tls(port, trusting, source=lan) == f"hello {lan} tls=True"
        with socket.create_connection(("127.0.0.1", port), timeout=10):
            pass  # a client that opens and closes without a word (a browser's spare connection)
        answer = plain_http(port, f"GET /?space=Ab3_x HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
        head, body = answer.split(b"\r\n\r\n", 1)
        assert head.startswith(b"HTTP/1.1 200 OK\r\n") and b"Cache-Control: no-store" in head
        assert f'href="https://127.0.0.1:{port}/?space=Ab3_x"'.encode() in body  # a bookmark keeps its space
        assert b"<h1>The classroom, on this device</h1>" in body and b"<summary>iPad or iPhone</summary>" in body
        assert b'<a class="get" href="/classroom-ca.mobileconfig">Get the profile for iPad or iPhone</a>' in body
        assert over_tls(port, trusting) == "hello 127.0.0.1 tls=True"  # still serving


def test_a_device_gets_the_ca_over_plain_http_before_it_trusts_anything(tmp_path):
    """The CA certificate (public) and the iPad profile, at the classroom's port, over http://."""
    import plistlib

    with front_server(tmp_path, "127.0.0.1") as (port, trusting):
        ca_der = ensure_authority(tmp_path, addresses=["192.0.2.10"]).der()
        head, body = plain_http(port, b"GET /classroom-ca.crt HTTP/1.1\r\nHost: x\r\n\r\n").split(b"\r\n\r\n", 1)
        assert b"Content-Type: application/x-x509-ca-cert\r\n" in head and body == ca_der
        assert b'filename="classroom-ca.crt"' in head
        head, body = plain_http(port, b"GET /classroom-ca.mobileconfig HTTP/1.1\r\n\r\n").split(b"\r\n\r\n", 1)
        assert b"Content-Type: application/x-apple-aspen-config\r\n" in head
        assert plistlib.loads(body)["PayloadContent"][0]["PayloadContent"] == ca_der
        page = plain_http(port, b"GET / HTTP/1.1\r\n\r\n").decode()
        assert trust.fingerprint_words(ensure_authority(tmp_path, addresses=["192.0.2.10"]).fingerprint()).replace(
            "**", "") in page.replace("<b>", "").replace("</b>", "")
        for family in trust.DEVICE_STEPS:
            assert f"<summary>{family.family}</summary>" in page


def test_the_page_links_only_to_addresses_the_certificate_covers():
    def link(request: bytes) -> str:
        body = https_page(request, "192.0.2.10", 8501).split(b"\r\n\r\n", 1)[1].decode()
        return body.split('href="', 1)[1].split('"', 1)[0]

    assert link(b"GET /learn HTTP/1.1\r\nHost: 192.0.2.10:8501\r\n\r\n") == "https://192.0.2.10:8501/learn"
    assert link(b"GET / HTTP/1.1\r\nHost: localhost:8501\r\n\r\n") == "https://localhost:8501/"
    assert link(b"GET / HTTP/1.1\r\nHost: evil.example\r\n\r\n") == "https://192.0.2.10:8501/"
    assert link(b"GET /a\"><script> HTTP/1.1\r\n\r\n") == "https://192.0.2.10:8501/"  # no host, odd path
    assert link(b"\x00\xff garbage") == "https://192.0.2.10:8501/"
    page = https_page(b"GET /x HTTP/1.1\r\n\r\n", "192.0.2.10", 8501).decode()
    assert "This classroom's address starts with https://" in page and "<script" not in page  # no CA: no set-up
