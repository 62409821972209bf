"""The classroom's own certificate authority, and the server certificate it signs.

Browsers let a page use the camera only on ``localhost`` or over HTTPS, so phones and tablets on
the school network need HTTPS. A certificate that a device accepted only through the browser's
"not private" warning is not enough: Safari, and every browser on an iPad or iPhone, then refuses
the secure WebSocket the whole app runs over (the page loads and never connects). A device must
*trust* the certificate. So the classroom is its own small certificate authority (CA):

- ``ensure_authority`` makes the CA once and keeps it for about a school year (CA_VALID_DAYS).
  Each device installs the CA's certificate once (never its key, which is readable by its owner
  only); tlcore/classroom/trust.py says how, per device family. The CA may vouch only for
  school-network addresses (private, loopback and link-local ranges, and this computer's own
  address) and this computer's names (``localhost``, ``*.local``, its host name): an X.509 name
  constraint, checked by the devices, so its key could never be used to pass as another website.
- ``ensure_certificate`` makes the server's certificate, signed by the CA, for every name a device
  may use (the LAN address, the host name and ``HOST.local``, ``localhost``, ``127.0.0.1``), and
  makes it again when the address changes, when the CA changed, or near its end. Devices keep
  trusting the CA through all of that.

A new CA (the old one near its end, gone, or unable to vouch for a new address or host name) means
every device installs the new one: ``Authority.state`` says so, for the terminal.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import os
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

CA_FILE, CA_KEY_FILE = "classroom-ca.pem", "classroom-ca-key.pem"
CERT_FILE, KEY_FILE = "classroom-cert.pem", "classroom-key.pem"  # the server's (the CA follows it in CERT_FILE)
CA_VALID_DAYS = 400  # a school year, and a month to spare
CA_RENEW_BEFORE = dt.timedelta(days=30)  # a CA this close to its end is replaced (devices install the new one)
VALID_DAYS = 365  # the server's certificate; never past its CA's end (Apple refuses over 825 days)
RENEW_BEFORE = dt.timedelta(days=7)  # a server certificate this close to its end is made again
ALWAYS_NAMES, ALWAYS_ADDRESSES = ("localhost",), ("127.0.0.1",)
CA_NAME = "Transfer Learning Studio classroom"

# What the CA may vouch for, besides this computer's own names and address.
SCHOOL_NETWORKS = tuple(ipaddress.ip_network(n) for n in (
    "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16",  # private (RFC 1918)
    "100.64.0.0/10", "169.254.0.0/16", "127.0.0.0/8",  # carrier-grade NAT, link-local, loopback
    "fc00::/7", "fe80::/10", "::1/128"))
SCHOOL_NAMES = ("localhost", "local")  # "local": every NAME.local (mDNS), as RFC 5280 reads a DNS constraint


@dataclass(frozen=True)
class Authority:
    """The classroom's CA: its files, and whether this start kept, made or replaced it."""

    cert_file: Path
    key_file: Path
    state: str  # "kept", "made" (none before) or "renewed" (devices trusted another one: they install this)
    not_after: dt.datetime

    def pem(self) -> bytes:
        return self.cert_file.read_bytes()

    def der(self) -> bytes:
        return certificate_der(self.cert_file)

    def fingerprint(self) -> str:
        """The start of the CA's SHA-256 fingerprint, ``3F2A 91C0 7B55 E1D4``: what a teacher compares."""
        return short_fingerprint(self.der())


def certificate_der(cert_path) -> bytes:
    """The (first) certificate in the PEM file ``cert_path``, as DER: what devices install."""
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding

    return x509.load_pem_x509_certificate(Path(cert_path).read_bytes()).public_bytes(Encoding.DER)


def short_fingerprint(der: bytes) -> str:
    digest = hashlib.sha256(der).hexdigest().upper()[:16]
    return " ".join(digest[i:i + 4] for i in range(0, 16, 4))


