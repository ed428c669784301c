"""A folder imported with a labels table keeps the table's other columns as the store's catalogue."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest
from astropy.table import Table
from PIL import Image

from deepshadows.data import Store, import_folder
from deepshadows.data.label_matching import store_positions
from deepshadows.errors import InputError

N = 6


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """Six PNG cutouts, ids g0 .. g5."""
    images = tmp_path / "cutouts"
    images.mkdir()
    rng = np.random.default_rng(0)
    for i in range(N):
        Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(images / f"g{i}.png")
    return images


def catalogue_lines() -> list[str]:
    """id, label, position, a magnitude, a name with a comma and an accent, an integer count."""
    lines = ["ID,Label,RA,Dec,mag,name,n_obs"]
    for i in range(N):
        name = '"NGC 1, é"' if i == 2 else f"obj{i}"
        lines.append(
            f"g{i},{'lsbg' if i % 2 else 'ARTIFACT'},{10 + i * 0.5},{-30 - i},{20.25 + i},{name},{i * 3}"
        )
    return lines


def write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def truth(path: Path) -> np.ndarray:
    with h5py.File(path, "r") as f:
        return f["truth"][:]


def test_every_other_column_is_kept_in_the_truth_table(folder: Path, tmp_path: Path) -> None:
    labels = write(tmp_path / "cat.csv", catalogue_lines())
    store = Store(import_folder(folder, labels_csv=labels, out=tmp_path / "s.h5"))
    table = truth(store.path)
    assert table.dtype.names == ("ra", "dec", "mag", "name", "n_obs")
    assert table.dtype["ra"] == np.float64 and table.dtype["mag"] == np.float64
    assert table.dtype["n_obs"] == np.int64 and table.dtype["name"].kind == "S"
    np.testing.assert_array_equal(table["ra"], 10 + 0.5 * np.arange(N))
    np.testing.assert_array_equal(table["n_obs"], 3 * np.arange(N))
    assert table["name"][2].decode("utf-8") == "NGC 1, é"
    np.testing.assert_array_equal(store.labels, [0, 1, 0, 1, 0, 1])
    ra, dec = store_positions(store)
    np.testing.assert_array_equal(dec, -30 - np.arange(N))


def test_rows_left_out_leave_their_catalogue_rows_too(folder: Path, tmp_path: Path) -> None:
    (folder / "g3.png").write_bytes(b"not a PNG")
    labels = write(tmp_path / "cat.csv", catalogue_lines())
    result = import_folder(folder, labels_csv=labels, out=tmp_path / "s.h5")
    assert [bad.ident for bad in result.failures] == ["g3"]
    assert list(Store(result).ids) == ["g0", "g1", "g2", "g4", "g5"]
    np.testing.assert_array_equal(truth(result.path)["n_obs"], [0, 3, 6, 12, 15])


def test_empty_cells_and_types(folder: Path, tmp_path: Path) -> None:
    lines = [
        "id,label,split,file,count,flag,code,notes",
        "g0,1,train,g0.png,4,yes,007,",
        "g1,0,test,g1.png,,no,12,",
        "g2,0,val,g2.png,7,yes,99999999999999999999999,",
    ]
    store = Store(import_folder(folder, labels_csv=write(tmp_path / "c.csv", lines), out=tmp_path / "s.h5"))
    table = truth(store.path)
    assert table.dtype.names == ("file", "count", "flag", "code", "notes")
    assert table.dtype["count"] == np.float64 and np.isnan(table["count"][1])
    assert table["code"].tolist() == [b"007", b"12", b"99999999999999999999999"]
    assert table["notes"].tolist() == [b"", b"", b""] and table["file"][1] == b"g1.png"
    assert list(store.splits) == ["train", "test", "val"]
    assert store_positions(store) is None


def test_ecsv_catalogue_keeps_its_types(folder: Path, tmp_path: Path) -> None:
    table = Table(
        {
            "id": [f"g{i}" for i in range(N)],
            "label": [i % 2 == 1 for i in range(N)],
            "ra_deg": np.linspace(150, 151, N),
            "DEJ2000": np.linspace(2, 3, N),
            "mag": np.linspace(21, 22, N).astype(np.float32),
            "name": [f"galaxy {i}" for i in range(N)],
            "zip": ["00123"] * N,
        }
    )
    path = tmp_path / "cat.ecsv"
    table.write(path, format="ascii.ecsv")
    store = Store(import_folder(folder, labels_csv=path, out=tmp_path / "s.h5"))
    kept = truth(store.path)
    assert kept.dtype.names == ("ra", "dec", "mag", "name", "zip")
    np.testing.assert_allclose(kept["ra"], table["ra_deg"])
    np.testing.assert_allclose(kept["mag"], table["mag"])
    assert kept["zip"][0] == b"00123" and kept["name"][5] == b"galaxy 5"
    np.testing.assert_array_equal(store.labels, [0, 1, 0, 1, 0, 1])


def test_fits_catalogue(folder: Path, tmp_path: Path) -> None:
    table = Table({"id": ["g0", "g1"], "label": [1, 0], "ra": [1.5, 2.5], "dec": [-1.0, 0.0], "flux": [3, 4]})
    path = tmp_path / "cat.fits"
    table.write(path)
    kept = truth(import_folder(folder, labels_csv=path, out=tmp_path / "s.h5").path)
    assert kept["flux"].tolist() == [3, 4] and kept["ra"].tolist() == [1.5, 2.5]


def test_a_table_of_ids_and_labels_only_and_no_table_give_no_truth(folder: Path, tmp_path: Path) -> None:
    labels = write(tmp_path / "cat.csv", ["id,label", "g0,1", "g1,0"])
    assert not Store(import_folder(folder, labels_csv=labels, out=tmp_path / "a.h5")).has_truth
    assert not Store(import_folder(folder, labels_csv=None, out=tmp_path / "b.h5")).has_truth


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        (
            "cat.csv",
            ["id,label,ra,dec", "g0,1,1,2", "g1,perhaps,3,4"],
            r"cat\.csv, row 2 \(line 3\): label 'perhaps'",
        ),
        (
            "cat.csv",
            ["id,label,ra,dec", "g0,1,1,2", "g1,0,12:30:00,4"],
            r"row 2 \(line 3\): ra '12:30:00' \(ra\)",
        ),
        ("cat.csv", ["id,label,mag,MAG", "g0,1,1,2"], r"columns 'mag' and 'MAG' have the same name"),
        ("cat.ecsv", None, r"cat\.ecsv, row 2: label 'maybe' is not a label; use 1/0"),
    ],
)
def test_errors_name_the_row(
    folder: Path, tmp_path: Path, name: str, content: list[str] | None, message: str
) -> None:
    path = tmp_path / name
    if content is None:
        Table({"id": ["g0", "g1"], "label": ["lsbg", "maybe"]}).write(path, format="ascii.ecsv")
    else:
        write(path, content)
    out = tmp_path / "s.h5"
    with pytest.raises(InputError, match=message):
        import_folder(folder, labels_csv=path, out=out)
    assert not out.exists()
