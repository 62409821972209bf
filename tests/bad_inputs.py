"""Helpers for the bad-input corpus: tiny inputs made in the test, and "nothing else changed".

Every input is built here, in memory or in the test's folder (no binary fixtures). A case
works inside ``Sandbox.work``; ``Sandbox.outside()`` lists everything else in the parent
folder (the workspace, a sibling file), so a test can assert that it did not change.
"""

from __future__ import annotations

import io
import json
import os
import struct
import warnings
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image


# ---- pictures ------------------------------------------------------------------------------


def noise_picture(seed: int, size: tuple[int, int] = (48, 48)) -> Image.Image:
    """A unique RGB picture per seed (no two are copies or look alike)."""
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8))


def jpeg_bytes(seed: int, size: tuple[int, int] = (48, 48), quality: int = 90) -> bytes:
    buffer = io.BytesIO()
    noise_picture(seed, size).save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def smooth_jpeg_bytes(seed: int, size: tuple[int, int] = (64, 64), quality: int = 90) -> bytes:
    """A photo-like picture (smooth blotches), which survives re-encoding almost unchanged."""
    coarse = noise_picture(seed, (6, 6)).resize(size, Image.BICUBIC)
    buffer = io.BytesIO()
    coarse.save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def jpeg_claiming(width: int, height: int) -> bytes:
    """A 64×64 JPEG whose header says ``width``×``height``: it decodes mostly to grey filler."""
    data = bytearray(smooth_jpeg_bytes(7, (64, 64)))
    start = data.find(b"\xff\xc0")  # SOF0: length(2) precision(1) height(2) width(2)
    data[start + 5 : start + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header (IHDR, with a right checksum) says ``width``×``height``."""
    buffer = io.BytesIO()
    Image.new("L", (4, 4)).save(buffer, "PNG")
    data = bytearray(buffer.getvalue())
    data[16:24] = struct.pack(">II", width, height)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    return bytes(data)


def heic_bytes() -> bytes:
    """The start of an iPhone HEIC file: an ISO box "ftyp" with brand "heic"."""
    return struct.pack(">I", 24) + b"ftypheic" + b"\0\0\0\0" + b"mif1heic" + b"\0" * 64


def make_classes(root: Path, counts: dict[str, int], first_seed: int = 0, size=(48, 48)) -> Path:
    """root/<class>/<class>_<i>.jpg, every picture unique."""
    seed = first_seed
    for class_name, count in counts.items():
        (root / class_name).mkdir(parents=True, exist_ok=True)
        for i in range(count):
            (root / class_name / f"{class_name}_{i}.jpg").write_bytes(jpeg_bytes(seed, size))
            seed += 1
    return root


# ---- zips and lesson files ---------------------------------------------------------------


def zip_bytes(members: list[tuple[zipfile.ZipInfo | str, bytes]], compression=zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Duplicate name": some cases want one
        for info, data in members:
            archive.writestr(info, data)
    return buffer.getvalue()


def good_members(counts: dict[str, int], prefix: str = "", first_seed: int = 100) -> list[tuple[str, bytes]]:
    seed, members = first_seed, []
    for class_name, count in counts.items():
        for i in range(count):
            members.append((f"{prefix}{class_name}/{class_name}_{i}.jpg", jpeg_bytes(seed)))
            seed += 1
    return members


def symlink_member(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    info.external_attr = 0o120777 << 16  # S_IFLNK
    return info


def patch_central_directory(data: bytes, offset: int, value: bytes, last: bool = False) -> bytes:
    """Overwrite bytes at ``offset`` in the first (or last) central directory entry and, for
    the flag and method fields, its local header too: zips Python cannot write itself."""
    data = bytearray(data)
    central = data.rfind(b"PK\x01\x02") if last else data.find(b"PK\x01\x02")
    data[central + offset : central + offset + len(value)] = value
    if offset in (8, 10):  # flags, method: the same fields sit 2 bytes earlier in the local header
        local = struct.unpack("<I", data[central + 42 : central + 46])[0]
        data[local + offset - 2 : local + offset - 2 + len(value)] = value
    return bytes(data)


def lesson_bytes(manifest, pictures: dict[str, int] | None = None, extra=()) -> bytes:
    """A .tlproject: ``manifest`` (a dict, or raw text), pictures/<class>/..., extra members."""
    text = manifest if isinstance(manifest, str) else json.dumps(manifest)
    members = [("project.json", text.encode("utf-8"))]
    members += good_members(pictures or {}, prefix="pictures/")
    return zip_bytes(members + list(extra))


def manifest(**changes) -> dict:
    data = {"format": 1, "name": "Lesson", "classes": ["daisy", "rose"], "settings": {}, "runs": []}
    data.update(changes)
    return data


# ---- "nothing outside the work folder changed" ------------------------------------------------


def tree(folder: Path, skip: Path | None = None) -> dict[str, tuple]:
    """Every entry below ``folder`` (not below ``skip``): kind, size and modification time."""
    found = {}
    for current, dirs, files in os.walk(folder):
        here = Path(current)
        if skip is not None and here == skip.parent and skip.name in dirs:
            dirs.remove(skip.name)
        for name in dirs + files:
            path = here / name
            info = path.lstat()
            kind = "link" if path.is_symlink() else "dir" if path.is_dir() else "file"
            found[path.relative_to(folder).as_posix()] = (kind, 0 if kind == "dir" else info.st_size,
                                                          info.st_mtime_ns)
    return found


@dataclass
class Sandbox:
    """parent/ holds work/ (where a case may write), workspace/ (with one run) and a note."""

    parent: Path

    @classmethod
    def make(cls, base: Path) -> "Sandbox":
        sandbox = cls(base / "parent")
        sandbox.work.mkdir(parents=True)
        (sandbox.workspace / "20240101-old-run").mkdir(parents=True)
        (sandbox.workspace / "20240101-old-run" / "run.json").write_text("{}")
        (sandbox.parent / "notes.txt").write_text("the teacher's own file\n")
        return sandbox

    @property
    def work(self) -> Path:
        return self.parent / "work"

    @property
    def workspace(self) -> Path:
        return self.parent / "workspace"

    def outside(self) -> dict[str, tuple]:
        """The parent folder's listing, less the work folder."""
        return tree(self.parent, skip=self.work)

    def inside(self) -> dict[str, tuple]:
        return tree(self.work)
