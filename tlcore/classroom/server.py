"""What `tlcore classroom` does: the same app, served to a class on the school network.

``prepare_classroom`` chooses the port, the teacher's code (given, or made and printed), the
LAN address, the classroom's certificate authority and the server's certificate (tls.py);
``announce`` prints the join URL, its QR code, the code and where devices install the CA once;
``run_classroom`` does both and runs the app over HTTPS on every interface (Streamlit, through
studio/https_server.py: a plain http:// request at the same port gets a page saying where to go
and offering the CA certificate). Behind the school's own reverse proxy (``proxy_url``) it serves
plain HTTP on loopback (or ``bind_address``) instead, under the proxy URL's path, believing the
forwarded headers of the proxy only. It tells the app what it needs through its environment:

    TLCORE_MODE=classroom     the app shows the join page and keeps spaces apart
    TLCORE_TEACHER_CODE       opens the teacher page (never in a student's link)
    TLCORE_WORKERS            trainings side by side (the queue's workers)
    TLCORE_WORKSPACE          where spaces, runs and the queue's journal are kept
    TLCORE_JOIN_URL           the URL to show on the teacher page (with its QR code)
    TLCORE_CA_FILE            the CA certificate devices install (not behind a proxy)
    TLCORE_TRUSTED_PROXIES    behind a proxy: the addresses whose X-Forwarded-For is believed
    TLCORE_CLUSTER            trainings on a Ray cluster: ``local`` or ray://HOST:10001 (tlcore/cluster/);
                              for ``local``, where the cluster this command started listens, and its
                              token (TLCORE_CLUSTER_ADDRESS, RAY_AUTH_MODE, RAY_AUTH_TOKEN)
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from ..paths import workspace_root
from ..queue import MAX_WORKERS, SHUTDOWN_SECONDS, clean_after_killed, configured_workers
from ..cluster.ray_queue import CLUSTER_ENV, DRIVER_ENVIRONMENT, LOCAL, LocalCluster, check_cluster_address, ray_missing
from ..stopping import PARENT_ENV, serve_until_stopped
from . import qr
from .network import choose_port, join_url, lan_address
from .teacher_code import check_teacher_code, code_weakness, new_teacher_code, normalise_code
from .tls import Authority, ensure_authority, ensure_certificate, host_names
from .trust import setup_url

MODE_ENV, CODE_ENV, WORKERS_ENV, JOIN_URL_ENV = "TLCORE_MODE", "TLCORE_TEACHER_CODE", "TLCORE_WORKERS", "TLCORE_JOIN_URL"
CA_FILE_ENV, TRUSTED_PROXIES_ENV = "TLCORE_CA_FILE", "TLCORE_TRUSTED_PROXIES"
LOOPBACK_PROXIES = ("127.0.0.1", "::1")  # a proxy on this computer is always believed
CA_ENDING_SOON_DAYS = 60  # the terminal warns this long before the CA is replaced
CLASSROOM, SOLO = "classroom", "solo"
APP = Path(__file__).resolve().parents[2] / "app.py"  # the Studio, beside the tlcore package


@dataclass(frozen=True)
class Classroom:
    """Everything the class's server needs, decided before it starts."""

    port: int
    address: str  # the LAN address students use
    bind_address: str  # where the server listens ("0.0.0.0": every interface)
    teacher_code: str
    workers: int
    workspace: Path
    cert_file: Path | None  # None behind the school's proxy (it holds the certificate)
    key_file: Path | None
    code_chosen: bool = False  # the teacher chose the code (else it was made): the terminal does not show it
    authority: Authority | None = None  # the CA devices install once; None behind the school's proxy
    proxy_url: str | None = None  # behind the school's proxy: the address students open through it
    trusted_proxies: tuple[str, ...] = ()  # behind a proxy: whose X-Forwarded-For is believed
    cluster: str | None = None  # a Ray cluster ("local", ray://HOST:10001) that trains, else this process

    @property
    def join_url(self) -> str:
        return self.proxy_url or join_url(self.address, self.port)

    @property
    def setup_url(self) -> str | None:
        """Where a device gets the CA certificate before it trusts the classroom (plain http)."""
        return setup_url(self.join_url) if self.authority else None

    @property
    def base_path(self) -> str:
        """The app's path behind the proxy ("studio" for https://school.example/studio/), else ""."""
        return urlsplit(self.proxy_url).path.strip("/") if self.proxy_url else ""

    @property
    def spaces_dir(self) -> Path:
        return self.workspace / "spaces"

    def environment(self) -> dict[str, str]:
        where = ({CA_FILE_ENV: str(self.authority.cert_file)} if self.authority else {}) | (
            {TRUSTED_PROXIES_ENV: ",".join(self.trusted_proxies)} if self.proxy_url else {})
        return {MODE_ENV: CLASSROOM, CODE_ENV: self.teacher_code, WORKERS_ENV: str(self.workers),
                "TLCORE_WORKSPACE": str(self.workspace), JOIN_URL_ENV: self.join_url, **where,
                **({CLUSTER_ENV: self.cluster, **DRIVER_ENVIRONMENT} if self.cluster else {})}

    def streamlit_command(self, app=APP, python: str = sys.executable) -> list[str]:
        """Streamlit, through studio/https_server.py (beside app.py): HTTPS, and a page that says where
        to go for an http:// request at the same port; behind a proxy, plain HTTP under its path.
        browser.serverAddress: the terminal shows the join address, the app accepts pages from it
        (a proxy that rewrites Host too), and Streamlit does not look up this computer's address on
        the internet."""
        if self.proxy_url:
            public = urlsplit(self.proxy_url)
            served = ["--browser.serverAddress", public.hostname,
                      "--browser.serverPort", str(public.port or (443 if public.scheme == "https" else 80)),
                      "--server.baseUrlPath", self.base_path]
        else:
            served = ["--browser.serverAddress", self.address,
                      "--server.sslCertFile", str(self.cert_file), "--server.sslKeyFile", str(self.key_file)]
        return [python, "-m", "studio.https_server", "run", str(app),
                "--server.address", self.bind_address, "--server.port", str(self.port), *served,
                "--server.headless", "true", "--browser.gatherUsageStats", "false",
                "--server.fileWatcherType", "none", "--server.runOnSave", "false"]


