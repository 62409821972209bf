"""Explaining a model's answers: Grad-CAM heatmaps and overlays."""

from .gradcam import gradcam, jet, overlay

__all__ = ["gradcam", "jet", "overlay"]
