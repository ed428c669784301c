"""Cross-validated fine-tuning on the real development set: the honest protocol for recipe choices.

Stratified K-fold over all of the set (folds stratified by class and by part, ``random`` or
``model_selected``): each network is fine-tuned on K-1 folds and scores the held-out fold, for
every seed; every cutout gets one out-of-fold probability per seed. Accuracy, completeness,
purity and AUC at the fixed threshold 0.5 are reported as mean ± standard deviation over the
seeds, for the whole set, per part and per part and layer (the parts are never pooled in a
decision). Several variants (``--variant NAME:KEY=VALUE,...``) run on the same folds and seeds,
so their differences are paired.

Usage: python benchmarks/realdev_cv.py MODEL [--realdev PATH] [--cv 5] [--seeds 0,1,2]
       [--variant NAME:recipe=adamw,lr=3e-4,...] [--replay STORE] [--out DIR]

Variant keys: every field of :class:`deepshadows.finetuning.Recipe` (``recipe=NAME`` picks the
base recipe), ``labels=N`` (fine-tune on N labels of each training part), ``replay=1`` (replay
``--replay``), ``unlabelled=1`` (the held-out fold's cutouts as unlabelled sky).
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

import numpy as np

from deepshadows._device import resolve_device, resolve_precision
from deepshadows._io import make_output_dir, write_json_atomic
from deepshadows._provenance import provenance
from deepshadows.errors import InputError
from deepshadows.evaluation.realdev import load_realdev
from deepshadows.finetuning import Recipe, cross_validate, get_recipe, load_replay
from deepshadows.models import load_model

_FLAGS = ("labels", "replay", "unlabelled", "recipe")


def parse_variant(text: str) -> tuple[str, Recipe, dict[str, Any]]:
    """``NAME:key=value,...`` to a name, a recipe and the protocol's flags."""
    name, _, spec = text.partition(":")
    items = dict(kv.split("=", 1) for kv in spec.split(",") if kv.strip()) if spec else {}
    recipe = get_recipe(items.pop("recipe", "adamw"))
    flags = {
        "labels": int(items.pop("labels")) if "labels" in items else None,
        "replay": items.pop("replay", "0") == "1",
        "unlabelled": items.pop("unlabelled", "0") == "1",
    }
    changes: dict[str, Any] = {}
    for key, value in items.items():
        current = getattr(recipe, key, None)
        if current is None and key not in Recipe.__dataclass_fields__:
            raise InputError(f"--variant {name}: unknown key {key!r}")
        kind = type(current)
        changes[key] = (value.lower() in ("1", "true", "yes")) if kind is bool else kind(value)
    return name or "variant", recipe.replace(name=recipe.name, **changes), flags


def cell(entry: dict[str, Any]) -> str:
    return f"{entry['mean']:.3f} ± {entry['sd']:.3f}"


def tables(results: dict[str, dict[str, Any]], k: int, seeds: list[int]) -> str:
    groups = ["all", "selection=random", "selection=model_selected"]
    head = (
        "| variant | "
        + " | ".join(f"{g.split('=')[-1]} acc. | {g.split('=')[-1]} AUC" for g in groups)
        + " |"
    )
    lines = [
        f"# Cross-validated fine-tuning: {k} folds, seeds {','.join(map(str, seeds))} "
        "(mean ± sd over seeds; threshold 0.5)\n",
        head,
        "|---" * (1 + 2 * len(groups)) + "|",
    ]
    for name, res in results.items():
        s = res["summary"]
        lines.append(
            f"| {name} | "
            + " | ".join(f"{cell(s[g]['accuracy'])} | {cell(s[g]['auc'])}" for g in groups)
            + " |"
        )
    lines += [
        "",
        "## Per part and layer",
        "",
        "| variant | group | n (LSBG) | accuracy | completeness | purity | AUC |",
    ]
    lines.append("|---|---|---|---|---|---|---|")
    for name, res in results.items():
        for g, e in res["summary"].items():
            if g.startswith("part/layer="):
                lines.append(
                    f"| {name} | {g.split('=', 1)[1]} | {e['n']} ({e['n_lsbg']}) | {cell(e['accuracy'])} | "
                    f"{cell(e['completeness'])} | {cell(e['purity'])} | {cell(e['auc'])} |"
                )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", help="run folder, weight file or released model name")
    parser.add_argument("--realdev", default=None)
    parser.add_argument("--cv", type=int, default=5)
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--variant", action="append", default=[], metavar="NAME:KEY=VALUE,...")
    parser.add_argument("--replay", default=None, help="simulated store replayed by variants with replay=1")
    parser.add_argument("--out", default=None)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--precision", default="auto")
    args = parser.parse_args(argv)
    try:
        data = load_realdev(args.realdev)
        seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
        variants = [parse_variant(v) for v in (args.variant or ["adamw:"])]
        dev = resolve_device(args.device)
        precision = resolve_precision(args.precision, dev)
        model, _ = load_model(args.model, device=str(dev))
        replay = load_replay(args.replay) if args.replay else None
        if any(f["replay"] for _, _, f in variants) and replay is None:
            raise InputError("a variant asks for replay=1: give --replay STORE")
        out = make_output_dir(args.out, parameter="--out") if args.out else None
    except InputError as exc:
        sys.exit(f"error: {exc}")
    groups = {
        "selection": data.selection,
        "part/layer": np.char.add(np.char.add(data.selection, "/"), data.layer),
    }
    results: dict[str, dict[str, Any]] = {}
    for name, recipe, flags in variants:
        start = time.time()
        cv = cross_validate(
            model,
            data.images,
            data.label,
            recipe,
            k=args.cv,
            seeds=seeds,
            groups=groups,
            strata=data.selection,
            n_labels=flags["labels"],
            replay=replay if flags["replay"] else None,
            unlabelled="held-out" if flags["unlabelled"] else None,
            device=dev,
            precision=precision,
            progress=lambda line, n=name: print(f"[{n}] {line}", file=sys.stderr, flush=True),
        )
        results[name] = {**cv.to_dict(), "flags": flags, "seconds": round(time.time() - start, 1)}
        s = cv.summary()
        print(
            f"[{name}] random {cell(s['selection=random']['accuracy'])} / "
            f"AUC {cell(s['selection=random']['auc'])}; "
            f"hard {cell(s['selection=model_selected']['accuracy'])}; {time.time() - start:.0f} s",
            file=sys.stderr,
            flush=True,
        )
    text = tables(results, args.cv, seeds)
    print(text, end="")
    if out is not None:
        (out / "realdev_cv.md").write_text(text, encoding="utf-8")
        meta = {
            "model": args.model,
            "realdev": str(args.realdev),
            "precision": precision,
            "provenance": provenance(),
        }
        write_json_atomic(out / "realdev_cv.json", {**meta, "variants": results})
        print(f"\ntables: {out / 'realdev_cv.md'}")


if __name__ == "__main__":
    main()
