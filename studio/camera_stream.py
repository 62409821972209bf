"""The camera itself: what the browser allows, the camera picker, and the WebRTC stream.

The stream is streamlit-webrtc (frames reach Python as ``av.VideoFrame``), set up for a
classroom without internet: no STUN or TURN servers (on this computer and on a school
network the browser's own addresses, "host candidates", are enough). A tiny probe in the page
(an ``st.components.v2`` component, no iframe) tells Python what the browser says about
cameras, so the page can say in plain words why there is no picture.

    status = camera_status(key)            # CameraStatus: secure page? permission? which cameras?
    device, mirror, on = camera_controls(status, key)
    ctx = camera_stream(key, feed, device, mirror, on)

The video callback (``CameraFeed``) runs on streamlit-webrtc's thread and never calls
Streamlit: it hands frames to a ``tlcore.live`` recorder or predictor loop and returns them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import streamlit as st

from tlcore.i18n import N_, msg

from .i18n import _, tr

# Offline by default: an empty list stops streamlit-webrtc from adding a public STUN server.
RTC_CONFIGURATION = {"iceServers": []}
# 640x480 is plenty for 224-px models; 15 frames a second keeps the preview's round trip
# (decode and encode on this computer) light on two cores.
VIDEO_CONSTRAINTS = {"width": {"ideal": 640}, "height": {"ideal": 480}, "frameRate": {"ideal": 15, "max": 30}}
# Session-wide choices (plain keys, not widget keys: a widget forgets its value on another page).
DEVICE_CHOICE, MIRROR_CHOICE = "camera_device_choice", "camera_mirror_choice"
FACING_CHOICE = "camera_facing_choice"  # a phone's or tablet's side: "environment" (back) or "user"
BACK_CAMERA_WORDS = ("back", "rear", "environment", "world")

# Why a device takes photos instead of live video: whole sentences, said after "Photos instead of live
# video." (camera.PHOTOS_WORDS) or alone (never a clause glued into another sentence).
WHY_INSECURE = N_("Live video needs a secure address (the classroom's https:// link), and this page is {origin}.")
WHY_INSECURE_HERE = N_("Live video needs a secure address (the classroom's https:// link), and this page's address "
                       "is not one.")
WHY_NO_CAMERA_API = N_("This browser does not let pages use a camera.")
WHY_NO_WEBRTC = N_("This browser cannot stream video to the studio (WebRTC is off or missing).")
WHY_DENIED = N_("This page was refused the camera (to use live video, allow the camera in the browser's site "
                "settings, then reload).")
WHY_NO_CAMERA = N_("No camera was found (plug one in for live video).")
WHY_FAILED = N_("The live video could not connect to the studio (the network may block it).")


def as_sentence(why: str) -> str:
    """A why-sentence in the reader's language: "No camera was found (…)."."""
    return tr(why) if hasattr(why, "msgid") else _(why)  # a Message (with its values), or a WHY_ constant


_PROBE_JS = """
export default function(component) {
  const { setStateValue } = component;
  let last = null, stopped = false;
  async function look() {
    const media = navigator.mediaDevices;
    const seen = { secure: window.isSecureContext, api: !!(media && media.getUserMedia),
                   webrtc: typeof window.RTCPeerConnection === "function",
                   touch: window.matchMedia("(pointer: coarse)").matches,  // a phone or tablet
                   origin: location.origin, permission: "unknown", cameras: [] };
    if (media && media.enumerateDevices) {
      try { seen.permission = (await navigator.permissions.query({ name: "camera" })).state; } catch (e) {}
      try {
        seen.cameras = (await media.enumerateDevices()).filter((d) => d.kind === "videoinput")
          .map((d) => ({ id: d.deviceId, label: d.label }));
      } catch (e) {}
    }
    const text = JSON.stringify(seen);
    if (!stopped && text !== last) { last = text; setStateValue("camera", seen); }
  }
  look();
  const timer = setInterval(look, 1000);  // permission and plugged cameras change under us
  return () => { stopped = true; clearInterval(timer); };
}
"""
_probe = st.components.v2.component("tl_camera_probe", js=_PROBE_JS)


@dataclass(frozen=True)
class Camera:
    id: str
    label: str

    @property
    def looks_back_facing(self) -> bool:
        return any(word in self.label.lower() for word in BACK_CAMERA_WORDS)


