"""How a server stops: Ctrl+C (SIGINT), SIGTERM, or a closed terminal (SIGHUP).

Each must stop it the same way, saving first. ``stop_first`` puts a step before the handlers
that stop the server (Streamlit's for SIGINT and SIGTERM; SIGTERM's for SIGHUP, whose default
ends the process at once, saving nothing): the app's queue stops its trainings there, so they
save what they learned while the server stops, whatever then happens to the server.
``serve_until_stopped`` is the `tlcore classroom` side: it passes any of the three on to its
Streamlit server as SIGTERM and waits while it saves, so the whole tree stops together.

After a hang-up the terminal is gone and writing to it fails (EIO), also in Streamlit's own
"Stopping..." line, which would end its signal handler before it stops the server: so output
that went to the terminal goes nowhere from then on (``leave_terminal``).
"""

from __future__ import annotations

import logging
import os
import signal
import stat
import subprocess
import threading
import time
from contextlib import contextmanager
from typing import Callable, Iterator

log = logging.getLogger(__name__)

PARENT_ENV = "TLCORE_PARENT_PID"  # set by `tlcore classroom` for its server: see stop_when_orphaned
STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))


def leave_terminal() -> None:
    """Point stdout and stderr at the null device where they were a terminal (a character device,
    which a hung-up terminal still is); files and pipes (a log, nohup) keep their output."""
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        for fd in (1, 2):
            try:
                if stat.S_ISCHR(os.fstat(fd).st_mode):
                    os.dup2(null, fd)
            except OSError:
                continue
    finally:
        os.close(null)


def stop_first(step: Callable[[], None]) -> bool:
    """Make each stop signal start ``step()`` in a thread of its own (not a daemon: the process
    waits for it before it exits), then do what it did (SIGHUP: what SIGTERM does, after leaving
    the terminal). Call on the main thread once the server's handlers are set; whether it was done."""
    if threading.current_thread() is not threading.main_thread():
        return False
    terminate = signal.getsignal(signal.SIGTERM)
    for number in STOP_SIGNALS:
        then = terminate if number == getattr(signal, "SIGHUP", None) else signal.getsignal(number)
        if callable(then):
            signal.signal(number, _first(step, then))
    return True


def _first(step: Callable[[], None], then):
    def handler(signum, frame) -> None:
        if signum == getattr(signal, "SIGHUP", None):
            leave_terminal()
        threading.Thread(target=step, name="tlcore-stopping", daemon=False).start()
        then(signum, frame)

    return handler


class _StopAsked(Exception):
    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


def serve_until_stopped(server: subprocess.Popen, grace: float) -> int:
    """Wait for the ``server`` process and return its exit code. On Ctrl+C, SIGTERM or a closed
    terminal, send it SIGTERM (it saves what running trainings learned) and wait for it, up to
    ``grace`` seconds before killing it; further signals meanwhile cannot cut that save short."""
    def stop(signum, frame):
        raise _StopAsked(signum)

    on_main_thread = threading.current_thread() is threading.main_thread()
    previous = {}
    try:
        if on_main_thread:
            previous = {number: signal.signal(number, stop) for number in STOP_SIGNALS}
        return server.wait()
    except (_StopAsked, KeyboardInterrupt) as asked:
        for number in previous:
            signal.signal(number, signal.SIG_IGN)
        if getattr(asked, "signum", None) == getattr(signal, "SIGHUP", None):
            leave_terminal()
        return _stop(server, grace)
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def _stop(server: subprocess.Popen, grace: float) -> int:
    if server.poll() is None:
        server.send_signal(signal.SIGTERM)
    try:
        return server.wait(grace)
    except subprocess.TimeoutExpired:
        log.error("The server did not stop within %.0f s; ending it.", grace)
        server.kill()
        return server.wait()


def stop_when_orphaned(interval: float = 2.0) -> bool:
    """In a server that `tlcore classroom` started ($TLCORE_PARENT_PID): when that parent is gone
    without passing a signal on (killed with SIGKILL, crashed), stop as on SIGTERM, saving first,
    instead of holding the classroom's port with nobody left to stop it. Whether it watches."""
    expected = os.environ.get(PARENT_ENV, "")
    if not expected.isdigit() or os.getppid() != int(expected):
        return False

    def watch() -> None:
        while os.getppid() == int(expected):
            time.sleep(interval)
        log.warning("`tlcore classroom` has gone: its server stops too, saving running trainings first.")
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="tlcore-parent-watch", daemon=True).start()
    return True


@contextmanager
def stopping_with(stop: Callable[[], None]) -> Iterator[None]:
    """While a command-line training runs: Ctrl+C, SIGTERM (`kill`, a service manager) and a closed
    terminal (SIGHUP) call ``stop`` once (the training ends at its next step, as the app's Stop
    button ends it, and what was learned is saved as a stopped run); a second one ends at once."""
    asked = []

    def handler(signum, frame) -> None:
        if signum == getattr(signal, "SIGHUP", None):
            leave_terminal()
        if asked:
            raise KeyboardInterrupt
        asked.append(signum)
        stop()

    previous = {}
    if threading.current_thread() is threading.main_thread():
        previous = {number: signal.signal(number, handler) for number in STOP_SIGNALS}
    try:
        yield
    finally:
        for number, handler_before in previous.items():
            signal.signal(number, handler_before)
