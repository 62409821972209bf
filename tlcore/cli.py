"""The `tlcore` command line: backbones, train, predict, fetch-weights, serve-weights, classroom,
export, import-tm (and class-erase, class-report: tlcore/classroom/commands.py).

Every error is one clear line on stderr and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
import warnings
from pathlib import Path

from .classroom.commands import add_class_commands, save_class_choices

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
        return _show_blocks(args.name, args.learning_blocks)
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


def _show_blocks(name: str, learning_blocks: int) -> int:
    """Every block of one backbone, frozen or learning (structure only, no download)."""
    from .backbones import get_backbone
    from .model.plan import learning_plan

    spec = get_backbone(name)
    plan = learning_plan(spec.name, 2, learning_blocks)
    print(f"{spec.title}: {plan.num_blocks} blocks; the top {plan.learning_blocks} learn "
          f"(--learning-blocks {plan.learning_blocks}).")
    for status in plan.blocks:
        mark = "learning" if status.learning else "frozen  "
        print(f"  {mark}  {status.name:<20} {status.params:>12,} parameters")
    print(f"  learning  {'head (new)':<20} {plan.head_params:>12,} parameters")
    print(f"Parameters that learn with pretrained weights: {plan.learning_params:,} "
          f"(BatchNorm layers stay frozen; the head is shown for 2 classes).")
    return 0


# -- train ----------------------------------------------------------------------------------
def _terminal_progress():
    from .training import TrainingCallback

    class TerminalProgress(TrainingCallback):
        """A one-line progress bar on a terminal; a line per epoch otherwise."""

        tty = sys.stderr.isatty()

        def __init__(self):
            super().__init__()
            self.phase, self.total_epochs, self.steps, self.epoch = "waiting", 0, 0, 0

        @staticmethod
        def _bar(fraction: float, width: int = 24) -> str:
            filled = int(round(fraction * width))
            return "[" + "#" * filled + "-" * (width - filled) + "]"

        def on_phase_begin(self, phase, info):
            self.phase, self.total_epochs, self.steps = phase, info.total_epochs, info.steps_per_epoch

        def on_extract_progress(self, done, total):
            if self.tty and total:
                _print_err(f"\rLooking at each picture once {self._bar(done / total)} {done}/{total}",
                           end="\n" if done >= total else "")

        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch + 1

        def on_train_batch_end(self, batch, logs=None):
            if self.tty and self.steps:
                _print_err(f"\rEpoch {self.epoch}/{self.total_epochs} {self._bar((batch + 1) / self.steps)} "
                           f"loss {float((logs or {}).get('loss', 0)):.3f}", end="")

        def on_epoch_end(self, epoch, logs=None):
            logs = logs or {}
            value = lambda name: logs.get(name, float("nan"))  # noqa: E731
            _print_err(f"{chr(13) if self.tty else ''}Epoch {self.epoch}/{self.total_epochs} "
                       f"({self.phase.replace('_', '-')}): loss {value('loss'):.3f}  accuracy {value('accuracy'):.3f}  "
                       f"val_loss {value('val_loss'):.3f}  val_accuracy {value('val_accuracy'):.3f}" + " " * 10)

    return TerminalProgress()


def _settings_from(args):
    """The settings given on the command line; the rest take TrainingSettings' defaults."""
    from .settings import TrainingSettings

    given = {name: getattr(args, name) for name in SETTING_ARGUMENTS if getattr(args, name) is not None}
    return TrainingSettings(**given, fast_path=not args.no_fast_path)


