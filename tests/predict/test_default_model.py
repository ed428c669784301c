"""Without a model, predict classifies a store with the released model made for its imaging."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from deepshadows.cli.main import main
from deepshadows.data import StoreWriter
from deepshadows.released import DEFAULT_MODEL, model_for_survey


def _store(path: Path, survey: str | None, n: int = 8) -> Path:
    config = {"survey": survey} if survey else {"test": True}
    images = np.random.default_rng(0).integers(0, 256, size=(n, 64, 64, 3), dtype=np.uint8)
    settings = {"feature_dtype": None, "truth_dtype": None, "image_shape": (64, 64, 3)}
    with StoreWriter(path, n_total=n, attrs={"config": config}, **settings) as writer:
        writer.append(
            {
                "images": images,
                "label": np.full(n, -1),
                "kind": np.full(n, ""),
                "subclass": np.full(n, ""),
                "id": np.asarray([f"o{i}" for i in range(n)], dtype=object),
            }
        )
        return writer.finalize(np.full(n, ""), split_fractions=None, split_seed=None)


@pytest.mark.parametrize(
    ("survey", "model"),
    [("des", "des"), ("hsc", "hsc"), ("ls-dr9", "ls-dr10"), ("ls-dr10", "ls-dr10"), (None, "des")],
)
def test_model_for_survey(survey: str | None, model: str) -> None:
    assert model_for_survey(survey) == model
    assert model_for_survey({"name": survey} if survey else None) == model


def test_unknown_survey_falls_back_to_the_default() -> None:
    assert model_for_survey("euclid") == DEFAULT_MODEL


@pytest.mark.parametrize(("survey", "model"), [("ls-dr9", "ls-dr10"), (None, "des")])
def test_predict_without_a_model_uses_the_store_survey(
    tmp_path: Path, survey: str | None, model: str
) -> None:
    store = _store(tmp_path / "cutouts.h5", survey)

    def run(*model_args: str) -> str:
        out = tmp_path / f"pred-{'-'.join(model_args) or 'default'}.csv"
        assert main(["predict", *model_args, str(store), "--out", str(out), "--quiet"]) == 0
        with out.open(newline="") as handle:
            assert len(list(csv.DictReader(handle))) == 8
        return out.read_text()

    default = run()
    assert default == run(model)
    if model != "des":  # the store's own model, not the simulation-only one
        assert default != run("ls-dr10-sim")


def test_model_for_input_from_the_api(tmp_path: Path) -> None:
    from deepshadows.predict.loading import model_for_input

    assert model_for_input(_store(tmp_path / "ls.h5", "ls-dr9")) == ("ls-dr10", "ls-dr9")
    assert model_for_input(_store(tmp_path / "plain.h5", None)) == ("des", None)
    assert model_for_input(tmp_path) == ("des", None)


def test_a_store_merged_from_several_surveys_gets_the_default_model(tmp_path: Path) -> None:
    from deepshadows.data import merge_stores
    from deepshadows.predict.loading import model_for_input

    merged = merge_stores(
        [_store(tmp_path / "des.h5", "des"), _store(tmp_path / "ls.h5", "ls-dr10")],
        tmp_path / "both.h5",
        progress=False,
    )
    assert model_for_input(merged) == (DEFAULT_MODEL, "des+ls-dr10")
