"""FITS cutouts: float band images in nanomaggies, their 8-bit cutout and their features.

Three layouts are read, all with pixel values in nanomaggies per native pixel of the survey
(``BUNIT``, where stated, must say so: ``nanomaggy``, ``nanomaggies`` or ``nmgy``), FITS
orientation (row 0 is south) and the object at the centre:

a cube
    One file, one image HDU of shape (bands, H, W), as the Legacy Survey viewer's
    ``fits-cutout`` serves it. The band of each plane comes from the header keys ``BAND0``,
    ``BAND1``, ... (or a ``BANDS`` string such as ``"grz"``), written by the viewer; without
    them a cube of 3 planes is read as g, r, z and one of 4 planes as g, r, i, z.
one file per object, one image HDU per band
    Each (H, W) image HDU named by its ``FILTER``, ``BAND`` or ``EXTNAME`` (``"g"``,
    ``"DECam g DECam SDSS c0001 4720.0 1520.0"``, ``"HSC-G"``, ``"IMAGE_G"``).
one file per band
    ``<id>_g.fits``, ``<id>_r.fits``, ``<id>_z.fits`` and optionally ``<id>_i.fits``, each
    holding one (H, W) image of the same shape; a ``FILTER`` in the header must name the same band.

The pixel scale may be any: the header's celestial WCS gives it (and the sky position of the
central pixel), otherwise the survey's native scale is assumed. Values stay per native pixel at
any scale, as the cutout service resamples without rescaling flux.

File names may end in ``.fits``, ``.fit``, ``.fits.gz`` or ``.fit.gz``. The viewer's image
pipeline needs g, r and z; the 19 SourceExtractor-style features need g, r, i and z. Without
an i band the i-band features (``mag_auto_i``, ``flux_radius_i``, ``mu_*_i``, ``g_i``,
``r_i``) are NaN and detection uses r and z only (see :func:`measure_band_features`).
"""

from __future__ import annotations

from deepshadows.data.fits_features import (
    I_BAND_FEATURES,
    feature_dtype,
    measure_band_features,
    min_cutout_pixels,
    resample_to_native,
)
from deepshadows.data.fits_files import (
    FITS_SUFFIXES,
    FitsObject,
    band_of_filter,
    find_fits_objects,
    fits_stem,
    is_fits_file,
)
from deepshadows.data.fits_reading import (
    DEFAULT_CUBE_BANDS,
    FitsBands,
    read_fits_bands,
    read_fits_cube,
    read_fits_object,
    read_fits_source,
)

__all__ = [
    "DEFAULT_CUBE_BANDS",
    "FITS_SUFFIXES",
    "I_BAND_FEATURES",
    "FitsBands",
    "FitsObject",
    "band_of_filter",
    "feature_dtype",
    "find_fits_objects",
    "fits_stem",
    "is_fits_file",
    "measure_band_features",
    "min_cutout_pixels",
    "read_fits_bands",
    "read_fits_cube",
    "read_fits_object",
    "read_fits_source",
    "resample_to_native",
]
