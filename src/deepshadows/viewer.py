"""The Legacy Survey viewer's image pipeline: float band images to the 8-bit cutouts users download.

One public function, :func:`bands_to_cutout`, turns native-scale band images in nanomaggies into
the uint8 RGB cutout that the viewer serves and the DeepShadows paper trained on, in this order
(see the project's science specification, section 2):

1. Lanczos-3 resampling of g, r, z from the native pixel grid to the 256 x 256 zoom-15 grid,
   interpolating pixel values (no flux rescaling), centred on the stamp centre;
2. flip so that north is up (band images follow the FITS convention: row 0 is south);
3. the Lupton-style asinh stretch with the survey's band multipliers (z -> R, r -> G, g -> B),
   ``Q = 20``, offset 0.03, clipped to [0, 1];
4. 8-bit truncation (as matplotlib's ``imsave`` does), JPEG quality 90 round trip;
5. resize to 64 x 64 (nearest by default, which matches the noise of the paper's cutouts; bicubic and
   LANCZOS as options);
6. optionally a second JPEG compression of the small cutout, as cutouts saved again by a search's
   own code or recovered from a figure carry.

Simulated and real (FITS) cutouts go through the same code.
"""

from __future__ import annotations

import functools
import io
from collections.abc import Mapping
from typing import Literal

import numpy as np
from PIL import Image

from deepshadows.errors import InputError
from deepshadows.surveys import BANDS, RGB_BANDS, Survey, get_survey

__all__ = [
    "RESIZE_FILTERS",
    "asinh_rgb",
    "bands_to_cutout",
    "jpeg_roundtrip",
    "lanczos_matrix",
    "resample_to_viewer",
    "resize_cutout",
]

ResizeFilter = Literal["nearest", "bicubic", "lanczos"]
#: Pillow filters accepted for the final resize.
RESIZE_FILTERS: dict[str, Image.Resampling] = {
    "nearest": Image.Resampling.NEAREST,
    "bicubic": Image.Resampling.BICUBIC,
    "lanczos": Image.Resampling.LANCZOS,
}


def _lanczos(x: np.ndarray, order: int) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    out = np.sinc(x) * np.sinc(x / order)
    out[np.abs(x) >= order] = 0.0
    return out


@functools.lru_cache(maxsize=32)
def lanczos_matrix(n_in: int, scale_in: float, n_out: int, scale_out: float, order: int = 3) -> np.ndarray:
    """Return the 1-D Lanczos resampling matrix between two centred pixel grids.

    Output pixel ``j`` sits at ``(j - (n_out - 1) / 2) * scale_out`` arcsec from the centre, input
    pixel ``i`` at ``(i - (n_in - 1) / 2) * scale_in``. Rows are normalised to sum to one, so a
    constant image keeps its value (pixel values are interpolated, not flux-conserved), as in the
    astrometry.net resampler that the viewer uses.

    Parameters
    ----------
    n_in, n_out : int
        Number of input and output pixels along the axis.
    scale_in, scale_out : float
        Pixel scales in arcsec per pixel.
    order : int, optional
        Lanczos order (3 for the viewer).

    Returns
    -------
    ndarray of shape (n_out, n_in), float32
        ``out = W @ in`` along one axis.
    """
    x_out = (np.arange(n_out) - (n_out - 1) / 2.0) * scale_out
    x_in = (np.arange(n_in) - (n_in - 1) / 2.0) * scale_in
    weights = _lanczos((x_out[:, None] - x_in[None, :]) / scale_in, order)
    weights /= weights.sum(axis=1, keepdims=True)
    weights.setflags(write=False)
    return weights.astype(np.float32)


def resample_to_viewer(images: np.ndarray, *, native_scale: float, survey: Survey) -> np.ndarray:
    """Resample native-scale images onto the viewer's zoom-15 grid with Lanczos-3.

    Parameters
    ----------
    images : ndarray of shape (n_bands, H, W)
        Band images in nanomaggies per native pixel, centred on the target.
    native_scale : float
        Pixel scale of ``images`` in arcsec per pixel.
    survey : Survey
        Gives the output scale and size.

    Returns
    -------
    ndarray of shape (n_bands, size, size), float32
        Values still in nanomaggies per *native* pixel, as the viewer keeps them.
    """
    _, height, width = images.shape
    size = survey.cutout_size
    w_y = lanczos_matrix(height, native_scale, size, survey.viewer_scale)
    w_x = lanczos_matrix(width, native_scale, size, survey.viewer_scale)
    # Separable: columns first, then rows; two batched float32 matrix products.
    return w_y @ (images.astype(np.float32, copy=False) @ w_x.T)


def asinh_rgb(
    images: Mapping[str, np.ndarray],
    *,
    scales: Mapping[str, float],
    offset: float = 0.03,
    q: float = 20.0,
) -> np.ndarray:
    """Apply the viewer's asinh colour stretch ("saturate to white").

    Parameters
    ----------
    images : mapping of band name to ndarray of shape (H, W)
        The bands z, r and g in nanomaggies per native pixel.
    scales : mapping of band name to float
        Per-band multipliers ``s_b``.
    offset : float, optional
        The additive offset ``m``.
    q : float, optional
        Stretch parameter ``Q`` (the viewer fixes it at 20).

    Returns
    -------
    ndarray of shape (H, W, 3), float32
        RGB values in [0, 1]; z -> R, r -> G, g -> B.
    """
    scaled = [images[band] * np.float32(scales[band]) + np.float32(offset) for band in RGB_BANDS]
    intensity = sum(np.maximum(v, 0.0) for v in scaled) / np.float32(len(scaled))
    stretch = np.arcsinh(q * intensity) / np.sqrt(q)
    intensity = intensity + (intensity == 0.0) * np.float32(1e-6)
    factor = (stretch / intensity).astype(np.float32)
    rgb = np.stack([v * factor for v in scaled], axis=-1)
    return np.clip(rgb, 0.0, 1.0, out=rgb)


