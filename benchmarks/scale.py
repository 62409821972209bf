"""Benchmark 3: 500, 2,000 and 5,000 phone-sized photos: time and peak memory.

Each size runs in its own process so its peak memory is its own.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from common import peak_rss_mb, table, weights_for

CLASSES = 5


def make_pictures(root: Path, count: int) -> Path:
    """``count`` 1200×900 JPEGs in 5 class folders (kept between runs)."""
    from PIL import Image, ImageDraw

    folder = root / f"phone-{count}"
    if (folder / ".complete").exists():
        return folder
    rng = np.random.default_rng(count)
    for i in range(count):
        c = i % CLASSES
        (folder / f"class{c}").mkdir(parents=True, exist_ok=True)
        base = np.linspace(0, 1, 1200)[None, :, None] * rng.uniform(60, 200, 3)
        image = Image.fromarray(np.broadcast_to(base, (900, 1200, 3)).astype("uint8"))
        draw = ImageDraw.Draw(image)
        for _ in range(6):
            x, y, r = rng.integers(0, 1200), rng.integers(0, 900), rng.integers(40, 250)
            colour = tuple(int(v) for v in rng.integers(0, 256, 3))
            (draw.ellipse if c % 2 else draw.rectangle)((x - r, y - r, x + r, y + r), fill=colour)
        image.save(folder / f"class{c}" / f"{i:05d}.jpg", quality=88)
    (folder / ".complete").touch()
    return folder


def worker(folder: str, backbone: str, weights: str) -> dict:
    from tlcore.data import ImageDataset
    from tlcore.settings import TrainingSettings
    from tlcore.training import Trainer

    result = {}
    started = time.perf_counter()
    dataset = ImageDataset.from_folder(folder, image_size=224)
    result["load s"] = time.perf_counter() - started
    result["after load MB"] = peak_rss_mb()
    with tempfile.TemporaryDirectory() as cache:
        settings = TrainingSettings(backbone=backbone, weights=str(weights), input_size=224, epochs=1,
                                    learning_blocks=2, fine_tune_epochs=2)
        t = Trainer(settings, cache_dir=cache).fit(dataset)
    result["extract s"] = t.timings_["extract_seconds"]
    result["fine-tune s"] = t.timings_.get("fine_tune_seconds", 0.0)
    result["peak MB"] = peak_rss_mb()
    return result


def bench_scale(quick: bool = False) -> str:
    sizes = (200, 500) if quick else (500, 2000, 5000)
    backbone = "mobilenet_v2_035"
    weights, label = weights_for(backbone)
    root = Path(tempfile.gettempdir()) / "tlcore-bench-pictures"
    rows = []
    for count in sizes:
        folder = make_pictures(root, count)
        out = subprocess.run([sys.executable, __file__, "--worker", str(folder), backbone, weights],
                             capture_output=True, text=True, check=True)
        r = json.loads(out.stdout.strip().splitlines()[-1])
        rows.append({"pictures": count, "load s": f"{r['load s']:.1f}", "extract s": f"{r['extract s']:.1f}",
                     "fine-tune s (2 epochs)": f"{r['fine-tune s']:.1f}",
                     "ms / picture (all)": f"{1000 * (r['load s'] + r['extract s'] + r['fine-tune s']) / count:.1f}",
                     "peak memory MB": f"{r['peak MB']:.0f}"})
    return (f"### 3. Scale: 1200×900 JPEGs at 224 px ({backbone}, {label}; head 1 epoch + fine-tune top 2 blocks 2 epochs)\n\n"
            + table(rows, list(rows[0])) + "\n\nTargets: 5,000 pictures with peak memory ≤ 3 GB; time per picture flat (linear growth).\n")


if __name__ == "__main__" and len(sys.argv) > 1 and sys.argv[1] == "--worker":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    print(json.dumps(worker(*sys.argv[2:5])))
