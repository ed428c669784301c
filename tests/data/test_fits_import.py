from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from PIL import Image

from deepshadows._io import partial_path
from deepshadows.cli.main import main
from deepshadows.data import Store, import_folder
from deepshadows.data.fits import (
    find_fits_objects,
    measure_band_features,
    read_fits_bands,
    read_fits_cube,
)
from deepshadows.data.importer import import_fits
from deepshadows.errors import InputError
from deepshadows.features import FEATURE_NAMES
from deepshadows.viewer import bands_to_cutout

SIDE = 132  # covers the 33.5-arcsec DES viewer field at 0.263 arcsec per pixel


def galaxy(seed: int, bands: str = "griz", side: int = SIDE) -> np.ndarray:
    """A faint exponential disk on white noise, one plane per band, in nanomaggies."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[:side, :side]
    c = (side - 1) / 2
    disk = np.exp(-np.hypot(x - c, y - c) / rng.uniform(5, 10)) * rng.uniform(0.03, 0.06)
    return np.stack(
        [disk * (1 + 0.2 * k) + rng.normal(0, 0.004, (side, side)) for k in range(len(bands))]
    ).astype(np.float32)


def write_cube(path: Path, cube: np.ndarray, bands: str | None) -> Path:
    header = fits.Header()
    for k, band in enumerate(bands or ""):
        header[f"BAND{k}"] = band
    fits.PrimaryHDU(cube, header=header).writeto(path)
    return path


def write_band_files(folder: Path, ident: str, cube: np.ndarray, bands: str) -> None:
    for band, plane in zip(bands, cube, strict=True):
        fits.PrimaryHDU(plane).writeto(folder / f"{ident}_{band}.fits")


@pytest.fixture
def cubes(tmp_path: Path) -> Path:
    """Four grz cubes named by their header, and two griz objects as one file per band."""
    folder = tmp_path / "fits"
    folder.mkdir()
    for i in range(4):
        write_cube(folder / f"c{i}.fits", galaxy(i, "grz"), "grz")
    for i in (4, 5):
        write_band_files(folder, f"b{i}", galaxy(i, "griz"), "griz")
    return folder


def test_cubes_and_band_files_become_cutouts_and_features(cubes: Path, tmp_path: Path) -> None:
    store = Store(import_folder(cubes, labels_csv=None, out=tmp_path / "s.h5", survey="des"))
    assert list(store.ids) == ["b4", "b5", "c0", "c1", "c2", "c3"]
    assert store.has_features and (store.labels == -1).all()
    assert store.config["source"] == "import-fits" and store.config["survey"] == "des"
    table = store.features_table()
    images = store.read_images()
    for row, ident in enumerate(store.ids):
        if ident.startswith("c"):
            bands = read_fits_cube(cubes / f"{ident}.fits")
        else:
            bands = read_fits_bands({b: cubes / f"{ident}_{b}.fits" for b in "griz"})
        np.testing.assert_array_equal(images[row], bands_to_cutout(bands, survey="des"))
        features, flag = measure_band_features(bands, survey="des")
        got = np.array([table[name][row] for name in FEATURE_NAMES])
        np.testing.assert_array_equal(got, features.astype(np.float32))
        assert store.feature_flags[row] == flag
    # The i-band features exist only where there is an i band.
    g_i = np.asarray(table["g_i"])
    assert np.isfinite(g_i[:2]).all() and np.isnan(g_i[2:]).all()
    assert np.isfinite(np.asarray(table["mag_auto_r"])).all()


def test_cube_band_order_without_header(tmp_path: Path) -> None:
    cube = galaxy(7, "griz")
    write_cube(tmp_path / "four.fits", cube, None)
    write_cube(tmp_path / "three.fits", cube[[0, 1, 3]], None)
    four, three = read_fits_cube(tmp_path / "four.fits"), read_fits_cube(tmp_path / "three.fits")
    assert list(four) == ["g", "r", "i", "z"] and list(three) == ["g", "r", "z"]
    np.testing.assert_array_equal(four["z"], three["z"])
    np.testing.assert_array_equal(four["i"], cube[2])


def test_labels_from_a_csv(cubes: Path, tmp_path: Path) -> None:
    labels = tmp_path / "labels.csv"
    labels.write_text("id,label\nc0,1\nc1,0\nb4,lsbg\nb5,artifact\nc2,1\nc3,0\n")
    store = Store(import_folder(cubes, labels_csv=labels, out=tmp_path / "s.h5", survey="hsc", image_size=32))
    assert list(store.ids) == ["c0", "c1", "b4", "b5", "c2", "c3"]
    np.testing.assert_array_equal(store.labels, [1, 0, 1, 0, 1, 0])
    assert store.read_images([0]).shape == (1, 32, 32, 3) and set(store.splits) <= {"train", "val", "test"}
    missing = tmp_path / "missing.csv"
    missing.write_text("id,label\nzz,1\n")
    with pytest.raises(
        InputError, match=r"row 1 \(line 2\): no image for id 'zz' \(looked for zz\.fits or zz_g"
    ):
        import_folder(cubes, labels_csv=missing, out=tmp_path / "t.h5", survey="des")


def test_the_command_line_imports_fits(cubes: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "cli.h5"
    assert main(["import", str(cubes), "--survey", "des", "--out", str(out)]) == 0
    assert len(Store(out)) == 6
    assert main(["import", str(cubes), "--out", str(tmp_path / "x.h5")]) == 1
    assert "pass --survey des or --survey hsc" in capsys.readouterr().err


def _expect(folder: Path, tmp_path: Path, message: str, **kwargs) -> None:
    out = tmp_path / "bad.h5"
    with pytest.raises(InputError, match=message):
        import_folder(folder, labels_csv=None, out=out, **{"survey": "des", "strict": True, **kwargs})
    assert not out.exists() and not partial_path(out).exists()


def test_clear_errors(tmp_path: Path) -> None:
    folder = tmp_path / "f"
    folder.mkdir()
    _expect(folder, tmp_path, r"--survey: applies to FITS cutouts only")
    cube = galaxy(1, "grz")
    write_cube(folder / "a.fits", cube, "grz")
    _expect(folder, tmp_path, r"holds FITS cutouts; pass --survey", survey=None)

    nan = cube.copy()
    nan[1, 5, 5] = np.nan
    write_cube(folder / "n.fits", nan, "grz")
    _expect(folder, tmp_path, r"n\.fits: band r has 1 NaN or infinite pixel")
    (folder / "n.fits").unlink()

    write_band_files(folder, "two", cube[:2], "gr")
    _expect(folder, tmp_path, r"id 'two': missing band\(s\) z; found g, r, need z, r, g")
    (folder / "two_g.fits").unlink()
    (folder / "two_r.fits").unlink()

    write_cube(folder / "a_r.fits", cube[0], None)
    _expect(folder, tmp_path, r"id 'a' has both a cube \(a\.fits\) and band files \(a_r\.fits\)")
    (folder / "a_r.fits").unlink()

    write_cube(folder / "five.fits", np.concatenate([cube, cube[:2]]), None)
    _expect(folder, tmp_path, r"five\.fits: a cube of 5 plane\(s\) without BAND0")
    (folder / "five.fits").unlink()

    write_cube(folder / "small.fits", galaxy(2, "grz", side=64), "grz")
    _expect(folder, tmp_path, r"small\.fits: band images are 64 pixels on a side, too small .* at least 128")
    (folder / "small.fits").unlink()

    data = (folder / "a.fits").read_bytes()
    (folder / "cut.fits").write_bytes(data[: len(data) - 5000])
    _expect(folder, tmp_path, r"cut\.fits: cannot be read as FITS.*truncated")
    (folder / "cut.fits").unlink()

    Image.fromarray(np.zeros((64, 64, 3), np.uint8)).save(folder / "j.png")
    _expect(folder, tmp_path, r"holds both FITS files \(a\.fits, \.\.\.\) and JPEG/PNG images \(j\.png")


def test_band_files_of_different_sizes_and_repeated_bands(tmp_path: Path) -> None:
    folder = tmp_path / "f"
    folder.mkdir()
    cube = galaxy(3, "grz")
    write_band_files(folder, "x", cube, "grz")
    write_cube(folder / "x_z.fits.gz", cube[0], None)
    with pytest.raises(InputError, match=r"band z of id 'x' is also in x_z\.fits"):
        find_fits_objects(sorted(folder.iterdir()))
    (folder / "x_z.fits.gz").unlink()
    (folder / "x_z.fits").unlink()
    fits.PrimaryHDU(cube[2, :100, :100]).writeto(folder / "x_z.fits")
    _expect(folder, tmp_path, r"id 'x': band images differ in size \(g 132x132, r 132x132, z 100x100\)")


def test_import_fits_directly_with_band_mappings(tmp_path: Path) -> None:
    cube = galaxy(9, "grz")
    write_band_files(tmp_path, "m", cube, "grz")
    out = import_fits(
        [{b: tmp_path / f"m_{b}.fits" for b in "grz"}], ["m"], [1], out=tmp_path / "m.h5", survey="des"
    )
    store = Store(out)
    np.testing.assert_array_equal(
        store.read_images()[0], bands_to_cutout(dict(zip("grz", cube, strict=True)), survey="des")
    )


def test_bad_cutouts_are_left_out_and_listed(cubes: Path, tmp_path: Path, capsys) -> None:
    from deepshadows.failures import failures_path, read_failures

    nan = galaxy(7, "grz")
    nan[0, 3, 3] = np.nan
    write_cube(cubes / "c7.fits", nan, "grz")
    write_cube(cubes / "c8.fits", galaxy(8, "grz", side=64), "grz")
    data = (cubes / "c0.fits").read_bytes()
    (cubes / "c9.fits").write_bytes(data[: len(data) - 5000])
    write_band_files(cubes, "b6", galaxy(6, "gr"), "gr")
    (cubes / "notes.txt").write_text("observing log")
    (cubes / ".DS_Store").write_bytes(b"\0")
    out = tmp_path / "s.h5"
    result = import_folder(cubes, labels_csv=None, out=out, survey="des", image_size=32)
    assert result.n_stored == 6 and sorted(Store(out).ids) == ["b4", "b5", "c0", "c1", "c2", "c3"]
    assert len(Store(out).feature_flags) == 6
    listed = read_failures(failures_path(out))
    assert listed == result.failures
    assert [(b.row, b.ident) for b in listed] == [(3, "b6"), (8, "c7"), (9, "c8"), (10, "c9"), (11, "notes")]
    reasons = [b.reason for b in listed]
    assert "missing band(s) z" in reasons[0] and Path(listed[0].file).name == "b6_g.fits"
    assert reasons[1].startswith("band g has 1 NaN")
    assert "too small for the des viewer cutout" in reasons[2]
    assert "cannot be read as FITS" in reasons[3]
    assert reasons[4].startswith("not a FITS file")

    args = ["import", str(cubes), "--survey", "des", "--image-size", "32", "--out", str(out), "--overwrite"]
    assert main(args) == 3
    captured = capsys.readouterr()
    assert "6 rows; 5 failed" in captured.out and "5 of 11 rows are not in the store" in captured.err
    assert main([*args, "--strict"]) == 1
    assert "b6" in capsys.readouterr().err
    for name in ("b6_g.fits", "b6_r.fits", "c7.fits", "c8.fits", "c9.fits", "notes.txt"):
        (cubes / name).unlink()
    assert main(args) == 0 and not failures_path(out).exists()
