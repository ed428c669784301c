"""Legacy Survey viewer cutouts: request URLs, response validation and the stored row.

The viewer serves

``{base}/viewer/jpeg-cutout?ra=..&dec=..&zoom=15&layer=des-dr1``
    a 256 x 256 JPEG (``layer=hsc2`` for HSC), the cutouts the DeepShadows paper trained on;
    ``layer=ls-dr9`` and ``layer=ls-dr10`` give the Legacy Survey's, at the same 0.131"/px (half
    its native 0.262" pixel);
``{base}/viewer/fits-cutout?ra=..&dec=..&layer=..&pixscale=..&size=..&bands=grz``
    a FITS cube of shape (bands, size, size) in nanomaggies, asked for here at the survey's native
    pixel scale and over the stamp the simulator renders (:attr:`deepshadows.surveys.Survey.stamp_pixels`).

The layers are those of the surveys in :data:`deepshadows.surveys.SURVEYS` (:data:`LAYERS`). The
FITS cutouts of ``ls-dr9`` hold g, r and z only (:data:`FITS_BANDS`); the RGB cutout is made from g,
r and z whatever else is fetched.

A JPEG becomes the stored cutout exactly as a simulated one does (:func:`deepshadows.viewer.resize_cutout`);
from a FITS cube the 19 features are measured (:func:`deepshadows.data.fits.measure_band_features`),
and with ``from_fits`` the cutout is made from it by :func:`deepshadows.viewer.bands_to_cutout`.
"""

from __future__ import annotations

import dataclasses
import io
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import numpy as np
from PIL import Image

from deepshadows.data.fits import measure_band_features, read_fits_cube
from deepshadows.errors import InputError
from deepshadows.fetch.http import InvalidResponse
from deepshadows.surveys import BANDS, RGB_BANDS, SURVEYS, Survey
from deepshadows.viewer import RESIZE_FILTERS, bands_to_cutout, resize_cutout

__all__ = [
    "DEFAULT_BASE_URL",
    "FITS_BANDS",
    "LAYERS",
    "CutoutConfig",
    "fits_url",
    "jpeg_url",
    "make_row",
    "parse_fits",
    "parse_jpeg",
]

#: The Legacy Survey web site.
DEFAULT_BASE_URL = "https://www.legacysurvey.org"
#: Viewer layer name to survey.
LAYERS: dict[str, Survey] = {survey.layer: survey for survey in SURVEYS.values()}
#: Bands the viewer's FITS cutouts serve, for layers that lack some of g, r, i, z.
FITS_BANDS: dict[str, str] = {"ls-dr9": "grz"}
_JPEG_START = b"\xff\xd8"
_JPEG_END = b"\xff\xd9"