def cmd_train(args) -> int:
    from .backbones.factory import check_input_size
    from .backbones.weights import known_weights_problem, resolve_weights
    from .paths import scratch_prefix, workspace_root
    from .runs import claim_given_folder, claim_run_folder, release

    settings = _settings_from(args)  # every setting checked before anything is read or built
    check_input_size(settings.spec, settings.input_size)
    data = Path(args.data)
    if not data.exists():
        raise CliError(f"{data} does not exist: give a folder with one sub-folder per class, or a .zip of one.")
    weights = resolve_weights(settings.weights)  # a missing weights file is said before TensorFlow loads
    if weights not in ("imagenet", "none") and (problem := known_weights_problem(weights, settings.spec)):
        raise CliError(problem)  # cut short, or for another network: before any picture is read
    _check_out_is_not_in(data, Path(args.out) if args.out else None, workspace_root())
    if args.out:
        out = claim_given_folder(args.out)
    else:
        out = claim_run_folder(workspace_root(), settings.backbone)
    try:
        with tempfile.TemporaryDirectory(prefix=scratch_prefix()) as work:
            run, trainer, dataset = _load_and_train(settings, data, work, out)
    except BaseException:
        release(out)
        raise
    _print_result(args, run, trainer, dataset)
    return 0


def _check_out_is_not_in(data: Path, out: Path | None, workspace: Path) -> None:
    """A run saved inside the pictures folder would be read as a class of pictures (now, and by every
    later training on that folder): refused before anything is made."""
    if not data.is_dir():
        return
    pictures = data.resolve()
    if out is not None and out.resolve().is_relative_to(pictures):
        raise CliError(f"--out {out} is inside the pictures folder {data}, where the run would be read as a class "
                       f"of pictures. Choose an --out folder outside {data}.")
    if out is None and workspace.resolve().is_relative_to(pictures):
        raise CliError(f"The workspace {workspace} is inside the pictures folder {data}, where runs would be read "
                       f"as classes of pictures. Give --out outside {data}, or set TLCORE_WORKSPACE to a folder "
                       "outside it.")


def _load_and_train(settings, data: Path, work: str, out: Path):
    """(run, trainer, dataset): the pictures are read (and a bad set refused) before TensorFlow loads."""
    from .data import ImageDataset
    from .runs import save_run

    dataset = ImageDataset.load(data, work_dir=work, image_size=settings.resolved_input_size)
    _print_err(f"Loaded {len(dataset)} pictures in {len(dataset.class_names)} classes "
               f"({', '.join(f'{k}: {v}' for k, v in dataset.counts.items())}).")
    for line in dataset.report.problems():
        _print_err(f"  note: {line}")
    from .training import Trainer  # TensorFlow loads here, once the settings and pictures are known to be good

    from .stopping import stopping_with

    trainer = Trainer(settings, callbacks=[_terminal_progress()])

    def stop() -> None:
        _print_err("\nStopping at the next step (press Ctrl+C again to end at once)…")
        trainer.request_stop()

    try:
        with stopping_with(stop):  # Ctrl+C, `kill` or a closed terminal
            trainer.fit(dataset)
    except KeyboardInterrupt:  # pressed twice: what was learned is still saved (fit recorded the stop)
        pass
    if trainer.stopped_:
        _print_err("Stopped: saving what was learned so far.")
    if not trainer.history_["loss"]:
        raise CliError("Training stopped before anything was learned; nothing was saved.")
    return save_run(trainer, dataset, out, dataset_name=data.name), trainer, dataset


def _print_result(args, run, trainer, dataset) -> None:
    record = run.record
    result = {
        "run_dir": str(run.path), "backbone": record.backbone, "weights": record.weights_source,
        "classes": list(record.classes), "val_accuracy": round(trainer.val_accuracy_, 4),
        "best_epoch": trainer.best_epoch_, "train_seconds": round(trainer.train_seconds_, 2),
        "fast_path": trainer.fast_path_used_, "epochs_run": record.epochs_run, "pictures": len(dataset),
        "skipped": len(dataset.report.skipped), "stopped": record.stopped,
        "history": {k: [round(v, 4) for v in vals] for k, vals in trainer.history_.items()},
    }
    for note in record.notes:
        _print_err(f"  note: {note}")
    if args.json:
        print(json.dumps(result))
    else:
        print(f"Validation accuracy {result['val_accuracy']:.1%} (best epoch {result['best_epoch']}), "
              f"trained in {result['train_seconds']:.1f} s{' with the fast path' if result['fast_path'] else ''}.")
        print(f"Saved the run in {run.path}")


