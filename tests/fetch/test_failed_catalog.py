"""The catalogue of the rows a fetch did not store: the input's own rows and format, plus the reason."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.table import Table
from click.testing import CliRunner

from deepshadows.cli.fetch import EXIT_SOME_FAILED, fetch_command
from deepshadows.data import open_store
from deepshadows.fetch import BadRow, failed_catalog_path, failures_path, fetch_catalog, read_catalog
from deepshadows.fetch.output import write_failed_catalog


def _catalog(coordinates) -> Table:
    """Eight candidates with columns of several types; row 5 (index 4) has an invalid ra."""
    rows = coordinates(8)
    table = Table(
        {
            "objid": [ident for ident, _, _ in rows],
            "RA": np.array([ra for _, ra, _ in rows]),
            "Dec": np.array([dec for _, _, dec in rows]),
            "mag_g": np.arange(8, dtype=np.float32) + 20.5,
            "n_obs": np.arange(8, dtype=np.int32) * 3,
            "flag": np.array([True, False] * 4),
        }
    )
    table["RA"][4] = 400.0
    table.meta["SURVEY"] = "test"
    return table


@pytest.mark.parametrize("suffix", [".csv", ".fits"])
def test_failed_rows_are_written_in_the_input_format_and_fetched_again(
    make_server, coordinates, fast, tmp_path, suffix
) -> None:
    source = _catalog(coordinates)
    catalog = tmp_path / f"cands{suffix}"
    source.write(catalog, format="ascii.csv" if suffix == ".csv" else "fits")
    original = Table.read(catalog)
    broken = {(float(source["RA"][k]), float(source["Dec"][k])): code for k, code in ((2, 500), (6, 404))}
    server = make_server(broken=broken)
    out = tmp_path / "real.h5"
    result = fetch_catalog(catalog, out, base_url=server.url, **{**fast, "retries": 1})
    assert result.n_stored == 5 and [b.row for b in result.failures] == [3, 5, 7]
    expected = tmp_path / f"real.h5.failed{suffix}"
    assert result.failed_catalog_path == failed_catalog_path(out, catalog) == expected
    assert failures_path(out).is_file()
    assert "to fetch them again" in result.summary()

    failed = Table.read(result.failed_catalog_path)
    assert failed.colnames == [*original.colnames, "reason"]
    for name in original.colnames:
        assert failed[name].dtype.kind == original[name].dtype.kind, name
        np.testing.assert_array_equal(np.asarray(failed[name]), np.asarray(original[name][[2, 4, 6]]))
    assert list(failed["reason"]) == [b.reason for b in result.failures]
    assert "HTTP 500" in failed["reason"][0] and "outside [0, 360)" in failed["reason"][1]
    if suffix == ".fits":
        assert failed.meta["SURVEY"] == "test"

    # Fetching the failures catalogue again, once the server is mended, stores exactly those
    # rows under their ids (the invalid one still fails), and its own failures replace the reason.
    mended = make_server()
    again = fetch_catalog(result.failed_catalog_path, tmp_path / "retry.h5", base_url=mended.url, **fast)
    assert again.n_stored == 2 and [b.row for b in again.failures] == [2]
    with open_store(tmp_path / "retry.h5") as store:
        np.testing.assert_array_equal(store.ids, [source["objid"][2], source["objid"][6]])
    twice = Table.read(again.failed_catalog_path)
    assert twice.colnames == failed.colnames and len(twice) == 1
    assert twice["objid"][0] == source["objid"][4] and "outside" in twice["reason"][0]


def test_a_catalogue_without_ids_gains_them_and_a_clean_run_removes_the_file(
    make_server, coordinates, write_catalog, tmp_path
) -> None:
    rows = [(ra, dec) for _, ra, dec in coordinates(4)]
    catalog = write_catalog(rows, header="ra,dec")
    server = make_server(broken={rows[1]: 404})
    out = tmp_path / "real.h5"
    args = [str(catalog), "--out", str(out), "--base-url", server.url, "--quiet", "--retries", "0"]
    result = CliRunner().invoke(fetch_command, args)
    assert result.exit_code == EXIT_SOME_FAILED, result.output
    path = failed_catalog_path(out, catalog)
    assert path.name == "real.h5.failed.csv" and str(path) in result.stdout
    failed = Table.read(path)
    assert failed.colnames == ["id", "ra", "dec", "reason"] and list(failed["id"]) == [2]
    with open_store(out) as store:
        np.testing.assert_array_equal(store.ids, ["1", "3", "4"])

    # Fetched again, the row keeps the id it would have had in the first store.
    clean = make_server()
    args[4] = clean.url
    retry = tmp_path / "retry.h5"
    again = CliRunner().invoke(fetch_command, [str(path), "--out", str(retry), *args[3:]])
    assert again.exit_code == 0, again.output
    with open_store(retry) as store:
        np.testing.assert_array_equal(store.ids, ["2"])
    assert not failed_catalog_path(retry, path).exists()

    # A later run without failures removes the stale failures catalogue.
    assert CliRunner().invoke(fetch_command, [*args, "--overwrite"]).exit_code == 0
    assert not path.exists() and not failures_path(out).exists()


@pytest.mark.parametrize(
    ("name", "fmt", "written"),
    [
        ("cands.ecsv", "ascii.ecsv", "out.h5.failed.ecsv"),
        ("cands.vot", "votable", "out.h5.failed.vot"),
        ("cands.fits.gz", "fits", "out.h5.failed.fits"),
        ("cands.FIT", "fits", "out.h5.failed.fit"),
        ("cands.xml", "votable", "out.h5.failed.ecsv"),
    ],
)
def test_every_catalogue_format_is_written_back(coordinates, tmp_path, name, fmt, written) -> None:
    source = _catalog(coordinates)
    catalog = tmp_path / name
    source.write(catalog, format=fmt)
    cat = read_catalog(catalog)
    failures = sorted(
        [*cat.bad, BadRow(2, str(source["objid"][1]), "", "", "JPEG: HTTP 404")], key=lambda b: b.row
    )
    path = write_failed_catalog(tmp_path / "out.h5", cat, failures)
    assert path == tmp_path / written
    failed = Table.read(path)
    assert failed.colnames == [*source.colnames, "reason"]
    assert list(failed["objid"]) == [source["objid"][1], source["objid"][4]]
    assert failed["n_obs"].dtype.kind == "i" and failed["mag_g"].dtype.kind == "f"
    assert read_catalog(path).bad[0].row == 2  # fetch reads it again; the invalid row stays invalid
    assert write_failed_catalog(tmp_path / "out.h5", cat, []) is None and not path.exists()
