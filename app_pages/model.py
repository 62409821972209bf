"""Model: choose the pretrained network, its starting weights, how much of it learns, and
the training settings. The settings are stored (a TrainingSettings) for the Train page.

The page holds a draft of the stored settings from its first line: each section draws its
widgets from the draft, changes its part with ``TrainingSettings.choose`` (which applies what a
choice implies), and asks the draft what follows (what learns, which epochs, what it costs).
Another page that replaces the settings (a lesson, a Teachable Machine network) renews this
page's widgets with ``widgets.renew_widgets("model")``.
"""

from __future__ import annotations

import html

import streamlit as st

from studio import figures, navigation, spaces, state, widgets, words
from studio.i18n import _, _n, language, tr
from tlcore.i18n import N_, format_value
from tlcore.backbones import BACKBONES, add_to_library, imagenet_weights_cached, library_weights_file
from tlcore.data import safe_name
from tlcore.settings import TrainingSettings

AUGMENT_LABELS = {
    "flip": N_("Flip left ↔ right"),
    "rotation": N_("Turn a little"),
    "zoom": N_("Zoom in a little"),
    "contrast": N_("Change the contrast"),
}
WEIGHT_LABELS = {  # and "file": weights_label says where the file was added
    "imagenet": N_("ImageNet (pretrained on 1.2 million photos)"),
    "none": N_("None — from scratch (needs far more pictures and time)"),
}
BATCH_SIZES = ("Auto", 8, 16, 32, 64, 128)  # "Auto" is a value; shown translated by batch_label
LEARNING_RATES = (1e-4, 3e-4, 1e-3, 3e-3, 1e-2)
SPEEDS = "model_speed_ms"  # backbone -> milliseconds for one picture, measured here
PENDING_WEIGHTS = "model_weights_next"  # the weights choice to show after a file was added


def key(name: str) -> str:
    return widgets.widget_key("model", name)


def number(value) -> str:
    """A number as the reader's language writes it (grouped; a float with up to two decimals)."""
    return format_value(value, language())


def render() -> None:
    data = state.ensure_dataset()
    draft = state.settings()
    st.title(_("Choose the network to reuse"))
    widgets.lead(_("Pick a network pretrained on ImageNet, decide where its starting knowledge comes from, "
                   "and how many of its top blocks may adjust to your pictures."))
    left, right = st.columns([1, 2], gap="large")
    with left:
        backbone = backbone_choice(draft)
    spec = BACKBONES[backbone]
    with right:
        network_card(spec, chosen=True)
        speed_line(spec)
        weights = weights_choice(spec, draft, picture_size(spec, draft))
    compare_networks(backbone)
    draft = draft.choose(backbone=backbone, weights=weights)
    draft = blocks_section(draft, len(data.class_names))
    draft = epochs_section(draft)
    draft = augmentation_section(data, draft)
    draft = advanced_section(draft)
    state.set_settings(draft)
    plan_section(draft, len(data))


# -- the network and its weights ----------------------------------------------------------------------
def backbone_choice(draft: TrainingSettings) -> str:
    names = list(BACKBONES)
    return widgets.remembered(
        st.radio, _("Network"), names, key=key("backbone"), default=draft.backbone, allowed=names,
        format_func={n: _(BACKBONES[n].title) for n in names}.get,
        captions=[_("{size} MB · about {speed} pictures/s", size=round(BACKBONES[n].size_mb),
                    speed=BACKBONES[n].pictures_per_second) for n in names],
    )


def network_card(spec, chosen: bool = False, level: int = 2) -> None:
    """A network's card; its name a heading of ``level`` (2 under the page's title, 3 in the
    comparison under it: a screen reader's outline skips no level), drawn at one small size."""
    with st.container(border=True):
        name = html.escape(f"{'✔ ' if chosen else ''}{_(spec.title)} · {spec.card.year}")
        st.markdown(f'<h{level} class="tl-card-title">{name}</h{level}>', unsafe_allow_html=True)
        st.markdown(_(spec.card.summary))
        st.markdown(_("**Strength:** {strength}", strength=_(spec.card.strength)) + "  \n"
                    + _("**Cost:** {cost}", cost=_(spec.card.cost)))
        st.caption(_("Weights: {size} MB · pictures of {side}×{side} pixels · about {speed} pictures a second "
                     "on a typical laptop", size=round(spec.size_mb), side=spec.input_size,
                     speed=spec.pictures_per_second))
        st.caption(weights_status(spec))


