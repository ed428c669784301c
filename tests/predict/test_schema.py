"""One schema for prediction tables: the same columns for every model, as the README documents.

``probability`` (``prob_<class>``) is what the label is based on; a calibrated table adds the
model's own values as ``probability_uncalibrated`` (``prob_<class>_uncalibrated``) and names
the calibration in ``PROBCAL``. Tables of earlier versions (``calibrated_probability``) are
still read, by ``--resume`` and the report.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from astropy.table import Table
from PIL import Image
from torch import nn

from deepshadows._io import partial_path
from deepshadows.calibration import calibration_to_dict, fit_calibration
from deepshadows.errors import InputError
from deepshadows.models import sidecar_path
from deepshadows.predict import loading as loading_module
from deepshadows.predict import logits_to_probabilities, predict
from deepshadows.released import RELEASED_MODELS, released_model_path

pytestmark = pytest.mark.usefixtures("one_torch_thread")

README = Path(__file__).resolve().parents[2] / "README.md"
#: The documented schema of a binary model's table, without and with a calibration.
BINARY = ["id", "probability", "label"]
BINARY_CALIBRATED = ["id", "probability", "probability_uncalibrated", "label"]
CLASSES = ["type2", "lsbg", "type1"]


def header_of(path: Path) -> list[str]:
    with path.open(newline="", encoding="utf-8") as fh:
        return next(csv.reader(fh))


def rows_of(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def cutouts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("cutouts")
    rng = np.random.default_rng(5)
    for i in range(4):
        image = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
        image[16:48, 16:48] //= 4 if i % 2 else 1  # not all alike
        Image.fromarray(image).save(folder / f"c{i}.png")
    return folder


def read_table(path: Path) -> Table:
    """Read an output with astropy; Parquet through pyarrow (astropy's reader needs pandas).

    A VOTable's keywords are ``INFO`` elements of its resource.
    """
    if path.suffix == ".vot":
        from astropy.io.votable import parse

        table = Table.read(path)
        table.meta.update({info.name: info.value for info in parse(path).resources[0].infos})
        return table
    if path.suffix != ".parquet":
        return Table.read(path)
    import pyarrow.parquet as pq
    from astropy.table import meta as table_yaml

    data = pq.read_table(path)
    header = table_yaml.get_header_from_yaml(data.schema.metadata[b"table_meta_yaml"].decode().split("\n"))
    return Table({name: data[name].to_numpy() for name in data.column_names}, meta=header.get("meta", {}))


def readme_columns() -> list[str]:
    """Return the column names of the README's table of prediction columns, in order."""
    text = README.read_text(encoding="utf-8")
    start = text.index("| column | when present | meaning |")
    names = []
    for line in text[start:].splitlines()[2:]:
        if not line.startswith("|"):
            break
        names += re.findall(r"`([^`]+)`", line.split("|")[1])
    return names


# -- released models -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", RELEASED_MODELS)
def test_released_models_write_the_documented_columns(name: str, cutouts: Path, tmp_path: Path) -> None:
    sidecar = json.loads(sidecar_path(released_model_path(name)).read_text())
    calibrated = "calibration" in sidecar
    out = tmp_path / f"{name}.csv"
    result = predict(name, cutouts, out, progress=False, precision="fp32")
    assert header_of(out) == (BINARY_CALIBRATED if calibrated else BINARY)
    assert result["probabilities"] == ("calibrated" if calibrated else "uncalibrated")
    rows = rows_of(out)
    assert [r["id"] for r in rows] == ["c0", "c1", "c2", "c3"]
    assert all(int(r["label"]) == int(float(r["probability"]) > result["threshold"]) for r in rows)
    if calibrated:
        raw = tmp_path / f"{name}-raw.csv"
        predict(name, cutouts, raw, progress=False, precision="fp32", calibrated=False)
        assert header_of(raw) == BINARY
        # The uncalibrated column is what --uncalibrated writes as probability.
        assert [r["probability_uncalibrated"] for r in rows] == [r["probability"] for r in rows_of(raw)]
        assert [r["probability"] for r in rows] != [r["probability"] for r in rows_of(raw)]


@pytest.mark.parametrize("fmt", ["fits", "parquet", "ecsv", "vot"])
def test_every_format_has_the_columns_and_names_the_calibration(
    fmt: str, cutouts: Path, tmp_path: Path
) -> None:
    if fmt == "parquet":
        pytest.importorskip("pyarrow")
    calibrated = predict("des-sim", cutouts, tmp_path / f"c.{fmt}", progress=False, precision="fp32")
    plain = predict("des", cutouts, tmp_path / f"u.{fmt}", progress=False, precision="fp32")
    table, raw = read_table(calibrated["out"]), read_table(plain["out"])
    assert table.colnames == BINARY_CALIBRATED and raw.colnames == BINARY
    assert table.meta["PROBCAL"] == "temperature" and raw.meta["PROBCAL"] == "none"
    reference = rows_of(
        predict("des-sim", cutouts, tmp_path / "c.csv", progress=False, precision="fp32")["out"]
    )
    np.testing.assert_allclose(
        table["probability_uncalibrated"],
        [float(r["probability_uncalibrated"]) for r in reference],
        rtol=1e-6,
    )


def test_the_readme_documents_every_column_written(cutouts: Path, tmp_path: Path) -> None:
    documented = readme_columns()
    assert documented[:2] == ["id", "ra"]
    written = set(BINARY_CALIBRATED) | {"dec", "uncertainty", "prob_<class>", "prob_<class>_uncalibrated"}
    assert written <= set(documented)
    # In the order the columns are written.
    order = [c for c in documented if c in written]
    assert order.index("probability") < order.index("probability_uncalibrated") < order.index("label")
    assert order.index("label") < order.index("uncertainty")


# -- ONNX ----------------------------------------------------------------------------------------


def test_onnx_exports_write_the_documented_columns(tmp_path: Path, cutouts: Path) -> None:
    pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnxscript")
    from deepshadows.calibration import calibration_path, write_calibration
    from deepshadows.export import export_onnx
    from deepshadows.models import create_model, save_model

    torch.manual_seed(2)
    folder = tmp_path / "run"
    folder.mkdir()
    weights = save_model(
        create_model("deepshadows-table1", num_classes=1), folder / "model.safetensors", metadata={}
    )
    plain = export_onnx(folder, tmp_path / "plain.onnx", check=False)
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 200)
    sha = json.loads(sidecar_path(weights).read_text())["weights_sha256"]
    write_calibration(
        fit_calibration(rng.normal(0, 3, 200) + 2 * labels, labels, weights_sha256=sha),
        calibration_path(folder),
    )
    calibrated = export_onnx(folder, tmp_path / "calibrated.onnx", check=False)
    assert header_of(predict(plain, cutouts, tmp_path / "p.csv", progress=False)["out"]) == BINARY
    result = predict(calibrated, cutouts, tmp_path / "c.fits", progress=False)
    table = Table.read(result["out"])
    assert table.colnames == BINARY_CALIBRATED and table.meta["PROBCAL"] == "temperature"
    raw = Table.read(
        predict(calibrated, cutouts, tmp_path / "r.fits", progress=False, calibrated=False)["out"]
    )
    assert raw.colnames == BINARY and raw.meta["PROBCAL"] == "none"
    np.testing.assert_array_equal(table["probability_uncalibrated"], raw["probability"])


