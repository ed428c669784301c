"""Prediction tables in every format, the store's columns carried, and the catalogue join."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from astropy.io.votable import parse
from astropy.table import Table
from tests.predict.test_predict import FailingNet, TinyNet, direct, make_images, read_csv, use_model

from deepshadows import __version__
from deepshadows.cli.main import main
from deepshadows.data import StoreWriter
from deepshadows.errors import InputError
from deepshadows.predict import predict
from deepshadows.predict import run as run_module
from deepshadows.predict.catalog_join import CatalogJoin
from deepshadows.predict.table_output import write_predictions
from deepshadows.tables import table_format

N = 150
IDS = [f"cand-{i:04d}" for i in range(N)]
TRUTH = np.dtype([("row", np.int64), ("ra", np.float64), ("dec", np.float64)])
FEATURES = np.dtype([("mag_auto_g", np.float32), ("flux_radius_g", np.float32)])
READERS = {
    ".csv": "ascii.csv",
    ".fits": "fits",
    ".parquet": "parquet",
    ".ecsv": "ascii.ecsv",
    ".vot": "votable",
}


def positions(n: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(3)
    return rng.uniform(10, 60, n), rng.uniform(-40, -5, n)


def write_fetched_store(path: Path, images: np.ndarray) -> Path:
    """A store as fetch writes it: catalogue position in the truth table, and features."""
    n = images.shape[0]
    ra, dec = positions(n)
    truth = np.zeros(n, dtype=TRUTH)
    truth["row"], truth["ra"], truth["dec"] = np.arange(1, n + 1), ra, dec
    features = np.zeros(n, dtype=FEATURES)
    features["mag_auto_g"] = np.linspace(20, 24, n)
    features["flux_radius_g"] = np.linspace(1, 5, n)
    with StoreWriter(
        path, n_total=n, feature_dtype=FEATURES, truth_dtype=TRUTH, attrs={"config": {"test": True}}
    ) as w:
        w.append(
            {
                "images": images,
                "label": np.full(n, -1),
                "kind": np.full(n, ""),
                "subclass": np.full(n, ""),
                "id": np.asarray(IDS[:n], dtype=object),
                "features": features,
                "feature_flag": np.zeros(n, dtype=np.int16),
                "truth": truth,
            }
        )
        return w.finalize(np.full(n, ""), split_fractions=None, split_seed=None)


@pytest.fixture(scope="module")
def images() -> np.ndarray:
    return make_images(N, seed=7)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory, images: np.ndarray) -> Path:
    return write_fetched_store(tmp_path_factory.mktemp("fetched") / "real.h5", images)


@pytest.fixture
def model(monkeypatch: pytest.MonkeyPatch) -> TinyNet:
    net = TinyNet().eval()
    use_model(monkeypatch, net, threshold=0.4, weights_sha256="ab" * 32)
    return net


def read_back(path: Path) -> Table:
    """Read an output with astropy; Parquet through pyarrow when astropy's reader lacks pandas."""
    if path.suffix != ".parquet":
        return Table.read(path, format=READERS[path.suffix])
    import pyarrow.parquet as pq
    from astropy.table import meta as table_yaml

    data = pq.read_table(path)
    header = table_yaml.get_header_from_yaml(data.schema.metadata[b"table_meta_yaml"].decode().split("\n"))
    table = Table({name: data[name].to_numpy() for name in data.column_names}, meta=header.get("meta", {}))
    for col in header["datatype"]:
        table[col["name"]].unit = col.get("unit")
        assert np.dtype(col["datatype"].replace("string", "str")).kind == table[col["name"]].dtype.kind or (
            col["datatype"] == "string"
        )
    return table


def run(store: Path, out: Path, **kwargs) -> dict:
    return predict("model.pt", store, out, precision="fp32", progress=False, **kwargs)


# -- formats -------------------------------------------------------------------------------------


def test_format_follows_the_extension_and_unknown_ones_are_refused(tmp_path: Path) -> None:
    assert table_format("a.FITS") == "fits" and table_format("a.fit") == "fits"
    assert table_format("a.vot") == "votable" and table_format("a.txt", "csv") == "csv"
    with pytest.raises(InputError, match=r"'\.txt'.*csv \(\.csv\), fits \(\.fits \.fit\).*--format"):
        table_format("preds.txt")
    with pytest.raises(InputError, match="--format: unknown table format 'hdf5'"):
        table_format("preds.csv", "hdf5")