def host_names(hostname: str | None = None) -> list[str]:
    """The names a device may use for this computer: its host name, and ``NAME.local`` (mDNS)."""
    name = (socket.gethostname() if hostname is None else hostname).strip().lower().rstrip(".")
    if not name or name == "localhost" or not all(part.replace("-", "").isalnum() for part in name.split(".")):
        return []
    return [name] if "." in name else [name, f"{name}.local"]


def ensure_authority(folder, hostnames: Iterable[str] = (), addresses: Iterable[str] = (),
                     days: int = CA_VALID_DAYS) -> Authority:
    """The classroom's CA in ``folder``, kept while it is valid for longer than CA_RENEW_BEFORE
    and may vouch for ``hostnames`` and ``addresses``; else a new one (key mode 0600)."""
    folder = Path(folder)
    names, ips = _wanted(hostnames, addresses)
    cert_path, key_path = folder / CA_FILE, folder / CA_KEY_FILE
    existing = _load_ca(cert_path, key_path)
    now = dt.datetime.now(dt.timezone.utc)
    if existing is not None and existing.not_valid_after_utc - now > CA_RENEW_BEFORE and _may_vouch(existing, names, ips):
        return Authority(cert_path, key_path, "kept", existing.not_valid_after_utc)
    replaced = cert_path.exists()  # devices may trust the one there: they must install the new one
    folder.mkdir(parents=True, exist_ok=True)
    cert_pem, key_pem = _new_authority(names, ips, days)
    _write(key_path, key_pem, 0o600)
    _write(cert_path, cert_pem, 0o644)
    return Authority(cert_path, key_path, "renewed" if replaced else "made", now + dt.timedelta(days=days))


def ensure_certificate(folder, hostnames: Iterable[str] = (), addresses: Iterable[str] = (),
                       days: int = VALID_DAYS) -> tuple[Path, Path]:
    """(certificate, key) files in ``folder`` for the server: signed by the classroom's CA (made
    or kept by ``ensure_authority``), for ``hostnames``, ``addresses``, ``localhost`` and
    ``127.0.0.1``. The certificate file holds the CA's certificate after the server's. Kept while
    it covers every name and address, comes from the current CA and is valid for longer than
    RENEW_BEFORE; otherwise a new pair is written (the key with mode 0600, both whole or not at all)."""
    folder = Path(folder)
    authority = ensure_authority(folder, hostnames, addresses)
    names, ips = _wanted(hostnames, addresses)
    cert_path, key_path = folder / CERT_FILE, folder / KEY_FILE
    if not _still_good(cert_path, key_path, authority, names, ips):
        ca_ends = authority.not_after - dt.datetime.now(dt.timezone.utc)
        cert_pem, key_pem = _new_server_pair(authority, names, ips, min(days, max(1, ca_ends.days - 1)))
        _write(key_path, key_pem, 0o600)
        _write(cert_path, cert_pem + authority.pem(), 0o644)
    return cert_path, key_path


def covered(cert_path) -> tuple[set[str], set[str]]:
    """(DNS names, IP addresses) the (first) certificate in ``cert_path`` is valid for."""
    from cryptography import x509

    cert = x509.load_pem_x509_certificate(Path(cert_path).read_bytes())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return set(san.get_values_for_type(x509.DNSName)), {str(ip) for ip in san.get_values_for_type(x509.IPAddress)}


# -- checking -----------------------------------------------------------------------------------------
def _wanted(hostnames, addresses) -> tuple[list[str], list]:
    names = sorted({*ALWAYS_NAMES, *(str(h).strip().lower() for h in hostnames if str(h).strip())})
    ips = sorted({ipaddress.ip_address(a) for a in (*ALWAYS_ADDRESSES, *addresses)}, key=str)
    return names, ips


