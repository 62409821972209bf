"""One classroom port for HTTPS and for a plain ``http://`` typed by habit.

A browser that opens ``http://192.168.1.20:8501`` at the classroom's HTTPS port used to get an
empty reply ("the server unexpectedly dropped the connection"). ``tls_or_plain_http`` wraps the
web server's own connection protocol: it peeks at the first byte of each new connection without
taking it. A TLS handshake (0x16) is handed, with its socket, to the server's protocol over TLS
(``loop.connect_accepted_socket``: asyncio's own TLS, as if the server had done it), so the app
still sees each client's real address (the Teacher page's per-address limit on wrong codes
needs it). Anything else gets ``plain_http_answer``: the classroom's CA certificate, or a short
page with the https:// link and how to set the device up once (install that certificate), then
the connection closes. A device must trust the CA before its first https:// visit, so the CA
comes over plain http: it is public (tlcore/classroom/trust.py says why that is safe).

Why inside the server, not a proxy in front of it: a separate front passing the TLS bytes on to
Streamlit on a loopback port would make every student 127.0.0.1 to the app; one that ended TLS
itself would have to proxy HTTP and WebSockets. Peeking costs one extra wake-up per connection,
once (a page keeps its WebSocket open). Needs nothing but asyncio and ssl, so it is tested
without Streamlit; studio/https_server.py plugs it into Streamlit's uvicorn.
"""

from __future__ import annotations

import asyncio
import html
import json
import logging
import re
import socket
import ssl
from typing import Callable

from ..i18n import language as language_info, msg, translate, best_language
from . import trust
from .network import join_url
from .tls import short_fingerprint

log = logging.getLogger(__name__)

TLS_HANDSHAKE = 0x16  # the first byte of every TLS ClientHello
FIRST_BYTE_TIMEOUT_S = 60.0  # a browser may open a connection ahead of its first request
HEAD_TIMEOUT_S, HEAD_LIMIT = 10.0, 16 * 1024
_PATH = re.compile(r"/[A-Za-z0-9._~!$&'()*+,;=:@/?%-]{0,1000}")  # printable, nothing that ends a header


def tls_or_plain_http(inner_class: type, ssl_context: ssl.SSLContext, answer: Callable[[bytes], bytes]) -> type:
    """A protocol class taking the same keyword arguments as ``inner_class`` (the server makes one
    per connection): TLS connections are served by ``inner_class(**kwargs)`` over TLS with
    ``ssl_context``; any other gets ``answer(request head)`` and is closed."""

    class TlsOrPlainHttp(asyncio.Protocol):
        def __init__(self, **kwargs):
            self.kwargs = kwargs

        def connection_made(self, transport) -> None:
            # The connection's socket leaves this transport before anything is read from it:
            # a copy of it goes on (the copy keeps the connection open), this one closes.
            connection = transport.get_extra_info("socket").dup()
            transport.abort()
            _route_soon(connection, lambda: inner_class(**self.kwargs), ssl_context, answer)

        def data_received(self, data) -> None:  # never reached: the transport is closed at once
            pass

    TlsOrPlainHttp.__qualname__ = f"TlsOrPlainHttp[{inner_class.__name__}]"
    return TlsOrPlainHttp


_routing: set[asyncio.Task] = set()  # tasks in flight (asyncio keeps only weak references)


def _route_soon(connection: socket.socket, make_inner, ssl_context, answer) -> None:
    task = asyncio.get_running_loop().create_task(_route(connection, make_inner, ssl_context, answer))
    _routing.add(task)
    task.add_done_callback(_routing.discard)


async def _route(connection: socket.socket, make_inner, ssl_context, answer) -> None:
    loop = asyncio.get_running_loop()
    connection.setblocking(False)
    over_tls = False
    try:
        first = await _peek(loop, connection)
        if first == TLS_HANDSHAKE:
            await loop.connect_accepted_socket(make_inner, connection, ssl=ssl_context)
            over_tls = True  # the TLS transport owns the socket now
        elif first is not None:
            await _answer_plain(loop, connection, answer)
    except Exception as error:  # a client that left, stayed silent, or refused the certificate
        log.debug("a connection ended before it was served: %r", error)
    finally:
        if not over_tls:
            connection.close()


