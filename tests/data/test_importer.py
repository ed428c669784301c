from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from deepshadows._io import partial_path
from deepshadows.data import Store, import_folder, import_images
from deepshadows.errors import InputError


def cutout(seed: int, size: int = 64) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (size, size, 3), dtype=np.uint8)


def save(folder: Path, name: str, pixels: np.ndarray) -> Path:
    path = folder / name
    Image.fromarray(pixels).save(path)
    return path


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """Twelve PNG and four JPEG cutouts; ids a00 .. a15."""
    images = tmp_path / "cutouts"
    images.mkdir()
    for i in range(16):
        save(images, f"a{i:02d}.{'jpg' if i % 4 == 3 else 'png'}", cutout(i))
    (images / ".DS_Store").write_bytes(b"\0\1")
    return images


def write_csv(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n")
    return path


def test_import_without_csv(folder: Path, tmp_path: Path) -> None:
    out = import_folder(folder, labels_csv=None, out=tmp_path / "imported.h5")
    store = Store(out)
    assert len(store) == 16
    np.testing.assert_array_equal(store.ids, [f"a{i:02d}" for i in range(16)])
    assert (store.labels == -1).all() and (store.kinds == "").all()
    assert (store.splits == "").all() and store.split_seed is None
    np.testing.assert_array_equal(store.read_images([0, 4]), np.stack([cutout(0), cutout(4)]))
    assert store.config["source"] == "import" and store.config["labels_csv"] is None
    assert "versions" in store.provenance


def test_import_with_csv(folder: Path, tmp_path: Path) -> None:
    lines = ["id,label,kind,subclass"]
    lines += [f"a{i:02d},{'lsbg' if i < 8 else 'artifact'},,{'' if i < 8 else 'C'}" for i in range(16)]
    csv_path = write_csv(tmp_path / "labels.csv", lines)
    out = import_folder(folder, labels_csv=csv_path, out=tmp_path / "s.h5", seed=4)
    store = Store(out)
    np.testing.assert_array_equal(store.labels, [1] * 8 + [0] * 8)
    np.testing.assert_array_equal(store.kinds, ["lsbg"] * 8 + [""] * 8)
    np.testing.assert_array_equal(store.subclasses, [""] * 8 + ["C"] * 8)
    # JPEG is lossy: the PNG rows are exact, the JPEG rows close.
    png_rows = [i for i in range(16) if i % 4 != 3]
    np.testing.assert_array_equal(store.read_images(png_rows), np.stack([cutout(i) for i in png_rows]))
    splits = store.splits
    assert [(splits == s).sum() for s in ("train", "val", "test")] == [12, 2, 2]
    for label in (0, 1):
        assert (splits[store.labels == label] == "train").sum() == 6
    assert store.split_seed == 4
    again = import_folder(folder, labels_csv=csv_path, out=tmp_path / "t.h5", seed=4)
    np.testing.assert_array_equal(Store(again).splits, splits)


def test_csv_labels_are_read_as_label_tables_read_them(folder: Path, tmp_path: Path) -> None:
    lines = ["id,label", "a00,LSBG", "a01,Artifact", "a02,true", "a03,0.0", "a04,type1"]
    out = import_folder(folder, labels_csv=write_csv(tmp_path / "labels.csv", lines), out=tmp_path / "s.h5")
    np.testing.assert_array_equal(Store(out).labels, [1, 0, 1, 0, 0])


def test_csv_with_file_and_split_columns(folder: Path, tmp_path: Path) -> None:
    csv_path = write_csv(
        folder / "labels.csv",
        [
            "ID, Label, File, Kind, Split",
            "first, 1, a00.png, lsbg, train",
            "second, 0, a03.jpg, type2, val",
            "third, 0, a05.png, type1, test",
        ],
    )
    store = Store(import_folder(folder, labels_csv=csv_path, out=tmp_path / "s.h5"))
    np.testing.assert_array_equal(store.ids, ["first", "second", "third"])
    np.testing.assert_array_equal(store.kinds, ["lsbg", "type2", "type1"])
    np.testing.assert_array_equal(store.splits, ["train", "val", "test"])
    np.testing.assert_array_equal(store.read_images([0]), cutout(0)[None])
    assert store.split_seed is None


def test_wrong_size_image(folder: Path, tmp_path: Path) -> None:
    save(folder, "big.png", cutout(99, size=256))
    out = tmp_path / "s.h5"
    with pytest.raises(InputError, match=r"big\.png: image is 256x256 pixels.*--resize"):
        import_folder(folder, labels_csv=None, out=out, strict=True)
    assert not out.exists() and not partial_path(out).exists()
    result = import_folder(folder, labels_csv=None, out=out)
    assert result.n_stored == 16 and [b.ident for b in result.failures] == ["big"]


@pytest.mark.parametrize("method", ["nearest", "bicubic"])
def test_resize_viewer_cutouts(folder: Path, tmp_path: Path, method: str) -> None:
    big = cutout(99, size=256)
    save(folder, "big.png", big)
    store = Store(import_folder(folder, labels_csv=None, out=tmp_path / "s.h5", resize=method))
    assert len(store) == 17
    row = int(np.flatnonzero(store.ids == "big")[0])
    resized = store.read_images([row])[0]
    assert resized.shape == (64, 64, 3)
    if method == "nearest":
        expected = np.asarray(Image.fromarray(big).resize((64, 64), Image.Resampling.NEAREST))
        np.testing.assert_array_equal(resized, expected)
    np.testing.assert_array_equal(store.read_images([0])[0], cutout(0))


def test_non_square_image_cannot_be_resized(folder: Path, tmp_path: Path) -> None:
    save(folder, "wide.png", np.zeros((64, 80, 3), np.uint8))
    with pytest.raises(InputError, match=r"wide\.png: image is 80x64 pixels; only square"):
        import_folder(folder, labels_csv=None, out=tmp_path / "s.h5", resize="bicubic", strict=True)


def test_custom_image_size(folder: Path, tmp_path: Path) -> None:
    store = Store(
        import_folder(folder, labels_csv=None, out=tmp_path / "s.h5", image_size=32, resize="bicubic")
    )
    assert store.read_images([0]).shape == (1, 32, 32, 3)


def test_non_image_file(folder: Path, tmp_path: Path) -> None:
    (folder / "notes.txt").write_text("not a cutout")
    (folder / ".DS_Store").write_bytes(b"\0\1")
    out = tmp_path / "s.h5"
    with pytest.raises(InputError, match=r"notes\.txt: not a JPEG or PNG image \(expected a name ending"):
        import_folder(folder, labels_csv=None, out=out, strict=True)
    result = import_folder(folder, labels_csv=None, out=out)
    assert result.n_stored == 16 and "notes" not in set(Store(out).ids)
    assert [(b.row, b.ident, Path(b.file).name) for b in result.failures] == [(17, "notes", "notes.txt")]
    assert result.failures[0].reason.startswith("not a JPEG or PNG image")


def test_unreadable_image(folder: Path, tmp_path: Path) -> None:
    (folder / "broken.png").write_bytes(b"definitely not a PNG")
    out = tmp_path / "s.h5"
    with pytest.raises(InputError, match=r"broken\.png: cannot be read"):
        import_folder(folder, labels_csv=None, out=out, strict=True)
    assert not out.exists() and not partial_path(out).exists()


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (["name,label", "a00,1"], r"missing column\(s\) id"),
        (["id,label", "a00,1", "a01,maybe"], r"row 2 \(line 3\): label 'maybe'"),
        (["id,label", "a00,1", "a01,0", "zz,1"], r"row 3 \(line 4\): no image for id 'zz'"),
        (["id,label", "a00,1", "a00,0"], r"row 2 \(line 3\): id 'a00' repeats row 1"),
        (["id,label,kind", "a00,1,type2"], r"row 1 \(line 2\): kind 'type2' contradicts"),
        (["id,label,kind", "a00,0,star"], r"row 1 \(line 2\): kind 'star'"),
        (["id,label,subclass", "a00,0,Q"], r"row 1 \(line 2\): subclass 'Q'"),
        (["id,label,split", "a00,0,train", "a01,1,holdout"], r"row 2 \(line 3\): split"),
        (["id,label,file", "a00,0,missing.png"], r"row 1 \(line 2\): file 'missing\.png'"),
        (["id,label", "a00,1,extra"], r"row 2: 3 value\(s\), but the header names 2"),
        (["id,label"], "no data rows"),
    ],
)
def test_bad_csv(folder: Path, tmp_path: Path, lines: list[str], message: str) -> None:
    csv_path = write_csv(tmp_path / "labels.csv", lines)
    out = tmp_path / "s.h5"
    with pytest.raises(InputError, match=r"labels\.csv.*" + message):
        import_folder(folder, labels_csv=csv_path, out=out)
    assert not out.exists() and not partial_path(out).exists()