def compare_networks(backbone: str) -> None:
    with st.expander(_n("Compare the {count} network", "Compare all {count} networks", len(BACKBONES)), expanded=False):
        grid = st.columns(3)
        for i, name in enumerate(BACKBONES):
            with grid[i % 3]:
                network_card(BACKBONES[name], chosen=name == backbone, level=3)


def weights_status(spec, size: int | None = None) -> str:
    if not spec.pretrained:
        return _(":material/casino: No pretrained weights: it always starts from random weights.")
    if imagenet_weights_cached(spec, size):
        return _(":material/check_circle: ImageNet weights are on this computer.")
    if library_weights_file(spec) is not None:
        return f":material/description: {words.weights_file_label(spaces.classroom())}."
    return _(":material/cloud_download: ImageNet weights are not on this computer yet "
             "(they need an internet connection once).")


def speed_line(spec) -> None:
    measured = st.session_state.setdefault(SPEEDS, {})
    if spec.name in measured:
        st.markdown(_("**On this computer:** {ms} ms to answer for one picture (about {speed} pictures a second, "
                      "one at a time).", ms=round(measured[spec.name]), speed=round(1000 / measured[spec.name])))
    elif st.button(_("Measure {network}'s speed on this computer", network=spec.short_title),
                   key="model_measure_speed", icon=":material/speed:"):
        from tlcore.speed import prediction_milliseconds

        with st.spinner(_("Timing one picture…")):
            measured[spec.name] = prediction_milliseconds(spec.name)
        st.rerun()


def picture_size(spec, draft: TrainingSettings) -> int:
    """The picture size (its widget is under Advanced): the stored one on the same network; a
    network just chosen starts at its own size."""
    if spec.name != draft.backbone:
        st.session_state[key("size")] = spec.input_size
    return widgets.remembered_value(key("size"), draft.resolved_input_size, spec.input_sizes)


def weights_choice(spec, draft: TrainingSettings, size: int) -> str:
    """"imagenet", "none" or the added file's path, with what that means here and a way to add a file."""
    if not spec.pretrained:  # a network that only ever trains from scratch: nothing to choose
        st.info(_("{network} has never seen ImageNet: it always starts from random weights. Train it beside "
                  "a pretrained network to see what transfer learning brings.", network=spec.title))
        return "none"
    library_file = library_weights_file(spec)
    options = ["imagenet"] + (["file"] if library_file else []) + ["none"]
    widget = key("weights")
    if PENDING_WEIGHTS in st.session_state:
        st.session_state[widget] = st.session_state.pop(PENDING_WEIGHTS)
    stored = draft.weights if draft.weights in ("imagenet", "none") else "file"
    value = widgets.remembered_value(widget, stored if stored in options else "imagenet", options)
    cached = imagenet_weights_cached(spec, size)
    chosen_for = key("weights_backbone")
    if st.session_state.get(chosen_for) != spec.name:  # a network just chosen, or the page's first run
        st.session_state[chosen_for] = spec.name
        if value == "imagenet" and "file" in options and not cached:
            # Offline, ImageNet would fail at Start: begin from the weights file that is on this computer.
            st.session_state[widget] = "file"
    # Labels made now, in this run's language (AppTest calls format_func later, outside the run).
    labels = {option: weights_label(option) for option in options}
    choice = widgets.remembered(st.radio, _("Starting weights"), options, key=widget, default="imagenet",
                                allowed=options, format_func=labels.get)
    if choice == "imagenet" and cached:
        st.success(_("The ImageNet weights for {network} are on this computer: ready to go.", network=spec.title))
    elif choice == "imagenet":
        st.warning(_("The ImageNet weights for {network} are not on this computer yet. With an internet "
                     "connection they download once (about {size} MB) when training starts. "
                     "No internet here? Two ways out: **add a weights file** below, or choose "
                     "**None — from scratch** (needs far more pictures and time).",
                     network=_(spec.title), size=round(spec.size_mb)))
    elif choice == "file":
        # i18n: {weights} is "the weights file added on this computer" (or "on the teacher's computer")
        st.info(_("Starting from {weights} for {network}.", weights=words.added_weights_words(spaces.classroom()),
                  network=spec.title))
    else:
        st.warning(_("From scratch, the network knows nothing at the start: every block learns from your "
                     "pictures alone. Expect much lower accuracy with a few pictures — a good way to "
                     "show why transfer learning helps."))
    with st.expander(_("Add a weights file for {network}", network=spec.title),
                     expanded=choice == "imagenet" and not cached):
        weights_file_upload(spec)
    return str(library_file) if choice == "file" else choice


