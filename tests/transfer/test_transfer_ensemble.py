"""Transfer of an ensemble: every member fine-tuned, the result an ensemble folder."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from tests.training.test_fit import write_store

from deepshadows.ensemble import (
    EnsembleModule,
    member_folder,
    read_ensemble_description,
    write_ensemble_description,
)
from deepshadows.errors import InputError
from deepshadows.evaluation.run import evaluate_run
from deepshadows.models import create_model, load_model, save_model
from deepshadows.predict import predict
from deepshadows.transfer import run_transfer

pytestmark = pytest.mark.usefixtures("one_torch_thread")
OPTIONS = {"n_finetune": 24, "n_test": 32, "epochs": 2, "batch_size": 8, "lr": 0.5, "n_boot": 20, "seed": 3}


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A two-member ensemble of untrained 16-pixel networks (members carry a stale calibration)."""
    root = tmp_path_factory.mktemp("des") / "ensemble"
    members = []
    for index in range(2):
        torch.manual_seed(index)
        model = create_model("deepshadows-table1", image_size=16)
        folder = member_folder(root, index)
        folder.mkdir(parents=True)
        meta = {"class_names": ["artifact", "lsbg"], "calibration": {"method": "temperature"}}
        save_model(model, folder / "model.safetensors", metadata=meta)
        sha = json.loads((folder / "model.json").read_text())["weights_sha256"]
        members.append({"path": f"members/{index}", "seed": index, "finished": True, "weights_sha256": sha})
    write_ensemble_description(root, {"members": members, "seeds": [0, 1], "config": {"seed": 0}})
    return root


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_store(tmp_path_factory.mktemp("hsc") / "hsc.h5", n=64, split=np.array(["test"] * 64))


@pytest.fixture(scope="module")
def transferred(
    source: Path, target: Path, tmp_path_factory: pytest.TempPathFactory, one_torch_thread: None
) -> tuple[Path, dict]:
    """The source transferred with one torch thread, as the rerun of the last test."""
    out = tmp_path_factory.mktemp("runs") / "hsc"
    return out, run_transfer(source, target, out, precision="fp32", **OPTIONS)


def test_the_output_is_an_ensemble_of_fine_tuned_members(
    source: Path, transferred: tuple[Path, dict]
) -> None:
    out, result = transferred
    description = read_ensemble_description(out)
    assert [m["path"] for m in description["members"]] == ["members/0", "members/1"]
    assert description["seeds"] == [3, 4] and description["transfer"]["n_finetune"] == 24
    assert description["metrics"] == result["after"]["metrics"]
    tuned, meta = load_model(out)
    original, _ = load_model(source)
    assert isinstance(tuned, EnsembleModule) and meta["ensemble"]["seeds"] == [3, 4]
    for new, old in zip(tuned.members, original.members, strict=True):
        assert not torch.equal(new.blocks[0].conv.weight, old.blocks[0].conv.weight)
    for index in range(2):
        member = json.loads((out / "members" / str(index) / "model.json").read_text())
        assert member["transfer"]["seed"] == 3 + index and "calibration" not in member
        assert (out / "members" / str(index) / "finetune_history.csv").is_file()
    history = np.loadtxt(out / "finetune_history.csv", delimiter=",", skiprows=1)
    assert history.shape == (2, 3)  # the members' mean per epoch
    assert not (out / "calibration.json").exists()


def test_before_and_after_score_the_mean_probability(transferred: tuple[Path, dict]) -> None:
    out, result = transferred
    for stage in ("before", "after"):
        stored = json.loads((out / stage / "metrics.json").read_text())
        assert result[stage]["n"] == 32 and stored["uncertainty_rejection"][0]["kept"] == 32
        assert (out / stage / "rejection.csv").is_file()
    saved = json.loads((out / "transfer.json").read_text())
    assert saved["after"]["metrics"] == result["after"]["metrics"] and saved["curve"] == []
    assert (out / "roc_before_after.png").read_bytes()[:4] == b"\x89PNG"


def test_predict_and_evaluate_accept_the_output(
    transferred: tuple[Path, dict], target: Path, tmp_path: Path
) -> None:
    out, _ = transferred
    written = predict(out, target, tmp_path / "p.csv", progress=False, precision="fp32")
    assert written["probabilities"] == "uncalibrated"
    header = (tmp_path / "p.csv").read_text().splitlines()[0]
    assert header == "id,probability,label,uncertainty"
    evaluated = evaluate_run(out, target, split="test", out_dir=tmp_path / "eval", n_boot=10)
    assert evaluated["n"] == 64 and "uncertainty_rejection" in evaluated


def test_a_rerun_replaces_the_members_and_the_kinds_do_not_mix(
    source: Path, target: Path, transferred: tuple[Path, dict], tmp_path: Path
) -> None:
    out, _ = transferred
    (out / "calibration.json").write_text("{}")  # calibrated since: the rerun's members void it
    before, _ = load_model(out)
    run_transfer(source, target, out, precision="fp32", **OPTIONS)
    after, _ = load_model(out)  # the members written again, with the same weights
    for old, new in zip(before.state_dict().values(), after.state_dict().values(), strict=True):
        assert torch.equal(old, new)
    assert not (out / "calibration.json").exists()
    with pytest.raises(InputError, match="holds an ensemble"):
        run_transfer(member_folder(source, 0), target, out, precision="fp32", **OPTIONS)
    single = tmp_path / "single"
    run_transfer(member_folder(source, 0), target, single, precision="fp32", **OPTIONS)
    assert "calibration" not in json.loads((single / "model.json").read_text())
    with pytest.raises(InputError, match="holds one network"):
        run_transfer(source, target, single, precision="fp32", **OPTIONS)
    with pytest.raises(InputError, match="--curve: .* ensemble of 2"):
        run_transfer(source, target, tmp_path / "curve", curve=(8,), precision="fp32", **OPTIONS)
    assert not (tmp_path / "curve").exists()
