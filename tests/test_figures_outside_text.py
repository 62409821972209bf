"""Outside text in charts (names, classes, runs, file names) is drawn exactly as typed, never as markup.

Plotly reads a subset of HTML in every text it draws: a student who joins as ``<a href=…>Zed</a>``
would be a link on the projected leaderboard. Every figure builder is fed markup and its figure's
JSON is read back: the markup is there only as entities, and what Plotly draws from it (tags split
off, entities decoded, as its svg_text_utils does) is the text as typed. One test draws two charts
in real Chromium with Plotly's own JavaScript and reads the SVG text back.
"""

from __future__ import annotations

import html
import inspect
import json
import re
from types import SimpleNamespace

import pytest

from app_pages.teacher import leaderboard_figure
from studio import figures

TYPED = (
    '<a href="https://example.com">Zed</a>',
    '<span style="font-size:99px">X</span>',
    "<b>Bo</b><br>ld",
    "A&amp;B %{x} <i>",  # an entity, a template field and a tag left open: all shown as typed
)
# Plotly's drawing of a text (plotly.js svg_text_utils): these tags render, other text is entity-decoded.
_TAG = re.compile(r"(<[^<>]*>)")
_PLOTLY_TAGS = {"a", "b", "br", "em", "i", "s", "span", "sub", "sup", "u"}
_ENTITY = re.compile(r"&(#\d+|#x[\da-fA-F]+|[a-z]+);")
_NAMED = {"mu": "\u03bc", "amp": "&", "lt": "<", "gt": ">", "nbsp": "\xa0", "times": "\xd7", "plusmn": "\xb1",
          "deg": "\xb0"}


def drawn(text: str) -> tuple[str, list[str]]:
    """(the characters Plotly draws, the tags it renders) for one text, as plotly.js does it."""
    shown, tags = [], []
    for piece in _TAG.split(text.replace("\r\n", " ").replace("\n", " ")):
        tag = re.fullmatch(r"<\s*/?\s*([A-Za-z]+)[^>]*>", piece)
        if tag and tag.group(1).lower() in _PLOTLY_TAGS:
            tags.append(piece)
            continue
        shown.append(_ENTITY.sub(lambda m: _entity(m), piece))
    return "".join(shown), tags


def _entity(match) -> str:
    code = match.group(1)
    if code.startswith("#x"):
        return chr(int(code[2:], 16))
    if code.startswith("#"):
        return chr(int(code[1:]))
    return _NAMED.get(code, match.group(0))


def texts(figure) -> list[tuple[str, str]]:
    """Every text in the figure's JSON as (key, text), Plotly's own default template left out."""
    found = []

    def walk(value, key=""):
        if isinstance(value, dict):
            for name, inner in value.items():
                if name != "template":
                    walk(inner, name)
        elif isinstance(value, (list, tuple)):
            for inner in value:
                walk(inner, key)
        elif isinstance(value, str):
            found.append((key, value))

    walk(json.loads(figure.to_json()))
    return found


# -- every figure builder, each fed the typed texts wherever outside text goes in ------------------------
def _rows(configurations):
    return [{"configuration": c, "train_seconds_mean": 3.0 + k, "val_accuracy_mean": 0.7,
             "val_accuracy_ci95": (0.6, 0.8), "per_class": "all", "train_pictures": 40, "per_class_accuracy": {}}
            for k, c in enumerate(configurations)]


BUILDERS = {
    "curve_figure": lambda typed: [figures.curve_figure({"accuracy": [0.5, 0.7], "val_accuracy": [0.4, 0.6]},
                                                        "accuracy", 2, 1, title=t) for t in typed],
    "overlay_figure": lambda typed: [figures.overlay_figure([(t, [0.5, 0.6]) for t in typed], "val_accuracy")],
    "blocks_figure": lambda typed: [figures.blocks_figure(
        [SimpleNamespace(name=t, params=1000, learning=k % 2 == 0) for k, t in enumerate(typed)], 50, 2, t)
        for t in typed],
    "confusion_figure": lambda typed: [figures.confusion_figure(
        [[2 if i == j else 1 for j in range(len(typed))] for i in range(len(typed))], list(typed), (0, 1))],
    "threshold_figure": None,  # no outside text: the "not sure" curve is numbers only
    "experiment_curves_figure": lambda typed: [figures.experiment_curves_figure(
        [(t, [0.5, 0.7], [0.05, 0.02]) for t in typed], t) for t in typed],
    "learning_curve_figure": lambda typed: [figures.learning_curve_figure(_rows(["all"]), 2, t) for t in typed],
    # one label at a time: short ones are written beside their dot, long ones go to the key
    "accuracy_time_figure": lambda typed: [figures.accuracy_time_figure(_rows([t]), [t], t) for t in typed],
    "per_class_figure": lambda typed: [figures.per_class_figure(
        list(typed), [(t, {name: 0.5 for name in typed}) for t in typed], t) for t in typed],
    "embedding_figure": lambda typed: [figures.embedding_figure(
        [[float(k), float(k)] for k in range(len(typed))], list(range(len(typed))), list(typed),
        [f"{t}.jpg" for t in typed], list(range(len(typed))), t) for t in typed],
    "leaderboard_figure": lambda typed: [leaderboard_figure(
        [SimpleNamespace(space=SimpleNamespace(name=t), classes=k % 3, best_accuracy=0.5 + k / 10,
                         best_interval=(0.3, 0.8), best_val_pictures=6)
         for k, t in enumerate(typed)])],
}


