"""The live camera's answer is announced politely: when it changes, at most every ~2 s, never each frame.

The live answer redraws four times a second; a screen reader hears it through a polite live
region (studio/announce.py) whose text changes only when the answer does. Here: the announcer
fed a stream of answers as the page's fragment sees them (every 0.25 s), the sentences it says
(studio.camera.answer_words), and the region's own JavaScript in real Chromium (its element
kept, its attributes, its text written only when it changes). The region in the real app, with
the fake camera, is checked in tests/test_a11y.py (the Test page's live camera).
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from studio.announce import ANNOUNCE_EVERY, LIVE_REGION_JS, LiveAnnouncer
from studio.camera import answer_words

TICK = 0.25  # the live answer panel's pace (camera.ANSWER_EVERY)


def said_over(answers: list[str | None]) -> list[tuple[float, str]]:
    """(time, text) each time the region's text changes, for one answer per tick."""
    announcer, changes, shown = LiveAnnouncer(), [], ""
    for tick, answer in enumerate(answers):
        now = 100.0 + tick * TICK
        text = announcer.hear(answer, f"The model says {answer}, 90% sure." if answer else "", now)
        if text != shown:
            changes.append((round(now - 100.0, 2), text))
            shown = text
    return changes


def test_a_steady_answer_is_said_once_not_at_every_frame():
    assert said_over(["bees"] * 40) == [(0.5, "The model says bees, 90% sure.")]  # 10 s of frames


def test_a_new_answer_is_said_when_it_holds_and_two_seconds_after_the_last():
    changes = said_over(["bees"] * 4 + ["wasps"] * 12)
    assert changes == [(0.5, "The model says bees, 90% sure."), (2.5, "The model says wasps, 90% sure.")]
    changes = said_over(["bees"] * 20 + ["wasps"] * 8)  # long after: as soon as it held half a second
    assert changes[-1] == (5.5, "The model says wasps, 90% sure.")


def test_a_flickering_answer_is_never_said_each_frame():
    flicker = ["bees", "wasps"] * 40  # a new answer at every frame, for 20 s
    assert said_over(flicker) == []
    wobbly = (["bees"] * 3 + ["wasps"] * 3) * 20  # each holds 0.75 s
    times = [when for when, _ in said_over(wobbly)]
    assert len(times) >= 2 and all(later - earlier >= ANNOUNCE_EVERY for earlier, later in zip(times, times[1:]))


def test_how_sure_alone_changing_is_not_said_again():
    announcer = LiveAnnouncer()
    texts = {announcer.hear("bees", f"The model says bees, {90 + tick % 5}% sure.", 100.0 + tick * TICK)
             for tick in range(40)}
    assert texts - {""} == {"The model says bees, 92% sure."}  # what it was when first said (0.5 s)


def test_the_camera_off_silences_the_region_and_the_same_answer_after_is_said_again():
    assert said_over(["bees"] * 12 + [None] * 12 + ["bees"] * 12) == [
        (0.5, "The model says bees, 90% sure."), (3.0, ""), (6.5, "The model says bees, 90% sure.")]


def _result(top: str, probability: float, familiar: bool | None = None):
    return SimpleNamespace(top=top, top_probability=probability, familiar=familiar)


def test_the_sentences_say_the_answer_and_how_sure():
    assert answer_words(_result("bees", 0.92), 0.5) == ("bees", "The model says bees, 92% sure.")
    answer, sentence = answer_words(_result("bees", 0.41), 0.5)
    assert sentence == "The model is not sure: its best guess, bees, is only 41% sure."
    assert answer not in ("bees", "wasps")  # "not sure" is an answer of its own, whatever the guess
    assert answer_words(_result("wasps", 0.3), 0.5)[0] == answer
    answer, sentence = answer_words(_result("<b>bees</b>", 0.9, familiar=False), 0.5)
    assert sentence == ("The model says this doesn't look like any of your classes (its best guess, <b>bees</b>, "
                        "means little).")  # the class name as typed: the region writes text, never markup


@pytest.mark.e2e
def test_the_region_keeps_its_element_and_writes_only_new_text():
    from appserver import chromium_missing, launch_chromium

    missing = chromium_missing()
    if missing:
        pytest.skip(missing)
    from playwright.sync_api import sync_playwright

    script = LIVE_REGION_JS.replace("export default function", "window.tlRegion = function")
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            page = browser.new_page()
            page.set_content("<div id='root'></div>")
            page.add_script_tag(content=script)
            seen = page.evaluate("""() => {
                const root = document.getElementById('root'), writes = [];
                new MutationObserver((records) => writes.push(records.length)).observe(root,
                    {childList: true, subtree: true, characterData: true});
                const run = (text) => window.tlRegion({parentElement: root, data: {text}});
                run('');
                const first = root.querySelector('.tl-live-region');
                return new Promise((done) => setTimeout(() => {
                    const before = writes.length;
                    for (const text of ['The model says <b>bees</b>, 90% sure.', 'The model says <b>bees</b>, 90% sure.',
                                        'The model says <b>bees</b>, 90% sure.']) run(text);
                    setTimeout(() => {
                        const afterSame = writes.length;
                        run('The model says wasps, 80% sure.');
                        setTimeout(() => {
                            const region = root.querySelector('.tl-live-region');
                            done({same: region === first, count: root.querySelectorAll('.tl-live-region').length,
                                  role: region.getAttribute('role'), live: region.getAttribute('aria-live'),
                                  atomic: region.getAttribute('aria-atomic'), text: region.textContent,
                                  tags: region.children.length, writesForThree: afterSame - before,
                                  writesForNew: writes.length - afterSame});
                        }, 50);
                    }, 50);
                }, 50));
            }""")
        finally:
            browser.close()
    assert seen == {"same": True, "count": 1, "role": "status", "live": "polite", "atomic": "true",
                    "text": "The model says wasps, 80% sure.", "tags": 0, "writesForThree": 1, "writesForNew": 1}
