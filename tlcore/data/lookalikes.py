"""Pictures worth a second look: near-identical ones, and ones far smaller than the rest.

Reported, never dropped (exact copies are dropped when loading). A placeholder picture
("this image could not be found") shows up as a near-identical picture in several classes;
a burst from the camera as many near-identical pictures in one class, which is fine.

Two steps, both on the already decoded pixels: a 64-bit difference hash (dHash) finds
candidates cheaply (the same for a picture saved again, resized or slightly recoloured),
then 32×32 thumbnails must match closely, because 64 bits alone mistake pictures with
similar backgrounds (the demo's gradients) for each other.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
from PIL import Image

from ..i18n import Listed, msg, msg_n

# Candidates: hashes at most this many bits apart (of 64). Confirmed: 32×32 thumbnails
# differing by at most this much on average (0-255). Measured on flowers5 (1,500 photos):
# the same photo differs by 0-3.6, the closest different photos by 13.9 or more; no demo
# pair is within 25.
CANDIDATE_BITS = 8
NEAR_IDENTICAL_DIFFERENCE = 8.0
_THUMBNAIL = 32
# A picture with less than this fraction of the median picture's area is "far smaller".
FAR_SMALLER_AREA = 0.1
# Names listed in one sentence before it says "and N more".
NAMES_SHOWN = 3
_COMPARISONS_AT_ONCE = 4_000_000  # bounds the memory of one step (about 40 MB)


def look_hash(pixels: np.ndarray) -> int:
    """The dHash of one uint8 (S, S, 3) picture: 64 bits, brighter-than-its-left-neighbour."""
    gray = Image.fromarray(pixels).convert("L").resize((9, 8), Image.BOX)
    values = np.asarray(gray, dtype=np.int16)
    bits = (values[:, 1:] > values[:, :-1]).ravel()
    return int.from_bytes(np.packbits(bits).tobytes(), "big")


def near_pairs(hashes: np.ndarray, max_bits: int = CANDIDATE_BITS) -> list[tuple[int, int]]:
    """Index pairs (i < j) whose hashes differ in at most ``max_bits`` bits."""
    hashes = np.asarray(hashes, dtype=np.uint64)
    pairs = []
    rows_at_once = max(1, _COMPARISONS_AT_ONCE // max(1, len(hashes)))
    for start in range(0, len(hashes), rows_at_once):
        block = hashes[start : start + rows_at_once]
        distance = _bits_set(block[:, None] ^ hashes[None, :])
        rows, cols = np.nonzero(distance <= max_bits)
        rows = rows + start
        keep = rows < cols
        pairs += list(zip(rows[keep].tolist(), cols[keep].tolist()))
    return pairs


def near_identical(pixels: np.ndarray, hashes: np.ndarray) -> list[tuple[int, int]]:
    """Index pairs (i < j) of pictures that look nearly the same."""
    thumbnails: dict[int, np.ndarray] = {}

    def thumbnail(index: int) -> np.ndarray:
        if index not in thumbnails:
            small = Image.fromarray(pixels[index]).resize((_THUMBNAIL, _THUMBNAIL), Image.BOX)
            thumbnails[index] = np.asarray(small, dtype=np.int16)
        return thumbnails[index]

    return [(i, j) for i, j in near_pairs(hashes)
            if np.abs(thumbnail(i) - thumbnail(j)).mean() <= NEAR_IDENTICAL_DIFFERENCE]


def _bits_set(values: np.ndarray) -> np.ndarray:
    if hasattr(np, "bitwise_count"):  # numpy 2
        return np.bitwise_count(values)
    as_bytes = values.astype(">u8")[..., None].view(np.uint8)
    return np.unpackbits(as_bytes, axis=-1).sum(axis=-1)


def lookalike_findings(
    names: Sequence[str],
    labels: np.ndarray,
    class_names: Sequence[str],
    pixels: np.ndarray,
    hashes: np.ndarray,
    sizes: np.ndarray,
) -> tuple[list[str], list[str]]:
    """(warnings, notes): near-identical pictures across classes (a warning: one picture can
    teach only one class), within a class (a note, one line per class) and pictures far
    smaller than the set's median (a note). ``sizes``: (N, 2) original width and height."""
    across: list[tuple[int, int]] = []
    within: dict[int, list[tuple[int, int]]] = {}
    for i, j in near_identical(pixels, hashes):
        if labels[i] == labels[j]:
            within.setdefault(int(labels[i]), []).append((i, j))
        else:
            across.append((i, j))
    warnings = [_across_sentence(across, names)] if across else []
    notes = [_within_sentence(class_names[label], pairs, names) for label, pairs in sorted(within.items())]
    small = _far_smaller(names, sizes)
    return warnings, notes + ([small] if small else [])