@dataclass(frozen=True)
class CameraStatus:
    """What the browser says about cameras on this page (``known`` is False until it has said)."""

    known: bool = False
    secure: bool = True
    api: bool = True
    webrtc: bool = True  # the browser can stream video (RTCPeerConnection)
    touch: bool = False  # a touch screen is the main pointer: a phone or tablet
    permission: str = "unknown"  # granted, denied, prompt or unknown
    origin: str = ""
    cameras: tuple[Camera, ...] = field(default_factory=tuple)

    @classmethod
    def from_probe(cls, seen: dict | None) -> "CameraStatus":
        if not isinstance(seen, dict):
            return cls()
        cameras = tuple(Camera(str(c.get("id") or ""), str(c.get("label") or ""))
                        for c in seen.get("cameras") or [] if isinstance(c, dict))
        return cls(True, bool(seen.get("secure", True)), bool(seen.get("api", True)), bool(seen.get("webrtc", True)),
                   bool(seen.get("touch", False)), str(seen.get("permission") or "unknown"),
                   str(seen.get("origin") or ""), cameras)

    @property
    def named_cameras(self) -> tuple[Camera, ...]:
        """Cameras the page may choose between (the browser names them once the camera is allowed)."""
        return tuple(c for c in self.cameras if c.id)

    @property
    def problem(self) -> str | None:
        """Why there can be no live video (a sentence, see WHY_*); None when it can be tried."""
        if not self.known:
            return None
        if not self.secure:
            return msg(WHY_INSECURE, origin=self.origin) if self.origin else msg(WHY_INSECURE_HERE)
        if not self.api:
            return msg(WHY_NO_CAMERA_API)
        if not self.webrtc:
            return msg(WHY_NO_WEBRTC)
        if self.permission == "denied":
            return msg(WHY_DENIED)
        if not self.cameras:
            return msg(WHY_NO_CAMERA)
        return None


def camera_status(key: str) -> CameraStatus:
    """Mount the probe (invisible) and read what it last reported."""
    result = _probe(key=f"{key}-probe", on_camera_change=lambda: None, height=0)
    return CameraStatus.from_probe(getattr(result, "camera", None))


# -- the controls above the preview -------------------------------------------------------------------
@dataclass(frozen=True)
class CameraChoice:
    """The row above the preview: which camera (a device id, or a side of a phone), mirrored, on."""

    device: str | None = None  # a camera the browser named, chosen in the picker (computers)
    facing: str | None = None  # "environment" (back) or "user" (front): phones and tablets
    mirror: bool = False  # the preview only; saved pictures are never mirrored
    on: bool = False


def camera_controls(status: CameraStatus, key: str) -> CameraChoice:
    """The row above the preview: Camera on, and which camera.

    A phone or tablet starts with its back camera (to show it things), a switch for the front
    one, and mirrors the preview of the front camera only. A computer gets a picker once the
    browser names two cameras or more (a USB camera), and a Mirror switch. The choices are
    remembered for the session, on every page."""
    cameras = status.named_cameras
    with st.container(horizontal=True, vertical_alignment="center", gap="medium"):  # each as wide as it needs
        on = st.toggle(_("Camera on"), key=f"{key}-on")
        if status.touch:
            if f"{key}-front" not in st.session_state:
                st.session_state[f"{key}-front"] = st.session_state.get(FACING_CHOICE) == "user"
            front = st.toggle(_("Front camera"), key=f"{key}-front",
                              help=_("Phones and tablets start with the back camera, to show it things."))
            st.session_state[FACING_CHOICE] = "user" if front else "environment"
            return CameraChoice(facing=st.session_state[FACING_CHOICE], mirror=front, on=on)
        mirror_slot = st.empty()  # its default follows the camera chosen after it
        device = _camera_picker(cameras, key) if len(cameras) > 1 else None
    chosen = next((c for c in cameras if c.id == device), None)
    with mirror_slot:
        default = st.session_state.get(MIRROR_CHOICE, not (chosen and chosen.looks_back_facing))
        # i18n: a switch that shows the camera's picture the other way round, as a mirror does
        mirror = st.toggle(_("Mirror"), value=default, key=f"{key}-mirror",
                           help=_("Like a mirror, for a camera that faces you. The saved pictures are never mirrored."))
        st.session_state[MIRROR_CHOICE] = mirror
    return CameraChoice(device=device, mirror=mirror, on=on)