@dataclass(frozen=True)
class CutoutConfig:
    """What is downloaded and how it becomes a store row (recorded in the store's ``config``).

    Parameters
    ----------
    layer : str
        Viewer layer, a key of :data:`LAYERS` (``"des-dr1"``, ``"hsc2"``, ``"ls-dr9"``,
        ``"ls-dr10"``).
    fits : bool
        Also download the FITS cutout and measure the 19 features from it.
    from_fits : bool
        Make the stored cutout from the FITS bands with the simulator's float -> uint8 pipeline
        instead of downloading the JPEG (implies ``fits``).
    bands : str
        Bands of the FITS cutout (must include g, r, z; the i-band features need i, which
        ``ls-dr9`` does not serve).
    image_size : int
        Side of the stored cutouts.
    resize : {"nearest", "bicubic", "lanczos"}, optional
        Filter of the 256 -> ``image_size`` resize; None takes the layer's own
        (:attr:`deepshadows.surveys.Survey.resize`: LANCZOS for the Legacy Survey layers, as the
        simulated sets that imitate them).
    zoom : int
        Viewer zoom of the JPEG cutouts (15 in the paper).
    base_url : str
        Address of the viewer's site.
    subtract_background : bool
        Subtract a ``sep`` background before measuring the features.
    """

    layer: str = "des-dr1"
    fits: bool = False
    from_fits: bool = False
    bands: str = "grz"
    image_size: int = 64
    resize: str | None = None
    zoom: int = 15
    base_url: str = DEFAULT_BASE_URL
    subtract_background: bool = False

    def __post_init__(self) -> None:
        if self.from_fits and not self.fits:
            object.__setattr__(self, "fits", True)
        object.__setattr__(self, "base_url", str(self.base_url).rstrip("/"))
        object.__setattr__(self, "bands", str(self.bands).lower())
        if self.resize is None and self.layer in LAYERS:
            object.__setattr__(self, "resize", LAYERS[self.layer].resize)

    @property
    def survey(self) -> Survey:
        """The survey of the layer."""
        return LAYERS[self.layer]

    @property
    def fits_size(self) -> int:
        """Side in native pixels of the FITS cutouts."""
        return self.survey.stamp_pixels

    def validate(self) -> CutoutConfig:
        """Check every value, raising :class:`InputError` that names the option."""
        if self.layer not in LAYERS:
            raise InputError(
                f"--layer: unknown layer {self.layer!r}; choose from {', '.join(sorted(LAYERS))}"
            )
        if self.resize not in RESIZE_FILTERS:
            raise InputError(
                f"--resize: unknown filter {self.resize!r}; choose from {sorted(RESIZE_FILTERS)}"
            )
        if not 8 <= self.image_size <= 256:
            raise InputError(f"--image-size: must lie in [8, 256], got {self.image_size}")
        bad = [b for b in self.bands if b not in BANDS]
        if bad or len(set(self.bands)) != len(self.bands) or any(b not in self.bands for b in RGB_BANDS):
            raise InputError(
                f"--bands: expected distinct bands among g, r, i, z including g, r, z; got {self.bands!r}"
            )
        served = FITS_BANDS.get(self.layer, "".join(BANDS))
        if any(b not in served for b in self.bands):
            raise InputError(
                f"--bands: layer {self.layer} serves FITS bands {', '.join(served)} only; got {self.bands!r}"
            )
        if not 0 <= self.zoom <= 20:
            raise InputError(f"zoom: must lie in [0, 20], got {self.zoom}")
        if not self.base_url.startswith(("http://", "https://")):
            raise InputError(f"--base-url: expected an http:// or https:// address, got {self.base_url!r}")
        return self

    def to_dict(self) -> dict[str, Any]:
        """Return the configuration as a JSON-serialisable mapping."""
        return dataclasses.asdict(self)


def _coordinates(ra: float, dec: float) -> list[tuple[str, str]]:
    return [("ra", f"{ra:.6f}"), ("dec", f"{dec:.6f}")]


def jpeg_url(config: CutoutConfig, ra: float, dec: float) -> str:
    """Return the viewer URL of the JPEG cutout at (ra, dec) in degrees.

    Parameters
    ----------
    config : CutoutConfig
        Gives the site, the layer and the zoom.
    ra, dec : float
        Centre of the cutout, degrees (written with 6 decimals).

    Returns
    -------
    str
        ``{base_url}/viewer/jpeg-cutout?ra=..&dec=..&zoom=..&layer=..``.
    """
    query = [*_coordinates(ra, dec), ("zoom", str(config.zoom)), ("layer", config.layer)]
    return f"{config.base_url}/viewer/jpeg-cutout?{urlencode(query)}"


def fits_url(config: CutoutConfig, ra: float, dec: float) -> str:
    """Return the viewer URL of the FITS cutout at (ra, dec) at the survey's native pixel scale.

    Parameters
    ----------
    config : CutoutConfig
        Gives the site, the layer (hence the pixel scale and the side,
        :attr:`CutoutConfig.fits_size`) and the bands.
    ra, dec : float
        Centre of the cutout, degrees (written with 6 decimals).

    Returns
    -------
    str
        ``{base_url}/viewer/fits-cutout?ra=..&dec=..&layer=..&pixscale=..&size=..&bands=..``.
    """
    query = [
        *_coordinates(ra, dec),
        ("layer", config.layer),
        ("pixscale", f"{config.survey.native_scale:g}"),
        ("size", str(config.fits_size)),
        ("bands", config.bands),
    ]
    return f"{config.base_url}/viewer/fits-cutout?{urlencode(query)}"


