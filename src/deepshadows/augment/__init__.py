"""Training augmentation: the symmetries of the sky and the perturbations of rendering, on batches."""

from __future__ import annotations

from deepshadows.augment.rendering import AUGMENT_MODES, AugmentConfig, Augmenter, augment_config

__all__ = ["AUGMENT_MODES", "AugmentConfig", "Augmenter", "augment_config"]
