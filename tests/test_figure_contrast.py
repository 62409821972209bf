"""Every chart's text reads at WCAG 2.2 AA: 4.5:1 at least against what it is drawn on.

axe-core checks the page's HTML text, not the SVG a Plotly chart draws. Every figure builder (the
ones test_figures_outside_text.py finds, and the class-swap grid) is built, and the colour of each
text it draws is read from the figure object the way Plotly falls back (an axis's tick labels, its
title, the chart's title, the legend, notes, text beside dots, numbers inside bars): it must be set
(never left to a template: Streamlit's draws ticks in a 3.7:1 grey) and reach 4.5:1 against the
paper and plot background, or against the bar it sits in.
"""

from __future__ import annotations

import json

import pytest

from studio import figures
from studio.class_swap import swap_figure
from test_figures_outside_text import BUILDERS

AA_TEXT = 4.5
NAMES = ("bees", "wasps", "ants")
_NAMED = {"white": "#FFFFFF", "black": "#000000"}


def luminance(colour: str) -> float:
    """WCAG's relative luminance of "#RRGGBB" (or "white", "black")."""
    colour = _NAMED.get(str(colour).lower(), str(colour))
    assert len(colour) == 7 and colour.startswith("#"), f"not an opaque #RRGGBB colour: {colour!r}"
    channels = [int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    red, green, blue = (c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def contrast(first: str, second: str) -> float:
    high, low = sorted((luminance(first), luminance(second)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def text_colours(figure) -> list[tuple[str, str, list[str]]]:
    """(what, its colour, the colours it is drawn on) for every text the figure draws."""
    layout = json.loads(figure.to_json())["layout"]
    layout.pop("template", None)  # what a template says does not count: Streamlit swaps it
    base = (layout.get("font") or {}).get("color")
    ground = [layout.get("paper_bgcolor"), layout.get("plot_bgcolor")]
    found = [("font", base, ground), ("title", (layout.get("title", {}).get("font") or {}).get("color") or base, ground),
             ("legend", (layout.get("legend", {}).get("font") or {}).get("color") or base, ground)]
    for name, axis in layout.items():
        if name.startswith(("xaxis", "yaxis")):
            found.append((f"{name} ticks", (axis.get("tickfont") or {}).get("color") or base, ground))
            title_font = (axis.get("title") or {}).get("font") or {}
            found.append((f"{name} title", title_font.get("color") or base, ground))
    for index, note in enumerate(layout.get("annotations") or []):
        found.append((f"note {index}", (note.get("font") or {}).get("color") or base, ground))
    for index, trace in enumerate(json.loads(figure.to_json())["data"]):
        found += _trace_texts(index, trace, base, ground)
    return found


def _trace_texts(index: int, trace: dict, base: str, ground: list) -> list:
    own = (trace.get("textfont") or {}).get("color")
    if trace["type"] == "scatter" and "text" in (trace.get("mode") or ""):
        return [(f"trace {index} text", own or base, ground)]
    if trace["type"] == "bar" and trace.get("text") is not None:
        bars = (trace.get("marker") or {}).get("color")
        bars = bars if isinstance(bars, list) else [bars]
        inside = (trace.get("insidetextfont") or {}).get("color") or own
        found = [(f"trace {index} text outside", (trace.get("outsidetextfont") or {}).get("color") or own or base,
                  ground)] if trace.get("textposition") in ("auto", "outside", None) else []
        if inside is not None and trace.get("textposition") != "outside":  # unset: Plotly picks black or white
            found.append((f"trace {index} text inside its bar", inside, bars))
        return found
    return []  # a heatmap's numbers: Plotly picks black or white for each square


def figures_to_check():
    for name in sorted(BUILDERS):
        build = BUILDERS[name]
        if build is None:
            yield name, figures.threshold_figure([(0.0, 1.0, 0.8), (0.5, 0.7, 0.9)], 0.5)
            continue
        for figure in build(NAMES):
            yield name, figure
    grid = type("Grid", (), {"names": list(NAMES), "accuracy": [[0.9, 0.5, None], [0.4, 0.8, 0.6], [0.7, 0.6, 1.0]]})
    yield "swap_figure", swap_figure(grid)


@pytest.mark.parametrize("name, figure", list(figures_to_check()), ids=lambda v: v if isinstance(v, str) else "")
def test_every_text_of_every_chart_reaches_4_5_to_1(name, figure):
    low = []
    for what, colour, grounds in text_colours(figure):
        assert colour, f"{name}: {what} has no colour of its own (a template would choose it)"
        for ground in grounds:
            assert ground, f"{name}: no background colour set (paper_bgcolor and plot_bgcolor)"
            if contrast(colour, ground) < AA_TEXT:
                low.append(f"{what}: {colour} on {ground} is {contrast(colour, ground):.2f}:1")
    assert low == [], f"{name}: " + "; ".join(low)


def test_the_contrast_sum_is_wcags():
    assert contrast("#000000", "#FFFFFF") == pytest.approx(21.0)
    assert contrast("#808495", "white") == pytest.approx(3.72, abs=0.01)  # Streamlit's grey ticks: too faint
    assert contrast(figures.TEXT_COLOUR, figures.BACKGROUND) >= 12
