"""Columns, flag bits and sentinel value of the 19-feature table measured on a cutout.

The T21/DS21 SVM and random-forest baselines were trained on 19 SourceExtractor quantities from
the DES Y3 Gold catalogue; :data:`FEATURE_NAMES` gives them in the column order of the authors'
training matrix. A measurement also carries a bitmask of the ``FLAG_*`` values, and surface
brightnesses of non-positive mean flux are recorded as :data:`MU_SENTINEL`.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "FEATURE_NAMES",
    "FLAG_NO_DETECTION",
    "FLAG_MEASUREMENT_FAILED",
    "FLAG_NONPOSITIVE_FLUX",
    "MU_SENTINEL",
]

#: The 19 features, in the column order of the authors' training matrix.
FEATURE_NAMES: tuple[str, ...] = (
    "ellipticity",
    "g_i",
    "g_r",
    "r_i",
    "mag_auto_g",
    "mag_auto_r",
    "mag_auto_i",
    "flux_radius_g",
    "flux_radius_r",
    "flux_radius_i",
    "mu_max_g",
    "mu_max_r",
    "mu_max_i",
    "mu_eff_g",
    "mu_eff_r",
    "mu_eff_i",
    "mu_mean_g",
    "mu_mean_r",
    "mu_mean_i",
)

#: No detection within ``max_offset_arcsec`` of the image centre; every feature is NaN.
FLAG_NO_DETECTION: int = 1
#: ``sep`` raised or returned non-finite values; the affected features are NaN.
FLAG_MEASUREMENT_FAILED: int = 2
#: The Kron flux of at least one of g, r, i is not positive: that band's magnitude, colours and
#: flux radius are NaN and its MU_EFF and MU_MEAN are set to :data:`MU_SENTINEL`.
FLAG_NONPOSITIVE_FLUX: int = 4

#: Surface brightness recorded where the mean flux is not positive, mag/arcsec^2.
MU_SENTINEL: float = 30.0

#: Column index of each feature name.
_COLUMN = {name: k for k, name in enumerate(FEATURE_NAMES)}


def _empty_features() -> np.ndarray:
    """Return a feature vector of NaN."""
    return np.full(len(FEATURE_NAMES), np.nan, dtype=np.float64)
