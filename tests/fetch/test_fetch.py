from __future__ import annotations

import csv
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from deepshadows.cli.fetch import EXIT_SOME_FAILED, fetch_command
from deepshadows.data import open_store
from deepshadows.data.fits import measure_band_features, read_fits_cube
from deepshadows.errors import InputError
from deepshadows.features import FEATURE_NAMES
from deepshadows.fetch import failures_path, fetch_catalog, report_path, staging_path
from deepshadows.fetch.cutouts import parse_jpeg
from deepshadows.store.reader import StoreWriter
from deepshadows.viewer import bands_to_cutout, resize_cutout


def expected_images(server, rows) -> np.ndarray:
    return np.stack([resize_cutout(parse_jpeg(server.jpeg_bytes(ra, dec)), size=64) for _, ra, dec in rows])


def contents(path: Path) -> dict[str, np.ndarray]:
    with open_store(path) as store:
        out = {
            "ids": store.ids,
            "images": store.read_images(),
            "labels": store.labels,
            "truth": np.asarray(store.truth_table().as_array()),
        }
        if store.has_features:
            table = store.features_table()
            out["features"] = np.stack([np.asarray(table[c]) for c in table.colnames], axis=1)
            out["flags"] = store.feature_flags
    return out


def assert_same_store(a: Path, b: Path) -> None:
    left, right = contents(a), contents(b)
    assert left.keys() == right.keys()
    for key in left:
        np.testing.assert_array_equal(left[key], right[key], err_msg=key)


def cli_args(catalog: Path, out: Path, server, *extra: str) -> list[str]:
    return [
        str(catalog),
        "--out",
        str(out),
        "--base-url",
        server.url,
        "--timeout",
        "0.5",
        "--retries",
        "6",
        "--backoff",
        "0.005",
        "--backoff-max",
        "0.02",
        "--retry-after-max",
        "0.02",
        "--quiet",
        *extra,
    ]


def test_thirty_percent_faults_give_the_clean_store(
    make_server, coordinates, write_catalog, fast, tmp_path
) -> None:
    rows = coordinates(24)
    catalog = write_catalog(rows)
    faulty = make_server(rate=0.3, max_faults_per_url=3, seed=3)
    clean = make_server()
    common = {"fits": True, "partition_size": 5, "concurrency": 6, **fast}
    result = fetch_catalog(
        catalog, tmp_path / "faulty.h5", base_url=faulty.url, cache=tmp_path / "c1", **common
    )
    reference = fetch_catalog(
        catalog, tmp_path / "clean.h5", base_url=clean.url, cache=tmp_path / "c2", **common
    )
    assert result.n_stored == 24 and not result.failures and result.failures_path is None
    assert result.stats.total_retries > 5 and reference.stats.total_retries == 0
    injected = {k: n for k, n in faulty.counts.items() if k not in ("requests", "jpeg", "fits", "ok")}
    assert len(injected) >= 4, injected
    assert_same_store(tmp_path / "faulty.h5", tmp_path / "clean.h5")
    stored = contents(tmp_path / "faulty.h5")
    np.testing.assert_array_equal(stored["ids"], [r[0] for r in rows])
    np.testing.assert_array_equal(stored["images"], expected_images(clean, rows))
    np.testing.assert_array_equal(stored["truth"]["ra"], [r[1] for r in rows])
    np.testing.assert_array_equal(stored["truth"]["row"], np.arange(1, 25))
    assert (stored["labels"] == -1).all()
    assert not staging_path(tmp_path / "faulty.h5").exists()
    report = json.loads(report_path(tmp_path / "faulty.h5").read_text())
    assert report["rows"]["stored"] == 24 and report["stats"]["total_retries"] == result.stats.total_retries
    assert "versions" in report["provenance"] and report["config"]["layer"] == "des-dr1"
    with open_store(tmp_path / "faulty.h5") as store:
        assert store.attrs["kind"] == "fetched"
        assert store.attrs["fetch"]["stats"]["total_retries"] == result.stats.total_retries
        assert store.config["catalog_sha256"] and store.provenance["versions"]
    assert "stored 24 of 24 rows" in result.summary() and "rows/s" in result.summary()


