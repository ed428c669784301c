"""The models released with the package: present, loadable by name, used by predict by default."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from deepshadows.cli.main import main
from deepshadows.errors import InputError
from deepshadows.export import export_half
from deepshadows.models import create_model, load_model, save_model
from deepshadows.released import RELEASED_MODELS, model_card, released_model_path, resolve_model_path


@pytest.mark.parametrize("name", RELEASED_MODELS)
def test_released_models_load_by_name_as_float32(name: str) -> None:
    path = released_model_path(name)
    assert path.stat().st_size < 4_000_000  # float16: about 1.8 MB
    model, meta = load_model(name)
    assert meta["stored_dtype"] == "float16" and meta["architecture"] == "compact-resnet"
    assert all(p.dtype == torch.float32 for p in model.parameters())
    assert sum(p.numel() for p in model.parameters()) == 906_489
    assert "/" not in meta["store"]["path"]  # no local paths shipped


def test_model_card_states_data_protocol_metrics_and_limits() -> None:
    card = model_card()
    for words in ("## Data", "## Training protocol", "## Metrics", "## Known limits", "simulations"):
        assert words in card


def test_names_resolve_unless_a_path_exists(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert resolve_model_path("des") == released_model_path("des")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "des").mkdir()
    assert resolve_model_path("des") == Path("des")
    assert resolve_model_path("runs/x") == Path("runs/x")
    with pytest.raises(InputError, match="released: des, hsc, ls-dr10"):
        released_model_path("euclid")


def test_half_export_round_trip(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = create_model("deepshadows-table1", image_size=32).eval()
    original = save_model(
        model, tmp_path / "full.safetensors", metadata={"store": {"path": str(tmp_path / "d.h5")}}
    )
    half = export_half(original, tmp_path / "half.safetensors", portable=True)
    assert half.stat().st_size < 0.6 * original.stat().st_size
    restored, meta = load_model(half)
    assert meta["store"]["path"] == "d.h5"
    x = torch.rand(4, 3, 32, 32)
    with torch.no_grad():
        np.testing.assert_allclose(restored(x).numpy(), model(x).numpy(), atol=2e-2)
    with pytest.raises(InputError, match="exists"):
        export_half(original, half)


def test_predict_without_a_model_uses_the_released_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = np.random.default_rng(0)
    folder = tmp_path / "cutouts"
    folder.mkdir()
    for i in range(3):
        Image.fromarray(rng.integers(20, 60, size=(64, 64, 3), dtype=np.uint8)).save(folder / f"c{i}.png")
    monkeypatch.chdir(tmp_path)
    assert main(["predict", "cutouts", "--quiet", "--precision", "fp32"]) == 0
    with open("predictions.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["id"] for r in rows] == ["c0", "c1", "c2"]
    assert (
        main(["predict", "cutouts", "--model", "hsc", "--out", "hsc.csv", "--quiet", "--precision", "fp32"])
        == 0
    )
    with open("hsc.csv", newline="") as fh:
        hsc = [float(r["probability"]) for r in csv.DictReader(fh)]  # hsc: fine-tuned, uncalibrated
    assert hsc != [float(r["probability"]) for r in rows]  # des: fine-tuned on real labels, uncalibrated
    assert main(["predict", "des", "cutouts", "--model", "hsc"]) == 2
    assert json.loads(Path(released_model_path("des").with_suffix(".json")).read_text())["threshold"] == 0.5
