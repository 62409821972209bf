"""Live camera frames: answers for the newest frame, and bursts of frames kept at a steady rate.

No Streamlit here and no video library: frames are RGB numpy arrays (H, W, 3) uint8, or
anything that ``to_rgb`` turns into one on the predictor's thread.

    predictor = LivePredictor(run)                  # the run's model, compiled for one frame
    predictor.predict(frame)                        # -> probabilities (C,), float32

    loop = LiveLoop(lambda: LivePredictor(run)).start()
    loop.submit(frame)                              # from the video thread: never blocks
    loop.latest                                     # -> LiveResult or None (newest answer)

    recorder = FrameRecorder(rate=5.0)
    recorder.start(); recorder.offer(frame); recorder.drain()   # -> [square uint8 arrays]

A frame goes through ``tlcore.data.imagefile.to_array`` (centre crop, Lanczos), the very
function that prepares training pictures and the exported ``predict.py``'s, so a live answer
equals ``Run.predict`` on the same frame saved as a PNG.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
from PIL import Image

from .data.imagefile import to_array
from .i18n import msg

DEFAULT_RECORD_RATE = 5.0  # frames a second while recording: 50 pictures in a 10-second hold
RECORD_RATES = (2.0, 3.0, 5.0, 8.0, 10.0)
MAX_RECORDED_SIDE = 448  # recorded squares larger than this are scaled down (2x the largest input)


def frame_to_pixels(frame, size: int) -> np.ndarray:
    """A camera frame as model input: uint8 (size, size, 3), prepared exactly like training pictures."""
    frame = _check_frame(frame)
    return to_array(Image.fromarray(frame), size)


def square_frame(frame, max_side: int = MAX_RECORDED_SIDE) -> np.ndarray:
    """The frame centre-cropped to a square (its short side, at most ``max_side``): a picture to keep."""
    frame = _check_frame(frame)
    side = min(frame.shape[0], frame.shape[1], int(max_side))
    return to_array(Image.fromarray(frame), side)


def _check_frame(frame) -> np.ndarray:
    frame = np.asarray(frame)
    if frame.ndim != 3 or frame.shape[-1] != 3 or frame.dtype != np.uint8:
        raise ValueError(f"A frame must be an RGB uint8 array (height, width, 3); got {frame.dtype} {frame.shape}.")
    if min(frame.shape[:2]) < 1:
        raise ValueError(f"A frame must have at least one pixel; got shape {frame.shape}.")
    return frame


# -- engines: one frame in, probabilities out -----------------------------------------------------
class FunctionEngine:
    """The Keras model in a ``tf.function`` traced once for one frame (1, S, S, 3) float32."""

    name = "tf_function"

    def __init__(self, keras_model, size: int, run=None):
        from ._tf import tf

        spec = tf.TensorSpec((1, size, size, 3), tf.float32)
        self._function = tf.function(lambda x: keras_model(x, training=False), input_signature=[spec])
        self._tf = tf

    def __call__(self, batch: np.ndarray):
        """The model's output for one frame (a list of arrays for a model with several outputs)."""
        outputs = self._function(self._tf.constant(batch))
        if isinstance(outputs, (list, tuple)):
            return [np.asarray(output)[0] for output in outputs]
        return np.asarray(outputs)[0]


_CONVERTED: "OrderedDict[tuple, bytes]" = OrderedDict()  # saved run → its TFLite model (a few kept)
_CONVERTED_LOCK = threading.Lock()
_CONVERTED_KEPT = 4


def _converted_key(run) -> tuple | None:
    """(folder, model file's mtime): a saved run converts once per process, not once per start."""
    from .runs import MODEL_FILE

    try:
        return (str(run.path), (run.path / MODEL_FILE).stat().st_mtime_ns) if run.path else None
    except OSError:
        return None


def tflite_content(keras_model, run=None) -> bytes:
    """The model as a float32 TFLite flatbuffer (conversion takes seconds; kept for saved runs)."""
    from ._tf import tf
    from .export.tflite import _quiet

    key = (_converted_key(run), len(keras_model.outputs)) if run is not None else None
    key = key if key is None or key[0] is not None else None
    with _CONVERTED_LOCK:
        if key in _CONVERTED:
            _CONVERTED.move_to_end(key)
            return _CONVERTED[key]
    converter = tf.lite.TFLiteConverter.from_keras_model(keras_model)
    with _quiet():
        content = converter.convert()
    if key is not None:
        with _CONVERTED_LOCK:
            _CONVERTED[key] = content
            while len(_CONVERTED) > _CONVERTED_KEPT:
                _CONVERTED.popitem(last=False)
    return content


