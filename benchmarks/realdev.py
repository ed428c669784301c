"""Simulated test metrics beside the real development set, for one model or an ablation of several.

For each model (a run folder or a released name such as ``des``) prints the simulated DES test
accuracy and AUC and, on the real development set, accuracy and AUC of the random part, of the
model-selected part and of each layer within a part, every value with its 95 % bootstrap
interval. The two parts are never pooled and the threshold is fixed at 0.5: the set is for
reporting, not for choosing epochs or thresholds.

The simulated numbers come from ``--data`` (the store's test split, scored by
``deepshadows evaluate``'s library function) or else from the run's ``evaluation_test/metrics.json``;
a released model without ``--data`` shows ``–``. With several models an ablation table follows,
rows named by ``--label NAME=RUN`` (e.g. ``baseline=runs/a +augmentation=runs/b``), with the
change of each value from the first row. ``--out DIR`` also writes ``realdev.md`` and
``realdev.json`` (every number, every group).

Usage: python benchmarks/realdev.py RUN... [--realdev PATH] [--data STORE] [--label NAME=RUN ...]
       [--out DIR] [--n-boot 1000] [--seed 0]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from deepshadows._io import make_output_dir, write_json_atomic
from deepshadows.errors import InputError
from deepshadows.evaluation import Interval, metrics_table
from deepshadows.evaluation.compare import find_evaluations
from deepshadows.evaluation.realdev import REALDEV_ENV, load_realdev, score_realdev, to_json
from deepshadows.evaluation.run import evaluate_run

PARTS = ("random", "model_selected")


def simulated(run: str, label: str, store: str | None, out: Path | None, n_boot: int, seed: int) -> dict:
    """Simulated test intervals: evaluated on ``store`` if given, else read from the run."""
    if store is not None:
        if out is not None:
            result = evaluate_run(run, store, out_dir=out / f"simulated_{label}", n_boot=n_boot, seed=seed)
        else:
            with tempfile.TemporaryDirectory() as tmp:
                result = evaluate_run(run, store, out_dir=tmp, n_boot=n_boot, seed=seed)
        return {"source": f"{store} (test split)", "n": result["n"], "intervals": result["intervals"]}
    if not Path(run).is_dir():
        return {"source": None, "n": None, "intervals": {}}
    try:
        folder = find_evaluations(run, split="test")[0]
    except InputError:
        return {"source": None, "n": None, "intervals": {}}
    metrics = json.loads((folder / "metrics.json").read_text(encoding="utf-8"))
    intervals = metrics.get("intervals", {})
    return {"source": str(folder / "metrics.json"), "n": metrics.get("n"), "intervals": intervals}


def interval(entry: Any) -> Interval | None:
    if entry is None:
        return None
    return entry if isinstance(entry, Interval) else Interval.from_dict(entry)


def cell(entry: Any) -> str:
    iv = interval(entry)
    return "–" if iv is None else iv.format()


def main_table(models: dict[str, dict]) -> str:
    head = ["model", "sim. test accuracy", "sim. test AUC"]
    for part in PARTS:
        head += [f"real {part} accuracy", f"real {part} AUC"]
    lines = ["| " + " | ".join(head) + " |", "|---" * len(head) + "|"]
    for label, res in models.items():
        sim = res["simulated"]["intervals"]
        row = [label, cell(sim.get("accuracy")), cell(sim.get("auc"))]
        for part in PARTS:
            group = res["realdev"]["groups"].get(part, {}).get("intervals", {})
            row += [cell(group.get("accuracy")), cell(group.get("auc"))]
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines) + "\n"


def layer_table(models: dict[str, dict]) -> str:
    lines = ["| model | part / layer | n (LSBG, artifact) | accuracy | AUC |", "|---|---|---|---|---|"]
    for label, res in models.items():
        for name, group in res["realdev"]["groups"].items():
            if group["layer"] is None:
                continue
            counts = f"{group['n']} ({group['n_lsbg']}, {group['n_artifact']})"
            ivs = group["intervals"]
            lines.append(f"| {label} | {name} | {counts} | {cell(ivs['accuracy'])} | {cell(ivs['auc'])} |")
    return "\n".join(lines) + "\n"


def ablation_table(models: dict[str, dict]) -> str:
    columns = [
        ("sim. AUC", None, "auc"),
        ("random acc.", "random", "accuracy"),
        ("random AUC", "random", "auc"),
        ("model-selected acc.", "model_selected", "accuracy"),
        ("model-selected AUC", "model_selected", "auc"),
    ]

    def value(res: dict, part: str | None, metric: str) -> float | None:
        if part is None:
            ivs = res["simulated"]["intervals"]
        else:
            ivs = res["realdev"]["groups"].get(part, {}).get("intervals", {})
        iv = interval(ivs.get(metric))
        return None if iv is None else iv.value

    first = next(iter(models.values()))
    lines = ["| row | " + " | ".join(c[0] for c in columns) + " |", "|---" * (len(columns) + 1) + "|"]
    for label, res in models.items():
        cells = []
        for _, part, metric in columns:
            v, base = value(res, part, metric), value(first, part, metric)
            if v is None:
                cells.append("–")
            elif res is first or base is None:
                cells.append(f"{v:.3f}")
            else:
                cells.append(f"{v:.3f} ({v - base:+.3f})")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def parse_labels(pairs: list[str], runs: list[str]) -> dict[str, str]:
    """Map each run to its row label (``--label NAME=RUN``; by default the run's name)."""
    labels = {run: Path(run).name or run for run in runs}
    for pair in pairs:
        name, sep, run = pair.partition("=")
        if not sep or not name or run not in labels:
            raise InputError(f"--label: expected NAME=RUN with RUN one of the given runs, got {pair!r}")
        labels[run] = name
    if len(set(labels.values())) != len(labels):
        raise InputError(f"--label: row labels must be distinct, got {list(labels.values())}")
    return labels


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", metavar="RUN", help="run folder or released model name (des, hsc)")
    parser.add_argument("--realdev", default=None, help=f"development set .npz (default: ${REALDEV_ENV})")
    parser.add_argument("--data", default=None, help="simulated store whose test split is evaluated")
    parser.add_argument("--label", action="append", default=[], metavar="NAME=RUN", help="row label of a run")
    parser.add_argument("--out", default=None, help="folder for realdev.md and realdev.json")
    parser.add_argument("--n-boot", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    try:
        labels = parse_labels(args.label, args.runs)
        data = load_realdev(args.realdev)
        out = make_output_dir(args.out, parameter="--out") if args.out else None
        models = {}
        for run, label in labels.items():
            models[label] = {
                "run": run,
                "simulated": simulated(run, label, args.data, out, args.n_boot, args.seed),
                "realdev": score_realdev(run, data, n_boot=args.n_boot, seed=args.seed),
            }
    except InputError as exc:
        sys.exit(f"error: {exc}")
    counts = {part: int((data.selection == part).sum()) for part in PARTS}
    text = (
        f"# Real development set ({len(data)} cutouts: {counts['random']} random, "
        f"{counts['model_selected']} model-selected; threshold 0.5; 95 % intervals from "
        f"{args.n_boot} bootstrap resamples, seed {args.seed})\n\n"
        + main_table(models)
        + "\n## Per layer\n\n"
        + layer_table(models)
    )
    if len(models) > 1:
        text += "\n## Ablation (change from the first row in parentheses)\n\n" + ablation_table(models)
    for label, res in models.items():
        groups = {name: {"intervals": g["intervals"]} for name, g in res["realdev"]["groups"].items()}
        text += f"\n## {label}: every group\n\n" + metrics_table(groups).replace("| model |", "| group |", 1)
    print(text, end="")
    if out is not None:
        (out / "realdev.md").write_text(text, encoding="utf-8")
        numbers = {
            label: {**res, "realdev": {k: v for k, v in res["realdev"].items() if k != "probabilities"}}
            for label, res in models.items()
        }
        write_json_atomic(out / "realdev.json", to_json(numbers))
        print(f"\ntables: {out / 'realdev.md'}\nnumbers: {out / 'realdev.json'}")


if __name__ == "__main__":
    main()