def _load_ca(cert_path: Path, key_path: Path):
    """The CA's certificate if both files are there, readable and belong together; else None."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    try:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
        constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    except (OSError, ValueError, TypeError, x509.ExtensionNotFound):
        return None
    return cert if constraints.ca and _same_key(key, cert) else None


def _may_vouch(ca, names, ips) -> bool:
    """Whether the CA's name constraints allow every name and address."""
    from cryptography import x509

    try:
        constraints = ca.extensions.get_extension_for_class(x509.NameConstraints).value
    except x509.ExtensionNotFound:
        return False  # a CA from before name constraints: replaced by one that has them
    networks = [n.value for n in constraints.permitted_subtrees or [] if isinstance(n, x509.IPAddress)]
    domains = [n.value for n in constraints.permitted_subtrees or [] if isinstance(n, x509.DNSName)]
    return (all(any(ip in net for net in networks) for ip in ips)
            and all(any(name == d or name.endswith("." + d) for d in domains) for name in names))


def _still_good(cert_path: Path, key_path: Path, authority: Authority, names, ips) -> bool:
    from cryptography import x509
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import serialization

    try:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        ca = x509.load_pem_x509_certificate(authority.pem())
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
        cert.verify_directly_issued_by(ca)
        dns, addresses = covered(cert_path)
    except (OSError, ValueError, TypeError, x509.ExtensionNotFound, InvalidSignature):
        return False
    now = dt.datetime.now(dt.timezone.utc)
    return (_same_key(key, cert)
            and set(names) <= dns and {str(ip) for ip in ips} <= addresses
            and cert.not_valid_before_utc <= now and cert.not_valid_after_utc - now > RENEW_BEFORE)


def _same_key(private_key, cert) -> bool:
    """Whether ``private_key`` belongs to ``cert`` (a half-replaced pair is made again)."""
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    spki = (Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    return private_key.public_key().public_bytes(*spki) == cert.public_key().public_bytes(*spki)


# -- making ------------------------------------------------------------------------------------------
def _new_authority(names, ips, days: int) -> tuple[bytes, bytes]:
    """A CA that may vouch only for school networks, this computer's address and its names."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    made = dt.datetime.now(dt.timezone.utc)
    # The date in the name tells two of them apart in a device's list of certificates.
    subject = x509.Name([
        x509.NameAttribute(NameOID.COMMON_NAME, f"{CA_NAME} {made:%Y-%m-%d} ({socket.gethostname()[:24]})"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Transfer Learning Studio"),
    ])
    networks = list(SCHOOL_NETWORKS) + [ipaddress.ip_network(ip) for ip in ips
                                        if not any(ip in net for net in SCHOOL_NETWORKS)]
    domains = sorted({*SCHOOL_NAMES, *(n for n in names if not any(n == d or n.endswith("." + d) for d in SCHOOL_NAMES))})
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject).issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(made - dt.timedelta(hours=1))  # a device whose clock is a little behind
        .not_valid_after(made + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                     crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.NameConstraints(
            permitted_subtrees=[*map(x509.IPAddress, networks), *map(x509.DNSName, domains)],
            excluded_subtrees=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return _pem(cert), _key_pem(key)


def _new_server_pair(authority: Authority, names, ips, days: int) -> tuple[bytes, bytes]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    ca = x509.load_pem_x509_certificate(authority.pem())
    ca_key = serialization.load_pem_private_key(authority.key_file.read_bytes(), password=None)
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.timezone.utc)
    subject = x509.Name([
        x509.NameAttribute(NameOID.COMMON_NAME, f"Transfer Learning Studio server ({socket.gethostname()[:30]})"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Transfer Learning Studio"),
    ])
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject).issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName([*map(x509.DNSName, names), *map(x509.IPAddress, ips)]),
                       critical=False)
        # A server certificate, not a CA: browsers refuse a CA certificate used as a server's.
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                     crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    return _pem(cert), _key_pem(key)


def _pem(cert) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return cert.public_bytes(serialization.Encoding.PEM)


def _key_pem(key) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


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