class TFLiteEngine:
    """The Keras model converted to TensorFlow Lite (float32) and run by its own interpreter."""

    name = "tflite"

    def __init__(self, keras_model, size: int, run=None):
        from .export.tflite import _interpreter

        self._interpreter = _interpreter(tflite_content(keras_model, run))
        self._input = self._interpreter.get_input_details()[0]["index"]
        details = self._interpreter.get_output_details()
        # TFLite may list a model's outputs in another order: match them to Keras's by width.
        widths = [int(output.shape[-1]) for output in keras_model.outputs]
        by_width = {int(d["shape"][-1]): d["index"] for d in details}
        self._outputs = [by_width[w] for w in widths] if len(by_width) == len(widths) else [d["index"] for d in details]

    def __call__(self, batch: np.ndarray):
        self._interpreter.set_tensor(self._input, batch)
        self._interpreter.invoke()
        outputs = [np.array(self._interpreter.get_tensor(index)[0], dtype="float32") for index in self._outputs]
        return outputs if len(outputs) > 1 else outputs[0]


# Measured side by side in benchmarks/live.py: on 2 CPU cores TFLite answers 2-3x faster
# (MobileNetV2-0.35 at 224 px: 180 vs 61 a second) for a few seconds of conversion at start.
# Where TFLite cannot convert a model (or a later TensorFlow drops it), the tf.function serves.
ENGINES: dict[str, type] = {TFLiteEngine.name: TFLiteEngine, FunctionEngine.name: FunctionEngine}
DEFAULT_ENGINE = TFLiteEngine.name
FALLBACK_ENGINE = FunctionEngine.name


class LivePredictor:
    """Class probabilities for single camera frames, for one run (a ``tlcore.runs.Run``).

    ``engine``: one of ``ENGINES``; None → the default, or the fallback where the default cannot
    be used (``engine_name`` says which one runs). Not thread-safe: give it one thread
    (``LiveLoop`` does)."""

    def __init__(self, run, engine: str | None = None):
        if engine is not None and engine not in ENGINES:
            raise ValueError(f"Unknown engine {engine!r}; choose one of: {', '.join(ENGINES)}.")
        self.run = run
        self.class_names = list(run.class_names)
        self.input_size = int(run.input_size)
        self.engine_name = engine or DEFAULT_ENGINE
        # With the run's familiarity, one pass gives the head's input too: "none of my classes" live.
        self.familiarity = run.familiarity() if hasattr(run, "familiarity") else None
        model = run.keras_model
        if self.familiarity is not None:
            from .understand.scoring import head_input_model

            model = head_input_model(model)
        try:
            self._engine = ENGINES[self.engine_name](model, self.input_size, run)
        except Exception:
            if engine is not None:
                raise
            self.engine_name = FALLBACK_ENGINE
            self._engine = ENGINES[FALLBACK_ENGINE](model, self.input_size, run)

    def answer_pixels(self, pixels: np.ndarray) -> tuple[np.ndarray, bool | None, float | None]:
        """(probabilities (C,), familiar or None, familiarity or None) for one prepared picture
        (S, S, 3) uint8 at the run's input size."""
        pixels = np.asarray(pixels)
        expected = (self.input_size, self.input_size, 3)
        if pixels.shape != expected:
            raise ValueError(f"A prepared picture must have shape {expected}; got {pixels.shape}.")
        outputs = self._engine(pixels[None].astype("float32"))
        if self.familiarity is None:
            return outputs, None, None
        features, probabilities = outputs
        score = float(self.familiarity.score(features[None])[0])
        return probabilities, bool(self.familiarity.familiar(features[None])[0]), score

    def predict_pixels(self, pixels: np.ndarray) -> np.ndarray:
        """Probabilities (C,) for one prepared picture (S, S, 3) uint8 at the run's input size."""
        return self.answer_pixels(pixels)[0]

    def predict(self, frame) -> np.ndarray:
        """Probabilities (C,) for one RGB frame of any size (centre-cropped and resized first)."""
        return self.predict_pixels(frame_to_pixels(frame, self.input_size))


