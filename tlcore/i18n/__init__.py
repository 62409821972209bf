"""Words in the reader's language: messages, catalogues (one ``.po`` file a language), and numbers.

tlcore never knows who reads what it says. A sentence meant for a person is a ``Message``:

    raise SettingsError(msg("Epochs must be from {low} to {high}.", low=1, high=1000))
    msg_n("{count} picture was skipped.", "{count} pictures were skipped.", count)

A ``Message`` *is* the English sentence (a ``str``: the command line prints it as it is) and keeps
what is needed to say it again in another language: ``translate(message, "es")``. Pages translate
at the moment they show a message, so a sentence made in a training thread is shown in each
reader's own language. Outside text (names of classes, files, students) goes in as a value and is
never translated.

Whole sentences only: a reason is its own sentence said after another (``sentences(msg("{name} was
skipped.", name=n), reason)``), never a clause slotted into one; a list of names or messages is a
``Listed(items)`` value, said with the reader's list pattern ("a, b, and c", "a, b y c").

Catalogues: ``tlcore/i18n/locales/<code>.po`` (gettext; English msgids; named placeholders
``{name}``; plural forms per language). A new language is one new ``.po`` file and nothing else
(``python -m tlcore.i18n update`` extracts the messages with Babel and fills every catalogue with
the new ones; ``check`` lists what is missing). Catalogues are compiled (Babel) the first time a
language is used.
"""

from __future__ import annotations

import functools
import gettext
import io
import os
import re
from dataclasses import dataclass
from pathlib import Path

SOURCE_LANGUAGE = "en"
LOCALES = Path(__file__).resolve().parent / "locales"
MISSING_MARK_ENV = "TLCORE_I18N_MARK_MISSING"  # tests: an untranslated message shows as ⟦…⟧
_PLACEHOLDER = re.compile(r"(?<!\{)\{([A-Za-z_][A-Za-z0-9_]*)(?:[:!][^{}]*)?\}(?!\})")


# -- values that are formatted for the reader's language ---------------------------------------
@dataclass(frozen=True)
class Percent:
    """A fraction shown as a percentage in the reader's language: Percent(0.83) → "83%", "83 %"."""

    value: float
    digits: int = 0


@dataclass(frozen=True)
class Decimal:
    """A number with a fixed count of decimals: Decimal(0.8174, 2) → "0.82", "0,82"."""

    value: float
    digits: int = 1


@dataclass(frozen=True)
class Listed:
    """Items said as one list, the way the reader's language lists things (Babel's list patterns):
    Listed(("daisy", "rose", "tulip")) → "daisy, rose, and tulip", "daisy, rose y tulip", "daisy、rose和tulip".
    An item may be a Message (translated) or outside text (a name: as it is). ``style``: "standard"
    (and) or "or". The one home for lists: never ", ".join translated pieces."""

    items: tuple
    style: str = "standard"

    def __post_init__(self):
        object.__setattr__(self, "items", tuple(self.items))


def format_list(items, language: str, style: str = "standard") -> str:
    """``items`` (Messages translated, anything else as it is) as one list in ``language``."""
    from babel import lists

    said = [format_value(item, language) for item in items]
    try:
        return lists.format_list(said, style, locale=_babel_locale(language))
    except (KeyError, ValueError):  # a style some locales lack in Babel's data
        return lists.format_list(said, "standard", locale=_babel_locale(language))


# -- messages -----------------------------------------------------------------------------------
class Message(str):
    """An English sentence that can be said again in another language (see the module's doc)."""

    __slots__ = ("msgid", "plural", "count", "params")

    def __new__(cls, msgid: str, plural: str | None = None, count: int | None = None, params=None):
        params = dict(params or {})
        if plural is not None:
            params.setdefault("count", count)
        english = _fill(msgid if plural is None or count == 1 else plural, params, SOURCE_LANGUAGE)
        self = super().__new__(cls, english)
        self.msgid, self.plural, self.count, self.params = msgid, plural, count, params
        return self

    def __reduce__(self):  # pickled (sent to another process) as a Message, not a plain str
        return (Message, (self.msgid, self.plural, self.count, self.params))

    def translated(self, language: str) -> str:
        if language == SOURCE_LANGUAGE:
            return str.__str__(self)
        catalogue = _catalogue(language)
        # Missing: not in the catalogue (a translation may rightly equal the English: "VGG16", "{a} · {b}").
        known = getattr(catalogue, "_catalog", {})
        if self.plural is None:
            text = catalogue.gettext(self.msgid) if catalogue else self.msgid
            missing = self.msgid not in known
        else:
            text = catalogue.ngettext(self.msgid, self.plural, self.count) if catalogue else (
                self.msgid if self.count == 1 else self.plural)
            missing = (self.msgid, 0) not in known
        filled = _fill(text, self.params, language)
        return f"⟦{filled}⟧" if missing and _mark_missing() else filled


class Sentences(Message):
    """Whole sentences said one after another (never pieces of one sentence)."""

    __slots__ = ("parts",)

    def __new__(cls, *parts):
        parts = tuple(part for part in parts if part)
        self = str.__new__(cls, " ".join(str(part) for part in parts))
        self.msgid, self.plural, self.count, self.params, self.parts = str(self), None, None, {}, parts
        return self

    def __reduce__(self):
        return (Sentences, self.parts)

    def translated(self, language: str) -> str:
        joiner = "" if language.split("_")[0] in ("zh", "ja") else " "
        return joiner.join(translate(part, language) for part in self.parts)