# -- compare --------------------------------------------------------------------------------
def _list(text, kind=str, all_word=None) -> list:
    values = []
    for item in str(text).split(","):
        item = item.strip()
        if not item:
            continue
        if all_word and item.lower() == all_word:
            values.append(None)
            continue
        try:
            values.append(kind(item))
        except ValueError:
            raise CliError(f"{item!r} is not a {'whole number' if kind is int else 'value'} here; "
                           f"give a comma-separated list, e.g. 0,2.") from None
    return values


def _compare_plan(args):
    from . import experiments
    from .backbones import get_backbone

    backbones = [get_backbone(b.strip().lower()).name for b in (args.backbones or "").split(",") if b.strip()]
    options = dict(repeats=args.repeats, epochs=args.epochs, input_size=args.input_size)
    if args.preset:  # without --backbones, a preset compares networks whose weights are on this computer
        first = backbones[0] if backbones else None
        weights = (args.weights or "imagenet").split(",")[0]
        make = {"transfer": lambda: experiments.transfer_vs_scratch(first, weights, **options),
                "networks": lambda: experiments.which_network(tuple(backbones) or None, weights, **options),
                "pictures": lambda: experiments.how_many_pictures(first, weights, **options)}[args.preset]
        return make()
    if not backbones:
        raise CliError("Name the networks to compare with --backbones (e.g. mobilenet_v2_035,vgg16), or choose a "
                       "--preset (transfer, networks, pictures).")
    augment = [() if a.strip().lower() == "none" else tuple(x for x in a.split("+") if x)
               for a in (args.augment or "none").split(",") if a.strip()]
    return experiments.ExperimentPlan.grid(
        backbones, learning_blocks=_list(args.learning_blocks or "0", int), weights=_list(args.weights or "imagenet"),
        augment=augment, per_class=_list(args.per_class or "all", int, all_word="all"), name="Comparison", **options)


def cmd_compare(args) -> int:
    from .data import ImageDataset
    from .experiments import Experiment, answer_sentence
    from .paths import scratch_prefix, workspace_root

    plan = _compare_plan(args)
    data = Path(args.data)
    if not data.exists():
        raise CliError(f"{data} does not exist: give a folder with one sub-folder per class, or a .zip of one.")
    with tempfile.TemporaryDirectory(prefix=scratch_prefix()) as work:
        dataset = ImageDataset.load(data, work_dir=work, image_size=plan.base_settings().resolved_input_size)
        _print_plan(plan, len(dataset))
        experiment = Experiment(plan, workspace=None if args.no_save else workspace_root(),
                                measure_latency=not args.no_latency)
        experiment.run(dataset, on_progress=lambda done, total, label: _print_err(f"  {done}/{total}: {label}"))
    result = experiment.to_dict()
    for row in result["rows"]:
        ci = row["val_accuracy_ci95"]
        spread = f" (95% interval {ci[0]:.1%} to {ci[1]:.1%})" if ci else ""
        _print_err(f"{row['configuration']}: {row['val_accuracy_mean']:.1%}{spread}, "
                   f"{row['train_seconds_mean']:.1f} s a training{', features reused from the cache' if row['cache_reused'] else ''}")
    for item in result["skipped"]:
        _print_err(f"skipped {item['configuration']}: {item['reason']}")
    if getattr(experiment, "path_", None):
        _print_err(f"Saved the experiment in {experiment.path_}")
    answer = answer_sentence(result)
    print(answer)  # the Experiments page's answer, word for word
    if args.json:
        print(json.dumps({"rows": result["rows"], "skipped": result["skipped"], "answer": answer}))
    return 0


