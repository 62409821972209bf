"""What a run does when it is sure of a class: say words, play a sound, show a picture or an emoji.

    RUN_DIR/behaviours.json   {"format": 1, "not_sure": 0.5, "behaviours": [{"class_name", "say", ...}]}
    RUN_DIR/behaviours/       the pictures (JPEG) and recordings (WAV) they use, made here

A student gives each class a behaviour on the Test page (a "recycling sorter that says where
it goes"); the live camera there and the exported web page play it when the answer is sure
(above the "not sure" line, which is kept here too) and steady, once per change of answer.

Everything here came from a person or from a lesson file: texts are kept as typed (only
line breaks and control characters are refused), never as markup; a picture or a recording is
re-encoded here (a small JPEG, a short 16 kHz WAV) and never stored as given, under a name made
here. Reading is tolerant: a damaged file, an entry that cannot be used or a media file that is
missing or not ours loses that part only, never the run.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import logging
import os
import re
import tempfile
import unicodedata
import wave
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import numpy as np

from ..i18n import N_, msg, sentences

log = logging.getLogger(__name__)

BEHAVIOURS_FILE, MEDIA_DIR = "behaviours.json", "behaviours"
BEHAVIOURS_FORMAT = 1
# Played by the browser with WebAudio oscillators (tlcore/export/web_assets/behaviours.js): no files.
BUILT_IN_SOUNDS = ("beep", "chime", "buzz", "whistle", "fanfare")
# i18n: the built-in sounds, as a menu shows them
SOUND_NAMES = {"beep": N_("Beep"), "chime": N_("Chime"), "buzz": N_("Buzz"), "whistle": N_("Whistle"),
               "fanfare": N_("Fanfare")}
# What a class does with a built-in sound: one whole sentence per sound (article and case differ by language)
SOUND_SENTENCES = {"beep": N_("It plays the beep."), "chime": N_("It plays the chime."),
                   "buzz": N_("It plays the buzz."), "whistle": N_("It plays the whistle."),
                   "fanfare": N_("It plays the fanfare.")}
RECORDED = "recorded"  # the sound is the class's own recording
MAX_SAY, MAX_EMOJI = 200, 16  # characters
PICTURE_SIDE, PICTURE_QUALITY = 480, 85  # a shown picture: at most 480 px a side, as a JPEG
RECORDING_RATE, MAX_RECORDING_SECONDS = 16_000, 4.0  # a recording: mono, 16-bit, at most 4 s (128 kB)
MAX_UPLOAD_BYTES = 20_000_000  # a picture or a recording as given, before it is re-encoded
MAX_MEDIA_BYTES = 400_000  # a media file read back (ours are far smaller; anything bigger is not ours)
MAX_FILE_BYTES = 1_000_000  # behaviours.json
_MEDIA_NAME = re.compile(r"(picture-[0-9a-f]{16}\.jpg|recording-[0-9a-f]{16}\.wav)")


class BehaviourError(ValueError):
    """A behaviour (or its picture or recording) that cannot be kept; the message says why."""


# Whole sentences for each field (a field's name cannot be glued into a sentence in every language)
_ONE_LINE = {"say": N_("The sentence to say must be one line, without line breaks or tabs."),
             "emoji": N_("The emoji or short text must be one line, without line breaks or tabs.")}
_TOO_LONG = {"say": N_("The sentence to say can be at most {limit} characters long; it has {length}."),
             "emoji": N_("The emoji or short text can be at most {limit} characters long; it has {length}.")}


def _plain_text(text, limit: int, field: str) -> str:
    """``text`` as typed (NFC, spaces trimmed); BehaviourError for line breaks, control
    characters or more than ``limit`` characters. ``field``: "say" or "emoji"."""
    text = unicodedata.normalize("NFC", str(text or "")).strip()
    if any(unicodedata.category(ch) == "Cc" for ch in text):
        raise BehaviourError(msg(_ONE_LINE[field]))
    if len(text) > limit:
        raise BehaviourError(msg(_TOO_LONG[field], limit=limit, length=len(text)))
    return text


@dataclass(frozen=True)
class Behaviour:
    """What the model does when it is sure of ``class_name``. Empty fields do nothing."""

    class_name: str
    say: str = ""  # spoken by the browser, in the Studio's language
    sound: str = ""  # "", one of BUILT_IN_SOUNDS, or RECORDED (then ``recording`` plays)
    emoji: str = ""  # shown large (an emoji or a few characters), unless there is a picture
    picture: str = ""  # a file in behaviours/ made by ``keep_picture``, shown instead of the emoji
    recording: str = ""  # a file in behaviours/ made by ``keep_recording``
    full_screen: bool = False  # the picture or emoji fills the screen for a moment

    def __post_init__(self):
        if not isinstance(self.class_name, str) or not self.class_name:
            raise BehaviourError(msg("A behaviour belongs to a class; give the class's name."))
        object.__setattr__(self, "say", _plain_text(self.say, MAX_SAY, "say"))
        object.__setattr__(self, "emoji", _plain_text(self.emoji, MAX_EMOJI, "emoji"))
        if self.sound not in ("", RECORDED, *BUILT_IN_SOUNDS):
            raise BehaviourError(msg("The sound must be one of {sounds} or your own recording.",
                                     sounds=", ".join(BUILT_IN_SOUNDS)))
        for name in (self.picture, self.recording):
            if name and not _MEDIA_NAME.fullmatch(name):
                raise BehaviourError(msg("A behaviour's picture or recording must be one made by the Studio."))
        if self.sound == RECORDED and not self.recording:
            raise BehaviourError(msg("Record a sound first, or choose one of the built-in sounds."))
        object.__setattr__(self, "full_screen", bool(self.full_screen))

    @property
    def does_something(self) -> bool:
        return bool(self.say or self.sound or self.emoji or self.picture)

    def words(self) -> str:
        """What it does, in whole sentences (a Message), one per action: 'It says “Paper bin!”. It plays
        the chime. It shows ♻️ (full screen).' (never clauses glued into one sentence)."""
        parts = []
        if self.say:
            parts.append(msg("It says “{words}”.", words=self.say))
        if self.sound == RECORDED:
            parts.append(msg("It plays its recording."))
        elif self.sound:
            parts.append(msg(SOUND_SENTENCES[self.sound]))  # checked: a built-in sound
        if self.picture:
            parts.append(msg("It shows its picture (full screen).") if self.full_screen
                         else msg("It shows its picture."))
        elif self.emoji:
            parts.append(msg("It shows {emoji} (full screen).", emoji=self.emoji) if self.full_screen
                         else msg("It shows {emoji}.", emoji=self.emoji))
        # i18n: what a class does when it was given nothing to do
        return sentences(*parts) if parts else msg("It does nothing.")

    def replace(self, **changes) -> "Behaviour":
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data) -> "Behaviour":
        """BehaviourError for anything that is not a usable behaviour."""
        if not isinstance(data, dict):
            raise BehaviourError("not a behaviour")
        fields = {f.name: data.get(f.name) for f in dataclasses.fields(cls) if f.name in data}
        for name, value in fields.items():
            wanted = bool if name == "full_screen" else str
            if not isinstance(value, wanted):
                raise BehaviourError(f"its {name} is not a {wanted.__name__}")
        return cls(**fields)


