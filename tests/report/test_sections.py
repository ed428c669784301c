"""Recognising output folders and what each section reports."""

from __future__ import annotations

import json

import pytest

from deepshadows.errors import InputError
from deepshadows.report import Section, collect_sections


def by_path(sections: list[Section], root) -> dict[str, Section]:
    return {
        s.path.relative_to(root).as_posix(): s for top in sections for s in top.walk() if s.path is not None
    }


@pytest.fixture(scope="module")
def found(outputs) -> dict[str, Section]:
    return by_path(collect_sections([outputs]), outputs)


def test_every_kind_is_recognised(found):
    kinds = {path: s.kind for path, s in found.items()}
    assert kinds == {
        "runs/train": "training run",
        "runs/train/evaluation_test": "evaluation",
        "runs/train/explain": "explain",
        "runs/three/evaluation_test": "evaluation",
        "runs/baselines": "baselines",
        "runs/baselines/svm": "evaluation",
        "runs/baselines/rf": "evaluation",
        "runs/comparison": "comparison",
        "runs/transfer": "transfer",
        "runs/transfer/before": "evaluation",
        "runs/transfer/after": "evaluation",
        "runs/study": "study",
        "data/des_summary": "data set",
        "predictions.csv": "predictions",
        "misc": "figures",
    }
    for path, section in found.items():
        assert section.warnings == [], path


def test_sub_folders_nest_under_their_run(outputs, found):
    top = [s.path.relative_to(outputs).as_posix() for s in collect_sections([outputs])]
    # Sub-folders by name (an unrecognised folder passes its children up), then loose files.
    assert top == [
        "data/des_summary",
        "misc",
        "runs/baselines",
        "runs/comparison",
        "runs/study",
        "runs/three/evaluation_test",
        "runs/train",
        "runs/transfer",
        "predictions.csv",
    ]
    assert [c.path.name for c in found["runs/train"].children] == ["evaluation_test", "explain"]
    # A transfer shows the evaluation before fine-tuning first.
    assert [c.path.name for c in found["runs/transfer"].children] == ["before", "after"]
    assert [c.path.name for c in found["runs/baselines"].children] == ["rf", "svm"]


def test_training_run_reports_epochs_best_epoch_and_history(found):
    run = found["runs/train"]
    facts = dict(run.facts)
    assert facts["epochs completed"] == "3 of 5"
    assert facts["best epoch (lowest validation loss)"] == "2"
    assert facts["validation loss at best epoch"] == "0.4"
    assert facts["training time"] == "0 min 04 s"
    assert run.tables[0].caption == "Training configuration"
    assert ["lr", "0.1"] in run.tables[0].rows
    assert [f.title for f in run.figures] == ["training_history.png"]
    assert run.recorded["versions"]["deepshadows"] and run.configuration["train"]["epochs"] == 5


def test_history_figure_is_drawn_when_missing(tmp_path, make_training_run):
    run = make_training_run(tmp_path / "run", figure=False)
    (run / "model.json").unlink()  # the best epoch then comes from the lowest validation loss
    (section,) = collect_sections([run])
    assert dict(section.facts)["best epoch (lowest validation loss)"] == "2"
    (figure,) = section.figures
    assert figure.title == "history.csv" and figure.src.startswith("data:image/png;base64,")
    assert figure.width and figure.width > 300


def test_evaluation_table_holds_values_and_intervals(outputs, found):
    section = found["runs/train/evaluation_test"]
    metrics = json.loads((outputs / "runs/train/evaluation_test/metrics.json").read_text())
    table = section.tables[0]
    assert table.columns == ["metric", "value", "95 % interval"]
    acc = metrics["intervals"]["accuracy"]
    assert table.rows[0] == ["accuracy", f"{acc['value']:.3f}", f"[{acc['low']:.3f}, {acc['high']:.3f}]"]
    assert [r[0] for r in table.rows] == [
        "accuracy",
        "completeness",
        "purity",
        "AUC",
        "ECE (15 bins)",
        "Brier score",
        "log loss",
    ]
    counts = metrics["confusion"]["counts"]
    assert section.tables[1].rows[1][2].startswith(f"{counts[1][1]} (")
    assert [f.title for f in section.figures] == [
        "roc.png",
        "confusion.png",
        "probabilities.png",
        "reliability.png",
        "completeness_purity.png",
    ]


def test_three_class_evaluation_adds_its_tables(found):
    section = found["runs/three/evaluation_test"]
    captions = [t.caption for t in section.tables]
    assert captions[0] == "lsbg vs rest (type2 + type1)"
    assert captions[2].startswith("3 classes, arg-max prediction: accuracy ")
    assert captions[3] == "3-class confusion matrix"
    assert [r[0] for r in section.tables[2].rows] == ["type2", "lsbg", "type1"]
    assert len(section.tables[3].rows) == 3 and len(section.tables[3].columns) == 4
    assert "confusion_binary.png" in [f.title for f in section.figures]
    assert any("LSBG-versus-rest view" in note for note in section.notes)