def _print_plan(plan, pictures: int) -> None:
    """What will run, what a preset left out, and for about how long on this computer."""
    from .backbones import BACKBONES

    left_out = plan.left_out()
    choices = len(plan.configurations) - len(left_out)
    seconds = plan.estimate_seconds(pictures)
    about = f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.0f} min"
    repeats = f"{plan.repeats} repeat{'s' if plan.repeats != 1 else ''}"
    _print_err(f"Comparing {choices} configurations × {repeats} = {plan.trainings_to_run()} trainings "
               f"on {pictures} pictures (about {about} on this computer).")
    if left_out:
        names = ", ".join(dict.fromkeys(BACKBONES[c.backbone].short_title for c in left_out))
        _print_err(f"Left out, their ImageNet weights are not on this computer: {names}.")


# -- predict --------------------------------------------------------------------------------
def cmd_predict(args) -> int:
    run = _load_run(args.run_dir)
    missing = [p for p in args.images if not Path(p).is_file()]
    if missing and Path(missing[0]).is_dir():
        raise CliError(f"{missing[0]} is a folder: give picture files, such as {Path(missing[0]) / '*.jpg'}.")
    if missing:
        raise CliError(f"Picture not found: {missing[0]}")
    predictions = run.predict(args.images)
    if args.json:
        print(json.dumps([p.to_dict() for p in predictions]))
    else:
        for p in predictions:
            if p.error:
                print(p.error)  # whole sentences that name the picture itself
                continue
            ranked = ", ".join(f"{label} {prob:.1%}" for label, prob in p.ranked(args.top))
            if p.familiar is False:
                print(f"{p.image}: this doesn't look like any of the classes it knows (nearest: {ranked})")
            else:
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
    from .backbones.download import ensure_imagenet_weights
    from .backbones.factory import create_backbone
    from .backbones.weights import keras_models_dir

    names = args.names or list(BACKBONES)
    if args.file:
        if len(names) != 1:
            raise CliError("--file adds one weights file: name exactly one backbone.")
        target = add_to_library(get_backbone(names[0]), args.file)
        print(f"Kept {args.file} for {names[0]} in {target}")
        return 0
    tty = sys.stderr.isatty()
    for name in names:
        spec = get_backbone(name)
        _print_err(f"Fetching ImageNet weights for {spec.title}…")
        ensure_imagenet_weights(spec, None, progress=lambda p: _print_err(f"\r  {p.words()}   ", end="") if tty else None)
        if tty:
            _print_err()
        create_backbone(spec, None, "imagenet")  # Keras finds the file and checks it loads
        print(f"{name}: ready in {keras_models_dir()}")
    return 0


def cmd_serve_weights(args) -> int:
    from .backbones.weights_server import serve_weights
    from .classroom.network import lan_address

    every_interface = args.host in ("0.0.0.0", "")
    serve_weights(args.folder, args.host, args.port, address=lan_address() if every_interface else args.host)
    return 0


def cmd_classroom(args) -> int:
    from .classroom.server import run_classroom

    if (args.listen or args.proxy_address) and not args.behind_proxy:
        raise CliError("--listen and --proxy-address go with --behind-proxy URL (the address students open "
                       "through your proxy).")
    save_class_choices(args)
    return run_classroom(port=args.port, teacher_code=_chosen_teacher_code(args.teacher_code), workers=args.workers,
                         address=args.address, bind_address=args.listen, proxy_url=args.behind_proxy,
                         proxy_addresses=args.proxy_address, cluster=args.cluster)


ASK = "-"  # --teacher-code - : ask for it, hidden


