"""The two views of an unlabelled cutout in consistency training (FixMatch, Sohn et al. 2020).

The network's prediction for the *weak* view becomes the pseudo-label that it learns to give to
the *strong* view: the weak view only moves the cutout (flips, rotations, a small shift), the
strong one also changes how it was rendered (blur, colour gains, noise), turned up from the
training augmentation.
"""

from __future__ import annotations

from deepshadows.augment.rendering import AugmentConfig

__all__ = ["STRONG", "WEAK"]

#: The weak view: flips, rotations and a shift of up to 2 pixels.
WEAK = AugmentConfig(max_shift=2, blur_fraction=0.0, gain=(1.0, 1.0), offset_sigma=0.0, noise_fraction=0.0)
#: The strong view: the rendering augmentations turned up (shift, blur, colour, noise).
STRONG = AugmentConfig(
    max_shift=4,
    blur_fraction=0.5,
    blur_sigma=(0.4, 1.6),
    gain=(0.7, 1.4),
    offset_sigma=3.0,
    noise_fraction=0.6,
    noise_sigma=(1.0, 6.0),
)
