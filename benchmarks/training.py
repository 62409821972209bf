"""Benchmarks 1 and 2: the classic Keras recipe vs our fast path; fine-tuning cached vs plain."""

from __future__ import annotations

import tempfile
import time

import numpy as np

from common import FLOWERS, table, weights_for


def flowers_subset(per_class: int, size: int):
    from tlcore.data import ImageDataset

    data = ImageDataset.from_folder(FLOWERS, image_size=size)
    keep = np.concatenate([np.flatnonzero(data.labels == c)[:per_class] for c in range(len(data.class_names))])
    return data.subset(keep)


def backbone_pass_seconds(backbone: str, weights: str, pixels: np.ndarray, batch: int = 32) -> tuple[float, float]:
    """The floor: one pass of the frozen backbone over every picture.

    Returns (cold, warm): cold counts building the network and tracing its function (what
    any first pass pays); warm is the pass alone."""
    from tlcore._tf import tf
    from tlcore.model import build_classifier
    from tlcore.training.feed import predict_batches

    started = time.perf_counter()
    transfer = build_classifier(backbone, ["a", "b"], pixels.shape[1], weights)
    extractor = transfer.frozen_extractor(0)
    pool = transfer.model.get_layer("pool")
    function = tf.function(lambda x: pool(extractor(x, training=False)))
    function(tf.constant(pixels[:batch].astype("float32")))  # build and trace
    ready = time.perf_counter()
    predict_batches(function, pixels, batch)
    done = time.perf_counter()
    return done - started, done - ready


def classic_recipe(backbone: str, weights: str, dataset, train, val, epochs: int, batch: int = 32):
    """The Keras tutorial recipe: a frozen backbone inside Sequential, model.fit on pictures."""
    from tlcore._tf import keras
    from tlcore.backbones.factory import create_backbone
    from tlcore.model.preprocessing import preprocessing_layers
    from tlcore.backbones import get_backbone

    spec = get_backbone(backbone)
    x = dataset.pixels()
    size = x.shape[1]
    started = time.perf_counter()  # like ours: building the network counts
    keras.utils.set_random_seed(0)
    base = create_backbone(spec, size, weights)
    base.trainable = False
    model = keras.Sequential([
        keras.Input((size, size, 3)), *preprocessing_layers(spec.preprocessing), base,
        keras.layers.GlobalAveragePooling2D(), keras.layers.Dropout(0.2),
        keras.layers.Dense(len(dataset.class_names), activation="softmax"),
    ])
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x[train].astype("float32"), dataset.labels[train], epochs=epochs, batch_size=batch,
                        validation_data=(x[val].astype("float32"), dataset.labels[val]), verbose=0)
    return time.perf_counter() - started, float(history.history["val_accuracy"][-1])


def ours(backbone: str, weights: str, dataset, train, val, epochs: int, cache_dir=None, **changes):
    from tlcore.settings import TrainingSettings
    from tlcore.training import Trainer

    settings = TrainingSettings(backbone=backbone, weights=str(weights), input_size=dataset.image_size,
                                epochs=epochs).replace(**changes)
    if cache_dir is not None:
        return Trainer(settings, cache_dir=cache_dir).fit(dataset, train, val)
    with tempfile.TemporaryDirectory() as cache:
        return Trainer(settings, cache_dir=cache).fit(dataset, train, val)


def bench_classic(quick: bool = False) -> str:
    rows = []
    for backbone, per_class in (("mobilenet_v2_035", 60), ("mobilenet_v2", 40), ("vgg16", 12)):
        if quick:
            per_class = max(per_class // 3, 6)
        weights, label = weights_for(backbone)
        dataset = flowers_subset(per_class, 224)
        train, val = dataset.split(0.2, 0)
        floor, warm_floor = backbone_pass_seconds(backbone, weights, dataset.pixels())
        classic_seconds, classic_accuracy = classic_recipe(backbone, weights, dataset, train, val, 10)
        with tempfile.TemporaryDirectory() as cache:
            fitted = ours(backbone, weights, dataset, train, val, 10, cache_dir=cache)
            again = ours(backbone, weights, dataset, train, val, 10, cache_dir=cache, seed=1)  # e.g. a new head
        rows.append({
            "backbone": backbone, "weights": label, "pictures": len(dataset),
            "floor s (cold / warm)": f"{floor:.1f} / {warm_floor:.1f}", "classic s": f"{classic_seconds:.1f}",
            "ours s": f"{fitted.train_seconds_:.1f}",
            "classic/ours": f"{classic_seconds / fitted.train_seconds_:.1f}×",
            "ours again s (cached)": f"{again.train_seconds_:.1f}",
            "classic/again": f"{classic_seconds / again.train_seconds_:.0f}×",
            "ours/floor": f"{fitted.train_seconds_ / floor:.2f}×",
            "val acc classic": f"{classic_accuracy:.3f}", "val acc ours": f"{fitted.val_accuracy_:.3f}",
        })
    return ("### 1. Classic recipe vs ours (frozen backbone, 10 epochs, 224 px)\n\n"
            + table(rows, list(rows[0])) + "\n\nEvery time includes building the network (the classic one too); the cold floor is "
            "build + one pass, the warm floor the pass alone; ours/floor is against the cold floor. "
            "'Ours again' is a second training on the same pictures (another seed), which finds the "
            "frozen part's outputs in the cache. "
            "Targets: classic/ours ≥ 10×, ours/floor ≤ 1.3×, accuracy within 2 points.\n")


def bench_finetune(quick: bool = False) -> str:
    backbone = "mobilenet_v2_035"
    weights, label = weights_for(backbone)
    dataset = flowers_subset(20 if quick else 60, 224)
    train, val = dataset.split(0.2, 0)
    rows = []
    for fast in (True, False):
        t = ours(backbone, weights, dataset, train, val, 3, learning_blocks=2, fine_tune_epochs=3, fast_path=fast)
        rows.append({"path": "cached at the freeze boundary" if fast else "plain end-to-end fit",
                     "total s": t.train_seconds_, "fine-tune phase s": t.timings_.get("fine_tune_seconds", 0),
                     "val acc": t.val_accuracy_})
    ratio = rows[1]["total s"] / rows[0]["total s"]
    for r in rows:
        r["total s"], r["fine-tune phase s"], r["val acc"] = f"{r['total s']:.1f}", f"{r['fine-tune phase s']:.1f}", f"{r['val acc']:.3f}"
    return (f"### 2. Fine-tuning the top 2 blocks ({backbone}, {label}, {len(dataset)} pictures, 3+3 epochs)\n\n"
            + table(rows, list(rows[0])) + f"\n\nPlain / cached: {ratio:.1f}× (target ≥ 2×, accuracy within 2 points).\n")
