"""Wilson score intervals of binomial fractions, such as a completeness in a bin of few objects."""

from __future__ import annotations

import numpy as np
from scipy.stats import norm

__all__ = ["binomial_interval"]


def binomial_interval(k: np.ndarray, n: np.ndarray, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval of the binomial fractions ``k / n``.

    Parameters
    ----------
    k, n : array-like of int
        Successes and trials; ``n == 0`` gives NaN bounds.
    level : float, optional
        Confidence level.

    Returns
    -------
    low, high : ndarray of float
        Bounds, within [0, 1].
    """
    k = np.asarray(k, dtype=float)
    n = np.asarray(n, dtype=float)
    z = norm.ppf(0.5 + 0.5 * level)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = k / n
        centre = (p + z * z / (2 * n)) / (1 + z * z / n)
        half = z / (1 + z * z / n) * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return np.clip(centre - half, 0.0, 1.0), np.clip(centre + half, 0.0, 1.0)
