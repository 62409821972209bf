"""The teacher's code cannot be guessed: a chosen code that is easy to guess is refused, wrong
codes make each next try wait (per browser session and per client address, the right code too),
another client is never held up, and the code can be given without showing it to other users."""

from __future__ import annotations

import re

import pytest
from streamlit.testing.v1 import AppTest

from studio_support import APP, TIMEOUT, environment, folders, switch, texts  # noqa: F401  (fixtures)
from tlcore import cli
from tlcore.classroom.teacher_code import CodeTries, code_weakness, new_teacher_code, wait_words

GOOD = "K7QM-4TZP"


@pytest.mark.parametrize("code, problem", [
    ("PLANTS-2024", "it is a word or a number, or a word and a number (like PLANTS-2024)"),
    ("teacher", "it has only 7 letters and digits"),
    ("12345678", "it is a word or a number, or a word and a number (like PLANTS-2024)"),
    ("AB12-AB12-AB", "it repeats the same few characters"),
    ("A1B2-C3D4", "it follows the alphabet and counts (like A1B2C3D4)"),
    ("K7QM 4TZP", "it may hold only letters, digits and dashes, at most 64 characters"),
    ("K7" * 33, "it may hold only letters, digits and dashes, at most 64 characters"),
])
def test_a_chosen_code_that_is_easy_to_guess_is_refused_in_one_sentence(code, problem):
    assert code_weakness(code) == (
        f"The teacher code you chose is too easy to guess: {problem}. A good code has at least 8 letters and digits "
        "(dashes do not count), at least 6 of them different, letters and digits mixed, like K7QM-4TZP; choose "
        "another, or leave it out and a new one is made for you.")


def test_good_codes_pass():
    for code in (GOOD, "k7qm-4tzp", "BIO7-LEAF-9X", "R2D2-C3PO-X", "Q1W2E3R4T5"):
        assert code_weakness(code) is None, code
    made = [new_teacher_code() for _ in range(200)]
    assert sum(code_weakness(code) is None for code in made) > 120  # made codes are random; most pass (about 3 in 4)


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_wrong_codes_make_the_next_try_wait_even_the_right_one_and_not_another_client():
    clock = Clock()
    tries = CodeTries(clock=clock)
    for _ in range(2):  # a typo or two costs nothing
        assert tries.attempt("GUESS-1", GOOD, "tab-1", "10.0.0.9").wait_s == 0
    third = tries.attempt("GUESS-3", GOOD, "tab-1", "10.0.0.9")
    assert (third.accepted, third.checked, third.wait_s) == (False, True, 5.0)
    clock.now += 2
    right_too_soon = tries.attempt(GOOD, GOOD, "tab-1", "10.0.0.9")
    assert (right_too_soon.accepted, right_too_soon.checked, right_too_soon.wait_s) == (False, False, 3.0)
    assert tries.wait_s("tab-2", "10.0.0.9") == 3.0  # a new tab at the same address waits too
    assert tries.wait_s("tab-1", "10.0.0.99") == 3.0  # and the same tab from elsewhere
    other = tries.attempt(GOOD, GOOD, "teacher-tab", "10.0.0.7")  # another client is not held up
    assert (other.accepted, other.wait_s) == (True, 0)
    clock.now += 3
    assert tries.attempt("GUESS-4", GOOD, "tab-1", "10.0.0.9").wait_s == 10.0  # each wrong code: twice as long
    clock.now += 10
    assert tries.attempt(GOOD, GOOD, "tab-1", "10.0.0.9").accepted
    assert tries.wait_s("tab-1", "10.0.0.9") == 0  # the right code clears the count


