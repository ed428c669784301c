"""The augmentations of a fine-tuning: the recipe's levels, and FixMatch's weak and strong views."""

from __future__ import annotations

from deepshadows.augment import AugmentConfig
from deepshadows.augment.views import STRONG, WEAK
from deepshadows.errors import InputError

__all__ = ["STRONG", "WEAK", "augmentation"]

#: The eight flips and rotations only.
_DIHEDRAL = AugmentConfig(
    max_shift=0, blur_fraction=0.0, gain=(1.0, 1.0), offset_sigma=0.0, noise_fraction=0.0
)


def augmentation(level: str) -> AugmentConfig | None:
    """Return the augmentation of a recipe's ``augment`` level (None for ``none``).

    Parameters
    ----------
    level : {"none", "dihedral", "default"}
        ``default`` is the training augmentation of :mod:`deepshadows.augment`.

    Returns
    -------
    AugmentConfig or None
        Flips and rotations only for ``dihedral``, the default augmentation for ``default``,
        None for ``none``.

    Raises
    ------
    deepshadows.errors.InputError
        For an unknown level.
    """
    levels = {"none": None, "dihedral": _DIHEDRAL, "default": AugmentConfig()}
    if level not in levels:
        raise InputError(f"--augment: choose from {', '.join(levels)}, got {level!r}")
    return levels[level]