@dataclass(frozen=True)
class RunBehaviours:
    """A run's behaviours (one per class at most) and the "not sure" line they wait for."""

    behaviours: tuple[Behaviour, ...] = ()
    not_sure: float | None = None  # the Test page's line when they were saved; None: never set

    def __post_init__(self):
        names = [b.class_name for b in self.behaviours]
        if len(set(names)) != len(names):
            raise BehaviourError(msg("Each class can have one behaviour."))
        if self.not_sure is not None and not 0.0 <= float(self.not_sure) <= 1.0:
            raise BehaviourError(msg("The “not sure” line must be from 0 to 1; got {value}.", value=repr(self.not_sure)))

    def of(self, class_name: str) -> Behaviour | None:
        return next((b for b in self.behaviours if b.class_name == class_name), None)

    def acting(self, class_names: Iterable[str] | None = None) -> tuple[Behaviour, ...]:
        """The behaviours that do something, for ``class_names`` (in that order) if given."""
        if class_names is None:
            return tuple(b for b in self.behaviours if b.does_something)
        return tuple(b for b in (self.of(name) for name in class_names) if b is not None and b.does_something)

    def with_behaviour(self, behaviour: Behaviour) -> "RunBehaviours":
        kept = [b for b in self.behaviours if b.class_name != behaviour.class_name]
        return dataclasses.replace(self, behaviours=tuple(kept + [behaviour]))

    def media(self) -> set[str]:
        return {name for b in self.behaviours for name in (b.picture, b.recording) if name}

    def to_dict(self) -> dict:
        return {"format": BEHAVIOURS_FORMAT, "not_sure": self.not_sure,
                "behaviours": [b.to_dict() for b in self.behaviours]}


