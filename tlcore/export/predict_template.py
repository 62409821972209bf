"""The prediction part of the exported ``predict.py``.

On export, the block between the ``tlcore-import`` markers is replaced by the verbatim
source of ``tlcore/data/imagefile.py``, placed at the top of the script, so the exported
script decodes and resizes pictures with exactly the app's code and needs no tlcore:
only what ``tlcore.export.bundle.PREDICT_NEEDS`` says (TensorFlow with Keras 3, numpy, Pillow).
Its output is the answers only: TensorFlow's start-up lines and Keras's warnings for
developers are kept off the terminal (a class reads "CUDA error" as "it is broken").
"""

# <tlcore-import>
from tlcore.data.imagefile import UnreadablePicture, load_picture
from tlcore.understand.scoring import (
    FAMILIARITY_FILE, familiar_flags, familiarity_scores, head_input_model, read_familiarity,
)
# </tlcore-import>

import argparse
import json
import logging
import os
import re
import sys
import tempfile
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent
BATCH = 32
# What it prints, in the language the Share page was read in when it was exported (the export
# writes this dict in that language; {name} are values filled in here, class names as typed).
# <tlcore-words>
WORDS = {
    "error": "{picture}: ERROR. {error}",
    "unfamiliar": "{picture}: this doesn't look like any of the classes (nearest: {top})",
    "answer": "{picture}: {top} ({percent})",
}
# </tlcore-words>
# What TensorFlow's C++ code writes straight to the terminal while it starts, before any log
# level applies: absl's first line, "Could not find cuda drivers", "failed call to cuInit".
STARTUP_NOTICE = re.compile(rb"^(I\d{4} \d\d:\d\d:\d\d|WARNING: All log messages before absl::InitializeLog"
                            rb"|E\d{4} .*(failed call to cuInit|Unable to register cu))")


def read_labels(path):
    with open(path, encoding="utf-8") as file:
        return [line.strip() for line in file if line.strip()]


def load_model(path):
    keras = import_keras_quietly()
    # safe_mode: a model file that carries code (a Lambda layer) is refused, not run.
    return keras.models.load_model(path, safe_mode=True)


def import_keras_quietly():
    """Keras (TensorFlow under it) without TensorFlow's start-up lines; anything else written
    meanwhile is kept. TLCORE_VERBOSE=1 in the environment shows everything."""
    if os.environ.get("TLCORE_VERBOSE"):
        import keras

        return keras
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # TensorFlow's own log: errors for a GPU it lacks
    warnings.filterwarnings("ignore", module=r"keras(\.|$)")  # notes for developers, not for this script's user
    logging.getLogger("absl").setLevel(logging.ERROR)
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            import keras

            keras.ops.zeros(1)  # TensorFlow looks for a GPU now, so what it says is caught here too
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            kept = [line for line in captured.read().splitlines(keepends=True) if not STARTUP_NOTICE.match(line)]
            if kept:
                os.write(2, b"".join(kept))
    return keras


def predict(model, labels, pictures, familiarity=None):
    """One result per picture: {"image", "top", "probabilities"} (or "error"); with the run's
    familiarity file also "familiar" and "familiarity", as the app says them."""
    import numpy as np

    network = model if familiarity is None else head_input_model(model)
    size = int(model.input_shape[1])
    results, arrays, rows = [], [], []
    for picture in pictures:
        try:
            arrays.append(load_picture(picture, size))
            rows.append(len(results))
            results.append({"image": picture, "top": None, "probabilities": {}})
        except (UnreadablePicture, OSError) as error:
            reason = getattr(error, "reason", None) or "It could not be opened."
            results.append({"image": picture, "top": None, "probabilities": {}, "error": reason})
    for start in range(0, len(arrays), BATCH):
        batch = np.stack(arrays[start:start + BATCH]).astype("float32")
        if familiarity is None:
            probabilities, similar = np.asarray(network(batch, training=False)), None
        else:
            features, probabilities = (np.asarray(t) for t in network(batch, training=False))
            similar = familiarity_scores(features, familiarity["reference"], int(familiarity["k"]))
            known = familiar_flags(similar, float(familiarity["threshold"]))
        for n, (row, scores) in enumerate(zip(rows[start:start + BATCH], probabilities)):
            results[row]["probabilities"] = {label: float(p) for label, p in zip(labels, scores)}
            results[row]["top"] = labels[int(scores.argmax())]
            if similar is not None:
                results[row].update(familiar=bool(known[n]), familiarity=round(float(similar[n]), 4))
    return results


def say(key, **values):
    """One line of WORDS with its values (a class name stays exactly as typed)."""
    return re.sub(r"\{(\w+)\}", lambda m: str(values.get(m.group(1), m.group(0))), WORDS[key])


def print_results(results):
    for result in results:
        if "error" in result:
            print(say("error", picture=result["image"], error=result["error"]))
            continue
        top = result["top"]
        if result.get("familiar") is False:
            print(say("unfamiliar", picture=result["image"], top=top))
        else:
            print(say("answer", picture=result["image"], top=top, percent=f"{result['probabilities'][top]:.1%}"))
        width = max(len(label) for label in result["probabilities"])
        for label, p in sorted(result["probabilities"].items(), key=lambda item: -item[1]):
            print(f"    {label:<{width}}  {p:7.2%}")


def main(argv=None):
    parser = argparse.ArgumentParser(description="Say which class each picture belongs to.")
    parser.add_argument("pictures", nargs="+", metavar="PICTURE", help="picture files (JPEG, PNG, ...)")
    parser.add_argument("--json", action="store_true", help="print a JSON list instead of text")
    parser.add_argument("--model", default=str(HERE / "model.keras"), help="the model file (default: beside this script)")
    parser.add_argument("--labels", default=str(HERE / "labels.txt"), help="the class names, one a line")
    args = parser.parse_args(argv)

    labels = read_labels(args.labels)
    model = load_model(args.model)
    if int(model.output_shape[-1]) != len(labels):
        sys.exit(f"{args.labels} lists {len(labels)} classes but the model has {model.output_shape[-1]} outputs.")
    familiar_file = HERE / FAMILIARITY_FILE
    familiarity = read_familiarity(familiar_file) if familiar_file.is_file() else None
    results = predict(model, labels, args.pictures, familiarity)
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        print_results(results)
    return 1 if any("error" in result for result in results) else 0


if __name__ == "__main__":
    sys.exit(main())
