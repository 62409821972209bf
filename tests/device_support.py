"""Phones and tablets in Chromium: touch emulation, a browser without live video, and what a page
looks like to a finger (sideways scrolling, targets under 44 px, text cut off).

Used by tests/test_e2e_devices.py and tests/test_e2e_camera.py.
"""

from __future__ import annotations

PHONE = {"width": 390, "height": 844}
TABLET = {"width": 768, "height": 1024}
SIZES = {"phone": PHONE, "phone sideways": {"width": 844, "height": 390}, "tablet": TABLET,
         "tablet sideways": {"width": 1024, "height": 768}}
TOUCH = {"is_mobile": True, "has_touch": True}  # Chromium then says (pointer: coarse), as a phone does
MIN_TARGET = 44  # px, each side: Apple's and WCAG 2.5.5's smallest touch target

# A browser without WebRTC (an older tablet, a locked-down school browser): every frame of the
# page sees no RTCPeerConnection, as such a browser has none; its camera itself is untouched.
NO_WEBRTC = """
for (const name of ["RTCPeerConnection", "webkitRTCPeerConnection", "RTCSessionDescription", "RTCIceCandidate"]) {
  try { delete window[name]; } catch (e) {}
  try { Object.defineProperty(window, name, { value: undefined, configurable: true }); } catch (e) {}
}
"""

# What a finger meets on the page: the visible controls (in the page's main part, also inside
# the shadow roots of components), each with the box it can be touched in, and everything
# that reaches past the window's right edge without a scrolling box of its own around it.
_LOOK = r"""
(min) => {
  const main = document.querySelector("[data-testid='stMain']");
  const width = window.innerWidth;
  const visible = (el) => el.checkVisibility({ opacityProperty: true, visibilityProperty: true });
  const roots = [document, ...[...document.querySelectorAll("[data-testid='stMain'] *")]
    .filter((el) => el.shadowRoot).map((el) => el.shadowRoot)];
  const all = (selector) => roots.flatMap((root) => [...root.querySelectorAll(selector)]);
  // What a finger can hit: a radio's or a switch's whole label, a select box (its arrow is part
  // of it), a text field's bordered box, a slider's track.
  const targets = all(["button:not([aria-haspopup='listbox'])", "textarea", "summary", "[role='tab']",
    "[data-testid='stPageLink-NavLink']", "[data-testid='stRadioOption']", "[data-testid='stCheckbox'] label",
    "[data-testid='stSelectbox'] div[role='group']", "[data-testid='stMultiSelect'] div[role='group']",
    "[data-testid='stTextInputRootElement']", "[data-testid='stNumberInputContainer']",
    "[data-testid='stSlider'] [data-rac][style^='position: relative']"].join(", "));
  const small = [];
  for (const target of new Set(targets)) {
    const shadowed = target.getRootNode() instanceof ShadowRoot;
    if ((!shadowed && !main.contains(target)) || !visible(target)) continue;
    const r = target.getBoundingClientRect();
    if (r.width < 2 || r.height < 2 || (r.width >= min - 0.5 && r.height >= min - 0.5)) continue;
    const key = (shadowed ? target.getRootNode().host : target).closest("[class*='st-key-']");
    const name = (target.getAttribute("aria-label") || target.innerText || target.getAttribute("data-testid") || "")
      .trim().split("\n").pop().slice(0, 30);
    small.push(`${name} ${Math.round(r.width)}×${Math.round(r.height)}` +
               (key ? ` (${[...key.classList].find((c) => c.startsWith("st-key-"))})` : ""));
  }
  const wide = [];
  for (const el of main.querySelectorAll("*")) {
    const r = el.getBoundingClientRect();
    if (!r.width || r.right <= width + 1 || !visible(el)) continue;
    let clipped = false;
    for (let p = el.parentElement; p && p !== main; p = p.parentElement) {
      const style = getComputedStyle(p);
      if (/(auto|scroll|hidden|clip)/.test(style.overflowX) && p.getBoundingClientRect().right <= width + 1) {
        clipped = true;
        break;
      }
    }
    if (!clipped) wide.push(`${el.getAttribute("data-testid") || el.tagName.toLowerCase()} to ${Math.round(r.right)} px`);
  }
  return { sideways: Math.max(document.scrollingElement.scrollWidth, main.scrollWidth) - width,
           small, wide: wide.slice(0, 10) };
}
"""


def touch_problems(page) -> dict:
    """What is wrong for a finger on the page as it is now: {"sideways": px the page scrolls
    sideways (0 is right), "small": controls under 44 px, "wide": what reaches past the edge}."""
    return page.evaluate(_LOOK, MIN_TARGET)