def test_a_guess_a_second_gets_few_codes_checked():
    """The issue's 200 wrong codes at about one a second (all were checked), and an hour of it."""
    for seconds, most in ((200, 8), (3600, 19)):  # 3 free, then 5 s, 10 s, ... 5 minutes between tries
        clock, checked = Clock(), 0
        tries = CodeTries(clock=clock)
        for second in range(seconds):  # a new tab each time does not help: the address is counted
            checked += tries.attempt(f"GUESS-{second}", GOOD, f"tab-{second}", "10.0.0.9").checked
            clock.now += 1
        assert checked == most
        assert tries.wait_s("anyone", "10.0.0.8") == 0


def test_the_wait_in_words():
    assert [wait_words(s) for s in (0.2, 1, 4.1, 59, 60, 61, 300)] == [
        "1 second", "1 second", "5 seconds", "59 seconds", "1 minute", "2 minutes", "5 minutes"]


def test_the_teacher_page_says_how_long_to_wait(monkeypatch):
    from studio import spaces

    monkeypatch.setenv("TLCORE_MODE", "classroom")
    monkeypatch.setenv("TLCORE_TEACHER_CODE", GOOD)
    at = switch(AppTest.from_file(APP, default_timeout=TIMEOUT).run(timeout=60), "teacher").run()
    for guess in ("GUESS-1234", "PLANTS-2024", "TEACHER-1"):
        at.text_input(key="teacher_code").input(guess)
        at.button[0].click().run()
    assert "That is not the teacher code." in texts(at)
    assert re.search(r"After a few wrong codes each try waits: the next one in [1-5] seconds?\.", texts(at))
    at.text_input(key="teacher_code").input(GOOD)
    at.button[0].click().run()
    assert re.search(r"Too many wrong codes were typed here: wait [1-5] seconds?, then type the code again\.",
                     texts(at))
    assert "The class:" not in texts(at)
    again = switch(AppTest.from_file(APP, default_timeout=TIMEOUT).run(timeout=60), "teacher").run()  # a new tab
    assert re.search(r"Too many wrong codes were typed here: wait [1-5] seconds? before the next try\.", texts(again))
    tries = spaces.code_tries()
    later = tries.clock() + 6
    monkeypatch.setattr(tries, "clock", lambda: later)
    at.text_input(key="teacher_code").input(GOOD)
    at.button[0].click().run()
    assert not at.exception and "The class: 0 spaces" in texts(at)


# -- giving the code without showing it ---------------------------------------------------------------------
def test_the_code_comes_from_the_environment_or_a_hidden_prompt(monkeypatch, capsys):
    monkeypatch.delenv("TLCORE_TEACHER_CODE", raising=False)
    assert cli._chosen_teacher_code(None) is None  # a new one is made
    monkeypatch.setenv("TLCORE_TEACHER_CODE", f" {GOOD} ")
    assert cli._chosen_teacher_code(None) == GOOD
    typed = iter([GOOD, GOOD, GOOD, "K7QM-4TZQ"])
    monkeypatch.setattr("getpass.getpass", lambda prompt: next(typed))
    assert cli._chosen_teacher_code("-") == GOOD
    with pytest.raises(cli.CliError, match="The two codes were not the same; start again."):
        cli._chosen_teacher_code("-")
    assert capsys.readouterr().err == ""
    assert cli._chosen_teacher_code(GOOD) == GOOD
    assert "can be seen by every user of this computer (in the process list)" in capsys.readouterr().err


def test_tlcore_classroom_refuses_an_easy_code_before_starting(monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("TLCORE_WORKSPACE", str(tmp_path))
    monkeypatch.setenv("TLCORE_TEACHER_CODE", "PLANTS-2024")
    assert cli.main(["classroom", "--address", "127.0.0.1"]) == cli.EXIT_ERROR
    assert capsys.readouterr().err == f"tlcore: error: {code_weakness('PLANTS-2024')}\n"
    assert not (tmp_path / "classroom").exists()  # nothing made: no certificate, no server
    help_text = cli.build_parser()._subparsers._group_actions[0].choices["classroom"].format_help()
    assert "TLCORE_TEACHER_CODE" in help_text and "process list" in help_text and "`-` asks for it" in help_text