def _chosen_teacher_code(given: str | None) -> str | None:
    """The code the teacher chose: --teacher-code CODE, asked for (--teacher-code -, typed twice,
    hidden), or $TLCORE_TEACHER_CODE; None: a new one is made. A code on the command line can be
    read by every user of this computer in the process list; the other two cannot."""
    import getpass

    from .classroom.server import CODE_ENV

    if given == ASK:
        try:
            code = getpass.getpass("Teacher code (not shown as you type): ").strip()
            again = getpass.getpass("The same code again, to check: ").strip()
        except EOFError:
            raise CliError("No teacher code was typed; start again and type it (or set TLCORE_TEACHER_CODE).") from None
        if again != code:
            raise CliError("The two codes were not the same; start again.")
        return code
    if given is not None:
        _print_err("note: a code on the command line can be seen by every user of this computer (in the process "
                   f"list); {CODE_ENV}=CODE or --teacher-code - keep it out of sight.")
        return given
    return os.environ.get(CODE_ENV, "").strip() or None


# -- export / import ------------------------------------------------------------------------
def cmd_export(args) -> int:
    from .export import export_run
    from .export.tflite import export_tflite

    run = _load_run(args.run_dir)
    out = Path(args.out)
    if args.format not in ("savedmodel", "tfjs") and out.is_dir():
        example = out / {"web": "model.html"}.get(args.format, "model.tflite" if args.format.startswith("tflite")
                                                  else "model.zip")
        raise CliError(f"{out} is a folder: give the name of the file to write, such as {example}.")
    in_a_file = next((folder for folder in out.parents if folder.exists() and not folder.is_dir()), None)
    if in_a_file is not None:
        raise CliError(f"{in_a_file} is a file, not a folder, so nothing can be written inside it; choose another --out.")
    try:
        if args.format.startswith("tflite"):
            report = export_tflite(run, out, quantize=args.format == "tflite-quantized")
        elif args.format == "web":
            return _export_web(run, out, args)
        elif args.format == "tfjs":
            print(f"Exported TensorFlow.js (model.json, weights.bin, metadata.json: Teachable Machine's layout) "
                  f"to {export_run(run, args.format, out)}")
            return 0
        else:
            print(f"Exported {args.format} to {export_run(run, args.format, out)}")
            return 0
    except OSError as error:  # the folder of --out: missing part, read-only, full
        if error.errno is None:  # raised by tlcore with its own sentence (an --out that is taken)
            raise
        raise CliError(f"The export could not be written to {out} ({error.strerror or error}). Choose another "
                       "--out, in a folder this program can write to.") from None
    print(f"Exported {args.format} to {report['path']} ({report['size_bytes'] / 1e6:.1f} MB).")
    if report["agreement"] is not None:
        print(f"Same top class as the Keras model on {report['agreement']:.1%} of {report['pictures']} "
              f"validation pictures (largest probability difference {report['max_abs_difference']:.2g}).")
    return 0


def _export_web(run, out: Path, args) -> int:
    """--format web: one HTML file that is the model (camera, answers, behaviours; no internet)."""
    from .export.web import export_web, not_sure_of

    line = not_sure_of(run, None if args.not_sure is None else args.not_sure / 100)
    path = export_web(run, out, not_sure=line, language=args.language)
    print(f"Exported a web page for phones to {path} ({path.stat().st_size / 1e6:.1f} MB): open it in a browser, "
          f"with the network off too; \"Not sure\" below {line:.0%}.")
    return 0


def cmd_import_tm(args) -> int:
    from .importers.tfjs import import_teachable_machine_export

    for path in args.sources:
        if not Path(path).exists():
            raise CliError(f"File not found: {path}")
    run = import_teachable_machine_export(args.sources, args.out)
    print(f"Imported the Teachable Machine model ({', '.join(run.class_names)}) into {run.path}")
    return 0