def test_unknown_extension_is_refused_before_any_work(tmp_path: Path, store: Path, model) -> None:
    with pytest.raises(InputError, match="cannot tell the output format"):
        run(store, tmp_path / "scores.txt")
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("suffix", [".fits", ".parquet", ".ecsv", ".vot", ".csv"])
def test_round_trip_through_astropy(
    tmp_path: Path, store: Path, images: np.ndarray, model: TinyNet, suffix: str
) -> None:
    out = tmp_path / f"scores{suffix}"
    result = run(store, out, columns=["mag_auto_g"])
    assert result["format"] == table_format(out) and result["n"] == N
    assert not (tmp_path / f"scores{suffix}.partial").exists()
    table = read_back(out)
    assert table.colnames == ["id", "ra", "dec", "probability", "label", "mag_auto_g"]
    assert [str(i) for i in table["id"]] == IDS
    ra, dec = positions(N)
    np.testing.assert_allclose(table["ra"], ra, rtol=1e-12)
    np.testing.assert_allclose(table["dec"], dec, rtol=1e-12)
    p = direct(model, images)
    np.testing.assert_allclose(table["probability"], p, rtol=1e-5, atol=1e-7)
    np.testing.assert_array_equal(table["label"], (p > 0.4).astype(int))
    np.testing.assert_allclose(table["mag_auto_g"], np.linspace(20, 24, N), rtol=1e-6)
    if suffix == ".csv":
        return
    assert str(table["ra"].unit) == "deg" and str(table["dec"].unit) == "deg"
    assert table["probability"].dtype.kind == "f" and table["probability"].dtype.itemsize == 4
    assert table["label"].dtype.kind == "i" and table["ra"].dtype.itemsize == 8
    meta = {k.upper(): v for k, v in table.meta.items()}
    if suffix == ".vot":
        meta = {info.name: info.value for info in parse(out).resources[0].infos}
    assert meta["MODEL"] == "model.pt" and meta["MODELSHA"] == "ab" * 32
    assert float(meta["THRESHLD"]) == pytest.approx(0.4)
    assert meta["DSVERSIO"] == __version__ and meta["PROBCAL"] == "none"


def test_fits_is_a_standard_binary_table(tmp_path: Path, store: Path, model: TinyNet) -> None:
    out = tmp_path / "scores.fits"
    run(store, out)
    with fits.open(out, checksum=False) as hdus:
        hdus.verify("exception")
        assert len(hdus) == 2 and hdus[1].header["XTENSION"] == "BINTABLE"
        assert hdus[1].header["TUNIT2"] == "deg" and hdus[1].header["NAXIS2"] == N
        assert hdus[0].header["MODELSHA"] == "ab" * 32
    assert out.stat().st_size % 2880 == 0


def test_csv_of_a_store_with_positions_carries_them(tmp_path: Path, store: Path, model: TinyNet) -> None:
    out = tmp_path / "scores.csv"
    run(store, out)
    header, rows = read_csv(out)
    assert header == ["id", "ra", "dec", "probability", "label"]
    assert [r[0] for r in rows] == IDS
    assert float(rows[3][1]) == positions(N)[0][3]


def test_unknown_store_column_is_refused_with_the_list(tmp_path: Path, store: Path, model: TinyNet) -> None:
    with pytest.raises(InputError, match=r"no column 'mag_r'.*mag_auto_g"):
        run(store, tmp_path / "x.fits", columns=["mag_r"])


def test_streamed_fits_of_many_blocks(tmp_path: Path) -> None:
    partial = tmp_path / "p.csv"
    with open(partial, "w", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["id", "probability", "label"])
        writer.writerows([f"x{i}", f"{i / 1000:.8g}", int(i > 500)] for i in range(1000))
    n = write_predictions(
        partial,
        tmp_path / "o.fits",
        "fits",
        ["id", "probability", "label"],
        meta={"MODEL": "m"},
        chunk_rows=64,
    )
    table = Table.read(tmp_path / "o.fits")
    assert n == len(table) == 1000 and table["id"][999] == "x999"
    np.testing.assert_allclose(table["probability"], np.arange(1000) / 1000, rtol=1e-7)