# -- reading and writing --------------------------------------------------------------------------
def read_behaviours(run_dir) -> RunBehaviours:
    """The behaviours kept in ``run_dir``: none if there are none; a damaged file or entry is
    left out (logged), and so is a picture or recording whose file is missing."""
    path = Path(run_dir) / BEHAVIOURS_FILE
    try:
        if not path.is_file():
            return RunBehaviours()
        if path.stat().st_size > MAX_FILE_BYTES:
            raise ValueError("it is far too big")
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict) or not isinstance(data.get("behaviours", []), list):
            raise ValueError("it does not list behaviours")
    except (OSError, ValueError) as error:
        log.warning("%s is left out: %s", path, error)
        return RunBehaviours()
    kept: dict[str, Behaviour] = {}
    for entry in data.get("behaviours", []):
        try:
            behaviour = Behaviour.from_dict(entry)
        except (BehaviourError, TypeError) as error:
            log.warning("%s: a behaviour is left out (%s)", path, error)
            continue
        behaviour = _without_missing_media(Path(run_dir), behaviour)
        kept.setdefault(behaviour.class_name, behaviour)
    not_sure = data.get("not_sure")
    usable = isinstance(not_sure, (int, float)) and not isinstance(not_sure, bool) and 0.0 <= not_sure <= 1.0
    return RunBehaviours(tuple(kept.values()), float(not_sure) if usable else None)


def _without_missing_media(run_dir: Path, behaviour: Behaviour) -> Behaviour:
    picture = behaviour.picture if media_bytes(run_dir, behaviour.picture) is not None else ""
    recording = behaviour.recording if media_bytes(run_dir, behaviour.recording) is not None else ""
    sound = behaviour.sound if behaviour.sound != RECORDED or recording else ""
    return behaviour.replace(picture=picture, recording=recording, sound=sound)


def write_behaviours(run_dir, behaviours: RunBehaviours) -> Path:
    """Keep ``behaviours`` in ``run_dir`` (the whole file replaced at once); pictures and
    recordings no longer used are removed afterwards."""
    run_dir = Path(run_dir)
    missing = [name for name in behaviours.media() if not (run_dir / MEDIA_DIR / name).is_file()]
    if missing:
        raise BehaviourError(msg("A picture or recording of these behaviours is missing; choose it again."))
    _write_atomically(run_dir / BEHAVIOURS_FILE,
                      json.dumps(behaviours.to_dict(), ensure_ascii=False, indent=1).encode("utf-8"))
    folder = run_dir / MEDIA_DIR
    if folder.is_dir():
        for file in folder.iterdir():
            if _MEDIA_NAME.fullmatch(file.name) and file.name not in behaviours.media():
                file.unlink(missing_ok=True)
    return run_dir / BEHAVIOURS_FILE


def _write_atomically(path: Path, data: bytes) -> None:
    handle, partial = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}-", suffix=".partial")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        os.replace(partial, path)
    finally:
        Path(partial).unlink(missing_ok=True)


def media_bytes(run_dir, name: str) -> bytes | None:
    """A picture's or recording's bytes, if ``name`` is one of ours and its file looks like
    what we write (a JPEG, a WAV); None otherwise."""
    if not name or not _MEDIA_NAME.fullmatch(name):
        return None
    path = Path(run_dir) / MEDIA_DIR / name
    try:
        if not path.is_file() or path.is_symlink() or path.stat().st_size > MAX_MEDIA_BYTES:
            return None
        data = path.read_bytes()
    except OSError:
        return None
    looks_right = data[:3] == b"\xff\xd8\xff" if name.endswith(".jpg") else data[:4] == b"RIFF" and data[8:12] == b"WAVE"
    return data if looks_right else None


