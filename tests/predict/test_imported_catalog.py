"""Predicting an imported store: the catalogue of its labels table reaches the prediction tables."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from astropy.table import Table
from PIL import Image
from tests.predict.test_predict import TinyNet, read_csv, use_model

from deepshadows.cli.main import main
from deepshadows.data import import_folder
from deepshadows.errors import InputError
from deepshadows.predict import predict

N = 8
RA = 150 + 0.01 * np.arange(N)
DEC = 2 - 0.02 * np.arange(N)
MAG = 21 + 0.125 * np.arange(N)
NAMES = [f"LSB {i}" for i in range(N)]
NAMES[3] = "Dragonfly 44, é"


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store imported from eight PNG cutouts and a catalogue CSV with ra, dec, mag and name."""
    root = tmp_path_factory.mktemp("imported")
    folder = root / "cutouts"
    folder.mkdir()
    rng = np.random.default_rng(5)
    for i in range(N):
        Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(folder / f"c{i}.png")
    table = Table({"id": [f"c{i}" for i in range(N)], "label": [i % 2 for i in range(N)]})
    table["ra"], table["dec"], table["mag"], table["name"] = RA, DEC, MAG, NAMES
    table.write(root / "catalogue.csv", format="ascii.csv")
    return import_folder(folder, labels_csv=root / "catalogue.csv", out=root / "s.h5").path


@pytest.fixture
def model(monkeypatch: pytest.MonkeyPatch) -> TinyNet:
    net = TinyNet().eval()
    use_model(monkeypatch, net, threshold=0.5)
    return net


def test_fits_output_carries_the_position_and_chosen_columns(
    tmp_path: Path, imported: Path, model: TinyNet
) -> None:
    out = tmp_path / "scores.fits"
    assert (
        main(["predict", "model.pt", str(imported), "--out", str(out), "--columns", "mag,name", "--quiet"])
        == 0
    )
    table = Table.read(out, format="fits")
    assert table.colnames[:3] == ["id", "ra", "dec"] and table.colnames[-2:] == ["mag", "name"]
    assert str(table["ra"].unit) == "deg"
    np.testing.assert_array_equal(table["ra"], RA)
    np.testing.assert_array_equal(table["dec"], DEC)
    np.testing.assert_array_equal(table["mag"], MAG)
    assert [str(v) for v in table["name"]] == NAMES
    assert list(table["id"]) == [f"c{i}" for i in range(N)]


def test_csv_output_carries_them_too(tmp_path: Path, imported: Path, model: TinyNet) -> None:
    out = tmp_path / "scores.csv"
    predict("model.pt", imported, out, columns=["MAG", "name"], progress=False)
    header, rows = read_csv(out)
    assert header[:3] == ["id", "ra", "dec"] and header[-2:] == ["mag", "name"]
    assert [float(r[1]) for r in rows] == RA.tolist()
    assert [float(r[-2]) for r in rows] == MAG.tolist()
    assert [r[-1] for r in rows] == NAMES
    plain = tmp_path / "plain.csv"
    predict("model.pt", imported, plain, progress=False)
    assert read_csv(plain)[0][:3] == ["id", "ra", "dec"]


def test_a_column_not_in_the_catalogue_is_refused_with_the_list(
    tmp_path: Path, imported: Path, model: TinyNet
) -> None:
    with pytest.raises(InputError, match=r"no column 'colour'.*ra, dec, mag, name"):
        predict("model.pt", imported, tmp_path / "x.csv", columns=["colour"], progress=False)
