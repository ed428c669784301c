"""Trained models side by side: size, simulated test scores, calibration and CPU speed.

For each run folder (a single run or an ensemble of any registered architecture) prints the
trainable parameters (summed over an ensemble's members), the simulated test accuracy and AUC
with 95 % bootstrap intervals, the expected calibration error of the raw and of the calibrated
probabilities (``deepshadows evaluate`` with and without ``--uncalibrated``), and the training
and inference images per second on this CPU: training steps of a fresh network of the same
architecture and arguments (as ``deepshadows train`` runs them, with its default optimizer and
augmentation, precision ``auto``; an ensemble divides the rate by its members), and forward
passes of the trained model in batches of ``--batch-size`` (precision ``auto``), each timed on
a fixed synthetic batch, best of ``--repeats``. With ``--baselines DIR`` (the output folder of
``deepshadows baselines``) the SVM and random forest join the table with the scores of their
evaluations; with ``--realdev FILE`` every CNN is also scored on the real development set
(accuracy and AUC of its random and model-selected parts, as ``benchmarks/realdev.py``).

Usage: python benchmarks/models.py RUN... --data STORE [--baselines DIR] [--realdev FILE]
       [--label NAME=RUN ...] [--n-boot 1000] [--seed 0] [--threads N] [--steps 20]
       [--repeats 2] [--batch-size 128] [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import torch
from bench_predict import _timed
from bench_train import deepshadows_step, timed
from realdev import PARTS, cell, parse_labels

from deepshadows._device import resolve_precision
from deepshadows._io import make_output_dir, write_json_atomic
from deepshadows.errors import InputError
from deepshadows.evaluation.compare import find_evaluations
from deepshadows.evaluation.realdev import load_realdev, score_realdev, to_json
from deepshadows.evaluation.run import evaluate_run
from deepshadows.models import load_model
from deepshadows.predict import predict_logits

TRAIN_BATCH = 64
SIZE = 64


def parameters(model: torch.nn.Module) -> int:
    """Trainable parameters of a model (of all members of an ensemble)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def members_of(meta: dict) -> int:
    """Networks in a model: an ensemble's members, else 1."""
    return int((meta.get("ensemble") or {}).get("members", 1))


def scores(run: str, store: str, out: Path, n_boot: int, seed: int) -> dict[str, Any]:
    """Simulated test intervals of the raw and of the calibrated probabilities."""
    raw = evaluate_run(run, store, out_dir=out / "uncalibrated", n_boot=n_boot, seed=seed, calibrated=False)
    cal = evaluate_run(run, store, out_dir=out / "calibrated", n_boot=n_boot, seed=seed)
    return {
        "n": raw["n"],
        "accuracy": raw["intervals"]["accuracy"],
        "auc": raw["intervals"]["auc"],
        "ece": raw["intervals"].get("ece"),
        "ece_calibrated": cal["intervals"].get("ece"),
        "calibrated_with": cal["extra"]["probabilities"],
    }


def speeds(model: torch.nn.Module, meta: dict, args: argparse.Namespace) -> dict[str, float]:
    """Training and inference images per second on fixed synthetic cutouts."""
    rng = np.random.default_rng(0)
    kwargs = dict(meta["model_kwargs"])
    side, chans = int(kwargs.get("image_size", SIZE)), int(kwargs.get("in_chans", 3))
    images = rng.integers(0, 256, (TRAIN_BATCH * 4, side, side, chans), dtype=np.uint8)
    labels = rng.integers(0, 2, len(images)).astype(np.int8)
    if int(kwargs.get("num_classes", 1)) > 1:
        labels = rng.integers(0, int(kwargs["num_classes"]), len(images)).astype(np.int8)
    members = members_of(meta)
    precision = resolve_precision("auto", torch.device("cpu"))
    step = deepshadows_step(
        images, labels, TRAIN_BATCH, precision, augment=True,
        architecture=meta["architecture"], model_kwargs=kwargs,
    )  # fmt: skip
    rate = timed(step, TRAIN_BATCH)
    train = max(rate(args.steps) for _ in range(args.repeats)) / members
    batch = rng.integers(0, 256, (args.batch_size * 4, side, side, chans), dtype=np.uint8)

    def classify(x: np.ndarray) -> np.ndarray:
        return predict_logits(model, x, batch_size=args.batch_size, precision="auto")

    classify(batch[: args.batch_size])  # warm up
    infer = max(_timed(classify, batch)[0] for _ in range(args.repeats))
    return {"train_images_per_s": train, "inference_images_per_s": infer, "precision": precision}