def msg(text: str, **params) -> Message:
    """A sentence to translate; ``{name}`` placeholders are filled from ``params``."""
    return Message(text, params=params)


def msg_n(singular: str, plural: str, count: int, **params) -> Message:
    """A sentence whose words depend on ``count`` (each language has its own plural forms)."""
    return Message(singular, plural, int(count), params)


def N_(text: str) -> str:
    """Marks a constant for the catalogue; it is translated where it is shown (``translate(msg(X))``)."""
    return text


def sentences(*parts) -> Message:
    return Sentences(*parts)


def translate(text, language: str | None) -> str:
    """``text`` in ``language``: a Message (or an exception carrying one) translated, anything
    else (outside text: a name, a number) returned as it is."""
    if isinstance(text, BaseException):
        text = text.args[0] if len(text.args) == 1 and isinstance(text.args[0], Message) else str(text)
    if isinstance(text, Message):
        return text.translated(language or SOURCE_LANGUAGE)
    return "" if text is None else str(text)


# -- formatting values --------------------------------------------------------------------------
def _fill(text: str, params: dict, language: str) -> str:
    if not params:
        return text
    values = {name: format_value(value, language) for name, value in params.items()}
    try:
        return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), text)
    except (KeyError, IndexError, ValueError):  # a broken translation never hides the message
        return text


def format_value(value, language: str) -> str:
    """A value as the reader's language writes it (numbers grouped, percentages, decimals)."""
    from babel import numbers

    locale = _babel_locale(language)
    if isinstance(value, Message):
        return value.translated(language)
    if isinstance(value, Listed):
        return format_list(value.items, language, value.style)
    if isinstance(value, Percent):
        # The language's own pattern ("83 %" in French); decimals only when asked for.
        return numbers.format_percent(round(value.value, value.digits + 2), locale=locale,
                                      decimal_quantization=not value.digits)
    if isinstance(value, Decimal):
        return numbers.format_decimal(round(value.value, value.digits),
                                      "#,##0." + "0" * value.digits if value.digits else "#,##0", locale=locale)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, int):
        return numbers.format_decimal(value, locale=locale)
    return numbers.format_decimal(value, "#,##0.##", locale=locale)


def placeholders(text: str) -> set[str]:
    """The named placeholders of a message: "{count} of {total}" → {"count", "total"}."""
    return {match.group(1) for match in _PLACEHOLDER.finditer(text or "")}


# -- languages and catalogues -----------------------------------------------------------------------
@dataclass(frozen=True)
class Language:
    code: str  # as the catalogue's file is named: "es", "pt_BR", "zh_Hans"
    name: str  # in the language itself: "Español", "العربية"
    right_to_left: bool

    @property
    def html_lang(self) -> str:
        """The BCP 47 tag for the page (``<html lang>``): "pt-BR", "zh-Hans"."""
        return self.code.replace("_", "-")


@functools.lru_cache(maxsize=None)
def _language(code: str) -> Language:
    locale = _babel_locale(code)
    name = locale.get_display_name(locale) or code
    return Language(code, name[:1].upper() + name[1:], locale.text_direction == "rtl")


def languages() -> list[Language]:
    """English, then every language with a catalogue, by code."""
    codes = sorted(path.stem for path in LOCALES.glob("*.po"))
    return [_language(SOURCE_LANGUAGE)] + [_language(code) for code in codes if code != SOURCE_LANGUAGE]


def language(code: str) -> Language:
    return _language(code)


def best_language(wanted) -> str:
    """The catalogue that best fits a browser's languages ("es-MX,es;q=0.9", ["pt-PT"], "zh-CN"):
    the same language and region, else the same language, else English."""
    codes = [lang.code for lang in languages()]
    for tag in _tags(wanted):
        parts = tag.replace("-", "_").split("_")
        base = parts[0].lower()
        for code in codes:
            if code.lower() == tag.replace("-", "_").lower():
                return code
        for code in codes:
            if code.split("_")[0].lower() == base:
                return code
    return SOURCE_LANGUAGE


def _tags(wanted) -> list[str]:
    if not wanted:
        return []
    if isinstance(wanted, str):
        items = []
        for part in wanted.split(","):
            tag, _, quality = part.strip().partition(";q=")
            try:
                items.append((float(quality) if quality else 1.0, tag.strip()))
            except ValueError:
                continue
        return [tag for q, tag in sorted(items, key=lambda item: -item[0]) if tag and tag != "*"]
    return [str(tag) for tag in wanted if tag]


def _babel_locale(code: str):
    from babel import Locale, UnknownLocaleError

    try:
        return Locale.parse(code)
    except (UnknownLocaleError, ValueError, TypeError):
        return Locale.parse(SOURCE_LANGUAGE)


def _catalogue(code: str) -> gettext.GNUTranslations | None:
    path = LOCALES / f"{code}.po"
    try:
        stamp = path.stat().st_mtime_ns
    except OSError:
        return None
    return _compiled(path, stamp)


@functools.lru_cache(maxsize=32)
def _compiled(path: Path, stamp: int) -> gettext.GNUTranslations:
    """The ``.po`` compiled into a ``.mo`` in memory (Babel), read by the standard ``gettext``."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with path.open("rb") as handle:
        catalog = read_po(handle, locale=path.stem)
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


def _mark_missing() -> bool:
    return os.environ.get(MISSING_MARK_ENV, "") == "1"


__all__ = ["Decimal", "Language", "Listed", "Message", "N_", "Percent", "SOURCE_LANGUAGE", "best_language",
           "format_list", "format_value", "language", "languages", "msg", "msg_n", "placeholders", "sentences",
           "translate"]
