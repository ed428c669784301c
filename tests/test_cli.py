"""The command line: help everywhere, the main flows, and clear errors for bad input."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from deepshadows.cli.main import main
from deepshadows.data import open_store


@pytest.mark.parametrize(
    "command",
    [
        [],
        ["simulate"],
        ["inspect"],
        ["import"],
        ["train"],
        ["evaluate"],
        ["calibrate"],
        ["predict"],
        ["demo"],
        ["report"],
        ["fetch"],
        ["study"],
        ["study", "splits"],
        ["study", "label-noise"],
        ["study", "bootstrap-train"],
    ],
)
def test_help_for_every_command(command, capsys):
    assert main([*command, "--help"]) == 0
    assert "Usage" in capsys.readouterr().out


def test_python_dash_m_runs_the_cli():
    result = subprocess.run(
        [sys.executable, "-m", "deepshadows", "--version"], capture_output=True, text=True
    )
    assert result.returncode == 0 and "deepshadows" in result.stdout


def test_simulate_then_inspect(tmp_path, capsys):
    out = tmp_path / "des.h5"
    assert (
        main(
            [
                "simulate",
                "--n",
                "8",
                "--seed",
                "1",
                "--out",
                str(out),
                "--workers",
                "1",
                "--max-attempts",
                "3",
                "--quiet",
            ]
        )
        == 0
    )
    printed = capsys.readouterr().out
    assert "8 cutouts" in printed and "calibration vs real des-dr1" in printed
    summary = tmp_path / "des_summary"
    for name in ("contact_sheet.png", "features.png", "calibration.png", "calibration.md", "summary.json"):
        assert (summary / name).stat().st_size > 0
    assert main(["inspect", str(out), "--out", str(tmp_path / "again")]) == 0
    assert (tmp_path / "again" / "contact_sheet.png").exists()


def test_existing_output_is_kept_without_overwrite(tmp_path, capsys):
    out = tmp_path / "des.h5"
    out.write_bytes(b"precious")
    assert main(["simulate", "--n", "4", "--out", str(out), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "--overwrite" in err and str(out) in err
    assert out.read_bytes() == b"precious"


@pytest.mark.parametrize(
    ("args", "culprit"),
    [
        (["--n", "0"], "--n"),
        (["--n", "-3"], "--n"),
        (["--type1-fraction", "2"], "--type1-fraction"),
        (["--workers", "0"], "--workers"),
    ],
)
def test_bad_simulate_values_give_one_clear_line(tmp_path, capsys, args, culprit):
    assert main(["simulate", "--out", str(tmp_path / "x.h5"), "--quiet", *args]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and culprit in err and len(err.splitlines()) == 1
    assert not (tmp_path / "x.h5").exists()


def test_unknown_survey_is_a_usage_error(tmp_path, capsys):
    assert main(["simulate", "--survey", "sdss", "--out", str(tmp_path / "x.h5")]) == 2
    assert "--survey" in capsys.readouterr().err


def test_unwritable_output_folder(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    assert main(["simulate", "--n", "2", "--out", str(blocker / "x.h5"), "--quiet"]) == 1
    assert str(blocker) in capsys.readouterr().err


@pytest.mark.parametrize("content", [b"", b"\x89HDF garbage" * 10, b"plain text\n"])
def test_inspect_of_a_corrupt_file_names_it(tmp_path, capsys, content):
    bad = tmp_path / "bad.h5"
    bad.write_bytes(content)
    assert main(["inspect", str(bad)]) == 1
    assert str(bad) in capsys.readouterr().err


def test_inspect_of_a_foreign_hdf5_file(tmp_path, capsys):
    import h5py

    foreign = tmp_path / "foreign.h5"
    with h5py.File(foreign, "w") as f:
        f["x"] = np.arange(3)
    assert main(["inspect", str(foreign)]) == 1
    assert str(foreign) in capsys.readouterr().err


def _write_folder(folder, n=6, size=64):
    folder.mkdir()
    rng = np.random.default_rng(0)
    rows = ["id,label"]
    for i in range(n):
        Image.fromarray(rng.integers(0, 255, (size, size, 3), dtype=np.uint8)).save(folder / f"obj{i}.png")
        rows.append(f"obj{i},{i % 2}")
    (folder / "labels.csv").write_text("\n".join(rows) + "\n")


def test_import_folder(tmp_path, capsys):
    _write_folder(tmp_path / "cutouts")
    out = tmp_path / "real.h5"
    assert (
        main(
            [
                "import",
                str(tmp_path / "cutouts"),
                "--labels",
                str(tmp_path / "cutouts" / "labels.csv"),
                "--out",
                str(out),
            ]
        )
        == 0
    )
    with open_store(out) as store:
        assert len(store) == 6 and sorted(store.labels.tolist()) == [0, 0, 0, 1, 1, 1]


def test_import_rejects_non_images_and_wrong_sizes(tmp_path, capsys):
    _write_folder(tmp_path / "a")
    (tmp_path / "a" / "notes.txt").write_text("hello")
    # without a labels CSV every visible file is a row: notes.txt is listed as a failure
    assert main(["import", str(tmp_path / "a"), "--out", str(tmp_path / "a.h5")]) == 3
    assert "6 rows; 2 failed" in capsys.readouterr().out  # labels.csv and notes.txt
    assert 'notes.txt,"not a JPEG or PNG image' in (tmp_path / "a.h5.failures.csv").read_text()
    # with one, its rows are the rows: files it does not name are not imported
    args = ["import", str(tmp_path / "a"), "--labels", str(tmp_path / "a" / "labels.csv")]
    assert main([*args, "--out", str(tmp_path / "a2.h5")]) == 0
    (tmp_path / "a" / "labels.csv").write_text((tmp_path / "a" / "labels.csv").read_text() + "notes,1\n")
    assert main([*args, "--out", str(tmp_path / "a3.h5"), "--strict"]) == 1
    assert "no image for id 'notes' (looked for notes.jpg" in capsys.readouterr().err

    _write_folder(tmp_path / "b", size=256)
    args = ["import", str(tmp_path / "b"), "--labels", str(tmp_path / "b" / "labels.csv"), "--out"]
    assert main([*args, str(tmp_path / "b.h5")]) == 1
    assert "256" in capsys.readouterr().err and not (tmp_path / "b.h5").exists()
    assert main([*args, str(tmp_path / "b.h5"), "--resize", "bicubic"]) == 0


def test_killed_simulate_resumes_to_the_uninterrupted_result(tmp_path):
    """A real SIGKILL in the middle of ``simulate``, then ``--resume``: nothing lost or repeated."""
    import signal
    import time

    import h5py

    args = ["--n", "60", "--seed", "4", "--workers", "2", "--max-attempts", "3", "--no-summary", "--quiet"]
    assert main(["simulate", *args, "--out", str(tmp_path / "ref.h5")]) == 0

    out = tmp_path / "out.h5"
    cmd = [sys.executable, "-m", "deepshadows", "simulate", *args, "--out", str(out)]
    proc = subprocess.Popen(cmd, start_new_session=True)
    partial = tmp_path / "out.h5.partial"
    deadline = time.monotonic() + 120
    written = 0
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            with h5py.File(partial, "r", locking=False) as f:
                written = int(f.attrs["n_written"])
        except (OSError, KeyError):
            written = 0
        if written >= 8:
            break
        time.sleep(0.05)
    import os

    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    if out.exists():
        pytest.skip("the run finished before it could be killed")
    assert 8 <= written <= 60

    assert main(["simulate", *args, "--out", str(out), "--resume"]) == 0
    with h5py.File(tmp_path / "ref.h5", "r") as ref, h5py.File(out, "r") as new:
        for key in ("images", "label", "kind", "subclass", "split", "features", "truth"):
            assert ref[key][()].tobytes() == new[key][()].tobytes(), key
        assert list(ref["id"][()]) == list(new["id"][()])


def test_demo_runs_end_to_end_and_writes_the_report(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out), "--n", "96", "--epochs", "1", "--workers", "1"]) == 0
    text = capsys.readouterr().out
    assert "deepshadows-table1" in text and "SVM" in text
    report = (out / "report.html").read_text(encoding="utf-8")
    assert report.count("<img") >= 8
    for folder in ("run/evaluation_test", "baselines/svm", "comparison", "run/explain"):
        assert (out / folder).is_dir(), folder