def network_row(run: str, label: str, args: argparse.Namespace, out: Path, realdev: Any) -> dict[str, Any]:
    """Every number of one trained network or ensemble."""
    model, meta = load_model(run)
    row = {
        "label": label,
        "run": run,
        "architecture": meta["architecture"],
        "members": members_of(meta),
        "parameters": parameters(model),
        "simulated": scores(run, args.data, out / label, args.n_boot, args.seed),
        "speed": speeds(model, meta, args),
    }
    if realdev is not None:
        scored = score_realdev(run, realdev, n_boot=args.n_boot, seed=args.seed)
        row["realdev"] = {part: scored["groups"].get(part, {}).get("intervals", {}) for part in PARTS}
    return row


def baseline_rows(folder: str) -> list[dict[str, Any]]:
    """The SVM and random forest as ``deepshadows baselines`` evaluated them (no speeds)."""
    rows = []
    for evaluation in find_evaluations(folder, split="test"):
        metrics = json.loads((evaluation / "metrics.json").read_text(encoding="utf-8"))
        intervals = metrics.get("intervals", {})
        rows.append(
            {
                "label": str(metrics.get("name") or evaluation.name),
                "run": str(evaluation),
                "simulated": {
                    "n": metrics.get("n"),
                    "accuracy": intervals.get("accuracy"),
                    "auc": intervals.get("auc"),
                    "ece": intervals.get("ece"),
                    "ece_calibrated": None,
                },
            }
        )
    return rows


def table(rows: list[dict[str, Any]], with_realdev: bool) -> str:
    """The Markdown table of all rows."""
    head = ["model", "parameters", "sim. test accuracy", "sim. test AUC", "ECE", "ECE calibrated"]
    head += ["train images/s", "inference images/s"]
    if with_realdev:
        head += [f"real {part} {metric}" for part in PARTS for metric in ("accuracy", "AUC")]
    lines = ["| " + " | ".join(head) + " |", "|---" * len(head) + "|"]
    for row in rows:
        sim, speed = row["simulated"], row.get("speed")
        cells = [row["label"], f"{row['parameters']:,}" if "parameters" in row else "–"]
        cells += [cell(sim["accuracy"]), cell(sim["auc"]), cell(sim["ece"]), cell(sim["ece_calibrated"])]
        cells += (
            [f"{speed['train_images_per_s']:.0f}", f"{speed['inference_images_per_s']:.0f}"]
            if speed
            else ["–"] * 2
        )
        if with_realdev:
            real = row.get("realdev") or {}
            cells += [cell((real.get(p) or {}).get(m)) for p in PARTS for m in ("accuracy", "auc")]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="*", metavar="RUN", help="run or ensemble folder")
    parser.add_argument("--data", required=True, help="simulated store whose test split is scored")
    parser.add_argument("--baselines", default=None, help="output folder of `deepshadows baselines`")
    parser.add_argument("--realdev", default=None, help="real development set .npz")
    parser.add_argument("--label", action="append", default=[], metavar="NAME=RUN", help="row label of a run")
    parser.add_argument("--n-boot", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--steps", type=int, default=20, help="training steps per timing")
    parser.add_argument("--repeats", type=int, default=2, help="timings per model (best kept)")
    parser.add_argument("--batch-size", type=int, default=128, help="batch of the inference timing")
    parser.add_argument("--out", default=None, help="folder for models.md, models.json and the evaluations")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    try:
        labels = parse_labels(args.label, args.runs)
        realdev = load_realdev(args.realdev) if args.realdev else None
        with tempfile.TemporaryDirectory() as tmp:
            out = make_output_dir(args.out, parameter="--out") if args.out else Path(tmp)
            rows = [network_row(run, label, args, out, realdev) for run, label in labels.items()]
            rows += baseline_rows(args.baselines) if args.baselines else []
    except InputError as exc:
        sys.exit(f"error: {exc}")
    text = (
        f"# Models on {args.data} (test split; 95 % intervals from {args.n_boot} bootstrap resamples, "
        f"seed {args.seed}; speeds on {args.threads} CPU threads)\n\n" + table(rows, realdev is not None)
    )
    print(text, end="")
    if args.out:
        (out / "models.md").write_text(text, encoding="utf-8")
        write_json_atomic(out / "models.json", to_json({"models": rows}))
        print(f"\ntable: {out / 'models.md'}\nnumbers: {out / 'models.json'}")


if __name__ == "__main__":
    main()
