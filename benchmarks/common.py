"""Shared helpers for the benchmarks: timing, memory, picking real weights and pictures."""

from __future__ import annotations

import os
import platform
import resource
import statistics
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
SHARED_WEIGHTS = SHARED / "weights" / "mobilenet_v2_0.35_224_no_top.weights.h5"
FLOWERS = SHARED / "data" / "flowers5"

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def machine() -> str:
    import tensorflow as tf

    cpu = platform.processor() or platform.machine()
    return (f"{os.cpu_count()} CPU cores ({cpu}), Python {platform.python_version()}, "
            f"TensorFlow {tf.__version__}, GPU: {'yes' if tf.config.list_physical_devices('GPU') else 'no'}")


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MB.

    /proc's VmHWM is this process's own high-water mark; getrusage's ru_maxrss can carry
    the parent's peak into a child started with fork and exec."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@contextmanager
def timer(results: dict, key: str):
    started = time.perf_counter()
    yield
    results[key] = time.perf_counter() - started


def median_ms(function, repeats: int = 20) -> float:
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def weights_for(backbone: str) -> tuple[str, str]:
    """(weights, label): ImageNet if cached, the real shared file for MobileNetV2-0.35, else a
    file of random starting weights (same cost, so the timing holds; the accuracy does not)."""
    import tempfile

    from tlcore.backbones import get_backbone, imagenet_weights_cached
    from tlcore.backbones.factory import create_backbone

    spec = get_backbone(backbone)
    if imagenet_weights_cached(spec):
        return "imagenet", "ImageNet"
    if backbone == "mobilenet_v2_035" and SHARED_WEIGHTS.is_file():
        return str(SHARED_WEIGHTS), "ImageNet (shared file)"
    path = Path(tempfile.gettempdir()) / f"tlcore-bench-random-{backbone}.weights.h5"
    if not path.is_file():
        create_backbone(spec, None, "none").save_weights(path)
    return str(path), "random file (timing only)"


def table(rows: list[dict], columns: list[str]) -> str:
    widths = {c: max(len(c), *(len(str(r.get(c, ""))) for r in rows)) for c in columns}
    lines = ["| " + " | ".join(c.ljust(widths[c]) for c in columns) + " |",
             "| " + " | ".join("-" * widths[c] for c in columns) + " |"]
    for r in rows:
        lines.append("| " + " | ".join(str(r.get(c, "")).ljust(widths[c]) for c in columns) + " |")
    return "\n".join(lines)