def _keep_media(run_dir, stem: str, suffix: str, data: bytes) -> str:
    name = f"{stem}-{hashlib.sha256(data).hexdigest()[:16]}{suffix}"
    folder = Path(run_dir) / MEDIA_DIR
    folder.mkdir(exist_ok=True)
    if not (folder / name).is_file():
        _write_atomically(folder / name, data)
    return name


# -- pictures and recordings, re-encoded ---------------------------------------------------------
def keep_picture(run_dir, data: bytes) -> str:
    """Re-encode an uploaded picture (upright, RGB, at most PICTURE_SIDE a side, JPEG) into the
    run's behaviours/ folder; returns its name. BehaviourError, in one sentence, if it cannot be used."""
    from PIL import Image

    from ..data.imagefile import UnreadablePicture, open_rgb

    if len(data) > MAX_UPLOAD_BYTES:
        raise BehaviourError(msg("This picture is too big ({size} MB); choose one under {limit} MB.",
                                 size=round(len(data) / 1e6), limit=MAX_UPLOAD_BYTES // 1_000_000))
    try:
        image = open_rgb(bytes(data))
    except UnreadablePicture as error:
        raise BehaviourError(sentences(msg("This picture cannot be used."), error.reason)) from None
    image.thumbnail((PICTURE_SIDE, PICTURE_SIDE), Image.LANCZOS)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=PICTURE_QUALITY, optimize=True)
    return _keep_media(run_dir, "picture", ".jpg", out.getvalue())


def keep_recording(run_dir, data: bytes) -> str:
    """Re-encode a recorded sound (a PCM WAV, as the browser records it) as mono 16-bit at
    RECORDING_RATE, cut to MAX_RECORDING_SECONDS, into the run's behaviours/ folder; returns its name."""
    if len(data) > MAX_UPLOAD_BYTES:
        raise BehaviourError(msg("This recording is too long; record a few seconds at most."))
    try:
        with wave.open(io.BytesIO(bytes(data))) as sound:
            channels, width, rate = sound.getnchannels(), sound.getsampwidth(), sound.getframerate()
            frames = sound.readframes(min(sound.getnframes(), int(rate * MAX_RECORDING_SECONDS) + 1))
    except (wave.Error, EOFError, ValueError):
        raise BehaviourError(msg("This recording cannot be used (it is not a WAV sound); record it again.")) from None
    if width not in (1, 2) or channels < 1 or rate < 1000 or not frames:
        raise BehaviourError(msg("This recording cannot be used (an empty or unusual WAV sound); record it again."))
    samples = np.frombuffer(frames[: len(frames) - len(frames) % (width * channels)],
                            dtype=np.int16 if width == 2 else np.uint8).astype(np.float64)
    if width == 1:  # 8-bit WAV is unsigned
        samples = (samples - 128.0) * 256.0
    mono = samples.reshape(-1, channels).mean(axis=1)[: int(rate * MAX_RECORDING_SECONDS)]
    count = max(1, int(round(len(mono) * RECORDING_RATE / rate)))
    resampled = np.interp(np.arange(count) * rate / RECORDING_RATE, np.arange(len(mono)), mono)
    out = io.BytesIO()
    with wave.open(out, "wb") as sound:
        sound.setnchannels(1)
        sound.setsampwidth(2)
        sound.setframerate(RECORDING_RATE)
        sound.writeframes(np.clip(np.rint(resampled), -32768, 32767).astype("<i2").tobytes())
    return _keep_media(run_dir, "recording", ".wav", out.getvalue())


__all__ = ["BEHAVIOURS_FILE", "BUILT_IN_SOUNDS", "Behaviour", "BehaviourError", "MEDIA_DIR", "RECORDED",
           "RunBehaviours", "keep_picture", "keep_recording", "media_bytes", "read_behaviours", "write_behaviours"]
