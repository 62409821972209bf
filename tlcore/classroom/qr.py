"""The join URL as a QR code (segno: maintained, pure Python): for the terminal and the teacher page."""

from __future__ import annotations

import io

import segno

# "M" recovers from 15 % damage: a projected code read from the back of the room, with glare.
ERROR_LEVEL = "m"
WHITE_ON_BLACK, RESET = "\x1b[97;40m", "\x1b[0m"


def qr_code(url: str) -> segno.QRCode:
    return segno.make_qr(str(url), error=ERROR_LEVEL)


def terminal_text(url: str, border: int = 4, colors: bool = True) -> str:
    """The code drawn with half-block characters, two rows of modules a line.

    Light modules are "█" and dark ones spaces; with ``colors`` each line is drawn white on
    black (ANSI), so it reads on dark and light terminals alike. Without, it suits a dark one."""
    out = io.StringIO()
    qr_code(url).terminal(out=out, compact=True, border=border)
    lines = out.getvalue().splitlines()
    if colors:
        lines = [f"{WHITE_ON_BLACK}{line}{RESET}" for line in lines]
    return "\n".join(lines) + "\n"


def svg(url: str, scale: int = 8) -> str:
    """An SVG drawing (dark on white) for the teacher page, ``scale`` pixels a module."""
    out = io.BytesIO()
    qr_code(url).save(out, kind="svg", scale=scale, border=4, dark="#000", light="#fff", xmldecl=False)
    return out.getvalue().decode("utf-8")


def png(url: str, scale: int = 8) -> bytes:
    out = io.BytesIO()
    qr_code(url).save(out, kind="png", scale=scale, border=4)
    return out.getvalue()
