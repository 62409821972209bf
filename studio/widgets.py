"""Small shared widgets: the CSS, large result cards, run pickers, messages that survive a
rerun, the live curves, and widgets that keep their value across pages (``remembered``).

Streamlit drawing only; the words come from ``words``, the figures from ``figures``.
"""

from __future__ import annotations

import html
import re
from typing import Sequence

import streamlit as st

from tlcore.i18n import Percent, format_value

from . import figures, state, words
from .i18n import _, language, tr

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
/* A card's name: a heading at the level its place in the page asks for, at one size (an h4's). */
h2.tl-card-title, h3.tl-card-title {font-size: 1.5rem; font-weight: 600; padding: 0.5rem 0 0.25rem 0;}
/* The app's name atop the sidebar, as large as the heading it was (it is no heading: see app.py). */
.st-key-sidebar_brand p {font-size: 1.5rem; font-weight: 600; line-height: 1.3;}
/* The Share page's sections are h2 (under the page's h1), drawn at an h3's size inside its tabs. */
.st-key-share_tabs h2 {font-size: 1.75rem;}
.tl-legend {font-size: 1.1rem; margin: 0;}
[data-testid="stBaseButton-primary"] p {font-size: 1.2rem; font-weight: 600;}
/* A projector has few pixels: less empty space above each page's title. */
[data-testid="stMainBlockContainer"] {padding-top: 3rem;}
/* The page links above each page (studio/navigation.py page_bar): only where Streamlit folds its
   sidebar away (768 px and narrower: a phone, an iPad upright), and on a touch screen under
   1024 px (a phone sideways), where Streamlit's open sidebar took 40 % of the width and cut
   labels off: there the sidebar goes, and the links take its place. */
[data-testid="stLayoutWrapper"]:has(> .st-key-page_bar) {display: none;}
@media (pointer: coarse) and (min-width: 769px) and (max-width: 1023px) {
  [data-testid="stSidebar"], [data-testid="stExpandSidebarButton"] {display: none;}
}
@media (max-width: 768px), (pointer: coarse) and (max-width: 1023px) {
  [data-testid="stLayoutWrapper"]:has(> .st-key-page_bar) {display: block;}
  .st-key-page_bar {flex-wrap: wrap; gap: 0.15rem 0.3rem; margin-bottom: 0.4rem;}
  .st-key-page_bar [data-testid="stPageLink"] a {padding: 0.05rem 0.45rem; border: 1px solid rgba(49, 51, 63, 0.2);}
}
/* Tabs that do not fit wrap onto a second line, none cut off behind a scroll arrow ("Ca›"). */
[data-testid="stTabs"] [role="tablist"] {flex-wrap: wrap; row-gap: 0.2rem;}
/* Where Streamlit stacks columns (a phone upright), their gap stays small: a "large" gap meant
   for side by side left an empty band between a select box and the slider under it. */
@media (max-width: 640px) {
  [data-testid="stHorizontalBlock"] {row-gap: 0.75rem;}
}
/* A finger (a phone, a tablet: the main pointer is coarse) gets targets of 44 px at least, the
   size Apple and WCAG ask for. Small icons keep their place in the layout: a negative margin
   gives back what the larger box adds. */
@media (pointer: coarse) {
  [data-testid="stPageLink-NavLink"], [data-testid="stRadioOption"], [data-testid="stCheckbox"] label,
  [data-testid="stExpander"] summary, [data-testid="stTab"],
  [data-testid="stSelectbox"] div[role="group"], [data-testid="stMultiSelect"] div[role="group"] {
    min-height: 44px; align-items: center;}
  [data-testid^="stBaseButton-"] {min-height: 44px;}
  [data-testid="stNumberInputStepDown"], [data-testid="stNumberInputStepUp"] {min-width: 44px; min-height: 44px;}
  [data-testid="stTooltipHoverTarget"] > button, [data-testid="stBaseButton-elementToolbar"],
  [data-testid="stMultiSelect"] button[aria-label="Clear all"], [data-testid="stMultiSelect"] [data-tag] > button,
  [data-testid="stExpandSidebarButton"] {
    min-width: 44px; min-height: 44px; margin: -10px; display: inline-flex; align-items: center;
    justify-content: center;}
  [data-testid="stBaseButton-elementToolbar"] {margin: 0;}
}
/* WCAG 2.2 AA. Captions: Streamlit fades them to 60 % opacity, 3.9:1 on white (axe
   color-contrast); 80 % still reads as a caption and gives 7:1 in the main area and the sidebar. */
