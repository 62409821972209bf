"""Finding words that did not go through the catalogue: a pseudo-language and the page's visible text.

The pseudo-language ``qps`` translates every message by changing its letters ("Start" → "Śţàŕţ")
and keeping what a translator keeps (placeholders, Markdown and HTML syntax, icons, links, code).
A page drawn in it shows plain ASCII words only where text never went through ``_()``, ``_n()``
or ``tr()``, or where it is outside text (a class or file name) or a proper name (ImageNet).
"""

from __future__ import annotations

import json
import re

PSEUDO = "qps"
_LETTERS = dict(zip("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
                    "àƀçđéƒĝĥíĵķĺɱñóƥʠŕśţúʋŵẋýžÀƁÇĐÉƑĜĤÍĴĶĹṀÑÓƤɊŔŚŢÚṼŴẊÝŽ"))
# Kept as they are: {placeholders}, :material/icons: and :emoji:, (links), <tags>, &entities;, `code`
_KEEP = re.compile(r"\{[^{}]*\}|:material/[a-z_]+:|:[a-z_]+:|\]\([^)]*\)|<[^<>]*>|&[a-z#0-9]+;|`[^`]*`|%\{[^}]*\}")
_HIDDEN = re.compile(r"<(style|script)\b.*?</\1>", re.S | re.I)
# Proper names and technical words that stay as they are in every language
PROPER = {
    "imagenet", "mobilenetv2", "mobilenet", "resnet", "resnet50", "resnet101", "resnet50v2", "inception",
    "inceptionv3", "efficientnet", "efficientnetb0", "efficientnetv2", "convnext", "keras", "tensorflow",
    "teachable", "machine", "tflite", "savedmodel", "grad-cam", "streamlit", "chromium", "chrome", "safari",
    "firefox", "android", "ipad", "iphone", "ipados", "chromebook", "chromeos", "windows", "macos", "linux",
    "google", "python", "numpy", "pillow", "json", "https", "http", "localhost", "wi-fi", "wifi", "zip",
    "tlproject", "keras_model", "labels", "predict", "heic", "jpeg", "jpg", "png", "webp", "csv", "tiny",
    "okabe", "wilson", "scratch", "ml5", "p5", "vgg16", "vgg", "cnn", "small",
}


def pseudo(text: str) -> str:
    """``text`` in the pseudo-language: letters changed, syntax kept."""
    out, last = [], 0
    for match in _KEEP.finditer(text):
        out.append("".join(_LETTERS.get(c, c) for c in text[last:match.start()]))
        out.append(match.group(0))
        last = match.end()
    out.append("".join(_LETTERS.get(c, c) for c in text[last:]))
    return "".join(out)


class PseudoTranslations:
    """A gettext-like catalogue that translates everything into the pseudo-language."""

    def gettext(self, message: str) -> str:
        return pseudo(message)

    def ngettext(self, singular: str, plural: str, count: int) -> str:
        return pseudo(singular if count == 1 else plural)


def use_pseudo_language(monkeypatch) -> None:
    """Make ``qps`` a language whose catalogue is the pseudo one."""
    import tlcore.i18n as i18n

    import studio.i18n
    import studio.language

    real = i18n._catalogue
    monkeypatch.setattr(i18n, "_catalogue", lambda code: PseudoTranslations() if code == PSEUDO else real(code))
    # The sidebar's picker must list it, or it switches the page back to English
    real_languages, real_language = i18n.languages, i18n.language
    listed = lambda: real_languages() + [i18n.Language(PSEUDO, "Pseudo", False)]  # noqa: E731
    info = lambda code: i18n.Language(PSEUDO, "Pseudo", False) if code == PSEUDO else real_language(code)  # noqa: E731
    monkeypatch.setattr(studio.language, "languages", listed)
    for module in (studio.i18n, studio.language):
        monkeypatch.setattr(module, "language_info", info)


# -- what a page shows ------------------------------------------------------------------------
_FIELDS = ("label", "body", "help", "placeholder", "caption", "text", "title", "options", "value")


def visible_texts(at) -> list[str]:
    """Every text a user can see or hear on the page AppTest drew: element bodies, widget labels,
    help, options, tab and expander labels, and the words inside charts."""
    found: list[str] = []

    def walk(node) -> None:
        proto = getattr(node, "proto", None)
        if proto is not None:
            found.extend(_proto_texts(proto))
        for child in getattr(node, "children", {}).values() if isinstance(getattr(node, "children", None), dict) \
                else getattr(node, "children", []) or []:
            walk(child)

    walk(at._tree)
    return [text for text in found if text and text.strip()]


def _proto_texts(proto) -> list[str]:
    texts = []
    for field, value in proto.ListFields():
        name = field.name
        if name == "spec" and isinstance(value, str):  # a Plotly figure
            texts += _figure_texts(value)
        elif name in _FIELDS:
            if isinstance(value, str):
                texts.append(value)
            elif hasattr(value, "__iter__") and not hasattr(value, "ListFields"):
                texts += [item for item in value if isinstance(item, str)]
    return texts


def _figure_texts(spec: str) -> list[str]:
    try:
        figure = json.loads(spec)
    except ValueError:
        return []
    texts = []

    def walk(value, key=""):
        if isinstance(value, dict):
            for k, v in value.items():
                walk(v, k)
        elif isinstance(value, list):
            for item in value:
                walk(item, key)
        elif isinstance(value, str) and key in ("text", "name", "title", "ticktext"):
            texts.append(value)

    walk(figure.get("layout", {}))
    walk(figure.get("data", []))
    return texts


def untranslated(texts, allowed=()) -> list[str]:
    """The English words left in ``texts`` (each with its text), once pseudo-language letters,
    outside text in ``allowed`` and proper names are set aside."""
    allowed_words = {word.lower() for text in allowed for word in re.findall(r"[A-Za-z][A-Za-z'-]+", str(text))}
    left = []
    for text in texts:
        cleaned = _HIDDEN.sub(" ", text)  # style sheets and scripts are not read by anyone
        cleaned = _KEEP.sub(" ", cleaned)
        cleaned = re.sub(r"\S*[0-9_./\\@]\S*", " ", cleaned)  # file names, addresses, numbers
        for word in re.findall(r"(?<![\w'])[A-Za-z][A-Za-z'-]{3,}", cleaned):
            if word.lower().strip("'-") not in PROPER | allowed_words:  # "Ana'ś": a name, then a pseudo "'s"
                left.append(f"{word!r} in {text[:90]!r}")
    return left
