"""`tlcore classroom` as a function: its choices, what it prints, and the real Streamlit server
answering over HTTPS on loopback with the generated certificate (a real, verifying TLS client),
and a plain http:// request at the same port with a page that says where to go."""

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
    _behind_proxy,
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
    classroom = prepare_classroom(port=port, teacher_code="K7QM-4TZP", workers=2, workspace=tmp_path,
                                  address="192.168.1.20", bind_address="127.0.0.1")
    assert (classroom.port, classroom.teacher_code, classroom.workers) == (port, "K7QM-4TZP", 2)
    assert classroom.join_url == f"https://192.168.1.20:{port}/"
    assert classroom.cert_file.parent == tmp_path.resolve() / "classroom" / "tls"
    assert "192.168.1.20" in covered(classroom.cert_file)[1]
    assert classroom.environment() == {
        "TLCORE_MODE": "classroom", "TLCORE_TEACHER_CODE": "K7QM-4TZP", "TLCORE_WORKERS": "2",
        "TLCORE_WORKSPACE": str(tmp_path.resolve()), "TLCORE_JOIN_URL": f"https://192.168.1.20:{port}/",
        "TLCORE_CA_FILE": str(tmp_path.resolve() / "classroom" / "tls" / "classroom-ca.pem")}
    assert classroom.setup_url == f"http://192.168.1.20:{port}/" and classroom.authority.state == "made"
    command = classroom.streamlit_command()
    assert command[1:4] == ["-m", "studio.https_server", "run"]  # HTTPS, and a page for http:// on the same port
    for flag, value in (("--server.address", "127.0.0.1"), ("--browser.serverAddress", "192.168.1.20"), ("--server.sslCertFile", str(classroom.cert_file)),
                        ("--server.sslKeyFile", str(classroom.key_file)), ("--server.fileWatcherType", "none")):
        assert command[command.index(flag) + 1] == value
    assert prepare_classroom(workspace=tmp_path, address="127.0.0.1").bind_address == "0.0.0.0"


def test_behind_the_schools_proxy_plain_http_on_loopback_under_the_proxys_path(tmp_path):
    classroom = prepare_classroom(workspace=tmp_path, proxy_url="https://school.example/studio", teacher_code="K7QM-4TZP")
    assert (classroom.join_url, classroom.base_path, classroom.bind_address) == (
        "https://school.example/studio/", "studio", "127.0.0.1")
    assert classroom.authority is None and classroom.setup_url is None and classroom.cert_file is None
    assert classroom.environment()["TLCORE_TRUSTED_PROXIES"] == "127.0.0.1,::1"
    assert "TLCORE_CA_FILE" not in classroom.environment()
    command = classroom.streamlit_command()
    assert "--server.sslCertFile" not in command
    for flag, value in (("--server.address", "127.0.0.1"), ("--server.baseUrlPath", "studio"),
                        ("--browser.serverAddress", "school.example"), ("--browser.serverPort", "443")):
        assert command[command.index(flag) + 1] == value
    # A proxy on another computer: listen where it reaches, believe its forwarded headers (and loopback's).
    assert _behind_proxy("http://10.0.0.2:8080", "10.0.0.5", ["10.0.0.2"]) == (
        "http://10.0.0.2:8080/", "10.0.0.5", ("127.0.0.1", "::1", "10.0.0.2"))
    out = io.StringIO()
    announce(classroom, out)
    assert "it forwards https://school.example/studio/ to http://127.0.0.1:" in out.getvalue()
    assert "install the classroom's certificate" not in out.getvalue()


@pytest.mark.parametrize("kwargs, message", [
    ({"proxy_url": "school.example"}, "--behind-proxy needs the address students open through your proxy, like "
     "https://studio.school.example/ or https://school.example/studio/; got 'school.example'."),
    ({"proxy_url": "https://school.example/", "bind_address": "10.0.0.5"},
     "With --listen 10.0.0.5, give your proxy's own address too (--proxy-address ADDRESS): the Studio believes "
     "the client addresses that only the proxy forwards."),
])
def test_bad_proxy_choices_get_one_sentence(tmp_path, kwargs, message):
    with pytest.raises(ValueError) as error:
        prepare_classroom(workspace=tmp_path, **kwargs)
    assert str(error.value) == message


@pytest.mark.parametrize("kwargs, message", [
    ({"teacher_code": "abc"}, "The teacher code you chose is too easy to guess: it has only 3 letters and digits. "
                              "A good code has at least 8 letters and digits (dashes do not count), at least 6 of "
                              "them different, letters and digits mixed, like K7QM-4TZP; choose another, or leave "
                              "it out and a new one is made for you."),
    ({"workers": 0}, "--workers must be a whole number from 1 to 64; got 0."),
    ({"cluster": "192.168.1.30:10001"}, "--cluster takes `local` (a Ray cluster on this computer) or the address of "
                                        "a Ray cluster's head, like ray://192.168.1.30:10001; got '192.168.1.30:10001'."),
])
def test_bad_choices_get_one_sentence(tmp_path, kwargs, message):
    with pytest.raises(ValueError) as error:
        prepare_classroom(workspace=tmp_path, address="127.0.0.1", **kwargs)
    assert str(error.value) == message