# -- models of K classes, with a calibration -----------------------------------------------------


class ThreeClassNet(nn.Module):
    """Three logits from the mean of each colour channel."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return 8 * (x.mean(dim=(2, 3)) - 0.5)


def use_three_classes(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    rng = np.random.default_rng(1)
    targets = rng.integers(0, 3, 300)
    logits = rng.normal(0, 2, (300, 3)) + 3 * np.eye(3)[targets]
    meta = {
        "num_classes": 3,
        "class_names": CLASSES,
        "model_kwargs": {},
        "calibration": calibration_to_dict(fit_calibration(logits, targets)),
    }
    monkeypatch.setattr(loading_module, "_load_model", lambda path, device: (ThreeClassNet(), meta))
    return meta


def test_three_classes_calibrated(monkeypatch: pytest.MonkeyPatch, cutouts: Path, tmp_path: Path) -> None:
    use_three_classes(monkeypatch)
    out = tmp_path / "three.csv"
    predict("model.pt", cutouts, out, progress=False, precision="fp32")
    probs = [f"prob_{c}" for c in CLASSES]
    assert header_of(out) == ["id", *probs, *(f"{p}_uncalibrated" for p in probs), "label"]
    rows = rows_of(out)
    calibrated = np.array([[float(r[p]) for p in probs] for r in rows])
    raw = np.array([[float(r[f"{p}_uncalibrated"]) for p in probs] for r in rows])
    np.testing.assert_allclose(calibrated.sum(1), 1, rtol=1e-6)
    np.testing.assert_allclose(raw.sum(1), 1, rtol=1e-6)
    assert not np.allclose(calibrated, raw)
    assert [int(r["label"]) for r in rows] == calibrated.argmax(1).tolist()
    images = np.stack([np.asarray(Image.open(cutouts / f"c{i}.png")) for i in range(4)])
    expected = logits_to_probabilities(8 * (images.astype(np.float32).mean(axis=(1, 2)) / 255 - 0.5))
    np.testing.assert_allclose(raw, expected, rtol=1e-5)
    predict("model.pt", cutouts, out, progress=False, precision="fp32", calibrated=False, overwrite=True)
    assert header_of(out) == ["id", *probs, "label"]


# -- tables written by earlier versions ----------------------------------------------------------


def test_resume_continues_a_partial_of_an_earlier_version(cutouts: Path, tmp_path: Path) -> None:
    full = tmp_path / "full.csv"
    predict("des-sim", cutouts, full, progress=False, precision="fp32")
    lines = full.read_text().splitlines()
    # As an earlier version left it: calibrated values under calibrated_probability, two rows done.
    old = ["id,calibrated_probability,label"] + [
        ",".join(r.split(",")[i] for i in (0, 1, 3)) for r in lines[1:3]
    ]
    out = tmp_path / "old.csv"
    partial_path(out).write_text("\n".join(old) + "\n")
    notes: list[str] = []
    result = predict("des-sim", cutouts, out, progress=False, precision="fp32", resume=True, log=notes.append)
    assert result["resumed_from"] == 2
    said = "has column calibrated_probability (an earlier version's name), read as probability"
    assert notes[-1] == f"note: {partial_path(out)} {said}"
    assert notes[-1] in result["notes"]
    # The output keeps the earlier layout under today's names: no uncalibrated column.
    assert out.read_text().splitlines() == ["id,probability,label"] + [
        ",".join(r.split(",")[i] for i in (0, 1, 3)) for r in lines[1:]
    ]


def test_resume_reopens_a_finished_fits_table_of_an_earlier_version(cutouts: Path, tmp_path: Path) -> None:
    out = tmp_path / "old.fits"
    predict("des-sim", cutouts, out, progress=False, precision="fp32")
    table = Table.read(out)
    del table["probability_uncalibrated"]
    table.rename_column("probability", "calibrated_probability")
    table.write(out, overwrite=True)
    notes: list[str] = []
    result = predict("des-sim", cutouts, out, progress=False, precision="fp32", resume=True, log=notes.append)
    assert result["resumed_from"] == 4 and any("read as probability" in n for n in notes)
    again = Table.read(out)
    assert again.colnames == BINARY
    np.testing.assert_array_equal(again["probability"], table["calibrated_probability"])


def test_resume_still_refuses_other_columns(cutouts: Path, tmp_path: Path) -> None:
    out = tmp_path / "other.csv"
    # An uncalibrated partial cannot be continued with calibrated values, under any name.
    partial_path(out).write_text("id,probability,label\nc0,0.5,0\n")
    with pytest.raises(InputError, match="differ from this model's"):
        predict("des-sim", cutouts, out, progress=False, resume=True)
