"""Training augmentation: the symmetries of the sky and the perturbations of rendering, on batches."""

from __future__ import annotations

from deepshadows.augment.rendering import AUGMENT_MODES, AugmentConfig, Augmenter, augment_config
from deepshadows.augment.views import STRONG, WEAK

__all__ = ["AUGMENT_MODES", "STRONG", "WEAK", "AugmentConfig", "Augmenter", "augment_config"]
