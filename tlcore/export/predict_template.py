"""The prediction part of the exported ``predict.py``.

On export, the block between the ``tlcore-import`` markers is replaced by the verbatim
source of ``tlcore/data/imagefile.py``, placed at the top of the script, so the exported
script decodes and resizes pictures with exactly the app's code and needs no tlcore:
only Keras 3 (with TensorFlow), numpy and Pillow.
"""

# <tlcore-import>
from tlcore.data.imagefile import UnreadablePicture, load_picture
from tlcore.understand.scoring import (
    FAMILIARITY_FILE, familiar_flags, familiarity_scores, head_input_model, read_familiarity,
)
# </tlcore-import>

import argparse
import json
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
BATCH = 32


def read_labels(path):
    with open(path, encoding="utf-8") as file:
        return [line.strip() for line in file if line.strip()]


def load_model(path):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras

    # safe_mode: a model file that carries code (a Lambda layer) is refused, not run.
    return keras.models.load_model(path, safe_mode=True)


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
            reason = getattr(error, "reason", None) or "could not be opened"
            results.append({"image": picture, "top": None, "probabilities": {}, "error": f"{picture} {reason}"})
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


def print_results(results):
    for result in results:
        if "error" in result:
            print(f"{result['image']}: ERROR, {result['error']}")
            continue
        top = result["top"]
        if result.get("familiar") is False:
            print(f"{result['image']}: this doesn't look like any of the classes (nearest: {top})")
        else:
            print(f"{result['image']}: {top} ({result['probabilities'][top]:.1%})")
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
