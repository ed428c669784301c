from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from astropy.table import Table

from deepshadows.errors import InputError
from deepshadows.fetch import read_catalog


def test_valid_rows_and_bad_rows_by_data_row_number(write_catalog) -> None:
    path = write_catalog(
        [
            ("a", 10.5, -3.0),
            ("b", 400, 1.0),  # ra out of range
            ("c", 12.0, "abc"),  # dec not a number
            ("d", "", 1.0),  # ra empty
            ("a", 11.0, 2.0),  # repeated id
            ("e", 360, 0),  # ra must be < 360
            ("f", 0, -90),  # both limits allowed
            ("g", "nan", 5),
            ("h", 1.0, 91),
        ]
    )
    catalog = read_catalog(path)
    assert [(r.row, r.ident, r.ra, r.dec, r.label) for r in catalog.rows] == [
        (1, "a", 10.5, -3.0, -1),
        (7, "f", 0.0, -90.0, -1),
    ]
    reasons = {bad.row: bad.reason for bad in catalog.bad}
    assert reasons == {
        2: "ra 400.0 is outside [0, 360) degrees",
        3: "dec 'abc' is not a number",
        4: "ra is empty",
        5: "id 'a' repeats data row 1",
        6: "ra 360.0 is outside [0, 360) degrees",
        8: "ra nan is not a finite number",
        9: "dec 91 is outside [-90, 90] degrees",
    }
    assert catalog.n_rows == 9 and catalog.columns == {"ra": "ra", "dec": "dec", "id": "id", "label": None}
    message = catalog.describe(catalog.bad[0])
    assert message == f"{path}, data row 2 (id 'b'): ra 400.0 is outside [0, 360) degrees"


def test_columns_are_matched_case_insensitively_and_can_be_named(write_catalog) -> None:
    path = write_catalog([("x1", 1.5, 2.5, "lsbg"), ("x2", 3.5, 4.5, "0")], header="NAME,RA,DEC,Class")
    catalog = read_catalog(path, label_column="class")
    assert catalog.columns == {"ra": "RA", "dec": "DEC", "id": "NAME", "label": "Class"}
    assert [(r.ident, r.label) for r in catalog.rows] == [("x1", 1), ("x2", 0)]
    other = write_catalog([(1.5, 2.5, 7), (3.5, 4.5, 8)], header="alpha,delta,tile", name="other.csv")
    catalog = read_catalog(other, ra_column="ALPHA", dec_column="delta")
    assert [(r.ident, r.ra, r.dec) for r in catalog.rows] == [("1", 1.5, 2.5), ("2", 3.5, 4.5)]


def test_labels_are_read_as_label_tables_read_them(write_catalog) -> None:
    rows = [
        ("a", 1, 1, "LSBG"),
        ("b", 2, 2, "type2"),
        ("c", 3, 3, "True"),
        ("d", 4, 4, "-1.0"),
        ("e", 5, 5, "0.0"),
    ]
    catalog = read_catalog(write_catalog(rows, header="id,ra,dec,label"), label_column="label")
    assert [(r.ident, r.label) for r in catalog.rows] == [("a", 1), ("b", 0), ("c", 1), ("d", -1), ("e", 0)]


def test_bad_labels_are_bad_rows(write_catalog) -> None:
    path = write_catalog([("a", 1, 1, 1), ("b", 2, 2, "maybe"), ("c", 3, 3, "")], header="id,ra,dec,label")
    catalog = read_catalog(path, label_column="label")
    assert [(r.ident, r.label) for r in catalog.rows] == [("a", 1), ("c", -1)]
    assert catalog.bad[0].row == 2 and "label 'maybe'" in catalog.bad[0].reason


def test_fits_catalogue(tmp_path: Path) -> None:
    path = tmp_path / "cat.fits"
    Table({"COADD_OBJECT_ID": np.array([11, 12]), "RA": [1.0, 500.0], "DEC": [2.0, 3.0]}).write(path)
    catalog = read_catalog(path)
    assert [(r.row, r.ident) for r in catalog.rows] == [(1, "11")]
    assert catalog.bad[0].row == 2 and catalog.bad[0].ident == "12"


@pytest.mark.parametrize(
    ("content", "kwargs", "message"),
    [
        ("id,ra\na,1\n", {}, r"cat\.csv: no dec column .*--dec-column; the columns are id, ra"),
        ("id,ra,dec\na,1,2\n", {"label_column": "class"}, r"cat\.csv: no column 'class' \(--label-column\)"),
        ("id,ra,dec\na,1,2\n", {"ra_column": "alpha"}, r"no column 'alpha' \(--ra-column\)"),
        ("id,ra,dec\n", {}, r"cat\.csv: the catalogue has no data rows"),
        ("", {}, r"cat\.csv: the catalogue is empty"),
        ("id,ra,dec\n\xff\xfe\x00,1,2\n", {}, r"cat\.csv: cannot read the catalogue as CSV"),
    ],
)
def test_unusable_catalogues_name_the_file_and_column(
    tmp_path: Path, content: str, kwargs: dict, message: str
) -> None:
    path = tmp_path / "cat.csv"
    path.write_bytes(content.encode("latin-1"))
    with pytest.raises(InputError, match=message):
        read_catalog(path, **kwargs)


def test_missing_and_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"nope\.csv: catalogue not found"):
        read_catalog(tmp_path / "nope.csv")
    bad = tmp_path / "cat.fits"
    bad.write_bytes(b"SIMPLE  = not really a FITS file")
    with pytest.raises(InputError, match=r"cat\.fits: cannot read the catalogue as FITS"):
        read_catalog(bad)
    with pytest.raises(InputError, match="is a folder"):
        read_catalog(tmp_path)