# -- main -----------------------------------------------------------------------------------
def _add_settings_arguments(p) -> None:
    """Training settings, all checked by TrainingSettings (its defaults; its plain-words errors)."""
    from .settings import TrainingSettings

    d = TrainingSettings()
    p.add_argument("--backbone", help=f"registry name (default {d.backbone}); see `tlcore backbones`")
    p.add_argument("--weights", help="imagenet (default), none (from scratch), or a weights FILE")
    p.add_argument("--input-size", help="picture size in pixels (default: the backbone's own)")
    p.add_argument("--learning-blocks", "--freeze-depth", dest="learning_blocks",
                   help="how many top blocks of the backbone learn (default 0: only the new head); "
                        "--freeze-depth is the older name")
    p.add_argument("--epochs", help=f"epochs training the new head (default {d.epochs})")
    p.add_argument("--fine-tune-epochs", help="epochs fine-tuning the top blocks (default: as many as "
                                              "--epochs when --learning-blocks > 0)")
    p.add_argument("--batch-size", help="pictures per learning step: auto (default: 32, smaller for small sets) or a number")
    p.add_argument("--learning-rate", help=f"default {d.learning_rate:g}")
    p.add_argument("--fine-tune-learning-rate", help="default: a tenth of --learning-rate")
    p.add_argument("--augment", nargs="?", const="all", help="augment pictures while training: all, or a list like flip,zoom")
    p.add_argument("--validation-fraction", help=f"default {d.validation_fraction:g}")
    p.add_argument("--early-stopping", action="store_true", default=None)
    p.add_argument("--seed", help=f"default {d.seed}")
    p.add_argument("--no-fast-path", action="store_true", help="always run the whole network (slower; for comparison)")


SETTING_ARGUMENTS = ("backbone", "weights", "input_size", "learning_blocks", "epochs", "fine_tune_epochs",
                     "batch_size", "learning_rate", "fine_tune_learning_rate", "augment", "validation_fraction",
                     "early_stopping", "seed")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tlcore", description="Transfer learning on your own pictures.")
    parser.add_argument("--verbose", action="store_true", help="show TensorFlow's own messages and every log line")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--verbose", action="store_true", default=argparse.SUPPRESS,
                        help="show TensorFlow's own messages and every log line")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    add_parser = sub.add_parser
    sub.add_parser = lambda *a, **k: add_parser(*a, parents=[common], **k)

    _add_learning_commands(sub)
    _add_compare_command(sub)
    _add_file_commands(sub)

    p = sub.add_parser("serve-weights", help="share this computer's ImageNet weights on the school network "
                                             "(others set TLCORE_WEIGHTS_URL to the address it prints)")
    p.add_argument("--host", default="0.0.0.0")
    p.add_argument("--port", type=int, default=8765)
    p.add_argument("--folder", default=None, help="default: Keras's own cache (~/.keras/models)")
    p.set_defaults(func=cmd_serve_weights)

    p = sub.add_parser("classroom", help="serve the Studio to a class over HTTPS: students join by QR code")
    p.add_argument("--port", type=int, default=None, help="default 8501, or the next free port")
    p.add_argument("--teacher-code", default=None, metavar="CODE",
                   help="the code that opens the teacher page (default: $TLCORE_TEACHER_CODE, else a new one, "
                        "shown in the terminal). `-` asks for it without showing it. A CODE written here can be "
                        "seen by every user of this computer in the process list: prefer TLCORE_TEACHER_CODE "
                        "or `-`. A chosen code needs at least 8 letters and digits, at least 6 different, "
                        "letters and digits mixed (like K7QM-4TZP); a word and a year (PLANTS-2024) is refused")
    p.add_argument("--workers", type=int, default=None, help="trainings at once (default: half the CPU cores, at least 1)")
    p.add_argument("--cluster", default=None, metavar="ADDRESS",
                   help="train on a Ray cluster: ray://HOST:10001 (a cluster's head, e.g. the school's GPU computer), "
                        "or `local` (one on this computer, started and stopped with the classroom); --workers "
                        'workers, each a Ray actor. Needs the cluster extra: pip install -e ".[cluster]". See '
                        "docs/scaling.md")
    p.add_argument("--address", default=None, help="this computer's address on the school network (default: found)")
    p.add_argument("--behind-proxy", default=None, metavar="URL",
                   help="serve plain HTTP for the school's own reverse proxy (Caddy, nginx), which holds a real "
                        "certificate; URL is the address students open through it, like "
                        "https://studio.school.example/ or https://school.example/studio/ (its path is the "
                        "Studio's). See docs/proxy.md")
    p.add_argument("--listen", default=None, metavar="ADDRESS",
                   help="with --behind-proxy: where the plain HTTP listens (default 127.0.0.1: the proxy runs on "
                        "this computer)")
    p.add_argument("--proxy-address", action="append", default=[], metavar="ADDRESS",
                   help="with --behind-proxy: the proxy's own address, when it runs on another computer; only its "
                        "X-Forwarded-For (and this computer's) says who a client is")
    p.add_argument("--task", default=None, metavar="CLASSES",
                   help='the lesson\'s classes, like "rock, paper, scissors": every new space starts with them')
    p.add_argument("--keep-for", choices=["lesson", "week", "term"], default=None,
                   help="how long the class keeps anything (lesson: the school day; term: 16 weeks); at the "
                        "next start after that, every student's space and export is erased")
    p.add_argument("--export-before-clear", default=None, metavar="FOLDER",
                   help="with --keep-for: write the class export into FOLDER (outside the workspace; made if "
                        "missing) before the timed clear; if it cannot be written, nothing is erased and the next "
                        'start tries again ("" : no export)')
    p.set_defaults(func=cmd_classroom)

    add_class_commands(sub)  # class-erase, class-report (tlcore/classroom/commands.py)

    return parser