def weights_label(choice: str) -> str:
    """The starting-weights choice in words; a file added earlier says where (never "you")."""
    return words.weights_file_label(spaces.classroom()) if choice == "file" else _(WEIGHT_LABELS[choice])


def weights_file_upload(spec) -> None:
    st.markdown(_("A Keras weights file (`.weights.h5` or `.h5`) made for **{network}** without "
                  "its top, for example copied from a computer with internet. It is checked, then kept "
                  "on this computer for next time.", network=spec.title))
    upload = st.file_uploader(_("Weights file"), type=["h5"], key=key(f"weights_file_{spec.name}"))
    if upload is None or st.session_state.get("model_weights_file_done") == upload.file_id:
        return
    st.session_state["model_weights_file_done"] = upload.file_id
    # Kept under the user's own file name, so a message about it names the file they chose.
    target = state.work_dir() / f"weights-upload-{spec.name}" / safe_name(upload.name, f"{spec.name}.h5")
    target.parent.mkdir(exist_ok=True)
    target.write_bytes(upload.getvalue())
    try:
        with st.spinner(_("Checking that the file fits this network…")):
            add_to_library(spec, target)  # converts the older .h5 format too
    except (ValueError, OSError) as error:
        st.error(tr(error))
        return
    finally:
        target.unlink(missing_ok=True)
    st.session_state[PENDING_WEIGHTS] = "file"
    st.rerun()


# -- how much of the network learns, and how long ------------------------------------------------------
def blocks_section(draft: TrainingSettings, n_classes: int) -> TrainingSettings:
    """The slider of top blocks that learn, the blocks picture and the parameter counts."""
    st.header(_("Which blocks learn?"))
    from tlcore.model.plan import learning_plan  # TensorFlow loads here, not before the cards

    spec = draft.spec
    with st.spinner(_("Looking inside {network}…", network=spec.title)):
        num_blocks = learning_plan(spec.name, n_classes, 0).num_blocks
    if draft.from_scratch:
        st.info(_n("From scratch, the {count} block of {network} learns, from the first epoch.",
                   "From scratch, all {count} blocks of {network} learn, from the first epoch.", num_blocks,
                   network=spec.title))
    else:
        learning_blocks = widgets.remembered(
            st.slider, _("Top blocks that learn during fine-tuning (0 to {high})", high=num_blocks), 0, num_blocks,
            key=key("depth"), default=min(draft.learning_blocks, num_blocks), allowed=range(num_blocks + 1),
            help=_("0: feature extraction, only the new head learns. More: the top blocks adjust too."),
        )
        chosen = draft.choose(learning_blocks=learning_blocks)
        if chosen.resolved_fine_tune_epochs != draft.resolved_fine_tune_epochs:  # what the choice implies, shown
            st.session_state[key("ft_epochs")] = chosen.resolved_fine_tune_epochs
        draft = chosen
    plan = learning_plan(spec.name, n_classes, draft.blocks_that_learn(num_blocks), from_scratch=draft.from_scratch)
    picture_column, numbers_column = st.columns([3, 2], gap="large")
    with picture_column:
        st.plotly_chart(
            figures.blocks_figure(plan.blocks, plan.head_params, n_classes,
                                  _n("The {count} block, and the new head", "The {count} blocks, and the new head", num_blocks)),
            key="model_blocks_chart", config=figures.CHART_CONFIG)
        st.markdown(f'<p class="tl-legend">{figures.blocks_key_html()}</p>', unsafe_allow_html=True)
        blocks_in_words(plan, num_blocks)
    with numbers_column:
        parameter_counts(plan, n_classes, draft)
    return draft


def parameter_counts(plan, n_classes: int, draft: TrainingSettings) -> None:
    st.metric(_("Parameters that learn"), number(plan.learning_params),
              help=_("The new head, plus the blocks that may learn. Normalisation layers stay frozen "
                     "when starting from pretrained weights."))
    st.metric(_("Parameters that stay frozen"), number(plan.frozen_params))
    st.metric(_n("New head ({count} class)", "New head ({count} classes)", n_classes), number(plan.head_params))
    if draft.from_scratch:
        st.markdown(_("Every parameter starts random and learns."))
    elif not draft.learning_blocks:
        st.markdown(_("**Feature extraction.** The whole network is frozen: each picture goes through it "
                      "once, and only the new head learns. Fast and safe with few pictures."))
    else:
        st.markdown(_n("**Fine-tuning.** First the new head learns on its own; then the top {count} block learns "
                       "too, with a learning rate ten times smaller, so it adjusts without forgetting ImageNet.",
                       "**Fine-tuning.** First the new head learns on its own; then the top {count} blocks learn "
                       "too, with a learning rate ten times smaller, so they adjust without forgetting ImageNet.",
                       draft.learning_blocks))


