"""A self-signed certificate for classroom mode: browsers let a page use the camera only on
``localhost`` or over HTTPS, so phones and tablets on the school network need HTTPS.

``ensure_certificate`` makes one on first start (an ECDSA P-256 key, valid for a year, for the
LAN address, ``localhost`` and ``127.0.0.1``) and makes a new one when the address changes or it
is about to expire. The key file is readable by its owner only. Each device trusts it once:
``TRUST_STEPS`` says how, in plain words, for the join page.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import socket
from pathlib import Path
from typing import Iterable

CERT_FILE, KEY_FILE = "classroom-cert.pem", "classroom-key.pem"
VALID_DAYS = 365
RENEW_BEFORE = dt.timedelta(days=7)  # a certificate this close to its end is made again
ALWAYS_NAMES, ALWAYS_ADDRESSES = ("localhost",), ("127.0.0.1",)

TRUST_STEPS = (
    "This classroom's server made its own security certificate, so the first time you open the link "
    "your browser warns that the connection is \"not private\". That is expected here: the server is "
    "your teacher's computer, on this network. Check that the address matches the one your teacher "
    "shows, then choose \"Advanced\" and \"Proceed\" (Chrome, Edge, Android) or \"Show Details\" and "
    "\"visit this website\" (Safari, iPhone, iPad), or \"Advanced\" and \"Accept the Risk\" (Firefox). "
    "You do this once per device; after that the camera can be used."
)


def ensure_certificate(folder, hostnames: Iterable[str] = (), addresses: Iterable[str] = (),
                       days: int = VALID_DAYS) -> tuple[Path, Path]:
    """(certificate, key) files in ``folder`` that cover ``hostnames`` and ``addresses``.

    ``localhost`` and ``127.0.0.1`` are always covered. The existing pair is kept while it
    covers every name and address and is valid for longer than RENEW_BEFORE; otherwise a new
    pair is written (the key with mode 0600, both whole or not at all)."""
    folder = Path(folder)
    names = sorted({*ALWAYS_NAMES, *(str(h).strip().lower() for h in hostnames if str(h).strip())})
    ips = sorted({ipaddress.ip_address(a) for a in (*ALWAYS_ADDRESSES, *addresses)}, key=str)
    cert_path, key_path = folder / CERT_FILE, folder / KEY_FILE
    if not _still_good(cert_path, key_path, names, ips):
        folder.mkdir(parents=True, exist_ok=True)
        cert_pem, key_pem = _new_pair(names, ips, days)
        _write(key_path, key_pem, 0o600)
        _write(cert_path, cert_pem, 0o644)
    return cert_path, key_path


def covered(cert_path) -> tuple[set[str], set[str]]:
    """(DNS names, IP addresses) the certificate in ``cert_path`` is valid for."""
    from cryptography import x509

    cert = x509.load_pem_x509_certificate(Path(cert_path).read_bytes())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return set(san.get_values_for_type(x509.DNSName)), {str(ip) for ip in san.get_values_for_type(x509.IPAddress)}


def _still_good(cert_path: Path, key_path: Path, names, ips) -> bool:
    from cryptography import x509

    try:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        if not key_path.is_file():
            return False
        dns, addresses = covered(cert_path)
    except (OSError, ValueError, x509.ExtensionNotFound):
        return False
    now = dt.datetime.now(dt.timezone.utc)
    return (set(names) <= dns and {str(ip) for ip in ips} <= addresses
            and cert.not_valid_before_utc <= now and cert.not_valid_after_utc - now > RENEW_BEFORE)


def _new_pair(names: list[str], ips: list, days: int) -> tuple[bytes, bytes]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([
        x509.NameAttribute(NameOID.COMMON_NAME, f"Transfer Learning Studio classroom ({socket.gethostname()[:30]})"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Transfer Learning Studio"),
    ])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject).issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))  # a device whose clock is a little behind
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName([*map(x509.DNSName, names), *map(x509.IPAddress, ips)]),
                       critical=False)
        # A server certificate, not a CA: browsers refuse a CA certificate used as a server's.
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                     crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


def _write(path: Path, data: bytes, mode: int) -> None:
    """Created with ``mode`` from the start (never briefly readable by others), then renamed."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.unlink(missing_ok=True)
    handle = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.chmod(temporary, mode)  # in case the umask took bits away
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