def _add_learning_commands(sub) -> None:
    """backbones, train, predict: what a lesson runs."""
    p = sub.add_parser("backbones", help="list the pretrained networks, with plain-language cards")
    p.add_argument("name", nargs="?", help="show this backbone's blocks, frozen or learning")
    p.add_argument("--learning-blocks", "--freeze-depth", dest="learning_blocks", type=int, default=0,
                   help="with a name: how many top blocks learn (--freeze-depth is the older name)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_backbones)

    p = sub.add_parser("train", help="train a classifier on a folder (or .zip) with one sub-folder per class")
    p.add_argument("data", help="a folder with one sub-folder per class, or a .zip of one")
    _add_settings_arguments(p)
    p.add_argument("--out", default=None, help="run folder to create (default: a new folder in the workspace)")
    p.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("predict", help="predict pictures with a saved run")
    p.add_argument("run_dir")
    p.add_argument("images", nargs="+")
    p.add_argument("--top", type=int, default=3)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_predict)


def _add_compare_command(sub) -> None:
    p = sub.add_parser("compare", help="train several configurations on the same splits, with error bars")
    p.add_argument("data", help="a folder with one sub-folder per class, or a .zip of one")
    p.add_argument("--backbones", help="comma-separated registry names, e.g. mobilenet_v2_035,vgg16")
    p.add_argument("--learning-blocks", help="comma-separated, e.g. 0,2 (default 0: only the head learns)")
    p.add_argument("--weights", help="comma-separated: imagenet, none (from scratch) or a weights FILE")
    p.add_argument("--augment", help="comma-separated: none, or augmentations joined by +, e.g. none,flip+zoom")
    p.add_argument("--per-class", help="training pictures per class, comma-separated, e.g. 5,10,all (a learning curve)")
    p.add_argument("--repeats", type=int, default=3, help="trainings per configuration, each on its own split (default 3)")
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--input-size", type=int, default=None)
    p.add_argument("--preset", choices=["transfer", "networks", "pictures"],
                   help="transfer: one network from its pretrained weights vs from random weights, and a small "
                        "CNN; networks: VGG16, ResNet50, InceptionV3, MobileNetV2; pictures: accuracy against "
                        "pictures per class. Without --backbones, networks whose weights are on this computer "
                        "(the others are left out, not downloaded)")
    p.add_argument("--no-latency", action="store_true", help="do not time one picture per configuration")
    p.add_argument("--no-save", action="store_true", help="do not keep the experiment (and its runs) in the workspace")
    p.add_argument("--json", action="store_true", help='print {"rows": [...], "skipped": [...], "answer": "..."} as the last line')
    p.set_defaults(func=cmd_compare)


