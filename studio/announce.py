"""A polite live region: what a screen reader says when the live camera's answer changes.

The live answer redraws several times a second; a screen reader must hear it only when it
changes, not at every frame. ``LiveAnnouncer`` decides what the region says (one sentence: the
answer and how sure, in words), and ``live_region`` draws the region, a small
``st.components.v2`` component (no iframe) whose element stays in the page across reruns (a
region drawn anew at each rerun is not announced by every screen reader):

    said = announcer.hear(answer, sentence, time.monotonic())   # the sentence the region says now
    live_region(said, key)                                      # aria-live="polite", aria-atomic

The region is invisible (the answer is on screen in large type) but stays in the accessibility
tree (clipped, never ``display: none``). Its element is written only when the sentence changes:
writing the same text again makes some screen readers repeat it.
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

ANNOUNCE_EVERY = 2.0  # seconds at least between two sentences: a reader needs time to hear one
ANNOUNCE_STEADY = 0.5  # seconds an answer holds before it is said: a flicker between two is not


@dataclass
class LiveAnnouncer:
    """The sentence a live region says, for a stream of answers (kept for the session).

    ``hear(answer, sentence, now)`` for each answer shown: ``answer`` is what counts as a change
    (the class, or "not sure"), ``sentence`` what is said (the answer and how sure). A new answer
    is said once it has held ANNOUNCE_STEADY seconds and ANNOUNCE_EVERY seconds have passed since
    the last sentence; a change of how sure alone is not said again."""

    said: str = ""
    said_answer: str | None = None
    said_at: float = float("-inf")
    heard_answer: str | None = None
    heard_since: float = 0.0

    def hear(self, answer: str | None, sentence: str, now: float) -> str:
        if answer != self.heard_answer:
            self.heard_answer, self.heard_since = answer, now
        if answer is None:  # no answer (the camera off): the region falls silent, nothing said
            self.said, self.said_answer = "", None
        elif (answer != self.said_answer and now - self.heard_since >= ANNOUNCE_STEADY
              and now - self.said_at >= ANNOUNCE_EVERY):
            self.said, self.said_answer, self.said_at = sentence, answer, now
        return self.said


# The element is made once per mount and kept; textContent, never markup (class names are outside text).
LIVE_REGION_JS = """
export default function (component) {
  const { parentElement: root, data } = component;
  let region = root.querySelector(".tl-live-region");
  if (!region) {
    region = document.createElement("p");
    region.className = "tl-live-region";
    region.setAttribute("role", "status");
    region.setAttribute("aria-live", "polite");
    region.setAttribute("aria-atomic", "true");
    root.append(region);
  }
  const text = (data && data.text) || "";
  if (region.textContent !== text) region.textContent = text;
}
"""
# Clipped to nothing but still read: display:none or visibility:hidden would take it out of the
# accessibility tree. Absolute: it takes no room (no gap in the column).
LIVE_REGION_CSS = """
.tl-live-region {position: absolute; width: 1px; height: 1px; margin: -1px; padding: 0; overflow: hidden;
                 clip-path: inset(50%); white-space: nowrap; border: 0;}
"""
REGION_KEY_PREFIX = "tl-live-region-"  # widgets.apply_style takes the component's container out of the flow

_region = st.components.v2.component("tl_live_region", js=LIVE_REGION_JS, css=LIVE_REGION_CSS, isolate_styles=False)


def live_region(text: str, key: str) -> None:
    """The region, saying ``text`` (plain text, as given); the same ``key`` every run keeps its element."""
    _region(key=REGION_KEY_PREFIX + key, data={"text": text})


def announcer(key: str) -> LiveAnnouncer:
    """The session's announcer for ``key``."""
    name = f"{key}-announcer"
    if not isinstance(st.session_state.get(name), LiveAnnouncer):
        st.session_state[name] = LiveAnnouncer()
    return st.session_state[name]
