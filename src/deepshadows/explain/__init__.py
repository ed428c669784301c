"""Explanations of the classifier's decisions: Grad-CAM maps and galleries (the paper's Fig. 6)."""

from __future__ import annotations

from deepshadows.explain.gallery import confident_groups, explain_run, plot_gallery
from deepshadows.explain.gradcam import class_scores, ensemble_gradcam, gradcam

__all__ = [
    "class_scores",
    "confident_groups",
    "ensemble_gradcam",
    "explain_run",
    "gradcam",
    "plot_gallery",
]
