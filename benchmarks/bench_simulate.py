"""Throughput of the simulator: cutouts per second for the default DES mix, all cores.

Usage: python benchmarks/bench_simulate.py [--n 400] [--survey des] [--workers N]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from deepshadows.simulate import CutoutSpec, SimConfig, make_dataset, simulate_cutout


def per_class_ms(survey: str, repeats: int) -> dict[str, float]:
    """Milliseconds per accepted cutout for each class on one core."""
    out = {}
    for kind, subclass in [
        ("lsbg", ""),
        ("type2", "A"),
        ("type2", "B"),
        ("type2", "C"),
        ("type2", "D"),
        ("type2", "F"),
        ("type2", "G"),
        ("type2", "H"),
        ("type2", "I"),
        ("type1", "E"),
    ]:
        spec = CutoutSpec(survey=survey, kind=kind, subclass=subclass)
        simulate_cutout(spec, 10_000)  # warm caches
        start = time.perf_counter()
        attempts = [simulate_cutout(spec, seed).truth["attempts"] for seed in range(repeats)]
        out[f"{kind}{subclass}"] = (time.perf_counter() - start) / repeats * 1e3
        out[f"{kind}{subclass} attempts"] = float(np.mean(attempts))
    return out


def stage_ms(survey: str, repeats: int = 40) -> dict[str, float]:
    """Milliseconds per call of each stage of one LSBG cutout on one core."""
    from deepshadows.features import measure_candidate
    from deepshadows.simulate import render_bands
    from deepshadows.surveys import BANDS, get_survey
    from deepshadows.viewer import bands_to_cutout

    spec = CutoutSpec(survey=survey, kind="lsbg")
    info = get_survey(survey)
    sigma = [info.pixel_noise()[b] for b in BANDS]
    rngs = [np.random.default_rng(i) for i in range(repeats)]
    render_bands(spec, np.random.default_rng(99))
    start = time.perf_counter()
    stamps = [render_bands(spec, rng)[0] for rng in rngs]
    render = (time.perf_counter() - start) / repeats * 1e3
    start = time.perf_counter()
    for bands in stamps:
        measure_candidate(bands, pixel_scale=info.native_scale, noise_sigma=sigma, max_offset_arcsec=3.0)
    measure = (time.perf_counter() - start) / repeats * 1e3
    start = time.perf_counter()
    for bands in stamps:
        bands_to_cutout(bands, survey=info)
    viewer = (time.perf_counter() - start) / repeats * 1e3
    return {"render + noise": render, "measure features": measure, "viewer pipeline": viewer}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=400)
    parser.add_argument("--survey", default="des")
    parser.add_argument("--workers", type=int, default=os.cpu_count())
    parser.add_argument("--per-class", type=int, default=20, help="objects per class for the 1-core table")
    args = parser.parse_args()
    print("one core, stages of an LSBG cutout (ms per call):")
    for name, value in stage_ms(args.survey).items():
        print(f"  {name:<17} {value:6.1f} ms")
    if args.per_class:
        print(f"one core, {args.per_class} objects per class (ms per accepted cutout, mean attempts):")
        table = per_class_ms(args.survey, args.per_class)
        for key in [k for k in table if not k.endswith("attempts")]:
            print(f"  {key:<8} {table[key]:7.1f} ms   {table[key + ' attempts']:.2f} attempts")
    with tempfile.TemporaryDirectory() as tmp:
        cfg = SimConfig(survey=args.survey, n=args.n, seed=1)
        start = time.perf_counter()
        make_dataset(Path(tmp) / "bench.h5", cfg, workers=args.workers, progress=False)
        elapsed = time.perf_counter() - start
    print(
        f"simulate {args.survey}: {args.n} cutouts in {elapsed:.1f} s with {args.workers} workers "
        f"= {args.n / elapsed:.1f} cutouts/s (target >= 200)"
    )


if __name__ == "__main__":
    main()
