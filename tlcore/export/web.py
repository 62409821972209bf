"""A run as one web page that *is* the model: open it, point the camera, read the answer.

    web_page(run, not_sure=None, language="en", words=None) -> str   the HTML
    export_web(run, "daisy-or-not.html", ...) -> Path                 written whole, or not at all

One self-contained HTML file: TensorFlow.js (``web_assets/tf.min.js``, with its licence in a
comment), the model and its weights (float32, base64), the words it shows, its behaviours and
the little code that runs it (``web_assets/``). It makes no request at all: a Content Security
Policy in the page forbids any (tests/test_e2e_web.py checks, with every request blocked).

**Same answers as the Studio.** The page crops and resizes like the app (``picture.js``, a
port of Pillow's Lanczos down to its integer rounding: the same pixels for the same frame), runs
the model exported by ``tfjs.py`` with a second output, the features at the head's input, and
applies "not sure" (the student's line) and "none of my classes" (the run's familiarity.npz:
its reference features as float16, its k and threshold) exactly as the Studio does. What can
differ: a JPEG photo at least twice the model's size, which the Studio decodes at a reduced scale
(``tlcore.data.imagefile``, libjpeg's draft mode) and a browser cannot; its answer can then
differ by a few hundredths. Camera frames, PNGs and smaller photos match within 1e-3.

**Size.** The runtime is 1.5 MB; the weights take 4 bytes a number plus a third for base64
(16-bit weights would halve that, but change answers by up to 0.02 on real flowers, so they
are not used); familiarity up to 1,000 × features × 2 bytes. ``page_size_estimate`` says
it per network before anything is built: MobileNetV2 (0.35) is 4–7 MB, ResNet50 about 130 MB.

**Where it opens.** From a file, in Chrome, Edge or Firefox on a laptop, a Chromebook or an
Android phone (file pages may use the camera), with the network off. An iPhone or iPad does not
let a page opened from Files use the camera: open it from the classroom's link instead
(https://…/page/<key>.html, tlcore/classroom/phone_pages.py) or choose photos.
"""

from __future__ import annotations

import base64
import functools
import html
import json
import os
import tempfile
from pathlib import Path

import numpy as np

from ..i18n import N_, SOURCE_LANGUAGE, best_language, language as language_info, msg, translate
from .bundle import as_run
from .tfjs import TFJS_VERSION, runtime_licence, runtime_script, tfjs_model, tfjs_problem

WEB_FORMAT = 1
DEFAULT_NOT_SURE = 0.5
SUFFIX = ".html"
_ASSETS = Path(__file__).with_name("web_assets")
_SCRIPTS = ("picture.js", "behaviours.js", "page.js")  # after tf.min.js and the data, in this order
_FEATURES_LAYER = "pool"  # the head's input (tlcore.understand.scoring.POOL_LAYER)

# Every word the page shows, in one place, in English: the page is made with them in its language
# (the catalogue's, tlcore.i18n); {name} are values page.js fills in.
WEB_WORDS = {
    "model": N_("Model: {name}"),
    "loading": N_("Getting the model ready…"),
    "ready": N_("Start the camera and point it at something, or choose a photo."),
    "starting_camera": N_("Starting the camera… (allow it if the browser asks)"),
    "start_camera": N_("Start the camera"),
    "switch_camera": N_("Switch camera"),
    "choose_photo": N_("Take or choose a photo"),
    "back_to_camera": N_("Back to the camera"),
    "model_says": N_("The model says"),
    "not_sure": N_("Not sure"),
    "unfamiliar": N_("This doesn't look like any of your classes"),
    "sure_note": N_("{percent} sure"),
    "not_sure_note": N_("Its best guess, {class}, is only {percent} sure (below your {line} line)"),
    "unfamiliar_note": N_("It looks unlike every picture it learned from (its best guess, {class}, means little)"),
    "line": N_("“Not sure” below {line}"),
    "bars_label": N_("How sure it is of each class"),
    "camera_view": N_("What the camera sees; the model looks at this square"),
    "photo_view": N_("The photo's middle square, which the model looks at"),
    "camera_insecure": N_("This browser allows the camera only on pages opened from this device or from an https:// "
                          "address. Choose a photo instead, or open the page from your classroom's link."),
    "camera_unsupported": N_("This browser does not let pages use a camera. Choose a photo instead."),
    "camera_denied": N_("The camera was not allowed. Allow it in the browser's settings for this page and try again, "
                        "or choose a photo."),
    "camera_missing": N_("No camera was found. Choose a photo instead."),
    "camera_failed": N_("The camera could not start (another app may be using it). Try again, or choose a photo."),
    "photo_unreadable": N_("This picture could not be read. Choose another one (a JPEG or PNG photo)."),
    "model_failed": N_("This browser could not load the model. Try a recent Chrome, Edge, Firefox or Safari."),
    "tap_to_close": N_("Tap to close"),
    "footer": N_("Made with Transfer Learning Studio. Everything this page needs is inside it: it works without "
              "the internet, and no picture leaves this device."),
}


