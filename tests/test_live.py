"""tlcore.live: live answers equal Run.predict, the newest frame wins, recording keeps a steady rate."""

from __future__ import annotations

import time

import numpy as np
import pytest
from PIL import Image

from tlcore.live import (
    DEFAULT_ENGINE,
    ENGINES,
    FrameRecorder,
    LatestFrameSlot,
    LiveLoop,
    LivePredictor,
    frame_to_pixels,
    square_frame,
)


def camera_frame(dataset, index: int, width: int = 320, height: int = 240) -> np.ndarray:
    """A frame as a camera gives it: wider than tall, a demo picture stretched over it."""
    picture = Image.open(dataset.paths[index]).convert("RGB").resize((width, height), Image.BILINEAR)
    return np.asarray(picture, np.uint8)


@pytest.fixture(scope="module")
def run(demo_run):
    return demo_run[1]


@pytest.fixture(scope="module")
def frames(demo_dataset_96):
    return [camera_frame(demo_dataset_96, i) for i in (0, 31, 62)]  # one of each shape


@pytest.mark.parametrize("engine", [None, "tf_function", "tflite"])
def test_live_answer_equals_run_predict_on_the_frame_saved_as_png(run, frames, tmp_path, engine):
    predictor = LivePredictor(run, engine=engine)
    assert predictor.engine_name == (engine or DEFAULT_ENGINE)
    for number, frame in enumerate(frames):
        png = tmp_path / f"frame{number}.png"
        Image.fromarray(frame).save(png)
        expected = run.predict([png])[0]
        live = predictor.predict(frame)
        assert live.shape == (len(run.class_names),)
        np.testing.assert_allclose(live, [expected.probabilities[c] for c in run.class_names], atol=1e-5)
        assert run.class_names[int(live.argmax())] == expected.top
        # "none of my classes" live, as Run.predict says it
        _, familiar, familiarity = predictor.answer_pixels(frame_to_pixels(frame, run.input_size))
        assert familiar == expected.familiar and familiarity == pytest.approx(expected.familiarity, abs=1e-4)


def test_the_default_engine_is_a_known_one_and_a_wrong_name_says_what_to_choose(run):
    from tlcore.live import tflite_content

    assert DEFAULT_ENGINE in ENGINES
    assert tflite_content(run.keras_model, run) is tflite_content(run.keras_model, run)  # converted once
    with pytest.raises(ValueError, match=r"Unknown engine 'onnx'; choose one of: tflite, tf_function\."):
        LivePredictor(run, engine="onnx")


def test_frames_are_prepared_by_the_training_function_and_bad_frames_are_refused():
    frame = np.zeros((240, 320, 3), np.uint8)
    frame[:, 40:280] = 200  # the centre square (40..280) is bright, the sides dark
    pixels = frame_to_pixels(frame, 96)
    assert pixels.shape == (96, 96, 3) and pixels.dtype == np.uint8
    assert pixels.min() > 150  # centre-cropped: none of the dark sides left (Lanczos rings a little)
    kept = square_frame(frame)
    assert kept.shape == (240, 240, 3) and kept.min() > 150
    assert square_frame(np.zeros((960, 1280, 3), np.uint8)).shape == (448, 448, 3)
    with pytest.raises(ValueError, match=r"RGB uint8 array \(height, width, 3\); got float32 \(240, 320, 3\)"):
        frame_to_pixels(frame.astype("float32"), 96)
    with pytest.raises(ValueError, match="got uint8 \\(240, 320\\)"):
        frame_to_pixels(frame[..., 0], 96)


def test_the_slot_keeps_only_the_newest_frame_and_counts_the_dropped():
    slot = LatestFrameSlot()
    assert slot.take(timeout=0.01) is None
    ids = [slot.put(f"frame {n}", arrived=float(n)) for n in range(1, 4)]
    assert ids == [1, 2, 3]
    assert slot.take(timeout=0.01) == (3, "frame 3", 3.0)
    assert (slot.received, slot.dropped) == (3, 2)
    assert slot.take(timeout=0.01) is None  # taken once: nothing waits any more
    slot.put("frame 4")
    assert slot.take(timeout=0.01)[:2] == (4, "frame 4")
    assert slot.dropped == 2


