"""The address phones and tablets on the school network use to reach this computer."""

from __future__ import annotations

import ipaddress
import os
import socket

DEFAULT_PORT = 8501
# Asking the system which interface would route to a private address sends no packet: a UDP
# "connect" only chooses the route. Offline, with no route at all, the answer is loopback.
_ROUTE_PROBE = ("10.255.255.254", 9)
LOOPBACK = "127.0.0.1"


def lan_address(probe: tuple[str, int] = _ROUTE_PROBE) -> str:
    """This computer's address on the local network ($TLCORE_LAN_ADDRESS, if set), else 127.0.0.1.

    Never sends anything; works offline."""
    chosen = os.environ.get("TLCORE_LAN_ADDRESS", "").strip()
    if chosen:
        try:
            return str(ipaddress.ip_address(chosen))
        except ValueError:
            raise ValueError(f"TLCORE_LAN_ADDRESS must be an IP address such as 192.168.1.20; got {chosen!r}.") from None
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe_socket:
            probe_socket.connect(probe)
            address = probe_socket.getsockname()[0]
    except OSError:
        return LOOPBACK
    return address if address and address != "0.0.0.0" else LOOPBACK


def join_url(address: str, port: int = DEFAULT_PORT, https: bool = True) -> str:
    """The URL students open, e.g. ``https://192.168.1.20:8501/``."""
    host = f"[{address}]" if ipaddress.ip_address(address).version == 6 else address
    return f"{'https' if https else 'http'}://{host}:{int(port)}/"


def port_is_free(port: int, host: str = "0.0.0.0") -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, int(port)))
        except OSError:
            return False
    return True


def choose_port(wanted: int | None = None, host: str = "0.0.0.0") -> int:
    """``wanted`` if given (ValueError in plain words if it is taken), else 8501 or the next free one."""
    if wanted is not None:
        if not 1 <= int(wanted) <= 65535:
            raise ValueError(f"The port must be a number from 1 to 65535; got {wanted}.")
        if not port_is_free(int(wanted), host):
            raise ValueError(f"Port {wanted} is already in use on this computer (another app, or a classroom "
                             "already running?). Stop that one, or choose another port with --port.")
        return int(wanted)
    for port in range(DEFAULT_PORT, DEFAULT_PORT + 100):
        if port_is_free(port, host):
            return port
    raise ValueError(f"No free port between {DEFAULT_PORT} and {DEFAULT_PORT + 99}; choose one with --port.")