def classroom_mode() -> bool:
    """Whether this app was started by `tlcore classroom` (else it is one person's, solo)."""
    return os.environ.get(MODE_ENV, SOLO).strip().lower() == CLASSROOM


# -- starting -------------------------------------------------------------------------------------
def prepare_classroom(port: int | None = None, teacher_code: str | None = None, workers: int | None = None,
                      workspace=None, address: str | None = None, bind_address: str | None = None,
                      proxy_url: str | None = None, proxy_addresses=(), cluster: str | None = None) -> Classroom:
    """Decide everything and make the certificates; ValueError in plain words for a bad choice
    (a chosen ``teacher_code`` that is easy to guess, too: see teacher_code.code_weakness; a
    ``cluster`` address that is not one, or Ray not installed).

    Over HTTPS the server listens on every interface (``bind_address`` "0.0.0.0"); behind the
    school's proxy (``proxy_url``: the address students open through it) on 127.0.0.1, or
    ``bind_address`` together with the proxy's own address in ``proxy_addresses``."""
    weakness = None if teacher_code is None else code_weakness(teacher_code)
    if weakness:
        raise ValueError(weakness)
    workers = configured_workers() if workers is None else int(workers)
    if not 1 <= workers <= MAX_WORKERS:
        raise ValueError(f"--workers must be a whole number from 1 to {MAX_WORKERS}; got {workers}.")
    if cluster is not None:
        cluster = check_cluster_address(cluster)
        if ray_missing():
            raise ValueError(f"--cluster: {ray_missing()}")
    workspace = Path(workspace or workspace_root()).expanduser().resolve()
    code = str(teacher_code).strip() if teacher_code else new_teacher_code()
    if proxy_url is not None:
        proxy_url, bind_address, trusted = _behind_proxy(proxy_url, bind_address, proxy_addresses)
        return Classroom(choose_port(port, bind_address), urlsplit(proxy_url).hostname, bind_address, code, workers,
                         workspace, None, None, code_chosen=teacher_code is not None, proxy_url=proxy_url,
                         trusted_proxies=trusted, cluster=cluster)
    bind_address = bind_address or "0.0.0.0"
    address = address or lan_address()
    folder, names = workspace / "classroom" / "tls", host_names()
    authority = ensure_authority(folder, names, [address])
    cert_file, key_file = ensure_certificate(folder, names, [address])
    return Classroom(choose_port(port, bind_address), address, bind_address, code, workers, workspace,
                     cert_file, key_file, code_chosen=teacher_code is not None, authority=authority, cluster=cluster)


