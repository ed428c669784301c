"""Make the released models that use the real labels the project holds.

Fine-tunes the simulation-only ``des-sim`` on every labelled cutout of the real development set
with the compact ResNet's default recipe (``deepshadows finetune``'s library function, which
prints a cross-validated estimate first), and writes the result, in float16 and without local
paths, as the released models named by ``--names`` (``des`` and ``ls-dr10``: cross-validation
found ``des-sim`` the better start on Legacy Survey imaging too, see docs/finetuning.md). The
simulation-only models stay released under their ``-sim`` names.

Usage: python scripts/release_models.py --realdev realdev.npz [--replay data/des-replay.h5]
       [--source des-sim] [--names des,ls-dr10] [--runs runs/release] [--seed 0]
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
    parser.add_argument("--source", default="des-sim", help="released simulation-only model to start from")
    parser.add_argument("--names", default="des,ls-dr10", help="released names the fine-tuned model takes")
    parser.add_argument("--runs", default="runs/release", help="folder of the fine-tuning run")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cv", type=int, default=5)
    parser.add_argument("--replay", default=None, help="simulated store replayed beside the labels")
    args = parser.parse_args()
    try:
        source = released_model_path(args.source)
        run = Path(args.runs) / f"{args.source}-realdev"
        result = finetune_from_labels(
            source,
            Path(args.realdev).resolve(),
            None,
            run,
            replay=None if args.replay is None else Path(args.replay).resolve(),
            cv=args.cv,
            seed=args.seed,
            log=lambda line: print(line, flush=True),
        )
        for name in [n.strip() for n in args.names.split(",") if n.strip()]:
            target = released_model_path(name)
            export_half(run, target, portable=True, overwrite=True)
            sidecar = target.with_suffix(".json")
            meta = json.loads(sidecar.read_text(encoding="utf-8"))
            meta["finetune"]["cv_estimate"] = result["cv"]
            meta["finetune"]["before"] = result["before"]
            sidecar.write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n", encoding="utf-8")
            print(f"released {target.name} (from {source.name})", flush=True)
    except InputError as exc:
        sys.exit(f"error: {exc}")


if __name__ == "__main__":
    main()
