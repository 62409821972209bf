"""Small shared widgets: the CSS, large result cards, run pickers, messages that survive a
rerun, the live curves, sliders and toggles that keep their value across pages.

Streamlit drawing only; the words come from ``words``, the figures from ``figures``.
"""

from __future__ import annotations

import html
import re
from typing import Sequence

import streamlit as st

from . import figures, state, words

_STYLE = """
<style>
.tl-card {border-radius: 0.8rem; padding: 0.8rem 1.1rem; margin: 0.2rem 0 0.6rem 0;
          border: 2px solid rgba(49, 51, 63, 0.15); background: rgba(31, 111, 235, 0.06);}
.tl-card.good {border-color: #2b8a3e; background: rgba(43, 138, 62, 0.08);}
.tl-card.warn {border-color: #e8590c; background: rgba(232, 89, 12, 0.08);}
.tl-card .tl-label {font-size: 1.05rem; opacity: 0.8; margin: 0;}
/* Never break a word in the middle: long names wrap only at the <wbr> after "_", ".", "-". */
.tl-card .tl-value {font-size: 2.6rem; font-weight: 700; line-height: 1.15; margin: 0.1rem 0;
                    overflow-wrap: normal; word-break: normal; hyphens: none;}
.tl-card.wordy .tl-value {font-size: 1.9rem; line-height: 1.2;}
.tl-card.small .tl-value {font-size: 1.55rem; line-height: 1.25;}
.tl-card.small.long .tl-value {font-size: 1.2rem;}
.tl-card .tl-note {font-size: 1rem; opacity: 0.85; margin: 0; overflow-wrap: normal; word-break: normal;}
.tl-lead {font-size: 1.25rem; line-height: 1.55;}
.tl-legend {font-size: 1.1rem; margin: 0;}
[data-testid="stBaseButton-primary"] p {font-size: 1.2rem; font-weight: 600;}
/* A projector has few pixels: less empty space above each page's title. */
[data-testid="stMainBlockContainer"] {padding-top: 3rem;}
</style>
"""
LONG_VALUE = 16  # characters: a longer value gets smaller type
WORDY_VALUE = 24  # characters: a sentence in a big card ("This doesn't look like any…") gets smaller type
_BREAK_AFTER = re.compile(r"([_/·\-]|\.(?=\D))")  # not inside a number: "0.35" stays whole


def apply_style() -> None:
    """The app's few CSS rules (large result cards, larger primary buttons); app.py, every run."""
    st.markdown(_STYLE, unsafe_allow_html=True)


# -- cards and text --------------------------------------------------------------------------------
def breakable(text: str) -> str:
    """``text`` escaped for HTML, with a line-break chance after "_", "-", "/", "·" and a "." that
    does not sit inside a number: long names wrap there, never in the middle of a word."""
    parts = _BREAK_AFTER.split(str(text))  # text, separator, text, separator, ...
    return "".join(html.escape(part) + ("<wbr>" if index % 2 else "") for index, part in enumerate(parts))


def result_card(label: str, value: str, note: str | None = None, tone: str = "", small: bool = False) -> None:
    """A large, projector-readable result: a small label, a big value, an optional note.

    ``tone``: "" (blue), "good" (green) or "warn" (orange); ``small`` for words rather than numbers
    (long words get smaller type still); a long sentence in a big card gets somewhat smaller type."""
    long = small and len(str(value)) > LONG_VALUE
    wordy = not small and len(str(value)) > WORDY_VALUE  # on a projector: 2–3 lines, not 5
    classes = " ".join(filter(None, ["tl-card", tone, "small" if small else "", "long" if long else "",
                                     "wordy" if wordy else ""]))
    parts = [f'<div class="{html.escape(classes)}">',
             f'<p class="tl-label">{html.escape(label)}</p>',
             f'<p class="tl-value">{breakable(value)}</p>']
    if note:
        parts.append(f'<p class="tl-note">{breakable(note)}</p>')
    parts.append("</div>")
    st.markdown("".join(parts), unsafe_allow_html=True)


def lead(text: str) -> None:
    """A paragraph in slightly larger type (plain text, escaped)."""
    st.markdown(f'<p class="tl-lead">{html.escape(text)}</p>', unsafe_allow_html=True)


def confidence_bars(ranked: Sequence[tuple[str, float]]) -> None:
    """Top classes with a bar each: "circle · 92%"."""
    for name, probability in ranked:
        st.progress(min(max(float(probability), 0.0), 1.0), text=f"**{words.md(name)}** · {probability:.0%}")


def thumbnails(pictures: Sequence, width: int = 96, captions: Sequence[str] | None = None) -> None:
    """A row of small pictures (uint8 arrays)."""
    if len(pictures):
        st.image(list(pictures), width=width, caption=list(captions) if captions else None)