def _behind_proxy(proxy_url: str, bind_address: str | None, proxy_addresses) -> tuple[str, str, tuple[str, ...]]:
    """(the proxy URL, ending in /; where to listen; whose forwarded headers to believe), checked."""
    public = urlsplit(proxy_url.strip())
    if public.scheme not in {"http", "https"} or not public.hostname or not re.fullmatch(r"[A-Za-z0-9._~/-]*", public.path) \
            or public.query or public.fragment:
        raise ValueError(f"--behind-proxy needs the address students open through your proxy, like "
                         f"https://studio.school.example/ or https://school.example/studio/; got {proxy_url!r}.")
    try:
        trusted = tuple(dict.fromkeys([*LOOPBACK_PROXIES, *(str(ipaddress.ip_address(a.strip())) for a in proxy_addresses)]))
        bind_address = str(ipaddress.ip_address(bind_address or "127.0.0.1"))
    except ValueError as error:
        raise ValueError(f"--listen and --proxy-address take IP addresses such as 127.0.0.1 ({error}).") from None
    if not ipaddress.ip_address(bind_address).is_loopback and len(trusted) == len(LOOPBACK_PROXIES):
        raise ValueError(f"With --listen {bind_address}, give your proxy's own address too (--proxy-address "
                         "ADDRESS): the Studio believes the client addresses that only the proxy forwards.")
    path = "/" + public.path.strip("/") + "/" if public.path.strip("/") else "/"
    return f"{public.scheme}://{public.netloc}{path}", bind_address, trusted


def announce(classroom: Classroom, out=sys.stdout) -> None:
    """What the teacher reads in the terminal: where students go, the QR code, the code, and where
    each device installs the classroom's certificate once (or where the proxy sends the class)."""
    colors = bool(getattr(out, "isatty", lambda: False)())
    lines = [
        "", "Transfer Learning Studio: classroom", "",
        f"  Students open:     {classroom.join_url}   (or scan the code below)",
        qr.terminal_text(classroom.join_url, colors=colors),
        f"  Teacher code:      {'the one you chose (not shown)' if classroom.code_chosen else classroom.teacher_code}"
        "   (type it on the Teacher page; never share it)",
        f"  Trainings at once: {classroom.workers}   (change with --workers){_cluster_words(classroom.cluster)}",
        f"  Pictures and runs: {classroom.spaces_dir}   (delete that folder to remove them all)",
        "",
    ]
    lines += _proxy_lines(classroom) if classroom.proxy_url else _authority_lines(classroom)
    if classroom.address == "127.0.0.1" and not classroom.proxy_url:
        lines += ["", "  No network was found: only this computer can join. Connect to the school's",
                  "  network (or set TLCORE_LAN_ADDRESS) and start again for the class to join."]
    lines += ["", "  Press Ctrl+C to stop the classroom.", ""]
    print("\n".join(lines), file=out, flush=True)


def _cluster_words(cluster: str | None) -> str:
    if cluster is None:
        return ""
    return "\n  Trained on:        " + ("a Ray cluster on this computer" if cluster == LOCAL else
                                        f"the Ray cluster at {cluster}, each training by a worker there")


