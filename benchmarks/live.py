"""Benchmark: the live camera on this computer.

- live predictions a second for one 640x480 camera frame (centre crop and resize included), at
  224 px, per backbone and engine (a compiled tf.function on a fixed shape vs. the TFLite
  interpreter TensorFlow ships): the faster one is tlcore.live's default
- the latency from a frame's arrival to its answer (median, 95th percentile) with frames
  arriving at 30 a second into tlcore.live.LiveLoop ("drop, never queue")
- how many pictures a 10-second hold records at the default rate (frames at 30 a second)
"""

from __future__ import annotations

import statistics
import threading
import time

import numpy as np

from common import table

CAMERA_FPS = 30


def _camera_frames(count: int = 8) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    return [rng.integers(0, 256, (480, 640, 3), dtype=np.uint8) for _ in range(count)]


def _run_for(backbone: str, size: int = 224):
    from tlcore.model import build_classifier
    from tlcore.runs import Run, RunRecord

    transfer = build_classifier(backbone, ["a", "b", "c"], size, "none")  # timing only: random weights
    record = RunRecord(name="benchmark", backbone=backbone, backbone_title=transfer.spec.title, weights="none",
                       weights_source="random (timing only)", input_size=size, classes=tuple(transfer.class_names))
    return Run(None, record, transfer.model)


def predictions_per_second(predictor, frames, seconds: float) -> float:
    predictor.predict(frames[0])  # warm
    done, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        predictor.predict(frames[done % len(frames)])
        done += 1
    return done / (time.perf_counter() - started)


def loop_latency(make_predictor, frames, seconds: float) -> dict:
    """Feed a LiveLoop at CAMERA_FPS for ``seconds``; latencies of the answers it gave."""
    from tlcore.live import LiveLoop

    loop = LiveLoop(make_predictor).start()
    while not loop.ready:
        time.sleep(0.05)
    latencies, seen = [], set()

    def watch():
        while not stop.is_set():
            result = loop.latest
            if result is not None and result.frame_id not in seen:
                seen.add(result.frame_id)
                latencies.append(result.latency)
            time.sleep(0.002)

    stop = threading.Event()
    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    started, n = time.perf_counter(), 0
    while time.perf_counter() - started < seconds:
        loop.submit(frames[n % len(frames)])
        n += 1
        time.sleep(max(0.0, started + n / CAMERA_FPS - time.perf_counter()))
    time.sleep(0.5)
    stop.set()
    loop.stop()
    latencies = sorted(latencies)
    return {"answers/s": len(latencies) / seconds, "median": statistics.median(latencies) * 1000,
            "p95": latencies[int(0.95 * (len(latencies) - 1))] * 1000, "dropped": loop.slot.dropped / max(n, 1)}


def recorded_in_a_hold(seconds: float = 10.0) -> tuple[int, float]:
    from tlcore.live import DEFAULT_RECORD_RATE, FrameRecorder

    recorder, frame = FrameRecorder(), _camera_frames(1)[0]
    recorder.start("hold")
    started, n = time.perf_counter(), 0
    while time.perf_counter() - started < seconds:
        recorder.offer(frame)
        n += 1
        time.sleep(max(0.0, started + n / CAMERA_FPS - time.perf_counter()))
    recorder.stop()
    return len(recorder.drain()), DEFAULT_RECORD_RATE


def bench_live(quick: bool = False) -> str:
    from tlcore.live import DEFAULT_ENGINE, ENGINES, LivePredictor

    backbones = ["mobilenet_v2_035", "mobilenet_v2"] + ([] if quick else ["resnet50"])
    seconds = 3.0 if quick else 6.0
    frames = _camera_frames()
    rows = []
    for backbone in backbones:
        run = _run_for(backbone)
        for engine in ENGINES:
            started = time.perf_counter()
            predictor = LivePredictor(run, engine)
            predictor.predict(frames[0])  # the tf.function traces here, TFLite converted above
            build = time.perf_counter() - started
            rate = predictions_per_second(predictor, frames, seconds)
            loop = loop_latency(lambda: predictor, frames, seconds)
            rows.append({"backbone": backbone, "engine": engine + (" (default)" if engine == DEFAULT_ENGINE else ""),
                         "ready in s": f"{build:.1f}", "predictions/s": f"{rate:.1f}",
                         "live answers/s": f"{loop['answers/s']:.1f}", "latency median ms": f"{loop['median']:.0f}",
                         "latency p95 ms": f"{loop['p95']:.0f}", "frames dropped": f"{loop['dropped']:.0%}"})
    kept, rate = recorded_in_a_hold()
    return ("### Live camera: one 640×480 frame at a time, 224 px (random weights: timing only)\n\n"
            + table(rows, list(rows[0]))
            + f"\n\nFrames arrive at {CAMERA_FPS} a second; the predictor answers the newest and drops the rest. "
              "Latency: from a frame's arrival to its answer. Targets: ≥ 15 predictions/s for MobileNetV2-0.35, "
              "≥ 8 for MobileNetV2, on 2 cores.\n\n"
              f"A 10-second hold at the default {rate:g} pictures a second recorded **{kept}** pictures.\n")