def test_connections_are_bounded(make_server, coordinates, write_catalog, fast, tmp_path) -> None:
    server = make_server(delay=0.03)
    fetch_catalog(
        write_catalog(coordinates(20)), tmp_path / "s.h5", base_url=server.url, concurrency=3, **fast
    )
    assert server.max_in_flight == 3
    started = time.monotonic()
    fetch_catalog(
        write_catalog(coordinates(12), name="rate.csv"),
        tmp_path / "r.h5",
        base_url=server.url,
        rate_limit=40,
        cache=False,
        **fast,
    )
    assert time.monotonic() - started >= 11 / 40


def test_nothing_fetched_is_an_error_with_the_reasons_listed(
    make_server, coordinates, write_catalog, tmp_path
):
    rows = coordinates(2)
    server = make_server(broken={rows[0][1:]: 404, rows[1][1:]: 410})
    out = tmp_path / "none.h5"
    result = CliRunner().invoke(fetch_command, cli_args(write_catalog(rows), out, server))
    assert result.exit_code == 1 and "error: no row could be fetched" in result.stderr
    assert not out.exists() and not staging_path(out).exists()
    assert failures_path(out).read_text().count("(not retried)") == 2


def test_broken_and_invalid_rows_are_listed_and_the_exit_status_says_so(
    make_server, coordinates, write_catalog, tmp_path
) -> None:
    rows = coordinates(8)
    rows[4] = ("bad", 400, 1.0)
    server = make_server(broken={rows[2][1:]: 500, rows[5][1:]: 404})
    out = tmp_path / "real.h5"
    result = CliRunner().invoke(fetch_command, cli_args(write_catalog(rows), out, server, "--retries", "2"))
    assert result.exit_code == EXIT_SOME_FAILED, result.output
    assert "data row 5 (id 'bad'): ra 400.0 is outside [0, 360) degrees" in result.stderr
    assert "stored 5 of 8 rows" in result.stdout and "3 failed" in result.stdout
    assert "3 of 8 rows are not in the store" in result.stderr
    with open(failures_path(out), newline="") as fh:
        failed = list(csv.DictReader(fh))
    assert [f["row"] for f in failed] == ["3", "5", "6"]
    assert [f["id"] for f in failed] == [rows[2][0], "bad", rows[5][0]]
    assert failed[0]["reason"] == "JPEG: HTTP 500 Internal Server Error (gave up after 3 attempts)"
    assert failed[1]["ra"] == "400.0" and "outside" in failed[1]["reason"]
    assert failed[2]["reason"] == "JPEG: HTTP 404 Not Found (not retried)"
    assert server.counts["broken_404"] == 1 and server.counts["broken_500"] == 3
    kept = [r for i, r in enumerate(rows) if i not in (2, 4, 5)]
    stored = contents(out)
    np.testing.assert_array_equal(stored["ids"], [r[0] for r in kept])
    np.testing.assert_array_equal(stored["images"], expected_images(server, kept))
    # A later run without failures removes the stale failures file.
    again = CliRunner().invoke(fetch_command, cli_args(write_catalog(kept), out, server, "--overwrite"))
    assert again.exit_code == 0, again.output
    assert not failures_path(out).exists()


def test_a_second_run_is_served_by_the_cache(make_server, coordinates, write_catalog, fast, tmp_path) -> None:
    server = make_server()
    catalog = write_catalog(coordinates(6))
    first = fetch_catalog(catalog, tmp_path / "a.h5", base_url=server.url, fits=True, **fast)
    assert first.stats.requests == 12 and server.counts["requests"] == 12
    assert (tmp_path / "cache").is_dir()
    second = fetch_catalog(catalog, tmp_path / "a.h5", base_url=server.url, fits=True, overwrite=True, **fast)
    assert server.counts["requests"] == 12 and second.stats.requests == 0 and second.stats.cache_hits == 12
    nothing = fetch_catalog(catalog, tmp_path / "b.h5", base_url=server.url, cache=False, **fast)
    assert nothing.stats.requests == 6


