"""The classroom's certificate authority and the server certificate it signs, checked by a real TLS
client (trusting the CA only) against a real HTTPS server on 127.0.0.1."""

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

from tlcore.classroom import trust
from tlcore.classroom.tls import (
    CA_FILE,
    CA_KEY_FILE,
    CERT_FILE,
    KEY_FILE,
    covered,
    ensure_authority,
    ensure_certificate,
    host_names,
)


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


def trusting_only(ca) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(ca))


def test_a_client_that_trusts_only_the_ca_connects_by_name_and_by_address(tmp_path):
    cert, key = ensure_certificate(tmp_path / "tls", hostnames=host_names("teacher-laptop"), addresses=["192.168.1.20"])
    trusting = trusting_only(tmp_path / "tls" / CA_FILE)
    with https_server(cert, key) as port:
        for name in ("localhost", "127.0.0.1", "teacher-laptop", "teacher-laptop.local"):
            assert handshake(port, trusting, name).startswith("TLSv1.")
        with urllib.request.urlopen(f"https://localhost:{port}/", context=trusting, timeout=10) as response:
            assert response.read() == b"hello over TLS"
        with pytest.raises(ssl.SSLCertVerificationError, match="unable to get local issuer certificate|self-signed"):
            handshake(port, ssl.create_default_context(), "localhost")  # trusts only the usual authorities
        with pytest.raises(ssl.SSLCertVerificationError, match="[Hh]ostname mismatch|doesn't match|IP address mismatch"):
            handshake(port, trusting, "example.org")


def test_the_files_the_key_modes_and_what_the_certificate_covers(tmp_path):
    cert, key = ensure_certificate(tmp_path, hostnames=["Teacher-Laptop.local"], addresses=["192.168.1.20"])
    assert (cert.name, key.name) == (CERT_FILE, KEY_FILE)
    assert covered(cert) == ({"localhost", "teacher-laptop.local"}, {"127.0.0.1", "192.168.1.20"})
    for private in (key, tmp_path / CA_KEY_FILE):
        assert stat.S_IMODE(private.stat().st_mode) == 0o600 and b"PRIVATE KEY" in private.read_bytes()
    ca = (tmp_path / CA_FILE).read_bytes()
    assert b"PRIVATE" not in cert.read_bytes() + ca
    assert cert.read_bytes().endswith(ca)  # the server sends its chain: its certificate, then the CA
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([CA_FILE, CA_KEY_FILE, CERT_FILE, KEY_FILE])
    assert host_names("Teacher-Laptop") == ["teacher-laptop", "teacher-laptop.local"]
    assert host_names("laptop.school.internal") == ["laptop.school.internal"] and host_names("bad name!") == []


