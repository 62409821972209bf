"""The app's figures: learning curves, the blocks picture, the confusion matrix, the
"not sure" curve, the transfer-learning diagram. Plotly figures and Graphviz text only: no
Streamlit widgets here, and TensorFlow only inside ``augmented`` (when it is called).

Projector rule: every text in a figure is at least FONT_SIZE (18 px) — axis titles, ticks,
legends — so it can be read from the back of a classroom.
"""

from __future__ import annotations

from typing import Iterable, Sequence

import plotly.graph_objects as go

TRAIN_COLOUR = "#1f6feb"
VALIDATION_COLOUR = "#e8590c"
FROZEN_COLOUR = "#9fb3c8"
LEARNING_COLOUR = "#e8590c"
HEAD_COLOUR = "#2b8a3e"
FONT_SIZE = 18
CHART_CONFIG = {"displayModeBar": False}


# -- figures -------------------------------------------------------------------------------------
def _base_layout(fig: go.Figure, title: str, height: int = 420) -> go.Figure:
    """Large fonts; the legend under the chart, where it never covers the title or the lines."""
    fig.update_layout(
        title=dict(text=title, font=dict(size=FONT_SIZE + 4)),
        font=dict(size=FONT_SIZE),
        height=height,
        margin=dict(l=10, r=10, t=50, b=10),
        legend=dict(orientation="h", yanchor="top", y=-0.22, xanchor="left", x=0.0, font=dict(size=FONT_SIZE)),
        hovermode="x unified",
    )
    axis_text = dict(tickfont=dict(size=FONT_SIZE), title_font=dict(size=FONT_SIZE))
    fig.update_xaxes(**axis_text)
    fig.update_yaxes(**axis_text)
    return fig


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
            x=list(range(1, len(values) + 1)), y=values, name=label, mode="lines+markers",
            line=dict(color=colour, width=3, dash=dash), marker=dict(size=10),
            hovertemplate="%{y:.0%}" if accuracy else "%{y:.3f}",
        ))
    epochs = max(int(total_epochs or 0), len(history.get(metric, [])), 1)
    fig.update_xaxes(title_text="Epoch (one pass over the pictures)", range=[0.5, epochs + 0.5],
                     dtick=1 if epochs <= 20 else None, tick0=1)
    if accuracy:
        fig.update_yaxes(title_text="Correct answers", range=[0, 1.05], tickformat=".0%")
    else:
        fig.update_yaxes(title_text="Loss (lower is better)", rangemode="tozero")
    if fine_tune_start is not None:
        fig.add_vline(x=fine_tune_start + 0.5, line=dict(color="#555", dash="dash", width=2))
        fig.add_annotation(x=fine_tune_start + 0.5, y=1, yref="paper", text="fine-tuning starts",
                           showarrow=False, xanchor="left", yanchor="top", font=dict(size=FONT_SIZE))
    default_title = "Accuracy: right answers" if accuracy else "Loss: how wrong (lower is better)"
    fig = _base_layout(fig, title or default_title, height=height)
    fig.update_layout(showlegend=legend)
    return fig


CURVE_NAMES = (("Training pictures", TRAIN_COLOUR), ("Validation pictures (held back)", VALIDATION_COLOUR))


def overlay_figure(series: Iterable[tuple[str, Sequence[float]]], metric: str) -> go.Figure:
    """One line per run for ``metric`` (e.g. "val_accuracy")."""
    accuracy = metric.endswith("accuracy")
    fig = go.Figure()
    longest = 1
    for label, values in series:
        values = [float(v) for v in values]
        longest = max(longest, len(values))
        fig.add_trace(go.Scatter(x=list(range(1, len(values) + 1)), y=values, name=label,
                                 mode="lines+markers", line=dict(width=3), marker=dict(size=9)))
    fig.update_xaxes(title_text="Epoch", range=[0.5, longest + 0.5], dtick=1 if longest <= 20 else None)
    if accuracy:
        fig.update_yaxes(title_text="Correct answers on validation pictures", range=[0, 1.05], tickformat=".0%")
        title = "Validation accuracy (higher is better)"
    else:
        fig.update_yaxes(title_text="Validation loss", rangemode="tozero")
        title = "Validation loss (lower is better)"
    fig = _base_layout(fig, title, height=420 + 28 * len(fig.data))
    fig.update_layout(showlegend=True, legend=dict(orientation="v", y=-0.18))
    return fig


