"""A small Streamlit script that draws the camera sections, for tests/test_e2e_camera.py.

    streamlit run tests/camera_harness.py     # with the environment below, then open
    http://localhost:PORT/?section=record      # record_section into CAMERA_HARNESS_PICTURES/<class>/
    http://localhost:PORT/?section=live        # live_section for the run in CAMERA_HARNESS_RUN

Used until the real Data and Test pages call the sections themselves.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the project, ahead of any installed copy

import streamlit as st  # noqa: E402
from PIL import Image  # noqa: E402

from studio import camera, widgets  # noqa: E402

st.set_page_config(page_title="Camera harness", layout="wide")
widgets.apply_style()
PICTURES = Path(os.environ.get("CAMERA_HARNESS_PICTURES", "camera-pictures"))


def class_names() -> list[str]:
    return sorted(p.name for p in PICTURES.iterdir() if p.is_dir()) if PICTURES.is_dir() else []


def save_pictures(class_name: str, pictures) -> None:
    folder = PICTURES / class_name
    folder.mkdir(parents=True, exist_ok=True)
    start = len(list(folder.glob("*.png")))
    for number, picture in enumerate(pictures, start):
        Image.fromarray(picture).save(folder / f"camera-{number:04d}.png")


section = st.query_params.get("section", "record")
if section == "record":
    st.title("Data: record pictures")
    camera.record_section(class_names(), save_pictures, key="data_camera")
else:
    from tlcore.runs import load_run

    @st.cache_resource
    def the_run(path: str):
        return load_run(path)

    st.title("Test: live")
    threshold = st.slider("Not sure below", 0, 95, 0, step=5, key="test_not_sure") / 100
    camera.live_section(the_run(os.environ["CAMERA_HARNESS_RUN"]), threshold, key="test_live",
                        on_add=save_pictures)
