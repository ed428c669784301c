"""The T21 SourceExtractor preselection of LSBG candidates, applied to measured features.

Tanoglidis et al. (2021) kept DES objects with

* ``24.3 < MU_MEAN_MODEL_G < 28.0`` mag/arcsec^2,
* ``-0.1 < g - i < 1.4`` and ``0.7 (g - i) - 0.4 < g - r < 0.7 (g - i) + 0.4`` (MAG_AUTO colours),
* ``2.5 < FLUX_RADIUS_G < 20`` arcsec,
* ellipticity ``1 - B/A < 0.7``,
* and a SPREAD_MODEL star/galaxy cut.

SPREAD_MODEL needs a PSF model fit and cannot be measured with ``sep``; the flux-radius cut
already removes point sources, so it is left out here. The cuts are applied to the features of
:mod:`deepshadows.features.measure`; any NaN among the features used fails the selection.
"""

from __future__ import annotations

import numpy as np

from deepshadows.errors import InputError
from deepshadows.features.measure import FEATURE_NAMES

__all__ = [
    "MU_MEAN_G_RANGE",
    "G_I_RANGE",
    "G_R_SLOPE",
    "G_R_HALF_WIDTH",
    "FLUX_RADIUS_G_RANGE",
    "ELLIPTICITY_MAX",
    "passes_preselection",
]

#: Open interval of the mean g-band surface brightness inside the half-light radius.
MU_MEAN_G_RANGE: tuple[float, float] = (24.3, 28.0)
#: Open interval of the g - i colour.
G_I_RANGE: tuple[float, float] = (-0.1, 1.4)
#: Slope of the g - r versus g - i colour box.
G_R_SLOPE: float = 0.7
#: Half width of the g - r colour box around ``G_R_SLOPE * (g - i)``.
G_R_HALF_WIDTH: float = 0.4
#: Open interval of the g-band half-light radius, arcsec.
FLUX_RADIUS_G_RANGE: tuple[float, float] = (2.5, 20.0)
#: Upper limit (exclusive) of the ellipticity ``1 - b/a``.
ELLIPTICITY_MAX: float = 0.7

_INDEX = {name: k for k, name in enumerate(FEATURE_NAMES)}


def passes_preselection(features: np.ndarray) -> bool | np.ndarray:
    """Apply the T21 preselection cuts to measured features.

    Parameters
    ----------
    features : numpy.ndarray
        One feature vector of shape ``(19,)`` or a batch of shape ``(N, 19)``, in the order of
        :data:`deepshadows.features.measure.FEATURE_NAMES`.

    Returns
    -------
    bool or numpy.ndarray
        ``True`` where every cut passes: a Python bool for one vector, a boolean array of shape
        ``(N,)`` for a batch. NaN features fail.

    Raises
    ------
    InputError
        If the last axis does not hold the 19 features or the array has more than two axes.
    """
    values = np.asarray(features, dtype=np.float64)
    if values.ndim not in (1, 2) or values.shape[-1] != len(FEATURE_NAMES):
        raise InputError(
            f"features must have shape ({len(FEATURE_NAMES)},) or (N, {len(FEATURE_NAMES)}); "
            f"got {values.shape}"
        )
    mu_mean_g = values[..., _INDEX["mu_mean_g"]]
    g_i = values[..., _INDEX["g_i"]]
    g_r = values[..., _INDEX["g_r"]]
    radius_g = values[..., _INDEX["flux_radius_g"]]
    ellipticity = values[..., _INDEX["ellipticity"]]

    # Comparisons with NaN are False, so missing measurements fail every cut they enter.
    selected = (
        (mu_mean_g > MU_MEAN_G_RANGE[0])
        & (mu_mean_g < MU_MEAN_G_RANGE[1])
        & (g_i > G_I_RANGE[0])
        & (g_i < G_I_RANGE[1])
        & (g_r > G_R_SLOPE * g_i - G_R_HALF_WIDTH)
        & (g_r < G_R_SLOPE * g_i + G_R_HALF_WIDTH)
        & (radius_g > FLUX_RADIUS_G_RANGE[0])
        & (radius_g < FLUX_RADIUS_G_RANGE[1])
        & (ellipticity < ELLIPTICITY_MAX)
    )
    if values.ndim == 1:
        return bool(selected)
    return selected
