"""The teacher's code: made, checked as typed, refused when easy to guess, and guessed only slowly.

``new_teacher_code`` makes one (eight letters and digits that are hard to misread);
``code_weakness`` says why a code the teacher chose would be easy for a student to guess;
``CodeTries`` counts wrong codes per browser session and per client address, for the whole
server, and makes each try after the first few wait longer (the Teacher page asks it before
checking a code, and says how long in words).
"""

from __future__ import annotations

import hmac
import math
import re
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Callable

from ..i18n import msg_n

_CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I/L to misread from a projector
_CODE = re.compile(r"[A-Za-z0-9-]{1,64}")
MIN_LENGTH, MIN_DIFFERENT = 8, 6
GOOD_CODE = (f"at least {MIN_LENGTH} letters and digits (dashes do not count), at least {MIN_DIFFERENT} of them "
             "different, letters and digits mixed, like K7QM-4TZP")


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


def code_weakness(code: str) -> str | None:
    """Why a code the teacher chose is unusable or easy for a student to guess, in one sentence
    that says what a good one looks like; None for a good code. Guessers try words, names, years,
    "123456" and "ABC1": a code passes when it is long enough, not a few characters repeated, and
    not one word or number (nor a word and a number, like PLANTS-2024)."""
    text = str(code).strip()
    if not _CODE.fullmatch(text):
        problem = "it may hold only letters, digits and dashes, at most 64 characters"
    else:
        problem = _guessable(normalise_code(text))
    if problem is None:
        return None
    return (f"The teacher code you chose is too easy to guess: {problem}. A good code has {GOOD_CODE}; choose "
            "another, or leave it out and a new one is made for you.")


def _guessable(plain: str) -> str | None:
    runs = re.findall(r"[A-Z]+|[0-9]+", plain)
    letters, digits = re.sub(r"[0-9]", "", plain), re.sub(r"[A-Z]", "", plain)
    if len(plain) < MIN_LENGTH:
        return f"it has only {len(plain)} letters and digits"
    if len(set(plain)) < MIN_DIFFERENT:
        return "it repeats the same few characters"
    if len(runs) < 3:
        return "it is a word or a number, or a word and a number (like PLANTS-2024)"
    if _in_order(letters) and _in_order(digits):
        return "it follows the alphabet and counts (like A1B2C3D4)"
    return None


def _in_order(text: str) -> bool:
    """Each character the one after (or before, or the same as) the last: ABCD, 4321, 7777."""
    steps = {ord(b) - ord(a) for a, b in zip(text, text[1:])}
    return len(steps) <= 1 and steps <= {-1, 0, 1}


# -- guessing only slowly ---------------------------------------------------------------------------------
def wait_words(seconds: float) -> str:
    """A wait in words, never shorter than it is: "5 seconds", "1 minute", "3 minutes"."""
    seconds = max(1, math.ceil(seconds))
    if seconds < 60:
        return msg_n("{count} second", "{count} seconds", seconds)
    return msg_n("{count} minute", "{count} minutes", math.ceil(seconds / 60))


@dataclass(frozen=True)
class Attempt:
    """What became of one try: ``accepted``; else ``checked`` (False: refused unread, it came too
    soon) and ``wait_s``, the seconds before the next try is allowed (0: at once)."""

    accepted: bool
    checked: bool
    wait_s: float = 0.0


@dataclass
class _Wrong:
    count: int = 0
    last: float = 0.0


class CodeTries:
    """Wrong teacher codes, counted per browser session and per client address, for the whole
    server (one object shared by every session; thread-safe).

    The first ``free_tries`` wrong codes cost nothing (a typo); after that each wrong code makes
    the next try wait, twice as long each time (``first_wait_s``, 10 s, 20 s, ...) up to
    ``longest_wait_s``. A try that comes too soon is refused without reading the code, so even the
    right one waits. A new tab does not start afresh (the address is counted too), and one client's
    wrong codes never make another client wait. The right code clears both counts."""

    def __init__(self, free_tries: int = 3, first_wait_s: float = 5.0, longest_wait_s: float = 300.0,
                 forget_after_s: float = 3600.0, clock: Callable[[], float] = time.monotonic):
        self.free_tries, self.first_wait_s, self.longest_wait_s = free_tries, first_wait_s, longest_wait_s
        self.forget_after_s, self.clock = forget_after_s, clock
        self._wrong: dict[tuple[str, str], _Wrong] = {}
        self._lock = threading.Lock()

    def wait_s(self, session: str, address: str | None) -> float:
        """Seconds before this session, at this address, may try a code (0: now)."""
        with self._lock:
            return self._wait(self._keys(session, address), self.clock())

    def attempt(self, given, expected, session: str, address: str | None) -> Attempt:
        """Check ``given`` against ``expected`` if a try is allowed now, and count it."""
        keys = self._keys(session, address)
        with self._lock:
            now = self.clock()
            waiting = self._wait(keys, now)
            if waiting > 0:
                return Attempt(accepted=False, checked=False, wait_s=waiting)
            if check_teacher_code(given, expected):
                for key in keys:
                    self._wrong.pop(key, None)
                return Attempt(accepted=True, checked=True)
            self._forget_old(now)
            for key in keys:
                wrong = self._wrong.setdefault(key, _Wrong())
                wrong.count, wrong.last = wrong.count + 1, now
            return Attempt(accepted=False, checked=True, wait_s=self._wait(keys, now))

    def _wait(self, keys, now: float) -> float:
        waits = [self._wait_after(wrong) - (now - wrong.last) for wrong in map(self._wrong.get, keys) if wrong]
        return max([0.0, *waits])

    def _wait_after(self, wrong: _Wrong) -> float:
        beyond = wrong.count - self.free_tries
        return 0.0 if beyond < 0 else min(self.first_wait_s * 2 ** beyond, self.longest_wait_s)

    @staticmethod
    def _keys(session: str, address: str | None) -> tuple[tuple[str, str], ...]:
        # No address: the server's own computer (Streamlit gives none for loopback).
        return ("session", str(session)), ("address", address or "this computer")

    def _forget_old(self, now: float) -> None:
        """Counts untouched for forget_after_s go: memory stays small in a long lesson."""
        for key in [key for key, wrong in self._wrong.items() if now - wrong.last > self.forget_after_s]:
            del self._wrong[key]
