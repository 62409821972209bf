"""Statistics for comparing configurations: known numbers, the same splits, learning-curve draws."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tlcore.stats import (
    T_975,
    Summary,
    accuracy_interval,
    accuracy_summary,
    learning_curve_sizes,
    per_class_counts,
    stratified_splits,
    summary,
    t_quantile_975,
    wilson_interval,
)


class Labelled:
    """The part of ImageDataset that splitting reads (labels, class_names, split)."""

    def __init__(self, counts):
        self.class_names = [f"c{i}" for i in range(len(counts))]
        self.labels = np.concatenate([np.full(n, i) for i, n in enumerate(counts)]).astype(np.int64)

    def split(self, fraction, seed):
        from tlcore.data.dataset import ImageDataset

        return ImageDataset.split(self, fraction, seed)


def test_summary_of_known_values():
    # mean 0.8, sample sd 0.1 (values 0.7, 0.8, 0.9): half-width t(2)·0.1/√3 = 4.303·0.057735
    result = summary([0.7, 0.8, 0.9])
    assert result.n == 3
    assert result.mean == pytest.approx(0.8)
    assert result.sd == pytest.approx(0.1)
    half = 4.303 * 0.1 / math.sqrt(3)
    assert result.ci95 == pytest.approx((0.8 - half, 0.8 + half))


def test_accuracy_interval_is_clipped_to_one():
    result = accuracy_summary([1.0, 0.9])
    # unclipped: 0.95 ± 12.706·0.0707/√2 = 0.95 ± 0.635
    assert result.ci95[1] == 1.0
    assert result.ci95[0] == pytest.approx(0.95 - 12.706 * math.sqrt(0.005) / math.sqrt(2))
    assert summary([1.0, 0.9]).ci95[1] > 1.0  # the plain summary is not clipped


def test_one_accuracys_interval_says_how_much_its_pictures_can_tell():
    """Wilson's 95 % interval (values as R's prop.test(correct=FALSE) and statsmodels give them):
    6 of 6 right could be luck, 65 of 78 says more; the interval never leaves [0, 1]."""
    assert wilson_interval(6, 6) == pytest.approx((0.6097, 1.0), abs=1e-4)
    assert wilson_interval(20, 24) == pytest.approx((0.6415, 0.9332), abs=1e-4)
    assert wilson_interval(65, 78) == pytest.approx((0.7354, 0.8999), abs=1e-4)
    assert wilson_interval(0, 5) == pytest.approx((0.0, 0.4345), abs=1e-4)
    assert wilson_interval(65, 78)[0] > wilson_interval(20, 24)[0] > wilson_interval(6, 6)[0]
    assert accuracy_interval(20 / 24, 24) == wilson_interval(20, 24)  # the right answers counted back
    assert accuracy_interval(None, 24) is None and accuracy_interval(0.9, 0) is None
    with pytest.raises(ValueError, match="at least 1 picture"):
        wilson_interval(3, 2)


def test_one_value_has_no_spread_and_bad_values_are_refused():
    assert summary([0.75]) == Summary(0.75, None, None, 1)
    assert summary([0.75]).to_dict() == {"mean": 0.75, "sd": None, "ci95": None, "n": 1}
    with pytest.raises(ValueError, match="at least one value"):
        summary([])
    with pytest.raises(ValueError, match="finite numbers"):
        summary([0.5, float("nan")])


def test_t_quantiles_table_and_beyond():
    assert t_quantile_975(1) == 12.706
    assert t_quantile_975(30) == 2.042
    assert len(T_975) == 30
    # Beyond the table: within 0.001 of the exact values (40: 2.0211, 60: 2.0003, 120: 1.9799).
    for df, exact in [(40, 2.0211), (60, 2.0003), (120, 1.9799), (100_000, 1.9600)]:
        assert t_quantile_975(df) == pytest.approx(exact, abs=1e-3)
    factors = [t_quantile_975(d) for d in range(1, 201)]
    assert all(a > b for a, b in zip(factors, factors[1:]))  # no jump up where the table ends
    with pytest.raises(ValueError):
        t_quantile_975(0)


def test_summary_interval_covers_the_true_mean_about_95_percent():
    rng = np.random.default_rng(0)
    covered = 0
    for _ in range(2000):
        low, high = summary(rng.normal(0.7, 0.05, size=5)).ci95
        covered += low <= 0.7 <= high
    assert 0.93 <= covered / 2000 <= 0.97


def test_stratified_splits_are_seeded_disjoint_and_the_same_each_time():
    data = Labelled([50, 30, 20])
    splits = stratified_splits(data, 5, 0.2, seed=3)
    assert len(splits) == 5
    again = stratified_splits(data, 5, 0.2, seed=3)
    for (train, val), (train2, val2) in zip(splits, again):
        assert np.array_equal(train, train2) and np.array_equal(val, val2)
        assert not set(train) & set(val)
        assert len(train) + len(val) == 100
        assert np.bincount(data.labels[val]).tolist() == [10, 6, 4]  # stratified
    assert not np.array_equal(splits[0][1], splits[1][1])  # each repeat a different split
    # Repeat 0 is the split a single training with this seed uses.
    assert np.array_equal(splits[0][1], data.split(0.2, 3)[1])
    with pytest.raises(ValueError, match="at least 1"):
        stratified_splits(data, 0)


def test_learning_curve_draws_from_training_part_only_and_nested():
    data = Labelled([40, 25, 12])
    train, val = data.split(0.2, 0)
    assert learning_curve_sizes(data, train) == [2, 5, None]  # the smallest class has 10 to train on
    previous = set()
    for per_class in (2, 5, None):
        chosen = per_class_counts(data, train, per_class, seed=1)
        assert set(chosen) <= set(train)
        assert not set(chosen) & set(val)
        counts = np.bincount(data.labels[chosen], minlength=3).tolist()
        assert counts == ([per_class] * 3 if per_class else np.bincount(data.labels[train]).tolist())
        assert previous <= set(chosen)  # the 2 per class are among the 5 per class
        previous = set(chosen)
    assert np.array_equal(per_class_counts(data, train, 5, seed=1), per_class_counts(data, train, 5, seed=1))
    assert not np.array_equal(per_class_counts(data, train, 5, seed=1), per_class_counts(data, train, 5, seed=2))
    with pytest.raises(ValueError, match="at least 1"):
        per_class_counts(data, train, 0)


def test_importing_understand_does_not_import_tensorflow():
    import subprocess
    import sys

    code = "import sys, tlcore.understand; print('tensorflow' in sys.modules or 'keras' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"