# -- the newest frame, and the thread that answers it -----------------------------------------------
class LatestFrameSlot:
    """Holds only the newest frame: ``put`` replaces an unanswered one (counted as dropped).

    Frames arrive faster than answers; keeping a queue would make the answers ever later."""

    def __init__(self):
        self._condition = threading.Condition()
        self._frame: Any = None
        self._frame_id = 0
        self._arrived = 0.0
        self._waiting = False
        self.received = 0
        self.dropped = 0

    def put(self, frame, arrived: float | None = None) -> int:
        """Offer a frame (never blocks); returns its id (1, 2, ...)."""
        with self._condition:
            if self._waiting:
                self.dropped += 1
            self.received += 1
            self._frame_id = self.received
            self._frame, self._arrived, self._waiting = frame, time.monotonic() if arrived is None else arrived, True
            self._condition.notify()
            return self._frame_id

    def take(self, timeout: float | None = None):
        """(frame id, frame, arrival time) of the newest unanswered frame, waiting up to ``timeout``; or None."""
        with self._condition:
            if not self._condition.wait_for(lambda: self._waiting, timeout):
                return None
            self._waiting = False
            frame, self._frame = self._frame, None
            return self._frame_id, frame, self._arrived


@dataclass(frozen=True, eq=False)
class LiveResult:
    """One answer: the probabilities for frame ``frame_id`` and when it arrived and was answered."""

    frame_id: int
    class_names: tuple[str, ...]
    probabilities: tuple[float, ...]
    frame: np.ndarray  # the RGB frame that was answered (for Freeze)
    arrived: float  # time.monotonic() seconds
    answered: float
    heatmap: np.ndarray | None = None  # Grad-CAM (S, S) in [0, 1], when one was made for this frame
    familiar: bool | None = None  # False: it looks like none of the classes (None: the run cannot tell)

    @property
    def latency(self) -> float:
        """Seconds from the frame's arrival to its answer."""
        return self.answered - self.arrived

    @property
    def top(self) -> str:
        return self.class_names[int(np.argmax(self.probabilities))]

    @property
    def top_probability(self) -> float:
        return float(max(self.probabilities))

    def ranked(self, k: int | None = None) -> list[tuple[str, float]]:
        pairs = sorted(zip(self.class_names, self.probabilities), key=lambda pair: -pair[1])
        return pairs[:k] if k else pairs


class LiveLoop:
    """One predictor thread answering the newest frame ("drop, never queue").

    ``make_predictor`` runs on that thread (loading and compiling a model takes seconds and
    must not hold up the page); ``to_rgb`` turns what ``submit`` was given into an RGB array,
    also on that thread, so the video thread only hands frames over. Every ``heatmap_every``
    seconds (None: never) one answer also gets a Grad-CAM map, in ``latest_explained``.
    With no frame for ``idle_timeout`` seconds the thread ends (``alive`` turns False): a page
    that was closed leaves no thread behind."""

    def __init__(self, make_predictor: Callable[[], LivePredictor], to_rgb: Callable | None = None,
                 heatmap_every: float | None = None, explain: Callable | None = None,
                 idle_timeout: float | None = 60.0):
        self.make_predictor = make_predictor
        self.to_rgb = to_rgb
        self.heatmap_every = heatmap_every
        self.explain = explain
        self.idle_timeout = idle_timeout
        self.slot = LatestFrameSlot()
        self.latest: LiveResult | None = None
        self.latest_explained: LiveResult | None = None
        self.predicted = 0
        self.ready = False
        self.error: str | None = None  # a plain sentence, when the model could not be used
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> "LiveLoop":
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="tlcore-live", daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def submit(self, frame, arrived: float | None = None) -> int:
        """Hand over a frame from the video thread; returns its id. Never blocks, never queues."""
        return self.slot.put(frame, arrived)

    def _run(self) -> None:
        try:
            predictor = self.make_predictor()
            size = predictor.input_size
            predictor.predict_pixels(np.zeros((size, size, 3), np.uint8))  # trace now, not on the first frame
        except Exception as error:  # a damaged or unsupported model: say so, do not crash the page
            self.error = msg("This model could not be used for live answers ({why}).",
                             why=_technical(error))
            return
        self.ready = True
        last_heatmap, last_frame = -float("inf"), time.monotonic()
        while not self._stop.is_set():
            item = self.slot.take(timeout=0.2)
            if item is None:
                if self.idle_timeout is not None and time.monotonic() - last_frame > self.idle_timeout:
                    return
                continue
            last_frame = time.monotonic()
            frame_id, frame, arrived = item
            try:
                frame = self.to_rgb(frame) if self.to_rgb is not None else frame
                pixels = frame_to_pixels(frame, predictor.input_size)
                probabilities, familiar, _ = predictor.answer_pixels(pixels)
            except Exception as error:  # one bad frame must not end live mode
                self.error = msg("A frame could not be answered ({why}).", why=_technical(error))
                continue
            result = LiveResult(frame_id, tuple(predictor.class_names), tuple(float(p) for p in probabilities),
                                frame, arrived, time.monotonic(), familiar=familiar)
            self.latest, self.predicted, self.error = result, self.predicted + 1, None
            if self.heatmap_every is not None and time.monotonic() - last_heatmap >= self.heatmap_every:
                last_heatmap = time.monotonic()
                self._explain(predictor, pixels, result)

    def _explain(self, predictor: LivePredictor, pixels: np.ndarray, result: LiveResult) -> None:
        explain = self.explain
        if explain is None:
            from .explain import gradcam as explain
        try:
            heatmap = explain(predictor.run, pixels)
        except Exception:  # an explanation is a bonus: live answers go on without it
            return
        self.latest_explained = LiveResult(result.frame_id, result.class_names, result.probabilities,
                                           result.frame, result.arrived, result.answered, heatmap)