def _percent(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number; give a percentage such as 60") from None
    if not 0 <= value <= 100:
        raise argparse.ArgumentTypeError(f"{text} is not a percentage from 0 to 100")
    return value


def _add_file_commands(sub) -> None:
    """fetch-weights, export, import-tm: files in and out."""
    p = sub.add_parser("fetch-weights", help="download ImageNet weights into the Keras cache before an offline lesson")
    p.add_argument("names", nargs="*", help="backbones (default: all)")
    p.add_argument("--file", default=None, help="instead of downloading, keep this weights file for the one backbone named")
    p.set_defaults(func=cmd_fetch_weights)

    p = sub.add_parser("export", help="export a run: keras (zip with predict.py), tflite, savedmodel, tfjs, web")
    p.add_argument("run_dir")
    p.add_argument("--format", choices=["keras", "tflite", "tflite-quantized", "savedmodel", "tfjs", "web"],
                   default="keras", help="tfjs: a folder (or a .zip) in Teachable Machine's layout: model.json, "
                                         "weights.bin, metadata.json; web: one .html page that is the model")
    p.add_argument("--out", required=True)
    p.add_argument("--not-sure", type=_percent, default=None, metavar="PERCENT",
                   help="web: say \"Not sure\" below this (0-100; default: the line saved with the run's "
                        "behaviours on the Test page, else 50)")
    p.add_argument("--language", default="en", help="web: the language behaviours speak in (en, fr, de...)")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("import-tm", help="import a Google Teachable Machine export: TensorFlow.js (model.json, "
                                         "metadata.json, weights.bin) or Keras (keras_model.h5, labels.txt)")
    p.add_argument("sources", nargs="+", metavar="FILE_OR_FOLDER",
                   help="the export's files, its folder, or the zip Teachable Machine gave you")
    p.add_argument("--out", required=True)
    p.set_defaults(func=cmd_import_tm)


def _log_to_terminal(verbose: bool) -> None:
    """tlcore's log lines (notes, warnings; everything with --verbose) on stderr."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("  note: %(message)s"))
    logger = logging.getLogger("tlcore")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO if verbose else logging.WARNING)


# Commands that write start by removing what killed processes left (`classroom` does it itself).
WRITING_COMMANDS = ("train", "compare", "fetch-weights", "export", "import-tm")


def _clean_after_killed() -> None:
    from .queue import clean_after_killed
    from .paths import workspace_root

    clean_after_killed(workspace_root())


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.verbose:
        os.environ["TLCORE_VERBOSE"] = "1"  # TensorFlow's own start-up lines too
    else:
        warnings.filterwarnings("ignore")
    _log_to_terminal(args.verbose)
    try:
        if args.command in WRITING_COMMANDS:
            _clean_after_killed()
        return args.func(args)
    except KeyboardInterrupt:
        _print_err("tlcore: stopped.")
        return 130
    except (CliError, ValueError, FileNotFoundError, FileExistsError, RuntimeError, OSError) as error:
        _print_err(f"tlcore: error: {error}")
        return EXIT_ERROR
    except Exception as error:  # last resort: still one line (the traceback with --verbose)
        logging.getLogger("tlcore").debug("unexpected error", exc_info=error)
        _print_err(f"tlcore: unexpected error ({type(error).__name__}): {error}")
        return 1


if __name__ == "__main__":
    sys.exit(main())
