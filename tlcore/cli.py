"""The `tlcore` command line: backbones, train, predict, fetch-weights, export, import-tm.

Every error is one clear line on stderr and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import warnings
from pathlib import Path

EXIT_ERROR = 2


class CliError(Exception):
    """An error whose message is meant for the user as it is."""


def _print_err(text: str = "", end: str = "\n") -> None:
    sys.stderr.write(text + end)
    sys.stderr.flush()


# -- backbones ------------------------------------------------------------------------------
def cmd_backbones(args) -> int:
    from .backbones import BACKBONES, imagenet_weights_cached, library_weights_file

    if args.name:
        return _show_blocks(args.name, args.freeze_depth)
    if args.json:
        rows = []
        for spec in BACKBONES.values():
            rows.append({
                "name": spec.name, "title": spec.title, "input_size": spec.input_size,
                "params": spec.params, "size_mb": round(spec.size_mb, 1), "feature_size": spec.feature_size,
                "preprocessing": spec.preprocessing, "pictures_per_second": spec.pictures_per_second,
                "imagenet_cached": imagenet_weights_cached(spec),
                "library_file": str(library_weights_file(spec) or "") or None,
                "summary": spec.card.summary, "strength": spec.card.strength, "cost": spec.card.cost,
            })
        print(json.dumps(rows, indent=2))
        return 0
    for spec in BACKBONES.values():
        cached = "ImageNet weights on this computer" if imagenet_weights_cached(spec) else "ImageNet weights not downloaded yet"
        print(f"{spec.name}  —  {spec.title} ({spec.card.year})")
        print(f"    {spec.card.summary}")
        print(f"    Strength: {spec.card.strength}")
        print(f"    Cost: {spec.card.cost}")
        print(f"    Input {spec.input_size}×{spec.input_size}, {spec.params / 1e6:.1f} M parameters, "
              f"{spec.feature_size} features; {cached}.")
        print()
    return 0


def _show_blocks(name: str, depth: int) -> int:
    """Every block of one backbone, frozen or learning at ``depth`` (structure only, no download)."""
    from .backbones import get_backbone
    from .model import build_classifier

    spec = get_backbone(name)
    structure = build_classifier(spec.name, ["class 1", "class 2"], None, weights="none", seed=None)
    depth = structure.check_freeze_depth(depth)
    print(f"{spec.title}: {structure.num_blocks} blocks; the top {depth} learn (--freeze-depth {depth}).")
    for line in structure.summary_lines(depth):
        print("  " + line)
    learning = structure.trainable_params(depth, from_scratch=False)
    print(f"Parameters that learn with pretrained weights: {learning:,} "
          f"(BatchNorm layers stay frozen; the head is shown for 2 classes).")
    return 0


# -- train ----------------------------------------------------------------------------------
def _terminal_progress():
    from .training import ProgressCallback

    class TerminalProgress(ProgressCallback):
        """A one-line progress bar on a terminal; a line per epoch otherwise."""

        tty = sys.stderr.isatty()

        def _bar(self, fraction: float, width: int = 24) -> str:
            filled = int(round(fraction * width))
            return "[" + "#" * filled + "-" * (width - filled) + "]"

        def on_predict_batch_end(self, batch, logs=None):
            super().on_predict_batch_end(batch, logs)
            if self.tty and self.extract_total:
                _print_err(f"\rLooking at each picture once {self._bar(self.extracted / self.extract_total)} "
                           f"{self.extracted}/{self.extract_total}", end="")
                if self.extracted >= self.extract_total:
                    _print_err()

        def on_train_batch_end(self, batch, logs=None):
            super().on_train_batch_end(batch, logs)
            if self.tty and self.batches_per_epoch:
                _print_err(f"\rEpoch {self.epoch + 1}/{self.total_epochs} "
                           f"{self._bar(self.batch / self.batches_per_epoch)} loss {float((logs or {}).get('loss', 0)):.3f}", end="")

        def on_epoch_end(self, epoch, logs=None):
            super().on_epoch_end(epoch, logs)
            logs = logs or {}
            prefix = "\r" if self.tty else ""
            _print_err(f"{prefix}Epoch {self.epoch}/{self.total_epochs} ({self.phase.replace('_', '-')}): "
                       f"loss {logs.get('loss', float('nan')):.3f}  accuracy {logs.get('accuracy', float('nan')):.3f}  "
                       f"val_loss {logs.get('val_loss', float('nan')):.3f}  val_accuracy {logs.get('val_accuracy', float('nan')):.3f}"
                       + " " * 10)

    return TerminalProgress()


def cmd_train(args) -> int:
    from .backbones import get_backbone
    from .backbones.factory import check_input_size
    from .data import ImageDataset
    from .paths import workspace_root
    from .runs import new_run_dir, save_run
    from .training import Trainer

    spec = get_backbone(args.backbone)
    input_size = check_input_size(spec, args.input_size)
    data = Path(args.data)
    if not data.exists():
        raise CliError(f"{data} does not exist: give a folder with one sub-folder per class, or a .zip of one.")
    out = Path(args.out) if args.out else new_run_dir(workspace_root(), spec.name)
    if out.exists() and any(out.iterdir()):
        raise CliError(f"{out} already exists and is not empty; choose another --out folder.")
    augment = [a for a in (args.augment or "").split(",") if a] if args.augment not in (None, "all") else (args.augment == "all")
    progress = _terminal_progress()
    trainer = Trainer(
        backbone=spec.name, weights=args.weights, input_size=input_size,
        freeze_depth=args.freeze_depth, epochs=args.epochs, fine_tune_epochs=args.fine_tune_epochs,
        batch_size=args.batch_size, learning_rate=args.learning_rate,
        fine_tune_learning_rate=args.fine_tune_learning_rate, augment=augment,
        validation_fraction=args.validation_fraction, early_stopping=args.early_stopping,
        seed=args.seed, fast_path=not args.no_fast_path, callbacks=[progress],
    )
    trainer.check_settings()
    with tempfile.TemporaryDirectory(prefix="tlcore-") as work:
        dataset = ImageDataset.load(data, work_dir=work, image_size=input_size)
        _print_err(f"Loaded {len(dataset)} pictures in {len(dataset.class_names)} classes "
                   f"({', '.join(f'{k}: {v}' for k, v in dataset.counts.items())}).")
        for line in dataset.report.problems():
            _print_err(f"  note: {line}")
        try:
            trainer.fit(dataset)
        except KeyboardInterrupt:
            trainer.request_stop()
        run = save_run(trainer, dataset, out, dataset_name=data.name)
    result = {
        "run_dir": str(run.path),
        "backbone": spec.name,
        "weights": run.metadata["weights_source"],
        "classes": trainer.class_names_,
        "val_accuracy": round(trainer.val_accuracy_, 4),
        "best_epoch": trainer.best_epoch_,
        "train_seconds": round(trainer.train_seconds_, 2),
        "fast_path": trainer.fast_path_used_,
        "epochs_run": len(trainer.history_["loss"]),
        "pictures": len(dataset),
        "skipped": len(dataset.report.skipped),
        "history": {k: [round(v, 4) for v in vals] for k, vals in trainer.history_.items()},
    }
    if args.json:
        print(json.dumps(result))
    else:
        print(f"Validation accuracy {result['val_accuracy']:.1%} (best epoch {result['best_epoch']}), "
              f"trained in {result['train_seconds']:.1f} s{' with the fast path' if result['fast_path'] else ''}.")
        print(f"Saved the run in {run.path}")
    return 0


# -- predict --------------------------------------------------------------------------------
def cmd_predict(args) -> int:
    run = _load_run(args.run_dir)
    missing = [p for p in args.images if not Path(p).is_file()]
    if missing:
        raise CliError(f"Picture not found: {missing[0]}")
    predictions = run.predict(args.images)
    if args.json:
        print(json.dumps([p.to_dict() for p in predictions]))
    else:
        for p in predictions:
            if p.error:
                print(f"{p.image}: {p.error}")
                continue
            ranked = ", ".join(f"{label} {prob:.1%}" for label, prob in p.ranked(args.top))
            print(f"{p.image}: {p.top}  ({ranked})")
    return 1 if any(p.error for p in predictions) else 0


def _load_run(path):
    from .runs import load_run

    try:
        return load_run(path)
    except FileNotFoundError as error:
        raise CliError(str(error)) from None


# -- fetch-weights --------------------------------------------------------------------------
def cmd_fetch_weights(args) -> int:
    from .backbones import BACKBONES, add_to_library, get_backbone
    from .backbones.factory import create_backbone
    from .backbones.weights import keras_models_dir

    names = args.names or list(BACKBONES)
    if args.file:
        if len(names) != 1:
            raise CliError("--file adds one weights file: name exactly one backbone.")
        target = add_to_library(get_backbone(names[0]), args.file)
        print(f"Kept {args.file} for {names[0]} in {target}")
        return 0
    for name in names:
        spec = get_backbone(name)
        _print_err(f"Fetching ImageNet weights for {spec.title}…")
        create_backbone(spec, None, "imagenet")
        print(f"{name}: ready in {keras_models_dir()}")
    return 0


# -- export / import ------------------------------------------------------------------------
def cmd_export(args) -> int:
    from .export import export_run
    from .export.tflite import export_tflite

    run = _load_run(args.run_dir)
    if args.format.startswith("tflite"):
        report = export_tflite(run, args.out, quantize=args.format == "tflite-quantized")
        print(f"Exported {args.format} to {report['path']} ({report['size_bytes'] / 1e6:.1f} MB).")
        if report["agreement"] is not None:
            print(f"Same top class as the Keras model on {report['agreement']:.1%} of {report['pictures']} "
                  f"validation pictures (largest probability difference {report['max_abs_difference']:.2g}).")
        return 0
    path = export_run(run, args.format, args.out)
    print(f"Exported {args.format} to {path}")
    return 0


def cmd_import_tm(args) -> int:
    from .importers.teachable_machine import import_teachable_machine

    for path in (args.model, args.labels):
        if not Path(path).is_file():
            raise CliError(f"File not found: {path}")
    run = import_teachable_machine(args.model, args.labels, args.out)
    print(f"Imported the Teachable Machine model ({', '.join(run.class_names)}) into {run.path}")
    return 0


# -- main -----------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    from .backbones.registry import DEFAULT_BACKBONE

    parser = argparse.ArgumentParser(prog="tlcore", description="Transfer learning on your own pictures.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("backbones", help="list the pretrained networks, with plain-language cards")
    p.add_argument("name", nargs="?", help="show this backbone's blocks, frozen or learning")
    p.add_argument("--freeze-depth", type=int, default=0, help="with a name: how many top blocks learn")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_backbones)

    p = sub.add_parser("train", help="train a classifier on a folder (or .zip) with one sub-folder per class")
    p.add_argument("data", help="a folder with one sub-folder per class, or a .zip of one")
    p.add_argument("--backbone", default=DEFAULT_BACKBONE, help=f"registry name (default {DEFAULT_BACKBONE}); see `tlcore backbones`")
    p.add_argument("--weights", default="imagenet", help="imagenet (default), none (from scratch), or a weights FILE")
    p.add_argument("--input-size", type=int, default=None, help="picture size in pixels (default: the backbone's own)")
    p.add_argument("--freeze-depth", type=int, default=0, help="how many top blocks of the backbone learn (0: only the new head)")
    p.add_argument("--epochs", type=int, default=5, help="epochs training the new head (default 5)")
    p.add_argument("--fine-tune-epochs", type=int, default=None, help="epochs fine-tuning the top blocks (default: as many as --epochs when --freeze-depth > 0)")
    p.add_argument("--batch-size", default="auto", help="pictures per learning step: auto (32, smaller for small sets) or a number")
    p.add_argument("--learning-rate", type=float, default=1e-3)
    p.add_argument("--fine-tune-learning-rate", type=float, default=None, help="default: a tenth of --learning-rate")
    p.add_argument("--augment", nargs="?", const="all", default=None, help="augment pictures while training: all, or a list like flip,zoom")
    p.add_argument("--validation-fraction", type=float, default=0.2)
    p.add_argument("--early-stopping", action="store_true")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-fast-path", action="store_true", help="always run the whole network (slower; for comparison)")
    p.add_argument("--out", default=None, help="run folder to create (default: a new folder in the workspace)")
    p.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("predict", help="predict pictures with a saved run")
    p.add_argument("run_dir")
    p.add_argument("images", nargs="+")
    p.add_argument("--top", type=int, default=3)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_predict)

    p = sub.add_parser("fetch-weights", help="download ImageNet weights into the Keras cache before an offline lesson")
    p.add_argument("names", nargs="*", help="backbones (default: all)")
    p.add_argument("--file", default=None, help="instead of downloading, keep this weights file for the one backbone named")
    p.set_defaults(func=cmd_fetch_weights)

    p = sub.add_parser("export", help="export a run: keras (zip with predict.py), tflite, savedmodel")
    p.add_argument("run_dir")
    p.add_argument("--format", choices=["keras", "tflite", "tflite-quantized", "savedmodel"], default="keras")
    p.add_argument("--out", required=True)
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("import-tm", help="import a Google Teachable Machine export (keras_model.h5 + labels.txt)")
    p.add_argument("model")
    p.add_argument("labels")
    p.add_argument("--out", required=True)
    p.set_defaults(func=cmd_import_tm)
    return parser


def main(argv=None) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    warnings.filterwarnings("ignore")
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        _print_err("tlcore: stopped.")
        return 130
    except (CliError, ValueError, FileNotFoundError, FileExistsError, RuntimeError, OSError) as error:
        _print_err(f"tlcore: error: {error}")
        return EXIT_ERROR
    except Exception as error:  # last resort: still one line
        _print_err(f"tlcore: unexpected error ({type(error).__name__}): {error}")
        return 1


if __name__ == "__main__":
    sys.exit(main())