# -- resume --------------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".fits", ".parquet", ".ecsv"])
def test_resume_gives_the_output_of_an_uninterrupted_run(
    tmp_path: Path, store: Path, monkeypatch: pytest.MonkeyPatch, suffix: str
) -> None:
    net = TinyNet().eval()
    use_model(monkeypatch, net)
    full = tmp_path / f"full{suffix}"
    predict("model.pt", store, full, batch_size=2048, precision="fp32", progress=False)
    out = tmp_path / f"cut{suffix}"
    monkeypatch.setattr(run_module, "_READ_ROWS", 1)  # blocks of one batch: rows reach the file per batch
    use_model(monkeypatch, FailingNet(net, fail_on=2))
    with pytest.raises(KeyboardInterrupt):
        predict("model.pt", store, out, batch_size=64, precision="fp32", progress=False)
    assert not out.exists() and (tmp_path / f"cut{suffix}.partial").exists()
    use_model(monkeypatch, net)
    result = predict("model.pt", store, out, batch_size=64, resume=True, precision="fp32", progress=False)
    assert result["resumed_from"] == 64
    a, b = read_back(out), read_back(full)
    assert a.colnames == b.colnames and list(a["id"]) == list(b["id"])
    np.testing.assert_allclose(a["probability"], b["probability"], rtol=1e-5)
    # A finished output is kept by a second resume.
    again = predict("model.pt", store, out, resume=True, precision="fp32", progress=False)
    assert again["resumed_from"] == N
    assert [str(i) for i in read_back(out)["id"]] == IDS


# -- the catalogue join --------------------------------------------------------------------------


def write_catalog(path: Path, *, ids: list[str], ra: np.ndarray, dec: np.ndarray) -> Path:
    table = Table({"name": ids, "RA": ra, "DEC": dec, "label": np.zeros(len(ids), dtype=int)})
    table["mag"] = np.arange(len(ids), dtype=float)
    table.write(path, overwrite=True)
    return path


def test_join_on_ids_keeps_the_catalogue_and_reports_unmatched(
    tmp_path: Path, store: Path, images: np.ndarray, model: TinyNet
) -> None:
    ra, dec = positions(N)
    ids = [*IDS[:10], "not-fetched"]
    cat = write_catalog(
        tmp_path / "cand.fits", ids=ids, ra=np.append(ra[:10], 1.0), dec=np.append(dec[:10], 2.0)
    )
    notes: list[str] = []
    out = tmp_path / "cand_scored.fits"
    result = predict("model.pt", store, out, catalog=cat, precision="fp32", progress=False, log=notes.append)
    report = result["join"]
    assert report.matched == 10 and report.unmatched == ["not-fetched"] and report.unused == N - 10
    assert report.renamed == {"label": "label_pred"}
    assert any("matched 10 of 11" in line for line in notes)
    table = Table.read(out)
    assert table.colnames == ["name", "RA", "DEC", "label", "mag", "probability", "label_pred"]
    assert list(table["name"]) == ids and list(table["mag"]) == list(range(11))
    np.testing.assert_allclose(table["probability"][:10], direct(model, images[:10]), rtol=1e-5)
    assert table["probability"].mask[10] and table["label_pred"].mask[10]
    assert table.meta["MODELSHA"] == "ab" * 32


def test_join_on_positions_within_the_radius(tmp_path: Path, store: Path, model: TinyNet) -> None:
    ra, dec = positions(N)
    shift = 0.5 / 3600  # half an arcsecond in declination
    cat = write_catalog(
        tmp_path / "cand.csv",
        ids=["a", "b", "c"],
        ra=ra[[4, 8, 12]],
        dec=dec[[4, 8, 12]] + [shift, shift, 0.01],
    )
    out = tmp_path / "joined.ecsv"
    result = predict(
        "model.pt", store, out, catalog=CatalogJoin(cat, match_radius=1.0), precision="fp32", progress=False
    )
    assert result["join"].matched == 2 and result["join"].unmatched == ["c"]
    table = Table.read(out, format="ascii.ecsv")
    assert str(table["match_sep"].unit) == "arcsec"
    np.testing.assert_allclose(table["match_sep"][:2], [0.5, 0.5], atol=1e-3)
    assert table["probability"].mask.tolist() == [False, False, True]
    with pytest.raises(InputError, match="--match-radius must be a positive"):
        CatalogJoin(cat, match_radius=0)


# -- the command line ----------------------------------------------------------------------------


def test_cli_writes_fits_with_format_override(
    tmp_path: Path, store: Path, model: TinyNet, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "scores.dat"
    argv = ["predict", "model.pt", str(store), "--out", str(out), "--format", "fits"]
    assert main([*argv, "--columns", "flux_radius_g", "--quiet", "--precision", "fp32"]) == 0
    assert Table.read(out, format="fits").colnames[-1] == "flux_radius_g"
    assert main(["predict", "model.pt", str(store), "--out", str(tmp_path / "s.txt")]) != 0
    assert "cannot tell the output format" in capsys.readouterr().err
