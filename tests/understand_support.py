"""What the understand tests share: flowers5 loaded once per size, and its pooled features.

Loading and features are kept for the test process (lru_cache), and features are also in
the session's feature cache on disk, so each test file pays for them at most once."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from conftest import FLOWERS, SHARED_WEIGHTS  # the one place ../shared is named

BACKBONE = "mobilenet_v2_035"
# Pictures that are not flowers at all, found in flowers5 by off_topic_suspects and checked by eye.
NOT_FLOWERS = {
    "tulip/15275144259_f9a18ec9cb.jpg": "a steel bridge",
    "daisy/11891885265_ccefec7284_n.jpg": "a wooden door",
    "daisy/1355787476_32e9f2a30b.jpg": "a hand",
    "daisy/30001711132_eb0fd7b04c_n.jpg": "a child's face",
    "tulip/16169741783_deeab1a679_m.jpg": "a room with a table",
}


@lru_cache(maxsize=2)
def flowers_at(size: int):
    from tlcore.data import ImageDataset

    return ImageDataset.from_folder(FLOWERS, image_size=size)


@lru_cache(maxsize=4)
def flowers_features(size: int, weights: str = "shared") -> np.ndarray:
    """Pooled MobileNetV2-0.35 features of all of flowers5 at ``size`` px ("shared" ImageNet weights or "none")."""
    from tlcore.understand import pooled_features

    chosen = str(SHARED_WEIGHTS) if weights == "shared" else weights
    return np.asarray(pooled_features(flowers_at(size), BACKBONE, chosen, size))


def class_subset(dataset, features, class_names):
    """(features, labels 0..len-1, names, dataset indices) of the pictures of ``class_names``."""
    wanted = [dataset.class_names.index(name) for name in class_names]
    rows = np.flatnonzero(np.isin(dataset.labels, wanted))
    labels = np.array([wanted.index(label) for label in dataset.labels[rows]], dtype=np.int64)
    return features[rows], labels, list(class_names), rows
