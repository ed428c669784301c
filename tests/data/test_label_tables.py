"""Label tables of every kind, matched to a store by id or position, and the labelled sample."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from astropy.table import Table

from deepshadows.data import StoreWriter, open_store
from deepshadows.data.label_file import LabelFile
from deepshadows.data.label_matching import match_labels, store_positions
from deepshadows.data.label_tables import load_label_table, read_label_table
from deepshadows.data.labelled_sample import load_labelled_sample
from deepshadows.errors import InputError
from deepshadows.fetch.output import POSITION_DTYPE

SIDE = 8
IDS = [f"obj-{i}" for i in range(6)]
STORE_LABELS = np.array([1, 0, -1, 1, -1, 0], dtype=np.int8)
KINDS = np.array(["lsbg", "type2", "", "lsbg", "", "type1"])
SPLITS = np.array(["train", "train", "val", "test", "train", "val"])
#: Store positions: 36 arcsec apart along ra at dec 0.
RA = 10.0 + 0.01 * np.arange(6)
DEC = np.zeros(6)


def write_store(path: Path, labels: np.ndarray = STORE_LABELS, *, positions: bool = True) -> Path:
    """A six-row store whose row i holds cutouts of value 10 i."""
    n = len(labels)
    batch = {
        "images": np.repeat(10 * np.arange(n, dtype=np.uint8), SIDE * SIDE * 3).reshape(n, SIDE, SIDE, 3),
        "label": labels,
        "kind": np.where(labels >= 0, KINDS, ""),
        "subclass": np.where(KINDS == "type2", "A", np.where(KINDS == "type1", "E", "")),
        "id": np.array(IDS),
    }
    if positions:
        truth = np.zeros(n, POSITION_DTYPE)
        truth["row"], truth["ra"], truth["dec"] = np.arange(1, n + 1), RA, DEC
        batch["truth"] = truth
    with StoreWriter(
        path,
        n_total=n,
        feature_dtype=None,
        truth_dtype=POSITION_DTYPE if positions else None,
        attrs={"config": {}},
        image_shape=(SIDE, SIDE, 3),
    ) as writer:
        writer.append(batch)
        return writer.finalize(SPLITS, split_fractions=None, split_seed=None)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_store(tmp_path_factory.mktemp("labels") / "cutouts.h5")


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def write_npz(path: Path, **extra: np.ndarray) -> Path:
    images = np.repeat(np.arange(4, dtype=np.uint8), SIDE * SIDE * 3).reshape(4, SIDE, SIDE, 3)
    np.savez(
        path,
        images=images,
        label=np.array([1, 0, -1, 1]),
        selection=np.array(["random", "random", "hard", "hard"]),
        **extra,
    )
    return path


# -- reading tables ----------------------------------------------------------------------------


def test_plain_id_label_csv(tmp_path: Path) -> None:
    path = write(tmp_path / "labels.csv", "id,label\nobj-0,1\nobj-1,0\n")
    assert read_label_table(path) == {"obj-0": 1, "obj-1": 0}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("lsbg", 1),
        ("LSBG", 1),
        (" Lsbg ", 1),
        ("artifact", 0),
        ("ARTIFACT", 0),
        ("Type2", 0),
        ("TYPE1", 0),
        ("True", 1),
        ("false", 0),
        ("1", 1),
        ("0", 0),
    ],
)
def test_label_words_in_any_case(tmp_path: Path, value: str, expected: int) -> None:
    path = write(tmp_path / "labels.csv", f"id,label\nobj-3,{value}\n")
    assert read_label_table(path) == {"obj-3": expected}


def test_aliases_extra_columns_and_split(tmp_path: Path) -> None:
    path = write(
        tmp_path / "labels.csv",
        "Object_ID,score,Class,Split,notes\n a ,0.9,lsbg,Train,x\nb,0.1,artifact,val,\n"
        "a,0.8,LSBG,train,again\n",
    )
    table = load_label_table(path)
    assert (table.id_column, table.label_column) == ("Object_ID", "Class")
    assert table.ids == ["a", "b"]  # stripped; the repeat with the same label is kept once
    assert table.labels.tolist() == [1, 0]
    assert table.splits == ["train", "val"]
    assert table.ra is None and table.rows.tolist() == [2, 3]
    named = write(tmp_path / "named.csv", "name,label,verdict\nc,1,artifact\n")
    assert read_label_table(named, label_column="VERDICT") == {"c": 0}


def test_labelling_page_file_with_undo_and_skip(tmp_path: Path) -> None:
    page = LabelFile(tmp_path / "labels.csv")
    for ident, label in [("a", "lsbg"), ("b", "artifact"), ("b", "undo"), ("c", "skip"), ("d", "artifact")]:
        page.append(ident, label)
    assert read_label_table(page.path) == {"a": 1, "d": 0}


def test_ecsv_and_fits_tables(tmp_path: Path) -> None:
    ecsv = tmp_path / "labels.ecsv"
    Table({"ID": ["x", "y"], "is_lsbg": [True, False], "mag": [20.0, 21.0]}).write(ecsv)
    assert read_label_table(ecsv) == {"x": 1, "y": 0}
    fits = tmp_path / "labels.fits"
    Table({"objid": np.array([7, 8, 9]), "type": ["lsbg", "type1", "Type2"]}).write(fits)
    assert read_label_table(fits) == {"7": 1, "8": 0, "9": 0}
    numeric = tmp_path / "numeric.fits"
    Table({"id": ["p", "q"], "label": np.array([1.0, 0.0])}).write(numeric)
    assert read_label_table(numeric) == {"p": 1, "q": 0}


def test_unknown_label_names_file_and_row(tmp_path: Path) -> None:
    path = write(tmp_path / "labels.csv", "id,label\na,1\nb,maybe\n")
    with pytest.raises(InputError, match=r"labels\.csv: row 3: unknown label value 'maybe'"):
        read_label_table(path)
    fits = tmp_path / "labels.fits"
    Table({"id": ["a", "b"], "label": np.array([1, 2])}).write(fits)
    with pytest.raises(InputError, match=r"labels\.fits: data row 2: unknown label value '2'"):
        read_label_table(fits)
    empty = write(tmp_path / "empty_label.csv", "id,label\na,\n")
    with pytest.raises(InputError, match="row 2: the label is empty"):
        read_label_table(empty)


def test_empty_and_conflicting_ids(tmp_path: Path) -> None:
    empty = write(tmp_path / "empty.csv", "id,label\na,1\n ,0\n")
    with pytest.raises(InputError, match=r"empty\.csv: row 3: the id \(id\) is empty"):
        read_label_table(empty)
    twice = write(tmp_path / "twice.csv", "id,label\na,1\nb,0\na,artifact\n")
    with pytest.raises(InputError, match=r"twice\.csv: row 4: id 'a' is labelled 0, but 1 in row 2"):
        read_label_table(twice)


def test_missing_columns_are_listed(tmp_path: Path) -> None:
    path = write(tmp_path / "labels.csv", "id,score\na,0.5\n")
    with pytest.raises(InputError, match="no label column .* the columns are id, score"):
        read_label_table(path)
    path = write(tmp_path / "noid.csv", "what,label\na,1\n")
    with pytest.raises(InputError, match="no id column .* the columns are what, label"):
        read_label_table(path)
    with pytest.raises(InputError, match="no column 'verdict' .* the columns are what, label"):
        read_label_table(path, label_column="verdict")


def test_missing_and_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"nowhere\.csv: label table not found"):
        read_label_table(tmp_path / "nowhere.csv")
    bad = tmp_path / "labels.fits"
    bad.write_bytes(b"\x00\x01 not a FITS file at all")
    with pytest.raises(InputError, match=r"labels\.fits: cannot read the label table"):
        read_label_table(bad)
    ragged = write(tmp_path / "ragged.csv", "id,label\na,1,extra\n")
    with pytest.raises(InputError, match="row 2: 3 value"):
        read_label_table(ragged)


# -- matching ----------------------------------------------------------------------------------


def test_match_by_id_in_table_order(tmp_path: Path) -> None:
    table = load_label_table(write(tmp_path / "l.csv", "id,label\nobj-4,1\nobj-0,0\n"))
    rows, classes = match_labels(table, IDS)
    assert rows.tolist() == [4, 0] and classes.tolist() == [1, 0]
    rows, classes = match_labels({"obj-2": 1}, np.array(IDS))
    assert rows.tolist() == [2] and classes.tolist() == [1]


def test_unknown_ids_are_counted_and_named(tmp_path: Path) -> None:
    table = load_label_table(write(tmp_path / "l.csv", "id,label\nobj-1,1\nghost,0\nspook,1\n"))
    with pytest.raises(InputError, match=r"2 of 3 id\(s\) not in the store: 'ghost', 'spook'"):
        match_labels(table, IDS)


def test_match_by_position(store: Path, tmp_path: Path) -> None:
    with open_store(store) as s:
        positions = store_positions(s)
    assert positions is not None
    ra, dec = positions
    np.testing.assert_allclose(ra, RA)
    np.testing.assert_allclose(dec, DEC)
    # 0.5 arcsec off rows 3 and 1; no id column.
    text = f"RA,Dec,label\n{RA[3] + 0.5 / 3600},0,lsbg\n{RA[1]},{0.5 / 3600},artifact\n"
    table = load_label_table(write(tmp_path / "pos.csv", text))
    assert table.id_column is None
    rows, classes = match_labels(table, IDS, ra=ra, dec=dec, match_radius_arcsec=1.0)
    assert rows.tolist() == [3, 1] and classes.tolist() == [1, 0]
    with pytest.raises(InputError, match=r"no row lies within 0\.1 arcsec .* closest is 0\.5 arcsec"):
        match_labels(table, IDS, ra=ra, dec=dec, match_radius_arcsec=0.1)
    with pytest.raises(InputError, match="no id column"):
        match_labels(table, IDS)
    with pytest.raises(InputError, match="holds no ra, dec"):
        match_labels(table, IDS, match_radius_arcsec=1.0)


def test_position_conflict_names_both_rows(tmp_path: Path) -> None:
    text = f"id,ra,dec,label\nu,{RA[2]},0,1\nv,{RA[2] + 0.2 / 3600},0,1\nw,{RA[2]},{0.3 / 3600},0\n"
    table = load_label_table(write(tmp_path / "pos.csv", text))
    with pytest.raises(InputError, match=r"row 2 \(id 'u'\) and row 4 \(id 'w'\) both match .*'obj-2'"):
        match_labels(table, IDS, ra=RA, dec=DEC, match_radius_arcsec=1.0)
    agreeing = load_label_table(write(tmp_path / "agree.csv", "\n".join(text.splitlines()[:3])))
    rows, classes = match_labels(agreeing, IDS, ra=RA, dec=DEC, match_radius_arcsec=1.0)
    assert rows.tolist() == [2] and classes.tolist() == [1]  # u and v agree: kept once


def test_store_without_positions(tmp_path: Path) -> None:
    with open_store(write_store(tmp_path / "plain.h5", positions=False)) as s:
        assert store_positions(s) is None


# -- the labelled sample -----------------------------------------------------------------------


def test_sample_of_a_labelled_store(store: Path) -> None:
    sample = load_labelled_sample(store)
    assert sample.ids.tolist() == ["obj-0", "obj-1", "obj-3", "obj-5"]
    assert sample.labels.dtype == np.int64 and sample.labels.tolist() == [1, 0, 1, 0]
    assert sample.images.dtype == np.uint8 and sample.images.shape == (4, SIDE, SIDE, 3)
    assert sample.images[:, 0, 0, 0].tolist() == [0, 10, 30, 50]
    assert sample.groups["split"].tolist() == ["train", "train", "test", "val"]
    assert sample.groups["kind"].tolist() == ["lsbg", "type2", "lsbg", "type1"]
    assert "cutouts.h5" in sample.source


def test_store_without_labels_is_refused(tmp_path: Path) -> None:
    path = write_store(tmp_path / "unlabelled.h5", np.full(6, -1, dtype=np.int8), positions=False)
    with pytest.raises(InputError, match="no labelled rows"):
        load_labelled_sample(path)


def test_sample_of_a_store_and_a_table(store: Path, tmp_path: Path) -> None:
    labels = write(tmp_path / "l.csv", "id,label,split\nobj-4,lsbg,val\nobj-0,artifact,train\nobj-2,1,test\n")
    sample = load_labelled_sample(store, labels)
    assert sample.ids.tolist() == ["obj-4", "obj-0", "obj-2"]
    assert sample.labels.tolist() == [1, 0, 1]  # the table's classes, not the store's
    assert sample.images[:, 0, 0, 0].tolist() == [40, 0, 20]
    assert sample.groups["split"].tolist() == ["val", "train", "test"]  # the table's split
    assert sample.groups["kind"].tolist() == ["", "lsbg", ""]  # the store's own metadata
    text = f"ra,dec,label\n{RA[5]},{0.4 / 3600},1\n"
    by_position = load_labelled_sample(store, write(tmp_path / "p.csv", text), match_radius_arcsec=2)
    assert by_position.ids.tolist() == ["obj-5"] and by_position.labels.tolist() == [1]
    assert "within 2 arcsec" in by_position.source


def test_sample_of_an_npz(tmp_path: Path) -> None:
    sample = load_labelled_sample(write_npz(tmp_path / "dev.npz"))
    assert sample.ids.tolist() == ["dev-0", "dev-1", "dev-3"]  # as import_npz names rows
    assert sample.labels.tolist() == [1, 0, 1]
    assert sample.images[:, 0, 0, 0].tolist() == [0, 1, 3]
    assert list(sample.groups) == ["selection"]
    assert sample.groups["selection"].tolist() == ["random", "random", "hard"]


def test_sample_of_an_npz_and_a_table(tmp_path: Path) -> None:
    path = write_npz(tmp_path / "dev.npz", source=np.array(["s0", "s1", "s2", "s3"]))
    labels = write(tmp_path / "l.csv", "source,label\ns2,LSBG\ns0,artifact\n")
    sample = load_labelled_sample(path, labels)
    assert sample.ids.tolist() == ["s2", "s0"]
    assert sample.labels.tolist() == [1, 0]
    assert sample.images[:, 0, 0, 0].tolist() == [2, 0]
    assert sample.groups["selection"].tolist() == ["hard", "random"]
    with pytest.raises(InputError, match="'s9'"):
        load_labelled_sample(path, write(tmp_path / "m.csv", "id,label\ns9,1\n"))


def test_other_inputs_are_refused(tmp_path: Path, store: Path) -> None:
    other = write(tmp_path / "cutouts.txt", "nothing")
    with pytest.raises(InputError, match=r"cutouts\.txt: cannot load .* store \(\.h5, \.hdf5\) or a \.npz"):
        load_labelled_sample(other)
    with pytest.raises(InputError, match="apply to a label table"):
        load_labelled_sample(store, match_radius_arcsec=1.0)