async def _answer_plain(loop, connection: socket.socket, answer) -> None:
    head = await asyncio.wait_for(_read_head(loop, connection), HEAD_TIMEOUT_S)
    await loop.sock_sendall(connection, answer(head))
    connection.shutdown(socket.SHUT_WR)
    try:  # closing with unread bytes would reset the connection, and the page could be lost
        await asyncio.wait_for(_read_head(loop, connection), 2.0)
    except (OSError, TimeoutError):
        pass


async def _peek(loop, connection: socket.socket) -> int | None:
    """The connection's first byte, left where it is; None if it closed or stayed silent."""
    readable = loop.create_future()
    loop.add_reader(connection.fileno(), lambda: readable.done() or readable.set_result(None))
    try:
        await asyncio.wait_for(readable, FIRST_BYTE_TIMEOUT_S)
    finally:
        loop.remove_reader(connection.fileno())
    first = connection.recv(1, socket.MSG_PEEK)
    return first[0] if first else None


async def _read_head(loop, connection: socket.socket) -> bytes:
    """What the client sent, up to the blank line that ends an HTTP request's head."""
    head = b""
    while b"\r\n\r\n" not in head and len(head) < HEAD_LIMIT:
        more = await loop.sock_recv(connection, 4096)
        if not more:
            break
        head += more
    return head


def plain_http_answer(head: bytes, address: str, port: int, ca_der: bytes | None) -> bytes:
    """The reply to a plain-HTTP request at the classroom's port: the classroom's CA certificate
    (``/classroom-ca.crt``) or iPad profile (``/classroom-ca.mobileconfig``), both public, so that a
    device can trust the classroom before its first https:// visit; else ``https_page``."""
    path = _request_path(head)
    if ca_der is not None and path.split("?")[0] == f"/{trust.CA_DOWNLOAD}":
        return _response(ca_der, trust.CA_MIME, f'attachment; filename="{trust.CA_DOWNLOAD}"')
    if ca_der is not None and path.split("?")[0] == f"/{trust.PROFILE_DOWNLOAD}":
        return _response(trust.mobileconfig(ca_der), trust.PROFILE_MIME)
    return https_page(head, address, port, ca_der)


def https_page(head: bytes, address: str, port: int, ca_der: bytes | None = None) -> bytes:
    """Where to go instead (the same address and path over https://, so a bookmarked ``?space=``
    link still works) and, with the CA, how to set this device up once: per device family, with
    its download. A device that already trusts the CA is sent on to the https:// address at once
    (the page tries it in the background). The address typed is kept only if the certificate
    covers it (the LAN address, localhost, 127.0.0.1)."""
    request = head.decode("latin-1").split("\r\n")
    path = _request_path(head)
    host = _header(request, "host")
    code = best_language(_header(request, "accept-language"))  # the device's language, else English

    def say(message) -> str:
        return translate(message, code)

    typed = host.rsplit(":", 1)[0].strip("[]") if host else ""
    chosen = typed if typed in {address, "localhost", "127.0.0.1"} else address
    origin = f"https://localhost:{int(port)}" if chosen == "localhost" else join_url(chosen, port).rstrip("/")
    link = html.escape(origin + path)
    if ca_der is None:
        title = say(msg("This classroom's address starts with https://"))
        instead = say(msg("You opened it with http:// (no <b>s</b>). Open this address instead:"))
        content = f'<h1>{title}</h1>\n<p>{instead}</p>\n<p><a class="go" href="{link}">{link}</a></p>'
    else:  # a device that trusts the CA already is sent on at once; one that does not stays here
        probe = json.dumps(origin + "/")
        content = (_setup_section(ca_der, link, say) + f"<script>fetch({probe}, {{mode: 'no-cors', cache: 'no-store'}})"
                   f".then(() => location.replace({json.dumps(origin + path)}), () => {{}});</script>")
    info = language_info(code)
    body = f"""<!doctype html>
<html lang="{info.html_lang}" dir="{'rtl' if info.right_to_left else 'ltr'}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{say(msg("The classroom, on this device"))}</title>
<style>body {{font: 19px/1.5 system-ui, sans-serif; margin: 1.2rem; max-width: 42rem; color: #1b1f24}}
h1 {{font-size: 1.5rem; line-height: 1.25}} h2 {{font-size: 1.2rem; margin: 1.4rem 0 .4rem}}
a.go, a.get {{display: inline-block; margin: .4rem 0 .8rem; padding: .6rem 1rem; border-radius: .5rem;
background: #1f6feb; color: white; text-decoration: none; word-break: break-all}} a.get {{background: #1a7f37}}
details {{border: 1px solid #d0d7de; border-radius: .5rem; padding: .5rem .8rem; margin: .5rem 0}}
summary {{font-weight: 600; cursor: pointer}} ol {{padding-left: 1.3rem}} p.small {{font-size: 16px; color: #444}}
</style></head>
<body>{content}</body></html>
""".encode()
    return _response(body, "text/html; charset=utf-8")


