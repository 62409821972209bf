"""The translation core: messages that are English for the command line and translated for a page,
plural forms per language, numbers in the reader's language, and the browser's language chosen."""

from __future__ import annotations

import pickle

import pytest
from pathlib import Path

import tlcore.i18n as i18n
from tlcore.i18n import Decimal, Percent, best_language, msg, msg_n, sentences, translate

FRENCH = r'''
msgid ""
msgstr ""
"Content-Type: text/plain; charset=UTF-8\n"
"Plural-Forms: nplurals=2; plural=(n > 1);\n"
"Language: fr\n"

msgid "Hello {name}."
msgstr "Bonjour {name}."

msgid "{count} picture was skipped."
msgid_plural "{count} pictures were skipped."
msgstr[0] "{count} image a été ignorée."
msgstr[1] "{count} images ont été ignorées."

msgid "{share} right."
msgstr "{share} de bonnes réponses."
'''

ARABIC = r'''
msgid ""
msgstr ""
"Content-Type: text/plain; charset=UTF-8\n"
"Plural-Forms: nplurals=6; plural=(n==0 ? 0 : n==1 ? 1 : n==2 ? 2 : n%100>=3 && n%100<=10 ? 3 : n%100>=11 ? 4 : 5);\n"
"Language: ar\n"

msgid "{count} picture was skipped."
msgid_plural "{count} pictures were skipped."
msgstr[0] "لم يتم تخطي أي صورة."
msgstr[1] "تم تخطي صورة واحدة."
msgstr[2] "تم تخطي صورتين."
msgstr[3] "تم تخطي {count} صور."
msgstr[4] "تم تخطي {count} صورة."
msgstr[5] "تم تخطي {count} صورة."
'''


@pytest.fixture()
def catalogues(tmp_path, monkeypatch):
    (tmp_path / "fr.po").write_text(FRENCH, encoding="utf-8")
    (tmp_path / "ar.po").write_text(ARABIC, encoding="utf-8")
    monkeypatch.setattr(i18n, "LOCALES", tmp_path)
    return tmp_path


def test_a_message_is_english_for_the_command_line_and_translated_for_a_page(catalogues):
    message = msg("Hello {name}.", name="<b>Zoë</b>")
    assert message == "Hello <b>Zoë</b>."  # a str: print() and f-strings give the English
    assert translate(message, "fr") == "Bonjour <b>Zoë</b>."  # outside text as typed, never translated
    assert translate(ValueError(message), "fr") == "Bonjour <b>Zoë</b>."
    assert translate("Zoë's class", "fr") == "Zoë's class"  # plain text is outside text


def test_plural_forms_follow_each_language(catalogues):
    def said(n, language):
        return translate(msg_n("{count} picture was skipped.", "{count} pictures were skipped.", n), language)

    assert [said(n, "en") for n in (0, 1, 2)] == [
        "0 pictures were skipped.", "1 picture was skipped.", "2 pictures were skipped."]
    assert [said(n, "fr") for n in (0, 1, 2)] == [  # French: 0 and 1 are singular
        "0 image a été ignorée.", "1 image a été ignorée.", "2 images ont été ignorées."]
    assert said(2, "ar") == "تم تخطي صورتين."  # Arabic has a dual
    assert said(5, "ar") == "تم تخطي 5 صور."
    assert said(1234, "fr") == "1\u202f234 images ont été ignorées."  # grouped the French way


def test_numbers_and_percentages_in_the_readers_language(catalogues):
    assert translate(msg("{share} right.", share=Percent(0.834)), "en") == "83% right."
    assert translate(msg("{share} right.", share=Percent(0.834)), "fr") == "83\u00a0% de bonnes réponses."
    assert i18n.format_value(Decimal(0.8174, 2), "de") == "0,82"
    assert i18n.format_value(12345, "de") == "12.345"


def test_a_missing_translation_falls_back_to_english_and_can_be_marked(catalogues, monkeypatch):
    assert translate(msg("Not in the catalogue."), "fr") == "Not in the catalogue."
    monkeypatch.setenv(i18n.MISSING_MARK_ENV, "1")
    assert translate(msg("Not in the catalogue."), "fr") == "⟦Not in the catalogue.⟧"
    assert translate(msg("Hello {name}."), "fr").startswith("Bonjour")


