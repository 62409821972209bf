"""Keeping the catalogues in step with the code, with Babel (``python -m tlcore.i18n``):

    update   extract every message (app.py, app_pages/, studio/, tlcore/) into messages.pot and
             add the new ones to each locales/<code>.po (empty, to translate); messages no longer
             in the code are dropped
    check    list, per language, the messages with no translation or with other placeholders
    new CODE start a catalogue for a new language (then translate it: that is all a language needs)

What is extracted: ``_("…")`` and ``_n("…", "…", n)`` (pages), ``msg("…")``, ``msg_n("…", "…", n)``
and ``N_("…")`` (tlcore and constants).
"""

from __future__ import annotations

import sys
from pathlib import Path

from . import LOCALES, placeholders

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ("app.py", "app_pages", "studio", "tlcore")
KEYWORDS = {"_": None, "_n": (1, 2), "msg": None, "msg_n": (1, 2), "N_": None}
TEMPLATE = LOCALES / "messages.pot"
HEADER_COMMENT = ("# Transfer Learning Studio: {name}.\n"
                  "# Written for 10–14-year-olds, in plain words. Keep placeholders such as {{count}} as they are.\n"
                  "# Glossary (one word for each idea, everywhere):\n")


def extract():
    """Every message in the code, as a Babel catalog (with where each one is used)."""
    from babel.messages.catalog import Catalog
    from babel.messages.extract import extract_from_file

    catalog = Catalog(project="Transfer Learning Studio", charset="utf-8")
    for path in _source_files():
        for line, message, comments, _context in extract_from_file(
                "python", str(path), keywords=KEYWORDS, comment_tags=("i18n:",), strip_comment_tags=True):
            location = (str(path.relative_to(ROOT)), line)
            if isinstance(message, tuple):
                if not message[0]:
                    continue
                catalog.add(message[:2] if message[1] else message[0], locations=[location],
                            auto_comments=comments)
            elif message:
                catalog.add(message, locations=[location], auto_comments=comments)
    return catalog


def _source_files():
    for name in SOURCES:
        path = ROOT / name
        if path.is_file():
            yield path
        else:
            yield from sorted(p for p in path.rglob("*.py") if "__pycache__" not in p.parts)


def update() -> dict[str, int]:
    """Write messages.pot and bring every catalogue up to date; new messages per language."""
    from babel.messages.pofile import read_po, write_po

    template = extract()
    with TEMPLATE.open("wb") as handle:
        write_po(handle, template, width=100, omit_header=False, sort_output=False)
    added = {}
    for path in sorted(LOCALES.glob("*.po")):
        with path.open("rb") as handle:
            catalog = read_po(handle, locale=path.stem)
        before = {m.id if isinstance(m.id, str) else m.id[0] for m in catalog if m.id}
        catalog.update(template, no_fuzzy_matching=True)
        catalog.obsolete.clear()
        added[path.stem] = sum(1 for m in catalog if m.id and (m.id if isinstance(m.id, str) else m.id[0]) not in before)
        with path.open("wb") as handle:
            write_po(handle, catalog, width=100, sort_output=False)
    return added


def problems(code: str) -> list[str]:
    """What is wrong with one catalogue: messages missing, empty, fuzzy, or with other placeholders."""
    from babel.messages.pofile import read_po

    template = extract()
    with (LOCALES / f"{code}.po").open("rb") as handle:
        catalog = read_po(handle, locale=code)
    found = []
    for message in template:
        if not message.id:
            continue
        translation = catalog.get(message.id)
        name = message.id if isinstance(message.id, str) else message.id[0]
        if translation is None:
            found.append(f"missing: {name!r}")
            continue
        strings = translation.string if isinstance(translation.string, (tuple, list)) else (translation.string,)
        if translation.fuzzy or not all(strings):
            found.append(f"not translated: {name!r}")
            continue
        wanted = placeholders(name)
        for text in strings:
            if placeholders(text) - wanted or (wanted - {"count"}) - placeholders(text):
                found.append(f"placeholders differ: {name!r} → {text!r}")
    return found


def new(code: str) -> Path:
    """An empty catalogue for a new language (its plural rules from Babel's locale data)."""
    from babel import Locale
    from babel.messages.catalog import Catalog
    from babel.messages.pofile import write_po

    locale = Locale.parse(code)
    path = LOCALES / f"{code}.po"
    if path.exists():
        raise SystemExit(f"{path} already exists.")
    catalog = Catalog(locale=locale, project="Transfer Learning Studio", charset="utf-8",
                      header_comment=HEADER_COMMENT.format(name=locale.english_name))
    for message in extract():
        if message.id:
            catalog.add(message.id, locations=message.locations, auto_comments=message.auto_comments)
    with path.open("wb") as handle:
        write_po(handle, catalog, width=100, sort_output=False)
    return path


def main(argv=None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    command = args[0] if args else "check"
    if command == "update":
        for code, count in update().items():
            print(f"{code}: {count} new message(s) to translate")
        return 0
    if command == "new" and len(args) == 2:
        print(f"Started {new(args[1])}: translate every message in it.")
        return 0
    if command == "check":
        failed = 0
        for path in sorted(LOCALES.glob("*.po")):
            found = problems(path.stem)
            failed += bool(found)
            print(f"{path.stem}: {'ok' if not found else f'{len(found)} problem(s)'}")
            for line in found[:20]:
                print("   ", line)
        return 1 if failed else 0
    print(__doc__)
    return 2
