"""Label curves of a transfer to a new survey, with and without the new survey's unlabelled cutouts.

From a model trained on one survey's simulations (e.g. the released ``des-sim``) and a labelled
store of another survey (e.g. ``deepshadows simulate --survey hsc --n 7000``): a fixed test
sample, a fixed pool of unlabelled cutouts (their labels never read) and, for every label count
and seed, a class-balanced labelled sample drawn from the rest. Each point is fine-tuned with the
architecture's recipe, once on the labels alone and once with the unlabelled cutouts
(FixMatch); a label count of 0 without unlabelled cutouts is the model as it is, and with them
it is pure self-training on the new sky (with ``--replay``, also replaying the first survey's
simulations). Prints accuracy and AUC on the test sample, mean ± sd over the seeds, and writes
``transfer_semi.json``/``.md`` with ``--out``.

Usage: python benchmarks/transfer_semi.py MODEL --data STORE [--labels 0,20,50,320]
       [--n-test 1000] [--n-unlabelled 5000] [--seeds 0,1] [--replay STORE] [--out DIR]
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from deepshadows._device import resolve_device, resolve_precision
from deepshadows._io import make_output_dir, write_json_atomic
from deepshadows._provenance import provenance
from deepshadows.errors import InputError
from deepshadows.finetuning import default_recipe, fine_tune, load_replay
from deepshadows.metrics.scores import binary_metrics
from deepshadows.models import load_model
from deepshadows.models.forward import logits_to_probabilities, predict_logits
from deepshadows.store.reader import open_store
from deepshadows.transfer import choose_samples


def score(model, images, labels, device) -> dict[str, float]:
    prob = logits_to_probabilities(predict_logits(model, images, device=device))
    metrics = binary_metrics(labels, prob)
    return {"accuracy": float(metrics["accuracy"]), "auc": float(metrics["auc"])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model")
    parser.add_argument("--data", required=True)
    parser.add_argument("--labels", default="0,20,50,320")
    parser.add_argument("--n-test", type=int, default=1000)
    parser.add_argument("--n-unlabelled", type=int, default=5000)
    parser.add_argument("--seeds", default="0,1")
    parser.add_argument("--replay", default=None)
    parser.add_argument("--out", default=None)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    try:
        counts = [int(x) for x in args.labels.split(",")]
        seeds = [int(x) for x in args.seeds.split(",")]
        dev = resolve_device(args.device)
        precision = resolve_precision("auto", dev)
        model, meta = load_model(args.model, device=str(dev))
        recipe = default_recipe(meta.get("architecture"))
        with open_store(args.data) as store:
            labels = (store.labels == 1).astype(np.int64)
            labels[store.labels < 0] = -1
            pool_rows, test_rows = choose_samples(
                labels, args.n_unlabelled + max(counts), args.n_test, seed=0
            )
            rng = np.random.default_rng(0)
            pool_rows = rng.permutation(pool_rows)
            unlabelled_rows = np.sort(pool_rows[: args.n_unlabelled])
            labelled_rows = pool_rows[args.n_unlabelled :]
            test_images, test_labels = store.read_images(test_rows), labels[test_rows]
            unlabelled = store.read_images(unlabelled_rows)
            candidates = store.read_images(np.sort(labelled_rows))
            candidate_labels = labels[np.sort(labelled_rows)]
        replay = load_replay(args.replay) if args.replay else None
        out = make_output_dir(args.out, parameter="--out") if args.out else None
    except InputError as exc:
        sys.exit(f"error: {exc}")
    rows = []
    for n in counts:
        for with_unlabelled in (False, True):
            runs = []
            for seed in seeds:
                start = time.time()
                if n:
                    pick, _ = choose_samples(candidate_labels, n, 0, seed=seed)
                    images, y = candidates[pick], candidate_labels[pick]
                else:
                    images, y = candidates[:0], candidate_labels[:0]
                if n == 0 and not with_unlabelled:
                    tuned = model
                else:
                    tuned, _ = fine_tune(
                        model,
                        images,
                        y,
                        recipe,
                        seed=seed,
                        replay=replay if n == 0 else None,
                        unlabelled=unlabelled if with_unlabelled else None,
                        device=dev,
                        precision=precision,
                    )
                runs.append(score(tuned, test_images, test_labels, dev))
                print(
                    f"{n} labels, unlabelled {with_unlabelled}, seed {seed}: "
                    f"accuracy {runs[-1]['accuracy']:.3f}, AUC {runs[-1]['auc']:.3f} "
                    f"({time.time() - start:.0f} s)",
                    file=sys.stderr,
                    flush=True,
                )
            acc = np.array([r["accuracy"] for r in runs])
            auc = np.array([r["auc"] for r in runs])
            rows.append(
                {
                    "labels": n,
                    "unlabelled": args.n_unlabelled if with_unlabelled else 0,
                    "accuracy_mean": float(acc.mean()),
                    "accuracy_sd": float(acc.std(ddof=1)) if acc.size > 1 else 0.0,
                    "auc_mean": float(auc.mean()),
                    "auc_sd": float(auc.std(ddof=1)) if auc.size > 1 else 0.0,
                    "per_seed": runs,
                }
            )
    lines = [
        f"# Transfer of {args.model} to {args.data}: {args.n_test} test cutouts, seeds {args.seeds} "
        f"(mean ± sd), recipe {recipe.name}\n",
        "| labels | unlabelled | accuracy | AUC |",
        "|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['labels']} | {r['unlabelled']} | {r['accuracy_mean']:.3f} ± {r['accuracy_sd']:.3f} | "
            f"{r['auc_mean']:.3f} ± {r['auc_sd']:.3f} |"
        )
    text = "\n".join(lines) + "\n"
    print(text, end="")
    if out is not None:
        (out / "transfer_semi.md").write_text(text, encoding="utf-8")
        write_json_atomic(
            out / "transfer_semi.json",
            {
                "model": args.model,
                "data": args.data,
                "recipe": recipe.to_dict(),
                "rows": rows,
                "provenance": provenance(),
            },
        )


if __name__ == "__main__":
    main()
