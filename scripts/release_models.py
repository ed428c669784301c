"""Make the released models that use the real labels the project holds.

For each simulation-only released model (``des-sim``, ``ls-dr10-sim``) this fine-tunes a copy on
every labelled cutout of the real development set with the architecture's default recipe,
printing the cross-validated estimate first (``deepshadows finetune``'s library function), and
writes it, in float16 and without local paths, as the released model of the same survey
(``des``, ``ls-dr10``). The simulation-only models stay released under their ``-sim`` names.

Usage: python scripts/release_models.py --realdev realdev.npz [--runs runs/release] [--seed 0]
       [--models des,ls-dr10]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from deepshadows.errors import InputError
from deepshadows.export import export_half
from deepshadows.labelling import finetune_from_labels
from deepshadows.released import released_model_path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--realdev", required=True, help="the real development set (.npz)")
    parser.add_argument("--runs", default="runs/release", help="folder of the fine-tuning runs")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--models", default="des,ls-dr10")
    parser.add_argument("--cv", type=int, default=5)
    args = parser.parse_args()
    realdev = Path(args.realdev).resolve()
    try:
        for name in [m.strip() for m in args.models.split(",") if m.strip()]:
            source = released_model_path(f"{name}-sim")
            run = Path(args.runs) / name
            result = finetune_from_labels(
                source,
                realdev,
                None,
                run,
                cv=args.cv,
                seed=args.seed,
                log=lambda line, n=name: print(f"[{n}] {line}", flush=True),
            )
            target = released_model_path(name)
            export_half(run, target, portable=True, overwrite=True)
            sidecar = target.with_suffix(".json")
            meta = json.loads(sidecar.read_text(encoding="utf-8"))
            meta["finetune"]["cv_estimate"] = result["cv"]
            meta["finetune"]["before"] = result["before"]
            sidecar.write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n", encoding="utf-8")
            print(f"[{name}] released {target.name} (from {source.name})", flush=True)
    except InputError as exc:
        sys.exit(f"error: {exc}")


if __name__ == "__main__":
    main()