def parse_jpeg(data: bytes, *, size: int = 256) -> np.ndarray:
    """Decode a viewer JPEG completely and check its size.

    Parameters
    ----------
    data : bytes
        Response body.
    size : int, optional
        Expected side in pixels.

    Returns
    -------
    ndarray of shape (size, size, 3), uint8

    Raises
    ------
    deepshadows.fetch.http.InvalidResponse
        With kind ``"truncated"`` if the JPEG ends early, ``"invalid"`` if it is not a JPEG or
        has the wrong size.
    """
    if not data.startswith(_JPEG_START):
        raise InvalidResponse(f"not a JPEG image ({len(data)} bytes starting {data[:8]!r})")
    if not data.rstrip(b"\0\r\n ").endswith(_JPEG_END):
        raise InvalidResponse(f"truncated JPEG ({len(data)} bytes, no end-of-image marker)", "truncated")
    try:
        with Image.open(io.BytesIO(data)) as im:
            im.load()
            if im.format != "JPEG":
                raise InvalidResponse(f"not a JPEG image ({im.format})")
            if im.size != (size, size):
                raise InvalidResponse(f"JPEG is {im.size[0]}x{im.size[1]} pixels, expected {size}x{size}")
            return np.asarray(im.convert("RGB"), dtype=np.uint8)
    except (OSError, SyntaxError, ValueError) as exc:
        raise InvalidResponse(f"JPEG does not decode ({exc})", "truncated") from exc


def parse_fits(data: bytes, *, bands: str, size: int) -> dict[str, np.ndarray]:
    """Read a viewer FITS cube and check its bands, shape and values.

    Parameters
    ----------
    data : bytes
        Response body.
    bands : str
        Bands asked for, in order (used when the header names none).
    size : int
        Expected side in pixels.

    Returns
    -------
    dict of str to ndarray of shape (size, size), float32
        Band images in nanomaggies.

    Raises
    ------
    deepshadows.fetch.http.InvalidResponse
        With kind ``"truncated"`` if the file ends early, ``"invalid"`` otherwise.
    """
    try:
        return read_fits_cube(
            data, bands=tuple(bands), required=tuple(bands), shape=(size, size), name="FITS"
        )
    except InputError as exc:
        kind = "truncated" if "truncated" in str(exc) or "incomplete" in str(exc) else "invalid"
        raise InvalidResponse(str(exc), kind) from exc


def make_row(
    config: CutoutConfig, jpeg: np.ndarray | None, bands: dict[str, np.ndarray] | None
) -> tuple[np.ndarray, np.ndarray | None, int]:
    """Turn the downloaded data of one object into its stored cutout and features.

    Parameters
    ----------
    config : CutoutConfig
        What was downloaded.
    jpeg : ndarray of shape (256, 256, 3) or None
        The viewer JPEG (None with ``from_fits``).
    bands : dict or None
        The FITS bands (None without ``fits``).

    Returns
    -------
    image : ndarray of shape (image_size, image_size, 3), uint8
    features : ndarray of shape (19,) or None
    flag : int
        The feature measurement's bitmask (0 without features).
    """
    survey = config.survey
    if config.from_fits:
        assert bands is not None
        image = bands_to_cutout(bands, survey=survey, resize=config.resize, size=config.image_size)  # type: ignore[arg-type]
    else:
        assert jpeg is not None
        image = resize_cutout(jpeg, size=config.image_size, resize=config.resize)  # type: ignore[arg-type]
    if bands is None:
        return image, None, 0
    features, flag = measure_band_features(
        bands, survey=survey, pixel_scale=survey.native_scale, subtract_background=config.subtract_background
    )
    return image, features, flag
