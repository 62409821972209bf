"""Benchmark: compare and understand on flowers5 (1,497 real photos, 5 classes).

How long the embedding map takes (features cold, features cached), how well ImageNet
features separate the classes against random ones, how long label suspects and
familiarity take, and how big a run's familiarity file is.

    python benchmarks/understand.py [--quick]     (also: python benchmarks/run.py understand)
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common import FLOWERS, SHARED_WEIGHTS, table  # noqa: E402

BACKBONE = "mobilenet_v2_035"


def _timed(function):
    started = time.perf_counter()
    result = function()
    return result, time.perf_counter() - started


def _map_rows(dataset, size: int, cache: Path) -> tuple[list[dict], dict]:
    from tlcore.understand import embedding_map, pooled_features

    rows, maps = [], {}
    for weights, label in ((str(SHARED_WEIGHTS), "ImageNet (shared file)"), ("none", "random")):
        features, cold = _timed(lambda: pooled_features(dataset, BACKBONE, weights, size, cache_dir=cache))
        features, warm = _timed(lambda: pooled_features(dataset, BACKBONE, weights, size, cache_dir=cache))
        result, mapped = _timed(lambda: embedding_map(features, dataset.labels))
        maps[label] = (np.asarray(features), result)
        rows.append({"weights": label, "features cold (s)": f"{cold:.1f}", "features cached (s)": f"{warm:.2f}",
                     "PCA map (s)": f"{mapped:.2f}", "separation": f"{result.separation:.2f}",
                     "on the 2-D map": f"{result.map_separation:.2f}", "chance": f"{result.chance:.2f}",
                     "explained": f"{result.explained[0]:.2f} + {result.explained[1]:.2f}"})
    return rows, maps


def bench_understand(quick: bool = False) -> str:
    from tlcore.data import ImageDataset
    from tlcore.understand import FamiliarityModel, label_suspects, off_topic_suspects

    if not SHARED_WEIGHTS.is_file() or not FLOWERS.is_dir():
        return "### Compare and understand\n\nSkipped: needs ../shared (weights and flowers5).\n"
    size = 96 if quick else 128
    dataset = ImageDataset.from_folder(FLOWERS, image_size=size)
    with tempfile.TemporaryDirectory() as cache:
        map_rows, maps = _map_rows(dataset, size, Path(cache))
    features, _ = maps["ImageNet (shared file)"]
    suspects, suspect_seconds = _timed(lambda: label_suspects(features, dataset.labels, dataset.class_names))
    off_topic, off_seconds = _timed(lambda: off_topic_suspects(features, dataset.labels, dataset.class_names))
    train, val = dataset.split(0.2, 0)
    familiarity, fit_seconds = _timed(
        lambda: FamiliarityModel().fit(features[train], dataset.labels[train]).calibrate(features[val]))
    _, one_seconds = _timed(lambda: [familiarity.score(features[i:i + 1]) for i in range(100)])
    with tempfile.TemporaryDirectory() as folder:
        file_bytes = os.path.getsize(familiarity.save(Path(folder)))
    other = [{"step": f"label suspects ({len(dataset)} × {features.shape[1]}, 5 folds)",
              "seconds": f"{suspect_seconds:.2f}", "result": f"{len(suspects)} pictures look like another class"},
             {"step": "off-topic pictures", "seconds": f"{off_seconds:.2f}", "result": f"{len(off_topic)} found"},
             {"step": f"familiarity fit + calibrate ({len(train)} + {len(val)})", "seconds": f"{fit_seconds:.2f}",
              "result": f"familiarity.npz: {file_bytes / 1e6:.1f} MB"},
             {"step": "familiarity of one picture", "seconds": f"{one_seconds / 100:.4f}", "result": ""}]
    return "\n".join([
        f"### Compare and understand: flowers5, {len(dataset)} photos at {size} px, MobileNetV2-0.35\n",
        table(map_rows, list(map_rows[0])), "",
        "Separation: share of pictures nearer their own class's average than any other's (all features, "
        "leave-one-out); chance: the largest class's share.\n",
        table(other, ["step", "seconds", "result"]), ""])


if __name__ == "__main__":
    print(bench_understand("--quick" in sys.argv))