def test_baselines_comparison_and_transfer_tables(found):
    baselines = found["runs/baselines"]
    summary = baselines.tables[-1]
    assert [r[0] for r in summary.rows] == ["SVM", "random forest"]
    assert dict(found["runs/baselines/svm"].facts)["features"] == "2: g_r, mu_eff_g"
    comparison = found["runs/comparison"].tables[0]
    assert comparison.columns[:7] == [
        "model",
        "architecture",
        "members",
        "parameters",
        "calibration",
        "n",
        "accuracy",
    ]
    # A run whose weights are gone still names its architecture; the baselines have no calibration.
    assert [r[1:5] for r in comparison.rows] == [
        ["deepshadows-table1", "1", "–", "–"],
        ["svm", "1", "–", "–"],
        ["random-forest", "1", "–", "–"],
    ]
    transfer = found["runs/transfer"]
    assert transfer.tables[0].columns == [
        "metric",
        "before fine-tuning [interval]",
        "after fine-tuning [interval]",
    ]
    assert transfer.tables[1].rows == [
        ["40", "whole", "0.800 [0.750, 0.850]"],
        ["80", "whole", "0.800 [0.750, 0.850]"],
    ]
    titles = [f.title for f in transfer.figures]
    assert titles == ["roc_before_after.png", "finetune_history.csv"]


def test_study_collapses_its_runs(outputs, found):
    study = found["runs/study"]
    assert not any(path.startswith("runs/study/") for path in found)
    assert dict(study.facts) == {"study": "bootstrap-train", "store": "data/des.h5", "runs": "4 (3 finished)"}
    assert any("not listed one by one" in note for note in study.notes)
    config, results, intervals = study.tables
    assert ["params.n_models", "3"] in config.rows and ["train.epochs", "3"] in config.rows
    assert results.columns[:5] == ["model", "run", "resample", "epochs", "n"]
    assert results.columns[5:] == [f"{m} [interval]" for m in ("accuracy", "completeness", "purity", "auc")]
    metrics = json.loads((outputs / "runs/study/runs/boot-001/evaluation_test/metrics.json").read_text())
    auc = metrics["intervals"]["auc"]
    assert results.rows[1][0] == "boot-001"
    assert results.rows[1][-1] == f"{auc['value']:.3f} [{auc['low']:.3f}, {auc['high']:.3f}]"
    assert intervals.rows == [["accuracy", "0.900", "[0.880, 0.920]", "[0.870, 0.910]", "0.028"]]
    assert [f.title for f in study.figures] == ["roc_curves.png", "intervals.png"]
    assert study.configuration["jobs"] == 2 and study.recorded["versions"]


def test_data_summary_explain_and_predictions(found):
    summary = found["data/des_summary"]
    counts, subclasses, calibration = summary.tables
    assert counts.rows[0] == ["train", "60", "60", "120"]
    assert subclasses.rows[1] == ["B", "type 2", "Galactic cirrus", "30"]
    assert calibration.flagged == [False, True]
    assert calibration.rows[1][3:6] == ["0.018 [0.009, 0.033]", "0.043", "[0.030, 0.056]"]
    assert [f.title for f in summary.figures] == ["contact_sheet.png", "calibration.png"]
    explain = found["runs/train/explain"]
    assert explain.tables[0].rows[0] == ["true positives", "7", "2"]
    assert len(explain.figures) == 2
    predictions = dict(found["predictions.csv"].facts)
    assert predictions["rows"] == "4" and predictions["fraction predicted LSBG"] == "0.500 (2 of 4)"


def test_unclaimed_images_are_not_dropped(copy_of, outputs, make_png):
    folder = copy_of(outputs / "runs" / "train")
    make_png(folder / "evaluation_test" / "extra_look.png")
    make_png(folder / "evaluation_test" / "deeper" / "inner.png")
    (section,) = collect_sections([folder])
    evaluation = section.children[0]
    assert evaluation.figures[-1].title == "extra_look.png"
    (inner,) = evaluation.children
    assert inner.kind == "figures" and inner.title == "Figures: train/evaluation_test/deeper"