def page_language(language: str | None) -> str:
    """The catalogue's code for a page asked for in ``language`` (a code or a BCP 47 tag: "fr",
    "pt-BR", "pt_BR"): the catalogue that fits it best, else the code as given (its words stay English)."""
    code = str(language or SOURCE_LANGUAGE).replace("-", "_")
    found = best_language(code)
    return found if found != SOURCE_LANGUAGE else code


def web_words(language: str | None = SOURCE_LANGUAGE) -> dict[str, str]:
    """WEB_WORDS in ``language`` (its catalogue's sentences; English where it has none)."""
    code = page_language(language)
    return {key: translate(msg(text), code) for key, text in WEB_WORDS.items()}


class WebExportError(ValueError):
    """The run cannot become a web page; the message says why in plain words."""


def web_problem(run) -> str | None:
    """Why ``run`` cannot become a web page, in one sentence, or None when it can."""
    return tfjs_problem(as_run(run))


# -- what goes into the page -------------------------------------------------------------------------
def _base64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _model(run, with_features: bool) -> tuple[dict, bool]:
    """(the TF.js model: topology, manifest, weights in base64; whether it gives the features).
    With ``with_features`` (and a head whose input layer is "pool") it has two outputs: the
    features at the head's input, then the probabilities."""
    model_json, weights = tfjs_model(run)
    topology = model_json["modelTopology"]
    config = topology["config"]
    with_features = with_features and any(layer["name"] == _FEATURES_LAYER for layer in config["layers"])
    if with_features:
        outputs = [[_FEATURES_LAYER, 0, 0], *config["output_layers"]]
        topology = {**topology, "config": {**config, "output_layers": outputs}}
    return {"topology": topology, "weights_manifest": model_json["weightsManifest"][0]["weights"],
            "weights": _base64(weights)}, with_features


def _familiarity(run) -> dict | None:
    """The run's familiarity numbers as the page reads them (None: the run cannot tell)."""
    familiarity = run.familiarity()
    if familiarity is None:
        return None
    reference = np.ascontiguousarray(familiarity.reference_, dtype="<f2")
    threshold = float(familiarity.threshold_)
    return {"k": int(familiarity.k), "threshold": None if np.isnan(threshold) else threshold,
            "rows": int(reference.shape[0]), "width": int(reference.shape[1]),
            "reference": _base64(reference.tobytes())}


def page_behaviours(run) -> list[dict]:
    """The run's behaviours as behaviours.js plays them (its pictures as data: URLs, its
    recordings in base64), for the classes the run knows."""
    from ..runs.behaviours import media_bytes, read_behaviours

    if run.path is None:
        return []
    played = []
    for behaviour in read_behaviours(run.path).acting(run.class_names):
        picture = media_bytes(run.path, behaviour.picture)
        recording = media_bytes(run.path, behaviour.recording)
        played.append({"class_name": behaviour.class_name, "say": behaviour.say, "sound": behaviour.sound,
                       "emoji": behaviour.emoji, "full_screen": behaviour.full_screen,
                       "picture": f"data:image/jpeg;base64,{_base64(picture)}" if picture else "",
                       "recording": _base64(recording) if recording else ""})
    return played


def not_sure_of(run, not_sure: float | None = None) -> float:
    """The "not sure" line for the page: ``not_sure`` if given, else the one saved with the run's
    behaviours (the Test page's), else DEFAULT_NOT_SURE."""
    from ..runs.behaviours import read_behaviours

    if not_sure is None and run.path is not None:
        not_sure = read_behaviours(run.path).not_sure
    value = DEFAULT_NOT_SURE if not_sure is None else float(not_sure)
    if not 0.0 <= value <= 1.0:
        raise WebExportError(f"The “not sure” line must be from 0 to 1 (0.5 is 50 %); got {not_sure!r}.")
    return value


def _lanczos_vertical_first() -> bool:
    """Pillow 13 and later resize down the columns first when the height shrinks much more than
    the width; older Pillows always go across first. The page must do as the Studio's Pillow does."""
    from PIL import __version__ as pillow

    return int(pillow.split(".")[0]) >= 13


def page_data(run, not_sure: float | None = None, language: str = "en") -> dict:
    """Everything the page knows about the model, as it reads it (``#tl-data``)."""
    run = as_run(run)
    problem = tfjs_problem(run)
    if problem:
        raise WebExportError(problem)
    familiarity = _familiarity(run)
    model, with_features = _model(run, familiarity is not None)
    return {"format": WEB_FORMAT, "name": run.name, "classes": list(run.class_names),
            "input_size": int(run.input_size), "not_sure": not_sure_of(run, not_sure),
            "language": str(language or "en").replace("_", "-"), "made": run.record.created, "tfjs_version": TFJS_VERSION,
            "lanczos_vertical_first": _lanczos_vertical_first(),
            "model": model, "familiarity": familiarity if with_features else None,
            "behaviours": page_behaviours(run)}


