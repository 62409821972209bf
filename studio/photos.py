"""Taking part without live video: photos from the device's own camera app.

Live video needs a secure page, a camera the page may use and a WebRTC connection; a school
network, an older tablet or a locked-down browser can fail any of them. Every phone and tablet
still has its camera app, and a file input opens it with no secure page at all
(``accept="image/*"`` and ``capture="environment"``: the back camera; a computer shows its file
chooser instead). ``st.file_uploader`` cannot say ``capture``, so the button is a small
``st.components.v2`` component (no iframe):

    photo_button("Take a photo of bees", key, on_photo=keep, target="bees")   # keep(photo) for each that arrives

In the browser each photo is made smaller before it travels (its shorter side 640 px at most,
as a JPEG, turned upright: about 100 KB instead of a phone's 3–5 MB, which matters on a school's
wifi with 30 phones); a file the browser cannot open (an iPhone's HEIC photo in Chrome) travels
as it is, so the server says why it is skipped, as for any upload. Photos travel one at a time:
the page hands back the ids it received, and the next photo leaves only then (one sent again
after a while if no answer came; the server keeps each id once), so a student can take photo
after photo while the page is still busy with the first, and none is lost.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from typing import Callable

import streamlit as st

SHORTER_SIDE = 640  # px: the centre square the model sees is cut from this, at 96 to 224 px
MAX_PHOTO_BYTES = 25 * 1024 * 1024  # a file bigger than this is not sent (named as not arrived)
REMEMBERED_IDS = 60  # per button: more than a lesson's photos in flight

_JS = """
const SHORTER_SIDE = %(side)d, KEEP_BELOW = 300 * 1024, MAX_BYTES = %(max_bytes)d, RESEND_MS = 20000;

export default function (component) {
  const { parentElement: root, data, setTriggerValue } = component;
  let s = root.__tlPhotos;
  if (!s) s = root.__tlPhotos = setUp(root);
  s.send = setTriggerValue;
  s.data = data || {};
  const received = new Set(s.data.received || []);
  if (s.sending && received.has(s.sending.id)) s.sending = null;
  s.queue = s.queue.filter((photo) => !received.has(photo.id));
  s.input.setAttribute("capture", s.data.capture || "environment");
  show(s);
  pump(s);
  return () => clearInterval(s.timer);
}

function setUp(root) {
  const input = document.createElement("input");
  input.type = "file";
  input.accept = "image/*";
  input.multiple = true;  // a computer may choose several; a phone's camera app gives one
  input.className = "tl-photo-input";
  input.tabIndex = -1;
  const button = document.createElement("button");
  button.type = "button";
  button.className = "tl-take";
  const status = document.createElement("p");
  status.className = "tl-status";
  status.setAttribute("aria-live", "polite");
  root.append(input, button, status);
  const s = { input, button, status, queue: [], sending: null, sentAt: 0, reading: 0, data: {} };
  button.addEventListener("click", () => { if (!s.data.disabled) input.click(); });
  input.addEventListener("change", async () => {
    const files = [...input.files];
    input.value = "";  // the same photo file again is a new choice
    s.reading += files.length;
    show(s);
    for (const file of files) {
      let photo;
      try { photo = await prepare(file); } catch (error) { photo = { id: newId(), name: file.name, tooBig: 0 }; }
      photo.target = s.data.target || "";  // the class shown when it was taken, wherever the picker is now
      s.reading -= 1;
      s.queue.push(photo);
      show(s);
      pump(s);
    }
  });
  s.timer = setInterval(() => {  // a photo whose answer never came is sent again
    if (s.sending && Date.now() - s.sentAt > RESEND_MS) { s.sentAt = Date.now(); s.send("photo", s.sending); }
  }, 5000);
  return s;
}

function pump(s) {
  if (s.sending || !s.queue.length) return;
  s.sending = s.queue.shift();
  s.sentAt = Date.now();
  s.send("photo", s.sending);
  show(s);
}

function show(s) {
  s.button.textContent = s.data.label || "Take a photo";  // text, never markup
  s.button.disabled = !!s.data.disabled;
  const waiting = s.reading + s.queue.length + (s.sending ? 1 : 0);
  // The sentences come translated from Python, one per count up to the last (whose number is swapped beyond it).
  const said = s.data.on_way || [];
  const last = said.length - 1;
  s.status.textContent = !waiting || last < 1 ? "" : (waiting <= last ? said[waiting]
    : said[last].split(String(last)).join(String(waiting)));
}

function newId() {
  return Date.now().toString(36) + "-" + Math.random().toString(36).slice(2, 10);
}

async function prepare(file) {
  const photo = { id: newId(), name: file.name || "photo.jpg" };
  if (file.size <= KEEP_BELOW && /^image\\/(jpeg|png)$/.test(file.type)) {
    return { ...photo, data: await base64(file) };  // small already: exactly as taken
  }
  const smaller = await shrink(file).catch(() => null);
  if (smaller) return { ...photo, name: photo.name.replace(/\\.[^.]*$/, "") + ".jpg", data: await base64(smaller) };
  if (file.size > MAX_BYTES) return { ...photo, tooBig: file.size };
  return { ...photo, data: await base64(file) };  // the browser cannot open it: the server says why
}