def test_the_terminal_shows_the_url_the_qr_code_and_the_code(tmp_path):
    classroom = prepare_classroom(workspace=tmp_path, address="10.0.0.7")
    out = io.StringIO()
    announce(classroom, out)
    text = out.getvalue()
    assert f"Students open:     {classroom.join_url}" in text
    assert qr.terminal_text(classroom.join_url, colors=False) in text  # not a terminal: no colour codes
    assert f"Teacher code:      {classroom.teacher_code}" in text and str(classroom.spaces_dir) in text
    chosen = io.StringIO()  # a code the teacher chose is theirs: never printed beside the QR code
    announce(prepare_classroom(teacher_code="K7QM-4TZP", workspace=tmp_path, address="10.0.0.7"), chosen)
    assert "Teacher code:      the one you chose (not shown)" in chosen.getvalue()
    assert "K7QM" not in chosen.getvalue()
    assert "only this computer can join" not in text
    assert f"Each device, once: open http://10.0.0.7:{classroom.port}/ and install the classroom's certificate" in text
    assert f"Its fingerprint starts with {classroom.authority.fingerprint()}." in text
    assert "The certificate was made now and lasts until" in text and "NEW CERTIFICATE" not in text
    assert "NEW CERTIFICATE" not in chosen.getvalue()  # the same CA the second time: devices keep it
    lonely = Classroom(**{**classroom.__dict__, "address": "127.0.0.1"})
    out = io.StringIO()
    announce(lonely, out)
    assert "No network was found: only this computer can join." in out.getvalue()


def test_a_class_trained_on_a_ray_cluster_says_where_and_needs_ray(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # not installed: said before anything starts
    with pytest.raises(ValueError) as error:
        prepare_classroom(workspace=tmp_path, address="127.0.0.1", cluster="local")
    assert str(error.value) == ('--cluster: Ray is not installed: install the cluster extra (pip install -e ".[cluster]") '
                                "on this computer and on every computer of the cluster.")
    monkeypatch.setattr("tlcore.classroom.server.ray_missing", lambda: None)
    classroom = prepare_classroom(workspace=tmp_path, address="10.0.0.7", cluster="ray://10.0.0.30:10001")
    environment = classroom.environment()  # what the server is given: where, and Ray keeps off its signals
    assert (environment["TLCORE_CLUSTER"], environment["RAY_DISABLE_FAILURE_SIGNAL_HANDLER"]) == (
        "ray://10.0.0.30:10001", "1")
    assert environment["RAY_USAGE_STATS_ENABLED"] == "0"
    out = io.StringIO()
    announce(classroom, out)
    assert "  Trained on:        the Ray cluster at ray://10.0.0.30:10001, each training by a worker there" in out.getvalue()
    assert "TLCORE_CLUSTER" not in prepare_classroom(workspace=tmp_path, address="10.0.0.7").environment()


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
              f"port={port}, teacher_code=None, workers=1, workspace={str(tmp_path)!r}, "
              f"address='127.0.0.1', bind_address='127.0.0.1'))")
    log = open(tmp_path / "classroom.log", "w")
    process = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                               env={**os.environ, "PYTHONPATH": str(ROOT)})
    cert = tmp_path / "classroom" / "tls" / "classroom-ca.pem"  # devices trust the CA, nothing else
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
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/?space=abc", timeout=5) as response:
            page = response.read().decode()  # http:// typed by habit: a page saying where to go, nothing served
        assert f'href="https://127.0.0.1:{port}/?space=abc"' in page and "_stcore" not in page
        printed = (tmp_path / "classroom.log").read_text()
        assert f"Students open:     https://127.0.0.1:{port}/" in printed and "Teacher code:      " in printed
    finally:
        process.send_signal(signal.SIGINT)  # what Ctrl+C does
        try:
            assert process.wait(60) in (0, -signal.SIGTERM, 128 + signal.SIGTERM, 1)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
            log.close()


def test_the_command_line_says_in_one_line_what_goes_with_behind_proxy(tmp_path, capsys, monkeypatch):
    from tlcore.cli import main

    monkeypatch.setenv("TLCORE_WORKSPACE", str(tmp_path))
    assert main(["classroom", "--listen", "10.0.0.5"]) == 2
    assert capsys.readouterr().err.strip() == (
        "tlcore: error: --listen and --proxy-address go with --behind-proxy URL (the address students open "
        "through your proxy).")
    assert main(["classroom", "--behind-proxy", "https://school.example/", "--listen", "10.0.0.5"]) == 2
    assert "give your proxy's own address too (--proxy-address ADDRESS)" in capsys.readouterr().err


def test_a_browser_closing_as_the_server_stops_is_not_an_error():
    """uvicorn 0.55's shutdown raises InvalidState for a WebSocket the browser is already closing
    (a tab shut as the teacher presses Ctrl+C): the classroom's protocol just closes it."""
    from unittest import mock

    from websockets.exceptions import InvalidState

    from studio.https_server import _websocket_protocol

    protocol_class = _websocket_protocol("websockets-sansio")["ws"]
    protocol = object.__new__(protocol_class)
    protocol.ping_timer = protocol.pong_timer = protocol.initial_response = None
    protocol.close_sent, protocol.handshake_complete = False, True
    protocol.queue, protocol.transport, protocol.conn = mock.Mock(), mock.Mock(), mock.Mock()
    protocol.conn.send_close.side_effect = InvalidState("connection is closing")
    protocol.shutdown()
    protocol.transport.close.assert_called_once()
    assert _websocket_protocol("wsproto") == {}  # another protocol chosen by Streamlit: left as it is