def blocks_in_words(plan, num_blocks: int) -> None:
    """The blocks picture as text, one click away (screen readers; colour is not the only key)."""
    learning = plan.learning_blocks
    with st.expander(_("The blocks picture in words")):
        st.markdown(_n("{learning} of the {count} block learns; the others stay frozen. The new head always "
                       "learns ({params} parameters).",
                       "{learning} of the {count} blocks learn; the others stay frozen. The new head always "
                       "learns ({params} parameters).", num_blocks, learning=learning, params=plan.head_params))




def epochs_section(draft: TrainingSettings) -> TrainingSettings:
    st.header(_("Training"))
    epochs_column, ft_column = st.columns(2)
    epochs = widgets.remembered(epochs_column.number_input, _("Epochs (passes over the training pictures)"),
                                key=key("epochs"), default=draft.epochs, min_value=1, max_value=200, step=1)
    with ft_column:
        if draft.from_scratch:
            st.caption(_("Fine-tuning does not apply when training from scratch."))
            return draft.choose(epochs=epochs)
        ft_key, no_block = key("ft_epochs"), not draft.learning_blocks
        if no_block:  # the input is off: it shows what the settings hold
            st.session_state[ft_key] = draft.resolved_fine_tune_epochs
        fine_tune_epochs = widgets.remembered(
            st.number_input, _("Fine-tuning epochs (after the head)"), key=ft_key,
            default=draft.resolved_fine_tune_epochs, min_value=0, max_value=200, step=1, disabled=no_block,
            help=_("Only meaningful when at least one top block learns (slider above at 1 or more)."))
        if no_block:
            st.caption(_("Fine-tuning needs at least one learning block: move the slider above to 1 or more."))
        elif fine_tune_epochs == 0:
            st.caption(_("With 0 fine-tuning epochs the top blocks never get to learn."))
    return draft.choose(epochs=epochs, fine_tune_epochs=fine_tune_epochs)


def augmentation_section(data, draft: TrainingSettings) -> TrainingSettings:
    st.subheader(_("Augmentation: show slightly changed pictures each epoch"))
    augment = [name for column, (name, label) in zip(st.columns(len(AUGMENT_LABELS)), AUGMENT_LABELS.items())
               if widgets.remembered(column.toggle, _(label), key=key(f"aug_{name}"), default=name in draft.augment)]
    draft = draft.choose(augment=augment)
    if augment:
        st.caption(augmentation_words(draft.augment_views, every_epoch=not draft.uses_augmented_views))
        augmentation_examples(data, augment)
    return draft


def augmentation_words(views: int, every_epoch: bool) -> str:
    """What augmentation costs: ``views`` changed copies through the frozen network once, or (with
    ``every_epoch``, where blocks learn) every picture changed anew each epoch."""
    if every_epoch or views <= 0:
        return _("Augmentation helps with few pictures, but makes training slower: with blocks that learn, "
                 "every picture is changed anew and goes through the whole network in every epoch.")
    return _n("Augmentation helps with few pictures. Each picture and {count} changed copy of it go through the "
              "frozen network once, so training stays quick.",
              "Augmentation helps with few pictures. Each picture and {count} changed copies of it go through the "
              "frozen network once, so training stays quick.", views)


def augmentation_examples(data, augment: list[str]) -> None:
    """Each row: a picture, then how the network may see it in three different epochs."""
    examples = [int((data.labels == label).argmax()) for label in range(min(3, len(data.class_names)))]
    if st.button(_("Show other examples"), key="model_aug_again"):
        st.session_state["model_aug_round"] = st.session_state.get("model_aug_round", 0) + 1
    with st.spinner(_("Changing a few pictures…")):
        originals = data.pixels()[examples][:, ::2, ::2]
        start = 3 * st.session_state.get("model_aug_round", 0)
        variants = [figures.augmented(originals, augment, start + k) for k in range(3)]
    st.markdown(_("**Each row: the original, then how the network may see it in three different epochs**"))
    captions = [_("original"), _("epoch A"), _("epoch B"), _("epoch C")]
    for row, original in enumerate(originals):
        class_name = data.class_names[int(data.labels[examples[row]])]
        alts = [_("A picture of {class_name}, as it is", class_name=class_name)] + [
            _("The same picture of {class_name}, changed as in {epoch}", class_name=class_name, epoch=caption)
            for caption in captions[1:]]
        st.image([original] + [variant[row] for variant in variants], width=150, caption=captions, alt=alts)