def jpeg_roundtrip(rgb8: np.ndarray, *, quality: int = 90) -> np.ndarray:
    """Encode an 8-bit RGB image as JPEG (Pillow, 4:2:0 chroma subsampling) and decode it again.

    This reproduces the compression of the cutouts the viewer serves.

    Parameters
    ----------
    rgb8 : ndarray of shape (H, W, 3), uint8
        The image.
    quality : int, optional
        JPEG quality, 1 to 95 (the viewer uses 90).

    Returns
    -------
    ndarray of shape (H, W, 3), uint8
        The decoded image, with the JPEG artifacts.
    """
    buffer = io.BytesIO()
    Image.fromarray(rgb8, mode="RGB").save(buffer, format="JPEG", quality=quality)
    buffer.seek(0)
    with Image.open(buffer) as decoded:
        return np.asarray(decoded.convert("RGB"))


def resize_cutout(rgb8: np.ndarray, *, size: int = 64, resize: ResizeFilter = "nearest") -> np.ndarray:
    """Resize an 8-bit RGB cutout with Pillow, as the DeepShadows notebooks did.

    Parameters
    ----------
    rgb8 : ndarray of shape (H, W, 3), uint8
        The cutout.
    size : int, optional
        Output side in pixels.
    resize : {"nearest", "bicubic", "lanczos"}, optional
        Pillow filter.

    Returns
    -------
    ndarray of shape (size, size, 3), uint8
    """
    try:
        resample = RESIZE_FILTERS[resize]
    except KeyError:
        raise InputError(
            f"--resize: unknown filter {resize!r}; choose from {sorted(RESIZE_FILTERS)}"
        ) from None
    if rgb8.shape[:2] == (size, size):
        return np.ascontiguousarray(rgb8)
    return np.asarray(Image.fromarray(rgb8, mode="RGB").resize((size, size), resample=resample))


def bands_to_cutout(
    bands: np.ndarray | Mapping[str, np.ndarray],
    *,
    survey: Survey | str,
    native_scale: float | None = None,
    resize: ResizeFilter = "nearest",
    size: int = 64,
    jpeg_quality: int = 90,
    recompress_quality: int | None = None,
) -> np.ndarray:
    """Turn native-scale band images into the viewer's 8-bit cutout, resized for the CNN.

    Parameters
    ----------
    bands : ndarray of shape (4, H, W) or mapping of band name to (H, W) arrays
        Band images in nanomaggies per native pixel, FITS orientation (row 0 is south), centred on
        the target. An array must hold the bands g, r, i, z in that order; a mapping needs at least
        g, r and z.
    survey : Survey or str
        Survey whose viewer layer is imitated (scales, field of view).
    native_scale : float, optional
        Pixel scale of ``bands`` in arcsec; defaults to the survey's native scale.
    resize : {"nearest", "bicubic", "lanczos"}, optional
        Filter of the final resize to ``size`` (default nearest, like the paper's cutouts).
    size : int, optional
        Side of the returned cutout (64 for the CNN; 256 keeps the viewer's full resolution).
    jpeg_quality : int, optional
        Quality of the JPEG round trip (90 in the viewer).
    recompress_quality : int, optional
        Quality of a second JPEG round trip after the resize; none by default.

    Returns
    -------
    ndarray of shape (size, size, 3), uint8
        RGB cutout, north up.
    """
    survey = get_survey(survey)
    if native_scale is None:
        native_scale = survey.native_scale
    if not isinstance(bands, Mapping):
        bands = np.asarray(bands)
        if bands.ndim != 3 or bands.shape[0] != len(BANDS):
            raise InputError(f"bands: expected an array of shape (4, H, W) in g, r, i, z; got {bands.shape}")
        bands = dict(zip(BANDS, bands, strict=True))
    missing = [b for b in RGB_BANDS if b not in bands]
    if missing:
        raise InputError(f"bands: missing band(s) {missing}; the viewer needs g, r and z")
    stack = np.stack([np.asarray(bands[b], dtype=np.float32) for b in RGB_BANDS])
    resampled = resample_to_viewer(stack, native_scale=native_scale, survey=survey)[:, ::-1, :]
    rgb = asinh_rgb(
        dict(zip(RGB_BANDS, resampled, strict=True)),
        scales=survey.rgb_scale,
        offset=survey.rgb_offset,
        q=survey.rgb_q,
    )
    rgb8 = (rgb * 255.0).astype(np.uint8)  # truncation, as matplotlib's imsave
    rgb8 = jpeg_roundtrip(rgb8, quality=jpeg_quality)
    small = resize_cutout(rgb8, size=size, resize=resize)
    if recompress_quality:
        small = jpeg_roundtrip(small, quality=recompress_quality)
    return small