def _across_sentence(pairs: list[tuple[int, int]], names: Sequence[str]) -> str:
    # "a with b, c with d, and e with f": each pair a message, the pairs one list in the reader's language
    shown = Listed(msg("{first} with {second}", first=names[i], second=names[j]) for i, j in pairs[:NAMES_SHOWN])
    if len(pairs) == 1:
        return msg("{pair} look nearly the same but are in different classes. A picture can teach only one class: "
                   "check where each belongs.", pair=msg("{first} and {second}", first=names[pairs[0][0]],
                                                         second=names[pairs[0][1]]))
    if len(pairs) > NAMES_SHOWN:
        return msg_n("{count} pair of pictures looks nearly the same but is in different classes: {pairs} (and "
                     "{more} more pairs). A picture can teach only one class: check where each belongs.",
                     "{count} pairs of pictures look nearly the same but are in different classes: {pairs} (and "
                     "{more} more pairs). A picture can teach only one class: check where each belongs.", len(pairs),
                     pairs=shown, more=len(pairs) - NAMES_SHOWN)
    return msg_n("{count} pair of pictures looks nearly the same but is in different classes: {pairs}. A picture "
                 "can teach only one class: check where each belongs.",
                 "{count} pairs of pictures look nearly the same but are in different classes: {pairs}. A picture "
                 "can teach only one class: check where each belongs.", len(pairs), pairs=shown)


def _within_sentence(class_name: str, pairs: list[tuple[int, int]], names: Sequence[str]) -> str:
    if len(pairs) == 1:
        i, j = pairs[0]
        return msg("{first} and {second} look nearly the same (fine, but varied pictures teach more).",
                   first=names[i], second=names[j])
    count = len({index for pair in pairs for index in pair})
    i, j = pairs[0]
    return msg_n("{count} picture of '{name}' looks nearly the same as another picture of '{name}' (for example "
                 "{first} and {second}); a burst from the camera is fine, but varied pictures teach more.",
                 "{count} pictures of '{name}' look nearly the same as another picture of '{name}' (for example "
                 "{first} and {second}); a burst from the camera is fine, but varied pictures teach more.",
                 count, name=class_name, first=names[i], second=names[j])


def _far_smaller(names: Sequence[str], sizes: np.ndarray) -> str | None:
    sizes = np.asarray(sizes, dtype=np.int64).reshape(-1, 2)
    known = sizes.prod(axis=1) > 0
    if known.sum() < 5:
        return None
    areas = sizes.prod(axis=1)
    median = float(np.median(areas[known]))
    small = np.flatnonzero(known & (areas < FAR_SMALLER_AREA * median))
    if not len(small):
        return None
    typical = sizes[known][np.argsort(areas[known])[known.sum() // 2]]
    listed = ", ".join(f"{names[i]} ({sizes[i][0]}×{sizes[i][1]})" for i in small[:NAMES_SHOWN])  # names: outside text
    values = dict(listed=listed, width=str(typical[0]), height=str(typical[1]))
    if len(small) > NAMES_SHOWN:
        return msg("{listed} and {more} more are far smaller than the other pictures (most are about {width}×{height} "
                   "pixels): check that they are real pictures.", more=len(small) - NAMES_SHOWN, **values)
    return msg_n("{listed} is far smaller than the other pictures (most are about {width}×{height} pixels): check "
                 "that it is a real picture.",
                 "{listed} are far smaller than the other pictures (most are about {width}×{height} pixels): check "
                 "that they are real pictures.", len(small), **values)
