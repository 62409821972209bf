"""The app's figures: learning curves, the blocks picture, the confusion matrix, the
"not sure" curve, the transfer-learning diagram. Plotly figures and Graphviz text only: no
Streamlit widgets here, and TensorFlow only inside ``augmented`` (when it is called).

Projector rule: every text in a figure is at least FONT_SIZE (18 px) — axis titles, ticks,
legends — so it can be read from the back of a classroom.

Words: every title, axis, legend, hover word and annotation goes through the catalogue
(``studio.i18n``); outside text goes in as a value, through ``plain`` (Plotly formats the
numbers it draws itself, ``%{y:.0%}``, the English way).

Outside text rule: Plotly reads a subset of HTML in every text it draws (titles, tick labels,
legends, hover, annotations): ``<a href>`` becomes a link, ``<span style>`` restyles, ``<b>`` and
``<br>`` render. A name typed by a student, a class from a zip's folders, a run or file name is
outside text: every builder passes it through ``plain`` where it comes in, so it is drawn exactly
as typed. Only the builders' own templates (``hovertemplate``) carry markup, and outside text is
never put into one (it rides in ``customdata``, or as the trace's name).
"""

from __future__ import annotations

import html
from typing import Iterable, Sequence

import plotly.graph_objects as go

from tlcore.i18n import N_, Percent, format_value

from .i18n import _, _n, language

# Okabe & Ito's colours, told apart by colour-blind eyes too; lines and marks at least 3:1 on white
# (blue 5.2:1, vermillion 3.9:1, bluish green 3.4:1). Frozen blocks stay grey ("the grey blocks").
TRAIN_COLOUR = "#0072B2"
VALIDATION_COLOUR = "#D55E00"
FROZEN_COLOUR = "#A6A6A6"
LEARNING_COLOUR = "#D55E00"
HEAD_COLOUR = "#009E73"
FONT_SIZE = 18
# Every text a chart draws on its white background (titles, ticks, axis titles, legends, notes):
# Streamlit's theme would draw ticks in its grey #808495, 3.7:1 on white, under WCAG's 4.5:1 for
# text; Streamlit's body colour is 12.5:1. A note in a line's colour uses a darker shade of it.
TEXT_COLOUR = "#31333F"
BACKGROUND = "#FFFFFF"
VALIDATION_TEXT_COLOUR = "#A33D00"  # vermillion, darkened to 6.5:1 on white
INSIDE_BAR_TEXT = "#000000"  # a number inside a coloured bar: 5.4:1 on vermillion, 6.1:1 on green
CHART_CONFIG = {"displayModeBar": False}
# Lines and dots that must be told apart (runs, configurations, classes): Okabe & Ito's
# qualitative palette, distinct for colour-blind eyes too and on a washed-out projector.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#8C6D31")
DASHES = ("solid", "dash", "dot", "dashdot")


def plain(text) -> str:
    """Outside text as Plotly draws it literally: ``<``, ``>`` and ``&`` as entities, which Plotly
    turns back into the very characters typed (so no tag is ever read from a name). Plotly draws a
    line break in text as a space; names never hold one (they are checked where they come in)."""
    return html.escape(str(text), quote=False)


def _number(value) -> str:
    """A number or Percent as the reader's language writes it."""
    return format_value(value, language())


