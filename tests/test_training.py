"""Training behaviour: fast path equals plain path, stop keeps the best, the cache is keyed right."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from tlcore.settings import TrainingSettings
from tlcore.training import ProgressCallback, Trainer, TrainingCallback

SIZE = 96


@pytest.fixture(scope="module")
def flowers96(flowers):
    from tlcore.data import ImageDataset

    return ImageDataset.from_folder(flowers, image_size=SIZE)


@pytest.fixture(scope="module")
def small_flowers(flowers96):
    """3 classes × 40 real photos: enough to learn something, quick to train."""
    keep = np.concatenate([np.flatnonzero(flowers96.labels == c)[:40] for c in (0, 1, 2)])
    subset = flowers96.subset(keep)
    subset.class_names = subset.class_names[:3]
    return subset


def trainer(weights, tmp_path, callbacks=(), **changes) -> Trainer:
    settings = TrainingSettings(backbone="mobilenet_v2_035", weights=str(weights), input_size=SIZE, epochs=2,
                                dropout=0.0, batch_size=16).replace(**changes)
    return Trainer(settings, cache_dir=tmp_path / "cache", callbacks=callbacks)


@pytest.mark.parametrize("depth", [0, 2])
def test_fast_path_gives_the_same_model_as_the_plain_path(small_flowers, shared_weights, tmp_path, depth):
    fast = trainer(shared_weights, tmp_path, learning_blocks=depth, fine_tune_epochs=2 if depth else 0).fit(small_flowers)
    plain = trainer(shared_weights, tmp_path, learning_blocks=depth, fine_tune_epochs=2 if depth else 0,
                    fast_path=False).fit(small_flowers)
    assert fast.fast_path_used_ and not plain.fast_path_used_
    assert len(fast.history_["loss"]) == (4 if depth else 2)
    np.testing.assert_allclose(fast.history_["loss"], plain.history_["loss"], rtol=1e-3)
    # Same seed, same batches: the two end-to-end models agree (float32 summation order differs).
    np.testing.assert_allclose(fast.val_probabilities_, plain.val_probabilities_, atol=1e-4)
    if depth:
        assert fast.fine_tune_start_epoch_ == 2
        # fine-tuning really changed the backbone's top block, and only the top blocks
        from tlcore.backbones.factory import create_backbone

        start = create_backbone("mobilenet_v2_035", SIZE, shared_weights)
        changed = {layer.name for layer in fast.model_.backbone.layers if layer.weights and any(
            not np.array_equal(a.numpy(), b.numpy())
            for a, b in zip(layer.weights, start.get_layer(layer.name).weights))}
        top_two = {l.name for b in fast.model_.blocks[-2:] for l in b.layers}
        assert changed and changed <= top_two


def test_fast_path_result_is_one_end_to_end_model(small_flowers, shared_weights, tmp_path):
    from tlcore.data.imagefile import load_picture
    from tlcore.runs import load_run, save_run

    fitted = trainer(shared_weights, tmp_path, epochs=3).fit(small_flowers)
    run = save_run(fitted, small_flowers, tmp_path / "run")
    reloaded = load_run(tmp_path / "run")
    files = [small_flowers.paths[i] for i in fitted.val_indices_[:5]]
    predictions = reloaded.predict(files)
    for prediction, expected in zip(predictions, fitted.val_probabilities_[:5]):
        np.testing.assert_allclose(list(prediction.probabilities.values()), expected, atol=1e-5)
    assert run.record.fast_path and reloaded.record.val_accuracy == fitted.val_accuracy_
    assert reloaded.record == run.record  # run.json holds the whole record
    assert load_picture(files[0], SIZE).shape == (SIZE, SIZE, 3)


class StopAt(ProgressCallback):
    def __init__(self, trainer_ref, epoch, batch):
        super().__init__()
        self.trainer_ref, self.stop_epoch, self.stop_batch = trainer_ref, epoch, batch
        self.current_epoch = None
        self.epoch_ends = 0

    def on_epoch_begin(self, epoch, logs=None):
        super().on_epoch_begin(epoch, logs)
        self.current_epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        self.epoch_ends += 1

    def on_train_batch_end(self, batch, logs=None):
        super().on_train_batch_end(batch, logs)
        if self.current_epoch == self.stop_epoch and batch == self.stop_batch:
            self.trainer_ref[0].request_stop()


def test_stop_mid_epoch_ends_at_the_next_batch_and_keeps_the_best(small_flowers, shared_weights, tmp_path):
    ref = []
    stopper = StopAt(ref, epoch=2, batch=1)
    t = trainer(shared_weights, tmp_path, epochs=10, callbacks=[stopper])
    ref.append(t)
    t.fit(small_flowers)
    assert t.stopped_
    # Keras ends the stopped epoch (with validation): it is not counted as an epoch.
    assert stopper.epoch_ends == 3 and len(t.history_["loss"]) == 2
    assert stopper.step == 3 and stopper.snapshot(epochs_done=2)["phase"] == "stopped"  # one more step
    best = max(t.history_["val_accuracy"])
    assert t.val_accuracy_ == pytest.approx(best, abs=1e-6)  # the kept model is the best whole epoch's
    ranked = sorted(range(2), key=lambda i: (-t.history_["val_accuracy"][i], t.history_["val_loss"][i]))
    assert t.best_epoch_ == ranked[0] + 1  # ties go to the lower validation loss


def test_stop_while_looking_at_pictures_learns_nothing_and_says_so(small_flowers, shared_weights, tmp_path):
    ref = []

    class StopDuringExtraction(TrainingCallback):
        def on_extract_progress(self, done, total):
            ref[0].request_stop()

    t = trainer(shared_weights, tmp_path, callbacks=[StopDuringExtraction()])
    ref.append(t)
    t.fit(small_flowers)
    assert t.stopped_ and t.history_["loss"] == [] and t.val_probabilities_.shape[0] == len(t.val_indices_)


def test_crash_mid_training_keeps_what_was_learned(small_flowers, shared_weights, tmp_path):
    from tlcore.jobs import TrainingJob

    class Crash(ProgressCallback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:
                raise RuntimeError("disk full")

    settings = TrainingSettings(backbone="mobilenet_v2_035", weights=str(shared_weights), input_size=SIZE, epochs=5)
    job = TrainingJob(settings, small_flowers, workspace=tmp_path / "ws", cache_dir=tmp_path / "cache")
    job.trainer.callbacks = [*job.trainer.callbacks, Crash()]
    assert job.start().join(600)
    assert "disk full" in job.error and "Traceback" not in job.error
    assert "Traceback" in job.details and "RuntimeError: disk full" in job.details  # for "what happened?"
    assert job.run is not None and job.run.record.failed == "disk full"
    assert job.run.record.epochs_run == 2  # epochs finished before the crash
    assert job.run.predict([small_flowers.paths[0]])[0].top in small_flowers.class_names


def test_progress_counts_up_to_the_total(small_flowers, shared_weights, tmp_path):
    events, phases = [], []

    class Watch(ProgressCallback):
        def on_phase_begin(self, phase, info):
            super().on_phase_begin(phase, info)
            phases.append((phase, info.pictures, info.total_epochs))

        def on_extract_progress(self, done, total):
            super().on_extract_progress(done, total)
            events.append((done, total))

    progress = Watch()
    fitted = trainer(shared_weights, tmp_path, callbacks=[progress]).fit(small_flowers)
    done = [d for d, _ in events]
    assert done == sorted(done) and done[-1] == events[-1][1] == len(small_flowers)
    # The number of pictures is known as soon as extraction begins (no "0 of 0 pictures").
    assert [p for p, _, _ in phases] == ["building", "extracting", "head", "done"]
    assert phases[1][1] == len(small_flowers) and all(total == 2 for _, _, total in phases)
    snapshot = progress.snapshot(epochs_done=len(fitted.history_["loss"]))
    assert snapshot["epoch"] == snapshot["total_epochs"] == 2 and snapshot["phase"] == "done" and snapshot["final"]


def test_feature_cache_is_reused_and_invalidated_by_what_changes_features(small_flowers, shared_weights, tmp_path):
    def hit(**settings):
        t = trainer(settings.pop("weights", shared_weights), tmp_path, epochs=1, **settings)
        t.fit(settings.pop("data", None) or small_flowers)
        return t.feature_cache_hit_

    assert hit() is False
    assert hit() is True  # same pictures, backbone, weights, size, boundary
    assert hit(input_size=112) is False  # input size
    assert hit(learning_blocks=1, fine_tune_epochs=1) is False  # freeze boundary
    other_weights = tmp_path / "other.weights.h5"
    shutil.copyfile(shared_weights, other_weights)
    with open(other_weights, "ab") as handle:
        handle.write(b"\0")  # a different file (same weights, different bytes): a new key
    assert hit(weights=other_weights) is False
    t = trainer(shared_weights, tmp_path, epochs=1)
    t.fit(small_flowers.subset(np.arange(len(small_flowers) - 1)))
    assert t.feature_cache_hit_ is False  # the pictures changed


def test_from_scratch_trains_the_whole_network_without_the_fast_path(demo_dataset_96, tmp_path):
    t = Trainer(TrainingSettings(backbone="mobilenet_v2_035", weights="none", input_size=SIZE, epochs=1),
                cache_dir=tmp_path).fit(demo_dataset_96)
    assert not t.fast_path_used_ and t.model_.from_scratch
    assert all(s.learning for s in t.model_.block_status())


def test_augmentation_anew_each_epoch_runs_the_whole_model(small_flowers, shared_weights, tmp_path):
    t = trainer(shared_weights, tmp_path, epochs=1, augment=["flip", "zoom"], augment_views=0).fit(small_flowers)
    assert not t.fast_path_used_
    assert [l.name for l in t.model_.augment_layers] == ["augment_flip", "augment_zoom"]


def test_augmentation_with_cached_views_keeps_the_fast_path(small_flowers, shared_weights, tmp_path):
    """The frozen network sees each picture and K changed copies once; a second run reuses them."""
    events = []

    class Watch(TrainingCallback):
        def on_phase_begin(self, phase, info):
            events.append((phase, info.pictures, info.copies))

    first = trainer(shared_weights, tmp_path, epochs=3, augment=["flip", "zoom"], augment_views=3,
                    callbacks=[Watch()]).fit(small_flowers)
    assert first.fast_path_used_ and first.augmented_views_ == 3 and not first.feature_cache_hit_
    n = len(small_flowers)
    assert [e for e in events if e[0] == "extracting"] == [("extracting", n, 0), ("extracting", 3 * n, 3)]
    assert len(list((tmp_path / "cache").glob("*.npy"))) == 4  # the pictures, then 3 views
    # The kept model is one end-to-end model: its answers equal the ones computed from features.
    from tlcore.training.trainer import predict_pictures

    end_to_end = predict_pictures(first.model_, small_flowers.pixels(SIZE)[first.val_indices_])
    np.testing.assert_allclose(end_to_end, first.val_probabilities_, atol=1e-5)
    again = trainer(shared_weights, tmp_path, epochs=3, augment=["flip", "zoom"], augment_views=3,
                    seed=5).fit(small_flowers)
    assert again.feature_cache_hit_ and again.timings_["extract_seconds"] < first.timings_["extract_seconds"]
    # With fine-tuning the pictures must change anew each epoch: the whole network runs.
    tuned = trainer(shared_weights, tmp_path, epochs=1, augment=["flip"], learning_blocks=1, fine_tune_epochs=1)
    assert not tuned.settings.uses_augmented_views


def test_a_missing_weights_file_is_refused_before_any_work(tmp_path):
    with pytest.raises(ValueError, match="Weights file .* was not found"):
        Trainer(TrainingSettings(weights=str(tmp_path / "missing.weights.h5"))).check()


def test_real_pretrained_features_beat_random_ones_on_real_flowers(flowers96, shared_weights, tmp_path):
    """The point of the product: ImageNet features learn 5 kinds of flowers from few photos
    (60 a kind here); the same frozen network with random weights gives features a new head
    learns next to nothing from. (From scratch, where every block learns: the test above.)"""
    from tlcore.backbones.factory import create_backbone

    random_file = tmp_path / "random.weights.h5"
    create_backbone("mobilenet_v2_035", SIZE, "none").save_weights(random_file)
    few = flowers96.subset(np.concatenate([np.flatnonzero(flowers96.labels == c)[:60]
                                           for c in range(len(flowers96.class_names))]))
    pretrained = trainer(shared_weights, tmp_path, epochs=5, dropout=0.2, batch_size="auto").fit(few)
    random = trainer(random_file, tmp_path, epochs=5, dropout=0.2, batch_size="auto").fit(few)
    assert pretrained.fast_path_used_ and random.fast_path_used_
    chance = 1 / len(flowers96.class_names)
    assert pretrained.val_accuracy_ > chance + 0.3, pretrained.val_accuracy_
    assert pretrained.val_accuracy_ > random.val_accuracy_ + 0.15, (pretrained.val_accuracy_, random.val_accuracy_)


def test_pictures_streamed_from_disk_give_the_same_features_and_model(flowers, shared_weights, tmp_path, monkeypatch):
    """Over the memory budget, pictures are decoded into a file and read from there."""
    from tlcore.data import ImageDataset

    folder = tmp_path / "two"
    for name in ("daisy", "tulip"):
        (folder / name).mkdir(parents=True)
        for path in sorted((flowers / name).glob("*.jpg"))[:15]:
            shutil.copy(path, folder / name / path.name)
    in_memory = ImageDataset.from_folder(folder, image_size=SIZE)
    monkeypatch.setenv("TLCORE_MEMORY_BUDGET_MB", "0")
    streamed = ImageDataset.from_folder(folder, image_size=SIZE)
    assert isinstance(streamed.pixels(), np.memmap) and not isinstance(in_memory.pixels(), np.memmap)
    assert isinstance(streamed.pixels(64), np.memmap)
    np.testing.assert_array_equal(streamed.pixels(), in_memory.pixels())

    a = trainer(shared_weights, tmp_path / "a").fit(in_memory)
    b = trainer(shared_weights, tmp_path / "b").fit(streamed)
    features_a = np.load(next((tmp_path / "a" / "cache").glob("*.npy")))
    features_b = np.load(next((tmp_path / "b" / "cache").glob("*.npy")))
    np.testing.assert_array_equal(features_a, features_b)
    np.testing.assert_allclose(a.val_probabilities_, b.val_probabilities_, atol=1e-6)


def test_auto_batch_size_gives_small_sets_enough_learning_steps(small_flowers, shared_weights, tmp_path):
    t = trainer(shared_weights, tmp_path, epochs=1, batch_size="auto").fit(small_flowers)
    assert t.batch_size_ == t.settings.batch_size_for(len(t.train_indices_)) == 12  # 96 training pictures
