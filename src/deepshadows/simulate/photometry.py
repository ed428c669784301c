"""Magnitudes, colours and surface brightness (AB system, nanomaggies)."""

from __future__ import annotations

import numpy as np
import scipy.special

__all__ = [
    "STELLAR_LOCUS",
    "band_fluxes",
    "mag_to_flux",
    "mean_sb_to_mag",
    "sersic_b",
    "stellar_colours",
]

#: Approximate main-sequence locus: g-r, r-i, i-z (science specification, table 5.7).
STELLAR_LOCUS = np.array(
    [
        [0.3, 0.10, 0.03],
        [0.5, 0.17, 0.07],
        [0.8, 0.30, 0.15],
        [1.2, 0.60, 0.30],
        [1.4, 1.30, 0.60],
    ]
)


def mag_to_flux(mag: float | np.ndarray) -> float | np.ndarray:
    """Convert AB magnitudes to nanomaggies (22.5 mag = 1 nmgy).

    Parameters
    ----------
    mag : float or ndarray
        AB magnitudes (also surface brightnesses in mag/arcsec^2, giving nmgy/arcsec^2).

    Returns
    -------
    float or ndarray of float64
        Fluxes in nanomaggies, of the shape of ``mag``.
    """
    return 10.0 ** ((22.5 - np.asarray(mag, dtype=np.float64)) / 2.5)


def band_fluxes(mag_g: float, g_r: float, r_i: float, i_z: float) -> np.ndarray:
    """Return the g, r, i, z fluxes in nanomaggies of a source with the given g magnitude and colours.

    Parameters
    ----------
    mag_g : float
        Total g-band AB magnitude.
    g_r, r_i, i_z : float
        Colours g - r, r - i and i - z, mag.

    Returns
    -------
    ndarray of shape (4,), float64
        Fluxes in g, r, i, z, nanomaggies.
    """
    mags = np.array([mag_g, mag_g - g_r, mag_g - g_r - r_i, mag_g - g_r - r_i - i_z])
    return np.asarray(mag_to_flux(mags))


def mean_sb_to_mag(mean_sb: float, r_eff: float, q: float) -> float:
    """Total magnitude of a source with mean surface brightness ``mean_sb`` inside its effective ellipse.

    ``m = mu_eff_mean - 2.5 log10(2 pi R_eff^2 q)`` with ``R_eff`` the semi-major half-light radius
    in arcsec.

    Parameters
    ----------
    mean_sb : float
        Mean surface brightness within the effective ellipse, mag/arcsec^2.
    r_eff : float
        Semi-major half-light radius, arcsec.
    q : float
        Axis ratio (minor over major), in (0, 1].

    Returns
    -------
    float
        Total AB magnitude.
    """
    return float(mean_sb - 2.5 * np.log10(2.0 * np.pi * r_eff**2 * q))


def sersic_b(n: float) -> float:
    """Return the Sersic ``b_n`` such that half the light lies inside the effective radius.

    Parameters
    ----------
    n : float
        Sersic index, positive.

    Returns
    -------
    float
        ``b_n``, the solution of ``gamma(2n, b_n) = Gamma(2n) / 2`` (about ``2n - 1/3``).
    """
    return float(scipy.special.gammaincinv(2.0 * n, 0.5))


def stellar_colours(rng: np.random.Generator) -> tuple[float, float, float]:
    """Draw g-r, r-i, i-z of a star along the main-sequence locus (with a little scatter).

    ``g - r`` is uniform over the locus of :data:`STELLAR_LOCUS`; ``r - i`` and ``i - z`` are
    interpolated on it plus Gaussian scatter of 0.03 and 0.02 mag.

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of randomness.

    Returns
    -------
    g_r : float
        Colour g - r, mag.
    r_i : float
        Colour r - i, mag.
    i_z : float
        Colour i - z, mag.
    """
    g_r = rng.uniform(STELLAR_LOCUS[0, 0], STELLAR_LOCUS[-1, 0])
    r_i = np.interp(g_r, STELLAR_LOCUS[:, 0], STELLAR_LOCUS[:, 1]) + rng.normal(0.0, 0.03)
    i_z = np.interp(g_r, STELLAR_LOCUS[:, 0], STELLAR_LOCUS[:, 2]) + rng.normal(0.0, 0.02)
    return float(g_r), float(r_i), float(i_z)
