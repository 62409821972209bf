"""A button that acts while it is held: "hold to record", by mouse, by touch and by keyboard.

    held = hold_button("Hold to record", key, on_change=started_or_stopped, disabled=..., active=...)

Streamlit's buttons act on a click, and its switches need a second tap to stop. Here a press
(mouse button, finger, or Space/Enter held on the focused button) says ``held`` True, and the
release says False; ``on_change`` runs before the next run, as a widget's callback does. A
finger held on a phone selects no text and opens no menu (``touch-action``, ``user-select``,
``-webkit-touch-callout``, no context menu), and a finger that slides off, a call that takes
the screen or a tab put away all count as a release.

An ``st.components.v2`` component (no iframe). Its state is ``{"held": bool, "at": ms}``: the
time makes each press a change, even after the page was left with the button held.
"""

from __future__ import annotations

from typing import Callable

import streamlit as st

_JS = """
export default function (component) {
  const { parentElement: root, data, setStateValue } = component;
  let s = root.__tlHold;
  if (!s) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "tl-hold";
    root.append(button);
    s = root.__tlHold = { button, held: false };
    const press = () => {
      if (s.disabled || s.held) return;
      s.held = true;
      s.set("hold", { held: true, at: Date.now() });
      show(s);
    };
    const release = () => {
      if (!s.held) return;
      s.held = false;
      s.set("hold", { held: false, at: Date.now() });
      show(s);
    };
    button.addEventListener("pointerdown", (e) => {
      if (e.button !== 0) return;
      e.preventDefault();  // no focus-scroll, no emulated mouse events, no text selection
      try { button.setPointerCapture(e.pointerId); } catch (error) {}
      button.focus({ preventScroll: true });
      press();
    });
    for (const name of ["pointerup", "pointercancel", "lostpointercapture", "blur"]) {
      button.addEventListener(name, release);
    }
    button.addEventListener("contextmenu", (e) => e.preventDefault());  // a long press opens no menu
    button.addEventListener("keydown", (e) => {
      if (e.key !== " " && e.key !== "Enter") return;
      e.preventDefault();
      if (!e.repeat) press();
    });
    button.addEventListener("keyup", (e) => {
      if (e.key !== " " && e.key !== "Enter") return;
      e.preventDefault();
      release();
    });
    document.addEventListener("visibilitychange", () => { if (document.hidden) release(); });
  }
  s.set = setStateValue;
  s.disabled = !!(data && data.disabled);
  s.label = (data && data.label) || "Hold";
  s.active = !!(data && data.active);
  if (s.disabled && s.held) { s.held = false; s.set("hold", { held: false, at: Date.now() }); }
  show(s);
}

function show(s) {
  s.button.textContent = s.label;  // text, never markup
  s.button.disabled = s.disabled;
  s.button.setAttribute("aria-pressed", String(s.held));
  s.button.classList.toggle("active", s.held || s.active);
}
"""

_CSS = """
.tl-hold {
  width: 100%; min-height: 3.2rem; padding: 0.5rem 1rem; border-radius: 0.6rem;
  border: 2px solid #c92a2a; background: #fff5f5; color: #c92a2a;
  font: inherit; font-size: 1.2rem; font-weight: 600; cursor: pointer;
  touch-action: none; user-select: none; -webkit-user-select: none; -webkit-touch-callout: none;
  -webkit-tap-highlight-color: transparent;
}
.tl-hold.active {background: #c92a2a; color: white;}
.tl-hold:disabled {border-color: rgba(49, 51, 63, 0.2); background: transparent; color: rgba(49, 51, 63, 0.4);
                   cursor: not-allowed;}
.tl-hold:focus-visible {outline: 3px solid #1f6feb; outline-offset: 2px;}
"""

_hold = st.components.v2.component("tl_hold_button", js=_JS, css=_CSS)


def hold_button(label: str, key: str, on_change: Callable[[], None], disabled: bool = False,
                active: bool = False) -> bool:
    """The button; True while it is held. ``on_change`` runs (before the next run) at each press
    and each release; it reads the new value with ``is_held(key)``. ``active`` draws it pressed
    (say, while a recording that started with it goes on)."""
    result = _hold(key=key, data={"label": label, "disabled": disabled, "active": active},
                   default={"hold": {"held": False, "at": 0}}, on_hold_change=on_change)
    return _held(getattr(result, "hold", None))


def is_held(key: str) -> bool:
    """In ``on_change``: whether the button ``key`` is held now."""
    return _held(st.session_state.get(key, {}).get("hold") if key in st.session_state else None)


def _held(value) -> bool:
    return bool(isinstance(value, dict) and value.get("held"))