def test_resume_after_a_kill_loses_and_repeats_nothing(
    make_server, coordinates, write_catalog, tmp_path
) -> None:
    rows = coordinates(40)
    catalog = write_catalog(rows)
    server = make_server(delay=0.04)
    out = tmp_path / "real.h5"
    args = cli_args(catalog, out, server, "--partition-size", "4", "--concurrency", "2")
    code = "import sys; from deepshadows.cli.fetch import fetch_command; sys.exit(fetch_command())"
    child = subprocess.Popen(
        [sys.executable, "-c", code, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    parts = staging_path(out)
    deadline = time.monotonic() + 60
    try:
        while len(list(parts.glob("part-*.npz"))) < 2:
            assert child.poll() is None, child.communicate()
            assert time.monotonic() < deadline, "the fetch made no progress"
            time.sleep(0.02)
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.communicate()
    staged = len(list(parts.glob("part-*.npz")))
    assert not out.exists() and 2 <= staged < 10
    before = server.counts["requests"]
    result = CliRunner().invoke(fetch_command, [*args, "--resume"])
    assert result.exit_code == 0, result.output
    assert "stored 40 of 40 rows" in result.stdout
    # Staged partitions are not fetched again; rows in flight at the kill come from the cache.
    assert server.counts["requests"] - before <= 40 - 4 * staged
    stored = contents(out)
    np.testing.assert_array_equal(stored["ids"], [r[0] for r in rows])
    np.testing.assert_array_equal(stored["images"], expected_images(server, rows))
    assert not parts.exists()


def test_resume_after_a_failure_while_writing_the_store(
    make_server, coordinates, write_catalog, fast, tmp_path, monkeypatch
) -> None:
    rows = coordinates(30)
    catalog = write_catalog(rows)
    server = make_server()
    out = tmp_path / "real.h5"
    calls = {"n": 0}
    append = StoreWriter.append

    def failing_append(self, batch):
        calls["n"] += 1
        if calls["n"] == 4:
            raise KeyboardInterrupt
        append(self, batch)

    monkeypatch.setattr(StoreWriter, "append", failing_append)
    with pytest.raises(KeyboardInterrupt):
        fetch_catalog(catalog, out, base_url=server.url, fits=True, partition_size=4, **fast)
    monkeypatch.setattr(StoreWriter, "append", append)
    assert not out.exists() and staging_path(out).is_dir()
    with pytest.raises(InputError, match=r"cannot resume.*differing: image_size.*rerun without --resume"):
        fetch_catalog(
            catalog, out, base_url=server.url, fits=True, partition_size=4, image_size=32, resume=True, **fast
        )
    requests = server.counts["requests"]
    result = fetch_catalog(
        catalog, out, base_url=server.url, fits=True, partition_size=4, resume=True, **fast
    )
    assert server.counts["requests"] == requests and result.rows_this_run == 0
    assert result.n_stored == 30 and not staging_path(out).exists()
    reference = fetch_catalog(catalog, tmp_path / "ref.h5", base_url=server.url, fits=True, **fast)
    assert reference.n_stored == 30
    assert_same_store(out, tmp_path / "ref.h5")


def test_fits_features_and_cutouts_from_fits(make_server, coordinates, write_catalog, fast, tmp_path) -> None:
    rows = coordinates(5)
    server = make_server()
    out = tmp_path / "f.h5"
    fetch_catalog(write_catalog(rows), out, base_url=server.url, from_fits=True, **fast)
    assert server.counts["jpeg"] == 0 and server.counts["fits"] == 5
    stored = contents(out)
    for k, (_, ra, dec) in enumerate(rows):
        bands = read_fits_cube(server.fits_bytes(ra, dec, size=160))
        np.testing.assert_array_equal(stored["images"][k], bands_to_cutout(bands, survey="des"))
        features, flag = measure_band_features(bands, survey="des")
        np.testing.assert_array_equal(stored["features"][k], features.astype(np.float32))
        assert stored["flags"][k] == flag
    # grz cutouts: the i-band features are NaN, the others measured.
    assert np.isnan(stored["features"][:, FEATURE_NAMES.index("g_i")]).all()
    assert np.isfinite(stored["features"][:, FEATURE_NAMES.index("mag_auto_r")]).all()


def test_predict_and_labels_on_a_fetched_store(
    make_server, coordinates, write_catalog, fast, tmp_path, one_torch_thread
) -> None:
    from deepshadows.models import create_model
    from deepshadows.models.io import save_model
    from deepshadows.predict import predict

    rows = [(*r, i % 2) for i, r in enumerate(coordinates(16))]
    server = make_server()
    out = tmp_path / "labelled.h5"
    fetch_catalog(
        write_catalog(rows, header="id,ra,dec,label"), out, base_url=server.url, label_column="label", **fast
    )
    with open_store(out) as store:
        np.testing.assert_array_equal(store.labels, [r[3] for r in rows])
        assert set(store.splits) == {"train", "val", "test"} and store.split_seed == 0
        assert list(store.kinds[:2]) == ["", "lsbg"]
    model_path = save_model(create_model("deepshadows-table1"), tmp_path / "m.safetensors", metadata={})
    predictions = predict(model_path, out, tmp_path / "pred.csv", precision="fp32", progress=False)
    assert predictions["n"] == 16
    with open(tmp_path / "pred.csv", newline="") as fh:
        assert [row["id"] for row in csv.DictReader(fh)] == [r[0] for r in rows]


@pytest.mark.parametrize(
    ("setup", "extra", "message"),
    [
        ("missing", [], r"nope\.csv: catalogue not found"),
        ("no_dec", [], r"cat\.csv: no dec column"),
        ("all_bad", [], r"cat\.csv: none of its 2 rows is valid; the reasons are in .*failures\.csv"),
        ("ok", ["--concurrency", "0"], r"--concurrency: must be an integer"),
        ("ok", ["--bands", "gri"], r"--bands"),
        ("exists", [], r"real\.h5: output exists; pass --overwrite"),
        ("ok", ["--id-column", "name"], r"no column 'name' \(--id-column\)"),
    ],
)
def test_bad_input_gives_one_clear_line(make_server, write_catalog, tmp_path, setup, extra, message) -> None:
    server = make_server()
    out = tmp_path / "real.h5"
    if setup == "missing":
        catalog = tmp_path / "nope.csv"
    elif setup == "no_dec":
        catalog = write_catalog([("a", 1.0)], header="id,ra")
    elif setup == "all_bad":
        catalog = write_catalog([("a", 400, 0), ("b", 1, "abc")])
    else:
        catalog = write_catalog([("a", 1.0, 2.0)])
    if setup == "exists":
        out.write_bytes(b"old")
    result = CliRunner().invoke(fetch_command, cli_args(catalog, out, server, *extra))
    assert result.exit_code == 1, result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, result.stderr
    assert re.search(message, errors[0]), errors[0]
    if setup == "exists":
        assert out.read_bytes() == b"old"


def test_dask_local_cluster_gives_the_same_store(
    make_server, coordinates, write_catalog, fast, tmp_path
) -> None:
    pytest.importorskip("distributed")
    rows = coordinates(12)
    catalog = write_catalog(rows)
    server = make_server(rate=0.2, max_faults_per_url=2, kinds=("500", "429", "truncate", "short", "reset"))
    common = {"base_url": server.url, "fits": True, "partition_size": 4, **fast}
    here = fetch_catalog(catalog, tmp_path / "here.h5", cache=tmp_path / "c1", **common)
    there = fetch_catalog(
        catalog, tmp_path / "there.h5", cache=tmp_path / "c2", scheduler="local:2", **common
    )
    assert here.n_stored == there.n_stored == 12
    assert_same_store(tmp_path / "here.h5", tmp_path / "there.h5")