def test_every_figure_builder_is_checked():
    builders = {name for name, value in inspect.getmembers(figures, inspect.isfunction)
                if name.endswith("_figure") and value.__module__ == figures.__name__} | {"leaderboard_figure"}
    assert builders == set(BUILDERS), "a new figure builder: add it to BUILDERS with the outside text it takes"


@pytest.mark.parametrize("builder", sorted(name for name, build in BUILDERS.items() if build))
def test_markup_in_outside_text_is_drawn_as_typed(builder):
    seen = set()
    for figure in BUILDERS[builder](TYPED):
        for key, text in texts(figure):
            assert not any(typed in text for typed in TYPED), f"{key}: raw markup {text!r}"
            if key.endswith("template"):  # the builder's own markup; outside text never goes in one
                assert not any(html.escape(typed, quote=False) in text for typed in TYPED), f"{key}: {text!r}"
                continue
            shown, tags = drawn(text)
            if not any(html.escape(typed, quote=False) in text for typed in TYPED):
                tags = [tag for tag in tags if tag != "<br>"]  # the builder's own line break, no outside text
            assert tags == [], f"{key}: Plotly would render {tags} from {text!r}"
            seen |= {typed for typed in TYPED if typed in shown}
    assert seen == set(TYPED), f"not drawn as typed: {set(TYPED) - seen}"


def test_plain_is_what_plotly_turns_back_into_the_typed_text():
    for typed in (*TYPED, "Ana", "Tom & Jerry", "&lt;3", "café 🌼", "x<y>z"):
        assert drawn(figures.plain(typed)) == (typed, [])
    assert drawn(TYPED[0])[1] == ['<a href="https://example.com">', "</a>"]  # what it prevents
    assert figures.plain(42) == "42"


@pytest.mark.e2e
def test_chromium_draws_the_names_as_typed(tmp_path):
    """The leaderboard (names as tick labels) and the runs overlay (names in the legend), drawn by
    Plotly's own JavaScript in real Chromium: the SVG holds the typed text, no link, no tspan styled."""
    from appserver import chromium_missing, launch_chromium

    missing = chromium_missing()
    if missing:
        pytest.skip(missing)
    from playwright.sync_api import sync_playwright

    board = leaderboard_figure([SimpleNamespace(space=SimpleNamespace(name=t), classes=0, best_accuracy=0.4 + k / 10,
                                                best_interval=(0.2, 0.7), best_val_pictures=6)
                                for k, t in enumerate(TYPED)])
    overlay = figures.overlay_figure([(t, [0.5, 0.6]) for t in TYPED], "val_accuracy")
    page_file = tmp_path / "charts.html"
    page_file.write_text(board.to_html(include_plotlyjs=True, div_id="board", full_html=True)
                         + overlay.to_html(include_plotlyjs=False, div_id="overlay", full_html=False))
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            page = browser.new_page()
            page.goto(page_file.as_uri())
            page.wait_for_selector("#overlay .legendtext")
            ticks = page.eval_on_selector_all("#board .ytick text", "nodes => nodes.map(n => n.textContent)")
            legend = page.eval_on_selector_all("#overlay .legendtext", "nodes => nodes.map(n => n.textContent)")
            links = page.eval_on_selector_all("svg a", "nodes => nodes.length")
            styled = page.eval_on_selector_all("#board .ytick tspan[style]", "nodes => nodes.length")
        finally:
            browser.close()
    assert sorted(ticks) == sorted(TYPED) and legend == list(TYPED)
    assert (links, styled) == (0, 0)
