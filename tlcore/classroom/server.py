"""What `tlcore classroom` does: the same app, served to a class on the school network.

``prepare_classroom`` chooses the port, the teacher's code (given, or made and printed), the
LAN address and the certificate; ``announce`` prints the join URL, its QR code and the code;
``run_classroom`` does both and runs ``streamlit run app.py`` over HTTPS on every interface,
telling the app what it needs through its environment:

    TLCORE_MODE=classroom     the app shows the join page and keeps spaces apart
    TLCORE_TEACHER_CODE       opens the teacher page (never in a student's link)
    TLCORE_WORKERS            trainings side by side (the queue's workers)
    TLCORE_WORKSPACE          where spaces, runs and the queue's journal are kept
    TLCORE_JOIN_URL           the URL to show on the teacher page (with its QR code)
"""

from __future__ import annotations

import hmac
import os
import re
import secrets
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from ..paths import workspace_root
from . import qr
from .network import choose_port, join_url, lan_address
from .queue import MAX_WORKERS, configured_workers
from .tls import TRUST_STEPS, ensure_certificate

MODE_ENV, CODE_ENV, WORKERS_ENV, JOIN_URL_ENV = "TLCORE_MODE", "TLCORE_TEACHER_CODE", "TLCORE_WORKERS", "TLCORE_JOIN_URL"
CLASSROOM, SOLO = "classroom", "solo"
APP = Path(__file__).resolve().parents[2] / "app.py"  # the Studio, beside the tlcore package
_CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I/L to misread from a projector
_CODE = re.compile(r"[A-Za-z0-9-]{6,64}")


@dataclass(frozen=True)
class Classroom:
    """Everything the class's server needs, decided before it starts."""

    port: int
    address: str  # the LAN address students use
    bind_address: str  # where the server listens ("0.0.0.0": every interface)
    teacher_code: str
    workers: int
    workspace: Path
    cert_file: Path
    key_file: Path

    @property
    def join_url(self) -> str:
        return join_url(self.address, self.port)

    @property
    def spaces_dir(self) -> Path:
        return self.workspace / "spaces"

    def environment(self) -> dict[str, str]:
        return {MODE_ENV: CLASSROOM, CODE_ENV: self.teacher_code, WORKERS_ENV: str(self.workers),
                "TLCORE_WORKSPACE": str(self.workspace), JOIN_URL_ENV: self.join_url}

    def streamlit_command(self, app=APP, python: str = sys.executable) -> list[str]:
        return [python, "-m", "streamlit", "run", str(app),
                "--server.address", self.bind_address, "--server.port", str(self.port),
                "--server.sslCertFile", str(self.cert_file), "--server.sslKeyFile", str(self.key_file),
                "--server.headless", "true", "--browser.gatherUsageStats", "false",
                "--server.fileWatcherType", "none", "--server.runOnSave", "false"]


# -- the teacher's code -----------------------------------------------------------------------------
def new_teacher_code() -> str:
    """Eight letters and digits that are hard to misread, e.g. "K7QM-4TZP"."""
    code = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(8))
    return f"{code[:4]}-{code[4:]}"


def normalise_code(text) -> str:
    """As typed: capitals or not, with or without the dash and spaces."""
    return re.sub(r"[\s-]+", "", str(text or "")).upper()


def check_teacher_code(given, expected) -> bool:
    """Whether ``given`` is the teacher's code (compared in constant time)."""
    want = normalise_code(expected)
    return bool(want) and hmac.compare_digest(normalise_code(given).encode(), want.encode())


def classroom_mode() -> bool:
    """Whether this app was started by `tlcore classroom` (else it is one person's, solo)."""
    return os.environ.get(MODE_ENV, SOLO).strip().lower() == CLASSROOM


# -- starting -------------------------------------------------------------------------------------
def prepare_classroom(port: int | None = None, teacher_code: str | None = None, workers: int | None = None,
                      workspace=None, address: str | None = None, bind_address: str = "0.0.0.0") -> Classroom:
    """Decide everything and make the certificate; ValueError in plain words for a bad choice."""
    if teacher_code is not None and not _CODE.fullmatch(str(teacher_code).strip()):
        raise ValueError("The teacher code must be 6 to 64 letters, digits or dashes (for example "
                         "PLANTS-2024); choose another with --teacher-code.")
    workers = configured_workers() if workers is None else int(workers)
    if not 1 <= workers <= MAX_WORKERS:
        raise ValueError(f"--workers must be a whole number from 1 to {MAX_WORKERS}; got {workers}.")
    workspace = Path(workspace or workspace_root()).expanduser().resolve()
    address = address or lan_address()
    cert_file, key_file = ensure_certificate(workspace / "classroom" / "tls", addresses=[address])
    return Classroom(choose_port(port, bind_address), address, bind_address,
                     str(teacher_code).strip() if teacher_code else new_teacher_code(), workers, workspace,
                     cert_file, key_file)


def announce(classroom: Classroom, out=sys.stdout) -> None:
    """What the teacher reads in the terminal: where students go, the QR code, the code."""
    colors = bool(getattr(out, "isatty", lambda: False)())
    lines = [
        "", "Transfer Learning Studio: classroom", "",
        f"  Students open:     {classroom.join_url}   (or scan the code below)",
        qr.terminal_text(classroom.join_url, colors=colors),
        f"  Teacher code:      {classroom.teacher_code}   (type it on the Teacher page; never share it)",
        f"  Trainings at once: {classroom.workers}   (change with --workers)",
        f"  Pictures and runs: {classroom.spaces_dir}   (delete that folder to remove them all)",
        "",
        "  The first time, each phone or laptop warns that the connection is not private:",
        "  that is this computer's own certificate. The join page explains the one-time step.",
    ]
    if classroom.address == "127.0.0.1":
        lines += ["", "  No network was found: only this computer can join. Connect to the school's",
                  "  network (or set TLCORE_LAN_ADDRESS) and start again for the class to join."]
    lines += ["", "  Press Ctrl+C to stop the classroom.", ""]
    print("\n".join(lines), file=out, flush=True)


def run_classroom(port: int | None = None, teacher_code: str | None = None, workers: int | None = None,
                  workspace=None, address: str | None = None, bind_address: str = "0.0.0.0",
                  app=APP, out=sys.stdout) -> int:
    """Prepare, announce, and serve the app to the class until Ctrl+C; the server's exit code."""
    if not Path(app).is_file():
        raise ValueError(f"The Studio's app.py was not found at {app}; run `tlcore classroom` from a copy "
                         "of the project (where app.py is).")
    classroom = prepare_classroom(port, teacher_code, workers, workspace, address, bind_address)
    announce(classroom, out)
    server = subprocess.Popen(classroom.streamlit_command(app), cwd=Path(app).parent,
                              env={**os.environ, **classroom.environment()})
    try:
        return server.wait()
    except KeyboardInterrupt:
        server.send_signal(signal.SIGTERM)  # Streamlit stops cleanly on SIGTERM: the app's queue saves runs
        try:
            return server.wait(60)
        except subprocess.TimeoutExpired:
            server.kill()
            return server.wait()


__all__ = ["APP", "CLASSROOM", "Classroom", "TRUST_STEPS", "announce", "check_teacher_code", "classroom_mode",
           "new_teacher_code", "normalise_code", "prepare_classroom", "run_classroom"]