def _authority_lines(classroom: Classroom) -> list[str]:
    authority = classroom.authority
    lines = [f"  Each device, once: open {classroom.setup_url} and install the classroom's certificate",
             "  (the Teacher page shows the steps per device and a QR code). Then: no warning, and",
             "  iPads, iPhones and Safari connect. Its fingerprint starts with " + authority.fingerprint() + "."]
    ends = f"{authority.not_after:%Y-%m-%d}"
    if authority.state == "renewed":
        lines += ["", "  NEW CERTIFICATE: the classroom's certificate authority was made again (the last one",
                  "  was about to end, was damaged, or could not vouch for this address or name). Each device",
                  f"  installs the new one once, as above. It lasts until {ends}."]
    elif authority.state == "made":
        lines += [f"  The certificate was made now and lasts until {ends} (a school year)."]
    elif (authority.not_after - dt.datetime.now(dt.timezone.utc)).days < CA_ENDING_SOON_DAYS:
        lines += [f"  The classroom's certificate ends on {ends}; a month before, a new one is made and each",
                  "  device installs it once."]
    return lines


def _proxy_lines(classroom: Classroom) -> list[str]:
    listening = join_url(classroom.bind_address, classroom.port, https=False) + classroom.base_path
    return [f"  Behind your proxy: it forwards {classroom.join_url} to {listening.rstrip('/')}/",
            f"  (plain HTTP; X-Forwarded-For believed from {', '.join(classroom.trusted_proxies)} only).",
            "  See docs/proxy.md for a Caddyfile and an nginx site."]


def _clear_if_time_is_up(workspace: Path, out) -> None:
    """The class was kept as long as the teacher chose (``--keep-for``): export it if asked
    (``--export-before-clear``), then erase it before anyone joins; kept, and said, if the export failed."""
    from .privacy import clear_if_time_is_up

    done = clear_if_time_is_up(workspace)
    if done.failed:
        print(done.failed, file=out)
    elif done.erased:
        exported = f" after writing its export to {done.export}" if done.export else ""
        print(f"The class's time is up (--keep-for): {len(done.erased)} student space(s) and the class exports "
              f"in the workspace were erased{exported}.", file=out)


def run_classroom(port: int | None = None, teacher_code: str | None = None, workers: int | None = None,
                  workspace=None, address: str | None = None, bind_address: str | None = None,
                  app=APP, out=sys.stdout, proxy_url: str | None = None, proxy_addresses=(),
                  cluster: str | None = None) -> int:
    """Prepare, announce, and serve the app to the class until Ctrl+C; the server's exit code.
    ``cluster="local"``: a Ray cluster on this computer trains, started first and stopped last."""
    if not Path(app).is_file():
        raise ValueError(f"The Studio's app.py was not found at {app}; run `tlcore classroom` from a copy "
                         "of the project (where app.py is).")
    classroom = prepare_classroom(port, teacher_code, workers, workspace, address, bind_address, proxy_url,
                                  proxy_addresses, cluster)
    clean_after_killed(classroom.workspace)
    _clear_if_time_is_up(classroom.workspace, out)
    local = None
    try:
        if classroom.cluster == LOCAL:
            print("Starting a Ray cluster on this computer…", file=out, flush=True)
            local = LocalCluster()
        announce(classroom, out)
        environment = {**os.environ, **classroom.environment(), **(local.server_environment() if local else {}),
                       PARENT_ENV: str(os.getpid())}  # the server stops if this process is killed
        server = subprocess.Popen(classroom.streamlit_command(app), cwd=Path(app).parent, env=environment)
        # Ctrl+C, SIGTERM or a closed terminal: the server is told to stop, and saves, before this ends.
        return serve_until_stopped(server, grace=SHUTDOWN_SECONDS + 30)
    finally:
        if local is not None:
            local.stop()  # after the server: its workers have saved what they learned


__all__ = ["APP", "CLASSROOM", "Classroom", "announce", "check_teacher_code", "classroom_mode",
           "new_teacher_code", "normalise_code", "prepare_classroom", "run_classroom"]