async function shrink(file) {
  const url = URL.createObjectURL(file);
  try {
    const picture = new Image();
    picture.src = url;
    await picture.decode();  // upright: browsers apply the photo's EXIF orientation
    const width = picture.naturalWidth, height = picture.naturalHeight;
    const scale = Math.min(1, SHORTER_SIDE / Math.min(width, height));  // never larger
    const canvas = document.createElement("canvas");
    canvas.width = Math.max(1, Math.round(width * scale));
    canvas.height = Math.max(1, Math.round(height * scale));
    canvas.getContext("2d").drawImage(picture, 0, 0, canvas.width, canvas.height);
    return await new Promise((done) => canvas.toBlob(done, "image/jpeg", 0.9));
  } finally {
    URL.revokeObjectURL(url);
  }
}

function base64(blob) {
  return new Promise((done, failed) => {
    const reader = new FileReader();
    reader.onload = () => done(String(reader.result).split(",", 2)[1] || "");
    reader.onerror = () => failed(reader.error);
    reader.readAsDataURL(blob);
  });
}
""" % {"side": SHORTER_SIDE, "max_bytes": MAX_PHOTO_BYTES}

_CSS = """
.tl-photo-input {position: absolute; width: 1px; height: 1px; opacity: 0; overflow: hidden; pointer-events: none;}
.tl-take {
  width: 100%; min-height: 3.2rem; padding: 0.5rem 1rem; border-radius: 0.6rem;
  border: 2px solid #1f6feb; background: #1f6feb; color: white;
  font: inherit; font-size: 1.2rem; font-weight: 600; cursor: pointer;
}
.tl-take:disabled {border-color: rgba(49, 51, 63, 0.2); background: transparent; color: rgba(49, 51, 63, 0.4);
                   cursor: not-allowed;}
.tl-take:focus-visible {outline: 3px solid #e8590c; outline-offset: 2px;}
.tl-status {margin: 0.3rem 0 0 0; min-height: 1.2em; font-size: 0.95rem; opacity: 0.8;}
"""

# In the page itself, not in a shadow root: its file input is found as Streamlit's own are (tests hand it
# files through WebDriver and Playwright); its CSS classes all start with tl-.
_component = st.components.v2.component("tl_photo_button", js=_JS, css=_CSS, isolate_styles=False)


@dataclass(frozen=True)
class Photo:
    """A photo as it arrived: its file name, bytes (None: too big to send) and the class that
    was chosen when it was taken ("" where the button has none)."""

    name: str
    data: bytes | None
    target: str = ""


def photo_button(label: str, key: str, on_photo: Callable[[Photo], None], target: str = "",
                 disabled: bool = False, capture: str = "environment") -> None:
    """The "take a photo" button. ``on_photo(photo)`` runs for each photo that arrives, once,
    before the page's next run (as a widget's callback: what it changes, a class picker, shows
    in that run). ``target``: the class the photos are for (kept with each one); ``capture``:
    "environment" (the back camera) or "user" (the front one)."""
    from .i18n import _n

    ids_key = f"{key}-received"
    on_way = [""] + [_n("{count} photo on its way…", "{count} photos on their way…", count) for count in range(1, 13)]
    _component(key=key, data={"label": label, "target": target, "disabled": disabled, "capture": capture,
                              "on_way": on_way,

                              "received": list(st.session_state.get(ids_key, []))},
               on_photo_change=lambda: _arrived(key, ids_key, on_photo))


def _arrived(key: str, ids_key: str, on_photo: Callable[[Photo], None]) -> None:
    """The button's callback: hand on a photo that came (once per id, however often it was sent)."""
    state = st.session_state.get(key) if key in st.session_state else None
    payload = state.get("photo") if hasattr(state, "get") else None
    if not isinstance(payload, dict) or not isinstance(payload.get("id"), str):
        return
    ids = list(st.session_state.get(ids_key, []))
    if payload["id"] in ids:
        return
    st.session_state[ids_key] = (ids + [payload["id"]])[-REMEMBERED_IDS:]
    on_photo(photo_from(payload))


def photo_from(payload: dict) -> Photo:
    """A Photo from what the browser sent; bytes that are not base64, or too many, are None."""
    name = str(payload.get("name") or "photo.jpg").replace("\\", "/").rsplit("/", 1)[-1][:120] or "photo.jpg"
    target = str(payload.get("target") or "")[:120]
    text = payload.get("data")
    if not isinstance(text, str) or len(text) > MAX_PHOTO_BYTES * 4 // 3 + 4:
        return Photo(name, None, target)
    try:
        return Photo(name, base64.b64decode(re.sub(r"\s", "", text), validate=True), target)
    except (binascii.Error, ValueError):
        return Photo(name, None, target)