def test_sentences_are_translated_one_by_one_and_survive_a_trip_between_processes(catalogues):
    both = sentences(msg("Hello {name}.", name="Ada"), msg_n("{count} picture was skipped.",
                                                             "{count} pictures were skipped.", 3))
    assert both == "Hello Ada. 3 pictures were skipped."
    assert translate(both, "fr") == "Bonjour Ada. 3 images ont été ignorées."
    again = pickle.loads(pickle.dumps(both))
    assert translate(again, "fr") == "Bonjour Ada. 3 images ont été ignorées."


def test_languages_come_from_the_catalogue_files(catalogues):
    found = {language.code: language for language in i18n.languages()}
    assert list(found) == ["en", "ar", "fr"]
    assert found["ar"].right_to_left and not found["fr"].right_to_left
    assert found["fr"].name == "Français" and found["ar"].name == "العربية"


@pytest.mark.parametrize("wanted, expected", [
    ("fr-CH,fr;q=0.9,en;q=0.8", "fr"), ("de-DE,fr;q=0.5", "fr"), (["ar-EG"], "ar"), ("", "en"),
    ("es;q=0.9,fr;q=1.0", "fr"), ("ja", "en"),
])
def test_the_browsers_language_picks_the_nearest_catalogue(catalogues, wanted, expected):
    assert best_language(wanted) == expected


SHIPPED = sorted(path.stem for path in (Path(__file__).resolve().parents[1] / "tlcore" / "i18n" / "locales").glob("*.po"))


@pytest.mark.parametrize("code", SHIPPED)
def test_every_message_has_a_translation_in_every_catalogue(code):
    """None missing, empty or fuzzy, and the same placeholders as the English."""
    from tlcore.i18n.catalogues import problems

    found = problems(code)
    assert not found, f"{code}: {len(found)} problem(s), e.g.\n" + "\n".join(found[:20])


def test_lists_are_said_the_way_each_language_lists_things(catalogues):
    """One list helper (Babel's list patterns): names as typed, translated items in the reader's words."""
    from tlcore.i18n import Listed, format_list

    hello = msg("Hello {name}.", name=Listed(("Ada", "Bo", "Cy")))
    assert hello == "Hello Ada, Bo, and Cy."
    assert translate(hello, "fr") == "Bonjour Ada, Bo et Cy."
    assert format_list(["Ada", msg("Hello {name}.", name="Bo")], "fr") == "Ada et Bonjour Bo."
    assert format_list(["Ada", "Bo"], "ar") == "Ada وBo"
    assert translate(pickle.loads(pickle.dumps(hello)), "fr") == "Bonjour Ada, Bo et Cy."


# A sentence is never built from pieces translated apart (issue 20): the shapes that did it, gone for good.
GLUED = [
    (r"\b(it|its name|the name '\{name\}')\s+\{\w+\}", "a clause slotted in after \"it\": \"…: it {reason}.\""),
    (r"^(is|are|has|holds|could|did|does|says|plays|shows|uses|leads|starts|was|were)\b",
     "a clause that fits after \"it\" (\"is not a picture\")"),
    (r"^(with|with only|one repeat|the error bars|the live video|this browser|this page|no camera|live video|"
     r"they|its|it|as chosen)\b", "a reason clause made to fit into another sentence"),
    (r"^\{\w+\}[,;] \{\w+\}$", "a list made by gluing two placeholders (use tlcore.i18n.Listed)"),
    (r"^\{\w+\}\.$", "a sentence that is only a placeholder"),
    (r"^,|^ \(", "a clause glued onto another sentence (starts with a comma or a space)"),
    (r"\{\w+\}\{\w+\}|right\{\w+\}", "a fragment glued without a space (\"right{interval}\")"),
    (r"^\{\w+\} million$", "a number word made to fit into other sentences"),
]


def _template_messages():
    from babel.messages.pofile import read_po

    with (Path(i18n.LOCALES) / "messages.pot").open("rb") as handle:
        return [m for m in read_po(handle) if m.id]


def test_no_message_is_a_fragment_of_another_sentence():
    import re

    found = [f"{m.id!r}: {why}" for m in _template_messages() for pattern, why in GLUED
             if re.search(pattern, m.id[0] if isinstance(m.id, (list, tuple)) else m.id)]
    assert not found, "\n".join(found)


def test_every_count_is_said_with_plural_forms():
    """A message with a {count} is a plural message (msg_n / _n): the words around a number change with it."""
    found = [m.id for m in _template_messages() if not isinstance(m.id, (list, tuple)) and "count" in i18n.placeholders(m.id)]
    assert not found, "\n".join(found)
