"""Benchmark 4: one picture, warm, median latency per backbone."""

from __future__ import annotations

import numpy as np

from common import median_ms, table


def bench_predict(quick: bool = False) -> str:
    from tlcore._tf import tf
    from tlcore.backbones import list_backbones
    from tlcore.model import build_classifier

    names = ["mobilenet_v2_035", "mobilenet_v2", "efficientnet_b0"] if quick else list_backbones()
    rows = []
    for name in names:
        transfer = build_classifier(name, ["a", "b", "c"], None, "none")
        size = transfer.input_size
        picture = tf.constant(np.random.default_rng(0).integers(0, 256, (1, size, size, 3)).astype("float32"))
        function = tf.function(lambda x: transfer.model(x, training=False))
        function(picture)  # warm: traced and run once
        rows.append({"backbone": name, "input": f"{size} px", "median ms": f"{median_ms(lambda: function(picture).numpy(), 15):.1f}"})
    return ("### 4. Prediction: one picture, warm (median of 15)\n\n" + table(rows, list(rows[0]))
            + "\n\nTarget: MobileNetV2 ≤ 50 ms on 2 cores.\n")