def palette_colour(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


def palette_dash(index: int) -> str:
    """After every colour was used once, the same colours come back dashed."""
    return DASHES[(index // len(PALETTE)) % len(DASHES)]


def readable(fig: go.Figure) -> go.Figure:
    """The text colours and white background every figure of the app is drawn with (WCAG's 4.5:1
    for text, see TEXT_COLOUR): on the layout itself, so neither Plotly's nor Streamlit's template
    decides them. Call it after the axes exist (it colours every x and y axis of the figure)."""
    text = dict(color=TEXT_COLOUR)
    fig.update_layout(font=text, title_font=text, legend_font=text, paper_bgcolor=BACKGROUND,
                      plot_bgcolor=BACKGROUND, hoverlabel=dict(font=text, bgcolor=BACKGROUND))
    fig.update_xaxes(tickfont=text, title_font=text)
    fig.update_yaxes(tickfont=text, title_font=text)
    return fig


# -- figures -------------------------------------------------------------------------------------
def _base_layout(fig: go.Figure, title: str, height: int = 420) -> go.Figure:
    """Large fonts; the legend under the chart, where it never covers the title or the lines."""
    fig.update_layout(
        title=dict(text=plain(title), font=dict(size=FONT_SIZE + 4)),
        font=dict(size=FONT_SIZE),
        height=height,
        margin=dict(l=10, r=10, t=50, b=10),
        legend=dict(orientation="h", yanchor="top", y=-0.22, xanchor="left", x=0.0, font=dict(size=FONT_SIZE)),
        hovermode="x unified",
    )
    axis_text = dict(tickfont=dict(size=FONT_SIZE), title_font=dict(size=FONT_SIZE))
    fig.update_xaxes(**axis_text)
    fig.update_yaxes(**axis_text)
    return readable(fig)


def curve_figure(
    history: dict,
    metric: str,
    total_epochs: int,
    fine_tune_start: int | None = None,
    title: str | None = None,
    height: int = 420,
    legend: bool = True,
) -> go.Figure:
    """Training vs validation ``metric`` ("loss" or "accuracy") per epoch, one marker per epoch."""
    accuracy = metric == "accuracy"
    fig = go.Figure()
    for name, (label, colour), dash in zip((metric, f"val_{metric}"), CURVE_NAMES, ("solid", "solid")):
        values = [float(v) for v in history.get(name, [])]
        fig.add_trace(go.Scatter(
            x=list(range(1, len(values) + 1)), y=values, name=_(label), mode="lines+markers",
            line=dict(color=colour, width=3, dash=dash), marker=dict(size=10),
            hovertemplate="%{y:.0%}" if accuracy else "%{y:.3f}",
        ))
    epochs = max(int(total_epochs or 0), len(history.get(metric, [])), 1)
    fig.update_xaxes(title_text=_("Epoch (one pass over the pictures)"), range=[0.5, epochs + 0.5],
                     **epoch_ticks(epochs))
    right_half = fine_tune_start is not None and fine_tune_start + 0.5 > (epochs + 1) / 2
    if accuracy:
        fig.update_yaxes(title_text=_("Correct answers"), range=[0, 1.05], tickformat=".0%")
    else:
        fig.update_yaxes(title_text=_("Loss (lower is better)"), rangemode="tozero")
    if fine_tune_start is not None:
        fig.add_vline(x=fine_tune_start + 0.5, line=dict(color="#555", dash="dash", width=2))
        # On two lines, on the side of the line with more room: a phone's chart is 300 px wide,
        # and one line beside a late start ran off the chart ("fine-tuning sta").
        fig.add_annotation(x=fine_tune_start + 0.5, y=1, yref="paper", text=_("fine-tuning<br>starts"),
                           showarrow=False, xanchor="right" if right_half else "left", yanchor="top",
                           xshift=-4 if right_half else 4, align="right" if right_half else "left",
                           font=dict(size=FONT_SIZE))
    default_title = _("Accuracy: right answers") if accuracy else _("Loss: how wrong (lower is better)")
    fig = _base_layout(fig, title or default_title, height=height)
    fig.update_layout(showlegend=legend)
    return fig


# Shown with _(name) (the catalogue has them through N_)
CURVE_NAMES = ((N_("Training pictures"), TRAIN_COLOUR), (N_("Validation pictures (held back)"), VALIDATION_COLOUR))
EPOCH_TICKS = 10  # at most this many epoch numbers: a half-width chart on a projector fits them upright


def epoch_ticks(epochs: int) -> dict:
    """Whole epochs, upright: every one up to EPOCH_TICKS, then every 2nd, 5th, 10th... (1, 3, 5, ...)."""
    step = next(s for s in (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000) if epochs / s <= EPOCH_TICKS)
    return {"tickmode": "linear", "tick0": 1 if step <= 2 else step, "dtick": step, "tickangle": 0}


def overlay_figure(series: Iterable[tuple[str, Sequence[float]]], metric: str, legend: bool = True,
                   dashes: Sequence[str] | None = None) -> go.Figure:
    """One line per run for ``metric`` (e.g. "val_accuracy"), each in its own colour (PALETTE).
    ``legend=False`` where the page shows one key for several charts (``series_key_html``).
    ``dashes``: a dash pattern per line (``overlap_dashes``), so a line drawn over an identical
    one lets it show through its gaps; else solid, dashed once the colours come round."""
    accuracy = metric.endswith("accuracy")
    fig = go.Figure()
    longest = 1
    for index, (label, values) in enumerate(series):
        values = [float(v) for v in values]
        longest = max(longest, len(values))
        dash = dashes[index] if dashes else palette_dash(index)
        fig.add_trace(go.Scatter(x=list(range(1, len(values) + 1)), y=values, name=plain(label),
                                 mode="lines+markers", marker=dict(size=9 if dash == "solid" else 7,
                                                                   color=palette_colour(index)),
                                 line=dict(width=3, color=palette_colour(index), dash=dash)))
    fig.update_xaxes(title_text=_("Epoch"), range=[0.5, longest + 0.5], **epoch_ticks(longest))
    if accuracy:
        fig.update_yaxes(title_text=_("Correct answers on validation pictures"), range=[0, 1.05], tickformat=".0%")
        title = _("Validation accuracy")  # short enough for a phone: 390 px cut "(higher is better" off
    else:
        fig.update_yaxes(title_text=_("Validation loss"), rangemode="tozero")
        title = _("Validation loss (lower is better)")
    fig = _base_layout(fig, title, height=420 + (28 * len(fig.data) if legend else 0))
    fig.update_layout(showlegend=legend, legend=dict(orientation="v", y=-0.18))
    return fig


def series_key_html(labels: Sequence[str], dashes: Sequence[str] | None = None) -> str:
    """The key to ``overlay_figure``'s lines as HTML, one label a line, each in its line's colour
    (and how it is dashed where it is: colours come round again, or it lies on another line)."""
    dashes = list(dashes) if dashes else [palette_dash(index) for index in range(len(labels))]
    return "<br>".join(_key_item(palette_colour(index), "━", str(label),
                                 None if dash == "solid" else _(DASH_WORDS.get(dash, DASH_WORDS["dash"])))
                       for index, (label, dash) in enumerate(zip(labels, dashes)))


# i18n: how a line on a chart is drawn, shown after its name in brackets: "run 3 (dashed)"
DASH_WORDS = {"dash": N_("dashed"), "dot": N_("dotted"), "dashdot": N_("dash-dotted"), "longdash": N_("long dashes")}


def overlap_dashes(curves: Sequence[Sequence[float]]) -> list[str]:
    """A dash pattern per curve: ``palette_dash``'s, except a curve identical to an earlier one,
    which gets one of DASHES' broken patterns (two runs trained alike draw one line; the gaps of
    the later one show the colour of the one beneath)."""
    dashes, seen = [], {}
    for index, values in enumerate(curves):
        curve = tuple(float(v) for v in values)
        same = seen.get(curve, 0)
        dashes.append(DASHES[(same - 1) % (len(DASHES) - 1) + 1] if same else palette_dash(index))
        seen[curve] = same + 1
    return dashes


def _key_item(colour: str, mark: str, label: str, how: str | None = None) -> str:
    """One entry of a key drawn as HTML beside a chart: a coloured mark, then the label (and how
    its line is drawn, in words: colour is never the only clue)."""
    import html

    mark = f'<span style="color:{colour}; font-size:1.4rem" aria-hidden="true">{mark}</span>'
    if how is None:
        return f"{mark} {html.escape(label)}"
    return f"{mark} " + html.escape(_("{name} ({how})", name=label, how=how))


def blocks_figure(statuses: Sequence, head_params: int, n_classes: int, title: str) -> go.Figure:
    """The backbone's blocks, bottom (first) to top (last), coloured frozen / learning, then the head.

    ``statuses``: objects with ``name``, ``params`` and ``learning`` (tlcore BlockStatus)."""
    names, params, colours, groups = [], [], [], []
    seen: set[str] = set()
    for index, status in enumerate(statuses, start=1):
        label = plain(status.name if status.name not in seen else f"{status.name} ({index})")
        seen.add(label)
        names.append(label)
        params.append(int(status.params))
        colours.append(LEARNING_COLOUR if status.learning else FROZEN_COLOUR)
        groups.append(_("Learning") if status.learning else _("Frozen (keeps its ImageNet knowledge)"))
    names.append(_n("NEW HEAD ({count} class)", "NEW HEAD ({count} classes)", n_classes))
    params.append(int(head_params))
    colours.append(HEAD_COLOUR)
    groups.append(_("New head: always learns"))
    largest = max(params) if params else 1
    shown = [max(p, largest * 0.015) for p in params]  # tiny blocks stay visible
    fig = go.Figure(go.Bar(
        x=shown, y=names, orientation="h", marker=dict(color=colours, line=dict(color="white", width=1)),
        # Inside the bar where it fits: beside the longest bar, a phone's narrow chart cut it off.
        text=[f"{p:,}" for p in params], textposition="auto", cliponaxis=False,
        insidetextfont=dict(color=INSIDE_BAR_TEXT), outsidetextfont=dict(color=TEXT_COLOUR),
        customdata=list(zip(params, groups)),
        hovertemplate=_("<b>%{y}</b><br>%{customdata[0]:,} parameters<br>%{customdata[1]}") + "<extra></extra>",
        showlegend=False,
    ))
    fig.update_yaxes(categoryorder="array", categoryarray=names, title_text=_("← picture goes in at the bottom"))
    # Room beside the longest bar for its number ("893,120"), drawn outside it where the chart is wide.
    fig.update_xaxes(title_text=_("Parameters"), range=[0, largest * 1.5], showgrid=True)
    fig = _base_layout(fig, title, height=max(340, 24 * len(names) + 150))
    # The key is one line of HTML under the chart (blocks_key_html): in a half-width column a
    # Plotly legend wraps to three lines and runs into the title.
    fig.update_layout(hovermode="closest", bargap=0.15, showlegend=False)
    fig.update_layout(title=dict(y=0.995, yanchor="top"), margin=dict(t=50))
    return fig


BLOCK_KEY = ((N_("Frozen"), FROZEN_COLOUR), (N_("Learning"), LEARNING_COLOUR), (N_("New head"), HEAD_COLOUR))


def blocks_key_html() -> str:
    """The key to ``blocks_figure``'s colours, on one line."""
    return " &nbsp;&nbsp; ".join(_key_item(colour, "■", _(label)) for label, colour in BLOCK_KEY)


def transfer_diagram(class_names: Sequence[str] | None = None) -> str:
    """A Graphviz DOT picture: pictures → frozen backbone blocks → new head → your classes
    (its words in the reader's language; the class names as typed)."""
    from .i18n import _

    classes = list(class_names or [])[:4] or [_("class {letter}", letter=letter) for letter in "ABC"]
    class_nodes = "\n".join(
        f'  c{i} [label="{_dot_text(name)}", style="rounded,filled", fillcolor="#d3f9d8"];'
        for i, name in enumerate(classes)
    )
    class_edges = "\n".join(f"  head -> c{i};" for i in range(len(classes)))
    # i18n: labels in a small diagram; a line break "\n" keeps each box narrow
    picture, backbone, head = _("your\npicture"), _("pretrained on ImageNet"), _("NEW\nHEAD")
    blocks = [_("block 1\nedges"), _("block 2\ntextures"), _("block 3\nshapes"), _("top block\nobjects")]
    b1, b2, b3, b4 = (_dot_label(text) for text in blocks)
    return f"""
digraph transfer {{
  rankdir=LR; bgcolor="transparent"; nodesep=0.12; ranksep=0.28; pad=0.05;
  node [fontname="Helvetica", fontsize=20, margin="0.12,0.06", shape=box];
  edge [color="#555555", penwidth=1.8, arrowsize=0.8];
  picture [label="{_dot_label(picture)}", style="rounded,filled", fillcolor="#ffffff"];
  subgraph cluster_backbone {{
    label="{_dot_label(backbone)}"; fontname="Helvetica"; fontsize=20;
    style="rounded,dashed"; color="#7b8ca3"; margin=8;
    b1 [label="{b1}", style="filled", fillcolor="{FROZEN_COLOUR}"];
    b2 [label="{b2}", style="filled", fillcolor="{FROZEN_COLOUR}"];
    b3 [label="{b3}", style="filled", fillcolor="{FROZEN_COLOUR}"];
    b4 [label="{b4}", style="filled,dashed", fillcolor="#ffd8a8"];
  }}
  head [label="{_dot_label(head)}", style="rounded,filled,bold", fillcolor="#b2f2bb", penwidth=2];
{class_nodes}
  picture -> b1 -> b2 -> b3 -> b4 -> head;
{class_edges}
}}
"""


def _dot_label(text: str) -> str:
    """Our own words in a DOT label: quotes and backslashes escaped, line breaks kept."""
    return str(text).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _dot_text(text: str) -> str:
    return str(text).replace("\\", "\\\\").replace('"', '\\"')[:24]


# -- pictures (TensorFlow is imported only when this is called) -----------------------------------
def augmented(pixels, names: Sequence[str], seed: int):
    """``pixels`` (uint8, N×S×S×3) through the augmentation layers in training mode."""
    import numpy as np

    from tlcore.model.augmentation import augmentation_layers

    x = np.asarray(pixels, dtype="float32")
    for layer in augmentation_layers(list(names), seed):
        x = layer(x, training=True)
    return np.clip(np.asarray(x), 0, 255).astype("uint8")


def confusion_figure(matrix, class_names: Sequence[str], selected: tuple[int, int] | None = None) -> go.Figure:
    """The confusion matrix: rows are the right answers, columns the model's answers, the
    count in each square. Under the coloured squares (a heatmap) lie invisible square markers,
    one per cell: Plotly heatmaps cannot be selected, markers can (the cell's indices are the
    marker's customdata)."""
    counts = [[int(v) for v in row] for row in matrix]
    names = [plain(name) for name in class_names]
    n = len(names)
    per_row = [sum(row) for row in counts]
    share = [[counts[t][p] / per_row[t] if per_row[t] else 0.0 for p in range(n)] for t in range(n)]
    fig = go.Figure()
    fig.add_trace(go.Heatmap(
        z=counts, x=names, y=names, text=[[f"{v:,}" for v in row] for row in counts], texttemplate="%{text}",
        textfont=dict(size=max(16, min(30, 120 // max(n, 1)))), colorscale="Blues", showscale=False,
        xgap=3, ygap=3, hoverinfo="skip", name=_("pictures"),
    ))
    cells = [(t, p) for t in range(n) for p in range(n)]
    marker_size = max(24, min(90, 520 // max(n, 1)))
    fig.add_trace(go.Scatter(
        x=[names[p] for _, p in cells], y=[names[t] for t, _ in cells], mode="markers",
        marker=dict(symbol="square", size=marker_size, color="rgba(0,0,0,0)"),
        customdata=[[t, p, counts[t][p], _number(Percent(share[t][p]))] for t, p in cells],
        hovertemplate=_("Really <b>%{y}</b>, the model said <b>%{x}</b><br>"
                        "%{customdata[2]} pictures (%{customdata[3]} of this row)") + "<extra></extra>",
        showlegend=False, name=_("squares"),
    ))
    if selected is not None:
        t, p = selected
        fig.add_shape(type="rect", x0=p - 0.5, x1=p + 0.5, y0=t - 0.5, y1=t + 0.5,
                      line=dict(color=VALIDATION_COLOUR, width=5))
    size = FONT_SIZE + 2
    fig.update_xaxes(title_text=_("What the model answered"), type="category", categoryorder="array",
                     categoryarray=names, side="top", fixedrange=True, tickfont=dict(size=size),
                     showgrid=False, zeroline=False)
    fig.update_yaxes(title_text=_("The right answer"), type="category", categoryorder="array",
                     categoryarray=names, autorange="reversed", fixedrange=True, tickfont=dict(size=size),
                     showgrid=False, zeroline=False)
    fig.update_layout(
        font=dict(size=FONT_SIZE), height=min(760, 170 + 95 * n), margin=dict(l=10, r=10, t=70, b=10),
        hovermode="closest", dragmode=False,
    )
    return readable(fig)


def threshold_figure(curve: Sequence[tuple[float, float, float | None]], threshold: float | None = None) -> go.Figure:
    """What the "not sure" line changes: the share of pictures answered, and how often those
    answers are right, for each threshold."""
    xs = [float(t) for t, _, _ in curve]
    fig = go.Figure()
    fig.add_trace(go.Scatter(
        x=xs, y=[a for _, _, a in curve], name=_("Right, among the pictures it answers"), mode="lines+markers",
        line=dict(color=HEAD_COLOUR, width=4), marker=dict(size=8), connectgaps=False,
        hovertemplate=_("%{y:.0%} right") + "<extra></extra>",
    ))
    fig.add_trace(go.Scatter(
        x=xs, y=[c for _, c, _ in curve], name=_("Pictures it answers (not “not sure”)"), mode="lines+markers",
        line=dict(color=TRAIN_COLOUR, width=4, dash="dash"), marker=dict(size=8),
        hovertemplate=_("answers %{y:.0%}") + "<extra></extra>",
    ))
    if threshold is not None:
        fig.add_vline(x=threshold, line=dict(color=VALIDATION_COLOUR, width=3, dash="dot"))
        fig.add_annotation(x=threshold, y=1.04, yref="y", text=_("your line: {percent}", percent=Percent(threshold)), showarrow=False,
                           xanchor="left", yanchor="bottom", font=dict(size=FONT_SIZE, color=VALIDATION_TEXT_COLOUR))
    fig.update_xaxes(title_text=_("“Not sure” below this confidence"), range=[-0.02, 1.02], tickformat=".0%",
                     dtick=0.1)
    fig.update_yaxes(range=[0, 1.12], tickformat=".0%", title_text=_("Share of pictures"))
    fig = _base_layout(fig, _("Saying “not sure” more often: fewer answers, more of them right"))
    fig.update_layout(legend=dict(y=-0.28))
    return fig


# -- experiments: each preset's answer on one chart ----------------------------------------------------
def _error_bars(rows: Sequence[dict]) -> dict | None:
    """Plotly error bars from each row's 95 % interval (none where one repeat gave no interval)."""
    if not any(row.get("val_accuracy_ci95") for row in rows):
        return None
    high = [(row["val_accuracy_ci95"][1] - row["val_accuracy_mean"]) if row.get("val_accuracy_ci95") else 0.0
            for row in rows]
    low = [(row["val_accuracy_mean"] - row["val_accuracy_ci95"][0]) if row.get("val_accuracy_ci95") else 0.0
           for row in rows]
    return dict(type="data", symmetric=False, array=high, arrayminus=low, thickness=3, width=8)


def _accuracy_axis(fig: go.Figure, title: str | None = None) -> None:
    fig.update_yaxes(title_text=title or _("Right answers on held-back pictures"), range=[0, 1.05], tickformat=".0%")


def experiment_curves_figure(series: Sequence[tuple[str, Sequence[float], Sequence[float]]], title: str) -> go.Figure:
    """Validation accuracy per epoch, one line per configuration: (label, mean per epoch, sd per
    epoch over the repeats). A band of ± one spread shows how much the repeats disagreed."""
    fig = go.Figure()
    longest = 1
    for index, (label, means, spreads) in enumerate(series):
        label = plain(label)
        means, spreads = [float(v) for v in means], [float(v) for v in spreads]
        epochs = list(range(1, len(means) + 1))
        longest = max(longest, len(means))
        colour = palette_colour(index)
        if any(spreads):
            fig.add_trace(go.Scatter(
                x=epochs + epochs[::-1], y=[m + s for m, s in zip(means, spreads)] + [m - s for m, s in
                                                                                     zip(means, spreads)][::-1],
                fill="toself", fillcolor=_transparent(colour), line=dict(width=0), hoverinfo="skip",
                showlegend=False, name=_("{name} (spread)", name=label)))
        fig.add_trace(go.Scatter(
            x=epochs, y=means, name=label, mode="lines+markers", line=dict(color=colour, width=4,
                                                                            dash=palette_dash(index)),
            marker=dict(size=10, color=colour), customdata=[label] * len(epochs),
            hovertemplate=_("%{customdata}<br>epoch %{x}: %{y:.0%}") + "<extra></extra>"))
    fig.update_xaxes(title_text=_("Epoch"), range=[0.5, longest + 0.5], **epoch_ticks(longest))
    _accuracy_axis(fig)
    fig = _base_layout(fig, title, height=440 + 30 * len(series))
    fig.update_layout(hovermode="closest", legend=dict(orientation="v", y=-0.2))
    return fig


def _transparent(colour: str, alpha: float = 0.18) -> str:
    red, green, blue = (int(colour[i:i + 2], 16) for i in (1, 3, 5))
    return f"rgba({red},{green},{blue},{alpha})"


def learning_curve_figure(rows: Sequence[dict], class_count: int, title: str) -> go.Figure:
    """Accuracy against training pictures per class, with 95 % error bars: "how many are enough?".

    ``rows``: an experiment's rows (``per_class`` a number or "all"); "all" sits at the mean
    number of training pictures per class it had."""
    points = sorted(rows, key=lambda r: r["train_pictures"])
    xs = [r["train_pictures"] / max(class_count, 1) if r["per_class"] == "all" else r["per_class"] for r in points]
    # i18n: the point of "all the pictures" on a chart of pictures per class: "all (45)"
    words = [_("all ({total})", total=round(x)) if r["per_class"] == "all" else _number(r["per_class"])
             for r, x in zip(points, xs)]
    fig = go.Figure(go.Scatter(
        x=xs, y=[r["val_accuracy_mean"] for r in points], mode="lines+markers", name=_("Right answers"),
        line=dict(color=PALETTE[0], width=4), marker=dict(size=14, color=PALETTE[0]), error_y=_error_bars(points),
        customdata=words, hovertemplate=_("%{customdata} pictures per class: %{y:.0%}") + "<extra></extra>",
        showlegend=False))
    fig.update_xaxes(title_text=_("Training pictures per class"), type="log", tickvals=xs, ticktext=words)
    _accuracy_axis(fig)
    fig = _base_layout(fig, title, height=460)
    fig.update_layout(hovermode="closest")
    return fig


def accuracy_time_figure(rows: Sequence[dict], labels: Sequence[str], title: str) -> go.Figure:
    """Each configuration as a dot: training time across, accuracy up, 95 % error bars; the name
    beside the dot when names are short (else in the key below), the whole configuration on
    hover. Top left is best: quick and right."""
    fig = go.Figure()
    beside = max((len(label) for label in labels), default=0) <= 20
    for index, (row, label) in enumerate(zip(rows, labels)):
        colour, label = palette_colour(index), plain(label)
        fig.add_trace(go.Scatter(
            x=[row["train_seconds_mean"]], y=[row["val_accuracy_mean"]], mode="markers+text" if beside else "markers",
            name=label, text=[label], textposition="middle right", textfont=dict(size=FONT_SIZE, color=TEXT_COLOUR),
            marker=dict(size=18, color=colour, symbol="circle"), error_y=_error_bars([row]),
            customdata=[plain(row["configuration"])],
            hovertemplate=_("<b>%{customdata}</b><br>%{y:.0%} right · %{x:.1f} s a training") + "<extra></extra>"))
    slowest = max((row["train_seconds_mean"] for row in rows), default=1.0)
    fig.update_xaxes(title_text=_("Seconds to train once"), range=[0, slowest * (1.6 if beside else 1.1) + 0.5])
    _accuracy_axis(fig)
    fig = _base_layout(fig, title, height=460 + (0 if beside else 30 * len(rows)))
    fig.update_layout(hovermode="closest", showlegend=not beside, legend=dict(orientation="v", y=-0.2))
    return fig


def per_class_figure(class_names: Sequence[str], series: Sequence[tuple[str, dict]], title: str) -> go.Figure:
    """Per-class accuracy side by side: one group of bars per class, one bar per configuration."""
    fig = go.Figure()
    shown_names = [plain(name) for name in class_names]
    for index, (label, per_class) in enumerate(series):
        label = plain(label)
        fig.add_trace(go.Bar(
            x=shown_names, y=[per_class.get(name) for name in class_names], name=label,
            marker=dict(color=palette_colour(index)), customdata=[label] * len(shown_names),
            hovertemplate=_("%{customdata}<br>%{x}: %{y:.0%} right") + "<extra></extra>"))
    fig.update_xaxes(title_text=_("Class"))
    _accuracy_axis(fig, _("Right answers in this class"))
    fig = _base_layout(fig, title, height=440 + 30 * len(series))
    fig.update_layout(barmode="group", hovermode="closest", legend=dict(orientation="v", y=-0.2))
    return fig


# -- what the network sees: a map of the pictures --------------------------------------------------------
def embedding_figure(coords, labels: Sequence[int], class_names: Sequence[str], names: Sequence[str],
                     indices: Sequence[int], title: str, height: int = 400, legend: bool = True) -> go.Figure:
    """Each picture as a dot where the network puts it, coloured by its class. Hover: its name
    and class; ``indices`` (its place in the picture set) ride along for a click. Dots get
    smaller as they get many, so a class of 300 stays a cloud, not a blot. ``legend=False``
    where the page shows one key for several maps."""
    fig = go.Figure()
    labels = [int(label) for label in labels]
    size = 11 if len(labels) <= 200 else (8 if len(labels) <= 600 else 6)
    for label, class_name in enumerate(class_names):
        rows = [k for k, value in enumerate(labels) if value == label]
        if not rows:
            continue
        fig.add_trace(go.Scatter(
            x=[float(coords[k][0]) for k in rows], y=[float(coords[k][1]) for k in rows], mode="markers",
            name=plain(class_name), marker=dict(size=size, color=palette_colour(label), opacity=0.8,
                                                line=dict(width=1 if size > 6 else 0, color="white")),
            customdata=[[int(indices[k]), plain(names[k]), plain(class_name)] for k in rows],
            hovertemplate=_("<b>%{customdata[1]}</b><br>class: %{customdata[2]}") + "<extra></extra>"))
    fig.update_xaxes(showticklabels=False, title_text="", zeroline=False)
    fig.update_yaxes(showticklabels=False, title_text="", zeroline=False, scaleanchor=None)
    fig = _base_layout(fig, title, height=height)
    # The key to the colours above the dots, under the title: on a projector's first screen.
    fig.update_layout(hovermode="closest", dragmode="zoom", margin=dict(l=10, r=10, t=80 if legend else 50, b=10),
                      legend=dict(orientation="h", yanchor="bottom", y=1.0, xanchor="left", x=0.0),
                      showlegend=legend)
    fig.update_layout(title=dict(y=0.98, yanchor="top"))
    return fig


def colour_key_html(class_names: Sequence[str]) -> str:
    """One line of HTML naming each class in its map colour (one key for maps side by side)."""
    import html

    return " &nbsp;&nbsp; ".join(
        f'<span style="color:{palette_colour(index)}; font-size:1.4rem" aria-hidden="true">●</span> '
        f"{html.escape(str(name))}"
        for index, name in enumerate(class_names))