def _camera_picker(cameras: tuple[Camera, ...], key: str) -> str:
    ids = [c.id for c in cameras]
    labels = {c.id: c.label or _("Camera {number}", number=n + 1) for n, c in enumerate(cameras)}
    remembered = st.session_state.get(DEVICE_CHOICE)
    index = ids.index(remembered) if remembered in ids else 0
    device = st.selectbox(_("Camera"), ids, index=index, format_func=labels.get, key=f"{key}-device",
                          label_visibility="collapsed", width=220,
                          help=_("A USB camera, or a phone's back camera, shows up here once the browser allows cameras."))
    st.session_state[DEVICE_CHOICE] = device
    return device


# -- the stream ----------------------------------------------------------------------------------------
def video_frame_to_rgb(frame):
    """An ``av.VideoFrame`` as an RGB uint8 array (H, W, 3)."""
    return frame.to_ndarray(format="rgb24")


class CameraFeed:
    """The video callback of one section: hands frames to a recorder and/or a live loop.

    Runs on streamlit-webrtc's thread; never calls Streamlit and never waits (the recorder
    converts only the frames it keeps, the live loop converts on its own thread)."""

    def __init__(self):
        self.recorder = None  # a tlcore.live.FrameRecorder
        self.loop = None  # a tlcore.live.LiveLoop
        self.frames = 0

    def __call__(self, frame):
        self.frames += 1
        recorder, loop = self.recorder, self.loop
        if recorder is not None:
            recorder.offer(frame, to_rgb=video_frame_to_rgb)
        if loop is not None:
            loop.submit(frame)
        return frame  # shown as the preview


def feed_for(key: str) -> CameraFeed:
    """This section's feed, kept for the session."""
    name = f"{key}-feed"
    if not isinstance(st.session_state.get(name), CameraFeed):
        st.session_state[name] = CameraFeed()
    return st.session_state[name]


def translations() -> dict:
    """The stream component's own words, in the reader's language."""
    return {
        "device_ask_permission": _("Allow the camera when the browser asks."),
        "device_access_denied": as_sentence(WHY_DENIED),
        "device_not_available": as_sentence(WHY_NO_CAMERA),
        "media_api_not_available": as_sentence(WHY_NO_CAMERA_API),
    }


def media_constraints(choice: CameraChoice) -> dict:
    """What the browser is asked for: a named camera, or a phone's side ("ideal": a computer's
    one camera still answers), 640x480 at 15 frames a second, no sound."""
    video = dict(VIDEO_CONSTRAINTS)
    if choice.device:
        video["deviceId"] = {"exact": choice.device}
    elif choice.facing:
        video["facingMode"] = {"ideal": choice.facing}
    return {"video": video, "audio": False}


def camera_stream(key: str, feed: CameraFeed, choice: CameraChoice):
    """The preview and the stream to Python (streamlit-webrtc's context; ``.state.playing``)."""
    import hashlib

    from streamlit_webrtc import WebRtcMode, webrtc_streamer

    # At most 360 px high (a height in vh would mean the component's own frame): the buttons and
    # counts beside it stay on the first screen at 1280x720.
    style = {"width": "100%", "maxHeight": "360px", "objectFit": "contain", "borderRadius": "0.5rem",
             "background": "#1f1f1f"}
    if choice.mirror:
        style["transform"] = "scaleX(-1)"  # the preview only: frames reach Python unmirrored
    # A new camera is a new stream: the key changes, so the old one stops and the new one starts.
    camera = choice.device or choice.facing
    suffix = hashlib.sha1(camera.encode()).hexdigest()[:8] if camera else "default"
    return webrtc_streamer(
        key=f"{key}-webrtc-{suffix}", mode=WebRtcMode.SENDRECV, rtc_configuration=RTC_CONFIGURATION,
        media_stream_constraints=media_constraints(choice), desired_playing_state=choice.on,
        video_frame_callback=feed, async_processing=True, sendback_audio=False,
        video_html_attrs={"autoPlay": True, "muted": True, "playsInline": True, "controls": False, "style": style},
        translations=translations(), media_toggle_controls=False)

