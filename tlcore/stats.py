"""How sure a number is: mean, spread and a 95 % interval over repeated runs, the interval of
one accuracy measured on n pictures, and the splits that make repeats comparable.

With 78 validation pictures one mistake moves accuracy by 1.3 points, so one run's number
is noise a class will over-read. Repeats on different (seeded, stratified) splits, the same
splits for every configuration, give a mean with an interval instead.

No scipy: Student's t quantiles come from a small table (up to 30 degrees of freedom) and
a Cornish-Fisher expansion beyond (within 0.001 of the exact value there).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .settings import DEFAULT_VALIDATION_FRACTION

# Two-sided 95 % quantiles of Student's t (the 0.975 point) for 1..30 degrees of freedom.
T_975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
         2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
         2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042)
Z_975 = 1.959964
# Pictures per class for a learning curve ("how many pictures are enough"); "all" is added.
LEARNING_CURVE_STEPS = (2, 5, 10, 20, 50)


@dataclass(frozen=True)
class Summary:
    """``n`` values: their mean, sample standard deviation and 95 % t-interval of the mean.

    ``sd`` and ``ci95`` are None for a single value: one run says nothing about spread."""

    mean: float
    sd: float | None
    ci95: tuple[float, float] | None
    n: int

    def to_dict(self) -> dict:
        return {"mean": self.mean, "sd": self.sd, "ci95": list(self.ci95) if self.ci95 else None, "n": self.n}


def t_quantile_975(degrees_of_freedom: int) -> float:
    """The 0.975 quantile of Student's t: the factor of a two-sided 95 % interval."""
    df = int(degrees_of_freedom)
    if df < 1:
        raise ValueError(f"A t quantile needs at least 1 degree of freedom; got {df}.")
    if df <= len(T_975):
        return T_975[df - 1]
    z = Z_975
    return z + (z**3 + z) / (4 * df) + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * df**2)


def summary(values, clip: tuple[float, float] | None = None) -> Summary:
    """Mean, sd and 95 % interval of ``values``; the interval is clipped to ``clip`` if given
    (``(0, 1)`` for accuracies: no interval should promise more than 100 %)."""
    data = np.asarray(list(values), dtype="float64").reshape(-1)
    if data.size == 0:
        raise ValueError("A summary needs at least one value; run at least one repeat.")
    if not np.isfinite(data).all():
        raise ValueError("A summary needs finite numbers; one of the values is missing (NaN) or infinite.")
    mean, n = float(data.mean()), int(data.size)
    if n == 1:
        return Summary(mean, None, None, 1)
    sd = float(data.std(ddof=1))
    half = t_quantile_975(n - 1) * sd / math.sqrt(n)
    low, high = mean - half, mean + half
    if clip is not None:
        low, high = max(low, clip[0]), min(high, clip[1])
    return Summary(mean, sd, (float(low), float(high)), n)


def accuracy_summary(values) -> Summary:
    """``summary`` for accuracies (fractions): the interval stays within [0, 1]."""
    return summary(values, clip=(0.0, 1.0))


def wilson_interval(right: int, total: int, z: float = Z_975) -> tuple[float, float]:
    """The 95 % (Wilson score) interval of a share: ``right`` answers out of ``total`` pictures.

    Unlike "p ± 1.96 × standard error", it stays within [0, 1] and does not shrink to nothing at
    0 or 100 %: 6 right of 6 gives 61–100 %, 20 of 24 gives 64–93 %, 65 of 78 gives 74–90 %."""
    right, total = int(right), int(total)
    if total < 1 or not 0 <= right <= total:
        raise ValueError(f"An accuracy interval needs 0 ≤ right ≤ pictures and at least 1 picture; "
                         f"got {right} right of {total}.")
    share, z2 = right / total, z * z
    centre = (share + z2 / (2 * total)) / (1 + z2 / total)
    half = z * math.sqrt(share * (1 - share) / total + z2 / (4 * total * total)) / (1 + z2 / total)
    return max(0.0, centre - half), min(1.0, centre + half)


def accuracy_interval(accuracy: float | None, pictures: int) -> tuple[float, float] | None:
    """``wilson_interval`` of an accuracy measured on ``pictures`` (its right answers are counted
    back from the share); None when there is nothing to say (no accuracy, no pictures)."""
    if accuracy is None or not pictures or not math.isfinite(accuracy):
        return None
    return wilson_interval(round(float(accuracy) * int(pictures)), int(pictures))


def stratified_splits(dataset, repeats: int, fraction: float = DEFAULT_VALIDATION_FRACTION,
                      seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """``repeats`` (train indices, validation indices) pairs, each stratified by class.

    Repeat ``r`` is ``dataset.split(fraction, seed + r)``: the same for every configuration
    compared (so differences come from the configuration, not the luck of the split), and
    repeat 0 is the split a single training with ``seed`` uses."""
    repeats = int(repeats)
    if repeats < 1:
        raise ValueError(f"Repeats must be at least 1; got {repeats}.")
    return [dataset.split(fraction, seed + r) for r in range(repeats)]


def learning_curve_sizes(dataset, train_indices, steps=LEARNING_CURVE_STEPS) -> list[int | None]:
    """The pictures-per-class counts worth training with: each of ``steps`` that every class's
    training part can give, then None ("all of them")."""
    labels = np.asarray(dataset.labels)[np.asarray(train_indices, dtype=np.int64)]
    fewest = int(np.bincount(labels, minlength=len(dataset.class_names)).min())
    return [int(step) for step in steps if int(step) < fewest] + [None]


def per_class_counts(dataset, train_indices, per_class: int | None, seed: int = 0) -> np.ndarray:
    """At most ``per_class`` training pictures of each class (None: all), drawn from
    ``train_indices`` only (the validation part stays untouched), sorted.

    Seeded and nested: for one seed, the 5 pictures drawn per class are among the 10 drawn
    per class, so a learning curve changes one thing at a time."""
    train = np.asarray(train_indices, dtype=np.int64)
    if per_class is not None and int(per_class) < 1:
        raise ValueError(f"Pictures per class must be at least 1 (or all); got {per_class}.")
    rng = np.random.default_rng(seed)
    labels = np.asarray(dataset.labels)[train]
    chosen = []
    for label in range(len(dataset.class_names)):
        members = rng.permutation(train[labels == label])
        chosen.append(members if per_class is None else members[: int(per_class)])
    return np.sort(np.concatenate(chosen)).astype(np.int64)
