"""`tlcore classroom` as a function: its choices, what it prints, and the real Streamlit server
answering over HTTPS on loopback with the generated certificate (a real, verifying TLS client)."""

from __future__ import annotations

import io
import os
import signal
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from appserver import ROOT, free_port
from tlcore.classroom import qr
from tlcore.classroom.server import (
    Classroom,
    announce,
    check_teacher_code,
    classroom_mode,
    new_teacher_code,
    prepare_classroom,
)
from tlcore.classroom.tls import covered


def test_a_teacher_code_is_made_hard_to_misread_and_checked_as_typed():
    codes = [new_teacher_code() for _ in range(300)]  # many: one bad letter in the alphabet shows up
    assert all(len(code) == 9 and code[4] == "-" for code in codes)
    assert not set("".join(codes)) & set("0O1IL")
    code = codes[0]
    assert new_teacher_code() != code
    assert check_teacher_code(f" {code.lower().replace('-', ' ')} ", code)
    assert not check_teacher_code("", code) and not check_teacher_code(code[:-1], code)
    assert not check_teacher_code("", "")  # no code set: nobody gets in


def test_prepare_decides_everything_and_makes_the_certificate(tmp_path):
    port = free_port()
    classroom = prepare_classroom(port=port, teacher_code="PLANTS-2024", workers=2, workspace=tmp_path,
                                  address="192.168.1.20", bind_address="127.0.0.1")
    assert (classroom.port, classroom.teacher_code, classroom.workers) == (port, "PLANTS-2024", 2)
    assert classroom.join_url == f"https://192.168.1.20:{port}/"
    assert classroom.cert_file.parent == tmp_path.resolve() / "classroom" / "tls"
    assert "192.168.1.20" in covered(classroom.cert_file)[1]
    assert classroom.environment() == {
        "TLCORE_MODE": "classroom", "TLCORE_TEACHER_CODE": "PLANTS-2024", "TLCORE_WORKERS": "2",
        "TLCORE_WORKSPACE": str(tmp_path.resolve()), "TLCORE_JOIN_URL": f"https://192.168.1.20:{port}/"}
    command = classroom.streamlit_command()
    for flag, value in (("--server.address", "127.0.0.1"), ("--server.sslCertFile", str(classroom.cert_file)),
                        ("--server.sslKeyFile", str(classroom.key_file)), ("--server.fileWatcherType", "none")):
        assert command[command.index(flag) + 1] == value
    assert prepare_classroom(workspace=tmp_path, address="127.0.0.1").bind_address == "0.0.0.0"


@pytest.mark.parametrize("kwargs, message", [
    ({"teacher_code": "abc"}, "The teacher code must be 6 to 64 letters, digits or dashes (for example "
                              "PLANTS-2024); choose another with --teacher-code."),
    ({"workers": 0}, "--workers must be a whole number from 1 to 64; got 0."),
])
def test_bad_choices_get_one_sentence(tmp_path, kwargs, message):
    with pytest.raises(ValueError) as error:
        prepare_classroom(workspace=tmp_path, address="127.0.0.1", **kwargs)
    assert str(error.value) == message


def test_the_terminal_shows_the_url_the_qr_code_and_the_code(tmp_path):
    classroom = prepare_classroom(teacher_code="PLANTS-2024", workspace=tmp_path, address="10.0.0.7")
    out = io.StringIO()
    announce(classroom, out)
    text = out.getvalue()
    assert f"Students open:     {classroom.join_url}" in text
    assert qr.terminal_text(classroom.join_url, colors=False) in text  # not a terminal: no colour codes
    assert "Teacher code:      PLANTS-2024" in text and str(classroom.spaces_dir) in text
    assert "only this computer can join" not in text
    lonely = Classroom(**{**classroom.__dict__, "address": "127.0.0.1"})
    out = io.StringIO()
    announce(lonely, out)
    assert "No network was found: only this computer can join." in out.getvalue()


def test_the_mode_comes_from_the_environment(monkeypatch):
    monkeypatch.delenv("TLCORE_MODE", raising=False)
    assert not classroom_mode()
    monkeypatch.setenv("TLCORE_MODE", "classroom")
    assert classroom_mode()


def health(url: str, context: ssl.SSLContext) -> bytes:
    with urllib.request.urlopen(url + "_stcore/health", context=context, timeout=5) as response:
        return response.read()


def test_the_real_server_answers_over_https_with_the_generated_certificate(tmp_path):
    """run_classroom in a process of its own, as `tlcore classroom` runs it; stopped with Ctrl+C."""
    port = free_port()
    script = (f"from tlcore.classroom.server import run_classroom; raise SystemExit(run_classroom("
              f"port={port}, teacher_code='PLANTS-2024', workers=1, workspace={str(tmp_path)!r}, "
              f"address='127.0.0.1', bind_address='127.0.0.1'))")
    log = open(tmp_path / "classroom.log", "w")
    process = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                               env={**os.environ, "PYTHONPATH": str(ROOT)})
    cert = tmp_path / "classroom" / "tls" / "classroom-cert.pem"
    try:
        deadline, answer = time.monotonic() + 90, None
        while answer is None:
            assert process.poll() is None, (tmp_path / "classroom.log").read_text()
            assert time.monotonic() < deadline, "the classroom server did not start"
            try:
                answer = health(f"https://localhost:{port}/", ssl.create_default_context(cafile=str(cert)))
            except (OSError, ssl.SSLError):
                time.sleep(0.5)
        assert answer == b"ok"
        trusting = ssl.create_default_context(cafile=str(cert))
        assert health(f"https://127.0.0.1:{port}/", trusting) == b"ok"  # the IP address is in the certificate
        with pytest.raises(urllib.error.URLError, match="CERTIFICATE_VERIFY_FAILED"):
            health(f"https://localhost:{port}/", ssl.create_default_context())  # an untrusting client
        with pytest.raises((urllib.error.URLError, ConnectionError, OSError)):
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=5) as response:
                assert response.status != 200  # plain HTTP is not served
        printed = (tmp_path / "classroom.log").read_text()
        assert f"Students open:     https://127.0.0.1:{port}/" in printed and "PLANTS-2024" in printed
    finally:
        process.send_signal(signal.SIGINT)  # what Ctrl+C does
        try:
            assert process.wait(60) in (0, -signal.SIGTERM, 128 + signal.SIGTERM, 1)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
            log.close()
