"""How long a training should take, and how long trainings took on this computer, kept so that
the next estimate learns from it: the one place estimates of time are worked out, for the
experiments (``ExperimentPlan.planned_trainings``) and the training queue alike (``estimate_seconds``).

An estimate starts from a first guess worked out from the network's speed figure
(``first_guess``). This file keeps, for each *kind* of training
("mobilenet_v2_035/head", "mobilenet_v2/whole", "vgg16/head+top"), how many times longer
than its guess the last trainings of that kind took here; the next estimate of that kind is
its guess times the median of those ratios. One small JSON file in the cache
($TLCORE_CACHE_DIR), like the cached features: a measure of this computer, not of a user.
"""

from __future__ import annotations

import json
import logging
import statistics
import threading
from pathlib import Path

from .files import write_json
from .paths import cache_root

log = logging.getLogger(__name__)

TIMES_FILE = "training-times.json"
KEEP = 8  # ratios kept per kind: recent enough to follow a busier computer, enough for a median
RATIO_RANGE = (0.05, 20.0)  # a stall or a clock jump never makes an estimate absurd
_write_lock = threading.Lock()


class TrainingTimes:
    """Measured / guessed time ratios by kind of training, in ``folder`` (default: the cache)."""

    def __init__(self, folder=None):
        self.path = Path(folder if folder is not None else cache_root()) / TIMES_FILE

    def ratios(self) -> dict[str, list[float]]:
        """Kind -> its last ratios (oldest first); {} when nothing was measured or the file is damaged."""
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            return {str(kind): [float(r) for r in values][-KEEP:] for kind, values in data["ratios"].items()
                    if isinstance(values, list) and values}
        except (OSError, ValueError, TypeError, KeyError, AttributeError):
            return {}

    def factor(self, kind: str) -> float | None:
        return factor(self.ratios(), kind)

    def record(self, kind: str, guessed: float, measured: float) -> float | None:
        """Keep how ``measured`` seconds compare with the ``guessed`` ones; the ratio kept (None if
        nothing could be learned or kept: a disk that is full never stops a training)."""
        ratio = time_ratio(guessed, measured)
        if ratio is None:
            return None
        with _write_lock:
            ratios = self.ratios()
            ratios[kind] = (ratios.get(kind, []) + [round(ratio, 4)])[-KEEP:]
            try:
                write_json(self.path, {"format": 1, "ratios": ratios})
            except OSError as error:
                log.warning("Could not keep a training's time in %s: %s", self.path, error)
        return ratio


LEVELS = ("kind", "mode", "any")  # the same network trained the same way; any network trained that way; any training


def matching(ratios: dict[str, list[float]], kind: str, level: str) -> list[float]:
    """The ratios of ``kind`` ("network/mode"), of its mode ("…/head"), or of every kind."""
    if level == "kind":
        return list(ratios.get(kind) or [])
    mode = "/" + kind.rsplit("/", 1)[-1]
    return [r for name, found in ratios.items() if level == "any" or name.endswith(mode) for r in found]


def factor(ratios: dict[str, list[float]], kind: str, *more: dict[str, list[float]]) -> float | None:
    """The median ratio of the closest measures there are for ``kind`` (``LEVELS``), else None: a
    computer slower than the speed figures on one kind of training is slower on the others too.
    At each level ``ratios`` are asked first, then ``more`` (a run's own measures before this
    computer's earlier ones, say)."""
    for level in LEVELS:
        for source in (ratios, *more):
            values = matching(source, kind, level)
            if values:
                return statistics.median(values)
    return None


def time_ratio(guessed: float, measured: float) -> float | None:
    """How many times longer than ``guessed`` a training took, within RATIO_RANGE (None: nothing to learn)."""
    if guessed <= 0 or measured <= 0:
        return None
    return min(max(measured / guessed, RATIO_RANGE[0]), RATIO_RANGE[1])


def first_guess(settings, pictures: int, per_class: int | None = None) -> tuple[str, float, tuple | None, float]:
    """(kind, seconds a training, what its cached features are keyed by, seconds to compute them) of a
    training with ``settings`` (a TrainingSettings) on ``pictures`` (``per_class`` of each class
    learn, if given), from its network's speed figure scaled to the picture size.

    Measured here (2 cores, 90 pictures): a head on cached features takes about 3.5 s a
    training (building the network, fitting the head, keeping a run); when the whole network learns,
    building and tracing its training step takes about 25 s (5 s for the small CNN),
    and an epoch costs about 18 inference passes over the pictures (2 for the small CNN,
    whose speed figure is for its own small size)."""
    spec = settings.spec
    scale = (settings.resolved_input_size / spec.input_size) ** 2
    every_picture = pictures * scale / max(spec.pictures_per_second, 1)
    trained = every_picture if per_class is None else min(
        every_picture, per_class * 10 * scale / max(spec.pictures_per_second, 1))
    if settings.from_scratch or (settings.augment and not settings.uses_augmented_views):
        setup, passes = (25.0, 18) if spec.pretrained else (5.0, 2)
        return f"{spec.name}/whole", setup + passes * trained * settings.total_epochs, None, 0.0
    key = (settings.backbone, settings.weights, settings.resolved_input_size, settings.augment)
    features = 2 + every_picture * (1 + (settings.augment_views if settings.augment else 0))
    if settings.uses_fine_tuning:  # top blocks learn on the outputs cached at their boundary
        return f"{spec.name}/head+top", 11.5 + 3 * trained * settings.resolved_fine_tune_epochs, key, features
    return f"{spec.name}/head", 3.5, key, features


def estimate_seconds(settings, pictures: int, times: TrainingTimes | None = None) -> float:
    """How long one training with ``settings`` on ``pictures`` should take on this computer: its first
    guess times how much longer than guessed trainings of its kind took here (``times``, default:
    this computer's, in the cache)."""
    kind, seconds, _, features = first_guess(settings, pictures)
    return (seconds + features) * (factor((times or TrainingTimes()).ratios(), kind) or 1.0)
