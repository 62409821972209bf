"""Arrays of decoded pictures, uint8 (count, size, size, 3): in memory, or memory-mapped from a
file on disk when they are large, with the disk's room reserved before a picture is written."""

from __future__ import annotations

import errno
import os
import secrets
import tempfile
from pathlib import Path

import numpy as np

from .report import cannot_write


def memory_budget_bytes() -> int:
    """How many bytes of decoded pictures stay in memory ($TLCORE_MEMORY_BUDGET_MB, default 1500).

    Above it, pictures are decoded into a file on disk and read from there (memory-mapped):
    the operating system keeps in memory only what is being used."""
    return int(float(os.environ.get("TLCORE_MEMORY_BUDGET_MB", "1500")) * 1e6)


def new_pixel_array(count: int, size: int, folder: str | os.PathLike[str] | None = None) -> np.ndarray:
    """An uint8 (count, size, size, 3) array: in memory, or on disk when over the budget.

    With ``folder``, always on disk there: a memory-mapped file (removed from the folder at
    once; it lives as long as the array), so decoded pictures go to the disk as they are
    decoded instead of being held whole in memory. Its room is reserved first, so a full disk
    is a CannotWriteError now, never a crash when a picture is written into the mapping."""
    shape = (count, size, size, 3)
    if count == 0 or (folder is None and count * size * size * 3 <= memory_budget_bytes()):
        return np.empty(shape, dtype=np.uint8)
    if folder is None:
        from ..paths import cache_root

        folder = cache_root() / "pixels"
    try:
        Path(folder).mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(dir=folder, suffix=".npy")
        os.close(handle)
        try:
            array = np.lib.format.open_memmap(name, mode="w+", dtype=np.uint8, shape=shape)
            reserve_room(name)
        finally:
            os.unlink(name)  # the mapping stays valid; the file goes away with it
    except OSError as error:
        raise cannot_write(error) from None
    return array


def reserve_room(path: str | os.PathLike[str]) -> None:
    """Make the disk hold every byte of ``path`` now (a memory-mapped file is written later, page by
    page; a disk found full then stops the program). OSError (ENOSPC) if it does not fit."""
    if not hasattr(os, "posix_fallocate"):  # Windows and macOS reserve as the file is extended
        return
    handle = os.open(path, os.O_RDWR)
    try:
        os.posix_fallocate(handle, 0, os.fstat(handle).st_size)
    except OSError as error:
        if error.errno not in (errno.EOPNOTSUPP, errno.EINVAL, errno.ENOSYS):  # a disk that cannot reserve
            raise
    finally:
        os.close(handle)


def write_pixels(pixels: np.ndarray, path: Path) -> Path:
    """``pixels`` written to the .npy file ``path`` through a temporary file whose room is reserved
    first (a full disk is an OSError before any picture is written); returns ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".pixels-{secrets.token_hex(4)}.npy")
    out = np.lib.format.open_memmap(temporary, mode="w+", dtype=np.uint8, shape=pixels.shape)
    try:
        reserve_room(temporary)
        for start in range(0, len(pixels), 256):  # a little at a time: never a second copy in memory
            out[start:start + 256] = pixels[start:start + 256]
        out.flush()
    except BaseException:
        del out
        temporary.unlink(missing_ok=True)
        raise
    del out
    os.replace(temporary, path)
    return path