def advanced_section(draft: TrainingSettings) -> TrainingSettings:
    spec = draft.spec
    with st.expander(_("Advanced")):
        size = widgets.remembered(st.select_slider, _("Picture size (pixels): smaller is faster, larger sees more detail"),
                                  spec.input_sizes, key=key("size"), default=spec.input_size, allowed=spec.input_sizes)
        auto = draft.auto_batch or draft.batch_size not in BATCH_SIZES
        batch_size = widgets.remembered(st.select_slider, _("Batch size (pictures per learning step)"), BATCH_SIZES,
                                        key=key("batch"), default="Auto" if auto else draft.batch_size,
                                        format_func=lambda size, auto=_("Auto"): auto if size == "Auto" else str(size))
        nearest = min(LEARNING_RATES, key=lambda lr: abs(lr - draft.learning_rate))
        learning_rate = widgets.remembered(st.select_slider, _("Learning rate (size of each learning step)"),
                                           LEARNING_RATES, key=key("lr"), default=nearest,
                                           format_func=lambda lr: f"{lr:g}")
    return draft.choose(input_size=None if size == spec.input_size else int(size),
                        batch_size="auto" if batch_size == "Auto" else int(batch_size),
                        learning_rate=float(learning_rate))


def plan_section(settings: TrainingSettings, pictures: int) -> None:
    st.header(_("What will happen"))
    st.markdown("\n".join(f"{i}. {text}" for i, text in enumerate(plan_steps(settings, pictures), start=1)))
    navigation.link("train", _("Next: train it"))


def plan_steps(settings: TrainingSettings, pictures: int) -> list[str]:
    """The plan, one whole sentence a step."""
    spec = settings.spec
    epochs = settings.epochs
    if settings.from_scratch:
        # i18n: {pictures} is a number of pictures (always several)
        steps = [_n("All blocks of {network} start random and learn from your {pictures} pictures for {count} epoch.",
                    "All blocks of {network} start random and learn from your {pictures} pictures for {count} epochs.",
                    epochs, network=_(spec.title), pictures=pictures)]
    elif not settings.augment:
        steps = [_n("Each picture goes once through the frozen network (the fast path), then the new head learns "
                    "for {count} epoch.",
                    "Each picture goes once through the frozen network (the fast path), then the new head learns "
                    "for {count} epochs.", epochs)]
    elif settings.uses_augmented_views:
        # i18n: {views} is how many changed copies of each picture are made
        steps = [_n("Each picture and {views} changed copies of it go once through the frozen network, then the new "
                    "head learns on them for {count} epoch.",
                    "Each picture and {views} changed copies of it go once through the frozen network, then the new "
                    "head learns on them for {count} epochs.", epochs, views=settings.augment_views)
                 if settings.augment_views != 1 else
                 _n("Each picture and 1 changed copy of it go once through the frozen network, then the new "
                    "head learns on them for {count} epoch.",
                    "Each picture and 1 changed copy of it go once through the frozen network, then the new "
                    "head learns on them for {count} epochs.", epochs)]
    else:
        steps = [_n("The new head learns on pictures changed anew each epoch for {count} epoch.",
                    "The new head learns on pictures changed anew each epoch for {count} epochs.", epochs)]
    if not settings.from_scratch and settings.uses_fine_tuning:
        # i18n: {epochs} is "3 epochs"
        steps.append(_n("Then the top {count} block learns too, for {epochs}, with a learning rate of {rate}.",
                        "Then the top {count} blocks learn too, for {epochs}, with a learning rate of {rate}.",
                        settings.learning_blocks, rate=format(settings.resolved_fine_tune_learning_rate, "g"),
                        epochs=_n("{count} epoch", "{count} epochs", settings.resolved_fine_tune_epochs)))
    steps.append(_("One picture in five of each class is held back to check the model on pictures it never "
                   "learned from (validation)."))
    return steps