[data-testid="stCaptionContainer"] {opacity: 0.8;}
/* Focus always visible, also where Streamlit hides the element that holds it (radio, checkbox,
   toggle: a hidden input inside a label; the file uploader's input inside its drop zone). */
:focus-visible {outline: 3px solid #1f6feb !important; outline-offset: 2px;}
label:has(input:focus-visible), [data-testid="stFileUploaderDropzone"]:has(input:focus-visible),
[data-testid="stExpander"] summary:focus-visible {outline: 3px solid #1f6feb; outline-offset: 2px;
  border-radius: 0.3rem;}
/* The live camera's answer for a screen reader (studio/announce.py): read, never seen, no room taken. */
[data-testid="stElementContainer"][class*="st-key-tl-live-region-"] {position: absolute; width: 1px;
  height: 1px; overflow: hidden; clip-path: inset(50%);}
/* The focus keeper (below) takes no room: no gap above the page's title. */
[data-testid="stElementContainer"]:has(#tl-focus-keeper) {display: none;}
/* Less motion when the system asks for it: no spinners turning, no sliding or fading. */
@media (prefers-reduced-motion: reduce) {
  *, *::before, *::after {animation-duration: 0.01ms !important; animation-iteration-count: 1 !important;
                          transition-duration: 0.01ms !important; scroll-behavior: auto !important;}
}
</style>
"""
LONG_VALUE = 16  # characters: a longer value gets smaller type
WORDY_VALUE = 24  # characters: a sentence in a big card ("This doesn't look like any…") gets smaller type
_BREAK_AFTER = re.compile(r"([_/·\-]|\.(?=\D))")  # not inside a number: "0.35" stays whole


# A rerun sometimes draws a widget anew (seen with the Data page's tabs, which rerun on change):
# the element that had the keyboard focus leaves the page and the focus falls back to the top, so a
# keyboard user starts again from the first link. Put it back on the same widget (same st-key
# container, role and words) once the new one is drawn. Installed once per browser tab; our own
# code only (no outside text), so running it is safe.
_FOCUS_KEEPER = """<span id="tl-focus-keeper"></span><script>
(() => {
  if (window.__tlFocusKeeper) return;
  window.__tlFocusKeeper = true;
  let last = null;
  const describe = (e) => {
    const keyed = e.closest('[class*="st-key-"]');
    return {key: keyed ? (keyed.className.match(/st-key-[^\\s]+/) || [''])[0] : '',
            role: e.getAttribute('role') || e.tagName,
            text: (e.getAttribute('aria-label') || e.innerText || '').trim()};
  };
  let movedAt = -1e9;  // when the user last moved the focus away on purpose: a click, Tab, Escape
  document.addEventListener('pointerdown', () => { movedAt = performance.now(); }, true);
  document.addEventListener('keydown', (event) => {
    if (event.key === 'Tab' || event.key === 'Escape') movedAt = performance.now();
  }, true);
  document.addEventListener('focusin', (event) => { last = {element: event.target, ...describe(event.target)}; });
  const restore = () => {
    const active = document.activeElement;
    if (!last || !last.key || (active && active !== document.body)) return;
    if (document.contains(last.element)) {
      // Still there, yet the focus fell to the page, and not by the user's doing (Tab past the
      // page's last element, a click elsewhere): it was hidden for a moment while the page redrew
      // (the Data page's tabs, leaving the Camera tab). Give it back once it shows again.
      if (performance.now() - movedAt > 1000 && last.element.getClientRects().length) {
        last.element.focus({preventScroll: true});
      }
      return;
    }
    for (const box of document.querySelectorAll('.' + last.key)) {
      for (const candidate of box.querySelectorAll('[tabindex], a, button, input, select, textarea')) {
        const seen = describe(candidate);
        if (seen.role === last.role && seen.text === last.text) {
          candidate.focus({preventScroll: true});
          return;
        }
      }
    }
  };
  document.addEventListener('focusout', (event) => { if (!event.relatedTarget) setTimeout(restore, 150); });
  new MutationObserver(restore).observe(document.body, {childList: true, subtree: true});
})();
// A Plotly chart is three SVGs full of numbers (a screen reader read "img: 1 2 0% 20% 40%…", then
// an empty "img"): each chart is one picture named by its title (else its axes' titles); the
// numbers are in the words or the table beside it. Plotly's own text only (no outside markup).
(() => {
  if (window.__tlChartNames) return;
  window.__tlChartNames = true;
  let queued = false;
  const name = (plot) => {
    const title = plot.querySelector('.gtitle');
    const axes = [...plot.querySelectorAll('.g-xtitle, .g-ytitle')].map((e) => e.textContent.trim()).filter(Boolean);
    return (title && title.textContent.trim()) || axes.join(' · ');
  };
  const label = () => {
    queued = false;
    for (const plot of document.querySelectorAll('.js-plotly-plot')) {
      const said = name(plot);
      if (said && plot.getAttribute('aria-label') !== said) {
        plot.setAttribute('role', 'img');
        plot.setAttribute('aria-label', said);
      }
      for (const svg of plot.querySelectorAll('svg:not([aria-hidden])')) svg.setAttribute('aria-hidden', 'true');
    }
  };
  new MutationObserver(() => { if (!queued) { queued = true; setTimeout(label, 200); } })
    .observe(document.body, {childList: true, subtree: true});
})();
</script>"""


def apply_style() -> None:
    """The app's few CSS rules (large result cards, larger primary buttons), the focus keeper and
    the charts' names for screen readers; app.py, every run."""
    st.markdown(_STYLE, unsafe_allow_html=True)
    st.html(_FOCUS_KEEPER, unsafe_allow_javascript=True)


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
    """Top classes with a bar each: "circle · 92%" (the percentage as the reader's language writes it)."""
    for name, probability in ranked:
        percent = format_value(Percent(float(probability)), language())
        st.progress(min(max(float(probability), 0.0), 1.0), text=f"**{words.md(name)}** · {percent}")


def thumbnails(pictures: Sequence, width: int = 96, captions: Sequence[str] | None = None,
               alts: Sequence[str] | None = None) -> None:
    """A row of small pictures (uint8 arrays); each one's alternative text is ``alts`` (else its caption)."""
    if len(pictures):
        alts = list(alts) if alts else (list(captions) if captions else None)
        st.image(list(pictures), width=width, caption=list(captions) if captions else None, alt=alts)


def picture_grid(items: Sequence[tuple], columns: int = 4, width: int | str = "stretch") -> None:
    """Pictures in a grid: ``items`` are (uint8 picture, markdown under it[, small caption[, alternative
    text]]); without an alternative text, a screen reader hears the words under the picture."""
    items = list(items)
    for start in range(0, len(items), columns):
        row = st.columns(columns, gap="medium")
        for column, item in zip(row, items[start:start + columns]):
            picture, text, *rest = item
            alt = rest[1] if len(rest) > 1 and rest[1] else plain_text(text)
            with column:
                st.image(picture, width=width, alt=alt)
                st.markdown(text)
                if rest and rest[0]:
                    st.caption(rest[0])


def plain_text(markdown: str) -> str:
    """What a short Markdown text says, without its marks (an alternative text): "**cat** · 92%" → "cat · 92%"."""
    text = re.sub(r"\\(.)", r"\1", re.sub(r"(?<!\\)[*_`]", "", str(markdown)))
    return " ".join(text.split())


# -- messages that survive the rerun after an action -------------------------------------------------
def flash(key: str, kind: str, text: str, details: Sequence[str] = ()) -> None:
    """Keep a message (kind: "error", "success", "info", "warning") for the next run of the page.

    ``details`` are Markdown lines, shown as a list under it. A ``Message`` (tlcore's, or a
    sentence of ``words``) is shown in the reader's language; give pages' own text through ``_()``."""
    st.session_state[key] = (kind, text, list(details))


def show_flash(key: str, details_title: str | None = None) -> None:
    """Show (once) the message kept under ``key``; details in an open expander if titled."""
    message = st.session_state.pop(key, None)
    if not message:
        return
    kind, text, details = message
    {"error": st.error, "success": st.success, "warning": st.warning}.get(kind, st.info)(tr(text))
    if not details:
        return
    box = st.expander(details_title, expanded=True) if details_title else st.container()
    box.markdown("\n".join(f"- {tr(line)}" for line in details))


# -- widgets that remember ---------------------------------------------------------------------------
KEPT = "_kept"  # the suffix of a widget's value kept for its next drawing
WIDGET_VERSIONS = "tl_widget_versions"


def remembered(widget, label: str, *args, key: str, default, allowed: Sequence | None = None, **kwargs):
    """``widget(label, *args, key=key, **kwargs)`` whose value outlives a visit to another page.

    Streamlit forgets the state of a widget that a run does not draw, so its value is also kept
    under ``<key>_kept``; the widget starts from that (see ``remembered_value``). The one way every
    page remembers a widget's value."""
    remembered_value(key, default, allowed)
    value = widget(label, *args, key=key, **kwargs)
    st.session_state[key + KEPT] = value
    return value


def remembered_value(key: str, default, allowed: Sequence | None = None):
    """The value the widget ``key`` starts from, set now: its own, else the one kept when it was
    last drawn, else ``default``; ``default`` too where the value is not one of ``allowed`` (a
    select box's choices: another network's sizes). A page may change it before drawing."""
    if key not in st.session_state:
        st.session_state[key] = st.session_state.get(key + KEPT, default)
    if allowed is not None and st.session_state[key] not in allowed:
        st.session_state[key] = default
    return st.session_state[key]


def kept_toggle(label: str, key: str, default: bool = False, **kwargs) -> bool:
    """A toggle whose value outlives a visit to another page (see ``remembered``)."""
    return remembered(st.toggle, label, key=key, default=bool(default), **kwargs)


def widget_key(group: str, name: str) -> str:
    """The key of a widget in ``group`` (a page, or part of one): "model_backbone", and after
    ``renew_widgets("model")`` "model_backbone_v1", a new widget that starts from the stored
    value. So a page that changes what another page shows (a lesson's settings) renews that
    page's widgets instead of deleting its keys."""
    version = st.session_state.get(WIDGET_VERSIONS, {}).get(group, 0)
    return f"{group}_{name}" if version == 0 else f"{group}_{name}_v{version}"


def renew_widgets(group: str) -> None:
    versions = st.session_state.setdefault(WIDGET_VERSIONS, {})
    versions[group] = versions.get(group, 0) + 1


def not_sure_slider(key: str) -> float:
    """The "not sure" slider (in percent); one value shared by every page. Returns a fraction."""
    if key not in st.session_state:  # a widget forgets its value when the page changes
        st.session_state[key] = int(round(100 * state.not_sure_threshold()))
    percent = st.slider(
        _("“Not sure” below"), 0, 95, step=5, key=key, format="%d%%",
        help=_("When the model is less sure of its best answer than this, it says “Not sure” "
               "instead (its top guesses are still listed). 0% means it always answers."),
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
                        format_func={p: tr(words.run_label(run, p in mine)) for p, run in by_path.items()}.get)
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
        f'<span style="color:{colour}; font-size:1.4rem">●</span> {html.escape(_(name))}'
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
        st.caption(_("Why is the training line lower? While it learns, the model practises with some of "
                     "its clues hidden at random (dropout), which makes the training pictures harder; the "
                     "validation pictures are checked with every clue. Few validation pictures also make "
                     "that line jump."))