def wait_for(condition, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_the_loop_answers_the_newest_frame_and_drops_what_came_in_between(run, frames):
    loop = LiveLoop(lambda: LivePredictor(run), heatmap_every=0.0).start()
    try:
        wait_for(lambda: loop.ready)
        last = 0
        for n in range(60):  # far faster than answers come
            last = loop.submit(frames[n % 3])
        wait_for(lambda: loop.latest is not None and loop.latest.frame_id == last)
        result = loop.latest
        assert loop.slot.received == 60
        assert loop.predicted + loop.slot.dropped == 60 and loop.slot.dropped > 0
        np.testing.assert_allclose(result.probabilities, LivePredictor(run).predict(frames[59 % 3]), atol=1e-5)
        assert result.frame is frames[59 % 3]
        assert 0 <= result.latency < 30
        assert result.ranked()[0] == (result.top, result.top_probability)
        assert len(result.ranked()) == len(run.class_names)
        wait_for(lambda: loop.latest_explained is not None)
        assert loop.latest_explained.heatmap.shape == (run.input_size, run.input_size)
        assert 0.0 <= loop.latest_explained.heatmap.min() <= loop.latest_explained.heatmap.max() <= 1.0
    finally:
        loop.stop()
    assert not loop.alive


def test_a_model_that_cannot_be_used_gets_a_sentence_not_a_crash():
    def broken():
        raise OSError("model.keras is cut short")

    loop = LiveLoop(broken).start()
    wait_for(lambda: not loop.alive)
    assert loop.error == "This model could not be used for live answers (OSError: model.keras is cut short)."
    assert loop.latest is None and not loop.ready


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


@pytest.mark.parametrize("camera_fps, rate, seconds, expected", [
    (30, 5.0, 10, 50), (10, 5.0, 10, 50), (30, 8.0, 10, 80), (15, 10.0, 4, 40), (3, 5.0, 10, 30)])
def test_the_recorder_keeps_a_steady_rate_while_recording(camera_fps, rate, seconds, expected):
    clock = Clock()
    recorder = FrameRecorder(rate=rate, clock=clock)
    frame = np.full((240, 320, 3), 7, np.uint8)
    assert not recorder.offer(frame)  # not recording yet
    recorder.start("bees")
    for _ in range(camera_fps * seconds):
        recorder.offer(frame)
        clock.now += 1.0 / camera_fps
    recorder.stop()
    assert not recorder.offer(frame)
    kept = recorder.drain()
    assert abs(len(kept) - expected) <= 1, len(kept)  # a frame at either end
    assert recorder.kept == len(kept) and recorder.label == "bees"
    assert all(k.shape == (240, 240, 3) for k in kept)
    assert recorder.drain() == []


def test_the_recorder_converts_only_the_frames_it_keeps_and_checks_its_rate():
    clock, converted = Clock(), []
    recorder = FrameRecorder(rate=2.0, clock=clock)
    recorder.start()

    def to_rgb(frame):
        converted.append(frame)
        return np.zeros((10, 20, 3), np.uint8)

    for n in range(16):  # 2 seconds at 8 frames a second (exact in binary)
        recorder.offer(n, to_rgb=to_rgb)
        clock.now += 0.125
    assert converted == [0, 4, 8, 12]
    assert [f.shape for f in recorder.drain()] == [(10, 10, 3)] * 4
    with pytest.raises(ValueError, match="between 0 and 30 frames a second; got 0"):
        FrameRecorder(rate=0)


def test_each_camera_state_gets_its_plain_sentence():
    from studio.camera import CameraPath
    from studio.camera_stream import (WHY_DENIED, WHY_INSECURE, WHY_NO_CAMERA, WHY_NO_CAMERA_API, WHY_NO_WEBRTC,
                                      CameraStatus)

    camera = {"id": "", "label": ""}  # before the browser allows cameras, they have no id or name
    seen = {"secure": True, "api": True, "webrtc": True, "touch": False, "permission": "prompt",
            "origin": "http://localhost:8501", "cameras": [camera]}
    assert CameraStatus.from_probe(None).problem is None  # not known yet: nothing to say
    assert CameraStatus.from_probe(seen).problem is None
    assert CameraStatus.from_probe(seen).named_cameras == ()
    assert CameraStatus.from_probe({**seen, "cameras": []}).problem == WHY_NO_CAMERA
    assert CameraStatus.from_probe({**seen, "permission": "denied"}).problem == WHY_DENIED
    assert CameraStatus.from_probe({**seen, "api": False}).problem == WHY_NO_CAMERA_API
    assert CameraStatus.from_probe({**seen, "webrtc": False}).problem == WHY_NO_WEBRTC
    insecure = CameraStatus.from_probe({**seen, "secure": False, "api": False, "origin": "http://192.168.1.20:8501"})
    assert insecure.problem == WHY_INSECURE.format(origin="http://192.168.1.20:8501")
    assert CameraPath(insecure, live=False, why=insecure.problem).sentence == (
        "Photos instead of live video. Live video needs a secure address (the classroom's https:// link), "
        "and this page is http://192.168.1.20:8501.")
    assert CameraPath(CameraStatus.from_probe(seen), live=True).sentence == (
        "Live video from this device's camera (this browser allows it here).")
    allowed = CameraStatus.from_probe({**seen, "permission": "granted", "cameras": [
        {"id": "a1", "label": "Integrated Camera"}, {"id": "b2", "label": "Back Camera"}]})
    assert [c.label for c in allowed.named_cameras] == ["Integrated Camera", "Back Camera"]
    assert [c.looks_back_facing for c in allowed.named_cameras] == [False, True]
    assert CameraStatus.from_probe({**seen, "touch": True}).touch and not allowed.touch


def test_a_phone_asks_for_its_back_camera_and_a_computer_for_the_camera_it_chose():
    from studio.camera_stream import CameraChoice, media_constraints

    assert media_constraints(CameraChoice(facing="environment"))["video"]["facingMode"] == {"ideal": "environment"}
    assert media_constraints(CameraChoice(facing="user"))["video"]["facingMode"] == {"ideal": "user"}
    chosen = media_constraints(CameraChoice(device="b2"))
    assert chosen["video"]["deviceId"] == {"exact": "b2"} and "facingMode" not in chosen["video"]
    assert "facingMode" not in media_constraints(CameraChoice())["video"] and not media_constraints(CameraChoice())["audio"]


def test_a_photo_from_the_browser_is_its_bytes_or_none():
    import base64

    from studio.photos import MAX_PHOTO_BYTES, Photo, photo_from

    jpeg = b"\xff\xd8\xff\xe0 a photo"
    sent = {"id": "x1", "name": "IMG_0001.jpg", "data": base64.b64encode(jpeg).decode(), "target": "bees"}
    assert photo_from(sent) == Photo("IMG_0001.jpg", jpeg, "bees")
    assert photo_from({**sent, "name": "../../etc/passwd"}).name == "passwd"  # a name, never a path
    assert photo_from({**sent, "name": "C:\\Users\\ana\\cat.png"}).name == "cat.png"
    assert photo_from({**sent, "name": ""}).name == "photo.jpg"
    assert photo_from({**sent, "data": "not base64!"}).data is None  # reported as a file that never arrived
    assert photo_from({**sent, "data": None, "tooBig": 40_000_000}).data is None
    assert photo_from({**sent, "data": "A" * (MAX_PHOTO_BYTES * 4 // 3 + 8)}).data is None


def test_a_probability_is_never_shown_as_the_line_it_is_below():
    from studio.camera import below_line

    assert below_line(0.4996, 0.5) == "49.9%"  # not "50%" next to "below your 50% line"
    assert below_line(0.43, 0.5) == "43%"
    assert below_line(0.8499, 0.85) == "84.9%"