# -- recording bursts ---------------------------------------------------------------------------------
def _technical(error: Exception) -> str:
    """An error's type and text, for the technical end of a sentence."""
    return "{}: {}".format(type(error).__name__, error)


class FrameRecorder:
    """While recording, keeps frames at a steady ``rate`` (per second), centre-cropped square.

    ``offer`` runs on the video thread (cheap when the frame is not due); ``drain`` on the
    page's. Consecutive frames may be nearly the same: a burst is the point, nothing is
    dropped as a duplicate here (the dataset report still counts them)."""

    def __init__(self, rate: float = DEFAULT_RECORD_RATE, max_side: int = MAX_RECORDED_SIDE,
                 clock: Callable[[], float] = time.monotonic):
        rate = float(rate)
        if not 0 < rate <= 30:
            raise ValueError(msg("The recording rate must be between 0 and 30 frames a second; got {rate}.",
                                 rate=format(rate, "g")))
        self.rate = rate
        self.max_side = int(max_side)
        self.clock = clock
        self.label: str | None = None
        self.kept = 0  # frames kept since the last start
        self._lock = threading.Lock()
        self._buffer: list[np.ndarray] = []
        self._recording = False
        self._next_due = 0.0

    @property
    def recording(self) -> bool:
        return self._recording

    def start(self, label: str | None = None) -> None:
        """Start a burst (for class ``label``); the first frame offered is kept."""
        with self._lock:
            self.label, self.kept = label, 0
            self._recording, self._next_due = True, self.clock()

    def stop(self) -> None:
        """Stop keeping frames; what was kept stays until ``drain``."""
        with self._lock:
            self._recording = False

    def offer(self, frame, now: float | None = None, to_rgb: Callable | None = None) -> bool:
        """Keep ``frame`` if recording and it is due; ``to_rgb`` converts only the kept ones."""
        now = self.clock() if now is None else now
        with self._lock:
            if not self._recording or now < self._next_due:
                return False
            period = 1.0 / self.rate
            # Steady: the next one is due one period after this one was due, unless frames came
            # so sparsely that we are a whole period behind (then none are owed).
            self._next_due = self._next_due + period if now - self._next_due < period else now + period
        picture = square_frame(to_rgb(frame) if to_rgb is not None else frame, self.max_side)
        with self._lock:
            self._buffer.append(picture)
            self.kept += 1
        return True

    def drain(self) -> list[np.ndarray]:
        """The frames kept since the last drain, oldest first (and forget them)."""
        with self._lock:
            frames, self._buffer = self._buffer, []
        return frames
