"""Prediction over folders that hold unreadable files: the rest is classified, the rest listed."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from deepshadows._io import partial_path
from deepshadows.cli.main import main
from deepshadows.errors import InputError
from deepshadows.failures import failures_path, read_failures
from deepshadows.predict import predict
from deepshadows.predict import run as run_module
from deepshadows.predict.failed_rows import _resume_point

from .test_predict import FailingNet, TinyNet, direct, make_images, read_csv, use_model

GOOD = 12
BAD = {
    "g02x.png": "zero-byte",
    "g05x.png": "truncated",
    "g07x.jpg": "text",
    "g09x.png": "100x100",
}


@pytest.fixture
def model() -> TinyNet:
    return TinyNet().eval()


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """Twelve good 64 x 64 PNG cutouts, g00 .. g11, and four bad files among them."""
    images = make_images(GOOD + 1, seed=7)
    folder = tmp_path / "cutouts"
    folder.mkdir()
    for i in range(GOOD):
        Image.fromarray(images[i]).save(folder / f"g{i:02d}.png")
    (folder / "g02x.png").write_bytes(b"")
    whole = (folder / "g00.png").read_bytes()
    (folder / "g05x.png").write_bytes(whole[: len(whole) // 2])
    (folder / "g07x.jpg").write_text("this is not a JPEG\n")
    Image.fromarray(images[GOOD]).resize((100, 100)).save(folder / "g09x.png")
    return folder


def good_images(folder: Path) -> np.ndarray:
    return np.stack([np.asarray(Image.open(folder / f"g{i:02d}.png").convert("RGB")) for i in range(GOOD)])


def test_bad_files_are_listed_and_the_rest_classified(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, model: TinyNet, folder: Path
) -> None:
    use_model(monkeypatch, model)
    out = tmp_path / "p.csv"
    result = predict("model.pt", folder, out, batch_size=5, precision="fp32", progress=False)
    assert (result["n"], result["n_input"], result["failed"]) == (GOOD, GOOD + len(BAD), len(BAD))
    _, rows = read_csv(out)
    assert [r[0] for r in rows] == [f"g{i:02d}" for i in range(GOOD)]
    np.testing.assert_allclose([float(r[1]) for r in rows], direct(model, good_images(folder)), atol=1e-6)

    assert result["failures_path"] == failures_path(out)
    with open(failures_path(out), newline="", encoding="utf-8") as fh:
        listed = list(csv.DictReader(fh))
    assert list(listed[0]) == ["row", "id", "file", "reason"]
    assert [(r["id"], Path(r["file"]).name) for r in listed] == [(Path(n).stem, n) for n in sorted(BAD)]
    reasons = {Path(r["file"]).name: r["reason"] for r in listed}
    for name in ("g02x.png", "g05x.png", "g07x.jpg"):
        assert reasons[name].startswith("cannot be read as a JPEG or PNG image")
    assert reasons["g09x.png"].startswith("image is 100x100 pixels, expected 64x64; pass --resize")
    # Rows are numbered from 1 in file-name order.
    names = sorted(p.name for p in folder.iterdir())
    assert [int(r["row"]) for r in listed] == [names.index(n) + 1 for n in sorted(BAD)]
    assert not partial_path(failures_path(out)).exists()


def test_resize_accepts_the_large_image(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, model: TinyNet, folder: Path
) -> None:
    use_model(monkeypatch, model)
    result = predict(
        "model.pt", folder, tmp_path / "p.csv", resize="nearest", precision="fp32", progress=False
    )
    assert result["n"] == GOOD + 1 and result["failed"] == 3
    assert "g09x" not in {bad.ident for bad in result["failures"]}


def test_strict_stops_at_the_first_bad_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, model: TinyNet, folder: Path
) -> None:
    use_model(monkeypatch, model)
    out = tmp_path / "p.csv"
    with pytest.raises(InputError, match=r"g02x\.png: cannot be read as a JPEG or PNG image"):
        predict("model.pt", folder, out, precision="fp32", progress=False, strict=True)
    assert not out.exists() and not failures_path(out).exists()


def test_a_clean_run_removes_a_stale_failures_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, model: TinyNet, folder: Path
) -> None:
    use_model(monkeypatch, model)
    out = tmp_path / "p.csv"
    predict("model.pt", folder, out, precision="fp32", progress=False)
    for name in BAD:
        (folder / name).unlink()
    result = predict("model.pt", folder, out, overwrite=True, precision="fp32", progress=False)
    assert result["failed"] == 0 and result["failures_path"] is None
    assert not failures_path(out).exists()


def test_command_line_exit_statuses(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    model: TinyNet,
    folder: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    use_model(monkeypatch, model)
    out = tmp_path / "p.csv"
    args = ["predict", "model.pt", str(folder), "--out", str(out), "--quiet", "--precision", "fp32"]
    assert main(args) == 3
    captured = capsys.readouterr()
    assert f"wrote {GOOD} rows to {out}" in captured.out and "4 failed" in captured.out
    assert f"4 of {GOOD + len(BAD)} rows are not classified" in captured.err
    assert str(failures_path(out)) in captured.err
    assert main([*args, "--overwrite", "--strict"]) == 1
    assert "g02x.png: cannot be read" in capsys.readouterr().err


def test_resume_does_not_retry_failed_rows_unless_asked(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, model: TinyNet, folder: Path
) -> None:
    use_model(monkeypatch, model)
    full = tmp_path / "full.csv"
    predict("model.pt", folder, full, batch_size=3, precision="fp32", progress=False)

    # Killed after two blocks of three rows: one failure recorded, five rows written.
    out = tmp_path / "p.csv"
    monkeypatch.setattr(run_module, "_READ_ROWS", 1)
    use_model(monkeypatch, FailingNet(model, fail_on=3))
    with pytest.raises(KeyboardInterrupt):
        predict("model.pt", folder, out, batch_size=3, precision="fp32", progress=False)
    assert len(read_csv(partial_path(out))[1]) == 5
    assert [b.ident for b in read_failures(partial_path(failures_path(out)))] == ["g02x"]

    reads: list[str] = []
    original = run_module._BlockWriter.forward

    def counting(self, blocks):  # type: ignore[no-untyped-def]
        for ids, images, failures in blocks:
            reads.extend(ids)
            reads.extend(bad.ident for bad in failures)
            yield from original(self, [(ids, images, failures)])

    monkeypatch.setattr(run_module._BlockWriter, "forward", counting)
    use_model(monkeypatch, model)
    result = predict("model.pt", folder, out, batch_size=3, resume=True, precision="fp32", progress=False)
    assert result["resumed_from"] == 6 and result["failed"] == len(BAD)
    assert "g02x" not in reads
    assert out.read_bytes() == full.read_bytes()
    assert failures_path(out).read_bytes() == failures_path(full).read_bytes()

    # A finished output: --resume alone reads nothing again; --retry-failed appends what now reads.
    reads.clear()
    result = predict("model.pt", folder, out, resume=True, precision="fp32", progress=False)
    assert reads == [] and result["failed"] == len(BAD)
    Image.fromarray(make_images(1, seed=9)[0]).save(folder / "g05x.png")
    result = predict(
        "model.pt", folder, out, resume=True, retry_failed=True, precision="fp32", progress=False
    )
    assert sorted(reads) == sorted(Path(n).stem for n in BAD)
    assert result["failed"] == len(BAD) - 1 and result["n"] == GOOD + 1
    _, rows = read_csv(out)
    assert rows[-1][0] == "g05x" and len(rows) == GOOD + 1
    assert "g05x" not in {bad.ident for bad in read_failures(failures_path(out))}


@pytest.mark.parametrize(
    ("written", "failed", "expected"),
    [
        (0, [], (0, None, [])),
        (3, [], (3, 2, [])),
        (0, [1], (1, None, [1])),
        (2, [2, 5], (3, 2, [2])),
        (2, [2, 4], (4, 2, [2, 4])),
        (4, [1, 2, 7], (7, 5, [1, 2, 7])),
        (4, [1, 2, 9], (6, 5, [1, 2])),
    ],
)
def test_resume_point(written: int, failed: list[int], expected: tuple) -> None:
    from deepshadows.failures import FailedRow

    recorded = [FailedRow(r, f"x{r}", f"x{r}.png", "bad") for r in failed]
    at, overlap, kept = _resume_point(written, recorded)
    assert (at, overlap, [b.row for b in kept]) == expected