def test_ambiguous_id(folder: Path, tmp_path: Path) -> None:
    save(folder, "a00.jpg", cutout(0))
    csv_path = write_csv(tmp_path / "labels.csv", ["id,label", "a00,1"])
    with pytest.raises(InputError, match="matches several files"):
        import_folder(folder, labels_csv=csv_path, out=tmp_path / "s.h5")
    with pytest.raises(InputError, match="must be unique"):
        import_folder(folder, labels_csv=None, out=tmp_path / "s.h5")


def test_bad_arguments(folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "s.h5"
    with pytest.raises(InputError, match="--resize"):
        import_folder(folder, labels_csv=None, out=out, resize="box")
    with pytest.raises(InputError, match="--split-fractions"):
        import_folder(folder, labels_csv=None, out=out, split_fractions=(0.5, 0.5, 0.5))
    with pytest.raises(InputError, match="image folder not found"):
        import_folder(tmp_path / "nowhere", labels_csv=None, out=out)
    with pytest.raises(InputError, match=r"nope\.csv: labels CSV not found"):
        import_folder(folder, labels_csv=tmp_path / "nope.csv", out=out)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InputError, match="no JPEG or PNG images"):
        import_folder(empty, labels_csv=None, out=out)


def test_existing_output(folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "s.h5"
    out.write_bytes(b"old")
    with pytest.raises(InputError, match="--overwrite"):
        import_folder(folder, labels_csv=None, out=out)
    assert out.read_bytes() == b"old"
    import_folder(folder, labels_csv=None, out=out, overwrite=True)
    assert len(Store(out)) == 16


def test_failed_overwrite_keeps_old_store(folder: Path, tmp_path: Path) -> None:
    out = import_folder(folder, labels_csv=None, out=tmp_path / "s.h5").path
    before = out.read_bytes()
    save(folder, "zz.png", cutout(1, size=32))
    with pytest.raises(InputError, match=r"zz\.png"):
        import_folder(folder, labels_csv=None, out=out, overwrite=True, strict=True)
    assert out.read_bytes() == before and not partial_path(out).exists()


def test_import_images_directly(folder: Path, tmp_path: Path) -> None:
    paths = sorted(folder.glob("*.png"))[:4]
    out = import_images(
        paths,
        ["w", "x", "y", "z"],
        [1, 1, 0, 0],
        out=tmp_path / "s.h5",
        kinds=["lsbg", "lsbg", "type1", "type2"],
        seed=0,
        split_fractions=(0.5, 0.5, 0),
    )
    store = Store(out)
    np.testing.assert_array_equal(store.kinds, ["lsbg", "lsbg", "type1", "type2"])
    assert sorted(store.splits) == ["train", "train", "val", "val"]


def test_long_unicode_file_names_keep_their_ids(folder: Path, tmp_path: Path) -> None:
    """Ids longer than the default fixed width widen the column instead of being cut."""
    name = "J123456.78-012345.6_" + "ü" * 60
    save(folder, f"{name}.png", cutout(99))
    store = Store(import_folder(folder, labels_csv=None, out=tmp_path / "long.h5"))
    assert name in set(store.ids)


def test_bad_files_are_left_out_and_listed(
    folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    from deepshadows.cli.main import main
    from deepshadows.failures import failures_path, read_failures

    (folder / "a02x.png").write_bytes(b"")
    whole = (folder / "a00.png").read_bytes()
    (folder / "a05x.png").write_bytes(whole[: len(whole) // 2])
    (folder / "a07x.jpg").write_text("not a JPEG")
    save(folder, "a09x.png", cutout(50, size=100))
    labels = write_csv(
        tmp_path / "labels.csv",
        ["id,label", *(f"a{i:02d},{i % 2}" for i in range(16)), "a02x,1", "a05x,0", "a07x,1", "a09x,0"],
    )
    out = tmp_path / "s.h5"
    result = import_folder(folder, labels_csv=labels, out=out)
    store = Store(result)
    assert len(store) == result.n_stored == 16 and set(store.ids) == {f"a{i:02d}" for i in range(16)}
    assert set(store.splits) == {"train", "val", "test"}
    listed = read_failures(failures_path(out))
    assert [(b.row, b.ident) for b in listed] == [(17, "a02x"), (18, "a05x"), (19, "a07x"), (20, "a09x")]
    assert listed == result.failures and result.failures_path == failures_path(out)
    assert all(b.reason.startswith("cannot be read as a JPEG or PNG image") for b in listed[:3])
    assert listed[3].reason.startswith("image is 100x100 pixels, expected 64x64")

    args = ["import", str(folder), "--labels", str(labels), "--out", str(out), "--overwrite"]
    assert main(args) == 3
    captured = capsys.readouterr()
    assert "16 rows; 4 failed" in captured.out and "4 of 20 rows are not in the store" in captured.err
    assert main([*args, "--strict"]) == 1
    assert "a02x.png: cannot be read" in capsys.readouterr().err
    assert main([*args, "--resize", "nearest"]) == 3
    assert len(Store(out)) == 17
