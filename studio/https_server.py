"""Streamlit for `tlcore classroom`: HTTPS on the classroom's port and, on that same port, a short
page for a plain http:// request that tells where to go and offers the classroom's CA certificate
(tlcore/classroom/front.py: how and why). With `--behind-proxy`, plain HTTP for the school's
reverse proxy, whose forwarded headers (and only its) are believed.

`tlcore classroom` runs ``python -m studio.https_server run app.py --server.sslCertFile ...``
(Streamlit's own arguments). Streamlit 1.67 serves through uvicorn and builds uvicorn's settings
in one function, ``_get_uvicorn_config_kwargs``: wrapped here, TLS moves from uvicorn's listener
into the front, which hands each TLS connection to uvicorn's own HTTP protocol. A Streamlit
without that function still serves HTTPS; only the plain-http page is missing (the terminal says so).

It also adds one route to Streamlit's Starlette app (``create_starlette_app``, wrapped the same
way): ``/page/<key>.html``, a student's model as a web page for their phone
(tlcore/classroom/phone_pages.py), over HTTPS or through the school's proxy alike.
"""

from __future__ import annotations

import os
import ssl
import sys
from urllib.parse import urlsplit

from tlcore.classroom import front
from tlcore.classroom.server import CA_FILE_ENV, JOIN_URL_ENV, TRUSTED_PROXIES_ENV
from tlcore.classroom.tls import certificate_der


def _with_front(config_kwargs):
    """Streamlit's uvicorn settings for the classroom. Over HTTPS: TLS done by the front on the same
    port, and no proxy headers believed (nothing stands in front: every client is seen as itself).
    Behind the school's proxy (plain HTTP, $TLCORE_TRUSTED_PROXIES set): X-Forwarded-For and
    X-Forwarded-Proto believed from those addresses only, never from a client (FORWARDED_ALLOW_IPS
    in the environment cannot widen it)."""

    def kwargs() -> dict:
        settings = config_kwargs()
        settings = {**settings, **_websocket_protocol(settings.get("ws"))}
        cert, key = settings.get("ssl_certfile"), settings.get("ssl_keyfile")
        trusted = os.environ.get(TRUSTED_PROXIES_ENV, "").strip()
        if not cert:
            return {**settings, "proxy_headers": bool(trusted), "forwarded_allow_ips": trusted.split(",") if trusted else []}
        from streamlit import config
        from uvicorn.protocols.http.auto import AutoHTTPProtocol

        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        join = urlsplit(os.environ.get(JOIN_URL_ENV, ""))
        address, port = join.hostname or "127.0.0.1", join.port or int(config.get_option("server.port"))
        ca_file = os.environ.get(CA_FILE_ENV, "")
        ca_der = certificate_der(ca_file) if ca_file else None
        http = front.tls_or_plain_http(AutoHTTPProtocol, context,
                                       lambda head: front.plain_http_answer(head, address, port, ca_der))
        return {**settings, "ssl_certfile": None, "ssl_keyfile": None, "http": http, "proxy_headers": False}

    return kwargs


def _websocket_protocol(chosen) -> dict:
    """uvicorn's WebSocket protocol (the one Streamlit chose), except that a browser closing its
    connection just as the server stops (a student shuts the tab as the teacher presses Ctrl+C) is
    not an error: uvicorn 0.55 then raises InvalidState from its shutdown, the server ends early and
    a traceback reaches the teacher's terminal."""
    if chosen != "websockets-sansio":
        return {}
    try:
        from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
        from websockets.exceptions import InvalidState
    except ImportError:  # another uvicorn or websockets: keep Streamlit's choice
        return {}

    class ClosingTolerantProtocol(WebSocketsSansIOProtocol):
        def shutdown(self) -> None:
            try:
                super().shutdown()
            except InvalidState:  # already closing: nothing left to tell that browser
                self.transport.close()

    return {"ws": ClosingTolerantProtocol}


PAGE_HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
                "X-Frame-Options": "DENY"}


def phone_page_route(base_path: str = ""):
    """The Starlette route ``/[base/]page/<key>.html``: that page's file, found by its key alone
    in the workspace's spaces (phone_pages.find_page), or 404. Nothing else is served from there."""
    from starlette.responses import FileResponse, PlainTextResponse
    from starlette.routing import Route

    from tlcore.classroom.phone_pages import ROUTE, find_page
    from tlcore.paths import workspace_root

    async def page(request):
        path = find_page(workspace_root(), request.path_params.get("key", ""))
        if path is None:
            return PlainTextResponse("There is no page at this address. Ask for a new QR code on the Test or "
                                     "Share page.", status_code=404, headers=PAGE_HEADERS)
        return FileResponse(path, media_type="text/html; charset=utf-8", headers=PAGE_HEADERS)

    prefix = f"/{base_path.strip('/')}" if base_path.strip("/") else ""
    return Route(f"{prefix}/{ROUTE}/{{key}}.html", page, methods=["GET", "HEAD"])


def _with_phone_pages(create_app):
    """Streamlit's app factory, with the phone-page route first (before its catch-all static files)."""

    def create(runtime):
        from streamlit import config

        app = create_app(runtime)
        app.router.routes.insert(0, phone_page_route(config.get_option("server.baseUrlPath") or ""))
        return app

    return create


def main() -> None:
    from streamlit.web import cli

    from tlcore.stopping import stop_when_orphaned

    stop_when_orphaned()  # `tlcore classroom` killed outright: this server stops too, saving first

    try:
        from streamlit.web.server.starlette import starlette_server

        starlette_server._get_uvicorn_config_kwargs = _with_front(starlette_server._get_uvicorn_config_kwargs)
    except (ImportError, AttributeError):
        print("  note: this Streamlit version serves HTTPS only; an http:// address typed at the classroom's "
              "port gets no answer.", file=sys.stderr)
    try:
        from streamlit.web.server.starlette import starlette_server

        starlette_server.create_starlette_app = _with_phone_pages(starlette_server.create_starlette_app)
    except (ImportError, AttributeError):
        print("  note: this Streamlit version cannot serve the students' phone pages; their QR codes will not "
              "open (the pages can still be downloaded from the Share page).", file=sys.stderr)
    sys.argv = ["streamlit", *sys.argv[1:]]
    sys.exit(cli.main())


if __name__ == "__main__":
    main()