def blocks_figure(statuses: Sequence, head_params: int, n_classes: int, title: str) -> go.Figure:
    """The backbone's blocks, bottom (first) to top (last), coloured frozen / learning, then the head.

    ``statuses``: objects with ``name``, ``params`` and ``learning`` (tlcore BlockStatus)."""
    names, params, colours, groups = [], [], [], []
    seen: set[str] = set()
    for index, status in enumerate(statuses, start=1):
        label = status.name if status.name not in seen else f"{status.name} ({index})"
        seen.add(label)
        names.append(label)
        params.append(int(status.params))
        colours.append(LEARNING_COLOUR if status.learning else FROZEN_COLOUR)
        groups.append("Learning" if status.learning else "Frozen (keeps its ImageNet knowledge)")
    names.append(f"NEW HEAD ({n_classes} classes)")
    params.append(int(head_params))
    colours.append(HEAD_COLOUR)
    groups.append("New head: always learns")
    largest = max(params) if params else 1
    shown = [max(p, largest * 0.015) for p in params]  # tiny blocks stay visible
    fig = go.Figure(go.Bar(
        x=shown, y=names, orientation="h", marker=dict(color=colours, line=dict(color="white", width=1)),
        text=[f"{p:,}" for p in params], textposition="outside", cliponaxis=False,
        customdata=list(zip(params, groups)),
        hovertemplate="<b>%{y}</b><br>%{customdata[0]:,} parameters<br>%{customdata[1]}<extra></extra>",
        showlegend=False,
    ))
    for label, colour in (("Frozen", FROZEN_COLOUR), ("Learning", LEARNING_COLOUR), ("New head", HEAD_COLOUR)):
        fig.add_trace(go.Bar(x=[None], y=[None], orientation="h", name=label, marker=dict(color=colour)))
    fig.update_yaxes(categoryorder="array", categoryarray=names, title_text="← picture goes in at the bottom")
    fig.update_xaxes(title_text="Parameters in the block", range=[0, largest * 1.25], showgrid=True)
    fig = _base_layout(fig, title, height=max(340, 24 * len(names) + 150))
    fig.update_layout(hovermode="closest", bargap=0.15,
                      legend=dict(orientation="h", yanchor="bottom", y=1.0, xanchor="left", x=0.0))
    fig.update_layout(title=dict(y=0.995, yanchor="top"), margin=dict(t=80))
    return fig