def test_the_ca_cannot_vouch_for_another_website(tmp_path):
    """A key stolen from the teacher's computer could not pass as a real website to a device: the
    CA's name constraints allow only school networks, this computer's address and its names."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    authority = ensure_authority(tmp_path, ["teacher-laptop"], ["192.168.1.20"])
    ca = x509.load_pem_x509_certificate(authority.pem())
    ca_key = serialization.load_pem_private_key(authority.key_file.read_bytes(), password=None)
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.timezone.utc)
    forged = (x509.CertificateBuilder().subject_name(x509.Name([])).issuer_name(ca.subject)
              .public_key(key.public_key()).serial_number(1)
              .not_valid_before(now - dt.timedelta(hours=1)).not_valid_after(now + dt.timedelta(days=1))
              .add_extension(x509.SubjectAlternativeName([x509.DNSName("bank.example")]), critical=True)
              .sign(ca_key, hashes.SHA256()))
    (tmp_path / "forged.pem").write_bytes(forged.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "forged-key.pem").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    with https_server(tmp_path / "forged.pem", tmp_path / "forged-key.pem") as port:
        with pytest.raises(ssl.SSLCertVerificationError, match="permitted subtree violation"):
            handshake(port, trusting_only(authority.cert_file), "bank.example")


def test_the_server_certificate_is_renewed_and_the_ca_kept_for_the_school_year(tmp_path):
    made = ensure_authority(tmp_path, addresses=["192.168.1.20"])
    cert, key = ensure_certificate(tmp_path, addresses=["192.168.1.20"])
    first, ca = cert.read_bytes(), made.pem()
    assert made.state == "made" and made.not_after - dt.datetime.now(dt.timezone.utc) > dt.timedelta(days=395)
    assert ensure_certificate(tmp_path, addresses=["192.168.1.20"]) == (cert, key) and cert.read_bytes() == first
    ensure_certificate(tmp_path, addresses=["10.0.0.7"])  # another room: a new server certificate...
    assert cert.read_bytes() != first and "10.0.0.7" in covered(cert)[1]
    assert ensure_authority(tmp_path, addresses=["10.0.0.7"]).state == "kept"  # ...the same CA: devices keep it
    assert (tmp_path / CA_FILE).read_bytes() == ca
    cert.unlink()
    ensure_certificate(tmp_path, addresses=["10.0.0.7"], days=3)  # a server certificate ending in 3 days...
    short = cert.read_bytes()
    ensure_certificate(tmp_path, addresses=["10.0.0.7"])  # ...is too close to its end: made again
    assert cert.read_bytes() != short and (tmp_path / CA_FILE).read_bytes() == ca
    with https_server(cert, key) as port:
        assert handshake(port, trusting_only(tmp_path / CA_FILE), "10.0.0.7")


def test_a_new_ca_near_its_end_or_for_an_address_it_cannot_vouch_for_and_the_server_follows(tmp_path):
    ensure_authority(tmp_path, addresses=["192.168.1.20"], days=20)  # a CA in its last month...
    renewed = ensure_authority(tmp_path, addresses=["192.168.1.20"])  # ...is replaced, and says so
    assert renewed.state == "renewed" and renewed.not_after - dt.datetime.now(dt.timezone.utc) > dt.timedelta(days=395)
    cert, key = ensure_certificate(tmp_path, addresses=["192.168.1.20"])
    assert ensure_authority(tmp_path, addresses=["203.0.113.9"]).state == "renewed"  # a public address: not allowed
    cert, key = ensure_certificate(tmp_path, addresses=["203.0.113.9"])  # the server's follows the new CA
    with https_server(cert, key) as port:
        assert handshake(port, trusting_only(tmp_path / CA_FILE), "203.0.113.9")
    assert ensure_authority(tmp_path, addresses=["203.0.113.9", "10.1.2.3"]).state == "kept"  # private: allowed


def test_a_damaged_or_half_missing_pair_is_made_again(tmp_path):
    cert, key = ensure_certificate(tmp_path)
    cert.write_text("not a certificate")
    ensure_certificate(tmp_path)
    assert covered(cert)[0] == {"localhost"}
    key.unlink()
    ensure_certificate(tmp_path)
    assert key.is_file()
    (tmp_path / CA_KEY_FILE).unlink()  # the CA's key lost: a new CA (devices install it again)
    assert ensure_authority(tmp_path).state == "renewed"
    cert, key = ensure_certificate(tmp_path)
    with https_server(cert, key) as port:  # the new key belongs to the new certificate, from the new CA
        assert handshake(port, trusting_only(tmp_path / CA_FILE), "localhost")


def test_the_ipad_profile_holds_the_ca_as_a_root_certificate_and_nothing_else(tmp_path):
    import plistlib

    authority = ensure_authority(tmp_path)
    profile = plistlib.loads(trust.mobileconfig(authority.der()))
    assert profile["PayloadType"] == "Configuration" and profile["PayloadVersion"] == 1
    (root,) = profile["PayloadContent"]
    assert root["PayloadType"] == "com.apple.security.root" and root["PayloadContent"] == authority.der()
    assert trust.mobileconfig(authority.der()) == trust.mobileconfig(authority.der())  # the same CA: the same profile
    assert len(authority.fingerprint()) == 19 and authority.fingerprint().count(" ") == 3
