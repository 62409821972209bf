"""The classroom's certificate, checked by a real TLS client against a real HTTPS server on 127.0.0.1."""

from __future__ import annotations

import datetime as dt
import http.server
import socket
import ssl
import stat
import threading
import urllib.request
from contextlib import contextmanager

import pytest

from tlcore.classroom.tls import CERT_FILE, KEY_FILE, covered, ensure_certificate


@contextmanager
def https_server(cert, key):
    class Hello(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = b"hello over TLS"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hello)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def handshake(port: int, context: ssl.SSLContext, hostname: str) -> str:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with context.wrap_socket(raw, server_hostname=hostname) as tls:
            return tls.version()


def test_a_client_that_trusts_the_certificate_connects_by_name_and_by_address(tmp_path):
    cert, key = ensure_certificate(tmp_path / "tls", addresses=["192.168.1.20"])
    trusting = ssl.create_default_context(cafile=str(cert))
    with https_server(cert, key) as port:
        assert handshake(port, trusting, "localhost").startswith("TLSv1.")
        assert handshake(port, trusting, "127.0.0.1").startswith("TLSv1.")
        with urllib.request.urlopen(f"https://localhost:{port}/", context=trusting, timeout=10) as response:
            assert response.read() == b"hello over TLS"
        with pytest.raises(ssl.SSLCertVerificationError, match="self-signed certificate|self signed"):
            handshake(port, ssl.create_default_context(), "localhost")  # trusts only the usual authorities
        with pytest.raises(ssl.SSLCertVerificationError, match="[Hh]ostname mismatch|doesn't match|IP address mismatch"):
            handshake(port, trusting, "example.org")


def test_the_certificate_covers_the_lan_address_and_loopback(tmp_path):
    cert, key = ensure_certificate(tmp_path, hostnames=["Teacher-Laptop.local"], addresses=["192.168.1.20"])
    assert (cert.name, key.name) == (CERT_FILE, KEY_FILE)
    assert covered(cert) == ({"localhost", "teacher-laptop.local"}, {"127.0.0.1", "192.168.1.20"})
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert b"PRIVATE KEY" in key.read_bytes() and b"PRIVATE" not in cert.read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == [CERT_FILE, KEY_FILE]  # no temporary files


def test_kept_while_good_and_made_again_when_the_address_changes_or_it_ends(tmp_path):
    cert, key = ensure_certificate(tmp_path, addresses=["192.168.1.20"])
    first = cert.read_bytes()
    assert ensure_certificate(tmp_path, addresses=["192.168.1.20"]) == (cert, key)
    assert cert.read_bytes() == first  # the same address: the same certificate (devices keep trusting it)
    ensure_certificate(tmp_path, addresses=["10.0.0.7"])
    assert cert.read_bytes() != first and "10.0.0.7" in covered(cert)[1]
    cert.unlink()
    ensure_certificate(tmp_path, addresses=["10.0.0.7"], days=3)  # a new one is made, ending in 3 days...
    short = cert.read_bytes()
    ensure_certificate(tmp_path, addresses=["10.0.0.7"])  # ...which is too close to its end: made again
    assert cert.read_bytes() != short
    from cryptography import x509

    ends = x509.load_pem_x509_certificate(cert.read_bytes()).not_valid_after_utc
    assert ends - dt.datetime.now(dt.timezone.utc) > dt.timedelta(days=360)


def test_a_damaged_or_half_missing_pair_is_made_again(tmp_path):
    cert, key = ensure_certificate(tmp_path)
    cert.write_text("not a certificate")
    ensure_certificate(tmp_path)
    assert covered(cert)[0] == {"localhost"}
    key.unlink()
    ensure_certificate(tmp_path)
    assert key.is_file()
    with https_server(cert, key) as port:  # the new key belongs to the new certificate
        assert handshake(port, ssl.create_default_context(cafile=str(cert)), "localhost")