# -- the page ----------------------------------------------------------------------------------------
def _json_script(element_id: str, value) -> str:
    """JSON in a ``<script type="application/json">``: every ``<``, ``>`` and ``&`` escaped, so
    no text in it (a class name, a sentence to say) can end the element or be read as markup."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    for character, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                               ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(character, escaped)
    return f'<script type="application/json" id="{element_id}">{text}</script>'


def _script(code: str, name: str) -> str:
    if "</script" in code.lower() or "<!--" in code:
        raise WebExportError(f"{name} cannot be put inside a page as it is (it holds </script or <!--).")
    return f"<script>\n{code}\n</script>"


def _asset(name: str) -> str:
    return (_ASSETS / name).read_text(encoding="utf-8")


def behaviours_script() -> str:
    """The JavaScript that plays behaviours (TLBehaviours), shared with the Studio's Test page."""
    return _asset("behaviours.js")


def _runtime() -> str:
    licence = runtime_licence().replace("*/", "* /")
    # Its bundled regenerator-runtime sets a global, else falls back to Function(), which this
    # page's Content Security Policy forbids (no eval): the global is declared first.
    return _script(f"/* TensorFlow.js {TFJS_VERSION} (npm @tensorflow/tfjs, dist/tf.min.js, unchanged). "
                   f"Its licences:\n\n{licence}\n*/\nvar regeneratorRuntime;\n{runtime_script()}", "tf.min.js")


def web_page(run, not_sure: float | None = None, language: str = "en", words: dict | None = None) -> str:
    """The HTML of the page for ``run`` (a Run or run folder). ``not_sure``: the line below which it
    says "Not sure" (default: the one saved with its behaviours, else 0.5); ``language``: the
    page's language (a catalogue's code or a BCP 47 tag, "en", "fr", "pt-BR"): its words, its
    ``<html lang>`` and ``dir`` (Arabic right to left), and the language its behaviours speak;
    ``words``: some of the page's words (WEB_WORDS's keys) given as they are, instead."""
    run = as_run(run)
    data = page_data(run, not_sure, language)
    code = page_language(language)
    shown = {**web_words(code), **{k: str(v) for k, v in (words or {}).items() if k in WEB_WORDS}}
    scripts = "\n".join([_runtime(), _json_script("tl-words", shown), _json_script("tl-data", data),
                         *(_script(_asset(name), name) for name in _SCRIPTS)])
    return (_asset("page.html")
            .replace("{{lang}}", html.escape(data["language"]))
            .replace("{{dir}}", "rtl" if language_info(code).right_to_left else "ltr")
            .replace("{{title}}", html.escape(" · ".join(run.class_names)))
            .replace("/*{{style}}*/", _asset("page.css"))
            .replace("<!--{{scripts}}-->", scripts))


def export_web(run, out, not_sure: float | None = None, language: str = "en", words: dict | None = None) -> Path:
    """Write the page to ``out`` (a new .html file, or one to replace) in one step; returns its path."""
    out = Path(out)
    if out.is_dir():
        raise FileExistsError(f"{out} is a folder; give a file name ending in {SUFFIX} for --out.")
    text = web_page(run, not_sure, language, words)  # everything checked before anything is written
    out.parent.mkdir(parents=True, exist_ok=True)
    handle, partial = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}-", suffix=".partial")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.chmod(partial, 0o644)
        os.replace(partial, out)
    finally:
        Path(partial).unlink(missing_ok=True)
    return out


# -- how big -----------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=1)
def _fixed_bytes() -> int:
    """The runtime, the code, the words and the model's description: about the same for every model."""
    code = len(_runtime().encode()) + sum(len(_asset(n).encode()) for n in ("page.html", "page.css", *_SCRIPTS))
    return code + len(json.dumps(WEB_WORDS, ensure_ascii=False).encode()) + 4_000


def page_size_estimate(backbone: str, classes: int = 2, reference_pictures: int = 100) -> int:
    """About how many bytes the page of a run on ``backbone`` takes (within 1 %): the runtime and
    code, the weights (float32, base64), and familiarity for ``reference_pictures`` training
    pictures (at most 1,000 are kept)."""
    from ..backbones.registry import get_backbone
    from ..understand.familiarity import MAX_REFERENCE

    spec = get_backbone(backbone)
    numbers = spec.params + spec.feature_size * classes + classes + 12  # + head, + the input's 1×1 convolution
    rows = min(reference_pictures, MAX_REFERENCE)
    layers = 160 if spec.params < 5_000_000 else 400  # each layer's description in the topology (about 250 bytes)
    return int(_fixed_bytes() + 4 * numbers * 4 / 3 + 2 * rows * spec.feature_size * 4 / 3 + 250 * layers)


__all__ = ["DEFAULT_NOT_SURE", "WEB_WORDS", "WebExportError", "behaviours_script", "export_web", "not_sure_of",
           "page_behaviours", "page_data", "page_size_estimate", "web_page", "web_problem"]
