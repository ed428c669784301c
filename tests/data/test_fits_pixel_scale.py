"""FITS cutouts at any pixel scale: the header's WCS, FILTER and BUNIT, and multi-extension files."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from PIL import Image

from deepshadows.cli.main import main
from deepshadows.data import Store, import_folder
from deepshadows.data.fits import band_of_filter, read_fits_cube, read_fits_source, resample_to_native
from deepshadows.data.label_matching import store_positions
from deepshadows.errors import InputError
from deepshadows.features import FEATURE_NAMES

RA, DEC = 150.1, 2.2
NATIVE = 0.262  # Legacy Survey


def _figure_script():
    """The figure script of the docs, whose object these tests import too."""
    path = Path(__file__).resolve().parents[2] / "scripts" / "fits_pixel_scale_figure.py"
    spec = importlib.util.spec_from_file_location("fits_pixel_scale_figure", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# A smooth LSBG and a compact source, g, r, z, at any pixel scale, valued per native pixel: the
# object of docs/fits_pixel_scale.png.
sky = _figure_script().sky


def wcs_header(scale: float, side: int, *, ra: float = RA, dec: float = DEC) -> fits.Header:
    header = fits.Header()
    header.update(
        CTYPE1="RA---TAN", CTYPE2="DEC--TAN", CRVAL1=ra, CRVAL2=dec, CRPIX1=(side + 1) / 2,
        CRPIX2=(side + 1) / 2, CD1_1=-scale / 3600, CD1_2=0.0, CD2_1=0.0, CD2_2=scale / 3600,
    )  # fmt: skip
    return header


def write_cube(path: Path, scale: float, side: int, *, wcs: bool = True, **keys: object) -> Path:
    header = wcs_header(scale, side) if wcs else fits.Header()
    header["BANDS"] = "grz"
    header.update(keys)
    path.parent.mkdir(parents=True, exist_ok=True)
    fits.PrimaryHDU(sky(scale, side), header=header).writeto(path)
    return path


def imported(folder: Path, out: Path, **kwargs: object) -> Store:
    return Store(import_folder(folder, labels_csv=None, out=out, survey="ls-dr9", strict=True, **kwargs))


@pytest.fixture
def two_scales(tmp_path: Path) -> tuple[Path, Path]:
    """The same object as a native 0.262"/px cube (160 px) and a 0.2"/px one (256 px), with WCS."""
    return (
        write_cube(tmp_path / "native" / "obj.fits", NATIVE, 160).parent,
        write_cube(tmp_path / "fine" / "obj.fits", 0.2, 256).parent,
    )


def test_a_finer_pixel_scale_gives_the_same_cutout_and_features(two_scales, tmp_path: Path) -> None:
    native, fine = (imported(folder, tmp_path / f"{folder.name}.h5") for folder in two_scales)
    a, b = (store.read_images()[0].astype(int) for store in (native, fine))
    assert np.abs(a - b).max() <= 3 and np.abs(a - b).mean() < 0.1
    fa, fb = (np.array([store.features_table()[n][0] for n in FEATURE_NAMES]) for store in (native, fine))
    close = {"mag_auto_g": 0.01, "mag_auto_r": 0.01, "flux_radius_r": 0.02, "mu_eff_r": 0.01, "g_r": 0.005}
    for name, tol in {**close, "mu_max_r": 0.05, "mu_mean_r": 0.01, "ellipticity": 0.005}.items():
        k = FEATURE_NAMES.index(name)
        assert abs(fa[k] - fb[k]) < tol, name
    assert fine.config["pixel_scale"] is None

    # Read as if at the native scale (the old behaviour), the object is 1.31 times too large.
    wrong = imported(two_scales[1], tmp_path / "wrong.h5", pixel_scale=NATIVE)
    c = wrong.read_images()[0].astype(int)
    assert np.abs(a - c).max() > 20 and np.abs(a - c).mean() > 1
    brighter = native.features_table()["mag_auto_r"][0] - wrong.features_table()["mag_auto_r"][0]
    assert brighter == pytest.approx(5 * np.log10(NATIVE / 0.2), abs=0.02)
    assert wrong.config["pixel_scale"] == NATIVE


def test_the_centre_of_the_wcs_is_kept_for_position_matching(two_scales, tmp_path: Path) -> None:
    fits.PrimaryHDU(sky(NATIVE, 160)).writeto(two_scales[0] / "nowcs.fits")
    store = imported(two_scales[0], tmp_path / "s.h5")
    assert list(store.ids) == ["nowcs", "obj"]
    ra, dec = store_positions(store)
    assert np.isnan(ra[0]) and np.isnan(dec[0])
    assert ra[1] == pytest.approx(RA, abs=1e-9) and dec[1] == pytest.approx(DEC, abs=1e-9)
    # An even side: the central pixel is half a pixel from CRPIX's integer pixels, still at CRVAL.
    read = read_fits_source(two_scales[1] / "obj.fits")
    assert read.pixel_scale == pytest.approx(0.2) and (read.ra, read.dec) == pytest.approx((RA, DEC))


def test_pixel_scale_option_overrides_the_header(tmp_path: Path, capsys) -> None:
    plain = write_cube(tmp_path / "plain" / "obj.fits", 0.2, 256, wcs=False).parent
    header = write_cube(tmp_path / "header" / "obj.fits", 0.2, 256).parent
    stores = {}
    for name, folder, extra in (
        ("given", plain, ["--pixel-scale", "0.2"]),
        ("header", header, []),
        ("native", plain, []),
        ("overridden", header, ["--pixel-scale", str(NATIVE)]),
    ):
        out = tmp_path / f"{name}.h5"
        assert main(["import", str(folder), "--survey", "ls-dr9", "--out", str(out), *extra]) == 0
        stores[name] = Store(out).read_images()[0]
    np.testing.assert_array_equal(stores["given"], stores["header"])
    np.testing.assert_array_equal(stores["overridden"], stores["native"])
    assert not np.array_equal(stores["given"], stores["native"])

    out = str(tmp_path / "x.h5")
    assert main(["import", str(plain), "--survey", "ls-dr9", "--out", out, "--pixel-scale", "-1"]) == 1
    assert "--pixel-scale: must be a positive number" in capsys.readouterr().err
    pngs = tmp_path / "pngs"
    pngs.mkdir()
    Image.fromarray(np.zeros((64, 64, 3), np.uint8)).save(pngs / "a.png")
    assert main(["import", str(pngs), "--out", out, "--pixel-scale", "0.2"]) == 1
    assert "--pixel-scale: applies to FITS cutouts only" in capsys.readouterr().err
    np.savez(tmp_path / "c.npz", images=np.zeros((2, 64, 64, 3), np.uint8))
    assert main(["import", str(tmp_path / "c.npz"), "--out", out, "--pixel-scale", "0.2"]) == 2
    assert "--pixel-scale: not used with a .npz file" in capsys.readouterr().err


def test_a_field_too_small_at_its_pixel_scale_is_refused(tmp_path: Path) -> None:
    # 160 pixels cover the 33.5-arcsec viewer field at 0.262"/px, but not at 0.2"/px (32 arcsec).
    assert len(imported(write_cube(tmp_path / "ok" / "a.fits", NATIVE, 160).parent, tmp_path / "ok.h5")) == 1
    small = write_cube(tmp_path / "small" / "s.fits", 0.2, 160)
    message = (
        r"s\.fits: band images are 160 pixels on a side, too small for the ls-dr9 viewer cutout: "
        r"160 x 0\.2 arcsec \(from the header's WCS pixel scale\) = 32\.0 arcsec, and its 33\.5 arcsec "
        r"need at least 168 pixels"
    )
    with pytest.raises(InputError, match=message):
        imported(small.parent, tmp_path / "bad.h5")


def write_extensions(path: Path, names: dict[str, str], *, key: str = "EXTNAME", **extra: dict) -> Path:
    """One object as one image HDU per band, named by ``key``, in the order of ``names``."""
    cube = dict(zip("grz", sky(0.2, 256), strict=True))
    hdus = [fits.PrimaryHDU()]
    for band, value in names.items():
        header = wcs_header(0.2, 256)
        if value:
            header[key] = value
        header.update(extra.get(band, {}))
        hdus.append(fits.ImageHDU(cube[band], header=header))
    fits.HDUList(hdus).writeto(path)
    return path


def test_multi_extension_files_of_one_hdu_per_band(two_scales, tmp_path: Path) -> None:
    folder = tmp_path / "mef"
    folder.mkdir()
    write_extensions(folder / "ext.fits", {"z": "IMAGE_Z", "g": "IMAGE_G", "r": "IMAGE_R"})
    write_extensions(
        folder / "filt.fits", {"r": "DECam r DECam SDSS c0002", "g": "DECam g", "z": "z"}, key="FILTER"
    )
    cube = read_fits_cube(two_scales[1] / "obj.fits")
    for name in ("ext", "filt"):
        read = read_fits_source(folder / f"{name}.fits")
        assert sorted(read.bands) == ["g", "r", "z"] and read.pixel_scale == pytest.approx(0.2)
        for band in "grz":
            np.testing.assert_array_equal(read.bands[band], cube[band])
    mef = imported(folder, tmp_path / "mef.h5")
    reference = imported(two_scales[1], tmp_path / "cube.h5").read_images()[0]
    for image in mef.read_images():
        np.testing.assert_array_equal(image, reference)

    bad = tmp_path / "bad"
    bad.mkdir()
    cases = {
        "twice": ({"g": "g", "r": "r", "z": "HSC-R"}, r"twice\.fits: HDUs 2 and 3 both hold band r"),
        "unnamed": ({"g": "g", "r": "r", "z": ""}, r"unnamed\.fits \(HDU 3\): .* no FILTER, BAND or EXTNAME"),
        "unknown": (
            {"g": "g", "r": "r", "z": "VR"},
            r"unknown\.fits \(HDU 3\): FILTER = 'VR' does not name one band",
        ),
    }
    for name, (names, message) in cases.items():
        path = write_extensions(bad / f"{name}.fits", names, key="FILTER")
        with pytest.raises(InputError, match=message):
            read_fits_source(path)
    path = write_extensions(bad / "scales.fits", {"g": "g", "r": "r", "z": "z"}, z={"CD2_2": 0.262 / 3600})
    with pytest.raises(InputError, match=r"scales\.fits \(HDU 3\): .* pixels of 0\.2 x 0\.262 arcsec"):
        read_fits_source(path)


@pytest.mark.parametrize(
    ("value", "band"),
    [
        ("g", "g"),
        ("R", "r"),
        ("DECam g DECam SDSS c0001 4720.0 1520.0", "g"),
        ("DECam z DECam SDSS c0004 9260.0 1520.0", "z"),
        ("HSC-G", "g"),
        ("HSC-R2", "r"),
        ("HSC-I2", "i"),
        ("i.MP9702", "i"),
        ("IMAGE_Z", "z"),
        ("VR", None),
        ("Y", None),
        ("g and r", None),
        ("", None),
    ],
)
def test_filter_names(value: str, band: str | None) -> None:
    assert band_of_filter(value) == band


def test_band_files_with_filter_and_bunit(tmp_path: Path) -> None:
    folder = tmp_path / "bands"
    folder.mkdir()
    cube = sky(NATIVE, 160)
    for band, plane, unit in zip("grz", cube, ("nanomaggy", "NMGY", "Nanomaggies"), strict=True):
        header = wcs_header(NATIVE, 160)
        header.update(FILTER=f"DECam {band} DECam SDSS", BUNIT=unit)
        fits.PrimaryHDU(plane, header=header).writeto(folder / f"o_{band}.fits")
    store = imported(folder, tmp_path / "s.h5")
    assert list(store.ids) == ["o"] and store_positions(store)[0][0] == pytest.approx(RA)

    fits.setval(folder / "o_z.fits", "FILTER", value="DECam r")
    with pytest.raises(InputError, match=r"o_z\.fits: the file name says band z but the header .* says r"):
        imported(folder, tmp_path / "t.h5")
    fits.setval(folder / "o_z.fits", "FILTER", value="z")
    fits.setval(folder / "o_z.fits", "CD2_2", value=0.2 / 3600)
    fits.setval(folder / "o_z.fits", "CD1_1", value=-0.2 / 3600)
    with pytest.raises(
        InputError, match=r"id 'o': o_g\.fits has pixels of 0\.262 arcsec but o_z\.fits of 0\.2"
    ):
        imported(folder, tmp_path / "t.h5")

    fits.setval(folder / "o_r.fits", "BUNIT", value="adu")
    with pytest.raises(InputError, match=r"o_r\.fits: BUNIT = 'adu'; pixel values must be in nanomaggies"):
        imported(folder, tmp_path / "t.h5")
    cubes = tmp_path / "cubes"
    write_cube(cubes / "jy.fits", NATIVE, 160, BUNIT="Jy")
    with pytest.raises(InputError, match=r"jy\.fits: BUNIT = 'Jy'"):
        imported(cubes, tmp_path / "u.h5")


def test_cube_band_names_must_tell_the_planes_apart(tmp_path: Path) -> None:
    for name, bands in (("dup", "grr"), ("unk", "gry")):
        write_cube(tmp_path / f"{name}.fits", NATIVE, 160, BANDS=bands)
        with pytest.raises(InputError, match=rf"{name}\.fits: band names .* must be distinct bands"):
            read_fits_source(tmp_path / f"{name}.fits")


def test_resampling_to_the_native_scale_interpolates_values() -> None:
    flat = {"g": np.full((256, 256), 0.25, np.float32)}
    out = resample_to_native(flat, pixel_scale=0.2, survey="ls-dr9")
    assert out["g"].shape == (195, 195)  # 256 x 0.2 / 0.262 = 195.4
    np.testing.assert_allclose(out["g"], 0.25, rtol=1e-5)
    coarse = resample_to_native({"r": sky(0.2, 256)[1]}, pixel_scale=0.2, survey="ls-dr9")["r"]
    expected = sky(NATIVE, 195)[1]
    assert np.abs(coarse - expected).max() < 0.01 * expected.max()
    same = resample_to_native(flat, pixel_scale=NATIVE, survey="ls-dr9")
    np.testing.assert_array_equal(same["g"], flat["g"])


def test_a_fits_folder_keeps_its_catalogue_beside_the_wcs_centre(two_scales, tmp_path: Path) -> None:
    folder = two_scales[0]
    write_cube(folder / "other.fits", NATIVE, 160)
    (tmp_path / "cat.csv").write_text("id,label,mag,name\nobj,1,21.5,first\nother,0,19.0,second\n")
    out = import_folder(folder, labels_csv=tmp_path / "cat.csv", out=tmp_path / "c.h5", survey="ls-dr9")
    with Store(out) as store:
        truth = store.truth_table()
        assert truth.colnames == ["ra", "dec", "mag", "name"]
        assert list(truth["mag"]) == [21.5, 19.0] and list(truth["name"]) == ["first", "second"]
        assert truth["ra"][0] == pytest.approx(RA, abs=1e-9)
    # A catalogue's own ra and dec win over the header's.
    (tmp_path / "pos.csv").write_text("id,label,ra,dec\nobj,1,10.5,-3.25\nother,0,11.0,-3.0\n")
    out = import_folder(folder, labels_csv=tmp_path / "pos.csv", out=tmp_path / "p.h5", survey="ls-dr9")
    with Store(out) as store:
        assert list(store.truth_table()["ra"]) == [10.5, 11.0]
