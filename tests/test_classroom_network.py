"""The LAN address, the join URL, ports, and a QR code that really holds the URL (decoded by zxing-cpp)."""

from __future__ import annotations

import ipaddress
import socket
import xml.etree.ElementTree as ElementTree

import numpy as np
import pytest
from PIL import Image

from tlcore.classroom import qr
from tlcore.classroom.network import choose_port, join_url, lan_address, port_is_free

zxingcpp = pytest.importorskip("zxingcpp", reason="the QR decoder is a test dependency: pip install zxing-cpp")

URL = "https://192.168.1.20:8501/"


def decode(image: Image.Image) -> list[str]:
    return [result.text for result in zxingcpp.read_barcodes(image)]


def test_the_lan_address_is_an_address_of_this_computer(monkeypatch):
    monkeypatch.delenv("TLCORE_LAN_ADDRESS", raising=False)
    address = lan_address()
    assert ipaddress.ip_address(address).version == 4
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((address, 0))  # only an address this computer has can be bound
    assert lan_address(probe=("127.0.0.1", 9)) == "127.0.0.1"


def test_the_lan_address_can_be_chosen(monkeypatch):
    monkeypatch.setenv("TLCORE_LAN_ADDRESS", " 10.1.2.3 ")
    assert lan_address() == "10.1.2.3"
    monkeypatch.setenv("TLCORE_LAN_ADDRESS", "my laptop")
    with pytest.raises(ValueError) as error:
        lan_address()
    assert str(error.value) == "TLCORE_LAN_ADDRESS must be an IP address such as 192.168.1.20; got 'my laptop'."


def test_join_urls():
    assert join_url("192.168.1.20", 8501) == URL
    assert join_url("127.0.0.1", 8600, https=False) == "http://127.0.0.1:8600/"
    assert join_url("fe80::1", 8501) == "https://[fe80::1]:8501/"


def test_a_port_in_use_is_refused_in_plain_words():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert not port_is_free(port, "127.0.0.1")
        with pytest.raises(ValueError) as error:
            choose_port(port, "127.0.0.1")
        assert str(error.value).startswith(f"Port {port} is already in use on this computer")
    assert choose_port(port, "127.0.0.1") == port  # free again
    assert 8501 <= choose_port(None, "127.0.0.1") < 8601


def test_the_png_qr_code_decodes_to_the_url():
    assert decode(Image.open(__import__("io").BytesIO(qr.png(URL)))) == [URL]


def test_the_terminal_qr_code_decodes_to_the_url():
    """Draw the terminal's characters back as modules (█ light, space dark, ▀/▄ half) and read them."""
    text = qr.terminal_text(URL, colors=True)
    assert text.startswith(qr.WHITE_ON_BLACK) and qr.RESET in text
    rows = []
    for line in text.replace(qr.WHITE_ON_BLACK, "").replace(qr.RESET, "").splitlines():
        top = [0 if ch in "█▀" else 1 for ch in line]  # 1: dark module
        bottom = [0 if ch in "█▄" else 1 for ch in line]
        rows += [top, bottom]
    modules = np.array(rows, dtype=np.uint8)
    assert modules.shape[1] == qr.qr_code(URL).symbol_size(border=4)[0]
    picture = Image.fromarray(np.where(modules == 1, 0, 255).astype(np.uint8)).resize(
        (modules.shape[1] * 8, modules.shape[0] * 8), Image.NEAREST)
    assert decode(picture) == [URL]
    plain = qr.terminal_text(URL, colors=False)
    assert "\x1b" not in plain and set(plain) <= set("█▀▄ \n")


def test_the_svg_is_a_drawing_of_the_right_size():
    root = ElementTree.fromstring(qr.svg(URL, scale=5))
    assert root.tag.endswith("svg")
    side = qr.qr_code(URL).symbol_size(scale=5, border=4)[0]
    assert (int(root.get("width")), int(root.get("height"))) == (side, side)
