"""Learn: what transfer learning is, in plain words. No TensorFlow on this page."""

import streamlit as st

from studio import figures, navigation, state, widgets
from studio.i18n import _, _n
from studio.words import UNFAMILIAR_WORDS
from tlcore.backbones import BACKBONES
from tlcore.i18n import N_

FAMOUS = (("vgg16", "VGG16"), ("resnet50", "ResNet"), ("inception_v3", "Inception"))
STEPS = (
    (N_("1 · Data"), N_("Bring pictures: one folder per class, a zip, or the webcam. Or use the demo.")),
    (N_("2 · Model"), N_("Choose the network to reuse and how many of its top blocks may learn.")),
    (N_("3 · Train"), N_("Watch the head learn, epoch by epoch, on the live charts.")),
    (N_("4 · Test"), N_("Show it new pictures and see what it answers, and how sure it is.")),
)


def render() -> None:
    st.title(_("How a computer learns your pictures"))
    widgets.lead(_(
        "Teaching a computer to recognise pictures from nothing takes millions of photos and days "
        "of computing. Transfer learning is the shortcut: we borrow a network that has already "
        "learned to see, and teach it only the last step — your own classes."
    ))
    start_with_demo()
    idea_section()
    famous_networks_section()
    none_of_my_classes_section()
    steps_section()


def start_with_demo() -> None:
    if st.button(_("Start with the demo"), key="learn_start_demo", type="primary", width="stretch",
                 icon=":material/play_arrow:",
                 help=_n("Loads {count} picture of circles, squares and triangles and opens the Data page.",
                         "Loads {count} pictures of circles, squares and triangles and opens the Data page.", 90)):
        with st.spinner(_("Loading the demo pictures…")):
            state.load_demo_dataset()
        navigation.go("data")


def idea_section() -> None:
    st.header(_("The idea in one picture"))
    data = state.dataset()
    st.graphviz_chart(figures.transfer_diagram(data.class_names if data is not None else None), width="stretch",
                      alt=_("Your picture goes through the blocks of a network pretrained on ImageNet (block 1 finds "
                            "edges, block 2 textures, block 3 shapes, the top block objects), then into a new head "
                            "that answers with one of your classes."))
    # Colour is never the only clue: the blocks are named as the diagram names them.
    st.caption(_("The grey blocks 1 to 3 are frozen: they keep what they learned on ImageNet. Only the green NEW "
                 "HEAD (and, if you choose, the orange top block with the dashed border) learns from your pictures."))
    left, right = st.columns(2, gap="large")
    with left:
        st.subheader(_("1 · A network that already knows how to see"))
        st.markdown(_(
            "The network was trained on **ImageNet**: 1.2 million photos of 1000 kinds of things "
            "(dogs, cars, cups, flowers…). On the way it learned to find **edges and colours** in its "
            "first blocks, **textures** in the next ones, and **parts and shapes** near the top. "
            "Those skills are useful for almost any picture, not only for the 1000 ImageNet kinds."))
        st.subheader(_("2 · Feature extraction: teach only a new head"))
        st.markdown(_(
            "We cut off the network's old last layer (its 1000 ImageNet answers) and put a small "
            "**new head** in its place, with one answer per class of *yours*. The borrowed blocks are "
            "**frozen**: they do not change. Each picture goes through them once, and only the head "
            "learns — that takes seconds, even on a laptop."))
    with right:
        st.subheader(_("3 · Fine-tuning: let the top blocks adjust a little"))
        st.markdown(_(
            "Optionally, after the head has learned, we **unfreeze the top blocks** and let them adjust "
            "to your pictures too, with a **low learning rate** (small steps), so that they do not forget "
            "what they learned on ImageNet. The lower blocks (edges, textures) stay frozen: they are "
            "useful as they are."))
        st.subheader(_("4 · Why a few pictures are enough"))
        st.markdown(_(
            "The new head only has to combine features the network already finds — for example "
            "*round outline* + *smooth edge* means *circle*. That is a small job with few numbers to "
            "learn, so **20–50 pictures per class** often work well. Training the whole network from "
            "scratch would need thousands of pictures per class and much more time."))


def famous_networks_section() -> None:
    st.header(_("Three networks that changed the field"))
    st.markdown(_("You can reuse each of them in this studio. What did each one bring?"))
    for column, (name, short) in zip(st.columns(len(FAMOUS), gap="medium"), FAMOUS):
        spec = BACKBONES[name]
        with column, st.container(border=True):
            st.markdown(f"### {short} · {spec.card.year}")  # a name and a year: no words to translate
            st.markdown(f"**{_(spec.card.lesson)}**")
            st.markdown(_(spec.card.summary))
    with st.expander(_("The other networks in this studio"), expanded=False):
        others = [spec for name, spec in BACKBONES.items() if name not in dict(FAMOUS)]
        for spec in sorted(others, key=lambda s: s.card.year):
            st.markdown(_("**{network}** ({year}) — {lesson}", network=_(spec.title), year=str(spec.card.year),
                          lesson=_(spec.card.lesson)))


def none_of_my_classes_section() -> None:
    st.header(_("Why it always picks one of your classes"))
    left, right = st.columns(2, gap="large")
    with left:
        st.markdown(_(
            "The new head shares out 100% among **your classes only**: cats and dogs, say. Show it a banana and "
            "it must still split the 100% between *cat* and *dog*, so it may say “dog, 97% sure”. It was never "
            "asked whether the picture is a cat or a dog at all."))
        st.markdown(_(
            "So the Studio also checks whether a picture looks like the pictures the model learned from. "
            "When it does not, the Test page says **“{unfamiliar}”** instead of a class.",
            unfamiliar=_(UNFAMILIAR_WORDS)))
    with right:
        st.markdown(_(
            "**An “other” class helps.** Add a class of pictures of what else the camera may see (the empty "
            "room, hands, other objects), and the model learns to answer *other* for them instead of forcing "
            "them into cat or dog."))
        st.markdown(_(
            "Its limit: pictures close to your classes still look familiar. To a model of roses and tulips, a "
            "daisy is a flower like the others, so only an “other” class with daisies in it teaches the "
            "difference."))


def steps_section() -> None:
    st.header(_("What you will do"))
    for column, (title, text) in zip(st.columns(len(STEPS)), STEPS):
        with column, st.container(border=True):
            st.markdown(f"**{_(title)}**")
            st.markdown(_(text))
    navigation.link("data", _("Go to your pictures"))