def _setup_section(ca_der: bytes, link: str, say) -> str:
    """How to set a device up, per device family (``say``: a message in the reader's language; the
    steps are trust.py's sentences, looked up in the catalogue by their English text)."""
    def words(text) -> str:
        return _words(say(text if hasattr(text, "translated") else msg(text)))

    families = "\n".join(
        f"<details><summary>{html.escape(say(msg(d.family)))}</summary>\n"
        f"<a class=\"get\" href=\"/{d.download}\">{words(_button(d.download))}</a>\n"
        f"<ol>{''.join(f'<li>{words(step)}</li>' for step in d.steps)}</ol>\n<p>{words(d.then)}</p></details>"
        for d in trust.DEVICE_STEPS)
    setup_first = say(msg('The first time, set this device up (once, about two minutes). Without it the browser warns '
                          'that the connection is "not private", and on an iPad or iPhone the classroom does not work '
                          'at all.'))
    # trust.fingerprint_words's sentence, said here with its value so that it can be translated
    fingerprint = msg("The certificate's fingerprint starts with **{fingerprint}**: the same as on the projector "
                      "(the Teacher page) means it came from your teacher's computer.",
                      fingerprint=short_fingerprint(ca_der))
    why = " ".join([words(trust.WHY), words(fingerprint)])
    return f"""<h1>{say(msg("The classroom, on this device"))}</h1>
<p>{html.escape(setup_first, quote=False)}</p>
<h2>{say(msg("1. Set up this device, once"))}</h2>
<p>{say(msg("Choose your device:"))}</p>
{families}
<details><summary>{say(msg("School-managed devices (for the school's IT)"))}</summary><p>{words(trust.MANAGED_DEVICES)}</p></details>
<h2>{say(msg("2. Open the classroom"))}</h2>
<p><a class="go" href="{link}">{link}</a><br>{say(msg("Its address starts with https:// (with an <b>s</b>). A device "
                                                       "that is set up goes there by itself from this page."))}</p>
<p class="small">{why}</p>
"""


def _button(download: str):
    return msg("Get the profile for iPad or iPhone") if download == trust.PROFILE_DOWNLOAD else \
        msg("Get the certificate")


def _header(request: list[str], name: str) -> str:
    """A header's value in a request head's lines ("" if absent)."""
    return next((line.split(":", 1)[1].strip() for line in request[1:]
                 if line.lower().startswith(f"{name}:")), "")


def _words(text: str) -> str:
    """Our own step text (``**bold**`` marks what to tap) as HTML."""
    return re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", html.escape(text, quote=False))


def _request_path(head: bytes) -> str:
    first = head.decode("latin-1").split("\r\n")[0]
    path = first.split(" ")[1] if first.count(" ") == 2 else "/"
    return path if _PATH.fullmatch(path) else "/"


def _response(body: bytes, content_type: str, disposition: str | None = None) -> bytes:
    head = (f"HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nCache-Control: no-store\r\n"
            + (f"Content-Disposition: {disposition}\r\n" if disposition else "")
            + f"Connection: close\r\nContent-Length: {len(body)}\r\n\r\n")
    return head.encode() + body
