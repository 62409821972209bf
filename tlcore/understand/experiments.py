"""One configuration trained once per split: a row of the comparison table.

Every configuration compared is trained on the same splits (``stats.stratified_splits``),
so the differences between rows come from the configurations, not from which pictures
happened to be kept aside. The feature cache makes repeats cheap: the frozen part's
outputs depend on the pictures, not on the split, so only the first repeat computes them.
"""

from __future__ import annotations

from .stats import ConfigurationResult


def repeat_training(settings, dataset, splits, cache_dir=None, name: str | None = None, callbacks=(),
                    on_repeat=None, measure_latency: bool = False) -> ConfigurationResult:
    """Train ``settings`` on each (train, validation) pair of ``splits``; the summary of all.

    ``on_repeat(done, total, trainer)`` is called after each repeat (progress; it may raise
    to stop). ``measure_latency``: also time one picture on this computer (builds the
    model once more)."""
    from ..training import Trainer

    splits = list(splits)
    if not splits:
        raise ValueError("Comparing needs at least one split; ask for 1 repeat or more.")
    accuracies, seconds, hits, parameters = [], [], 0, None
    for done, (train, val) in enumerate(splits, start=1):
        if len(val) == 0:
            raise ValueError("Every split needs validation pictures to measure accuracy on.")
        trainer = Trainer(settings, cache_dir=cache_dir, callbacks=callbacks).fit(dataset, train, val)
        accuracies.append(trainer.val_accuracy_)
        seconds.append(trainer.train_seconds_)
        hits += bool(trainer.feature_cache_hit_)
        parameters = int(trainer.model_.model.count_params())
        if on_repeat is not None:
            on_repeat(done, len(splits), trainer)
    latency = None
    if measure_latency:
        from ..speed import prediction_milliseconds

        latency = prediction_milliseconds(settings.backbone, settings.input_size)
    return ConfigurationResult.from_repeats(name or _name(settings), accuracies, seconds, hits > 0,
                                            parameters, latency)


def _name(settings) -> str:
    """A short row name: backbone, starting weights, and what learned."""
    weights = settings.weights if settings.weights in ("imagenet", "none") else "file"
    learning = "from scratch" if settings.from_scratch else (
        f"{settings.learning_blocks} blocks fine-tuned" if settings.uses_fine_tuning else "head only")
    return f"{settings.backbone} ({weights}, {learning})"