def test_corrupt_json_becomes_a_warning(copy_of, outputs):
    folder = copy_of(outputs / "runs" / "train")
    (folder / "config.json").write_text('{"train": {"epochs": 5,')
    (folder / "evaluation_test" / "metrics.json").write_text("[1, 2]")
    (folder / "evaluation_test" / "roc.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    (section,) = collect_sections([folder])
    assert len(section.warnings) == 1 and section.warnings[0].startswith("config.json: not valid JSON")
    assert dict(section.facts)["epochs completed"] == "3 of 5"  # from model.json
    evaluation = section.children[0]
    assert evaluation.warnings[0] == "metrics.json: expected a JSON object, found list"
    assert evaluation.warnings[1].startswith("roc.png: not a readable image")
    assert evaluation.tables[0].caption == "Metrics (from metrics.csv)"
    assert "roc.png" not in [f.title for f in evaluation.figures]


def test_unexpected_content_is_a_warning_not_a_crash(tmp_path):
    (tmp_path / "study.json").write_text(json.dumps({"kind": "splits", "config": {"a": 1}}))
    (tmp_path / "results.csv").write_text("name,accuracy\nrun-0,0.9,extra\n")
    (section,) = collect_sections([tmp_path])
    assert section.kind == "study"
    assert section.warnings == ["results.csv: rows with a different number of columns than the header"]


def test_missing_path_raises_input_error(tmp_path, outputs):
    missing = tmp_path / "no-such-run"
    with pytest.raises(InputError, match="no-such-run: no such file or folder"):
        collect_sections([outputs, missing])
    with pytest.raises(InputError, match="at least one"):
        collect_sections([])


def test_a_path_without_anything_known_says_so(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    (section,) = collect_sections([tmp_path])
    assert section.kind == "unrecognised" and "nothing recognised" in section.warnings[0]


def test_a_path_given_twice_is_reported_once(outputs):
    sections = collect_sections([outputs / "runs" / "train", outputs / "runs", outputs / "runs" / "train"])
    paths = [s.path for top in sections for s in top.walk()]
    assert len(paths) == len(set(paths))
    assert sections[0].path == outputs / "runs" / "train"


def test_files_given_directly(tmp_path, make_png):
    image = make_png(tmp_path / "look.png")
    three = tmp_path / "three.csv"
    three.write_text("id,prob_type2,prob_lsbg,prob_type1,label\na,0.1,0.8,0.1,1\nb,0.7,0.2,0.1,0\n")
    other = tmp_path / "store.h5"
    other.write_bytes(b"\x89HDF\r\n")
    figure, predictions, unknown = collect_sections([image, three, other])
    assert figure.kind == "figures" and figure.figures[0].title == "look.png"
    facts = dict(predictions.facts)
    assert facts["classes"] == "type2, lsbg, type1"
    assert facts["fraction predicted per class"] == "type2 0.500, lsbg 0.500, type1 0.000"
    assert facts["fraction predicted LSBG"] == "0.500 (1 of 2)" and facts["mean LSBG probability"] == "0.500"
    assert unknown.kind == "unrecognised"


def test_calibrated_predictions_are_recognised(tmp_path):
    calibrated = tmp_path / "calibrated.csv"
    calibrated.write_text(
        "id,probability,probability_uncalibrated,label,uncertainty\na,0.9,0.99,1,0.01\nb,0.3,0.1,0,0.2\n"
    )
    (section,) = collect_sections([calibrated])
    facts = dict(section.facts)
    assert section.kind == "predictions" and facts["probabilities"] == "calibrated"
    # The label's probability, not the uncalibrated one nor the ensemble's spread.
    assert facts["fraction predicted LSBG"] == "0.500 (1 of 2)" and facts["mean LSBG probability"] == "0.600"
    assert section.notes == []


def test_predictions_of_an_earlier_version_are_read_with_a_note(tmp_path):
    old = tmp_path / "old.csv"
    old.write_text("id,calibrated_probability,label\na,0.9,1\nb,0.3,0\n")
    (section,) = collect_sections([old])
    facts = dict(section.facts)
    assert section.kind == "predictions" and facts["probabilities"] == "calibrated"
    assert facts["fraction predicted LSBG"] == "0.500 (1 of 2)" and facts["mean LSBG probability"] == "0.600"
    assert section.notes == [
        "old.csv: column calibrated_probability (an earlier version's name) read as probability"
    ]
    three = tmp_path / "three.csv"
    three.write_text(
        "id,calibrated_prob_type2,calibrated_prob_lsbg,calibrated_prob_type1,label\na,0.1,0.8,0.1,1\n"
    )
    (section,) = collect_sections([three])
    assert dict(section.facts)["classes"] == "type2, lsbg, type1" and len(section.notes) == 1


def test_three_calibrated_classes_use_the_calibrated_columns(tmp_path):
    three = tmp_path / "three.csv"
    three.write_text(
        "id,ra,dec,prob_type2,prob_lsbg,prob_type1,"
        "prob_type2_uncalibrated,prob_lsbg_uncalibrated,prob_type1_uncalibrated,label\n"
        "a,1.0,2.0,0.1,0.7,0.2,0.3,0.3,0.4,1\n"
    )
    (section,) = collect_sections([three])
    facts = dict(section.facts)
    assert facts["classes"] == "type2, lsbg, type1" and facts["probabilities"] == "calibrated"
    assert facts["mean LSBG probability"] == "0.700"


def test_broken_predictions_file_warns(tmp_path):
    bad = tmp_path / "predictions.csv"
    bad.write_text("id,probability,label\na,0.2,0\nb,high,1\n")
    (section,) = collect_sections([bad])
    assert section.kind == "predictions" and section.warnings[0].startswith("predictions.csv: cannot be read")


def test_an_unfinished_study_is_noted_not_warned(copy_of, outputs):
    study = copy_of(outputs / "runs" / "study")
    (study / "results.csv").unlink()
    (section,) = collect_sections([study])
    assert section.warnings == []
    assert any(note.startswith("Unfinished: 3 of 4 runs are done") for note in section.notes)
    (study / "runs" / "boot-003" / "result.json").write_text("{}")
    (section,) = collect_sections([study])
    assert section.warnings == ["results.csv: missing"]