def picture_grid(items: Sequence[tuple], columns: int = 4, width: int | str = "stretch") -> None:
    """Pictures in a grid: ``items`` are (uint8 picture, markdown under it[, small caption])."""
    items = list(items)
    for start in range(0, len(items), columns):
        row = st.columns(columns, gap="medium")
        for column, item in zip(row, items[start:start + columns]):
            picture, text, *rest = item
            with column:
                st.image(picture, width=width)
                st.markdown(text)
                if rest and rest[0]:
                    st.caption(rest[0])


# -- messages that survive the rerun after an action -------------------------------------------------
def flash(key: str, kind: str, text: str, details: Sequence[str] = ()) -> None:
    """Keep a message (kind: "error", "success", "info", "warning") for the next run of the page.

    ``details`` are Markdown lines, shown as a list under it."""
    st.session_state[key] = (kind, text, list(details))


def show_flash(key: str, details_title: str | None = None) -> None:
    """Show (once) the message kept under ``key``; details in an open expander if titled."""
    message = st.session_state.pop(key, None)
    if not message:
        return
    kind, text, details = message
    {"error": st.error, "success": st.success, "warning": st.warning}.get(kind, st.info)(text)
    if not details:
        return
    box = st.expander(details_title, expanded=True) if details_title else st.container()
    box.markdown("\n".join(f"- {line}" for line in details))


# -- widgets that remember ---------------------------------------------------------------------------
def kept_toggle(label: str, key: str, default: bool = False, **kwargs) -> bool:
    """A toggle whose value outlives a visit to another page (Streamlit forgets the state of
    widgets that a run does not draw): the value is also kept under ``<key>_kept``."""
    kept = f"{key}_kept"
    if key not in st.session_state:
        st.session_state[key] = bool(st.session_state.get(kept, default))
    value = st.toggle(label, key=key, **kwargs)
    st.session_state[kept] = value
    return value


def not_sure_slider(key: str) -> float:
    """The "not sure" slider (in percent); one value shared by every page. Returns a fraction."""
    if key not in st.session_state:  # a widget forgets its value when the page changes
        st.session_state[key] = int(round(100 * state.not_sure_threshold()))
    percent = st.slider(
        "“Not sure” below", 0, 95, step=5, key=key, format="%d%%",
        help="When the model is less sure of its best answer than this, it says “Not sure” "
             "instead (its top guesses are still listed). 0% means it always answers.",
    )
    state.set_not_sure_threshold(percent / 100)
    return percent / 100


def run_picker(runs: Sequence, key: str, label: str):
    """A select box of ``runs`` showing the session's chosen run; choosing sets it for every page.

    The box follows the chosen run (an import elsewhere changes it): no page resets another's keys."""
    by_path = {str(run.path): run for run in runs}
    chosen = state.default_run(list(runs))
    if st.session_state.get(key) != str(chosen.path):
        st.session_state[key] = str(chosen.path)
    mine = set(state.session_runs())
    path = st.selectbox(label, list(by_path), key=key, on_change=lambda: state.select_run(st.session_state[key]),
                        format_func=lambda p: words.run_label(by_path[p], p in mine))
    state.select_run(path)
    return by_path[path]


def new_upload(key: str, files) -> bool:
    """True once per new upload in the uploader ``key`` (reruns do not handle it again)."""
    if not files:
        return False
    files = files if isinstance(files, list) else [files]
    signature = tuple(f.file_id for f in files)
    if st.session_state.get(f"{key}_done") == signature:
        return False
    st.session_state[f"{key}_done"] = signature
    return True


# -- the learning curves -----------------------------------------------------------------------------
def show_curves(history: dict, total_epochs: int, fine_tune_start: int | None, key: str,
                height: int = 420) -> None:
    """The two learning-curve charts side by side under one shared key to their lines (whole
    epochs only, as tlcore keeps them). One key line instead of a legend in each chart keeps
    the charts tall on a projector."""
    legend = " &nbsp;&nbsp; ".join(
        f'<span style="color:{colour}; font-size:1.4rem">●</span> {html.escape(name)}'
        for name, colour in figures.CURVE_NAMES)
    st.markdown(f'<p class="tl-legend">{legend}</p>', unsafe_allow_html=True)
    left, right = st.columns(2)
    for column, metric in ((left, "accuracy"), (right, "loss")):
        with column:
            st.plotly_chart(figures.curve_figure(history, metric, total_epochs, fine_tune_start, height=height,
                                                 legend=False),
                            key=f"{key}_{metric}", config=figures.CHART_CONFIG)
    train, val = history.get("accuracy") or [], history.get("val_accuracy") or []
    if train and val and val[-1] > train[-1]:
        st.caption("Why is the training line lower? While it learns, the model practises with some of "
                   "its clues hidden at random (dropout), which makes the training pictures harder; the "
                   "validation pictures are checked with every clue. Few validation pictures also make "
                   "that line jump.")
