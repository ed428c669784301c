"""Completeness runs from the API and the command line, on simulated fields and on FITS cutouts."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from astropy.table import Table

from deepshadows.cli.main import main
from deepshadows.completeness import CompletenessConfig, run_completeness
from deepshadows.errors import InputError

from .conftest import load_fault_server

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _read(path: Path) -> Table:
    table = Table.read(path, character_as_bytes=False, mask_invalid=False)
    return table


def _run(out: Path, **kwargs) -> dict:
    cfg = CompletenessConfig(**({"n": 6, "artifacts_per_subclass": 1, "seed": 2} | kwargs))
    return run_completeness("des", out, cfg, workers=1, progress=False)


def test_run_on_simulated_fields_writes_tables_figures_and_record(tmp_path: Path) -> None:
    result = _run(tmp_path / "c")
    out = Path(result["out_dir"])
    for name in ("completeness_map", "completeness_mu_eff", "contamination", "injections"):
        assert (out / f"{name}.csv").is_file() and (out / f"{name}.fits").is_file()
    for name in ("completeness_map", "completeness_marginals", "completeness_mu_by_size", "contamination"):
        assert (out / f"{name}.png").stat().st_size > 1000
    objects = _read(out / "injections.fits")
    assert list(np.unique(objects["kind"])) == ["lsbg", "type1", "type2"]
    assert len(objects) == 6 + 9
    assert len(set(objects["index"])) == len(objects)
    assert set(result["contamination"]) == {*"ABCDEFGHI", "type 2"}
    record = json.loads((out / "completeness.json").read_text())
    assert record["config"]["grid"] == ["mu_eff", "r_eff", "color"]
    assert record["provenance"]["versions"]["deepshadows"]
    assert set(record["mu_at_half"]) == {'3"', '6"', '10"'}
    with pytest.raises(InputError, match="already holds a completeness run"):
        _run(out)


def test_into_a_folder_of_fits_cutouts(tmp_path: Path, fits_folder) -> None:
    result = _run(tmp_path / "c", into=str(fits_folder(2)), artifacts_per_subclass=0)
    objects = _read(Path(result["out_dir"]) / "injections.fits")
    assert list(objects["kind"]) == ["lsbg"] * 6 + ["background"] * 2
    assert len(set(objects["index"])) == 8
    assert set(objects["background"][:6]) == {"sky00", "sky01"}
    assert np.isfinite(objects["passed_preselection"]).all()
    assert (objects["injected_flux_g"][:6] > 0).all()
    assert result["contamination"]["background"]["n"] == 2


def test_without_the_i_band_the_preselection_is_not_measured(tmp_path: Path, fits_folder) -> None:
    result = _run(tmp_path / "c", into=str(fits_folder(1, bands="grz")), artifacts_per_subclass=0, n=2)
    objects = _read(Path(result["out_dir"]) / "injections.fits")
    assert np.isnan(objects["passed_preselection"]).all()
    assert np.isfinite(objects["passed_classifier"]).all()


def test_into_a_store_fetched_with_fits(tmp_path: Path, fits_folder) -> None:
    from deepshadows.fetch import fetch_catalog

    server_module = load_fault_server()
    catalog = tmp_path / "cat.csv"
    catalog.write_text("id,ra,dec\na,10.0,-20.0\nb,10.1,-20.1\n")
    fast = {"timeout": 2.0, "retries": 2, "backoff": 0.005, "backoff_max": 0.02, "progress": False}
    with server_module.FaultServer(server_module.FaultPlan()) as server:
        fetch_catalog(catalog, tmp_path / "real.h5", base_url=server.url, fits=True, bands="griz", **fast)
    result = _run(tmp_path / "c", into=str(tmp_path / "real.h5"), artifacts_per_subclass=0, n=4)
    objects = _read(Path(result["out_dir"]) / "injections.fits")
    assert list(objects["background"]) == ["a", "b", "a", "b", "a", "b"]
    assert np.isfinite(objects["passed_preselection"]).all()
    with pytest.raises(InputError, match="holds des cutouts, not hsc"):
        _run(tmp_path / "h", into=str(tmp_path / "real.h5"), survey="hsc")
    with pytest.raises(InputError, match="does not exist"):
        _run(tmp_path / "x", into=str(tmp_path / "missing.h5"))


def test_command_line_on_hsc(tmp_path: Path, capsys) -> None:
    args = ["completeness", "hsc", "--survey", "hsc", "--out", str(tmp_path / "h"), "--n", "4"]
    status = main([*args, "--artifacts", "0", "--grid", "prior", "--workers", "1", "--quiet"])
    assert status == 0
    printed = capsys.readouterr().out
    assert "50 % completeness" in printed and 'R_eff 6"' in printed
    record = json.loads((tmp_path / "h" / "completeness.json").read_text())
    assert record["config"]["grid"] == [] and record["config"]["survey"] == "hsc"
    assert main(["completeness", "des", "--out", str(tmp_path / "e"), "--grid", "mu,size"]) == 1


def test_report_gains_a_completeness_section(tmp_path: Path) -> None:
    from deepshadows.report import build_report

    _run(tmp_path / "c", n=4)
    page = build_report([tmp_path / "c"])
    assert "Completeness" in page and "50 %" in page and "contamination" in page.lower()


@pytest.mark.slow
def test_results_do_not_depend_on_the_number_of_workers(tmp_path: Path) -> None:
    cfg = CompletenessConfig(n=24, artifacts_per_subclass=1, seed=4)
    one = run_completeness("des", tmp_path / "one", cfg, workers=1, progress=False)
    two = run_completeness("des", tmp_path / "two", cfg, workers=2, progress=False)
    a = _read(Path(one["out_dir"]) / "injections.fits")
    b = _read(Path(two["out_dir"]) / "injections.fits")
    assert np.array_equal(np.asarray(a["probability"]), np.asarray(b["probability"]))