def transfer_diagram(class_names: Sequence[str] | None = None) -> str:
    """A Graphviz DOT picture: pictures → frozen backbone blocks → new head → your classes."""
    classes = list(class_names or [])[:4] or ["class A", "class B", "class C"]
    class_nodes = "\n".join(
        f'  c{i} [label="{_dot_text(name)}", style="rounded,filled", fillcolor="#d3f9d8"];'
        for i, name in enumerate(classes)
    )
    class_edges = "\n".join(f"  head -> c{i};" for i in range(len(classes)))
    return f"""
digraph transfer {{
  rankdir=LR; bgcolor="transparent"; nodesep=0.12; ranksep=0.28; pad=0.05;
  node [fontname="Helvetica", fontsize=20, margin="0.12,0.06", shape=box];
  edge [color="#555555", penwidth=1.8, arrowsize=0.8];
  picture [label="your\\npicture", style="rounded,filled", fillcolor="#ffffff"];
  subgraph cluster_backbone {{
    label="pretrained on ImageNet"; fontname="Helvetica"; fontsize=20;
    style="rounded,dashed"; color="#7b8ca3"; margin=8;
    b1 [label="block 1\\nedges", style="filled", fillcolor="{FROZEN_COLOUR}"];
    b2 [label="block 2\\ntextures", style="filled", fillcolor="{FROZEN_COLOUR}"];
    b3 [label="block 3\\nshapes", style="filled", fillcolor="{FROZEN_COLOUR}"];
    b4 [label="top block\\nobjects", style="filled,dashed", fillcolor="#ffd8a8"];
  }}
  head [label="NEW\\nHEAD", style="rounded,filled,bold", fillcolor="#b2f2bb", penwidth=2];
{class_nodes}
  picture -> b1 -> b2 -> b3 -> b4 -> head;
{class_edges}
}}
"""


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
    names = [str(name) for name in class_names]
    n = len(names)
    per_row = [sum(row) for row in counts]
    share = [[counts[t][p] / per_row[t] if per_row[t] else 0.0 for p in range(n)] for t in range(n)]
    fig = go.Figure()
    fig.add_trace(go.Heatmap(
        z=counts, x=names, y=names, text=[[f"{v:,}" for v in row] for row in counts], texttemplate="%{text}",
        textfont=dict(size=max(16, min(30, 120 // max(n, 1)))), colorscale="Blues", showscale=False,
        xgap=3, ygap=3, hoverinfo="skip", name="pictures",
    ))
    cells = [(t, p) for t in range(n) for p in range(n)]
    marker_size = max(24, min(90, 520 // max(n, 1)))
    fig.add_trace(go.Scatter(
        x=[names[p] for _, p in cells], y=[names[t] for t, _ in cells], mode="markers",
        marker=dict(symbol="square", size=marker_size, color="rgba(0,0,0,0)"),
        customdata=[[t, p, counts[t][p], f"{share[t][p]:.0%}"] for t, p in cells],
        hovertemplate="Really <b>%{y}</b>, the model said <b>%{x}</b><br>"
                      "%{customdata[2]} pictures (%{customdata[3]} of this row)<extra></extra>",
        showlegend=False, name="cells",
    ))
    if selected is not None:
        t, p = selected
        fig.add_shape(type="rect", x0=p - 0.5, x1=p + 0.5, y0=t - 0.5, y1=t + 0.5,
                      line=dict(color=VALIDATION_COLOUR, width=5))
    size = FONT_SIZE + 2
    fig.update_xaxes(title_text="What the model answered", type="category", categoryorder="array",
                     categoryarray=names, side="top", fixedrange=True, tickfont=dict(size=size),
                     showgrid=False, zeroline=False)
    fig.update_yaxes(title_text="The right answer", type="category", categoryorder="array",
                     categoryarray=names, autorange="reversed", fixedrange=True, tickfont=dict(size=size),
                     showgrid=False, zeroline=False)
    fig.update_layout(
        font=dict(size=FONT_SIZE), height=min(760, 170 + 95 * n), margin=dict(l=10, r=10, t=70, b=10),
        hovermode="closest", dragmode=False, plot_bgcolor="white",
    )
    return fig


def threshold_figure(curve: Sequence[tuple[float, float, float | None]], threshold: float | None = None) -> go.Figure:
    """What the "not sure" line changes: the share of pictures answered, and how often those
    answers are right, for each threshold."""
    xs = [float(t) for t, _, _ in curve]
    fig = go.Figure()
    fig.add_trace(go.Scatter(
        x=xs, y=[a for _, _, a in curve], name="Right, among the pictures it answers", mode="lines+markers",
        line=dict(color=HEAD_COLOUR, width=4), marker=dict(size=8), connectgaps=False,
        hovertemplate="%{y:.0%} right<extra></extra>",
    ))
    fig.add_trace(go.Scatter(
        x=xs, y=[c for _, c, _ in curve], name="Pictures it answers (not “not sure”)", mode="lines+markers",
        line=dict(color=TRAIN_COLOUR, width=4, dash="dash"), marker=dict(size=8),
        hovertemplate="answers %{y:.0%}<extra></extra>",
    ))
    if threshold is not None:
        fig.add_vline(x=threshold, line=dict(color=VALIDATION_COLOUR, width=3, dash="dot"))
        fig.add_annotation(x=threshold, y=1.04, yref="y", text=f"your line: {threshold:.0%}", showarrow=False,
                           xanchor="left", yanchor="bottom", font=dict(size=FONT_SIZE, color=VALIDATION_COLOUR))
    fig.update_xaxes(title_text="“Not sure” below this confidence", range=[-0.02, 1.02], tickformat=".0%",
                     dtick=0.1)
    fig.update_yaxes(range=[0, 1.12], tickformat=".0%", title_text="Share of pictures")
    fig = _base_layout(fig, "Saying “not sure” more often: fewer answers, more of them right")
    fig.update_layout(legend=dict(y=-0.28))
    return fig
